//! The kiosk's sync worker against the real call-centre backend on loopback: a backend that is
//! down for a while, and a network that drops, stalls and resets connections mid-batch and
//! mid-upload. Nothing may be lost, nothing may arrive twice, records arrive in commit order,
//! and an upload cut half-way resumes from the server's offset. Delivery never stalls: a
//! proxy's own 403/404 parks nothing, refusals for good and failing checksums park only their
//! item, and a re-enrolled kiosk delivers what it queued under its old token.
//!
//! Over 600 lines: each scenario needs the real backend, a kiosk store and the worker run to
//! idle, and they share the helpers here (delivery, the proxy that answers its own pages,
//! what the backend holds); split per concern they would each repeat them.

mod support;

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use senim_kiosk::store::Store;
use senim_kiosk::sync::{self, Status};
use senim_protocol::{DeviceFaultRecord, DeviceStatus, GuideEventKind, GuideEventRecord};
use support::proxy::{Faulty, Proxy};
use support::*;

/// A mix of what a kiosk commits: appeals (some with video), guide events, device faults.
/// Returns (appeal id, video length) per appeal.
fn commit_mix(data: &std::path::Path, n: u64, video_len: usize) -> Vec<(String, u64, usize)> {
    let mut store = Store::open(data).unwrap();
    let mut appeals = Vec::new();
    for i in 0..n {
        match i % 4 {
            0 => {
                let len = if i % 8 == 0 {
                    video_len + i as usize * 997
                } else {
                    0
                };
                appeals.push((commit_appeal(&mut store, i, len), i, len));
            }
            1 | 2 => store
                .record_guide_event(&GuideEventRecord {
                    session_id: format!("s-{}", i / 4),
                    service_id: "no-criminal-record".into(),
                    event: GuideEventKind::StepReached,
                    step: Some(1 + i as u32 % 5),
                    rating: None,
                    at: chrono::Utc::now(),
                })
                .unwrap(),
            _ => store
                .record_device_fault(&DeviceFaultRecord {
                    device: "printer".into(),
                    status: DeviceStatus::Fail,
                    detail: "paper out".into(),
                    at: chrono::Utc::now(),
                })
                .unwrap(),
        }
    }
    appeals
}

/// Runs the worker until everything is delivered, on its own thread, collecting its reports.
fn deliver(
    data: &std::path::Path,
    url: &str,
) -> (
    std::thread::JoinHandle<Result<(), sync::SyncError>>,
    mpsc::Receiver<Status>,
) {
    let (tx, rx) = mpsc::channel();
    let config = sync_config(data, url);
    let worker = std::thread::spawn(move || {
        sync::run_until_idle(config, move |s| {
            let _ = tx.send(s);
        })
    });
    (worker, rx)
}

fn join(worker: std::thread::JoinHandle<Result<(), sync::SyncError>>, within: Duration) {
    let deadline = Instant::now() + within;
    while !worker.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the worker did not deliver everything in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    worker.join().unwrap().unwrap();
}

