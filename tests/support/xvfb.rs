//! A private Xvfb screen for tests that run the real kiosk window, and a child process that is
//! killed when the test ends.

use std::io::Read;
use std::process::{Child, Command, Stdio};

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
