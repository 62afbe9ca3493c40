//! Benchmark of the kiosk's sync worker against the real call-centre on loopback: outbox
//! records delivered per second, video upload throughput (tus, in chunks, each fsynced by the
//! server) as a ratio of one plain HTTP PUT of the same file to a server that also writes and
//! fsyncs it, and the bytes sent again after a connection is cut half-way through an upload.
//!
//! `cargo bench -p senim-kiosk --bench sync`; prints a table and writes JSON to
//! `$SENIM_BENCH_JSON` when set (scripts/bench.py turns it into rows). Medians of RUNS runs;
//! nothing asserts.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::time::Instant;

use senim_kiosk::store::Store;
use senim_kiosk::sync;
use senim_protocol::{GuideEventKind, GuideEventRecord};
use support::proxy::{Faulty, Proxy};
use support::*;

const RUNS: usize = 5;
const RECORDS: usize = 5_000;
const VIDEO_BYTES: usize = 48 << 20;
/// The kiosk's default chunk (`[sync] chunk_kib = 1024`).
const CHUNK: usize = 1 << 20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Records per second: RECORDS guide events committed, then delivered in batches of 100.
fn records_per_second(backend: &Backend) -> f64 {
    let data = enrolled_kiosk(backend);
    {
        let mut store = Store::open(data.path()).unwrap();
        for i in 0..RECORDS {
            store
                .record_guide_event(&GuideEventRecord {
                    session_id: format!("s-{}", i / 6),
                    service_id: "no-criminal-record".into(),
                    event: GuideEventKind::StepReached,
                    step: Some(1 + (i % 6) as u32),
                    rating: None,
                    at: chrono::Utc::now(),
                })
                .unwrap();
        }
    }
    let mut config = sync_config(data.path(), &backend.url);
    config.batch_size = 100;
    let t = Instant::now();
    sync::run_until_idle(config, |_| {}).unwrap();
    RECORDS as f64 / t.elapsed().as_secs_f64()
}

/// Seconds to upload one appeal's video through `url` (the record first, then tus), and the
/// video bytes the worker sent.
fn upload(backend: &Backend, url: &str) -> (f64, u64) {
    let data = enrolled_kiosk(backend);
    {
        let mut store = Store::open(data.path()).unwrap();
        commit_appeal(&mut store, 42, VIDEO_BYTES);
    }
    let mut config = sync_config(data.path(), url);
    config.chunk_bytes = CHUNK;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let s = std::sync::Arc::clone(&sent);
    let t = Instant::now();
    sync::run_until_idle(config, move |st| {
        s.store(st.uploaded_bytes, Ordering::SeqCst)
    })
    .unwrap();
    (t.elapsed().as_secs_f64(), sent.load(Ordering::SeqCst))
}

/// A plain HTTP server that takes one PUT, writes the body to a file and fsyncs it.
fn plain_put_server(runtime: &tokio::runtime::Runtime) -> (String, tempfile::TempDir) {
    use axum::routing::put;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin");
    let app = axum::Router::new()
        .route(
            "/put",
            put(move |body: axum::body::Bytes| {
                let path = path.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        use std::io::Write;
                        let mut f = std::fs::File::create(&path).unwrap();
                        f.write_all(&body).unwrap();
                        f.sync_all().unwrap();
                    })
                    .await
                    .unwrap();
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/put", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, dir)
}

fn plain_put(url: &str, bytes: &[u8]) -> f64 {
    let client = reqwest::blocking::Client::new();
    let t = Instant::now();
    let r = client.put(url).body(bytes.to_vec()).send().unwrap();
    assert!(r.status().is_success());
    t.elapsed().as_secs_f64()
}

fn main() {
    let backend = Backend::start();

    eprintln!("sync bench: {RUNS} runs of {RECORDS} records");
    let rps = median((0..RUNS).map(|_| records_per_second(&backend)).collect());

    eprintln!(
        "sync bench: {RUNS} runs of a {} MiB upload, tus vs one plain PUT",
        VIDEO_BYTES >> 20
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (put_url, _put_dir) = plain_put_server(&runtime);
    let bytes = video_bytes(42, VIDEO_BYTES);
    let mut tus = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..RUNS {
        tus.push(upload(&backend, &backend.url).0);
        plain.push(plain_put(&put_url, &bytes));
    }
    let (tus_s, plain_s) = (median(tus), median(plain));
    let mb = VIDEO_BYTES as f64 / 1e6;

    eprintln!("sync bench: a connection cut at 50% of the upload");
    let mut resent = Vec::new();
    for _ in 0..RUNS {
        // The cut comes when half the video (plus the small record batch) has gone upstream.
        let proxy = Proxy::start(
            backend.addr,
            Faulty::CutOnceAt {
                bytes: VIDEO_BYTES as u64 / 2,
            },
        );
        let (_, sent) = upload(&backend, &format!("http://{}", proxy.addr));
        assert_eq!(
            proxy.faults.cuts.load(Ordering::SeqCst),
            1,
            "the proxy cut once"
        );
        resent.push(sent.saturating_sub(VIDEO_BYTES as u64) as f64);
    }
    let resent = median(resent);

    let json = serde_json::json!({
        "records_per_s": rps.round(),
        "upload_mb_per_s": (mb / tus_s * 10.0).round() / 10.0,
        "plain_put_mb_per_s": (mb / plain_s * 10.0).round() / 10.0,
        "upload_ratio": ((plain_s / tus_s) * 100.0).round() / 100.0,
        "video_bytes": VIDEO_BYTES,
        "chunk_bytes": CHUNK,
        "resent_after_cut_bytes": resent,
        "runs": RUNS,
    });
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
    if let Some(path) = std::env::var_os("SENIM_BENCH_JSON") {
        std::fs::write(path, json.to_string()).unwrap();
    }
}
