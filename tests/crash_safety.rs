//! Crash safety on the AWS backend (against moto): a deploy killed with
//! SIGKILL at any point — after a creation call, before one reaches the
//! service, in the middle of the concurrent steps — leaves nothing that
//! `scripts/destroy.rhai` in a fresh process cannot find and delete.
//!
//! A counting proxy sits between `resilient` and moto; at the chosen call it
//! kills the process (after forwarding the call, so the resource exists but
//! the process never learned of it, or before, so it never reached moto).

mod common;

use bytes::Bytes;
use common::moto::Moto;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// When the proxy kills the process.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Never (counts the calls of a whole deploy).
    Never,
    /// After moto has answered call N (1-based).
    After(u64),
    /// Before call N reaches moto.
    Before(u64),
}

/// The proxy's shared state.
struct Proxy {
    calls: AtomicU64,
    kill: Mutex<Kill>,
    child: Mutex<Option<Child>>,
    moto: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Proxy {
    fn kill_child(&self) {
        if let Some(child) = self.child.lock().unwrap().as_mut() {
            // Child::kill sends SIGKILL.
            let _ = child.kill();
        }
    }

    async fn forward(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let kill = *self.kill.lock().unwrap();
        if matches!(kill, Kill::Before(k) if k == n) {
            self.kill_child();
        }
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", self.moto));
        for (k, v) in &parts.headers {
            out = out.header(k, v);
        }
        let response = match self
            .client
            .request(out.body(Full::new(body)).unwrap())
            .await
        {
            Ok(r) => {
                let (parts, body) = r.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                Response::from_parts(parts, Full::new(body))
            }
            Err(e) => Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(e.to_string())))
                .unwrap(),
        };
        if matches!(kill, Kill::After(k) if k == n) {
            self.kill_child();
        }
        response
    }
}

