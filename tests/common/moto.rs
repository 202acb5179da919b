//! moto server for the AWS tests: started per test on 127.0.0.1 on a free
//! port. A missing moto fails the test that needs it, with the command that
//! installs it: a test that could not run never counts as passed.
#![allow(dead_code)]

use resilient::settings::{AwsSettings, Backend, Settings};
use resilient::{Host, HostOptions};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

fn venv() -> Option<PathBuf> {
    std::env::var_os("RESILIENT_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/resilient-venv"))
        })
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

/// The moto_server executable: `$MOTO_SERVER`, the project's venv, or PATH.
pub fn moto_server() -> Option<PathBuf> {
    std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            venv()
                .map(|v| v.join("bin/moto_server"))
                .filter(|p| p.is_file())
        })
        .or_else(|| on_path("moto_server"))
}

/// A Python with boto3: `$RESILIENT_PYTHON`, the project's venv, or python3.
pub fn python() -> PathBuf {
    std::env::var_os("RESILIENT_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            venv()
                .map(|v| v.join("bin/python3"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts moto; fails the test when it is not installed.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts moto with these environment variables, e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT`: after that many calls moto authorizes
    /// every request against its own IAM users' policies.
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let Some(bin) = moto_server() else {
            panic!(
                "moto_server not found, so this AWS test cannot run: `bash .ci/run` installs moto[server] into ~/.cache/resilient-venv (or set MOTO_SERVER)"
            );
        };
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// AWS settings that reach this moto.
    pub fn aws(&self) -> AwsSettings {
        AwsSettings {
            region: Some("us-east-1".into()),
            profile: None,
            endpoint_url: Some(self.url.clone()),
            // TEST-NET-3: a documentation address, never contacted.
            my_ip: Some("203.0.113.7".into()),
            credentials: Some(("testing".into(), "testing".into())),
        }
    }

    /// Settings of a batch-mode host on the AWS backend against this moto.
    pub fn settings(&self, prefix: &str) -> Settings {
        Settings {
            backend: Backend::Aws,
            prefix: prefix.into(),
            aws: self.aws(),
            ..Settings::default()
        }
    }

    /// A batch-mode host on the AWS backend against this moto.
    pub fn host(&self, prefix: &str) -> Host {
        Host::new(HostOptions {
            settings: Settings {
                backend: Backend::Aws,
                prefix: prefix.into(),
                aws: self.aws(),
                ..Settings::default()
            },
            batch: true,
            ..Default::default()
        })
        .expect("host")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
