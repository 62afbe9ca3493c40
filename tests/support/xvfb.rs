//! A private Xvfb screen for tests that run the real kiosk window, a child process that is
//! killed when the test ends, and the kiosk's log lines to wait on.

// Each test binary that includes this file uses its own part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display with a `size` screen (`"1920x1080x24"`); returns it and its
/// `DISPLAY` name.
pub fn start_xvfb(size: &str) -> (Killed, String) {
    let mut xvfb = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", size, "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is installed by scripts/setup.sh");
    let mut out = xvfb.stdout.take().expect("stdout");
    let mut number = String::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).expect("read display number") == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    assert!(!number.is_empty(), "Xvfb did not report a display");
    (Killed(xvfb), format!(":{number}"))
}

/// A child's log lines (its stderr, read on a thread of its own); `expect` waits for one
/// containing a text, at most `guard` (only a guard against a hung test: every wait ends as soon
/// as its line is there).
pub struct Log {
    lines: Receiver<String>,
    pub seen: Vec<String>,
    guard: Duration,
}

impl Log {
    /// Takes the child's stderr (spawned with `Stdio::piped()`).
    pub fn of(child: &mut Child, guard: Duration) -> Log {
        let stderr = child.stderr.take().expect("the kiosk's stderr is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Log {
            lines,
            seen: Vec::new(),
            guard,
        }
    }

    /// The first line containing `needle`, waiting for it if it has not come yet.
    pub fn expect(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + self.guard;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the kiosk never logged {needle:?}; its log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for a line containing `needle` logged after the line `index` (0-based).
    pub fn expect_after(&mut self, index: usize, needle: &str) -> String {
        let deadline = Instant::now() + self.guard;
        loop {
            if let Some(l) = self
                .seen
                .iter()
                .skip(index + 1)
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "the kiosk never logged {needle:?} after line {index}; its log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The index of the last line containing `needle` (waiting for one if there is none).
    pub fn last(&mut self, needle: &str) -> usize {
        self.expect(needle);
        self.seen
            .iter()
            .rposition(|l| l.contains(needle))
            .unwrap_or(0)
    }

    /// Everything logged so far (waiting briefly for stragglers).
    pub fn drain(&mut self) -> String {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

/// The demo configuration as a stand-alone kiosk for a window test: no call-centre and
/// `[sync] standalone = true` (so no enrolment screen), the shipped catalogue, its store in `data` (the test's own folder).
pub fn standalone_demo_config(data: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("config/kiosk.demo.toml"))
        .expect("demo config")
        .replace(
            "catalog_dir = \"config/services\"",
            &format!("catalog_dir = {:?}", root.join("config/services")),
        )
        .replace(
            "backend_url = \"http://127.0.0.1:8080\"",
            "backend_url = \"\"\nstandalone = true",
        )
        .replace(
            "data_dir = \"demo-data/kiosk\"",
            &format!("data_dir = {:?}", data),
        )
}

/// A tap (left click) at `(x, y)` of the screen.
pub fn tap(display: &str, (x, y): (u32, u32)) {
    let status = Command::new("xdotool")
        .env("DISPLAY", display)
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .status()
        .expect("xdotool is installed by scripts/setup.sh");
    assert!(status.success());
}

/// The whole screen as `target/screenshots/window-<name>.png`.
pub fn screenshot(display: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("window-{name}.png"));
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(&path)
        .status()
        .expect("imagemagick's import is installed by scripts/setup.sh");
    assert!(status.success(), "screenshot failed");
    path
}

/// Distinct colours in a screenshot: a drawn kiosk screen has many, a blank one has one.
pub fn colours(path: &Path) -> usize {
    let out = Command::new("identify")
        .args(["-format", "%k"])
        .arg(path)
        .output()
        .expect("identify");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Waits up to `guard` until the kiosk's window is drawn (a blank screen has one colour), so
/// taps reach it.
pub fn wait_drawn(display: &str, name: &str, guard: Duration) {
    let deadline = Instant::now() + guard;
    while colours(&screenshot(display, name)) <= 20 {
        assert!(Instant::now() < deadline, "the window was never drawn");
    }
}
