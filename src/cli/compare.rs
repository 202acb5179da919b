//! `resilient compare BASE NEW` and `run --baseline FILE`: the figures of
//! two runs side by side, the regressions marked; exit 5 on one.

use anyhow::{Context, Result};
use colored::Colorize;
use resilient::Exit;
use resilient::verdict::compare::{Comparison, Tolerance, compare as against};
use std::path::Path;

/// Compares two journals or summaries and prints the figures.
pub(super) fn compare(base: &Path, new: &Path, tolerance: f64) -> Result<Exit> {
    let tolerance = checked(tolerance)?;
    let (b, n) = (read(base)?, read(new)?);
    Ok(show(&against(&b, &n, tolerance), tolerance))
}

/// The tolerance, if it is one.
pub(super) fn checked(tolerance: f64) -> Result<Tolerance> {
    if !(0.0..=10.0).contains(&tolerance) {
        anyhow::bail!("--tolerance {tolerance} is outside 0..=10");
    }
    Ok(Tolerance {
        relative: tolerance,
    })
}

/// The summary of a journal or a summary file.
pub(super) fn read(path: &Path) -> Result<resilient::verdict::Summary> {
    resilient::verdict::summary::read(path)
        .with_context(|| format!("cannot compare {}", path.display()))
}

/// Prints a comparison; a regression is a failure.
pub(super) fn show(c: &Comparison, tolerance: Tolerance) -> Exit {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["", "figure", "base", "new", "change", ""]);
    let number = |v: f64| {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    };
    let maybe = |v: Option<f64>| v.map_or("-".to_string(), number);
    for r in &c.rows {
        table.add_row([
            r.scope.clone(),
            r.figure.clone(),
            maybe(r.base),
            maybe(r.new),
            r.change.map_or("-".to_string(), |d| {
                let sign = if d > 0.0 { "+" } else { "" };
                format!("{sign}{}", number(d))
            }),
            if r.regression {
                "regression".red().bold().to_string()
            } else {
                String::new()
            },
        ]);
    }
    resilient::outln!("{table}");
    for u in &c.unmatched {
        resilient::outln!("{}", u.dimmed());
    }
    resilient::outln!("verdict: {} → {}", c.verdicts.0, c.verdicts.1);
    let count = c.rows.iter().filter(|r| r.regression).count();
    let percent = tolerance.relative * 100.0;
    if c.regressed() {
        resilient::outln!(
            "{} {count} regression(s) beyond {percent} %",
            "✘".red().bold()
        );
        Exit::Regressed
    } else {
        resilient::outln!("{} no regression beyond {percent} %", "✔".green().bold());
        Exit::Success
    }
}
