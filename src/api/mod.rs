//! The script API: one Rhai module per action family, written once on top of
//! the [`Cloud`](crate::cloud::Cloud) trait.
//!
//! Every function reaches the run's [`Session`] through the engine's tag, so one
//! set of modules serves every engine (CLI, REPL, tests, embedders).

pub(crate) mod check;
pub(crate) mod deploy;
pub(crate) mod destroy;
pub(crate) mod failure;
pub(crate) mod inspect;
pub(crate) mod load;
pub(crate) mod objective;
pub(crate) mod release;
pub(crate) mod rollout;
pub(crate) mod ui;
pub(crate) mod wait;

pub(crate) use crate::session::{CheckRecord, Session};

use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext, Position};
use serde::Serialize;
use std::sync::Arc;

/// The result type of every script function.
pub(crate) type ScriptResult<T> = Result<T, Box<EvalAltResult>>;

/// Registers every API module into `engine`.
pub(crate) fn register(engine: &mut Engine) {
    use rhai::exported_module;
    // Releases live in their own file, in the same namespace.
    let mut deploy = exported_module!(deploy::api);
    deploy.combine_flatten(exported_module!(release::api));
    engine.register_static_module("deploy", deploy.into());
    engine.register_static_module("inspect", exported_module!(inspect::api).into());
    engine.register_static_module("failure", exported_module!(failure::api).into());
    engine.register_static_module("destroy", exported_module!(destroy::api).into());
    engine.register_static_module("ui", exported_module!(ui::api).into());
    engine.register_static_module("load", exported_module!(load::api).into());
    engine.register_static_module("check", exported_module!(check::api).into());
    engine.register_global_module(exported_module!(wait::api).into());
    engine.register_global_module(exported_module!(objective::api).into());
    load::register_types(engine);
}

/// The names of the registered API modules, for help and completion.
pub const MODULES: [&str; 7] = [
    "deploy", "inspect", "failure", "destroy", "ui", "load", "check",
];

/// The session of the engine running this call.
pub(crate) fn session(ctx: &NativeCallContext) -> ScriptResult<Arc<Session>> {
    ctx.tag()
        .and_then(|tag| tag.read_lock::<Arc<Session>>().map(|s| s.clone()))
        .ok_or_else(|| {
            error_at(
                ctx.call_position(),
                "this engine has no resilient session: build it with resilient::Host",
            )
        })
}

/// A runtime error at `pos`.
pub(crate) fn error_at(pos: Position, message: impl std::fmt::Display) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(message.to_string().into(), pos).into()
}

/// A runtime error at the call site.
pub(crate) fn fail(ctx: &NativeCallContext, message: impl std::fmt::Display) -> Box<EvalAltResult> {
    error_at(ctx.call_position(), message)
}

/// Converts a library result into a script result at the call site; a call
/// cancelled by Ctrl-C or a stop condition halts the script with its typed
/// [`Halt`](crate::session::interrupt::Halt), as the engine's own check does.
pub(crate) fn lift<T>(ctx: &NativeCallContext, r: crate::Result<T>) -> ScriptResult<T> {
    r.map_err(|e| match crate::session::interrupt::Halt::of_error(&e) {
        Some(halt) => {
            EvalAltResult::ErrorTerminated(Dynamic::from(halt), ctx.call_position()).into()
        }
        None => fail(ctx, e),
    })
}

/// Converts any serializable value into a script value.
pub(crate) fn to_script(ctx: &NativeCallContext, value: &impl Serialize) -> ScriptResult<Dynamic> {
    rhai::serde::to_dynamic(value).map_err(|e| fail(ctx, e))
}

/// Runs a cloud call from a script function: the session's cloud, blocking on
/// the runtime, Ctrl-C aware, errors at the call site.
pub(crate) fn with_cloud<T, F, Fut>(ctx: &NativeCallContext, f: F) -> ScriptResult<T>
where
    F: FnOnce(Arc<dyn crate::cloud::Cloud>) -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let s = session(ctx)?;
    let cloud = lift(ctx, s.cloud())?;
    lift(ctx, s.block_on(f(cloud)))
}
