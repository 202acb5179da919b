//! The service-level objective a script declares (`slo(#{…})`): what every
//! window of every load must show for customers to count as served.

use crate::loadgen::Window;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What customers must see in every window of a load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Objective {
    /// The least share of a window's requests answered 2xx.
    pub success_rate: f64,
    /// The most a window's 99th percentile latency may be (ms), when bounded.
    pub p99_ms: Option<f64>,
    /// The width of the windows it is judged on (wall ms): loads started
    /// after it that name no `window_ms` of their own use it.
    pub window_ms: u64,
    /// Consecutive windows meeting it that make a service recovered.
    pub recover_windows: u32,
    /// The hypothesis of each fault: customers are served within the
    /// objective again within this many cloud ms of it (none: before the
    /// run ends).
    pub recover_within_ms: Option<u64>,
}

impl Default for Objective {
    /// 99 % of requests answered 2xx in every window of 1 s, recovered
    /// after 3 such windows in a row.
    fn default() -> Self {
        Objective {
            success_rate: 0.99,
            p99_ms: None,
            window_ms: 1000,
            recover_windows: 3,
            recover_within_ms: None,
        }
    }
}

/// One option of `slo(#{…})`: its key, what it means, its range.
struct Bound {
    key: &'static str,
    min: f64,
    max: f64,
}

/// The options `slo` takes, with their ranges (inclusive).
const OPTIONS: [Bound; 5] = [
    Bound {
        key: "success_rate",
        min: 0.0,
        max: 1.0,
    },
    Bound {
        key: "p99_ms",
        min: 1.0,
        max: 600_000.0,
    },
    Bound {
        key: "window_ms",
        min: 100.0,
        max: 60_000.0,
    },
    Bound {
        key: "recover_windows",
        min: 1.0,
        max: 1000.0,
    },
    Bound {
        key: "recover_within_ms",
        min: 0.0,
        max: 86_400_000.0,
    },
];

impl Objective {
    /// An objective from named numbers (the script's map); the defaults for
    /// those not named. An unknown name or a value out of range is an error
    /// that says which and what is allowed.
    pub fn from_options<'a>(
        options: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Self, String> {
        let mut o = Objective::default();
        for (key, v) in options {
            let Some(opt) = OPTIONS.iter().find(|opt| opt.key == key) else {
                let known: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
                return Err(format!(
                    "unknown objective option `{key}` (known: {})",
                    known.join(", ")
                ));
            };
            if !(opt.min..=opt.max).contains(&v) {
                return Err(format!(
                    "objective option `{key}` is {v}, outside {}..={}",
                    opt.min, opt.max
                ));
            }
            match key {
                "success_rate" => o.success_rate = v,
                "p99_ms" => o.p99_ms = Some(v),
                "window_ms" => o.window_ms = v as u64,
                "recover_windows" => o.recover_windows = v as u32,
                _ => o.recover_within_ms = Some(v as u64),
            }
        }
        Ok(o)
    }

    /// Whether customers were served within the objective in this window.
    pub fn met_by(&self, w: &Window) -> bool {
        w.success_rate() >= self.success_rate && self.p99_ms.is_none_or(|max| w.p99_ms <= max)
    }

    /// The objective in words, e.g. "99 % answered 2xx and p99 ≤ 500 ms per 1 s window".
    pub fn describe(&self) -> String {
        let latency = self
            .p99_ms
            .map(|ms| format!(" and p99 ≤ {ms} ms"))
            .unwrap_or_default();
        format!(
            "{} % answered 2xx{latency} per {} s window",
            self.success_rate * 100.0,
            self.window_ms as f64 / 1000.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(count: u64, ok: u64, p99_ms: f64) -> Window {
        Window {
            count,
            ok,
            p99_ms,
            ..Window::default()
        }
    }

    #[test]
    fn a_window_meets_the_objective_on_both_counts() {
        let o = Objective::from_options([("success_rate", 0.9), ("p99_ms", 500.0)]).unwrap();
        assert!(o.met_by(&window(10, 9, 500.0)));
        assert!(!o.met_by(&window(10, 8, 10.0)), "too many failures");
        assert!(!o.met_by(&window(10, 10, 501.0)), "too slow");
        let rate_only = Objective::from_options([("success_rate", 0.9)]).unwrap();
        assert!(rate_only.met_by(&window(10, 10, 60_000.0)));
    }

    #[test]
    fn options_are_checked_by_name_and_range() {
        let e = Objective::from_options([("succes_rate", 0.9)]).unwrap_err();
        assert!(e.contains("unknown") && e.contains("success_rate"), "{e}");
        let e = Objective::from_options([("success_rate", 1.5)]).unwrap_err();
        assert!(e.contains("0..=1"), "{e}");
        let o = Objective::from_options([("window_ms", 2000.0), ("recover_within_ms", 60_000.0)])
            .unwrap();
        assert_eq!((o.window_ms, o.recover_within_ms), (2000, Some(60_000)));
        assert_eq!(o.success_rate, Objective::default().success_rate);
    }
}
