//! Where the chart's words go: how wide a text is, which row a label takes
//! so that no two labels overlap, and the time axis's ticks.

/// Width per character, in ems, assumed for the chart's sans-serif text:
/// a little wider than the average letter, so estimates err on the wide side.
const EM_PER_CHAR: f64 = 0.62;

/// Space kept between two labels on one row.
const GAP: f64 = 6.0;

/// The estimated width of `text` drawn at `font_px`.
pub(super) fn text_width(text: &str, font_px: f64) -> f64 {
    text.chars().count() as f64 * font_px * EM_PER_CHAR
}

/// A label to place: its leader line comes down from it at `anchor` (the
/// time it marks) through every row below it; the text spans `left` to
/// `left + width`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Label {
    /// Where its leader line runs down.
    pub(super) anchor: f64,
    /// Its left edge.
    pub(super) left: f64,
    /// Its width.
    pub(super) width: f64,
}

/// Gives each label (in order of time) a row, row 0 on top: the first row
/// where it starts past the previous label's right edge plus a gap, and
/// where no label on a row below covers its leader line. Returns the row of
/// each label and how many rows there are.
pub(super) fn rows(labels: &[Label]) -> (Vec<usize>, usize) {
    // The right edge of what each row holds (labels and leaders crossing it).
    let mut ends: Vec<f64> = Vec::new();
    let mut taken = Vec::with_capacity(labels.len());
    for l in labels {
        let fits = |row: usize| {
            l.left >= ends[row] + GAP && ends[row + 1..].iter().all(|&e| e + GAP / 2.0 <= l.anchor)
        };
        let row = match (0..ends.len()).find(|&r| fits(r)) {
            Some(row) => row,
            None => {
                ends.push(f64::NEG_INFINITY);
                ends.len() - 1
            }
        };
        ends[row] = l.left + l.width;
        for below in &mut ends[row + 1..] {
            *below = below.max(l.anchor);
        }
        taken.push(row);
    }
    (taken, ends.len())
}

/// The ticks of a time axis from 0 to `end_ms`: a round step (1, 2 or 5
/// times a power of ten, or 15/30 s and whole minutes) giving at most ten
/// intervals. Returns the tick times in ms, from 0.
pub(super) fn ticks(end_ms: u64) -> Vec<u64> {
    const STEPS: [u64; 17] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| end_ms / s <= 10)
        .unwrap_or_else(|| end_ms.div_ceil(10).max(1));
    (0..=end_ms / step).map(|i| i * step).collect()
}

/// A tick's label in seconds: one decimal below a whole-second step.
pub(super) fn tick_label(ms: u64, step_ms: u64) -> String {
    if step_ms < 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_that_would_overlap_take_another_row() {
        let at = |left: f64, width: f64| Label {
            anchor: left,
            left,
            width,
        };
        // Two labels at the same place; then one past both, back on top.
        let (rows_of, n) = rows(&[
            at(0.0, 50.0),
            at(10.0, 50.0),
            at(70.0, 10.0),
            at(200.0, 5.0),
        ]);
        assert_eq!(rows_of, vec![0, 1, 0, 0]);
        assert_eq!(n, 2);
        // Just past the gap fits; just inside does not.
        assert_eq!(rows(&[at(0.0, 10.0), at(16.0, 1.0)]).0, vec![0, 0]);
        assert_eq!(rows(&[at(0.0, 10.0), at(15.9, 1.0)]).0, vec![0, 1]);
    }

    #[test]
    fn a_label_never_sits_above_one_its_leader_would_cross() {
        let at = |left: f64, width: f64| Label {
            anchor: left,
            left,
            width,
        };
        // The second label is under the first; the third starts past the
        // first but its leader would cross the second: it goes below it.
        let (rows_of, n) = rows(&[at(0.0, 20.0), at(5.0, 100.0), at(40.0, 10.0)]);
        assert_eq!(rows_of, vec![0, 1, 2]);
        assert_eq!(n, 3);
        // Past the second, row 0 is free again.
        assert_eq!(
            rows(&[at(0.0, 20.0), at(5.0, 100.0), at(120.0, 10.0)]).0,
            vec![0, 1, 0]
        );
    }

    #[test]
    fn ticks_are_round_and_at_most_ten_intervals() {
        assert_eq!(
            ticks(12_700),
            vec![0, 2_000, 4_000, 6_000, 8_000, 10_000, 12_000]
        );
        assert_eq!(ticks(900), (0..=9).map(|i| i * 100).collect::<Vec<_>>());
        let hour = ticks(3_600_000);
        assert_eq!(hour[1], 600_000);
        assert!(hour.len() <= 11);
        assert_eq!(ticks(0), vec![0]);
        assert_eq!(tick_label(2_000, 1_000), "2 s");
        assert_eq!(tick_label(300, 100), "0.3 s");
    }
}
