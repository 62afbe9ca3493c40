//! The stores bench: heartbeats/s and records/s of the same fleet on the embedded SQLite file
//! and on PostgreSQL, with one server and with two servers sharing one PostgreSQL (the live bus
//! on LISTEN/NOTIFY as in production). PostgreSQL is Debian's server started on loopback in a
//! temporary folder (`tests/common/postgres.rs`, with `fsync` off: compare the PostgreSQL rows
//! with each other, and read the SQLite row as the durable one). Closed-loop clients, as the
//! main bench's saturation and records phases, split evenly over the servers.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use senim_callcentre::config::Config;
use senim_callcentre::db::{self, Db, DbError};
use senim_callcentre::secrets;
use senim_callcentre::state::AppState;

use super::{closed_loop, enrol_all, r1, r2, BoxError, Fleet, RECORD_KIOSKS};

#[path = "../../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

/// Kiosks enrolled per configuration (heartbeats rotate over them).
const KIOSKS: usize = 400;
/// Closed-loop heartbeat clients (all servers together).
const CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(8);

/// One running server of a configuration.
struct Running {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    db: Arc<Db>,
    _dir: tempfile::TempDir,
}

fn start(rt: &tokio::runtime::Runtime, url: Option<&str>) -> Result<Running, BoxError> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    config.database.url = url.map(str::to_string);
    let schedule = config.schedule()?;
    let db = Arc::new(match url {
        Some(url) => Db::open_postgres(dir.path(), url)?,
        None => Db::open(dir.path())?,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = {
        let _guard = rt.enter();
        AppState::new(Arc::clone(&db), config, schedule, dir.path().to_path_buf())
    };
    let task = rt.spawn(senim_callcentre::server::serve(
        listener,
        state,
        None,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok(Running {
        base,
        stop,
        task,
        db,
        _dir: dir,
    })
}

/// Heartbeats/s and records/s of one configuration.
fn measure(
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    store: &str,
    urls: &[Option<String>],
) -> Result<serde_json::Value, BoxError> {
    let servers: Vec<Running> = urls
        .iter()
        .map(|u| start(server_rt, u.as_deref()))
        .collect::<Result<_, _>>()?;
    let now = Utc::now();
    let codes: Vec<String> = (0..KIOSKS).map(|_| secrets::enrol_code()).collect();
    servers[0].db.write(|tx| {
        for code in &codes {
            db::insert_enrol_code(
                tx,
                &secrets::sha256_hex(code.as_bytes()),
                "bench-site",
                senim_protocol::SiteMode::Hospital,
                now,
                now + chrono::Duration::hours(1),
            )?;
        }
        Ok::<_, DbError>(())
    })?;
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let fleets: Arc<Vec<Arc<Fleet>>> = Arc::new(
        servers
            .iter()
            .map(|s| {
                Arc::new(Fleet {
                    client: client.clone(),
                    base: s.base.clone(),
                })
            })
            .collect(),
    );
    eprintln!(
        "load: stores: {store} on {} server(s): {KIOSKS} kiosks, {CLIENTS} heartbeat clients, \
         {RECORD_KIOSKS} record kiosks, {} s each",
        servers.len(),
        PHASE.as_secs()
    );
    let result = client_rt.block_on(async {
        // Enrolled through the first server; every server knows them (the store is shared).
        let (auths, enrol, _, _) = enrol_all(Arc::clone(&fleets[0]), Arc::new(codes)).await;
        enrol.report_errors("stores: enrolment");
        let auths: Arc<Vec<String>> = Arc::new(auths.into_iter().flatten().collect());
        if auths.len() < RECORD_KIOSKS {
            return Err::<_, BoxError>(format!("only {} kiosks enrolled", auths.len()).into());
        }
        let (mut beats, beat_time) = {
            let (fleets, auths) = (Arc::clone(&fleets), Arc::clone(&auths));
            closed_loop(CLIENTS, PHASE, move |w, n| {
                let (fleets, auths) = (Arc::clone(&fleets), Arc::clone(&auths));
                async move {
                    let kiosk = (w + CLIENTS * n as usize) % auths.len();
                    fleets[w % fleets.len()].heartbeat(&auths[kiosk]).await
                }
            })
            .await
        };
        beats.report_errors("stores: heartbeats");
        let (mut records, records_time) = {
            let (fleets, auths) = (Arc::clone(&fleets), Arc::clone(&auths));
            closed_loop(RECORD_KIOSKS, PHASE, move |w, n| {
                let (fleets, auths) = (Arc::clone(&fleets), Arc::clone(&auths));
                async move { fleets[w % fleets.len()].records(&auths[w], w, n).await }
            })
            .await
        };
        records.report_errors("stores: records");
        Ok(serde_json::json!({
            "store": store,
            "servers": servers.len(),
            "heartbeats_per_s": r1(beats.units as f64 / beat_time.as_secs_f64()),
            "heartbeat_p99_ms": r2(beats.percentile_ms(99.0)),
            "heartbeat_errors": beats.errors,
            "records_per_s": r1(records.units as f64 / records_time.as_secs_f64()),
            "records_p99_ms": r2(records.percentile_ms(99.0)),
            "record_errors": records.errors,
        }))
    });
    for s in servers {
        let _ = s.stop.send(());
        server_rt.block_on(s.task)??;
    }
    result
}

/// SQLite with one server, PostgreSQL with one and with two.
pub fn run(
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> Result<serde_json::Value, BoxError> {
    let mut rows = vec![measure(server_rt, client_rt, "sqlite", &[None])?];
    let pg = postgres::TestPostgres::start();
    let one = pg.migrated_url();
    rows.push(measure(server_rt, client_rt, "postgres", &[Some(one)])?);
    let shared = pg.migrated_url();
    rows.push(measure(
        server_rt,
        client_rt,
        "postgres",
        &[Some(shared.clone()), Some(shared)],
    )?);
    Ok(serde_json::Value::Array(rows))
}

pub fn print_table(results: &serde_json::Value) {
    let Some(rows) = results["stores"].as_array() else {
        return;
    };
    println!();
    println!(
        "| {:<28} | {:>14} | {:>12} | {:>14} |",
        "store, servers", "heartbeats/s", "p99", "records/s"
    );
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(30),
        "-".repeat(16),
        "-".repeat(14),
        "-".repeat(16)
    );
    for r in rows {
        println!(
            "| {:<28} | {:>14.0} | {:>9.2} ms | {:>14.0} |",
            format!(
                "{}, {}",
                r["store"].as_str().unwrap_or("?"),
                r["servers"].as_u64().unwrap_or(0)
            ),
            r["heartbeats_per_s"].as_f64().unwrap_or(f64::NAN),
            r["heartbeat_p99_ms"].as_f64().unwrap_or(f64::NAN),
            r["records_per_s"].as_f64().unwrap_or(f64::NAN),
        );
    }
}
