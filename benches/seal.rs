//! Benchmark of what sealing (issue 19) adds to committing a 2-minute video appeal: the
//! store's commit of a take of 2 min at the recorder's default bit rates (800 + 48 kbit/s,
//! about 12.7 MB), once with no seal recipient (hash + fsync + rename, as before) and once
//! sealed to the call-centre's age recipient (encrypt + hash + fsync + rename + removing the
//! plaintext + WAL truncation). Wall time and the committing thread's CPU time
//! (`/proc/thread-self/schedstat`), medians of RUNS runs.
//!
//! `cargo bench -p senim-kiosk --bench seal`; prints JSON and writes it to `$SENIM_BENCH_JSON`
//! when set (scripts/bench.py turns it into rows). Nothing asserts.

use std::time::Instant;

use senim_common::seal::Identities;
use senim_kiosk::store::{NewAppeal, NewVideo, Store};

const RUNS: usize = 7;
/// Two minutes at 800 kbit/s video + 48 kbit/s audio.
const TAKE_BYTES: usize = 120 * (800 + 48) * 1000 / 8;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Nanoseconds this thread has run on a CPU.
fn thread_cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// One commit of a fresh take: (wall ms, CPU ms).
fn commit_once(store: &mut Store, take: &[u8], n: usize) -> (f64, f64) {
    let path = store.incoming_dir().join(format!("take-{n}.webm"));
    std::fs::write(&path, take).unwrap();
    let appeal = NewAppeal {
        topic: senim_protocol::Topic::Complaint,
        language: "kk".into(),
        iin: Some("880101300010".into()),
        callback_phone: Some("+77011234567".into()),
        text: None,
        video: Some(NewVideo { path, seconds: 120 }),
        interrupted: false,
        test: false,
        created_at: chrono::Utc::now(),
        recording: None,
        appeal_id: None,
        call_secs: None,
    };
    let (cpu, wall) = (thread_cpu_ns(), Instant::now());
    store.commit_appeal(&appeal).unwrap();
    (
        wall.elapsed().as_secs_f64() * 1e3,
        (thread_cpu_ns() - cpu) / 1e6,
    )
}

fn measure(sealed: bool, take: &[u8]) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    if sealed {
        store
            .set_seal_recipient(&Identities::generate().current())
            .unwrap();
    }
    commit_once(&mut store, take, 0); // warm-up
    let runs: Vec<(f64, f64)> = (1..=RUNS)
        .map(|n| commit_once(&mut store, take, n))
        .collect();
    (
        median(runs.iter().map(|r| r.0).collect()),
        median(runs.iter().map(|r| r.1).collect()),
    )
}

fn main() {
    let take: Vec<u8> = (0..TAKE_BYTES)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect();
    eprintln!("seal bench: {RUNS} commits of a {TAKE_BYTES}-byte take, plain then sealed");
    let (plain_ms, plain_cpu_ms) = measure(false, &take);
    let (sealed_ms, sealed_cpu_ms) = measure(true, &take);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let json = serde_json::json!({
        "take_bytes": TAKE_BYTES,
        "plain_commit_ms": round(plain_ms),
        "sealed_commit_ms": round(sealed_ms),
        "plain_commit_cpu_ms": round(plain_cpu_ms),
        "sealed_commit_cpu_ms": round(sealed_cpu_ms),
        "runs": RUNS,
    });
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
    if let Some(path) = std::env::var_os("SENIM_BENCH_JSON") {
        std::fs::write(path, json.to_string()).unwrap();
    }
}