/// Everything the kiosk committed is at the backend once, in commit order, videos identical,
/// and the kiosk holds nothing pending (its delivered videos deleted).
fn assert_delivered(backend: &Backend, data: &std::path::Path, appeals: &[(String, u64, usize)]) {
    let stored = backend.stored_keys();
    let committed = outbox_keys(data);
    assert_eq!(
        stored.len(),
        committed.len(),
        "each record stored exactly once"
    );
    assert_eq!(stored, committed, "stored in commit order");

    let held = backend.appeals();
    assert_eq!(held.len(), appeals.len());
    for (id, seed, len) in appeals {
        let row = held
            .iter()
            .find(|a| &a.id == id)
            .expect("appeal at the backend");
        if *len > 0 {
            let bytes = backend.video(row).expect("video uploaded");
            assert!(
                bytes == video_bytes(*seed, *len),
                "video of {id} is byte-identical"
            );
        } else {
            assert!(row.video_upload_id.is_none());
        }
    }
    let store = Store::open(data).unwrap();
    let queue = store.queue().unwrap();
    assert_eq!(queue.pending(), 0, "{queue:?}");
    assert_eq!(queue.pending_video_bytes, 0);
    let left: Vec<_> = std::fs::read_dir(data.join("videos"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .collect();
    assert!(
        left.is_empty(),
        "delivered videos are deleted from the kiosk"
    );
}

#[test]
fn a_backend_down_for_a_while_then_up_gets_everything_in_order_once() {
    // The backend's address is fixed, so it can come back where the kiosk expects it.
    let addr = free_addr();
    let backend = Backend::start_at(addr, None);
    let data = enrolled_kiosk(&backend);
    let backend_data = backend.stop();

    let appeals = commit_mix(data.path(), 40, 150_000);
    let (worker, reports) = deliver(data.path(), &format!("http://{addr}"));

    // The kiosk tries, fails, and says it is offline (more than once: it keeps trying).
    let mut offline = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while offline < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        let status = reports.recv_timeout(left).expect("offline reports");
        if !status.online {
            offline += 1;
            assert!(status
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("cannot reach"));
            assert!(status.pending >= 40, "nothing is dropped while offline");
        }
    }
    let backend = Backend::start_at(addr, Some(backend_data));
    join(worker, Duration::from_secs(60));
    assert_delivered(&backend, data.path(), &appeals);

    // Running again sends nothing twice.
    let before = backend.stored_keys();
    let (worker, _) = deliver(data.path(), &backend.url);
    join(worker, Duration::from_secs(30));
    assert_eq!(backend.stored_keys(), before);
}

#[test]
fn cuts_stalls_and_resets_lose_nothing_duplicate_nothing_and_uploads_resume() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let proxy = Proxy::start(backend.addr, Faulty::Random { seed: 0x5e41 });
    // Six appeals with ~1.2 MB videos (about 19 chunks of 64 KiB each), and records around them.
    let appeals = commit_mix(data.path(), 48, 1_200_000);
    let video_total: u64 = appeals.iter().map(|a| a.2 as u64).sum();

    let (worker, reports) = deliver(data.path(), &format!("http://{}", proxy.addr));
    join(worker, Duration::from_secs(180));
    proxy.enabled.store(false, Ordering::SeqCst);
    let last = reports.try_iter().last().expect("a final report");

    let cuts = proxy.faults.cuts.load(Ordering::SeqCst);
    eprintln!(
        "proxy: {} connections, {cuts} cuts ({} resets), {} stalls; {} video bytes sent for {video_total}",
        proxy.faults.connections.load(Ordering::SeqCst),
        proxy.faults.resets.load(Ordering::SeqCst),
        proxy.faults.stalls.load(Ordering::SeqCst),
        last.uploaded_bytes
    );
    assert!(cuts >= 5, "the proxy did cut connections ({cuts})");
    assert!(proxy.faults.resets.load(Ordering::SeqCst) >= 1);
    assert!(proxy.faults.stalls.load(Ordering::SeqCst) >= 1);
    assert_delivered(&backend, data.path(), &appeals);

    // Every cut costs at most the chunk in flight: uploads resume from the server's offset.
    let chunk = sync_config(data.path(), "").chunk_bytes as u64;
    let resent = last.uploaded_bytes.saturating_sub(video_total);
    assert!(
        resent <= cuts * chunk,
        "re-sent {resent} bytes for {cuts} cuts (at most one {chunk}-byte chunk each)"
    );
}

