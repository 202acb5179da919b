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

/// The share of pixels that are not (near) white.
fn ink(png: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let inked = pixels
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / (pixels.len() / channels) as f64
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
    let ink = ink(&shot);
    assert!(
        ink > 0.05,
        "the screenshot is almost blank: {:.1} % ink",
        ink * 100.0
    );
}
