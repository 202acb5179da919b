//! Resolves `import "path"` relative to the importing file, at any depth.
//!
//! Rhai's own file resolver resolves nested imports against the import string
//! of the importing module rather than its file, so `lib/parts` importing
//! `show` would look for `lib/show.rhai` from the current directory. This one
//! gives every module its full path as source, so `show` is found beside it.

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A module resolver for `.rhai` files, relative to the importing file.
#[derive(Default)]
pub struct RelativeFileResolver {
    cache: Mutex<HashMap<PathBuf, Shared<Module>>>,
}

impl RelativeFileResolver {
    /// The file an import names, given the importing file (if any).
    pub fn file_for(source: Option<&str>, path: &str) -> PathBuf {
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

    /// Forgets loaded modules, so edited files are read again.
    pub fn clear(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl ModuleResolver for RelativeFileResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let file = Self::file_for(source, path);
        let key = file.canonicalize().unwrap_or_else(|_| file.clone());
        if let Some(m) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(m.clone());
        }
        let shown = file.to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file)
            .map_err(|_| Box::new(EvalAltResult::ErrorModuleNotFound(shown.clone(), pos)))?;
        let mut ast = engine
            .compile(&text)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(shown.clone(), e.into(), pos)))?;
        ast.set_source(shown.as_str());
        let module: Shared<Module> = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(shown.clone(), e, pos)))?
            .into();
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, module.clone());
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
