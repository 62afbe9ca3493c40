//! Spoken guidance on the real kiosk window (Xvfb, touch through xdotool) with `[speech]
//! auto_play`: each screen's prompt plays as it opens, a guide step's own prompt is made on
//! first use into the data folder's prompt cache (nothing at start-up) and "listen" plays it
//! again.

#[path = "support/xvfb.rs"]
mod xvfb;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use xvfb::{standalone_demo_config, start_xvfb, tap, Killed, Log};

/// Only a guard against a hung test; every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(30);

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
    xvfb::wait_drawn(&display, "speech", GUARD);
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
