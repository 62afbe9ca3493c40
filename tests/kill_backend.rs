//! Kill the backend, not only stop it: `senim-callcentre serve` is SIGKILLed again and again
//! (20 times by default; `SENIM_KILL_ROUNDS=200` for a longer local run) at random moments
//! while a kiosk — the real store and sync worker — commits appeals (most with video) and
//! delivers them. After a last clean run: every record stored exactly once and in commit order
//! (rows counted in the call-centre's database), one appeal row per committed appeal, every
//! video whole (the SHA-256 of the stored file is the one the kiosk sealed, and the bytes are
//! the ones committed), no unfinished upload left and no file in the uploads folder but the
//! appeals' videos.
//!
//! One binary, two roles (`harness = false`): run by cargo it is the parent; started with
//! `SENIM_KILL_BACKEND_SERVE` set it is `senim-callcentre` itself — its command line through
//! the very `senim_callcentre::cli::main` the binary's one-line `main` calls (this crate cannot
//! name the call-centre's binary). `SENIM_CALLCENTRE_BIN=/path/to/senim-callcentre` kills that
//! binary instead.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use senim_kiosk::store::Store;
use senim_kiosk::sync;
use sha2::Digest;
use support::*;

fn main() -> ExitCode {
    if std::env::var_os("SENIM_KILL_BACKEND_SERVE").is_some() {
        return senim_callcentre::cli::main();
    }
    parent();
    ExitCode::SUCCESS
}