/// Starts the proxy on 127.0.0.1; returns its URL.
fn start_proxy(rt: &tokio::runtime::Runtime, proxy: Arc<Proxy>) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let proxy = proxy.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, std::convert::Infallible>(proxy.forward(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// `resilient run SCRIPT` on the AWS backend against `endpoint`.
fn command(script: &str, prefix: &str, endpoint: &str, home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT)
        .args([
            "run",
            script,
            "--yes",
            "--backend",
            "aws",
            "--region",
            "us-east-1",
        ])
        .args(["--prefix", prefix, "--endpoint-url", endpoint])
        .args(["--my-ip", "203.0.113.7"])
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// Deploys through the proxy, killed as `kill` says; returns how the process
/// ended and how many calls it made.
fn deploy(
    proxy: &Arc<Proxy>,
    url: &str,
    prefix: &str,
    kill: Kill,
    home: &Path,
) -> (std::process::ExitStatus, u64) {
    proxy.calls.store(0, Ordering::SeqCst);
    *proxy.kill.lock().unwrap() = kill;
    // The deploy of scripts/deploy.rhai without its last wait: moto's load
    // balancer has no address that answers, so that wait would not end.
    let script = home.join("deploy.rhai");
    std::fs::write(&script, "deploy::all();\ndeploy::open_port();\n").unwrap();
    let child = command(script.to_str().unwrap(), prefix, url, home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    *proxy.child.lock().unwrap() = Some(child);
    let started = Instant::now();
    loop {
        let status = proxy
            .child
            .lock()
            .unwrap()
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap();
        if let Some(status) = status {
            proxy.child.lock().unwrap().take();
            return (status, proxy.calls.load(Ordering::SeqCst));
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "deploy did not end"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many calls `resilient preflight` makes through the proxy.
fn preflight_calls(proxy: &Arc<Proxy>, url: &str, home: &Path) -> u64 {
    proxy.calls.store(0, Ordering::SeqCst);
    *proxy.kill.lock().unwrap() = Kill::Never;
    let out = Command::new(BIN)
        .args(["preflight", "--backend", "aws", "--region", "us-east-1"])
        .args(["--prefix", "ck-pre", "--endpoint-url", url])
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    proxy.calls.load(Ordering::SeqCst)
}

fn destroy(prefix: &str, moto: &str, home: &Path) -> Output {
    command("scripts/destroy.rhai", prefix, moto, home)
        .output()
        .unwrap()
}

#[test]
fn a_deploy_killed_at_any_point_is_destroyed_completely_by_a_fresh_process() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let proxy = Arc::new(Proxy {
        calls: AtomicU64::new(0),
        kill: Mutex::new(Kill::Never),
        child: Mutex::new(None),
        moto: moto.url.clone(),
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    let url = start_proxy(&rt, proxy.clone());
    let clients = rt
        .block_on(resilient::cloud::aws::clients::connect(&moto.aws()))
        .unwrap();

    // A whole deploy, to know how many calls it makes.
    let (status, total) = deploy(&proxy, &url, "ck0", Kill::Never, home.path());
    assert!(
        status.success(),
        "the unkilled deploy must succeed: {status:?}"
    );
    assert!(
        total >= 40,
        "a deploy makes dozens of calls, counted {total}"
    );
    let out = destroy("ck0", &moto.url, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The preflight only looks (and creates nothing): count its calls, the
    // same a deploy makes before its first creation.
    let preflight = preflight_calls(&proxy, &url, home.path());
    assert!(preflight < total, "{preflight} of {total}");

    // Twelve kill points spread over the deploy after its preflight,
    // alternately just after a call was answered and just before one reached
    // moto. The first ones fall in the concurrent phase (table, instance
    // profiles, parameters).
    let points: Vec<Kill> = (1..=12u64)
        .map(|k| {
            let n = preflight + ((total - preflight) * k / 13).max(1);
            if k % 2 == 0 {
                Kill::Before(n)
            } else {
                Kill::After(n)
            }
        })
        .collect();
    let mut survived = 0;
    let mut left_by_kill = Vec::new();
    for (i, kill) in points.iter().enumerate() {
        let prefix = format!("ck{}", i + 1);
        let (status, _) = deploy(&proxy, &url, &prefix, *kill, home.path());
        assert_eq!(
            status.signal(),
            Some(9),
            "{kill:?}: the deploy must have been killed, it ended with {status:?}"
        );
        let before = rt.block_on(common::sweep::leftovers(&clients, &prefix));
        left_by_kill.push(before.len());
        let out = destroy(&prefix, &moto.url, home.path());
        assert!(
            out.status.success(),
            "{kill:?}: destroy failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let left = rt.block_on(common::sweep::leftovers(&clients, &prefix));
        assert_eq!(
            left,
            Vec::<String>::new(),
            "{kill:?}: left after destroy (before it: {before:?})"
        );
        survived += 1;
    }
    eprintln!(
        "kill points survived: {survived} of {} (deploy makes {total} calls; resources left by each kill: {left_by_kill:?})",
        points.len()
    );
    // The kills really left half-done deployments behind, growing with the
    // kill point (the first may fall among the look-ups before the first
    // creation): destroy had something to find nearly every time.
    let with_leftovers = left_by_kill.iter().filter(|&&n| n > 0).count();
    assert!(with_leftovers >= 10, "{left_by_kill:?}");
    assert!(
        left_by_kill.last() > left_by_kill.first(),
        "{left_by_kill:?}"
    );
}

#[test]
fn a_failed_or_terminated_run_on_aws_says_what_is_left_and_how_to_destroy_it() {
    use std::io::{BufRead, BufReader};
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let script = home.path().join("fails.rhai");
    std::fs::write(&script, "deploy::all();\nthrow \"boom\";\n").unwrap();
    let out = command(script.to_str().unwrap(), "ckf", &moto.url, home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let destroy_cmd = format!(
        "resilient run scripts/destroy.rhai --backend aws --prefix ckf --region us-east-1 --endpoint-url {}",
        moto.url
    );
    assert!(
        stderr.contains("resources of the deployment ckf are still on AWS"),
        "{stderr}"
    );
    assert!(stderr.contains(&destroy_cmd), "{stderr}");

    // SIGTERM (a CI job's timeout) is handled like Ctrl-C: the blocked call
    // stops at once and the run says what it leaves.
    let script = home.path().join("waits.rhai");
    std::fs::write(
        &script,
        "deploy::all();\nui::say(\"deployed\");\nwait_until(|| false, 600000);\n",
    )
    .unwrap();
    let mut child = command(script.to_str().unwrap(), "ckt", &moto.url, home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        if line.unwrap().contains("deployed") {
            break;
        }
    }
    let sent = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "SIGTERM took {:?}",
        sent.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("resources of the deployment ckt are still on AWS"),
        "{stderr}"
    );
    // The command it names really removes everything.
    for prefix in ["ckf", "ckt"] {
        let out = destroy(prefix, &moto.url, home.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let clients = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(resilient::cloud::aws::clients::connect(&moto.aws()))
            .unwrap();
        let left = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(common::sweep::leftovers(&clients, prefix));
        assert_eq!(left, Vec::<String>::new());
    }
}
