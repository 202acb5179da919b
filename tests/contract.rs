//! One contract, two implementations: the Rust service of the local cloud and
//! the Python server shipped in the EC2 user data (run here against moto with
//! the endpoint overridden) answer every parameter combination the same way,
//! and read the parameters at most once per max age, so a load of 200
//! requests a second stays within Parameter Store's quota.

mod common;

use common::moto::{Moto, free_port, python};
use common::{eventually, run};
use resilient::Host;
use resilient::internals::catalog;
use resilient::internals::http::{HttpClient, HttpFailure, HttpResponse};
use resilient::internals::{Cloud, Parameter};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn get(host: &Host, url: &str) -> Result<HttpResponse, HttpFailure> {
    let url = url.to_string();
    host.session()
        .runtime()
        .block_on(async move { HttpClient::new(1).get(&url, Duration::from_secs(10)).await })
}

fn json(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("not JSON: {:?}", r.body))
}

/// Runs the contract against the server at `base`, changing parameters
/// through the script API of `host`.
fn contract(host: &mut Host, base: &str, who: &str) {
    let root = format!("{base}/");
    let health = format!("{base}/healthcheck");
    run(host, "failure::reset();");

    // Healthy: a real recommendation with metadata; shallow check healthy.
    let r = get(host, &root).unwrap();
    assert_eq!(r.status, 200, "{who}");
    let body = json(&r);
    assert_eq!(body["Fallback"], false, "{who}: {body}");
    assert!(body["ItemId"].as_i64().unwrap() >= 1, "{who}: {body}");
    assert!(catalog::MEDIA_TYPES.contains(&body["MediaType"].as_str().unwrap()));
    assert!(!body["Title"].as_str().unwrap().is_empty());
    assert!(
        !body["Metadata"]["InstanceId"].as_str().unwrap().is_empty(),
        "{who}"
    );
    assert!(
        !body["Metadata"]["AvailabilityZone"]
            .as_str()
            .unwrap()
            .is_empty(),
        "{who}"
    );
    assert_eq!(get(host, &health).unwrap().status, 200, "{who}");
    run(host, "failure::health_check(\"deep\");");
    let h = get(host, &health).unwrap();
    assert_eq!(
        (h.status, json(&h)["healthy"].clone()),
        (200, Value::Bool(true)),
        "{who}"
    );

    // Broken table, failure response none: no answer at all (the load
    // balancer turns that into 502); deep check 503, shallow 200.
    run(host, "failure::bad_table();");
    assert!(
        matches!(get(host, &root), Err(HttpFailure::Transport(_))),
        "{who}: the connection must be dropped"
    );
    let h = get(host, &health).unwrap();
    assert_eq!(h.status, 503, "{who}");
    assert_eq!(json(&h)["healthy"], false, "{who}");
    assert_eq!(
        json(&h)["error"],
        "dependency unavailable",
        "{who}: the dependency's own error stays on the instance"
    );
    run(host, "failure::health_check(\"shallow\");");
    assert_eq!(get(host, &health).unwrap().status, 200, "{who}");

    // Broken table, static: the same fallback from both implementations.
    run(host, "failure::static_response(true);");
    let r = get(host, &root).unwrap();
    assert_eq!(r.status, 200, "{who}");
    let body = json(&r);
    let fallback = catalog::fallback();
    assert_eq!(body["Fallback"], true, "{who}");
    assert_eq!(body["ItemId"], fallback.item_id, "{who}");
    assert_eq!(body["Title"], fallback.title.as_str(), "{who}");
    assert_eq!(body["Creator"], fallback.creator.as_str(), "{who}");
    assert!(body["Metadata"]["InstanceId"].is_string(), "{who}");

    // Unknown paths.
    assert_eq!(
        get(host, &format!("{base}/nope")).unwrap().status,
        404,
        "{who}"
    );
    run(host, "failure::reset();");

    // The dependency fault parameter: latency before every table read...
    run(host, "failure::latency(300);");
    let started = Instant::now();
    let r = get(host, &root).unwrap();
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{who}");
    assert!(took >= Duration::from_millis(300), "{who}: {took:?}");
    assert_eq!(json(&r)["Fallback"], false, "{who}");
    // ...and errors: like a broken table (dropped, or the fallback), deep
    // checks fail, shallow ones do not.
    run(host, "failure::latency(0); failure::error_rate(1.0);");
    assert!(
        matches!(get(host, &root), Err(HttpFailure::Transport(_))),
        "{who}: an injected error with failure response none drops the connection"
    );
    assert_eq!(get(host, &health).unwrap().status, 200, "{who}");
    run(host, "failure::health_check(\"deep\");");
    assert_eq!(get(host, &health).unwrap().status, 503, "{who}");
    run(host, "failure::static_response(true);");
    assert_eq!(json(&get(host, &root).unwrap())["Fallback"], true, "{who}");
    let p: Value = common::from(common::eval(host, "inspect::parameters()"));
    assert_eq!(p["fault"]["error_rate"], 1.0, "{who}: {p}");
    // A tolerant check: healthy, and degraded, while the table fails for
    // everyone; its answer names the dependency's code.
    run(host, "failure::health_check(\"tolerant\");");
    let h = get(host, &health).unwrap();
    assert_eq!(h.status, 200, "{who}");
    assert_eq!(json(&h)["degraded"], true, "{who}");
    assert_eq!(json(&h)["dependency"], "InternalServerError", "{who}");
    // Throttling: reads fail with the table's own code; deep checks fail,
    // tolerant ones tolerate it, the fallback answers.
    run(host, "failure::error_rate(0.0); failure::throttle(1.0);");
    let h = get(host, &health).unwrap();
    assert_eq!(
        (h.status, json(&h)["dependency"].clone()),
        (200, Value::from("ProvisionedThroughputExceededException")),
        "{who}"
    );
    assert_eq!(json(&get(host, &root).unwrap())["Fallback"], true, "{who}");
    run(host, "failure::health_check(\"deep\");");
    assert_eq!(get(host, &health).unwrap().status, 503, "{who}");
    let p: Value = common::from(common::eval(host, "inspect::parameters()"));
    assert_eq!(p["fault"]["throttle_rate"], 1.0, "{who}: {p}");
    run(host, "failure::reset();");
    let r = get(host, &root).unwrap();
    assert_eq!(json(&r)["Fallback"], false, "{who}: reset clears the fault");
}

