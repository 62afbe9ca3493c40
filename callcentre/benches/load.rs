//! Load benchmark of the call-centre backend: 10,000 simulated kiosks enrol, send heartbeats on
//! their 30 s schedule and at saturation, and send record batches; prints a table of rates and
//! p50/p99 latencies and writes the same figures as JSON to `$SENIM_BENCH_JSON` if it is set.
//!
//! Then the queue: 100,000 appeals paged, searched and filtered by the console (`load/queue.rs`),
//! and the stores: heartbeats/s and records/s on SQLite and PostgreSQL, one and two servers
//! (`load/stores.rs`).
//!
//! Run with `cargo bench -p senim-callcentre --bench load` (`-- queue` or `-- stores` for one
//! part alone).
//! Over 600 lines: the fleet, its phases and the table are one harness.
//! The real server runs in-process on `127.0.0.1:0` with a fresh data folder (on disk, so
//! every commit pays its fsync), on its own tokio runtime; the simulated kiosks run on a
//! second runtime in the same process, so client and server share the machine's cores.
//! Figures are medians and percentiles; nothing asserts.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use senim_callcentre::config::Config;
use senim_callcentre::db::{self, Db, DbError};
use senim_callcentre::secrets;
use senim_callcentre::state::AppState;
use senim_protocol::{
    DeviceFaultRecord, DeviceHealth, DeviceStatus, EnrolRequest, EnrolResponse, GuideEventKind,
    GuideEventRecord, Heartbeat, KioskState, Record, RecordBatch, RecordBatchResponse, RecordBody,
    RecordOutcome, Versions,
};
use tokio::time::Instant;

#[path = "load/queue.rs"]
mod queue;
#[path = "load/stores.rs"]
mod stores;

/// Simulated kiosks enrolled, each beating once per [`HEARTBEAT_PERIOD`].
const KIOSKS: usize = 10_000;
/// A kiosk's heartbeat interval; with [`KIOSKS`] kiosks the offered load is ~333/s.
const HEARTBEAT_PERIOD: Duration = Duration::from_secs(30);
/// Enrolments in flight at once (a fleet being rolled out, not a stampede).
const ENROL_CONCURRENCY: usize = 16;
/// Closed-loop clients of the heartbeat saturation run.
const SATURATION_CLIENTS: usize = 64;
const SATURATION_TIME: Duration = Duration::from_secs(10);
/// Kiosks sending record batches at once, each waiting for its answer before the next.
const RECORD_KIOSKS: usize = 8;
const BATCH_RECORDS: usize = 100;
const RECORDS_TIME: Duration = Duration::from_secs(10);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Outcomes of one phase: latencies of the successful requests, units of work done (heartbeats
/// or records stored), and failures.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    units: usize,
    errors: usize,
    first_error: Option<String>,
}

impl Samples {
    fn add(&mut self, result: Result<usize, String>, latency: Duration) {
        match result {
            Ok(units) => {
                self.units += units;
                self.latencies.push(latency);
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.units += other.units;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// The `p`-th percentile (nearest rank) in milliseconds; NaN with no samples.
    fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies.sort_unstable();
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    fn report_errors(&self, phase: &str) {
        if self.errors > 0 {
            eprintln!(
                "load: {phase}: {} request(s) failed; first: {}",
                self.errors,
                self.first_error.as_deref().unwrap_or("?")
            );
        }
    }
}

/// The simulated fleet's view of the server.
struct Fleet {
    /// One client with a connection pool for all simulated kiosks. This flatters the server a
    /// little: 10,000 real kiosks would each hold their own connection (and TLS session), so
    /// the server would carry 10,000 sockets, not the few dozen pooled here.
    client: reqwest::Client,
    base: String,
}

impl Fleet {
    async fn enrol(&self, code: &str) -> Result<EnrolResponse, String> {
        let response = self
            .client
            .post(format!("{}/api/v1/enrol", self.base))
            .json(&EnrolRequest {
                code: code.into(),
                previous_token: None,
            })
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "{status}: {}",
                response.text().await.unwrap_or_default()
            ));
        }
        response.json().await.map_err(|e| e.to_string())
    }