#[test]
fn a_published_catalogue_reaches_the_kiosk_and_a_broken_one_is_refused_and_reported() {
    use senim_kiosk::sync::catalog;
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services");
    let good = senim_callcentre::catalog::publish(&backend.state.db, &shipped, chrono::Utc::now())
        .unwrap();
    backend.state.refresh_catalog_version().unwrap();
    let v1 = good.version().to_string();

    let (worker, _) = deliver(data.path(), &backend.url);
    join(worker, Duration::from_secs(30));
    let store = Store::open(data.path()).unwrap();
    assert_eq!(
        store.catalog_version().unwrap().as_deref(),
        Some(v1.as_str())
    );
    let installed = catalog::load(data.path(), &v1).unwrap();
    assert_eq!(
        installed,
        senim_kiosk::catalog::Catalog::load_dir(&shipped).unwrap()
    );

    // A version the kiosk's validator refuses (published by a call-centre whose validator
    // differs, say): refused, the last good one kept, the reason sent with the heartbeat.
    let mut files = senim_protocol::catalog::read_dir(&shipped).unwrap();
    files.insert("zz-broken.toml".into(), "id = \"Not A Valid Id\"\n".into());
    let later = chrono::Utc::now() + chrono::Duration::seconds(2);
    senim_callcentre::catalog::store(&backend.state.db, &files, 1, later).unwrap();
    backend.state.refresh_catalog_version().unwrap();
    let v2 = backend.state.catalog_version().unwrap();
    assert_ne!(v1, v2);
    for _ in 0..2 {
        let (worker, _) = deliver(data.path(), &backend.url);
        join(worker, Duration::from_secs(30));
    }
    assert_eq!(
        store.catalog_version().unwrap().as_deref(),
        Some(v1.as_str())
    );
    let problem = store
        .catalog_problem()
        .unwrap()
        .expect("the refusal is remembered");
    assert_eq!(problem.version, v2);
    assert!(
        problem.message.contains("zz-broken.toml"),
        "{}",
        problem.message
    );
    assert!(
        !catalog::version_dir(data.path(), &v2).exists(),
        "nothing of it installed"
    );

    let seen = backend.state.heartbeats();
    let beat = &seen.values().next().expect("a heartbeat").beat;
    assert_eq!(beat.versions.catalog.as_deref(), Some(v1.as_str()));
    assert_eq!(
        beat.catalog_problem.as_ref().map(|p| p.version.as_str()),
        Some(v2.as_str())
    );
}

/// Waits (polling what the backend holds) until `ready` says yes, or fails after `within`.
fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A citizen in a service guide calls a consultant: the call stays on the console through the
/// kiosk's heartbeats (a guide sends no presence, yet the kiosk is in use), and ends when the
/// kiosk withdraws it.
#[test]
fn a_consultant_call_outlives_heartbeats_until_the_kiosk_withdraws_it() {
    use senim_protocol::KioskState;
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let mut config = sync_config(data.path(), &backend.url);
    config.heartbeat = Duration::from_millis(100);
    let handle = sync::spawn(config, |_| {}).unwrap();
    let kiosk_state_after = |t: chrono::DateTime<chrono::Utc>| {
        backend
            .state
            .heartbeats()
            .values()
            .find(|h| h.received > t)
            .map(|h| h.beat.state)
    };

    let called = chrono::Utc::now();
    handle.consultant("no-criminal-record", 2, true);
    wait_for(
        "the call reaches the console",
        Duration::from_secs(10),
        || backend.state.consultant_calls().len() == 1,
    );
    // Two heartbeats later the call is still there, and the kiosk says it is in use.
    let seen = chrono::Utc::now();
    wait_for(
        "a heartbeat after the call",
        Duration::from_secs(10),
        || kiosk_state_after(seen).is_some(),
    );
    let again = chrono::Utc::now();
    wait_for("another heartbeat", Duration::from_secs(10), || {
        kiosk_state_after(again).is_some()
    });
    assert_eq!(kiosk_state_after(called), Some(KioskState::InUse));
    let calls = backend.state.consultant_calls();
    assert_eq!(calls.len(), 1, "the call survives the kiosk's heartbeats");
    assert_eq!(calls[0].service_id, "no-criminal-record");
    assert_eq!(calls[0].step, 2);

    // The citizen left: the kiosk withdraws the call, and its heartbeats say idle again.
    handle.consultant("no-criminal-record", 2, false);
    wait_for("the call ends", Duration::from_secs(10), || {
        backend.state.consultant_calls().is_empty()
    });
    let ended = chrono::Utc::now();
    wait_for("an idle heartbeat", Duration::from_secs(10), || {
        kiosk_state_after(ended) == Some(KioskState::Idle)
    });
}

