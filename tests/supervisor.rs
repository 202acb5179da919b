//! The crash matrix of `resilient run`'s supervisor: for each way the
//! interpreter dies — a stack overflow, an abort, SIGKILL, SIGSEGV, memory
//! refused under a limit (setrlimit RLIMIT_AS, as `ulimit -v`), a closed
//! terminal, Ctrl-C at a prompt, SIGTERM at a prompt — on the local cloud
//! and on moto, with a fault injected: afterwards the journal ends with an
//! outcome naming the cause, the report and JUnit exist, and on moto the
//! fault is rolled back (the parameter read back from moto). Plus
//! `resilient recover` after the whole group was killed: on moto the fault
//! stays until `recover` undoes it, and a second `recover` does nothing.
//!
//! Deaths from outside are real signals to the interpreter (the
//! supervisor's child, found in /proc) or to the supervisor, and real
//! terminal events on a pseudo-terminal; deaths from inside (stack
//! overflow, abort, memory) use the debug build's hook
//! (`RESILIENT_DEBUG_CRASH`, src/cli/crash_hook.rs), which dies for real
//! when the script says `crash here`.

mod common;

use common::moto::Moto;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How the interpreter dies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Death {
    StackOverflow,
    Abort,
    Kill,
    Segv,
    Memory,
    ClosedPty,
    ClosedPtyWhileWaiting,
    CtrlCAtPrompt,
    TermAtPrompt,
}

impl Death {
    const ALL: [Death; 9] = [
        Death::StackOverflow,
        Death::Abort,
        Death::Kill,
        Death::Segv,
        Death::Memory,
        Death::ClosedPty,
        Death::ClosedPtyWhileWaiting,
        Death::CtrlCAtPrompt,
        Death::TermAtPrompt,
    ];

    /// Whether the run is on a terminal (a pty), and what it says once it
    /// waits there: at a prompt, or in a wait with its spinner turning.
    fn on_terminal(self) -> Option<&'static str> {
        match self {
            Death::ClosedPty | Death::CtrlCAtPrompt | Death::TermAtPrompt => Some("Your choice"),
            Death::ClosedPtyWhileWaiting => Some("wait_until"),
            _ => None,
        }
    }

    /// What the script does after injecting its fault.
    fn tail(self) -> &'static str {
        match self {
            Death::StackOverflow | Death::Abort | Death::Memory => "ui::say(\"crash here\");\n",
            Death::Kill | Death::Segv | Death::ClosedPtyWhileWaiting => {
                "wait_until(|| false, 600000);\n"
            }
            _ => {
                "let c = ui::choose(\"next\", [\"repair\", \"quit\"], 0);\nui::say(`chose ${c}`);\n"
            }
        }
    }

    /// The debug hook's name for a death from inside.
    fn hook(self) -> Option<&'static str> {
        match self {
            Death::StackOverflow => Some("stack-overflow"),
            Death::Abort => Some("abort"),
            Death::Memory => Some("memory"),
            _ => None,
        }
    }

    /// The exit code the supervisor ends with, and what the outcome's cause says.
    fn expected(self) -> (i32, &'static str) {
        match self {
            Death::Abort | Death::Memory => (7, "SIGABRT"),
            Death::Kill => (7, "SIGKILL"),
            // The interpreter's stack ends at a guard page of its own.
            Death::StackOverflow | Death::Segv => (7, "SIGSEGV"),
            _ => (130, "interrupted"),
        }
    }
}

/// Where the run goes.
enum Cloud<'a> {
    Local,
    Moto(&'a Moto, &'a str),
}

