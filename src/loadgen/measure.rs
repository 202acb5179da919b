//! The rules every figure of what customers saw follows, each in one place:
//! what counts as a success, the success rate, and percentiles. A load's
//! statistics, its live windows, its stop condition and the report all
//! count through these functions.

/// Whether an HTTP status counts as a success: any 2xx. Status 0 (no HTTP
/// answer at all: refused, reset, timed out) is a failure.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The share of `n` requests that succeeded; 1 when none was sent (nothing
/// failed).
pub fn success_rate(ok: u64, n: u64) -> f64 {
    if n == 0 { 1.0 } else { ok as f64 / n as f64 }
}

/// The `p` quantile (nearest rank: the smallest value with at least `p` of
/// the values at or below it) of sorted values; 0 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        0.0
    } else {
        sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_is_a_success() {
        for (status, ok) in [
            (0, false),
            (199, false),
            (200, true),
            (204, true),
            (299, true),
        ] {
            assert_eq!(is_success(status), ok, "{status}");
        }
        for status in [300, 404, 500, 502, 503, 504] {
            assert!(!is_success(status), "{status}");
        }
    }

    #[test]
    fn nothing_sent_is_a_success_rate_of_one() {
        assert_eq!(success_rate(0, 0), 1.0);
        assert_eq!(success_rate(0, 4), 0.0);
        assert_eq!(success_rate(3, 4), 0.75);
        assert_eq!(success_rate(4, 4), 1.0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 0.5), 5.0);
        assert_eq!(percentile(&ten, 0.9), 9.0);
        assert_eq!(percentile(&ten, 0.99), 10.0);
        assert_eq!(percentile(&ten, 0.0), 1.0, "the lowest rank is the first");
        assert_eq!(percentile(&ten, 1.0), 10.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 0.99), 99.0);
    }
}
