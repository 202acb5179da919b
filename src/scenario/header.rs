//! One scenario's header, read from the comment block its file begins with,
//! and the rule that it ends in checks.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// A scenario as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    /// The file's name without `.rhai`: what `resilient run` is given.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// `// Scenario: <title>`.
    pub title: String,
    /// What the scenario expects to hold, in one sentence.
    pub hypothesis: String,
    /// What it injects.
    pub fault: String,
    /// What it expects to see.
    pub expect: String,
    /// How long it takes, on each backend.
    pub takes: Takes,
    /// The free text after the fields.
    pub about: String,
    /// The command lines the header shows (`resilient run …`).
    pub run: Vec<String>,
    /// How many `check::` calls the script makes.
    pub checks: usize,
}

/// How long a scenario takes: `about N s on the local cloud, about M min
/// on AWS`, or `about N s on the local cloud, not on AWS` for a scenario
/// AWS cannot run (a fault AWS cannot be told to cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Takes {
    /// Wall seconds on the local cloud at the default time scale.
    pub local_s: u32,
    /// Minutes on AWS (an estimate from health-check settings and launch
    /// times); `None` when it does not run on AWS.
    pub aws_min: Option<u32>,
}

/// How a scenario that does not run on AWS says so in `Takes:`.
const NOT_ON_AWS: &str = "not on AWS";

impl std::fmt::Display for Takes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "about {} s on the local cloud, ", self.local_s)?;
        match self.aws_min {
            Some(m) => write!(f, "about {m} min on AWS"),
            None => f.write_str(NOT_ON_AWS),
        }
    }
}

impl std::str::FromStr for Takes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wrong = || {
            format!(
                "`Takes:` reads \"about N s on the local cloud, about M min on AWS\" (or \", {NOT_ON_AWS}\"), not \"{s}\""
            )
        };
        let (local, aws) = s.split_once(", ").ok_or_else(wrong)?;
        let number = |text: &str, prefix: &str, suffix: &str| -> Option<u32> {
            text.trim()
                .strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .trim()
                .parse()
                .ok()
        };
        Ok(Takes {
            local_s: number(local, "about ", " s on the local cloud").ok_or_else(wrong)?,
            aws_min: if aws.trim() == NOT_ON_AWS {
                None
            } else {
                Some(number(aws, "about ", " min on AWS").ok_or_else(wrong)?)
            },
        })
    }
}

/// A header that is not the library's form, or a scenario without checks:
/// names the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {problem}", file.display())]
pub struct HeaderError {
    /// The file.
    pub file: PathBuf,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong, and what the header should say.
    pub problem: String,
}

/// The header's fields, in their order.
const FIELDS: [&str; 4] = ["Hypothesis", "Fault", "Expect", "Takes"];

impl Scenario {
    /// Reads the scenario in `path`.
    pub fn read(path: &Path) -> Result<Scenario, HeaderError> {
        let text = std::fs::read_to_string(path).map_err(|e| HeaderError {
            file: path.to_path_buf(),
            line: 0,
            problem: format!("cannot be read: {e}"),
        })?;
        Scenario::parse(path, &text)
    }

