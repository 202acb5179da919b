//! `resilient scenarios` lists the scenario library from the files'
//! headers; `resilient new NAME` starts a scenario from the template.

use anyhow::{Context, Result, bail};
use colored::Colorize;
use resilient::Exit;
use resilient::scenario::{self, Library};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Lists the library in `dir` (default `examples/` here): name, title,
/// hypothesis and how long each takes, or every header field as JSON.
/// A file whose header is not the library's form is named on stderr and
/// fails the command.
pub(crate) fn list(dir: Option<&Path>, json: bool) -> Result<Exit> {
    let library = scenario::find_library(dir)?;
    if json {
        let errors: Vec<String> = library.errors.iter().map(ToString::to_string).collect();
        let value = serde_json::json!({
            "dir": library.dir,
            "scenarios": library.scenarios,
            "errors": errors,
        });
        resilient::outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        resilient::out!("{}", text(&library));
    }
    for e in &library.errors {
        resilient::errln!("{} {e}", super::error_label());
    }
    Ok(if library.errors.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// The listing as text.
fn text(library: &Library) -> String {
    let mut out = format!(
        "{} scenario(s) in {}:\n",
        library.scenarios.len(),
        library.dir.display()
    );
    for s in &library.scenarios {
        out.push_str(&format!(
            "\n  {}  {}\n    hypothesis: {}\n    takes {}\n    {}\n",
            s.name.bold(),
            s.title,
            s.hypothesis,
            s.takes,
            s.run.first().map_or("", String::as_str).dimmed()
        ));
    }
    out
}

/// Writes `NAME.rhai` from the template into `dir`, or `examples/` when
/// there is one here, else the current directory; never over a file.
pub(crate) fn new(name: &str, dir: Option<&Path>) -> Result<Exit> {
    let name = scenario::validate_name(name)?;
    let dir: PathBuf = match dir {
        Some(d) => d.to_path_buf(),
        None if Path::new(scenario::DEFAULT_DIR).is_dir() => PathBuf::from(scenario::DEFAULT_DIR),
        None => PathBuf::new(),
    };
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        bail!(
            "{} is not a directory: create it first, or leave out --dir",
            dir.display()
        );
    }
    let path = dir.join(format!("{name}.rhai"));
    let shown = path.to_string_lossy().replace('\\', "/");
    let text = scenario::render_at(&name, &shown)?;
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} already exists: it is left as it is; choose another name",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    resilient::outln!(
        "wrote {}: a scenario that runs as it is. Try it, then make it yours:\n  resilient run {shown}",
        path.display()
    );
    Ok(Exit::Success)
}
