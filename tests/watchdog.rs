//! The kiosk speaks systemd's notify protocol: the real binary on an Xvfb screen, with this test
//! in systemd's place on the other end of `NOTIFY_SOCKET`, sends `READY=1` once its window is
//! up and then `WATCHDOG=1` again and again from its UI thread.

#[path = "support/xvfb.rs"]
mod xvfb;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use xvfb::{start_xvfb, Killed};

/// Only a guard against a hung test; every wait ends as soon as its message arrives.
const GUARD: Duration = Duration::from_secs(30);

fn demo_config(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/kiosk.demo.toml"))
        .expect("demo config")
        .replace(
            "catalog_dir = \"config/services\"",
            &format!("catalog_dir = {:?}", root.join("config/services")),
        );
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Starts the kiosk as systemd would with `WatchdogSec=` set; returns it with the socket the
/// test reads its notifications from.
fn kiosk_under_fake_systemd(
    display: &str,
    dir: &Path,
    watchdog_pid: Option<&str>,
) -> (Killed, UnixDatagram) {
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket.set_read_timeout(Some(GUARD)).expect("timeout");
    let mut command = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"));
    command
        .args(["run", "--windowed", "--config"])
        .arg(demo_config(dir))
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("NOTIFY_SOCKET", &socket_path)
        // 400 ms: the kiosk pings every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .env("SENIM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("kiosk.log")).expect("log file"));
    match watchdog_pid {
        Some(pid) => command.env("WATCHDOG_PID", pid),
        None => command.env_remove("WATCHDOG_PID"),
    };
    (Killed(command.spawn().expect("start the kiosk")), socket)
}

fn next_message(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket
        .recv(&mut buf)
        .expect("the kiosk sent nothing to NOTIFY_SOCKET");
    String::from_utf8_lossy(&buf[..n]).trim().to_string()
}

#[test]
fn kiosk_reports_ready_then_keeps_feeding_the_watchdog() {
    let (_xvfb, display) = start_xvfb("1280x800x24");
    let dir = tempfile::tempdir().expect("tempdir");
    let (kiosk, socket) = kiosk_under_fake_systemd(&display, dir.path(), None);

    assert_eq!(next_message(&socket), "READY=1", "first message");
    for ping in 1..=3 {
        assert_eq!(next_message(&socket), "WATCHDOG=1", "ping {ping}");
    }
    let log = stop_and_read_log(kiosk, dir.path());
    assert!(log.contains("systemd watchdog on every_ms=200"), "{log}");
}

/// Stops the kiosk and returns everything it logged.
fn stop_and_read_log(mut kiosk: Killed, dir: &Path) -> String {
    kiosk.0.kill().expect("stop the kiosk");
    kiosk.0.wait().expect("reap the kiosk");
    std::fs::read_to_string(dir.join("kiosk.log")).expect("kiosk log")
}

#[test]
fn kiosk_leaves_another_process_watchdog_alone() {
    let (_xvfb, display) = start_xvfb("1280x800x24");
    let dir = tempfile::tempdir().expect("tempdir");
    // PID 1 is neither the kiosk nor its parent (this test): not the kiosk's watchdog to feed.
    let (kiosk, socket) = kiosk_under_fake_systemd(&display, dir.path(), Some("1"));

    assert_eq!(next_message(&socket), "READY=1");
    // The kiosk decides before its event loop runs and logs the decision, so by READY=1 its
    // log says what it chose.
    let log = stop_and_read_log(kiosk, dir.path());
    assert!(log.contains("kiosk started"), "{log}");
    assert!(!log.contains("systemd watchdog on"), "{log}");
}
