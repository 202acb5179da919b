//! The Rhai host: one engine builder shared by the CLI, the REPL, the tests and
//! embedders, plus running and checking script files.

pub(crate) mod depth;
mod diagnostics;
pub mod docs;
mod guards;
pub mod prompts;
mod resolver;

use crate::api::{self, Session};
use crate::error::Result;
pub use crate::session::prompt::{Answer, Answerer, DefaultAnswers, Question};
use crate::settings::Settings;
pub use diagnostics::ScriptError;
use diagnostics::display_path;
use rhai::{AST, Dynamic, Engine, OptimizationLevel, Scope};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How to build a [`Host`].
#[derive(Clone, Default)]
pub struct HostOptions {
    /// Backend, names and local time scale.
    pub settings: Settings,
    /// Prompts take their default answer (`--yes`, or stdin not a terminal),
    /// whatever the `answerer` field says; unless `quiet`, the terminal
    /// says which answer was taken.
    pub batch: bool,
    /// The script sandbox's limits.
    pub limits: Limits,
    /// No terminal renderer: nothing is printed (embedders add their own
    /// sinks with [`Host::add_sink`]).
    pub quiet: bool,
    /// Who answers `ui::pause/confirm/choose`: the terminal front end sets
    /// [`prompts::TerminalAnswerer`], an embedder its own [`Answerer`].
    /// `None` takes every default answer (said on the terminal unless
    /// `quiet`), so no prompt ever blocks.
    pub answerer: Option<Arc<dyn Answerer>>,
}

impl std::fmt::Debug for HostOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostOptions")
            .field("settings", &self.settings)
            .field("batch", &self.batch)
            .field("limits", &self.limits)
            .field("quiet", &self.quiet)
            .field("answerer", &self.answerer.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl HostOptions {
    /// The answerer these options give prompts: batch mode and no answerer
    /// take the defaults (said on the terminal unless quiet).
    fn answerer(&self) -> Arc<dyn Answerer> {
        match &self.answerer {
            Some(answerer) if !self.batch => answerer.clone(),
            _ if self.quiet => Arc::new(DefaultAnswers),
            _ => Arc::new(prompts::BatchAnswerer),
        }
    }
}

/// The script sandbox: no script, however wrong, can exhaust memory, the
/// stack or (with a limit set) time. Hitting a limit is an ordinary script
/// error at the position that hit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Script operations per run (or per REPL input); 0 = no limit. Time
    /// blocked in cloud calls, waits and load does not count.
    pub max_operations: u64,
}

impl Limits {
    /// The default operation budget: far beyond any demo or scenario
    /// (the full demo uses well under a million), about a second of
    /// `loop {}`. It also bounds what a script can build that Rhai frees by
    /// recursion (a chain of closures each capturing the last): within this
    /// budget the interpreter's stack (1 GiB, see `main.rs`) holds it; a
    /// budget raised far beyond it (or 0, no limit) lifts that guarantee.
    pub const DEFAULT_MAX_OPERATIONS: u64 = 10_000_000;
    /// The longest string a script may build (bytes).
    pub const MAX_STRING_SIZE: usize = 16 << 20;
    /// The most items an array may hold (nested arrays count). Rhai
    /// measures the whole array at every change, so a million would let
    /// `push` in a loop run for most of an hour; a hundred thousand is a
    /// few seconds at worst.
    pub const MAX_ARRAY_SIZE: usize = 100_000;
    /// The most entries a map may hold (nested maps count).
    pub const MAX_MAP_SIZE: usize = 100_000;
    /// The most modules one run may load.
    pub const MAX_MODULES: usize = 256;
    /// The longest chain of files importing each other (`a` imports `b`
    /// imports `c`…), counting the script itself.
    pub const MAX_IMPORT_DEPTH: usize = 32;
    /// The deepest function call nesting.
    pub const MAX_CALL_LEVELS: usize = 128;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: Self::DEFAULT_MAX_OPERATIONS,
        }
    }
}

