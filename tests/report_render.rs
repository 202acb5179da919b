//! The report as a person sees it: headless Chromium (Debian's `chromium`,
//! which `.ci/run` installs) renders it, and the screenshot is not blank. A
//! machine without Chromium fails this test and says how to get it.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_resilient");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn chromium() -> String {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return candidate.to_string();
        }
    }
    panic!(
        "no Chromium, so the report cannot be rendered: `bash .ci/run` installs Debian's chromium (apt-get install chromium)"
    );
}

/// The shares of pixels that are not (near) white, and that are coloured
/// (the chart's lines and bands, the verdict's colour; text and rules are grey).
fn ink(png: &Path) -> (f64, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = (pixels.len() / channels) as f64;
    let rgb = |p: &[u8]| [p[0], p[1], p[2]];
    let inked = pixels
        .chunks(channels)
        .filter(|p| rgb(p).iter().any(|&c| c < 200))
        .count();
    let coloured = pixels
        .chunks(channels)
        .filter(|p| {
            let [r, g, b] = rgb(p);
            r.max(g).max(b) - r.min(g).min(b) > 60
        })
        .count();
    (inked as f64 / total, coloured as f64 / total)
}

#[test]
fn the_report_renders_in_a_browser_and_is_not_blank() {
    let browser = chromium();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let out = Command::new(BIN)
        .current_dir(ROOT)
        .args([
            "run",
            "examples/process_crash.rhai",
            "--time-scale",
            "0.05",
            "--report",
        ])
        .arg(&report)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shot = dir.path().join("shot.png");
    let status = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg("--window-size=1200,900")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{browser} could not render the report");
    // The first screen holds the verdict, the fault table and the top of the
    // chart: mostly text on white, so a few per cent of ink, and the chart's
    // coloured lines and bands. A blank page, or one whose SVG failed to
    // draw, has neither.
    let (ink, coloured) = ink(&shot);
    assert!(
        ink > 0.02,
        "the screenshot is almost blank: {:.1} % ink",
        ink * 100.0
    );
    assert!(
        coloured > 0.005,
        "the screenshot has no chart: {:.2} % coloured pixels ({:.1} % ink)",
        coloured * 100.0,
        ink * 100.0
    );
}
