//! `resilient compare BASE NEW`: the figures of two runs side by side, the
//! regressions marked; exit 1 on one.

use anyhow::{Context, Result};
use colored::Colorize;
use resilient::Exit;
use resilient::verdict::compare::{Tolerance, compare as against};
use std::path::Path;

pub(super) fn compare(base: &Path, new: &Path, tolerance: f64) -> Result<Exit> {
    if !(0.0..=10.0).contains(&tolerance) {
        anyhow::bail!("--tolerance {tolerance} is outside 0..=10");
    }
    let read = |path: &Path| {
        resilient::verdict::summary::read(path)
            .with_context(|| format!("cannot compare {}", path.display()))
    };
    let (b, n) = (read(base)?, read(new)?);
    let c = against(
        &b,
        &n,
        Tolerance {
            relative: tolerance,
        },
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["", "figure", "base", "new", "change", ""]);
    let show = |v: Option<f64>| {
        v.map_or("-".to_string(), |v| {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        })
    };
    for r in &c.rows {
        table.add_row([
            r.scope.clone(),
            r.figure.clone(),
            show(r.base),
            show(r.new),
            r.change.map_or("-".to_string(), |d| {
                let sign = if d > 0.0 { "+" } else { "" };
                format!("{sign}{}", show(Some(d)))
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
    if c.regressed() {
        resilient::outln!(
            "{} {count} regression(s) beyond {} %",
            "✘".red().bold(),
            tolerance * 100.0
        );
        Ok(Exit::Failure)
    } else {
        resilient::outln!(
            "{} no regression beyond {} %",
            "✔".green().bold(),
            tolerance * 100.0
        );
        Ok(Exit::Success)
    }
}
