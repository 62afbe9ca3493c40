//! The kiosk against a call-centre whose disk is below its free-space reserve: the record goes,
//! the video's upload is answered 507 `insufficient_storage`, and the kiosk keeps the video
//! (nothing parked, nothing deleted) and retries; once the call-centre has room again the same
//! video arrives whole and only then leaves the kiosk.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use senim_kiosk::store::Store;
use senim_kiosk::sync::{self, Status};
use support::*;

#[test]
fn a_full_call_centre_disk_keeps_the_video_on_the_kiosk_until_there_is_room() {
    let mut full = backend_config();
    // More than any disk has free: every upload is refused for lack of room.
    full.storage.reserve_mib = u64::MAX / (1024 * 1024);
    let backend = Backend::start_configured("127.0.0.1:0".parse().unwrap(), None, full);
    let addr = backend.addr;
    let data = enrolled_kiosk(&backend);
    let len = 300_000;
    let id = commit_appeal(&mut Store::open(data.path()).unwrap(), 7, len);
    // Sealed to the call-centre at commit (issue 19): what waits and is uploaded is the sealed
    // file, a little larger than the take.
    let sealed_len = std::fs::metadata(data.path().join("videos").join(format!("{id}.webm.age")))
        .unwrap()
        .len();
    assert!(sealed_len > len as u64);

    let (tx, rx) = mpsc::channel::<Status>();
    let handle = sync::spawn(sync_config(data.path(), &backend.url), move |s| {
        let _ = tx.send(s);
    })
    .unwrap();
    handle.waker().wake();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    let refused = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(s) => {
                let full = s.last_error.as_deref().is_some_and(|e| e.contains("507"));
                if full && s.pending == 1 {
                    break s;
                }
                last = Some(s);
            }
            Err(_) => panic!("no 507 reported by the worker; last status {last:?}"),
        }
    };
    handle.stop();
    assert_eq!(
        refused.pending_bytes, sealed_len,
        "the video waits on the kiosk"
    );
    let held = backend.appeals();
    assert_eq!(held.len(), 1, "the record went");
    assert!(held[0].video_upload_id.is_none());
    let queue = Store::open(data.path()).unwrap().queue().unwrap();
    assert_eq!(
        queue.pending_video_bytes, sealed_len,
        "kept, not parked: {queue:?}"
    );

    // Room again (the same data, a normal reserve): the same video arrives, whole.
    let kept = backend.stop();
    let backend = Backend::start_at(addr, Some(kept));
    sync::run_until_idle(sync_config(data.path(), &backend.url), |_| {}).unwrap();
    let held = backend.appeals();
    let bytes = backend.video(&held[0]).expect("the video arrived");
    assert!(bytes == video_bytes(7, len), "whole");
    assert_eq!(held[0].id, id);
    let queue = Store::open(data.path()).unwrap().queue().unwrap();
    assert_eq!(queue.pending(), 0, "{queue:?}");
    assert_eq!(queue.pending_video_bytes, 0);
}
