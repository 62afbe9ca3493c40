//! End to end on a real window: the release-like kiosk binary on an Xvfb screen, fed by the
//! simulated scanner (a socat pseudo-terminal pair, the same fake `make demo` uses), driven by
//! touch through xdotool. Screenshots land in `target/screenshots/window-*.png`.

#[path = "support/xvfb.rs"]
mod xvfb;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xvfb::{colours, screenshot, standalone_demo_config, start_xvfb, Killed, Log};

/// Only a guard against a hung test; every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(30);

fn wait_for_path(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < GUARD, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Takes screenshots until one is drawn and differs from `previous` (the screen is repainted
/// a moment after the flow changes); returns it with its colour count.
fn screenshot_changed(display: &str, name: &str, previous: Option<&[u8]>) -> (Vec<u8>, usize) {
    let start = Instant::now();
    loop {
        let path = screenshot(display, name);
        let n = colours(&path);
        let bytes = pixels(&path);
        if n > 20 && previous.is_none_or(|p| p != bytes.as_slice()) {
            return (bytes, n);
        }
        assert!(start.elapsed() < GUARD, "the screen {name} was never drawn");
    }
}

/// The raw RGB pixels of a screenshot.
fn pixels(path: &Path) -> Vec<u8> {
    Command::new("convert")
        .arg(path)
        .arg("rgb:-")
        .output()
        .expect("imagemagick's convert")
        .stdout
}

fn tap(display: &str, x: u32, y: u32) {
    let status = Command::new("xdotool")
        .env("DISPLAY", display)
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .status()
        .expect("xdotool is installed by scripts/setup.sh");
    assert!(status.success());
}

#[test]
fn real_window_scans_a_card_and_resets() {
    let (_xvfb, display) = start_xvfb("1920x1080x24");
    let dir = tempfile::tempdir().expect("tempdir");
    let kiosk_end = dir.path().join("scanner-kiosk");
    let scanner_end = dir.path().join("scanner");
    let _socat = Killed(
        Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", kiosk_end.display()))
            .arg(format!("pty,raw,echo=0,link={}", scanner_end.display()))
            .spawn()
            .expect("socat is installed by scripts/setup.sh"),
    );
    wait_for_path(&kiosk_end);
    wait_for_path(&scanner_end);

    let config = standalone_demo_config(&dir.path().join("data")).replace(
        "port = \"demo-data/scanner-kiosk\"",
        &format!("port = {:?}", kiosk_end.display().to_string()),
    );
    let config_path = dir.path().join("kiosk.toml");
    std::fs::write(&config_path, config).expect("config");

    let mut child = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
        .args(["run", "--windowed", "--config"])
        .arg(&config_path)
        .env("DISPLAY", &display)
        .env("SENIM_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the kiosk");
    let mut log = Log::of(&mut child, GUARD);
    let _kiosk = Killed(child);

    log.expect("kiosk started");
    log.expect("card scanner connected");
    let (attract, _) = screenshot_changed(&display, "attract", None);

    // A citizen holds a valid ID card to the scanner.
    let mut scanner = std::fs::OpenOptions::new()
        .write(true)
        .open(&scanner_end)
        .expect("open the simulated scanner");
    scanner.write_all(b"880101300010\n").expect("scan");
    log.expect("to=\"identified\"");
    let (identified, _) = screenshot_changed(&display, "identified", Some(&attract));
    log.expect("to=\"appeal-topic\"");

    // "Finish" in the top bar ends the session at once.
    tap(&display, 1620, 66);
    log.expect("to=\"attract\"");
    let (after, _) = screenshot_changed(&display, "attract-again", Some(&identified));

    // A mistyped card number is refused with a reason, and the kiosk stays usable.
    scanner.write_all(b"880101300011\n").expect("scan");
    log.expect("to=\"identify-refused\"");
    screenshot_changed(&display, "identify-refused", Some(&after));

    let all = log.drain();
    for secret in ["880101300010", "880101300011", "300010", "300011"] {
        assert!(!all.contains(secret), "the log shows an IIN:\n{all}");
    }
}