/// The receipt's QR code, end to end: the check code the kiosk's store made at commit travels
/// with the record, the call-centre keeps only its hash, the kiosk forgets it on delivery, and
/// the kiosk's default status link (`{backend_url}/s/{number}/{code}`) opens the appeal's page.
#[test]
fn a_receipts_check_code_opens_its_status_page_at_the_call_centre() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let committed = {
        let mut store = Store::open(data.path()).unwrap();
        let draft = senim_kiosk::store::NewAppeal {
            topic: senim_protocol::Topic::Request,
            language: "ru".into(),
            iin: None,
            callback_phone: None,
            text: Some("Прошу перезвонить.".into()),
            video: None,
            interrupted: false,
            test: false,
            created_at: chrono::Utc::now(),
            recording: None,
            appeal_id: None,
            call_secs: None,
        };
        store.commit_appeal_with_code(&draft).unwrap()
    };
    let (worker, _) = deliver(data.path(), &backend.url);
    join(worker, Duration::from_secs(30));

    let config = senim_kiosk::config::Config::parse(
        &format!(
            "[kiosk]\nsite_name = \"Test\"\nmode = \"hospital\"\n[sync]\nbackend_url = \"{}\"\n",
            backend.url
        ),
        std::path::Path::new("kiosk.toml"),
    )
    .unwrap();
    let link = config
        .status_url(&committed.number, &committed.check_code)
        .unwrap();
    assert_eq!(
        link,
        format!(
            "{}/s/{}/{}",
            backend.url, committed.number, committed.check_code
        )
    );
    let page = reqwest::blocking::get(&link).unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = page.text().unwrap();
    assert!(html.contains(&committed.number), "{html}");
    assert!(
        !html.contains("Прошу перезвонить"),
        "the appeal's text is not on the page"
    );

    let wrong = link.replace(&committed.check_code, "AAAAAAAAAAAAAAAA");
    let page = reqwest::blocking::get(&wrong).unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);

    let kept: Option<String> =
        rusqlite::Connection::open(data.path().join(senim_kiosk::store::DB_FILE))
            .unwrap()
            .query_row(
                "SELECT check_code FROM appeals WHERE id = ?1",
                [&committed.number],
                |r| r.get(0),
            )
            .unwrap();
    assert_eq!(kept, None, "delivered: the kiosk forgets the code");
}

/// A reverse proxy in front of the backend that answers, while `refuse` names a path prefix
/// (`"POST /api/v1/records"`, `"POST /api/v1/uploads/"`…), with its own HTML page and
/// `status` instead of passing the request on — a maintenance page, a WAF, a misrouted
/// location. Everything else is forwarded, one request per connection.
struct PageProxy {
    addr: std::net::SocketAddr,
    refuse: std::sync::Arc<std::sync::Mutex<Option<(&'static str, u16)>>>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl PageProxy {
    fn start(backend: std::net::SocketAddr) -> PageProxy {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let refuse = std::sync::Arc::new(std::sync::Mutex::new(None::<(&'static str, u16)>));
        let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (rule, count) = (refuse.clone(), refused.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let (rule, count) = (rule.clone(), count.clone());
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut byte).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let text = String::from_utf8_lossy(&head).to_string();
                    let length: usize = text
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    if client.read_exact(&mut body).is_err() {
                        return;
                    }
                    let rule = *rule.lock().unwrap();
                    let matches = |p: &str| text.starts_with(p.split(" json:").next().unwrap_or(p));
                    if let Some((prefix, status)) = rule.filter(|(p, _)| matches(p)) {
                        count.fetch_add(1, Ordering::SeqCst);
                        // A code in the rule's place answers as an (older) API would.
                        let (kind, page) = match prefix.split_once(" json:") {
                            Some((_, code)) => (
                                "application/json",
                                format!(r#"{{"error":"{code}","message":"not known here"}}"#),
                            ),
                            None => (
                                "text/html",
                                "<html><body><h1>Maintenance</h1></body></html>".to_string(),
                            ),
                        };
                        let _ = write!(
                            client,
                            "HTTP/1.1 {status} Nope\r\nContent-Type: {kind}\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                            page.len()
                        );
                        return;
                    }
                    let Ok(mut upstream) = std::net::TcpStream::connect(backend) else {
                        return;
                    };
                    let head =
                        text.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
                    if upstream.write_all(head.as_bytes()).is_err()
                        || upstream.write_all(&body).is_err()
                    {
                        return;
                    }
                    let _ = std::io::copy(&mut upstream, &mut client);
                });
            }
        });
        PageProxy {
            addr,
            refuse,
            refused,
        }
    }