/// A pseudo-terminal whose slave is a process's controlling terminal; what
/// the process writes is collected from the master by a thread that holds
/// the master's only descriptor (closing it hangs the terminal up).
struct Pty {
    master: libc::c_int,
    seen: Arc<Mutex<Vec<u8>>>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    /// Spawns `command` in a new session whose terminal is a new pty.
    fn spawn(command: &mut Command) -> (Child, Pty) {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty fills two descriptors.
        let r = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(r, 0, "openpty");
        // SAFETY: both are fresh descriptors this test owns.
        let (owned, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        command
            .stdin(io(&slave))
            .stdout(io(&slave))
            .stderr(io(&slave));
        // SAFETY: async-signal-safe calls only, between fork and exec.
        unsafe {
            command.pre_exec(move || {
                libc::close(master);
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop(slave);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, stop) = (seen.clone(), closing.clone());
        let reader = std::thread::spawn(move || {
            let mut file = std::fs::File::from(owned);
            let mut buf = [0u8; 4096];
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut fd = libc::pollfd {
                    fd: file.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut fd, 1, 20) } <= 0 {
                    continue;
                }
                match file.read(&mut buf) {
                    Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
            // The master's only descriptor closes here.
        });
        (
            child,
            Pty {
                master,
                seen,
                closing,
                reader: Some(reader),
            },
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    fn send(&self, bytes: &[u8]) {
        assert!(self.reader.is_some(), "the terminal is closed");
        // SAFETY: writes from a live buffer to the master, open until close.
        let n = unsafe { libc::write(self.master, bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(n, bytes.len() as isize);
    }

    /// Closes the terminal (the master's only descriptor): the kernel hangs
    /// it up, as when a window is closed or ssh drops.
    fn close(&mut self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.close();
    }
}

/// The interpreter: the supervisor's only child.
fn interpreter(supervisor: u32) -> libc::pid_t {
    common::eventually(
        "the supervisor has started its interpreter",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || {
            let children =
                std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
                    .map_err(|e| e.to_string())?;
            children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| "no child yet".to_string())
        },
    )
}

fn signal(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid} {sig}");
}

/// `resilient run SCRIPT` with a journal, report and JUnit in `dir`.
fn command(cloud: &Cloud<'_>, script: &Path, dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT)
        .arg("run")
        .arg(script)
        .arg("--journal")
        .arg(dir.join("j.jsonl"))
        .arg("--report")
        .arg(dir.join("r.html"))
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env_remove("RESILIENT_NO_SUPERVISOR")
        .env_remove("RESILIENT_SUPERVISED");
    match cloud {
        Cloud::Local => {
            c.args(["--time-scale", "0.01"]);
        }
        Cloud::Moto(moto, prefix) => {
            c.args(["--backend", "aws", "--region", "us-east-1"])
                .args(["--prefix", prefix, "--endpoint-url", &moto.url])
                .args(["--my-ip", "203.0.113.7"])
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_ENDPOINT_URL");
        }
    }
    c
}

/// Waits for `child`, at most a minute.
fn ended(child: &mut Child) -> ExitStatus {
    common::eventually(
        "the run ends",
        Duration::from_secs(90),
        Duration::from_millis(20),
        || child.try_wait().unwrap().ok_or("running"),
    )
}

/// Runs the script injecting a fault and dying as `death` says; returns
/// how the supervisor ended, what it said, and the run's directory.
fn die(cloud: &Cloud<'_>, death: Death) -> (ExitStatus, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("dies.rhai");
    let deploy = match cloud {
        Cloud::Local => "deploy::all();\n",
        // On moto the deployment is made once, before the matrix.
        Cloud::Moto(..) => "",
    };
    std::fs::write(
        &script,
        format!(
            "{deploy}failure::bad_table();\nui::say(\"injected\");\n{}",
            death.tail()
        ),
    )
    .unwrap();
    let mut c = command(cloud, &script, dir.path());
    if let Some(hook) = death.hook() {
        c.env("RESILIENT_DEBUG_CRASH", hook);
    }
    if death == Death::Memory {
        // `ulimit -v 2000000` for the run: the interpreter's allocations are
        // refused beyond it (the supervisor needs a fraction of it).
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 2_000_000 * 1024,
                    rlim_max: 2_000_000 * 1024,
                };
                libc::setrlimit(libc::RLIMIT_AS, &limit);
                Ok(())
            });
        }
    }
    let started = Instant::now();
    if let Some(waiting) = death.on_terminal() {
        let (mut child, mut pty) = Pty::spawn(&mut c);
        common::eventually_true(
            "the run waits on its terminal",
            Duration::from_secs(60),
            Duration::from_millis(20),
            || pty.text().contains(waiting),
        );
        if death == Death::ClosedPtyWhileWaiting {
            // A few of the spinner's frames drawn first.
            std::thread::sleep(Duration::from_millis(400));
        }
        match death {
            Death::ClosedPty | Death::ClosedPtyWhileWaiting => pty.close(),
            Death::CtrlCAtPrompt => pty.send(b"\x03"),
            // To the supervisor, as a CI job's timeout or `kill PID` sends it.
            _ => signal(child.id() as libc::pid_t, libc::SIGTERM),
        }
        let status = ended(&mut child);
        eprintln!("{death:?}: ended in {:?}", started.elapsed());
        let text = pty.text();
        return (status, text, dir);
    }
    let out = dir.path().join("out.txt");
    let err = dir.path().join("err.txt");
    let mut child = c
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    if let Some(sig) = match death {
        Death::Kill => Some(libc::SIGKILL),
        Death::Segv => Some(libc::SIGSEGV),
        _ => None,
    } {
        common::eventually_true(
            "the fault is injected",
            Duration::from_secs(60),
            Duration::from_millis(20),
            || std::fs::read_to_string(&out).is_ok_and(|t| t.contains("injected")),
        );
        let pid = interpreter(child.id());
        signal(pid, sig);
        if sig == libc::SIGSEGV {
            // The first SIGSEGV from outside meets Rust's handler for stack
            // overflows, which finds no overflow, restores the default
            // action and returns (as after a real bad access, which then
            // faults again): the second one ends the process.
            std::thread::sleep(Duration::from_millis(200));
            signal(pid, sig);
        }
    }
    let status = ended(&mut child);
    eprintln!("{death:?}: ended in {:?}", started.elapsed());
    let said =
        std::fs::read_to_string(&out).unwrap() + std::fs::read_to_string(&err).unwrap().as_str();
    (status, said, dir)
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What every death leaves: the exit code, an outcome naming the cause last
/// in the journal, the report and the JUnit (a failed case naming a crash).
fn assert_ended(
    death: Death,
    status: ExitStatus,
    said: &str,
    dir: &Path,
) -> Vec<serde_json::Value> {
    let (code, cause) = death.expected();
    assert_eq!(status.code(), Some(code), "{death:?}: {status:?}\n{said}");
    let journal = lines(&dir.join("j.jsonl"));
    let last = journal.last().unwrap();
    assert_eq!(last["type"], "outcome", "{death:?}: {last}");
    assert_eq!(last["exit_code"], code, "{death:?}: {last}");
    let named = last["reason"].as_str().unwrap_or_default();
    assert!(named.contains(cause), "{death:?}: cause {named:?}\n{said}");
    let faults = journal.iter().filter(|l| l["event"] == "fault").count();
    assert_eq!(faults, 1, "{death:?}: the fault is in the journal");
    let report = std::fs::read_to_string(dir.join("r.html")).unwrap();
    assert!(
        report.contains("table parameter points at a missing table"),
        "{death:?}"
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let suites = doc.root_element();
    assert!(suites.has_tag_name("testsuites") || suites.has_tag_name("testsuite"));
    if code == 7 {
        let crashed = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("the run"))
            .unwrap_or_else(|| panic!("{death:?}: {junit}"));
        let error = crashed
            .children()
            .find(|c| c.has_tag_name("error"))
            .unwrap_or_else(|| panic!("{death:?}: {junit}"));
        assert!(
            error
                .attribute("message")
                .unwrap_or_default()
                .contains(cause),
            "{death:?}: {junit}"
        );
        assert!(
            said.contains(cause),
            "{death:?}: the supervisor names the cause\n{said}"
        );
    }
    journal
}

#[test]
fn on_the_local_cloud_every_death_ends_with_outcome_report_and_junit() {
    for death in Death::ALL {
        let (status, said, dir) = die(&Cloud::Local, death);
        let journal = assert_ended(death, status, &said, dir.path());
        if death.expected().0 == 7 {
            // The instances and the fault died with the interpreter: said.
            assert!(
                said.contains("The local cloud ended with the interpreter"),
                "{death:?}: {said}"
            );
        } else {
            // Interrupted: the interpreter rolled back itself.
            assert!(
                journal
                    .iter()
                    .any(|l| l["event"] == "rollback" && l["error"].is_null()),
                "{death:?}: {said}"
            );
        }
    }
}

/// The table parameter as moto holds it.
fn table_parameter(rt: &tokio::runtime::Runtime, moto: &Moto, prefix: &str) -> String {
    rt.block_on(async {
        let c = resilient::internals::aws::connect(&moto.direct_aws())
            .await
            .unwrap();
        c.ssm
            .get_parameter()
            .name(format!("{prefix}-table"))
            .send()
            .await
            .unwrap()
            .parameter
            .unwrap()
            .value
            .unwrap()
    })
}

/// Deploys on moto (without the last wait: moto's load balancer has no
/// address that answers).
fn deploy_on_moto(moto: &Moto, prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("deploy.rhai");
    std::fs::write(&script, "deploy::all();\ndeploy::open_port();\n").unwrap();
    let out = command(&Cloud::Moto(moto, prefix), &script, dir.path())
        .arg("--yes")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn on_moto_every_death_rolls_the_fault_back_and_ends_the_run() {
    let moto = Moto::start();
    let prefix = "svm";
    let _deployed = deploy_on_moto(&moto, prefix);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let healthy = table_parameter(&rt, &moto, prefix);
    assert_eq!(healthy, format!("{prefix}-recommendations"));
    for death in Death::ALL {
        let (status, said, dir) = die(&Cloud::Moto(&moto, prefix), death);
        let journal = assert_ended(death, status, &said, dir.path());
        assert_eq!(
            table_parameter(&rt, &moto, prefix),
            healthy,
            "{death:?}: the fault was rolled back on moto\n{said}"
        );
        assert!(
            journal
                .iter()
                .any(|l| l["event"] == "rollback" && l["error"].is_null()),
            "{death:?}: the rollback is journalled\n{said}"
        );
        if death.expected().0 == 7 {
            // The supervisor names what is still deployed and the destroy command.
            assert!(
                said.contains(&format!(
                    "resources of the deployment {prefix} are still on AWS"
                )),
                "{death:?}: {said}"
            );
            assert!(
                said.contains("resilient run scripts/destroy.rhai"),
                "{death:?}: {said}"
            );
        }
    }
}

/// Runs `resilient recover JOURNAL` with the run's options.
fn recover(cloud: &Cloud<'_>, journal: &Path, home: &Path) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT)
        .arg("recover")
        .arg(journal)
        .env("HOME", home)
        .env("NO_COLOR", "1");
    if let Cloud::Moto(moto, _) = cloud {
        c.args(["--endpoint-url", &moto.url])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
    }
    c.stdin(Stdio::null()).output().unwrap()
}

/// Starts a run that injects the fault and waits, in a process group of its
/// own, and kills the whole group (supervisor and interpreter) with SIGKILL
/// once the fault is in; returns the journal.
fn kill_group(cloud: &Cloud<'_>, dir: &Path) -> PathBuf {
    let script = dir.join("waits.rhai");
    let deploy = match cloud {
        Cloud::Local => "deploy::all();\n",
        Cloud::Moto(..) => "",
    };
    std::fs::write(
        &script,
        format!(
            "{deploy}failure::bad_table();\nui::say(\"injected\");\nwait_until(|| false, 600000);\n"
        ),
    )
    .unwrap();
    let out = dir.join("out.txt");
    let mut child = command(cloud, &script, dir)
        .arg("--yes")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::eventually_true(
        "the fault is injected",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || std::fs::read_to_string(&out).is_ok_and(|t| t.contains("injected")),
    );
    let interpreter = interpreter(child.id());
    signal(-(child.id() as libc::pid_t), libc::SIGKILL);
    assert_eq!(ended(&mut child).signal(), Some(libc::SIGKILL));
    common::eventually_true(
        "the interpreter is gone too",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || !Path::new(&format!("/proc/{interpreter}")).exists(),
    );
    dir.join("j.jsonl")
}

#[test]
fn recover_undoes_on_moto_what_a_killed_group_left_and_is_idempotent() {
    let moto = Moto::start();
    let prefix = "svr";
    let _deployed = deploy_on_moto(&moto, prefix);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cloud = Cloud::Moto(&moto, prefix);
    let dir = tempfile::tempdir().unwrap();
    let journal = kill_group(&cloud, dir.path());
    // Nobody was left to roll back: the fault stays.
    assert_eq!(
        table_parameter(&rt, &moto, prefix),
        format!("{prefix}-no-such-table")
    );
    assert!(lines(&journal).iter().all(|l| l["type"] != "outcome"));

    let out = recover(&cloud, &journal, dir.path());
    let said = String::from_utf8_lossy(&out.stdout).to_string()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    assert!(out.status.success(), "{said}");
    assert_eq!(
        table_parameter(&rt, &moto, prefix),
        format!("{prefix}-recommendations"),
        "{said}"
    );
    assert!(
        said.contains(
            "rolled back the faults the run left: table parameter points at a missing table"
        ),
        "{said}"
    );
    assert!(
        said.contains("resilient run scripts/destroy.rhai"),
        "{said}"
    );
    let j = lines(&journal);
    assert!(
        j.iter()
            .any(|l| l["event"] == "rollback" && l["error"].is_null())
    );
    let last = j.last().unwrap();
    assert_eq!(last["type"], "outcome");
    assert_eq!(last["exit_code"], 7);
    assert!(
        last["reason"].as_str().unwrap().contains("recover"),
        "{last}"
    );

    // Again: nothing to do, and it says so; the journal is unchanged.
    let before = std::fs::read_to_string(&journal).unwrap();
    let out = recover(&cloud, &journal, dir.path());
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Nothing to recover"), "{said}");
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), before);
}

#[test]
fn recover_on_the_local_cloud_says_nothing_outlives_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let journal = kill_group(&Cloud::Local, dir.path());
    let out = recover(&Cloud::Local, &journal, dir.path());
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("nothing of it outlives its process"),
        "{said}"
    );
    assert_eq!(lines(&journal).last().unwrap()["type"], "outcome");
}

#[test]
fn a_run_without_supervisor_has_no_one_to_end_it() {
    // The debugging switch really turns the supervisor off: the abort ends
    // the process, and the journal has no outcome.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("aborts.rhai");
    std::fs::write(&script, "ui::say(\"crash here\");\n").unwrap();
    let out = command(&Cloud::Local, &script, dir.path())
        .arg("--no-supervisor")
        .env("RESILIENT_DEBUG_CRASH", "abort")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
    assert!(
        lines(&dir.path().join("j.jsonl"))
            .iter()
            .all(|l| l["type"] != "outcome")
    );
}