/// Writes a parameter directly, returning at once (servers may go on
/// using the old value for up to their max age).
fn write_parameter(host: &Host, parameter: Parameter, value: &str) {
    let cloud = host.session().cloud().unwrap();
    let value = value.to_string();
    host.session()
        .runtime()
        .block_on(async move { cloud.set_parameter(parameter, &value).await })
        .unwrap();
}

/// Writes the fault parameter directly (the Python server runs without a
/// group, so the script API's instance checks do not apply), and waits as
/// the script API does until servers use it.
fn set_faults(host: &Host, json: &str) {
    write_parameter(host, Parameter::Fault, json);
    std::thread::sleep(host.session().cloud().unwrap().parameter_max_age());
}

fn get_within(host: &Host, url: &str, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
    let url = url.to_string();
    host.session()
        .runtime()
        .block_on(async move { HttpClient::new(1).get(&url, timeout).await })
}

/// Sends `GET /healthcheck` on a new connection, without reading the answer.
fn send_request(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: contract\r\n\r\n")
        .unwrap();
    s
}

/// What came back on a connection within `timeout`: `Some(true)` an answer
/// 200, `Some(false)` the connection closed without one, `None` nothing yet.
fn outcome(s: &mut TcpStream, timeout: Duration) -> Option<bool> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 12];
    match s.read(&mut buf) {
        Ok(0) => Some(false),
        Ok(n) => Some(buf[..n].starts_with(b"HTTP/1.1 200")),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(_) => Some(false),
    }
}

