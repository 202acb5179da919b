//! One contract, two implementations: the Rust service of the local cloud and
//! the Python server shipped in the EC2 user data (run here against moto with
//! the endpoint overridden) answer every parameter combination the same way.

mod common;

use common::moto::{Moto, free_port, python};
use common::run;
use resilient::Host;
use resilient::http::{HttpClient, HttpFailure, HttpResponse};
use resilient::service::catalog;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
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
    run(host, "failure::reset();");
    let r = get(host, &root).unwrap();
    assert_eq!(json(&r)["Fallback"], false, "{who}: reset clears the fault");
}

/// Writes the fault parameter directly (the Python server runs without a
/// group, so the script API's instance checks do not apply).
fn set_faults(host: &Host, json: &str) {
    let cloud = host.session().cloud().unwrap();
    let json = json.to_string();
    host.session()
        .runtime()
        .block_on(async move {
            cloud
                .set_parameter(resilient::cloud::Parameter::Fault, &json)
                .await
        })
        .unwrap();
}

fn get_within(host: &Host, url: &str, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
    let url = url.to_string();
    host.session()
        .runtime()
        .block_on(async move { HttpClient::new(1).get(&url, timeout).await })
}

/// Instance faults in the fault parameter: a hang keeps the connection and
/// never answers; a crash drops the request, the process exits, and once its
/// supervisor (`restart`) starts it again it does not crash a second time.
fn instance_faults(host: &mut Host, base: &str, id: &str, who: &str, restart: impl FnOnce()) {
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
    set_faults(host, r#"{"hang": ["i-someone-else"]}"#);
    assert_eq!(get(host, &health).unwrap().status, 200, "{who}");

    set_faults(host, &format!(r#"{{"crash": {{"{id}": "c0ffee"}}}}"#));
    assert!(
        matches!(get(host, &root), Err(HttpFailure::Transport(_))),
        "{who}: the crashing request is dropped"
    );
    restart();
    let started = Instant::now();
    loop {
        if let Ok(r) = get(host, &root) {
            assert_eq!(r.status, 200, "{who}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{who}: never back"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        get(host, &root).unwrap().status,
        200,
        "{who}: one crash per token"
    );
    set_faults(host, "{}");
}

#[test]
fn the_local_rust_service_honours_the_contract_including_denied_access() {
    let mut host = common::host();
    run(&mut host, "deploy::all();");
    let t = &common::targets(&mut host)[0];
    let base = format!("http://127.0.0.1:{}", t.port);
    contract(&mut host, &base, "rust");
    // The local instance is its own supervisor: it restarts the process.
    instance_faults(&mut host, &base, &t.id.clone(), "rust", || {});

    // Denied access (the bad-credentials profile) reads like a broken table.
    let id = t.id.clone();
    run(
        &mut host,
        &format!("failure::bad_credentials(\"{id}\"); failure::health_check(\"deep\");"),
    );
    let started = Instant::now();
    loop {
        if let Ok(h) = get(&host, &format!("{base}/healthcheck")) {
            if h.status == 503 {
                // Short on the wire: no account id, no role ARN, no raw error.
                assert_eq!(json(&h)["error"], "dependency unavailable", "{h:?}");
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never denied");
        std::thread::sleep(Duration::from_millis(50));
    }
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

#[test]
fn the_shipped_python_server_honours_the_same_contract_against_moto() {
    let moto = Moto::start();
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
    let mut host = moto.host("ct");
    run(&mut host, "deploy::table(); deploy::parameters();");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("server.py");
    std::fs::write(&script, resilient::cloud::aws::user_data::SERVER_PY).unwrap();
    let port = free_port();
    let run_dir = dir.path().join("run");
    let spawn = || {
        Command::new(&py)
            .arg(&script)
            .env("RESILIENT_RUN_DIR", &run_dir)
            .env("RESILIENT_PREFIX", "ct")
            .env("RESILIENT_BIND", "127.0.0.1")
            .env("RESILIENT_PORT", port.to_string())
            .env("RESILIENT_INSTANCE_ID", "i-0contract0000000")
            .env("RESILIENT_AZ", "us-east-1a")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Python server")
    };
    let wait_up = || {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the Python server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut server = PythonServer(spawn());
    wait_up();
    let base = format!("http://127.0.0.1:{port}");
    contract(&mut host, &base, "python");
    // systemd's part, played by the test: the process exits with 1, and is
    // started again.
    instance_faults(&mut host, &base, "i-0contract0000000", "python", || {
        let status = server.0.wait().unwrap();
        assert_eq!(status.code(), Some(1), "the crash exits the process");
        server = PythonServer(spawn());
        wait_up();
    });
    drop(server);
    run(&mut host, "destroy::all();");
}
