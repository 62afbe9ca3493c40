//! The technician PIN on the real kiosk window (Xvfb, touch through xdotool): the lock-out the
//! store kept is restored at start, a PIN typed on the keypad is checked off the UI thread and
//! its failure reaches the store, and a restart (a SIGKILL) does not reset the count.

#[path = "support/xvfb.rs"]
mod xvfb;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use senim_kiosk::store::{Store, StoredPinLock};
use xvfb::{screenshot, standalone_demo_config, start_xvfb, tap, Killed, Log};

/// Only a guard against a hung test; every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(30);

/// The keypad's columns, and rows at heights inside each key both with and without a notice
/// above the keypad (1920×1080, the demo configuration's window).
const COLUMNS: [u32; 3] = [793, 959, 1125];
const ROWS: [u32; 4] = [516, 670, 825, 978];

fn key(c: char) -> (u32, u32) {
    match c {
        '0' => (COLUMNS[1], ROWS[3]),
        'k' => (COLUMNS[2], ROWS[3]), // OK
        d => {
            let n = d.to_digit(10).expect("a digit") - 1;
            (COLUMNS[(n % 3) as usize], ROWS[(n / 3) as usize])
        }
    }
}

/// The running kiosk and its log lines.
struct Kiosk {
    log: Log,
    _child: Killed,
}

impl Kiosk {
    fn start(config: &Path, display: &str) -> Kiosk {
        let mut child = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
            .args(["run", "--windowed", "--config"])
            .arg(config)
            .env("DISPLAY", display)
            .env("SENIM_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the kiosk");
        let mut log = Log::of(&mut child, GUARD);
        log.expect("kiosk started");
        Kiosk {
            log,
            _child: Killed(child),
        }
    }
}

/// Waits until the store holds a lock-out with `failures`.
fn stored_failures(data: &Path, failures: u32) -> StoredPinLock {
    let deadline = Instant::now() + GUARD;
    loop {
        let lock = Store::open(data).and_then(|s| s.pin_lock()).expect("store");
        if lock.failures == failures {
            return lock;
        }
        assert!(
            Instant::now() < deadline,
            "the store never held {failures} failures: {lock:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn config(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    let text = standalone_demo_config(&data);
    assert!(text.contains("pin_hash = "), "the demo PIN is argon2id");
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, text).expect("config");
    (path, data)
}

/// A stand-alone kiosk whose store holds two wrong PINs from before a power cut, started and
/// taken to the PIN page (five taps in the top-left corner); and the line saying what it
/// restored.
fn on_the_pin_page(display: &str, dir: &Path, name: &str) -> (Kiosk, PathBuf, PathBuf, String) {
    let (config, data) = config(dir);
    Store::open(&data)
        .and_then(|s| {
            s.set_pin_lock(&StoredPinLock {
                failures: 2,
                locked_until: None,
            })
        })
        .expect("seed the store");
    let mut kiosk = Kiosk::start(&config, display);
    let restored = kiosk.log.expect("technician PIN lock-out restored");
    xvfb::wait_drawn(display, &format!("{name}-attract"), GUARD);
    for _ in 0..5 {
        tap(display, (60, 60));
    }
    kiosk.log.expect("to=\"technician-pin\"");
    xvfb::wait_drawn(display, &format!("{name}-entry"), GUARD);
    (kiosk, config, data, restored)
}

#[test]
fn the_pin_lock_out_is_kept_across_a_kill_and_the_pin_is_checked_off_the_ui_thread() {
    let (_xvfb, display) = start_xvfb("1920x1080x24");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut kiosk, config, data, restored) = on_the_pin_page(&display, dir.path(), "pin");
    assert!(restored.contains("failures=2"), "{restored}");
    // A wrong PIN: the third failure, which locks.
    for c in "9999k".chars() {
        tap(&display, key(c));
    }
    let checked = kiosk.log.expect("technician PIN checked");
    assert!(checked.contains("ok=false"), "{checked}");
    let lock = stored_failures(&data, 3);
    assert!(
        lock.locked_until.is_some(),
        "the third failure locks: {lock:?}"
    );
    screenshot(&display, "pin-locked");

    // Killed and started again: still locked, still three failures.
    drop(kiosk);
    let mut kiosk = Kiosk::start(&config, &display);
    let restored = kiosk.log.expect("technician PIN lock-out restored");
    assert!(
        restored.contains("failures=3") && !restored.contains("locked_secs=0"),
        "{restored}"
    );
    let all = kiosk.log.seen.join("\n");
    assert!(!all.contains("9999"), "the log shows a PIN:\n{all}");
}

#[test]
fn the_right_pin_opens_technician_mode_and_clears_the_kept_failures() {
    let (_xvfb, display) = start_xvfb("1920x1080x24");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut kiosk, _, data, _) = on_the_pin_page(&display, dir.path(), "pin-2");
    // The demo configuration's PIN (`pin_hash` of 4321).
    for c in "4321k".chars() {
        tap(&display, key(c));
    }
    let checked = kiosk.log.expect("technician PIN checked");
    assert!(checked.contains("ok=true"), "{checked}");
    kiosk.log.expect("to=\"technician-home\"");
    assert_eq!(stored_failures(&data, 0), StoredPinLock::default());
}