    fn refuse(&self, rule: Option<(&'static str, u16)>) {
        *self.refuse.lock().unwrap() = rule;
        self.refused.store(0, Ordering::SeqCst);
    }
}

/// Runs the worker in the background until `done` (checked on its reports and the backend),
/// then stops it.
fn run_until(data: &std::path::Path, url: &str, what: &str, mut done: impl FnMut() -> bool) {
    let handle = sync::spawn(sync_config(data, url), |_| {}).unwrap();
    wait_for(what, Duration::from_secs(30), &mut done);
    handle.stop();
}

/// The parked items of a kiosk, as `senim-kiosk queue --json` lists them.
fn parked(data: &std::path::Path) -> Vec<senim_kiosk::store::Parked> {
    Store::open(data).unwrap().queue().unwrap().parked
}

/// A proxy's HTML 403 or 404 (maintenance, a WAF) is not the call-centre refusing anything:
/// records and videos stay queued, nothing is parked, and all of it goes once the proxy
/// passes requests again.
#[test]
fn a_proxys_html_403_or_404_parks_nothing_and_everything_goes_later() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let proxy = PageProxy::start(backend.addr);
    let url = format!("http://{}", proxy.addr);
    let appeals = commit_mix(data.path(), 12, 150_000);

    proxy.refuse(Some(("POST /api/v1/records", 403)));
    run_until(data.path(), &url, "three refused batches", || {
        proxy.refused.load(Ordering::SeqCst) >= 3
    });
    assert!(backend.stored_keys().is_empty());
    assert_eq!(parked(data.path()), vec![], "a proxy's 403 parks nothing");

    proxy.refuse(Some(("POST /api/v1/uploads/", 404)));
    run_until(data.path(), &url, "three refused uploads", || {
        proxy.refused.load(Ordering::SeqCst) >= 3
    });
    assert_eq!(backend.stored_keys().len(), 12, "the records went");
    assert_eq!(parked(data.path()), vec![], "a proxy's 404 parks nothing");
    let queue = Store::open(data.path()).unwrap().queue().unwrap();
    assert_eq!(queue.kinds["video"].pending, 2, "{queue:?}");
    assert!(
        queue.last_error.as_deref().unwrap_or("").contains("404"),
        "{queue:?}"
    );

    proxy.refuse(None);
    let (worker, _) = deliver(data.path(), &url);
    join(worker, Duration::from_secs(60));
    assert_delivered(&backend, data.path(), &appeals);
}

/// A heartbeat the call-centre's API refuses (an older call-centre that does not know a new
/// field, say) is noted and skipped: it never holds up delivery, and parks nothing.
#[test]
fn a_refused_heartbeat_does_not_hold_up_delivery() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let proxy = PageProxy::start(backend.addr);
    let url = format!("http://{}", proxy.addr);
    let appeals = commit_mix(data.path(), 8, 100_000);
    proxy.refuse(Some(("POST /api/v1/heartbeat json:invalid_body", 400)));
    let (worker, _) = deliver(data.path(), &url);
    join(worker, Duration::from_secs(60));
    assert!(
        proxy.refused.load(Ordering::SeqCst) >= 1,
        "the heartbeat was refused"
    );
    assert_delivered(&backend, data.path(), &appeals);
    assert_eq!(parked(data.path()), vec![]);
    let queue = Store::open(data.path()).unwrap().queue().unwrap();
    assert!(
        queue
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("invalid_body"),
        "{queue:?}"
    );
}

