//! One scan provisions a blank kiosk, on the real kiosk window (Xvfb) with the simulated
//! scanner (a socat pty pair) and a real call-centre on `127.0.0.1:0`: a kiosk with nothing
//! configured (no `[sync] backend_url`, never enrolled, not stand-alone) rests on the enrolment
//! screen; the enrolment text `SENIM-ENROL:<code>;v=2;url=…` typed on the scanner enrols it
//! against that call-centre, with the site name and mode from its answer, and the kiosk reaches
//! the attract screen and sends heartbeats. Started again with the same (empty) configuration,
//! it serves at once: the URL learnt is kept in the store with the token.

#[path = "../callcentre/tests/common/mod.rs"]
mod common;
#[path = "support/xvfb.rs"]
mod xvfb;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use xvfb::{screenshot, start_xvfb, Killed, Log};

/// Only a guard against a hung test; every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(40);

/// A blank kiosk's configuration: the site's look and its scanner, nothing about a
/// call-centre.
fn blank_config(dir: &Path, scanner: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "[kiosk]\nsite_name = \"Senim\"\nmode = \"hospital\"\ndefault_language = \"en\"\n\
             catalog_dir = {:?}\n\
             [scanner]\nport = {:?}\n\
             [camera]\nvideo = \"none\"\naudio = \"none\"\naudio_output = \"none\"\n\
             [store]\ndata_dir = {:?}\n",
            root.join("config/services").display().to_string(),
            scanner.display().to_string(),
            dir.join("data").display().to_string(),
        ),
    )
    .unwrap();
    path
}

fn start_kiosk(config: &Path, display: &str) -> (Killed, Log) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
        .args(["run", "--windowed", "--config"])
        .arg(config)
        .env("DISPLAY", display)
        .env("SENIM_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the kiosk");
    let log = Log::of(&mut child, GUARD);
    (Killed(child), log)
}

#[test]
fn a_blank_kiosk_rests_on_the_enrolment_screen_and_one_scan_makes_it_serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start());
    let code = server.code("Ward 5, City Hospital", 1);
    // What `enrol-code --url` puts in the QR code (plain HTTP: no pin).
    let text = senim_callcentre::enrolment::text(&code, None, Some(&server.url));
    assert!(text.contains(";v=2;url=http://127.0.0.1:"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let kiosk_end = dir.path().join("scanner-kiosk");
    let scanner_end = dir.path().join("scanner");
    let _socat = Killed(
        Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", kiosk_end.display()))
            .arg(format!("pty,raw,echo=0,link={}", scanner_end.display()))
            .spawn()
            .expect("socat is installed by scripts/setup.sh"),
    );
    let deadline = Instant::now() + GUARD;
    while !(kiosk_end.exists() && scanner_end.exists()) {
        assert!(
            Instant::now() < deadline,
            "the simulated scanner never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let config = blank_config(dir.path(), &kiosk_end);
    let (_xvfb, display) = start_xvfb("1920x1080x24");

    let (kiosk, mut log) = start_kiosk(&config, &display);
    log.expect("kiosk started");
    log.expect("no call-centre yet");
    log.expect("to=\"enrol\"");
    log.expect("card scanner connected");
    screenshot(&display, "enrol-blank");

    let mut scanner = std::fs::OpenOptions::new()
        .write(true)
        .open(&scanner_end)
        .unwrap();
    scanner.write_all(format!("{text}\r\n").as_bytes()).unwrap();
    log.expect("enrolled");
    log.expect("from=\"enrol\" to=\"attract\"");
    screenshot(&display, "enrol-serving");
    // The kiosk now talks to the call-centre: its heartbeat arrives.
    let deadline = Instant::now() + GUARD;
    while server.state.heartbeats().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no heartbeat from the enrolled kiosk; its log:\n{}",
            log.drain()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let stored = senim_kiosk::store::Store::open(&dir.path().join("data"))
        .unwrap()
        .enrolment()
        .unwrap()
        .expect("enrolled");
    assert_eq!(stored.site, "Ward 5, City Hospital");
    assert_eq!(stored.backend_url, server.url);
    drop(kiosk);

    // Started again with the same blank configuration: it serves at once (a new heartbeat
    // arrives), and never shows the enrolment screen.
    let last = |s: &TestServer| s.state.heartbeats().values().map(|h| h.received).max();
    let before = last(&server);
    let (_kiosk, mut log) = start_kiosk(&config, &display);
    log.expect("kiosk started");
    let deadline = Instant::now() + GUARD;
    while last(&server) == before {
        assert!(
            Instant::now() < deadline,
            "no heartbeat after the restart; its log:\n{}",
            log.drain()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = log.drain();
    assert!(!seen.contains("to=\"enrol\""), "{seen}");
    assert!(!seen.contains("no call-centre yet"), "{seen}");
    rt.block_on(server.stop());
}