/// Instance faults in the fault parameter: a hang keeps the connection and
/// never answers, until the hang is lifted: then the waiting requests are
/// answered (or, past the server's cap of waiting threads, dropped), none
/// left waiting. A crash drops the request, the process exits, and once its
/// supervisor (`restart`) starts it again it does not crash a second time.
fn instance_faults(host: &mut Host, port: u16, id: &str, who: &str, restart: impl FnOnce()) {
    let base = format!("http://127.0.0.1:{port}");
    let root = format!("{base}/");
    let health = format!("{base}/healthcheck");
    set_faults(host, &format!(r#"{{"hang": ["{id}"]}}"#));
    assert!(
        matches!(
            get_within(host, &health, Duration::from_millis(800)),
            Err(HttpFailure::Timeout(_))
        ),
        "{who}: a hung service never answers"
    );
    let mut waiting: Vec<TcpStream> = (0..4).map(|_| send_request(port)).collect();
    std::thread::sleep(Duration::from_millis(800));
    for s in &mut waiting {
        assert_eq!(
            outcome(s, Duration::from_millis(10)),
            None,
            "{who}: no answer while hung"
        );
    }
    set_faults(host, r#"{"hang": ["i-someone-else"]}"#);
    let released: Vec<Option<bool>> = waiting
        .iter_mut()
        .map(|s| outcome(s, Duration::from_secs(5)))
        .collect();
    assert!(
        released.iter().all(Option::is_some),
        "{who}: requests still waiting after the hang was lifted: {released:?}"
    );
    assert!(
        released.contains(&Some(true)),
        "{who}: a waiting request is answered once the hang is lifted: {released:?}"
    );
    assert_eq!(get(host, &health).unwrap().status, 200, "{who}");

    set_faults(host, &format!(r#"{{"crash": {{"{id}": "c0ffee"}}}}"#));
    assert!(
        matches!(get(host, &root), Err(HttpFailure::Transport(_))),
        "{who}: the crashing request is dropped"
    );
    restart();
    let r = eventually(
        &format!("{who}: the service is back after its crash"),
        Duration::from_secs(20),
        Duration::from_millis(50),
        || get(host, &root),
    );
    assert_eq!(r.status, 200, "{who}");
    assert_eq!(
        get(host, &root).unwrap().status,
        200,
        "{who}: one crash per token"
    );

    // A flapping health check: 200 and 503 in turn (spells of one cloud
    // second), while requests are answered.
    set_faults(host, &format!(r#"{{"flap": {{"{id}": [1000, 1000]}}}}"#));
    let mut seen = std::collections::BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until && seen.len() < 2 {
        let h = get(host, &health).unwrap();
        if h.status == 503 {
            assert_eq!(json(&h)["error"], "flapping (injected)", "{who}");
        }
        seen.insert(h.status);
        assert_eq!(
            get(host, &root).unwrap().status,
            200,
            "{who}: requests are answered"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [200, 503],
        "{who}: the check flaps"
    );
    set_faults(host, "{}");
}

/// A parameter changed behind the server's back (no wait) shows within the
/// server's max age, and until then requests are answered with the old
/// value: never failed.
fn a_change_shows_within_the_max_age(host: &mut Host, base: &str, max_age: Duration, who: &str) {
    let root = format!("{base}/");
    run(host, "failure::reset(); failure::static_response(true);");
    let r = get(host, &root).unwrap();
    assert_eq!(json(&r)["Fallback"], false, "{who}: the real table first");
    let wrong = format!(
        "{}-no-such-table",
        host.session().cloud().unwrap().names().prefix
    );
    let changed = Instant::now();
    write_parameter(host, Parameter::Table, &wrong);
    let seen = eventually(
        &format!("{who}: the change shows"),
        max_age + Duration::from_secs(3),
        Duration::from_millis(10),
        || {
            let r = get(host, &root)
                .unwrap_or_else(|e| panic!("{who}: a request failed while the change spread: {e}"));
            assert_eq!(r.status, 200, "{who}");
            if json(&r)["Fallback"] == true {
                Ok(changed.elapsed())
            } else {
                Err("the real table")
            }
        },
    );
    assert!(
        seen <= max_age + Duration::from_millis(400),
        "{who}: the change showed after {seen:?}, the max age is {max_age:?}"
    );
    for _ in 0..5 {
        assert_eq!(json(&get(host, &root).unwrap())["Fallback"], true, "{who}");
    }
    run(host, "failure::reset();");
}

#[test]
fn the_local_rust_service_honours_the_contract_including_denied_access() {
    let mut host = common::host();
    run(&mut host, "deploy::all();");
    let t = &common::targets(&mut host)[0];
    let base = format!("http://127.0.0.1:{}", t.port);
    contract(&mut host, &base, "rust");
    let max_age = host.session().cloud().unwrap().parameter_max_age();
    a_change_shows_within_the_max_age(&mut host, &base, max_age, "rust");
    // The local instance is its own supervisor: it restarts the process.
    instance_faults(&mut host, t.port as u16, &t.id.clone(), "rust", || {});

    // Denied access (the bad-credentials profile) reads like a broken table.
    let id = t.id.clone();
    run(
        &mut host,
        &format!("failure::bad_credentials(\"{id}\"); failure::health_check(\"deep\");"),
    );
    let h = eventually(
        "the deep health check fails for denied access",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || match get(&host, &format!("{base}/healthcheck")) {
            Ok(h) if h.status == 503 => Ok(h),
            other => Err(other),
        },
    );
    // Short on the wire: no account id, no role ARN, no raw error.
    assert_eq!(json(&h)["error"], "dependency unavailable", "{h:?}");
    assert!(matches!(
        get(&host, &format!("{base}/")),
        Err(HttpFailure::Transport(_))
    ));
    run(&mut host, "failure::static_response(true);");
    let r = get(&host, &format!("{base}/")).unwrap();
    assert_eq!(json(&r)["Fallback"], true);
}

struct PythonServer(Child);

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipped server written to a scratch directory, and how to start it
/// as the unit does (with the test's endpoint, identity and port).
struct ShippedServer {
    dir: tempfile::TempDir,
    py: PathBuf,
    port: u16,
    prefix: String,
    endpoint: String,
}

impl ShippedServer {
    /// Fails the test when no Python with boto3 is at hand.
    fn new(prefix: &str, endpoint: &str) -> Self {
        let py = python();
        let has_boto3 = Command::new(&py)
            .args(["-c", "import boto3"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            has_boto3,
            "no Python with boto3 ({}), so the shipped server cannot be tested: `bash .ci/run` installs moto[server] (which brings boto3) into ~/.cache/resilient-venv",
            py.display()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("server.py"),
            resilient::internals::aws::SERVER_PY,
        )
        .unwrap();
        ShippedServer {
            dir,
            py,
            port: free_port(),
            prefix: prefix.into(),
            endpoint: endpoint.into(),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The command, with static test credentials.
    fn command(&self) -> Command {
        let mut c = self.command_without_credentials();
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        c
    }

    /// The command with no credentials anywhere but
    /// [`Self::credentials_file`] (absent until a test writes it).
    fn command_without_credentials(&self) -> Command {
        let mut c = Command::new(&self.py);
        c.arg(self.dir.path().join("server.py"))
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_file())
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-config"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RESILIENT_RUN_DIR", self.dir.path().join("run"))
            .env("RESILIENT_PREFIX", &self.prefix)
            .env("RESILIENT_BIND", "127.0.0.1")
            .env("RESILIENT_PORT", self.port.to_string())
            .env("RESILIENT_INSTANCE_ID", "i-0contract0000000")
            .env("RESILIENT_AZ", "us-east-1a")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("credentials")
    }

    /// Starts `command` and waits until the server listens.
    fn start(&self, mut command: Command) -> PythonServer {
        let server = PythonServer(command.spawn().expect("start the Python server"));
        self.wait_up();
        server
    }

    fn wait_up(&self) {
        eventually(
            "the Python server listens",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || TcpStream::connect(("127.0.0.1", self.port)),
        );
    }
}

#[test]
fn the_shipped_python_server_honours_the_same_contract_against_moto() {
    let moto = Moto::start();
    let mut host = moto.host("ct");
    run(&mut host, "deploy::table(); deploy::parameters();");
    let shipped = ShippedServer::new("ct", &moto.url);
    // Two waiting threads at most: more hung requests are held without one.
    let with_cap = || {
        let mut c = shipped.command();
        c.env("RESILIENT_MAX_PARKED_THREADS", "2");
        c
    };
    let mut server = shipped.start(with_cap());
    let base = shipped.base();
    contract(&mut host, &base, "python");
    // The server's default max age, as the user data sets it.
    let max_age = resilient::internals::aws::PARAMETER_MAX_AGE;
    a_change_shows_within_the_max_age(&mut host, &base, max_age, "python");
    // systemd's part, played by the test: the process exits with 1, and is
    // started again.
    instance_faults(
        &mut host,
        shipped.port,
        "i-0contract0000000",
        "python",
        || {
            let status = server.0.wait().unwrap();
            assert_eq!(status.code(), Some(1), "the crash exits the process");
            server = shipped.start(with_cap());
        },
    );
    // Parameter Store unavailable: the running server keeps its last good
    // values; one started meanwhile has none, and says so with 503.
    set_faults(&host, r#"{"parameter_store_down": true}"#);
    assert_eq!(get(&host, &format!("{base}/")).unwrap().status, 200);
    let late = ShippedServer::new("ct", &moto.url);
    let late_server = late.start(late.command());
    for path in ["/", "/healthcheck"] {
        let r = get(&host, &format!("{}{path}", late.base())).unwrap();
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(json(&r)["error"], "parameters unavailable", "{path}");
    }
    let h = get(&host, &format!("{}/healthcheck", late.base())).unwrap();
    assert_eq!(json(&h)["healthy"], false);
    set_faults(&host, "{}");
    eventually(
        "the late server reads its parameters once Parameter Store is back",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || match get(&host, &format!("{}/", late.base())) {
            Ok(r) if r.status == 200 => Ok(r),
            other => Err(other),
        },
    );
    drop(late_server);
    drop(server);
    run(&mut host, "destroy::all();");
}

/// A release's user data sets `RESILIENT_VERSION` and `RESILIENT_BREAK`: the
/// shipped server answers with that version, and is broken as it says:
/// `error_500` answers 500 on `/` and fails only a deep check;
/// `crash_at_boot` exits at once (systemd restarts it, and it exits again).
#[test]
fn the_shipped_python_server_runs_the_release_its_user_data_names() {
    let moto = Moto::start();
    let mut host = moto.host("cv");
    run(&mut host, "deploy::table(); deploy::parameters();");
    let shipped = ShippedServer::new("cv", &moto.url);
    let mut broken = shipped.command();
    broken
        .env("RESILIENT_VERSION", "v7")
        .env("RESILIENT_BREAK", "error_500");
    let server = shipped.start(broken);
    let base = shipped.base();
    let r = get(&host, &format!("{base}/")).unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(json(&r)["Metadata"]["Version"], "v7");
    assert_eq!(
        get(&host, &format!("{base}/healthcheck")).unwrap().status,
        200
    );
    run(&mut host, "failure::health_check(\"deep\");");
    let h = eventually(
        "the deep check of a broken release fails",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || match get(&host, &format!("{base}/healthcheck")) {
            Ok(h) if h.status == 503 => Ok(h),
            other => Err(other),
        },
    );
    assert_eq!(json(&h)["error"], "dependency unavailable");
    drop(server);
    let mut crash = shipped.command();
    crash.env("RESILIENT_BREAK", "crash_at_boot");
    let status = crash.status().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a release that crashes at boot exits"
    );
    run(&mut host, "destroy::all();");
}

/// Started before the instance had credentials (a role still propagating),
/// the server makes new clients once credentials fail, and serves as soon
/// as credentials exist; without any for too long it exits, for systemd to
/// restart it.
#[test]
fn the_shipped_python_server_picks_up_credentials_that_come_late() {
    let moto = Moto::start();
    let mut host = moto.host("cr");
    run(&mut host, "deploy::table(); deploy::parameters();");
    let shipped = ShippedServer::new("cr", &moto.url);
    let health = format!("{}/healthcheck", shipped.base());
    let _server = shipped.start(shipped.command_without_credentials());
    for _ in 0..3 {
        // No credentials: no parameters, and the server says so.
        let h = get(&host, &health).unwrap();
        assert_eq!(h.status, 503, "no credentials: no parameters");
        assert_eq!(json(&h)["error"], "parameters unavailable");
        assert_eq!(json(&h)["code"], "NoCredentials");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::fs::write(
        shipped.credentials_file(),
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    eventually(
        "the server picks up the credentials and answers its health check",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || match get(&host, &health) {
            Ok(r) if r.status == 200 => Ok(()),
            other => Err(other),
        },
    );
    drop(_server);

    std::fs::remove_file(shipped.credentials_file()).unwrap();
    let mut command = shipped.command_without_credentials();
    command.env("RESILIENT_CREDENTIALS_GRACE", "2");
    let mut server = shipped.start(command);
    let status = eventually(
        "the server gives up without credentials",
        Duration::from_secs(15),
        Duration::from_millis(200),
        || {
            let _ = get(&host, &health);
            server.0.try_wait().unwrap().ok_or("still running")
        },
    );
    assert!(!status.success(), "exits non-zero: {status:?}");
    run(&mut host, "destroy::all();");
}

/// A stand-in for Parameter Store's throughput quota in front of moto: it
/// forwards every call, but answers `GetParameter`/`GetParameters` calls
/// beyond `per_second` in one second as SSM does when it throttles (HTTP
/// 400, `ThrottlingException`). Self-contained, so the shared throttling
/// proxy can replace it.
struct SsmThrottle {
    /// `http://127.0.0.1:PORT`.
    url: String,
    counts: Arc<Mutex<ThrottleCounts>>,
    stop: tokio_util::sync::CancellationToken,
}

#[derive(Debug, Default, Clone)]
struct ThrottleCounts {
    second: Option<Instant>,
    in_second: u32,
    /// Parameter reads let through.
    allowed: u64,
    /// Parameter reads answered `ThrottlingException`.
    throttled: u64,
}

impl ThrottleCounts {
    fn admit(&mut self, per_second: u32) -> bool {
        let now = Instant::now();
        if self
            .second
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            self.second = Some(now);
            self.in_second = 0;
        }
        if self.in_second < per_second {
            self.in_second += 1;
            self.allowed += 1;
            true
        } else {
            self.throttled += 1;
            false
        }
    }
}

impl SsmThrottle {
    fn start(rt: &tokio::runtime::Handle, upstream: &str, per_second: u32) -> Self {
        use http_body_util::{BodyExt, Full};
        use resilient::internals::http::Abort;
        let _guard = rt.enter();
        let listener = resilient::internals::http::bind_loopback(0).unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let client = HttpClient::new(64);
        let counts = Arc::new(Mutex::new(ThrottleCounts::default()));
        let stop = tokio_util::sync::CancellationToken::new();
        let (upstream, seen) = (upstream.to_string(), counts.clone());
        rt.spawn(resilient::internals::http::serve(
            listener,
            stop.clone(),
            move |req| {
                let (client, counts, upstream) = (client.clone(), seen.clone(), upstream.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map_err(|e| Abort(e.to_string()))?
                        .to_bytes();
                    let target = parts
                        .headers
                        .get("x-amz-target")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let read =
                        matches!(target, "AmazonSSM.GetParameters" | "AmazonSSM.GetParameter");
                    if read && !counts.lock().unwrap().admit(per_second) {
                        return Ok(resilient::internals::http::response(
                            400,
                            "application/x-amz-json-1.1",
                            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                        ));
                    }
                    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                    let mut forward = hyper::Request::builder()
                        .method(parts.method)
                        .uri(format!("{upstream}{path}"));
                    for (name, value) in &parts.headers {
                        if !matches!(name.as_str(), "host" | "connection" | "content-length") {
                            forward = forward.header(name, value);
                        }
                    }
                    let forward = forward
                        .body(Full::new(body))
                        .map_err(|e| Abort(e.to_string()))?;
                    let answer = client
                        .send(forward, Duration::from_secs(30))
                        .await
                        .map_err(|e| Abort(e.to_string()))?;
                    let content_type = answer
                        .content_type
                        .as_ref()
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/x-amz-json-1.1")
                        .to_string();
                    Ok(resilient::internals::http::response(
                        answer.status,
                        &content_type,
                        answer.body,
                    ))
                }
            },
        ));
        SsmThrottle { url, counts, stop }
    }

    fn counts(&self) -> ThrottleCounts {
        self.counts.lock().unwrap().clone()
    }
}

impl Drop for SsmThrottle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The load of the contract at load: 200 requests a second for 3 s.
fn load(host: &Host, url: &str) -> resilient::internals::loadgen::LoadStats {
    let url = url.to_string();
    host.session().runtime().block_on(async move {
        let options = resilient::internals::loadgen::LoadOptions {
            duration: Duration::from_secs(3),
            concurrency: 64,
            rate: Some(200.0),
            timeout: Duration::from_secs(10),
            ..Default::default()
        };
        resilient::internals::loadgen::run(
            HttpClient::new(64),
            url,
            options,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
    })
}

/// 200 requests a second against the shipped server while Parameter Store
/// lets 40 parameter reads a second through: every request answered 200,
/// and the server's reads stay within the quota.
#[test]
fn the_shipped_python_server_serves_200_requests_a_second_within_the_ssm_quota() {
    let moto = Moto::start();
    let mut host = moto.host("ld");
    run(&mut host, "deploy::table(); deploy::parameters();");
    let throttle = SsmThrottle::start(host.session().runtime(), &moto.url, 40);
    let shipped = ShippedServer::new("ld", &throttle.url);
    let server = shipped.start(shipped.command());
    let root = format!("{}/", shipped.base());
    assert_eq!(get(&host, &root).unwrap().status, 200, "warm");
    let before = throttle.counts();
    let stats = load(&host, &root);
    let counts = throttle.counts();
    let reads = counts.allowed + counts.throttled - before.allowed - before.throttled;
    eprintln!(
        "python at load: {} requests, {} answered 200 ({:.1} %), codes {:?}, {:.0}/s, p50 {:.0} ms, p99 {:.0} ms; parameter reads {reads} ({} throttled)",
        stats.count,
        stats.ok,
        stats.success_rate * 100.0,
        stats.codes,
        stats.rps,
        stats.p50_ms,
        stats.p99_ms,
        counts.throttled - before.throttled,
    );
    // 600 at 200/s; fewer when this machine cannot keep up with the pace,
    // but always well over the quota (a read per request would be throttled).
    let seconds = stats.duration_ms / 1000.0;
    assert!(
        stats.count as f64 / seconds > 50.0,
        "the load ran over the quota: {stats:?}"
    );
    assert_eq!(stats.ok, stats.count, "only 200s: {:?}", stats.codes);
    assert!(
        reads as f64 <= 1.5 * seconds + 2.0,
        "{reads} parameter reads in {seconds:.1} s"
    );
    drop(server);
    run(&mut host, "destroy::all();");
}

/// 200 requests a second through the local load balancer: every request
/// answered 200, and each instance reads the parameters at most about once
/// a cloud second (health checks included).
#[test]
fn the_local_rust_service_reads_parameters_once_a_cloud_second_at_load() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let settings = resilient::Settings::default();
        let scale = settings.time_scale;
        let cloud = Arc::new(resilient::internals::LocalCloud::new(&settings));
        let bus = resilient::events::Bus::default();
        let (endpoint, _) = resilient::internals::deploy_all(
            cloud.clone(),
            HttpClient::new(4),
            Duration::from_secs(60),
            &bus,
        )
        .await
        .unwrap();
        let before = cloud.parameter_reads();
        let stats = resilient::internals::loadgen::run(
            HttpClient::new(32),
            format!("{endpoint}/"),
            resilient::internals::loadgen::LoadOptions {
                duration: Duration::from_secs(3),
                concurrency: 32,
                rate: Some(200.0),
                timeout: Duration::from_secs(10),
                ..Default::default()
            },
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
        let after = cloud.parameter_reads();
        let cloud_seconds = stats.duration_ms / 1000.0 / scale;
        let per_instance: Vec<(String, f64)> = after
            .iter()
            .map(|(id, n)| {
                let reads = n - before.get(id).copied().unwrap_or(0);
                (id.clone(), reads as f64 / cloud_seconds)
            })
            .collect();
        eprintln!(
            "rust at load: {} requests, {} answered 200, codes {:?}, {:.0}/s; parameter reads per instance per cloud second {per_instance:?} ({cloud_seconds:.0} cloud seconds)",
            stats.count, stats.ok, stats.codes, stats.rps
        );
        assert!(stats.count >= 400, "the load ran: {stats:?}");
        assert_eq!(stats.ok, stats.count, "only 200s: {:?}", stats.codes);
        assert_eq!(per_instance.len(), 3, "{per_instance:?}");
        for (id, rate) in &per_instance {
            assert!(
                *rate <= 1.5,
                "{id} read the parameters {rate:.2} times per cloud second"
            );
        }
        cloud.destroy().await.unwrap();
    });
}
