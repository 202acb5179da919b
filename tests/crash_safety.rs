//! Crash safety on the AWS backend (against moto): a deploy killed with
//! SIGKILL at any point — after a creation call, before one reaches the
//! service, in the middle of the concurrent steps — leaves nothing that
//! `scripts/destroy.rhai` in a fresh process cannot find and delete.
//!
//! The AWS proxy in front of moto (tests/common/aws_proxy.rs) counts the
//! calls; at the chosen call its hook kills the process (after the call was
//! answered, so the resource exists but the process never learned of it, or
//! before, so it never reached moto). The kills pass through the proxy's AWS
//! behaviours too (throttling, eventual consistency), unless
//! `RESILIENT_AWS_PROXY=off` makes it transparent.

mod common;

use common::aws_proxy::{AwsProxy, CallPoint};
use common::moto::Moto;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// When the proxy kills the process.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Never (counts the calls of a whole deploy).
    Never,
    /// After call N (1-based) was answered.
    After(u64),
    /// Before call N is handled.
    Before(u64),
}

/// The proxy hook's state: when to kill, and whom.
struct Killer {
    kill: Mutex<Kill>,
    child: Mutex<Option<Child>>,
}

impl Killer {
    /// Installs itself as the proxy's hook.
    fn install(proxy: &AwsProxy) -> Arc<Killer> {
        let killer = Arc::new(Killer {
            kill: Mutex::new(Kill::Never),
            child: Mutex::new(None),
        });
        let hooked = killer.clone();
        proxy.set_hook(move |point| hooked.at(point));
        killer
    }

    fn at(&self, point: CallPoint) {
        let kill = *self.kill.lock().unwrap();
        let now = match (kill, point) {
            (Kill::Before(k), CallPoint::Before(n)) | (Kill::After(k), CallPoint::After(n)) => {
                k == n
            }
            _ => false,
        };
        if now {
            if let Some(child) = self.child.lock().unwrap().as_mut() {
                // Child::kill sends SIGKILL.
                let _ = child.kill();
            }
        }
    }
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
    proxy: &AwsProxy,
    killer: &Killer,
    prefix: &str,
    kill: Kill,
    home: &Path,
) -> (std::process::ExitStatus, u64) {
    proxy.reset_calls();
    *killer.kill.lock().unwrap() = kill;
    // The deploy of scripts/deploy.rhai without its last wait: moto's load
    // balancer has no address that answers, so that wait would not end.
    let script = home.join("deploy.rhai");
    std::fs::write(&script, "deploy::all();\ndeploy::open_port();\n").unwrap();
    let child = command(script.to_str().unwrap(), prefix, &proxy.url, home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    *killer.child.lock().unwrap() = Some(child);
    let status = common::eventually(
        "the killed deploy ends",
        Duration::from_secs(120),
        Duration::from_millis(20),
        || {
            let mut child = killer.child.lock().unwrap();
            child.as_mut().unwrap().try_wait().unwrap().ok_or("running")
        },
    );
    killer.child.lock().unwrap().take();
    *killer.kill.lock().unwrap() = Kill::Never;
    (status, proxy.calls())
}

/// How many calls `resilient preflight` makes through the proxy.
fn preflight_calls(proxy: &AwsProxy, killer: &Killer, home: &Path) -> u64 {
    proxy.reset_calls();
    *killer.kill.lock().unwrap() = Kill::Never;
    let url = &proxy.url;
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
    proxy.calls()
}

fn destroy(prefix: &str, moto: &str, home: &Path) -> Output {
    command("scripts/destroy.rhai", prefix, moto, home)
        .output()
        .unwrap()
}

#[test]
fn a_deploy_killed_at_any_point_is_destroyed_completely_by_a_fresh_process() {
    let moto = Moto::start_with_proxy();
    let proxy = moto.proxy().expect("a proxy in front of moto");
    let killer = Killer::install(proxy);
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The test's own look-ups go to moto directly.
    let clients = rt
        .block_on(resilient::internals::aws::connect(&moto.direct_aws()))
        .unwrap();

    // A whole deploy, to know how many calls it makes.
    let (status, total) = deploy(proxy, &killer, "ck0", Kill::Never, home.path());
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
    let preflight = preflight_calls(proxy, &killer, home.path());
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
        let (status, _) = deploy(proxy, &killer, &prefix, *kill, home.path());
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
            .block_on(resilient::internals::aws::connect(&moto.direct_aws()))
            .unwrap();
        let left = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(common::sweep::leftovers(&clients, prefix));
        assert_eq!(left, Vec::<String>::new());
    }
}
