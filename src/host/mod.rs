//! The Rhai host: one engine builder shared by the CLI, the REPL, the tests and
//! embedders, plus running and checking script files.

pub mod diagnostics;
pub mod docs;
pub mod resolver;

use crate::api::{self, Session};
use crate::error::Result;
use crate::settings::Settings;
pub use diagnostics::ScriptError;
use diagnostics::display_path;
use rhai::{AST, Dynamic, Engine, OptimizationLevel, Scope};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How to build a [`Host`].
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Backend, names and local time scale.
    pub settings: Settings,
    /// Prompts take their default answer (`--yes`, or stdin not a terminal).
    pub batch: bool,
}

/// Builds an engine with the whole script API, bound to `session`.
///
/// Optimization stays at `Simple` and cloud functions are `volatile`, so no
/// cloud call ever runs at compile time. Scripts stop when Ctrl-C sets the
/// session's interrupt flag.
pub fn build_engine(session: Arc<Session>) -> Engine {
    let mut engine = Engine::new();
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_module_resolver(resolver::RelativeFileResolver::default());
    engine.set_max_call_levels(128);
    engine.set_max_expr_depths(128, 64);
    api::register(&mut engine);
    let flag = session.interrupt_flag();
    engine.on_progress(move |_| {
        flag.load(Ordering::Relaxed)
            .then(|| Dynamic::from("interrupted by Ctrl-C"))
    });
    engine.set_default_tag(Dynamic::from(session));
    engine
}

/// A runtime, a session and an engine: everything needed to run scripts.
pub struct Host {
    engine: Engine,
    session: Arc<Session>,
    scope: Scope<'static>,
    /// Functions defined by earlier [`Host::eval`] inputs.
    functions: AST,
}

impl Host {
    /// Builds the session and the engine (the async runtime starts when a
    /// script first needs it).
    pub fn new(options: HostOptions) -> Result<Self> {
        options.settings.validate()?;
        let session = Arc::new(Session::new(options.settings, options.batch));
        Ok(Host {
            engine: build_engine(session.clone()),
            session,
            scope: Scope::new(),
            functions: AST::empty(),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to register more functions.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The session the script functions share.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The scope variables persist in between [`Host::eval`] calls.
    pub fn scope_mut(&mut self) -> &mut Scope<'static> {
        &mut self.scope
    }

    /// Runs a script file in a fresh scope; imports resolve relative to it.
    pub fn run_file(&mut self, path: &Path) -> Result<Dynamic, ScriptError> {
        let ast = self.compile_file(path)?;
        let name = display_path(path);
        self.session.clear_interrupt();
        let mut scope = Scope::new();
        self.engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
            .map_err(|e| ScriptError::from_eval(*e, &name, None))
    }

    /// Evaluates code in the persistent scope; variables and functions it
    /// defines stay available to later calls. `name` labels errors (and is the
    /// source imports resolve against).
    pub fn eval(&mut self, code: &str, name: &str) -> Result<Dynamic, ScriptError> {
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, code)
            .map_err(|e| ScriptError::from_parse(&e, name, Some(code)))?;
        ast.set_source(name);
        self.eval_ast(&ast, name, Some(code))
    }

    /// Evaluates a compiled AST in the persistent scope, with the functions of
    /// earlier inputs; keeps the functions it defines.
    pub fn eval_ast(
        &mut self,
        ast: &AST,
        name: &str,
        code: Option<&str>,
    ) -> Result<Dynamic, ScriptError> {
        self.session.clear_interrupt();
        let program = self.functions.merge(ast);
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program)
            .map_err(|e| ScriptError::from_eval(*e, name, code));
        self.functions.combine(ast.clone_functions_only());
        result
    }

    /// Compiles a file with its path as source (so imports resolve next to it).
    pub fn compile_file(&self, path: &Path) -> Result<AST, ScriptError> {
        let name = display_path(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScriptError::plain(&name, format!("cannot read {name}: {e}")))?;
        let mut ast = self
            .engine
            .compile(&text)
            .map_err(|e| ScriptError::from_parse(&e, &name, Some(&text)))?;
        ast.set_source(path.to_string_lossy().as_ref());
        Ok(ast)
    }

    /// Compiles a file and every file it imports, without running anything;
    /// returns every error found (one per file that fails, plus missing imports).
    pub fn check_file(&self, path: &Path) -> Vec<ScriptError> {
        let mut engine = build_engine(self.session.clone());
        engine.set_strict_variables(true);
        let mut seen = BTreeSet::new();
        let mut errors = Vec::new();
        let mut queue = vec![(path.to_path_buf(), None::<(String, usize)>)];
        while let Some((file, imported_from)) = queue.pop() {
            let key = file.canonicalize().unwrap_or_else(|_| file.clone());
            if !seen.insert(key) {
                continue;
            }
            let name = display_path(&file);
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    let mut err = ScriptError::plain(&name, format!("cannot read {name}: {e}"));
                    if let Some((from, line)) = imported_from {
                        err.message = format!("imported module {name} cannot be read: {e}");
                        err.file = from.clone();
                        err.line = Some(line as u32);
                        err.source_line = std::fs::read_to_string(&from)
                            .ok()
                            .and_then(|t| t.lines().nth(line - 1).map(str::to_string));
                    }
                    errors.push(err);
                    continue;
                }
            };
            if let Err(e) = engine.compile(&text) {
                errors.push(ScriptError::from_parse(&e, &name, Some(&text)));
            }
            for (line, import) in imports_of(&text) {
                let target = resolver::RelativeFileResolver::file_for(
                    Some(&file.to_string_lossy()),
                    &import.to_string_lossy(),
                );
                queue.push((target, Some((name.clone(), line))));
            }
        }
        errors
    }

    /// Makes Ctrl-C stop the running script and cancel its cloud call (the
    /// session stays usable). With `exit_on_second`, a second Ctrl-C before
    /// the run ends exits the process at once.
    pub fn interrupt_on_ctrl_c(&self, exit_on_second: bool) {
        let flag = self.session.interrupt_flag();
        let _ = ctrlc::set_handler(move || {
            let again = flag.swap(true, Ordering::SeqCst);
            if again && exit_on_second {
                eprintln!("\ninterrupted twice: exiting now");
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: stopping the running call");
        });
    }

    /// Stops everything the local cloud still runs.
    pub fn shutdown(&mut self) -> Result<()> {
        self.session.shutdown_local()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.session.shutdown_local();
        if let Some(rt) = self.session.take_runtime() {
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// Finds `import "path"` statements (1-based line, path) in script text.
fn imports_of(text: &str) -> Vec<(usize, PathBuf)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = line.trim_start().strip_prefix("import")?;
            let rest = rest.trim_start().strip_prefix('"')?;
            let end = rest.find('"')?;
            Some((i + 1, PathBuf::from(&rest[..end])))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_imports() {
        let found = imports_of("import \"lib/common\" as c;\n  import \"x\";\nlet a = 1;");
        assert_eq!(
            found,
            vec![(1, PathBuf::from("lib/common")), (2, PathBuf::from("x"))]
        );
    }
}
