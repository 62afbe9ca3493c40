//! The queue bench: 100,000 appeals over 1,000 kiosks at 100 sites (eight years of a busy
//! programme: 5% open, 10% answered, the rest closed; 3% bribe reports), then the console's
//! queue pages through the real router (tower's `oneshot`, a signed-in operator's cookie):
//! page 1 of the open queue, a deep page of "all" (row 50,001, by its keyset link), the last
//! page of "closed", a search by number, filtered views (site + topic; a month's dates), and
//! the rows a live update fetches. Medians of [`RUNS`] requests, HTML rendered and read.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use chrono::{TimeZone, Utc};
use senim_callcentre::config::Config;
use senim_callcentre::db::{self, Db, DbError};
use senim_callcentre::secrets;
use senim_callcentre::state::AppState;
use tower::ServiceExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const APPEALS: u32 = 100_000;
const SITES: u32 = 100;
const KIOSKS: u32 = 1_000;
const RUNS: usize = 30;

/// A valid appeal number for `n`.
fn number(n: u32) -> String {
    const A: &[u8] = senim_protocol::APPEAL_ID_ALPHABET;
    let mut s = String::from("A-");
    let mut x = n as usize + 5_000_000;
    for _ in 0..8 {
        s.push(A[x % A.len()] as char);
        x /= A.len();
    }
    s
}

fn fill(db: &Db) -> Result<(), DbError> {
    let start = Utc
        .with_ymd_and_hms(2019, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let step = chrono::Duration::minutes(42); // 100,000 of them: about eight years
    let topics = ["complaint", "request", "gratitude", "other"];
    db.write(|tx| {
        let mut kiosk = tx.prepare(
            "INSERT INTO kiosks (id, site, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for k in 0..KIOSKS {
            kiosk.execute(senim_callcentre::db::sql::params![
                format!("K-B{k:05}"),
                format!("bench-site-{:02}", k % SITES),
                format!("t{k}"),
                db::ts(start)
            ])?;
        }
        let mut op = tx.prepare(
            "INSERT INTO operators (username, display_name, password_hash, created_at) \
             VALUES (?1, ?2, 'x', ?3)",
        )?;
        for o in 0..20 {
            op.execute(senim_callcentre::db::sql::params![
                format!("op{o}"),
                format!("Operator {o}"),
                db::ts(start)
            ])?;
        }
        let mut appeal = tx.prepare(
            "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
             interrupted, test, status, due_at, assigned_to, anticorruption, closed_at) \
             VALUES (?1, ?2, ?3, ?4, ?4, 'kk', 0, 0, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for n in 0..APPEALS {
            let created = start + step * n as i32;
            // The newest 5% are still open; of the rest, one in ten is answered.
            let status = if n >= APPEALS - APPEALS / 20 {
                ["new", "assigned", "in_progress"][n as usize % 3]
            } else if n % 10 == 0 {
                "answered"
            } else {
                "closed"
            };
            let bribe = n % 33 == 0;
            appeal.execute(senim_callcentre::db::sql::params![
                number(n),
                format!("K-B{:05}", (n * 7919) % KIOSKS),
                if bribe {
                    "bribe_report"
                } else {
                    topics[n as usize % 4]
                },
                db::ts(created),
                status,
                db::ts(created + chrono::Duration::days(15)),
                (status != "new").then(|| format!("op{}", n % 20)),
                bribe,
                (status == "closed").then(|| db::ts(created + chrono::Duration::days(9))),
            ])?;
        }
        Ok(())
    })
}

/// Median of `RUNS` requests to `path`, in ms, checking each answered 200.
async fn median(router: &axum::Router, cookie: &str, path: &str) -> Result<f64, BoxError> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let request = Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())?;
        let t = Instant::now();
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        times.push(t.elapsed());
        if !status.is_success() {
            return Err(format!("{path}: {status}: {}", String::from_utf8_lossy(&body)).into());
        }
    }
    times.sort_unstable();
    Ok(times[RUNS / 2].as_secs_f64() * 1000.0)
}