    /// One heartbeat as a kiosk on its attract screen sends it; `Ok(1)` when answered 200.
    async fn heartbeat(&self, auth: &str) -> Result<usize, String> {
        let beat = Heartbeat {
            state: KioskState::Idle,
            queue_depth: 0,
            devices: ["scanner", "camera", "microphone", "printer", "disk"]
                .into_iter()
                .map(|device| DeviceHealth {
                    device: device.into(),
                    status: DeviceStatus::Ok,
                    detail: None,
                })
                .collect(),
            versions: Versions {
                app: "0.1.0".into(),
                catalog: Some("2026-11-20.1".into()),
                image: None,
            },
            sent_at: Utc::now(),
            catalog_problem: None,
            parked: 0,
            update: None,
        };
        let response = self
            .client
            .post(format!("{}/api/v1/heartbeat", self.base))
            .header(reqwest::header::AUTHORIZATION, auth)
            .json(&beat)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
        }
        Ok(1)
    }

    /// One batch of [`BATCH_RECORDS`] new records (device faults and guide events, alternating)
    /// with keys `bench-<kiosk>-<n>`; `Ok(records stored)`.
    async fn records(&self, auth: &str, kiosk: usize, batch: u64) -> Result<usize, String> {
        let now = Utc::now();
        let records = (0..BATCH_RECORDS as u64)
            .map(|i| {
                let n = batch * BATCH_RECORDS as u64 + i;
                let record = if n.is_multiple_of(2) {
                    RecordBody::DeviceFault(DeviceFaultRecord {
                        device: "printer".into(),
                        status: DeviceStatus::Warn,
                        detail: "paper low".into(),
                        at: now,
                    })
                } else {
                    RecordBody::GuideEvent(GuideEventRecord {
                        session_id: format!("s-{kiosk}-{}", n / 10),
                        service_id: "passport-renewal".into(),
                        event: GuideEventKind::StepReached,
                        step: Some((n % 7 + 1) as u32),
                        rating: None,
                        at: now,
                    })
                };
                Record {
                    key: format!("bench-{kiosk}-{n:010}"),
                    record,
                }
            })
            .collect();
        let response = self
            .client
            .post(format!("{}/api/v1/records", self.base))
            .header(reqwest::header::AUTHORIZATION, auth)
            .json(&RecordBatch { records })
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "{status}: {}",
                response.text().await.unwrap_or_default()
            ));
        }
        let answer: RecordBatchResponse = response.json().await.map_err(|e| e.to_string())?;
        Ok(answer
            .results
            .iter()
            .filter(|r| r.outcome == RecordOutcome::Stored)
            .count())
    }
}

/// `workers` closed-loop clients calling `f(worker, n)` (n counts each worker's calls) until
/// `time` has passed; the samples and the time until the last answer arrived.
async fn closed_loop<F, Fut>(workers: usize, time: Duration, f: F) -> (Samples, Duration)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, String>> + Send + 'static,
{
    let f = Arc::new(f);
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let f = Arc::clone(&f);
            tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut n = 0;
                while start.elapsed() < time {
                    let t = Instant::now();
                    let result = f(w, n).await;
                    samples.add(result, t.elapsed());
                    n += 1;
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        all.merge(task.await.expect("a load worker panicked"));
    }
    (all, start.elapsed())
}