/// Items the call-centre refuses for good (its documented codes) and a video whose checksum
/// keeps failing are parked with their reasons — reported in the queue and the heartbeat —
/// and everything after them is delivered.
#[test]
fn refused_for_good_and_failing_checksums_are_parked_and_the_next_ones_go() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let (unknown, invalid, damaged, good) = {
        let mut store = Store::open(data.path()).unwrap();
        let a = [
            commit_appeal(&mut store, 1, 100_000),
            commit_appeal(&mut store, 2, 0),
            commit_appeal(&mut store, 3, 120_000),
            commit_appeal(&mut store, 4, 90_000),
        ];
        store
            .record_device_fault(&DeviceFaultRecord {
                device: "printer".into(),
                status: DeviceStatus::Fail,
                detail: "paper out".into(),
                at: chrono::Utc::now(),
            })
            .unwrap();
        // The first appeal's record counts as delivered though the call-centre never got it
        // (its database restored from a backup, say): its video is `appeal_unknown` there.
        store.mark_delivered(&[1], chrono::Utc::now()).unwrap();
        a.into()
    };
    let conn = rusqlite::Connection::open(data.path().join(senim_kiosk::store::DB_FILE)).unwrap();
    // A record the call-centre refuses (`invalid_record`): an IIN that is not 12 digits.
    conn.execute("UPDATE appeals SET iin = '123' WHERE id = ?1", [&invalid])
        .unwrap();
    // A video damaged on the kiosk's disk after it was sealed: every copy the call-centre
    // gets has another SHA-256 than the one sealed at commit.
    let file: String = conn
        .query_row(
            "SELECT video_file FROM appeals WHERE id = ?1",
            [&damaged],
            |r| r.get(0),
        )
        .unwrap();
    let path = data.path().join("videos").join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let mut config = sync_config(data.path(), &backend.url);
    config.max_video_attempts = 2;
    let run = |config: &sync::SyncConfig| {
        let config = config.clone();
        let worker = std::thread::spawn(move || sync::run_until_idle(config, |_| {}));
        join(worker, Duration::from_secs(60));
    };
    run(&config);

    // The good appeal and the fault went, with the good video.
    let held = backend.appeals();
    let ids: Vec<&str> = held.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&good.as_str()) && ids.contains(&damaged.as_str()));
    assert!(!ids.contains(&invalid.as_str()) && !ids.contains(&unknown.as_str()));
    let row = held.iter().find(|a| a.id == good).unwrap();
    assert_eq!(backend.video(row).unwrap(), video_bytes(4, 90_000));
    let row = held.iter().find(|a| a.id == damaged).unwrap();
    assert!(
        row.video_upload_id.is_none(),
        "the damaged copy is not attached"
    );

    let parked = parked(data.path());
    let find = |kind: &str, id: &str| {
        parked
            .iter()
            .find(|p| p.kind == kind && p.id == id)
            .unwrap_or_else(|| panic!("{kind} {id} parked: {parked:?}"))
            .reason
            .clone()
    };
    assert_eq!(parked.len(), 3, "{parked:?}");
    assert!(find("appeal", &invalid).contains("invalid_record"));
    assert!(find("video", &unknown).contains("appeal_unknown"));
    assert!(find("video", &damaged).contains("2 times"));
    let attempts: i64 = conn
        .query_row(
            "SELECT video_attempts FROM appeals WHERE id = ?1",
            [&damaged],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 2, "attempts are counted in the store");
    let queue = Store::open(data.path()).unwrap().queue().unwrap();
    assert_eq!(queue.pending(), 0, "{queue:?}");
    assert_eq!(queue.parked_count(), 3);
    assert_eq!(queue.kinds["video"].rejected, 2);
    assert!(path.exists(), "a parked video stays on the kiosk");

    // The next heartbeat says so, and a restart sends no parked item again.
    let keys = backend.stored_keys();
    run(&config);
    assert_eq!(backend.stored_keys(), keys);
    let seen = backend.state.heartbeats();
    assert_eq!(seen.values().next().expect("a heartbeat").beat.parked, 3);
}

