//! The files a command reads and writes, checked against each other before
//! anything runs: an output never overwrites an input (`--journal x.rhai`
//! would truncate the script before it is read), two outputs never share a
//! file, and every output can be written — found out before a fifteen-minute
//! run on AWS, not after it.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// One file a command reads or writes, with the flag that names it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Named<'a> {
    /// How the user named it (`the script`, `--journal`, …).
    pub(super) role: &'a str,
    /// The path as given.
    pub(super) path: &'a Path,
}

/// Checks `outputs` against `inputs` and each other, and that each output
/// can be written (a regular file or a new file in an existing directory).
/// Nothing is created or truncated.
pub(super) fn check(inputs: &[Named<'_>], outputs: &[Named<'_>]) -> Result<()> {
    let mut seen: Vec<(PathBuf, &Named<'_>)> = Vec::new();
    for input in inputs {
        seen.push((identity(input.path), input));
    }
    for output in outputs {
        writable(output)?;
        let id = identity(output.path);
        if let Some((_, earlier)) = seen.iter().find(|(other, _)| *other == id) {
            bail!(
                "{} {} is the same file as {} {}: it would be overwritten; choose another path",
                output.role,
                output.path.display(),
                earlier.role,
                earlier.path.display()
            );
        }
        seen.push((id, output));
    }
    Ok(())
}

/// A path's identity: its canonical form (symbolic links resolved), or for
/// a file yet to be made, its directory's canonical form and its name.
fn identity(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Whether an output can be written, without changing it.
fn writable(output: &Named<'_>) -> Result<()> {
    let Named { role, path } = *output;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            bail!("{role} {} is a directory; give a file name", path.display())
        }
        Ok(meta) if !meta.is_file() => bail!(
            "{role} {} is not a regular file; give a file name",
            path.display()
        ),
        Ok(_) => {
            if let Err(e) = std::fs::OpenOptions::new().append(true).open(path) {
                bail!("{role} {} cannot be written: {e}", path.display());
            }
            Ok(())
        }
        Err(_) => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !parent.is_dir() {
                bail!(
                    "{role} {}: the directory {} does not exist",
                    path.display(),
                    parent.display()
                );
            }
            if path.file_name().is_none() {
                bail!("{role} {} names no file", path.display());
            }
            // A probe beside it, removed at once: the directory accepts files.
            let probe = parent.join(format!(".resilient-probe-{}", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
            {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                    Ok(())
                }
                Err(e) => bail!(
                    "{role} {} cannot be written in {}: {e}",
                    path.display(),
                    parent.display()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named<'a>(role: &'a str, path: &'a Path) -> Named<'a> {
        Named { role, path }
    }

    #[test]
    fn an_output_onto_an_input_or_another_output_is_refused() {
        let dir = std::env::temp_dir().join(format!("resilient-paths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s.rhai");
        std::fs::write(&script, "1").unwrap();
        let journal = dir.join("j.jsonl");
        let report = dir.join("r.html");

        let ok = check(
            &[named("the script", &script)],
            &[named("--journal", &journal), named("--report", &report)],
        );
        assert!(ok.is_ok(), "{ok:?}");

        // The same file under another spelling.
        let again = dir.join(".").join("s.rhai");
        let err = check(
            &[named("the script", &script)],
            &[named("--journal", &again)],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--journal") && err.contains("the script"),
            "{err}"
        );

        let err = check(
            &[named("the script", &script)],
            &[named("--journal", &journal), named("--junit", &journal)],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--junit") && err.contains("--journal"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&script).unwrap(),
            "1",
            "nothing touched"
        );
        assert!(!journal.exists(), "nothing created");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outputs_that_cannot_be_written_are_named() {
        let dir = std::env::temp_dir().join(format!("resilient-paths-w-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = check(&[], &[named("--report", &dir)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a directory"), "{err}");
        let missing = dir.join("no/such/dir/r.html");
        let err = check(&[], &[named("--report", &missing)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        let err = check(&[], &[named("--journal", Path::new("/dev/null"))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "no probe left behind"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