    /// Parses the header of `text`, the contents of `path`, and counts its
    /// checks.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, HeaderError> {
        let error = |line: usize, problem: String| HeaderError {
            file: path.to_path_buf(),
            line,
            problem,
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| error(0, "has no file name".into()))?
            .to_string();
        let lines: Vec<&str> = text.lines().collect();
        // The header: the comment lines the file begins with, `//` removed.
        let header: Vec<&str> = lines
            .iter()
            .take_while(|l| l.trim_start().starts_with("//"))
            .map(|l| {
                let rest = l.trim_start().trim_start_matches("//");
                rest.strip_prefix(' ').unwrap_or(rest).trim_end()
            })
            .collect();
        let title = header
            .first()
            .and_then(|l| l.strip_prefix("Scenario:"))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                error(
                    1,
                    "the first line is not `// Scenario: <title>` (a scenario begins with its header)"
                        .into(),
                )
            })?
            .to_string();
        if header.get(1).is_none_or(|l| !l.is_empty()) {
            return Err(error(2, "a line `//` follows the title".into()));
        }
        // The fields, in order, each maybe continued over indented lines.
        let mut values: Vec<String> = Vec::new();
        let mut at = 2;
        for field in FIELDS {
            let line = header.get(at).copied().unwrap_or("");
            let value = line
                .strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    error(
                        at + 1,
                        format!("expected `// {field}: …` (the fields are Hypothesis, Fault, Expect, Takes, in this order)"),
                    )
                })?;
            let mut value = value.to_string();
            at += 1;
            while let Some(more) = header.get(at).filter(|l| l.starts_with(' ')) {
                value.push(' ');
                value.push_str(more.trim());
                at += 1;
            }
            values.push(value);
        }
        let takes_line = at;
        let takes: Takes = values[3].parse().map_err(|e| error(takes_line, e))?;
        if header.get(at).is_none_or(|l| !l.is_empty()) {
            return Err(error(at + 1, "a line `//` follows the fields".into()));
        }
        // The free text, then the command lines.
        let rest = &header[at + 1..];
        let is_run = |l: &str| l.trim_start().starts_with("resilient run ");
        let run: Vec<String> = rest
            .iter()
            .filter(|l| is_run(l))
            .map(|l| l.trim().to_string())
            .collect();
        let own = format!("{name}.rhai");
        if !run.iter().any(|r| {
            r.split_whitespace()
                .nth(2)
                .is_some_and(|file| file.rsplit('/').next() == Some(own.as_str()))
        }) {
            return Err(error(
                header.len(),
                format!("the header ends with how to run it: `//   resilient run examples/{own}`"),
            ));
        }
        let about = rest
            .iter()
            .filter(|l| !is_run(l))
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string();
        if about.is_empty() {
            return Err(error(
                at + 2,
                "the header explains the scenario in a few lines after the fields".into(),
            ));
        }
        let checks = lines[header.len()..]
            .iter()
            .map(|l| l.split("//").next().unwrap_or(""))
            .map(|code| code.matches("check::").count())
            .sum();
        if checks == 0 {
            return Err(error(
                lines.len(),
                "no `check::` call: a scenario ends in checks of what it observed".into(),
            ));
        }
        let [hypothesis, fault, expect, _] =
            <[String; 4]>::try_from(values).map_err(|_| error(at, "the header's fields".into()))?;
        Ok(Scenario {
            name,
            path: path.to_path_buf(),
            title,
            hypothesis,
            fault,
            expect,
            takes,
            about,
            run,
            checks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "// Scenario: A lost instance
//
// Hypothesis: customers do not notice one instance going
// Fault:      one instance terminated
// Expect:     the group replaces it; every request
//             answered
// Takes:      about 6 s on the local cloud, about 5 min on AWS
//
// Some words
// about it.
//
//   resilient run examples/lost.rhai

deploy::all();
check::that(\"x\", true); // check::that in a comment does not count
";

    fn parse(text: &str) -> Result<Scenario, HeaderError> {
        Scenario::parse(Path::new("examples/lost.rhai"), text)
    }

    #[test]
    fn a_well_formed_header_gives_every_field() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.name, "lost");
        assert_eq!(s.title, "A lost instance");
        assert_eq!(s.hypothesis, "customers do not notice one instance going");
        assert_eq!(s.expect, "the group replaces it; every request answered");
        assert_eq!(
            s.takes,
            Takes {
                local_s: 6,
                aws_min: Some(5)
            }
        );
        assert_eq!(
            s.takes.to_string(),
            "about 6 s on the local cloud, about 5 min on AWS"
        );
        assert_eq!(s.about, "Some words\nabout it.");
        let local_only = parse(&GOOD.replace("about 5 min on AWS", "not on AWS")).unwrap();
        assert_eq!(local_only.takes.aws_min, None);
        assert_eq!(
            local_only.takes.to_string(),
            "about 6 s on the local cloud, not on AWS"
        );
        assert_eq!(s.run, ["resilient run examples/lost.rhai"]);
        assert_eq!(s.checks, 1);
    }

    #[test]
    fn a_malformed_header_names_file_and_line() {
        let cases = [
            (
                GOOD.replace("// Scenario: A lost instance", "// A lost instance"),
                1,
                "Scenario:",
            ),
            (
                GOOD.replace("// Fault:      one instance terminated\n", ""),
                4,
                "Fault",
            ),
            (
                GOOD.replace("about 5 min on AWS", "five minutes on AWS"),
                7,
                "Takes",
            ),
            (
                GOOD.replace(
                    "//   resilient run examples/lost.rhai",
                    "//   resilient run x.rhai",
                ),
                12,
                "resilient run",
            ),
            (GOOD.replace("check::that", "ui::say"), 15, "check::"),
            (
                GOOD.replace("// Some words\n// about it.\n", ""),
                9,
                "explains",
            ),
        ];
        for (text, line, word) in cases {
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.problem.contains(word), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("examples/lost.rhai:{line}: ")),
                "{e}"
            );
        }
    }
}
