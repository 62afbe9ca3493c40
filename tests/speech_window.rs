//! Spoken guidance on the real kiosk window (Xvfb, touch through xdotool) with `[speech]
//! auto_play`: each screen's prompt plays as it opens, a guide step's own prompt is made on
//! first use into the data folder's prompt cache (nothing at start-up) and "listen" plays it
//! again.

#[path = "support/xvfb.rs"]
mod xvfb;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xvfb::{standalone_demo_config, start_xvfb, Killed, Log};

/// Only a guard against a hung test; every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(30);

fn tap(display: &str, (x, y): (u32, u32)) {
    let status = Command::new("xdotool")
        .env("DISPLAY", display)
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .status()
        .expect("xdotool is installed by scripts/setup.sh");
    assert!(status.success());
}

/// Waits until the kiosk's window is drawn (a blank screen has one colour), so taps reach it.
fn wait_drawn(display: &str, dir: &Path) {
    let deadline = Instant::now() + GUARD;
    let path = dir.join("screen.png");
    loop {
        let shot = Command::new("import")
            .args(["-display", display, "-window", "root"])
            .arg(&path)
            .status()
            .expect("imagemagick's import is installed by scripts/setup.sh");
        assert!(shot.success(), "screenshot failed");
        let out = Command::new("identify")
            .args(["-format", "%k"])
            .arg(&path)
            .output()
            .expect("identify");
        let colours: usize = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        if colours > 20 {
            return;
        }
        assert!(Instant::now() < deadline, "the window was never drawn");
    }
}

fn cached(data: &Path) -> usize {
    std::fs::read_dir(data.join("prompt-cache"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn screens_speak_as_they_open_and_a_guide_step_speaks_its_own_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prompts");
    let text = standalone_demo_config(&data).replace(
        "prompts_dir = \"assets/prompts\"",
        &format!("prompts_dir = {prompts:?}\nauto_play = true"),
    );
    assert!(
        text.contains("auto_play = true"),
        "the demo config names its prompts"
    );
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(&config, text).expect("config");

    let (_xvfb, display) = start_xvfb("1920x1080x24");
    let mut child = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
        .args(["run", "--windowed", "--config"])
        .arg(&config)
        .env("DISPLAY", &display)
        .env("SENIM_LOG", "info,senim_kiosk::app::speech=debug")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the kiosk");
    let mut log = Log::of(&mut child, GUARD);
    let _child = Killed(child);
    log.expect("kiosk started");
    wait_drawn(&display, tmp.path());
    assert_eq!(cached(&data), 0, "no step prompt is made at start-up");

    tap(&display, (960, 700)); // the attract screen
    log.expect("prompt playing screen=\"menu\" lang=\"kk\"");
    tap(&display, (700, 771)); // "Service guides"
    log.expect("prompt playing screen=\"guide-categories\"");
    tap(&display, (330, 545)); // the first category
    log.expect("prompt playing screen=\"guide-catalog\"");
    tap(&display, (500, 430)); // its first service
    log.expect("prompt playing screen=\"guide-service\"");
    tap(&display, (1612, 989)); // "Show me the steps"
    let first = log.last("prompt playing screen=\"guide-step\"");
    assert_eq!(cached(&data), 1, "the step's prompt was made on first use");
    tap(&display, (818, 63)); // "listen" in the top bar
    log.expect_after(first, "prompt playing screen=\"guide-step\"");
    assert_eq!(cached(&data), 1, "and not made again");
}