/// Re-enrolling a kiosk (a new code for the same machine, here after its token was revoked)
/// keeps its kiosk id at the call-centre, so a video whose appeal went under the old token
/// and records still queued are delivered, once each.
#[test]
fn a_reenrolled_kiosk_delivers_what_it_queued_under_its_old_token() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let first = Store::open(data.path())
        .unwrap()
        .enrolment()
        .unwrap()
        .unwrap();
    let proxy = PageProxy::start(backend.addr);
    let url = format!("http://{}", proxy.addr);
    let mut appeals = commit_mix(data.path(), 9, 200_000);

    // The records go, the videos are held up (a proxy's 404).
    proxy.refuse(Some(("POST /api/v1/uploads/", 404)));
    run_until(data.path(), &url, "records in, uploads refused", || {
        proxy.refused.load(Ordering::SeqCst) >= 1
    });
    assert_eq!(backend.stored_keys().len(), 9);
    proxy.refuse(None);

    // More is queued; then the call-centre revokes the kiosk, and the kiosk learns it.
    {
        let mut store = Store::open(data.path()).unwrap();
        appeals.push((commit_appeal(&mut store, 100, 50_000), 100, 50_000));
    }
    backend
        .state
        .db
        .write(|tx| senim_callcentre::db::revoke_kiosk(tx, &first.kiosk_id, chrono::Utc::now()))
        .unwrap();
    let worker = {
        let config = sync_config(data.path(), &backend.url);
        std::thread::spawn(move || sync::run_until_idle(config, |_| {}))
    };
    assert!(matches!(
        worker.join().unwrap(),
        Err(sync::SyncError::Revoked)
    ));
    assert!(Store::open(data.path())
        .unwrap()
        .enrolment()
        .unwrap()
        .is_none());

    // A technician enrols it again with a new code: the same machine, the same kiosk id.
    let code = backend.code("Test hospital");
    let again = sync::enrol(data.path(), &backend.url, None, &code).unwrap();
    assert_eq!(again.kiosk_id, first.kiosk_id);
    assert_ne!(again.token, first.token);
    let (worker, _) = deliver(data.path(), &backend.url);
    join(worker, Duration::from_secs(60));
    assert_delivered(&backend, data.path(), &appeals);
    assert_eq!(parked(data.path()), vec![]);
    let kiosks = backend
        .state
        .db
        .read(senim_callcentre::db::list_kiosks)
        .unwrap();
    assert_eq!(kiosks.len(), 1, "one machine, one kiosk");
    assert!(!kiosks[0].revoked);

    // Enrolling again while the token still works also keeps the id; the old token is dead.
    let code = backend.code("Test hospital");
    let third = sync::enrol(data.path(), &backend.url, None, &code).unwrap();
    assert_eq!(third.kiosk_id, first.kiosk_id);
    let old = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/presence", backend.url))
        .bearer_auth(&again.token)
        .json(&serde_json::json!({"present": false, "at": chrono::Utc::now()}))
        .send()
        .unwrap();
    assert_eq!(old.status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// The classification itself: only the API's JSON with a documented code is "refused for
/// good"; a token problem only when the API says so.
#[test]
fn only_documented_codes_in_the_apis_json_are_refusals() {
    use senim_kiosk::sync::client::classify;
    use senim_protocol::ApiError;
    let e = |code: &str| {
        Some(ApiError {
            error: code.into(),
            message: "m".into(),
        })
    };
    let s = |n: u16| reqwest::StatusCode::from_u16(n).unwrap();
    assert!(matches!(
        classify(s(400), e("invalid_record")),
        sync::SyncError::Refused { .. }
    ));
    assert!(matches!(
        classify(s(422), e("appeal_unknown")),
        sync::SyncError::Refused { .. }
    ));
    for status in [403, 404, 401, 409, 500, 502] {
        assert!(
            matches!(classify(s(status), None), sync::SyncError::Server { .. }),
            "{status} without the API's JSON is transient"
        );
    }
    assert!(matches!(
        classify(s(409), e("offset_mismatch")),
        sync::SyncError::Declined { .. }
    ));
    assert!(matches!(
        classify(s(507), e("insufficient_storage")),
        sync::SyncError::Declined { .. }
    ));
    assert!(matches!(
        classify(s(500), e("invalid_record")),
        sync::SyncError::Declined { .. }
    ));
    assert!(matches!(
        classify(s(401), e("revoked")),
        sync::SyncError::Revoked
    ));
    assert!(matches!(
        classify(s(401), e("unauthorized")),
        sync::SyncError::Unauthorized
    ));
}

/// A presence message the call-centre refuses for good (its documented code) mattered only at
/// that moment: it is dropped, once, and records and videos behind it go.
#[test]
fn a_refused_presence_is_dropped_and_delivery_goes_on() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let proxy = PageProxy::start(backend.addr);
    let url = format!("http://{}", proxy.addr);
    proxy.refuse(Some(("POST /api/v1/presence json:invalid_body", 400)));
    let handle = sync::spawn(sync_config(data.path(), &url), |_| {}).unwrap();
    handle.presence(true, Some(senim_protocol::Journey::Appeal));
    wait_for("the presence refused", Duration::from_secs(10), || {
        proxy.refused.load(Ordering::SeqCst) >= 1
    });
    // Committed after the refusal: they go only if the refused presence does not hold the
    // worker up.
    let appeals = commit_mix(data.path(), 4, 100_000);
    handle.wake();
    let committed = outbox_keys(data.path()).len();
    wait_for("everything delivered", Duration::from_secs(30), || {
        backend.stored_keys().len() == committed
            && Store::open(data.path()).unwrap().queue().unwrap().pending() == 0
    });
    handle.stop();
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        1,
        "the presence was refused once and not sent again"
    );
    assert_delivered(&backend, data.path(), &appeals);
    assert_eq!(parked(data.path()), vec![]);
}