/// Redeems every code over HTTP, [`ENROL_CONCURRENCY`] at a time; the tokens in code order,
/// the samples, the elapsed time and how many enrolments had to be retried.
async fn enrol_all(
    fleet: Arc<Fleet>,
    codes: Arc<Vec<String>>,
) -> (Vec<Option<String>>, Samples, Duration, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..ENROL_CONCURRENCY)
        .map(|_| {
            let (fleet, codes, next, retries) = (
                Arc::clone(&fleet),
                Arc::clone(&codes),
                Arc::clone(&next),
                Arc::clone(&retries),
            );
            tokio::spawn(async move {
                let mut samples = Samples::default();
                let mut tokens = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(code) = codes.get(i) else { break };
                    let t = Instant::now();
                    // A failed redemption rolls back and leaves the code unused, so a kiosk
                    // retries it, as a real one would (e.g. on a rare kiosk-id clash).
                    let mut result = fleet.enrol(code).await;
                    for _ in 0..3 {
                        if result.is_ok() {
                            break;
                        }
                        retries.fetch_add(1, Ordering::Relaxed);
                        result = fleet.enrol(code).await;
                    }
                    let latency = t.elapsed();
                    match result {
                        Ok(r) => {
                            tokens.push((i, format!("Bearer {}", r.token)));
                            samples.add(Ok(1), latency);
                        }
                        Err(e) => samples.add(Err(e), latency),
                    }
                }
                (tokens, samples)
            })
        })
        .collect();
    let mut auths = vec![None; codes.len()];
    let mut all = Samples::default();
    for task in tasks {
        let (tokens, samples) = task.await.expect("an enrolment worker panicked");
        for (i, auth) in tokens {
            auths[i] = Some(auth);
        }
        all.merge(samples);
    }
    let elapsed = start.elapsed();
    (auths, all, elapsed, retries.load(Ordering::Relaxed))
}

/// Open loop: kiosk `i` sends its heartbeat at `start + i × period / kiosks`, whether or not
/// earlier ones were answered. The samples, the time from the first scheduled send to the last
/// answer, and the p99 lag of the sends behind their schedule (the client's own delay, kept out
/// of the latencies but reported so a late schedule shows).
async fn heartbeat_schedule(
    fleet: Arc<Fleet>,
    auths: Arc<Vec<String>>,
) -> (Samples, Duration, f64) {
    let step = HEARTBEAT_PERIOD / auths.len() as u32;
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(auths.len());
    for i in 0..auths.len() {
        let due = start + step * i as u32;
        tokio::time::sleep_until(due).await;
        let (fleet, auths) = (Arc::clone(&fleet), Arc::clone(&auths));
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let result = fleet.heartbeat(&auths[i]).await;
            let done = Instant::now();
            (
                result,
                done - sent,
                sent.saturating_duration_since(due),
                done,
            )
        }));
    }
    let mut samples = Samples::default();
    let mut lags = Samples::default();
    let mut last = start;
    for task in tasks {
        let (result, latency, lag, done) = task.await.expect("a heartbeat task panicked");
        samples.add(result, latency);
        lags.latencies.push(lag);
        last = last.max(done);
    }
    (samples, last - start, lags.percentile_ms(99.0))
}

fn main() -> Result<(), BoxError> {
    // The server's runtime as `senim-callcentre serve` builds it (one worker per core).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("server")
        .build()?;
    if std::env::args().any(|a| a == "queue") {
        let results = serde_json::json!({ "queue": queue::run(&server_rt)? });
        queue::print_table(&results);
        return write_json(&results);
    }
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kiosks")
        .build()?;
    if std::env::args().any(|a| a == "stores") {
        let results = serde_json::json!({ "stores": stores::run(&server_rt, &client_rt)? });
        stores::print_table(&results);
        return write_json(&results);
    }

    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    let schedule = config.schedule()?;
    let db = Arc::new(Db::open(dir.path())?);
    let state = AppState::new(Arc::clone(&db), config, schedule, dir.path().to_path_buf());
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = server_rt.spawn(senim_callcentre::server::serve(
        listener,
        state,
        None,
        async move {
            let _ = stopped.await;
        },
    ));

    // 10,000 one-time codes in one transaction, spread over 100 sites.
    let now = Utc::now();
    let codes: Vec<String> = (0..KIOSKS).map(|_| secrets::enrol_code()).collect();
    db.write(|tx| {
        for (i, code) in codes.iter().enumerate() {
            let hash = secrets::sha256_hex(code.as_bytes());
            let site = format!("bench-site-{:02}", i % 100);
            db::insert_enrol_code(
                tx,
                &hash,
                &site,
                senim_protocol::SiteMode::Hospital,
                now,
                now + chrono::Duration::hours(2),
            )?;
        }
        Ok::<_, DbError>(())
    })?;

    let fleet = Arc::new(Fleet {
        client: reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?,
        base: format!("http://{addr}"),
    });
    let results = client_rt.block_on(run(fleet, codes))?;

    let _ = stop.send(());
    server_rt.block_on(server)??;
    drop(dir);

    let mut results = results;
    results["queue"] = queue::run(&server_rt)?;
    results["stores"] = stores::run(&server_rt, &client_rt)?;
    print_table(&results);
    queue::print_table(&results);
    stores::print_table(&results);
    write_json(&results)
}

