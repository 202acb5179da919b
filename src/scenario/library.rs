//! A directory of scenarios: every `.rhai` file in it, read by its header.

use super::{DEFAULT_DIR, HeaderError, Scenario};
use std::path::{Path, PathBuf};

/// The scenarios of one directory, by name, and the files whose headers
/// are not the library's form.
#[derive(Debug, Clone)]
pub struct Library {
    /// The directory.
    pub dir: PathBuf,
    /// Every well-formed scenario, sorted by name.
    pub scenarios: Vec<Scenario>,
    /// Every `.rhai` file that is not a well-formed scenario.
    pub errors: Vec<HeaderError>,
}

/// Why there is no library to list.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The directory does not exist (or is not a directory).
    #[error(
        "no scenario library in {}: it is not a directory. Run from a directory that has one \
         (the project's own holds examples/), give --dir DIR, or start one with `resilient new NAME`",
        dir.display()
    )]
    Missing {
        /// The directory looked in.
        dir: PathBuf,
    },
    /// The directory cannot be read.
    #[error("cannot read the scenario library {}: {source}", dir.display())]
    Unreadable {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads the library in `dir` (default [`DEFAULT_DIR`]).
pub fn find(dir: Option<&Path>) -> Result<Library, LibraryError> {
    let dir = dir.unwrap_or(Path::new(DEFAULT_DIR)).to_path_buf();
    if !dir.is_dir() {
        return Err(LibraryError::Missing { dir });
    }
    let entries = std::fs::read_dir(&dir).map_err(|source| LibraryError::Unreadable {
        dir: dir.clone(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    files.sort();
    let mut library = Library {
        dir,
        scenarios: Vec::new(),
        errors: Vec::new(),
    };
    for file in files {
        match Scenario::read(&file) {
            Ok(s) => library.scenarios.push(s),
            Err(e) => library.errors.push(e),
        }
    }
    library.scenarios.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(library)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_says_so_and_what_to_do() {
        let e = find(Some(Path::new("/no/such/dir"))).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("/no/such/dir") && text.contains("--dir"),
            "{text}"
        );
    }

    #[test]
    fn well_formed_and_malformed_files_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let good = super::super::render_template("fine").unwrap();
        std::fs::write(dir.path().join("fine.rhai"), good).unwrap();
        std::fs::write(dir.path().join("bad.rhai"), "deploy::all();\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a scenario").unwrap();
        let lib = find(Some(dir.path())).unwrap();
        assert_eq!(lib.scenarios.len(), 1);
        assert_eq!(lib.scenarios[0].name, "fine");
        assert_eq!(lib.errors.len(), 1);
        assert_eq!(lib.errors[0].line, 1);
    }
}