/// The built `senim-callcentre` named by `SENIM_CALLCENTRE_BIN`, if it is there.
fn callcentre_bin() -> Option<PathBuf> {
    std::env::var_os("SENIM_CALLCENTRE_BIN")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// How to start the call-centre: its binary, or this one in its role.
fn callcentre() -> Command {
    match callcentre_bin() {
        Some(bin) => Command::new(bin),
        None => {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.env("SENIM_KILL_BACKEND_SERVE", "1");
            c
        }
    }
}

/// `senim-callcentre serve` on `addr` with `data`, once it says it listens.
fn serve(config: &Path, data: &Path, addr: std::net::SocketAddr, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = callcentre()
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", &addr.to_string()])
        .env("SENIM_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("senim-callcentre listening on"),
        "the call-centre did not start: {line:?} (see its log)"
    );
    child
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn parent() {
    let started = Instant::now();
    let rounds: u32 = std::env::var("SENIM_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let backend = tempfile::tempdir().unwrap();
    let config = backend.path().join("callcentre.toml");
    // The machine's disk may be short: a small free-space reserve; chunks that stall end soon.
    std::fs::write(
        &config,
        "[storage]\nreserve_mib = 16\n\n[uploads]\nidle_timeout_secs = 5\n",
    )
    .unwrap();
    let data = backend.path().join("data");
    let log = backend.path().join("callcentre.log");
    let addr = free_addr();
    let url = format!("http://{addr}");

    // An enrolment code from the call-centre's own command line (printed alone on line one).
    let made = callcentre()
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .args(["enrol-code", "--site", "Test hospital"])
        .env("SENIM_LOG", "off")
        .output()
        .unwrap();
    assert!(made.status.success(), "enrol-code failed: {made:?}");
    let code = String::from_utf8(made.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    let mut server = serve(&config, &data, addr, &log);
    let kiosk = tempfile::tempdir().unwrap();
    sync::enrol(kiosk.path(), &url, None, &code).unwrap();

    // The kiosk: its worker delivering, and a stream of commits (2 in 3 with a video).
    let handle = sync::spawn(sync_config(kiosk.path(), &url), |_| {}).unwrap();
    let waker = handle.waker();
    let committed: Arc<Mutex<Vec<(String, u64, usize)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let committer = {
        let (committed, stop, kiosk) = (
            Arc::clone(&committed),
            Arc::clone(&stop),
            kiosk.path().to_path_buf(),
        );
        std::thread::spawn(move || {
            let mut store = Store::open(&kiosk).unwrap();
            let mut rng = rand::rng();
            while !stop.load(Ordering::SeqCst) {
                let seed: u64 = rng.random();
                let len = if rng.random_range(0..3) == 0 {
                    0
                } else {
                    rng.random_range(40_000..700_000)
                };
                let id = commit_appeal(&mut store, seed, len);
                committed.lock().unwrap().push((id, seed, len));
                waker.wake();
                std::thread::sleep(Duration::from_millis(rng.random_range(30..200)));
            }
        })
    };

    let mut rng = rand::rng();
    for round in 0..rounds {
        std::thread::sleep(Duration::from_millis(rng.random_range(150..1500)));
        if let Ok(Some(status)) = server.try_wait() {
            panic!("round {round}: the call-centre died by itself: {status} (see its log)");
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        server = serve(&config, &data, addr, &log);
    }

    // Stop committing; a last clean run of the worker delivers what is left.
    stop.store(true, Ordering::SeqCst);
    committer.join().unwrap();
    handle.stop();
    let deadline = Instant::now() + Duration::from_secs(300);
    let worker = std::thread::spawn({
        let config = sync_config(kiosk.path(), &url);
        move || sync::run_until_idle(config, |_| {})
    });
    while !worker.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the kiosk did not deliver everything"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    worker.join().unwrap().unwrap();
    // A clean stop (SIGTERM), then the database is read directly.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    assert!(server.wait().unwrap().success());

    let committed = committed.lock().unwrap().clone();
    let store = Store::open(kiosk.path()).unwrap();
    assert!(store.integrity_ok().unwrap());
    let queue = store.queue().unwrap();
    assert_eq!(queue.pending(), 0, "the kiosk's outbox is empty: {queue:?}");
    drop(store);

    let db = rusqlite::Connection::open(data.join("senim.sqlite3")).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // Nothing lost, nothing twice: one stored record per outbox row, in commit order.
    let stored: Vec<String> = db
        .prepare("SELECT idem_key FROM records ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        stored,
        outbox_keys(kiosk.path()),
        "each record once, in order"
    );
    let appeals: i64 = db
        .query_row("SELECT count(*) FROM appeals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        appeals as usize,
        committed.len(),
        "one appeal row per appeal"
    );

    // Every video whole.
    let kiosk_db = rusqlite::Connection::open(kiosk.path().join("kiosk.sqlite3")).unwrap();
    let mut videos = BTreeSet::new();
    for (id, seed, len) in &committed {
        let (upload, sha): (Option<String>, Option<String>) = db
            .query_row(
                "SELECT video_upload_id, video_sha256 FROM appeals WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if *len == 0 {
            assert!(upload.is_none(), "{id} has no video");
            continue;
        }
        let upload = upload.unwrap_or_else(|| panic!("the video of {id} arrived"));
        let bytes = std::fs::read(data.join("uploads").join(&upload)).unwrap();
        let sealed: String = kiosk_db
            .query_row(
                "SELECT video_sha256 FROM appeals WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sha256_hex(&bytes), sealed, "the stored file of {id}");
        assert_eq!(sha.as_deref(), Some(sealed.as_str()));
        // Sealed by the kiosk to the call-centre's key (issue 19): opened, it is the take.
        let keys = senim_common::seal::Identities::load(&data.join("seal.keys")).unwrap();
        let opened = if senim_common::seal::is_sealed(&bytes) {
            keys.open(&bytes).unwrap()
        } else {
            bytes.clone()
        };
        assert!(
            opened == video_bytes(*seed, *len),
            "the video of {id} is the one committed"
        );
        videos.insert(upload);
    }
    // And the disk holds nothing else: no unfinished upload, no file without its appeal.
    let open: i64 = db
        .query_row(
            "SELECT count(*) FROM uploads WHERE completed_at IS NULL AND expired_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "no unfinished upload is left");
    let files: BTreeSet<String> = std::fs::read_dir(data.join("uploads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files, videos,
        "the uploads folder holds the appeals' videos only"
    );
    let with_video = committed.iter().filter(|c| c.2 > 0).count();
    // What the kills hit, from the call-centre's own log.
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let count = |what: &str| log.lines().filter(|l| l.contains(what)).count();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "kill test: {rounds} SIGKILLs of the call-centre ({}), {} appeals ({with_video} with video) \
         delivered once, whole, nothing else on its disk, in {:.0?}; its log: {} uploads \
         created, {} answered again, {} start-up sweeps that cleaned up",
        match callcentre_bin() {
            Some(bin) => bin.display().to_string(),
            None => "its cli::main in this test binary".into(),
        },
        committed.len(),
        started.elapsed(),
        count("upload created"),
        count("open upload answered again"),
        count("matched against the store at start"),
    )
    .unwrap();
}