/// Writes the figures to `$SENIM_BENCH_JSON` if it is set (bench.sh reads them).
fn write_json(results: &serde_json::Value) -> Result<(), BoxError> {
    if let Some(path) = std::env::var_os("SENIM_BENCH_JSON") {
        std::fs::write(&path, serde_json::to_string_pretty(results)? + "\n")?;
        eprintln!("load: results written to {}", path.to_string_lossy());
    }
    Ok(())
}

/// Rounds for the JSON (NaN, from an empty phase, becomes null).
fn r1(x: f64) -> serde_json::Value {
    serde_json::json!((x * 10.0).round() / 10.0)
}

fn r2(x: f64) -> serde_json::Value {
    serde_json::json!((x * 100.0).round() / 100.0)
}

async fn run(fleet: Arc<Fleet>, codes: Vec<String>) -> Result<serde_json::Value, BoxError> {
    eprintln!("load: enrolling {KIOSKS} kiosks over HTTP, {ENROL_CONCURRENCY} at a time");
    let (auths, mut enrol, enrol_time, enrol_retries) =
        enrol_all(Arc::clone(&fleet), Arc::new(codes)).await;
    enrol.report_errors("enrolment");
    let auths: Arc<Vec<String>> = Arc::new(auths.into_iter().flatten().collect());
    if auths.len() < RECORD_KIOSKS {
        return Err(format!("only {} kiosks enrolled", auths.len()).into());
    }

    let offered = auths.len() as f64 / HEARTBEAT_PERIOD.as_secs_f64();
    eprintln!(
        "load: heartbeat schedule: {} kiosks once each over {} s ({offered:.0}/s offered)",
        auths.len(),
        HEARTBEAT_PERIOD.as_secs()
    );
    let (mut beats, beat_time, lag_p99) =
        heartbeat_schedule(Arc::clone(&fleet), Arc::clone(&auths)).await;
    beats.report_errors("heartbeat schedule");

    eprintln!(
        "load: heartbeat saturation: {SATURATION_CLIENTS} closed-loop clients for {} s",
        SATURATION_TIME.as_secs()
    );
    let (mut max, max_time) = {
        let (fleet, auths) = (Arc::clone(&fleet), Arc::clone(&auths));
        closed_loop(SATURATION_CLIENTS, SATURATION_TIME, move |w, n| {
            let (fleet, auths) = (Arc::clone(&fleet), Arc::clone(&auths));
            async move {
                let kiosk = (w + SATURATION_CLIENTS * n as usize) % auths.len();
                fleet.heartbeat(&auths[kiosk]).await
            }
        })
        .await
    };
    max.report_errors("heartbeat saturation");

    eprintln!(
        "load: records: {RECORD_KIOSKS} kiosks, batches of {BATCH_RECORDS}, {} s",
        RECORDS_TIME.as_secs()
    );
    let (mut records, records_time) = {
        let (fleet, auths) = (Arc::clone(&fleet), Arc::clone(&auths));
        closed_loop(RECORD_KIOSKS, RECORDS_TIME, move |w, n| {
            let (fleet, auths) = (Arc::clone(&fleet), Arc::clone(&auths));
            async move { fleet.records(&auths[w], w, n).await }
        })
        .await
    };
    records.report_errors("records");

    Ok(serde_json::json!({
        "kiosks": auths.len(),
        "enrol": {
            "rate_per_s": r1(enrol.units as f64 / enrol_time.as_secs_f64()),
            "p50_ms": r2(enrol.percentile_ms(50.0)),
            "p99_ms": r2(enrol.percentile_ms(99.0)),
            "concurrency": ENROL_CONCURRENCY,
            "retries": enrol_retries,
            "errors": enrol.errors,
        },
        "heartbeat_schedule": {
            "offered_per_s": r1(offered),
            "rate_per_s": r1(beats.units as f64 / beat_time.as_secs_f64()),
            "p50_ms": r2(beats.percentile_ms(50.0)),
            "p99_ms": r2(beats.percentile_ms(99.0)),
            "sent": beats.units + beats.errors,
            "errors": beats.errors,
            "send_lag_p99_ms": r2(lag_p99),
        },
        "heartbeat_max": {
            "clients": SATURATION_CLIENTS,
            "rate_per_s": r1(max.units as f64 / max_time.as_secs_f64()),
            "p50_ms": r2(max.percentile_ms(50.0)),
            "p99_ms": r2(max.percentile_ms(99.0)),
            "errors": max.errors,
        },
        "records": {
            "kiosks": RECORD_KIOSKS,
            "batch": BATCH_RECORDS,
            "records_per_s": r1(records.units as f64 / records_time.as_secs_f64()),
            "batches": records.latencies.len(),
            "p50_ms": r2(records.percentile_ms(50.0)),
            "p99_ms": r2(records.percentile_ms(99.0)),
            "errors": records.errors,
        },
    }))
}

