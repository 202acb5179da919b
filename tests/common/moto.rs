//! moto server for the AWS tests: started per test on 127.0.0.1 on a free
//! port, behind the AWS proxy (`aws_proxy`), which brings AWS's throttling,
//! eventual consistency and transitions back. `RESILIENT_AWS_PROXY=off` runs
//! the tests against moto directly, to compare. A missing moto fails the test
//! that needs it, with the command that installs it: a test that could not run
//! never counts as passed.
#![allow(dead_code)]

use super::aws_proxy::{self, AwsProxy};
use resilient::settings::{AwsSettings, Backend, Settings};
use resilient::{Host, HostOptions};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running moto server, and the AWS proxy in front of it.
pub struct Moto {
    child: Child,
    /// Where the code under test goes: the proxy's `http://127.0.0.1:PORT`, or
    /// moto's when the proxy is off.
    pub url: String,
    /// moto itself, for a test's own verification calls (they neither draw
    /// on the proxy's buckets nor meet its inconsistencies).
    pub direct_url: String,
    proxy: Option<AwsProxy>,
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
    /// Starts moto behind the AWS proxy with every behaviour (moto alone with
    /// `RESILIENT_AWS_PROXY=off`, some behaviours only with e.g.
    /// `RESILIENT_AWS_PROXY=throttling,tables`: see
    /// [`aws_proxy::Config::from_env`]); fails the test when moto is not installed.
    pub fn start() -> Moto {
        Moto::start_with(aws_proxy::Config::from_env())
    }

    /// Starts moto behind a proxy in every case, transparent when
    /// `RESILIENT_AWS_PROXY=off` (for tests that need its call hook).
    pub fn start_with_proxy() -> Moto {
        Moto::start_with(Some(
            aws_proxy::Config::from_env().unwrap_or_else(aws_proxy::Config::transparent),
        ))
    }

    /// Starts moto (behind the proxy, as [`Moto::start`]) with these
    /// environment variables, e.g. `INITIAL_NO_AUTH_ACTION_COUNT`: after that
    /// many calls moto authorizes every request against its own IAM users'
    /// policies.
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        Moto::start_with_config(aws_proxy::Config::from_env(), env)
    }

    /// Starts moto, behind a proxy with `proxy` when given.
    pub fn start_with(proxy: Option<aws_proxy::Config>) -> Moto {
        Moto::start_with_config(proxy, &[])
    }

    fn start_with_config(proxy: Option<aws_proxy::Config>, env: &[(&str, &str)]) -> Moto {
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
        super::eventually(
            "moto listens",
            Duration::from_secs(30),
            Duration::from_millis(50),
            || TcpStream::connect(("127.0.0.1", port)),
        );
        let direct_url = format!("http://127.0.0.1:{port}");
        let proxy = proxy.map(|config| AwsProxy::start(&direct_url, config));
        Moto {
            child,
            url: proxy
                .as_ref()
                .map_or_else(|| direct_url.clone(), |p| p.url.clone()),
            direct_url,
            proxy,
        }
    }

    /// The proxy in front of moto, if any.
    pub fn proxy(&self) -> Option<&AwsProxy> {
        self.proxy.as_ref()
    }

    /// AWS settings that reach this moto through the proxy (as the code under test does).
    pub fn aws(&self) -> AwsSettings {
        self.aws_at(&self.url)
    }

    /// AWS settings that reach moto directly (for a test's own checks).
    pub fn direct_aws(&self) -> AwsSettings {
        self.aws_at(&self.direct_url)
    }

    fn aws_at(&self, url: &str) -> AwsSettings {
        AwsSettings {
            region: Some("us-east-1".into()),
            profile: None,
            endpoint_url: Some(url.to_string()),
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
        // The proxy first: it writes its counts.
        drop(self.proxy.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
