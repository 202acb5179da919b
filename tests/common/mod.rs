//! Helpers shared by the integration tests: a host on a fast local cloud and
//! typed views of what scripts get back.
#![allow(dead_code)]

pub mod aws_proxy;
pub mod eventually;
pub mod moto;
pub mod refresh_standin;
pub mod sweep;

// Not every test binary uses both.
#[allow(unused_imports)]
pub use eventually::{eventually, eventually_true};

use resilient::settings::{Backend, Settings};
use resilient::{Host, HostOptions};
use rhai::Dynamic;
use serde::Deserialize;

/// Cloud time for tests: 20× faster than AWS (health checks every 0.5 s).
pub const TEST_TIME_SCALE: f64 = 0.05;

/// A batch-mode host on the local cloud.
pub fn host() -> Host {
    Host::new(HostOptions {
        settings: Settings {
            backend: Backend::Local,
            time_scale: TEST_TIME_SCALE,
            ..Settings::default()
        },
        batch: true,
        ..Default::default()
    })
    .expect("host")
}

/// Where inline test scripts pretend to live, so `../scripts/lib/...` imports resolve.
pub const INLINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/inline.rhai");

/// Runs script code; panics with the rendered error.
pub fn eval(host: &mut Host, code: &str) -> Dynamic {
    match host.eval(code, INLINE) {
        Ok(v) => v,
        Err(e) => panic!("script failed:\n{e}"),
    }
}

/// Runs script code and returns the error it must raise.
pub fn eval_err(host: &mut Host, code: &str) -> resilient::host::ScriptError {
    host.eval(code, INLINE).expect_err("the script should fail")
}

/// A request as `inspect::request()` returns it.
#[derive(Debug, Deserialize)]
pub struct Request {
    pub status: i64,
    pub fallback: bool,
    pub instance: Option<String>,
    pub az: Option<String>,
    /// The release that answered (`Metadata.Version`).
    #[serde(default)]
    pub version: Option<String>,
}

/// A target as `inspect::targets()` returns it.
#[derive(Debug, Deserialize)]
pub struct Target {
    pub id: String,
    pub port: i64,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// An instance as `inspect::instances()` returns it.
#[derive(Debug, Deserialize)]
pub struct Instance {
    pub id: String,
    pub az: String,
    pub state: String,
    pub health: String,
    pub profile: String,
    /// The launch template version it was launched from.
    #[serde(default)]
    pub version: Option<u32>,
}

/// Converts a script value into a typed view.
pub fn from<T: serde::de::DeserializeOwned>(v: Dynamic) -> T {
    rhai::serde::from_dynamic(&v).expect("shape")
}

/// Sends `n` requests through the load balancer.
pub fn requests(host: &mut Host, n: usize) -> Vec<Request> {
    from(eval(
        host,
        &format!("let out = []; for i in 0..{n} {{ out.push(inspect::request()); }} out"),
    ))
}

/// `inspect::targets()`.
pub fn targets(host: &mut Host) -> Vec<Target> {
    from(eval(host, "inspect::targets()"))
}

/// `inspect::instances()`.
pub fn instances(host: &mut Host) -> Vec<Instance> {
    from(eval(host, "inspect::instances()"))
}

/// Runs the demo's stage `stage` (1 to 7) with the shipped stage scripts,
/// after the stages before it ran in the same host (stage 1 deploys first);
/// returns the bad-credentials instance once stage 4 has run.
pub fn run_stage(host: &mut Host, stage: usize) -> Option<String> {
    let steps = [
        "let victim = (); deploy::all(); stages::healthy();",
        "stages::broken_dependency();",
        "stages::static_fallback();",
        "victim = stages::bad_credentials();",
        "stages::deep_health_checks(victim);",
        "stages::replace_instance(victim);",
        "stages::fail_open();",
        "stages::reset(); stages::rolling_update();",
    ];
    let step = steps[stage - 1];
    let code = format!("import \"../scripts/lib/stages\" as stages;\n{step}\nvictim");
    eval(host, &code).into_string().ok()
}

/// Runs script code for its effect; panics with the rendered error.
pub fn run(host: &mut Host, code: &str) {
    let _ = eval(host, code);
}