fn print_table(r: &serde_json::Value) {
    let f = |section: &str, key: &str| r[section][key].as_f64().unwrap_or(f64::NAN);
    let rows = [
        (
            format!("enrolment over HTTP ({ENROL_CONCURRENCY} at once)"),
            format!("{:.0} /s", f("enrol", "rate_per_s")),
            "-".to_string(),
        ),
        (
            format!("heartbeats, {KIOSKS} kiosks / 30 s"),
            format!("{:.1} /s", f("heartbeat_schedule", "rate_per_s")),
            format!("{:.0} /s", f("heartbeat_schedule", "offered_per_s")),
        ),
        (
            "  latency p50 / p99".to_string(),
            format!(
                "{:.2} / {:.2} ms",
                f("heartbeat_schedule", "p50_ms"),
                f("heartbeat_schedule", "p99_ms")
            ),
            "p99 < 50 ms".to_string(),
        ),
        (
            format!("heartbeats, max ({SATURATION_CLIENTS} clients)"),
            format!("{:.0} /s", f("heartbeat_max", "rate_per_s")),
            ">= 1000 /s".to_string(),
        ),
        (
            "  latency p50 / p99".to_string(),
            format!(
                "{:.2} / {:.2} ms",
                f("heartbeat_max", "p50_ms"),
                f("heartbeat_max", "p99_ms")
            ),
            "-".to_string(),
        ),
        (
            format!("records ingested ({RECORD_KIOSKS} x {BATCH_RECORDS}/batch)"),
            format!("{:.0} /s", f("records", "records_per_s")),
            ">= 3000 /s".to_string(),
        ),
        (
            "  batch latency p50 / p99".to_string(),
            format!(
                "{:.2} / {:.2} ms",
                f("records", "p50_ms"),
                f("records", "p99_ms")
            ),
            "-".to_string(),
        ),
    ];
    println!();
    println!(
        "| {:<38} | {:>18} | {:>15} |",
        "call-centre load", "measured", "target"
    );
    println!("|{}|{}|{}|", "-".repeat(40), "-".repeat(20), "-".repeat(17));
    for (name, value, target) in rows {
        println!("| {name:<38} | {value:>18} | {target:>15} |");
    }
}
