//! Resolves `import "path"` relative to the importing file, at any depth.
//!
//! Rhai's own file resolver resolves nested imports against the import string
//! of the importing module rather than its file, so `lib/parts` importing
//! `show` would look for `lib/show.rhai` from the current directory. This one
//! gives every module its full path as source, so `show` is found beside it.
//! A circular import is an error naming the cycle, not a stack overflow.

use rhai::{AST, Engine, EvalAltResult, Module, ModuleResolver, Position, Scope};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A module resolver for `.rhai` files, relative to the importing file.
#[derive(Default)]
pub(super) struct RelativeFileResolver {
    cache: Mutex<HashMap<PathBuf, rhai::Shared<Module>>>,
    /// The files being loaded now, outermost first: an import of one of them
    /// is a cycle.
    loading: Mutex<Vec<PathBuf>>,
}

/// A resolver shared with its owner (the host empties its cache before each run).
pub(super) struct Shared(pub Arc<RelativeFileResolver>);

impl ModuleResolver for Shared {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<rhai::Shared<Module>, Box<EvalAltResult>> {
        self.0.resolve(engine, source, path, pos)
    }
}

/// Names a cycle of imports: `a.rhai → b.rhai → a.rhai`.
pub(super) fn cycle_message(chain: &[PathBuf], again: &Path) -> String {
    let start = chain.iter().position(|p| p == again).unwrap_or(0);
    let names: Vec<String> = chain[start..]
        .iter()
        .chain(std::iter::once(&again.to_path_buf()))
        .map(|p| super::diagnostics::display_path(p))
        .collect();
    format!("circular import: {}", names.join(" → "))
}

/// Why an import one level deeper than [`Limits::MAX_IMPORT_DEPTH`] is
/// refused: the chain, its first and last files named.
///
/// [`Limits::MAX_IMPORT_DEPTH`]: super::Limits::MAX_IMPORT_DEPTH
pub(super) fn too_deep_message(chain: &[PathBuf]) -> String {
    let name = |p: Option<&PathBuf>| {
        p.map(|p| super::diagnostics::display_path(p))
            .unwrap_or_default()
    };
    format!(
        "imports nested deeper than {} files ({} → … → {}): import the modules from fewer levels",
        super::Limits::MAX_IMPORT_DEPTH,
        name(chain.first()),
        name(chain.last())
    )
}

/// The `import "…"` statements of a compiled script: (position, path),
/// found in the syntax tree (so imports in comments or strings do not count,
/// and nested ones do).
/// A path computed at run time (`import name as m`) is `None`: nothing
/// before the run can know which file it names.
pub(super) fn imports(ast: &AST) -> Vec<(Position, Option<String>)> {
    let mut found = Vec::new();
    ast.walk(&mut |nodes| {
        if let Some(rhai::ASTNode::Stmt(rhai::Stmt::Import(x, pos))) = nodes.last() {
            let path = match &x.0 {
                rhai::Expr::StringConstant(path, _) => Some(path.to_string()),
                _ => None,
            };
            found.push((*pos, path));
        }
        true
    });
    found
}

impl RelativeFileResolver {
    /// The file an import names, given the importing file (if any).
    pub(super) fn file_for(source: Option<&str>, path: &str) -> PathBuf {
        let mut file = match (Path::new(path).is_relative(), source) {
            (true, Some(src)) => Path::new(src)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
                .join(path),
            _ => PathBuf::from(path),
        };
        if file.extension().is_none_or(|e| e != "rhai") {
            let mut name = file.file_name().unwrap_or_default().to_os_string();
            name.push(".rhai");
            file.set_file_name(name);
        }
        file
    }

    /// Marks `file` as the script being run, so an import of it is a cycle.
    pub(super) fn enter(&self, file: &Path) {
        let key = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        crate::sync::lock(&self.loading).push(key);
    }

    /// Ends every [`RelativeFileResolver::enter`].
    pub(super) fn leave_all(&self) {
        crate::sync::lock(&self.loading).clear();
    }

    /// Forgets loaded modules, so edited files are read again.
    pub(super) fn clear(&self) {
        crate::sync::lock(&self.cache).clear();
    }
}

impl ModuleResolver for RelativeFileResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<rhai::Shared<Module>, Box<EvalAltResult>> {
        let file = Self::file_for(source, path);
        let key = file.canonicalize().unwrap_or_else(|_| file.clone());
        {
            let mut loading = crate::sync::lock(&self.loading);
            if loading.contains(&key) {
                let message = cycle_message(&loading, &key);
                return Err(EvalAltResult::ErrorRuntime(message.into(), pos).into());
            }
            if loading.len() >= super::Limits::MAX_IMPORT_DEPTH {
                let message = too_deep_message(&loading);
                return Err(EvalAltResult::ErrorRuntime(message.into(), pos).into());
            }
            loading.push(key.clone());
        }
        let result = self.load(engine, &file, &key, pos);
        crate::sync::lock(&self.loading).retain(|k| k != &key);
        result
    }
}

impl RelativeFileResolver {
    fn load(
        &self,
        engine: &Engine,
        file: &Path,
        key: &Path,
        pos: Position,
    ) -> Result<rhai::Shared<Module>, Box<EvalAltResult>> {
        if let Some(m) = crate::sync::lock(&self.cache).get(key) {
            return Ok(m.clone());
        }
        let shown = file.to_string_lossy().to_string();
        let text = crate::files::read_text(file, crate::files::MAX_SCRIPT_BYTES)
            .map_err(|_| Box::new(EvalAltResult::ErrorModuleNotFound(shown.clone(), pos)))?;
        let mut ast = engine
            .compile(&text)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(shown.clone(), e.into(), pos)))?;
        ast.set_source(shown.as_str());
        let module: rhai::Shared<Module> = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(shown.clone(), e, pos)))?
            .into();
        crate::sync::lock(&self.cache).insert(key.to_path_buf(), module.clone());
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_resolve_next_to_the_importing_file() {
        assert_eq!(
            RelativeFileResolver::file_for(Some("scripts/lib/parts.rhai"), "show"),
            PathBuf::from("scripts/lib/show.rhai")
        );
        assert_eq!(
            RelativeFileResolver::file_for(Some("scripts/full_demo.rhai"), "lib/parts"),
            PathBuf::from("scripts/lib/parts.rhai")
        );
        assert_eq!(
            RelativeFileResolver::file_for(None, "/abs/x.rhai"),
            PathBuf::from("/abs/x.rhai")
        );
    }
}