/// Every file under `dir` whose raw bytes hold `needle` (SQLite files and WALs included).
fn files_holding(dir: &std::path::Path, needle: &[u8], skip: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != skip) {
                let bytes = std::fs::read(&p).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(p.display().to_string());
                }
            }
        }
    }
    found
}

#[test]
fn a_sealed_appeal_reaches_the_call_centre_whole_and_neither_folder_holds_iin_or_webm() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let mut take = vec![
        0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, b'w', b'e', b'b', b'm',
    ];
    take.extend(video_bytes(7, 300_000));
    let number = {
        let mut store = Store::open(data.path()).unwrap();
        assert!(
            store.seal_recipient().unwrap().is_some(),
            "learnt at enrolment"
        );
        let path = store.incoming_dir().join("take.webm");
        std::fs::write(&path, &take).unwrap();
        store
            .commit_appeal(&senim_kiosk::store::NewAppeal {
                topic: senim_protocol::Topic::Complaint,
                language: "kk".into(),
                iin: Some("880101300010".into()),
                callback_phone: Some("+77011234567".into()),
                text: None,
                video: Some(senim_kiosk::store::NewVideo { path, seconds: 120 }),
                interrupted: false,
                test: false,
                created_at: chrono::Utc::now(),
                recording: None,
                appeal_id: None,
                call_secs: None,
            })
            .unwrap()
    };
    for needle in [&b"880101300010"[..], b"+77011234567", &take[..13]] {
        assert_eq!(files_holding(data.path(), needle, ""), Vec::<String>::new());
    }
    let (worker, _) = deliver(data.path(), &backend.url);
    join(worker, Duration::from_secs(30));

    let held = backend.appeals();
    let row = held.iter().find(|a| a.id == number).unwrap();
    assert_eq!(
        row.iin.as_deref(),
        Some("880101300010"),
        "opened at the call-centre"
    );
    assert_eq!(row.callback_phone.as_deref(), Some("+77011234567"));
    assert!(
        backend.video(row).unwrap() == take,
        "the take, byte for byte"
    );
    assert!(senim_common::seal::is_sealed(
        &backend.video_at_rest(row).unwrap()
    ));
    // Without its key the call-centre's folder holds no WebM (its key file is skipped here;
    // in production `[storage] key_file` lies outside the data folder).
    // Nor the IIN or the phone: the database keeps them sealed at rest.
    for needle in [&b"880101300010"[..], b"+77011234567", &take[..13]] {
        assert_eq!(
            files_holding(backend.data_dir(), needle, "seal.keys"),
            Vec::<String>::new()
        );
    }
}