/// Builds an engine with the whole script API, bound to `session`, inside the
/// sandbox `limits`.
///
/// Optimization stays at `Simple` and cloud functions are `volatile`, so no
/// cloud call ever runs at compile time. Scripts stop when Ctrl-C (or a stop
/// condition) sets the session's interrupt flag.
pub fn build_engine(session: Arc<Session>, limits: Limits) -> Engine {
    build_engine_with(session, limits, Arc::default())
}

fn build_engine_with(
    session: Arc<Session>,
    limits: Limits,
    modules: Arc<resolver::RelativeFileResolver>,
) -> Engine {
    let mut engine = Engine::new();
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_module_resolver(resolver::Shared(modules));
    engine.set_max_call_levels(Limits::MAX_CALL_LEVELS);
    engine.set_max_expr_depths(128, 64);
    engine.set_max_operations(limits.max_operations);
    engine.set_max_string_size(Limits::MAX_STRING_SIZE);
    engine.set_max_array_size(Limits::MAX_ARRAY_SIZE);
    engine.set_max_map_size(Limits::MAX_MAP_SIZE);
    engine.set_max_modules(Limits::MAX_MODULES);
    api::register(&mut engine);
    guards::register(&mut engine);
    let flag = session.interrupt().flag();
    let stopping = session.clone();
    // The engine ends with the typed halt, which diagnostics recognise.
    engine.on_progress(move |_| {
        flag.load(Ordering::Relaxed)
            .then(|| Dynamic::from(stopping.interrupt().halt()))
    });
    engine.set_default_tag(Dynamic::from(session));
    engine
}

/// A runtime, a session and an engine: everything needed to run scripts.
pub struct Host {
    engine: Engine,
    session: Arc<Session>,
    limits: Limits,
    /// The engine's module resolver, emptied before each run so edited
    /// modules are read again.
    modules: Arc<resolver::RelativeFileResolver>,
    scope: Scope<'static>,
    /// Functions defined by earlier [`Host::eval`] inputs.
    functions: AST,
}