/// Fills a store, then times the queue pages; the figures as JSON.
pub fn run(rt: &tokio::runtime::Runtime) -> Result<serde_json::Value, BoxError> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    let schedule = config.schedule()?;
    let db = Arc::new(Db::open(dir.path())?);
    eprintln!("load: queue: filling a store with {APPEALS} appeals");
    let t = Instant::now();
    fill(&db)?;
    let fill_secs = t.elapsed().as_secs_f64();
    let token = secrets::token();
    let now = Utc::now();
    db.write(|tx| {
        db::insert_operator(tx, "bench", "Bench Operator", "x", now)?;
        db::insert_session(
            tx,
            &secrets::sha256_hex(token.as_bytes()),
            "bench",
            "csrf",
            now,
            now + chrono::Duration::hours(1),
        )
    })?;
    // Row 50,001 of "all", newest first, as its page's keyset link names it.
    let deep: String = db.read(|c| {
        c.query_row(
            "SELECT due_at || '~' || created_at || '~' || id FROM appeals \
             WHERE anticorruption = 0 ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 50000",
            [],
            |r| r.get(0),
        )
    })?;
    let deep = deep.replace(':', "%3A").replace('~', "%7E");
    let state = AppState::new(db, config, schedule, dir.path().to_path_buf());
    let router = senim_callcentre::console::router(false).with_state(state);
    let cookie = format!("senim_session={token}");
    let searched = number(12_345);
    let live = [number(99_990), number(99_991), number(50_000)].join(",");
    let cases: Vec<(&str, String)> = vec![
        ("open_page_1", "/console".into()),
        ("all_page_1", "/console?view=all".into()),
        (
            "all_deep_page",
            format!("/console?view=all&after={deep}&at=50001"),
        ),
        ("closed_last_page", "/console?view=closed&last=1".into()),
        ("search_by_number", format!("/console?q={searched}")),
        (
            "closed_site_topic",
            "/console?view=closed&site=bench-site-07&topic=request".into(),
        ),
        (
            "all_one_month",
            "/console?view=all&from=2022-03-01&to=2022-03-31".into(),
        ),
        (
            "live_rows",
            format!("/console/queue/rows?view=all&ids={live}"),
        ),
    ];
    let mut out = serde_json::Map::new();
    out.insert("appeals".into(), APPEALS.into());
    out.insert(
        "fill_secs".into(),
        serde_json::json!((fill_secs * 10.0).round() / 10.0),
    );
    out.insert("runs".into(), RUNS.into());
    rt.block_on(async {
        // A warm-up each (prepared statements, page cache), then the medians.
        for (_, path) in &cases {
            median(&router, &cookie, path).await?;
        }
        for (name, path) in &cases {
            let ms = median(&router, &cookie, path).await?;
            eprintln!("load: queue: {name}: {ms:.2} ms");
            out.insert(
                (*name).into(),
                serde_json::json!((ms * 100.0).round() / 100.0),
            );
        }
        Ok::<_, BoxError>(())
    })?;
    Ok(serde_json::Value::Object(out))
}

/// The queue's rows: median ms per page, through the router.
pub fn print_table(r: &serde_json::Value) {
    let q = &r["queue"];
    println!();
    println!(
        "| {:<38} | {:>18} | {:>15} |",
        format!("queue, {} appeals (median)", APPEALS),
        "measured",
        "target"
    );
    println!("|{}|{}|{}|", "-".repeat(40), "-".repeat(20), "-".repeat(17));
    for (key, name) in [
        ("open_page_1", "open queue, page 1"),
        ("all_page_1", "all, page 1"),
        ("all_deep_page", "all, row 50,001 (keyset)"),
        ("closed_last_page", "closed, last page"),
        ("search_by_number", "search by number"),
        ("closed_site_topic", "closed, one site and topic"),
        ("all_one_month", "all, one month's dates"),
        ("live_rows", "live update: 3 rows"),
    ] {
        let ms = q[key].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {name:<38} | {:>18} | {:>15} |",
            format!("{ms:.2} ms"),
            "< 200 ms"
        );
    }
}
