//! Crash test: a kiosk process that commits appeals with video and syncs them is killed with
//! SIGKILL at random moments, again and again (50 times by default; `SENIM_CRASH_ROUNDS=500`
//! for a longer local run). After a final clean run the backend must hold every committed
//! appeal exactly once with byte-identical video, and the kiosk's outbox must be empty.
//!
//! One binary, two roles (`harness = false`): run by cargo it is the parent; started by the
//! parent with `SENIM_CRASH_CHILD` set it is the kiosk being killed.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use senim_kiosk::store::Store;
use senim_kiosk::sync;
use support::*;

fn main() {
    match std::env::var_os("SENIM_CRASH_CHILD") {
        Some(data) => child(Path::new(&data)),
        None => parent(),
    }
}

/// The kiosk being killed: the real sync worker on its thread, and a stream of commits with
/// videos; each committed appeal is logged (fsynced) after `commit_appeal` returned.
fn child(data: &Path) {
    let url = std::env::var("SENIM_CRASH_BACKEND").unwrap();
    let log_path = PathBuf::from(std::env::var("SENIM_CRASH_LOG").unwrap());
    let handle = sync::spawn(sync_config(data, &url), |_| {}).unwrap();
    let waker = handle.waker();
    let mut store = Store::open(data).unwrap();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&log_path)
        .unwrap();
    let mut rng = rand::rng();
    loop {
        let seed: u64 = rng.random();
        let len = rng.random_range(40_000..700_000);
        let id = commit_appeal(&mut store, seed, len);
        // One write: `writeln!` writes piece by piece, and a kill between the id and the rest
        // would leave a line glued to the next one.
        log.write_all(format!("{id} {seed} {len}\n").as_bytes())
            .unwrap();
        log.sync_all().unwrap();
        waker.wake();
        std::thread::sleep(Duration::from_millis(rng.random_range(20..150)));
    }
}

fn parent() {
    let started = Instant::now();
    let rounds: u32 = std::env::var("SENIM_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let log = data.path().join("committed.log");
    let mut rng = rand::rng();
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("SENIM_CRASH_CHILD", data.path())
            .env("SENIM_CRASH_BACKEND", &backend.url)
            .env("SENIM_CRASH_LOG", &log)
            .env("SENIM_LOG", "off")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(100..1200)));
        if let Ok(Some(status)) = child.try_wait() {
            panic!("round {round}: the kiosk process died by itself: {status}");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    // A final clean run delivers what the killed processes left.
    sync::run_until_idle(sync_config(data.path(), &backend.url), |_| {}).unwrap();

    let logged: Vec<(String, u64, usize)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            let mut p = l.split(' ');
            (
                p.next().unwrap().to_string(),
                p.next().unwrap().parse().unwrap(),
                p.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let store = Store::open(data.path()).unwrap();
    assert!(
        store.integrity_ok().unwrap(),
        "the kiosk store survived intact"
    );
    let queue = store.queue().unwrap();
    assert_eq!(queue.pending(), 0, "the outbox is empty: {queue:?}");

    // Exactly once: one stored record per committed outbox row, in commit order.
    let committed = outbox_keys(data.path());
    assert_eq!(backend.stored_keys(), committed);
    let held = backend.appeals();
    assert_eq!(
        held.len(),
        committed.len(),
        "one appeal per committed appeal"
    );

    // Every appeal the citizen was told about (logged after commit) is there, byte-identical.
    for (id, seed, len) in &logged {
        let row = held
            .iter()
            .find(|a| &a.id == id)
            .expect("logged appeal held");
        let bytes = backend.video(row).expect("its video uploaded");
        assert!(bytes == video_bytes(*seed, *len), "video of {id} differs");
    }
    // And those committed but killed before the log line: their video matches what the kiosk
    // sealed at commit time.
    for row in &held {
        let sealed: String = rusqlite::Connection::open(data.path().join("kiosk.sqlite3"))
            .unwrap()
            .query_row(
                "SELECT video_sha256 FROM appeals WHERE id = ?1",
                [&row.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            row.video_sha256.as_deref(),
            Some(sealed.as_str()),
            "{}",
            row.id
        );
    }
    println!(
        "crash test: {rounds} SIGKILLs, {} appeals committed ({} logged), all delivered once \
         with identical video, in {:.0?}",
        held.len(),
        logged.len(),
        started.elapsed()
    );
}