impl Host {
    /// Builds the session and the engine (the async runtime starts when a
    /// script first needs it).
    pub fn new(options: HostOptions) -> Result<Self> {
        options.settings.validate()?;
        let answerer = options.answerer();
        let session = Arc::new(Session::new(options.settings, answerer));
        if !options.quiet {
            session
                .bus()
                .subscribe(Arc::new(crate::terminal::Terminal::default()));
        }
        let modules = Arc::new(resolver::RelativeFileResolver::default());
        Ok(Host {
            engine: build_engine_with(session.clone(), options.limits, modules.clone()),
            session,
            limits: options.limits,
            modules,
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

    /// Adds a sink to the session's event stream: it gets every later event.
    pub fn add_sink(&self, sink: Arc<dyn crate::events::Sink>) {
        self.session.bus().subscribe(sink);
        self.session.ensure_recorder();
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
        self.session.interrupt().clear();
        self.modules.clear();
        self.modules.enter(path);
        let mut scope = Scope::new();
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
            .map_err(|e| ScriptError::from_eval(*e, &name, None));
        self.modules.leave_all();
        result
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
        self.session.interrupt().clear();
        self.modules.clear();
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
        let text = crate::files::read_text(path, crate::files::MAX_SCRIPT_BYTES)
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
        let mut engine = build_engine(self.session.clone(), self.limits);
        engine.set_strict_variables(true);
        let mut checker = Checker {
            engine,
            done: BTreeSet::new(),
            chain: Vec::new(),
            errors: Vec::new(),
        };
        checker.visit(path, None);
        checker.errors
    }

    /// Makes Ctrl-C (and SIGTERM, SIGHUP) stop the running script and cancel
    /// its cloud call or prompt (the session stays usable). With
    /// `exit_on_second`, a second one before the run ends exits the process
    /// at once; one within half a second of the first is taken as the same
    /// (a signal to the whole process group reaches the interpreter twice
    /// under `resilient run`'s supervisor: directly and forwarded). Nothing
    /// here panics on a closed terminal: the words are dropped.
    pub fn interrupt_on_ctrl_c(&self, exit_on_second: bool) {
        let flag = self.session.interrupt().flag();
        let first = std::sync::Mutex::new(None::<std::time::Instant>);
        let _ = ctrlc::set_handler(move || {
            let mut first = crate::sync::lock(&first);
            let again = flag.swap(true, Ordering::SeqCst);
            let echo = first.is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(500));
            if again && echo {
                return;
            }
            if again && exit_on_second {
                crate::errln!(
                    "\ninterrupted twice: exiting now, without rollback; `resilient recover JOURNAL` undoes the faults a run's journal says are still injected"
                );
                crate::Exit::Interrupted.now();
            }
            first.get_or_insert_with(std::time::Instant::now);
            crate::errln!("\ninterrupted: stopping the running call");
        });
    }

    /// Stops everything the local cloud still runs.
    pub fn shutdown(&mut self) -> Result<()> {
        self.session.shutdown_local()
    }

    /// Ends the host as dropping it does (the local cloud stopped, the async
    /// runtime shut down), for a process about to exit: the engine's tables
    /// are left to the operating system instead of being freed one small
    /// allocation at a time, which is a tenth of an empty run's time.
    pub fn finish(self) {
        std::mem::ManuallyDrop::new(self).close();
    }

    fn close(&self) {
        let _ = self.session.shutdown_local();
        if let Some(rt) = self.session.take_runtime() {
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.close();
    }
}

/// Compiles a script and, depth first, every module it imports.
struct Checker {
    engine: Engine,
    /// Files already checked.
    done: BTreeSet<PathBuf>,
    /// The import chain to the file being checked (for cycles).
    chain: Vec<PathBuf>,
    errors: Vec<ScriptError>,
}

/// Where an import statement stands: (importing file, its text, position).
type ImportSite<'a> = (&'a Path, &'a str, rhai::Position);

impl Checker {
    fn visit(&mut self, file: &Path, from: Option<ImportSite<'_>>) {
        let key = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        if self.chain.contains(&key) {
            let message = resolver::cycle_message(&self.chain, &key);
            self.errors.push(at_import(message, from));
            return;
        }
        if !self.done.insert(key.clone()) {
            return;
        }
        if self.chain.len() >= Limits::MAX_IMPORT_DEPTH {
            self.errors
                .push(at_import(resolver::too_deep_message(&self.chain), from));
            return;
        }
        let name = display_path(file);
        let text = match crate::files::read_text(file, crate::files::MAX_SCRIPT_BYTES) {
            Ok(t) => t,
            Err(e) => {
                let message = match from {
                    Some(_) => format!("imported module {name} cannot be read: {e}"),
                    None => format!("cannot read {name}: {e}"),
                };
                self.errors.push(match from {
                    Some(_) => at_import(message, from),
                    None => ScriptError::plain(&name, message),
                });
                return;
            }
        };
        let ast = match self.engine.compile(&text) {
            Ok(ast) => ast,
            Err(e) => {
                self.errors
                    .push(ScriptError::from_parse(&e, &name, Some(&text)));
                return;
            }
        };
        self.chain.push(key);
        for (pos, import) in resolver::imports(&ast) {
            let Some(import) = import else {
                // Not a silent "ok": what cannot be followed is said.
                self.errors.push(at_import(
                    "the import's path is computed at run time, so `check` cannot follow it: name the file with a string (`import \"lib/parts\" as parts;`)".into(),
                    Some((file, &text, pos)),
                ));
                continue;
            };
            let target =
                resolver::RelativeFileResolver::file_for(Some(&file.to_string_lossy()), &import);
            self.visit(&target, Some((file, &text, pos)));
        }
        self.chain.pop();
    }
}

/// An error at an import statement (or plain, for the top file).
fn at_import(message: String, from: Option<ImportSite<'_>>) -> ScriptError {
    match from {
        Some((file, text, pos)) => {
            let mut err = ScriptError::plain(&display_path(file), message);
            err.line = pos.line().map(|l| l as u32);
            err.column = pos.position().map(|c| c as u32);
            err.source_line = pos
                .line()
                .and_then(|l| text.lines().nth(l - 1).map(str::to_string));
            err
        }
        None => ScriptError::plain("", message),
    }
}
