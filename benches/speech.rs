//! Benchmark of what spoken guidance costs the kiosk: at start-up (the player is made, nothing
//! loaded: goal none), and when the first prompt plays (the `playbin` and its decoder are made
//! then), in time and resident memory; and a later prompt's start.
//!
//! `cargo bench -p senim-kiosk --bench speech`; prints a table and writes JSON to
//! `$SENIM_BENCH_JSON` when set (scripts/bench.py turns it into rows). Plays to a silent sink
//! that keeps time (`audio_output = "none"`). Medians of RUNS runs; nothing asserts.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use senim_kiosk::devices::camera::AudioOutput;
use senim_kiosk::flow::Lang;
use senim_kiosk::speech::{self, Player};

const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Resident memory of this process, KiB.
fn rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Starts `file` and waits until the player reports it over; returns how long it took from
/// `play` to the pipeline playing.
fn play(player: &mut Player, file: &Path) -> f64 {
    let (tx, rx) = mpsc::channel();
    let t = Instant::now();
    let id = player
        .play(vec![file.to_path_buf()], move |id| {
            let _ = tx.send(id);
        })
        .expect("play a prompt");
    assert!(
        player.wait_playing(Duration::from_secs(10)),
        "the prompt plays"
    );
    let started = t.elapsed().as_secs_f64() * 1000.0;
    let ended = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the prompt ends");
    player.finished(ended);
    assert_eq!(ended, id);
    started
}

fn main() {
    // The kiosk has GStreamer up at start for its camera; the prompts' share starts after.
    gstreamer::init().expect("GStreamer");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prompts");
    let file = speech::prompt_path(&dir, "identified", Lang::Kk);

    let before = rss_kib();
    let t = Instant::now();
    let mut player = Player::new(AudioOutput::None, 60);
    let startup_us = t.elapsed().as_secs_f64() * 1e6;
    let startup_rss_kib = rss_kib() - before;
    assert!(!player.loaded());

    let before = rss_kib();
    let first_play_ms = play(&mut player, &file);
    let first_rss_kib = rss_kib() - before;

    let next: Vec<f64> = (0..RUNS).map(|_| play(&mut player, &file)).collect();
    let next_play_ms = median(next);
    let after_rss_kib = rss_kib() - before;

    let rows = [
        (
            "start-up: player made".to_string(),
            format!("{startup_us:.1} µs"),
        ),
        (
            "start-up: memory".to_string(),
            format!("{startup_rss_kib:.0} KiB"),
        ),
        (
            "first prompt: listen -> playing".to_string(),
            format!("{first_play_ms:.1} ms"),
        ),
        (
            "first prompt: memory".to_string(),
            format!("{first_rss_kib:.0} KiB"),
        ),
        (
            format!("later prompt: listen -> playing ({RUNS})"),
            format!("{next_play_ms:.1} ms"),
        ),
        (
            format!("after {} prompts: memory", RUNS + 1),
            format!("{after_rss_kib:.0} KiB"),
        ),
    ];
    println!("| {:<38} | {:>16} |", "speech prompts (medians)", "value");
    println!("|{}|{}|", "-".repeat(40), "-".repeat(18));
    for (name, value) in rows {
        println!("| {name:<38} | {value:>16} |");
    }
    if let Ok(path) = std::env::var("SENIM_BENCH_JSON") {
        let json = serde_json::json!({
            "runs": RUNS,
            "startup_us": startup_us,
            "startup_rss_kib": startup_rss_kib,
            "first_play_ms": first_play_ms,
            "first_play_rss_kib": first_rss_kib,
            "next_play_ms": next_play_ms,
            "after_rss_kib": after_rss_kib,
        });
        std::fs::write(path, json.to_string()).expect("write the bench JSON");
    }
}
