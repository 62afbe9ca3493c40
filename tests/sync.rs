//! The kiosk's sync worker against the real call-centre backend on loopback: a backend that is
//! down for a while, and a network that drops, stalls and resets connections mid-batch and
//! mid-upload. Nothing may be lost, nothing may arrive twice, records arrive in commit order,
//! and an upload cut half-way resumes from the server's offset.

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
