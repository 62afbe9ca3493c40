//! Store unit tests: in-memory SQLite (videos in a temp folder), plus the file-level checks
//! that need a real file (pragmas, newer schema, upgrade from schema 1).

use chrono::{Duration, TimeZone, Utc};
use senim_protocol::{
    DeviceFaultRecord, DeviceStatus, GuideEventKind, GuideEventRecord, RecordBody, SiteMode, Topic,
};
use sha2::{Digest, Sha256};

use super::*;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap() + Duration::minutes(min)
}

fn take(store: &Store, name: &str, bytes: &[u8]) -> NewVideo {
    let path = store.incoming_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    NewVideo { path, seconds: 42 }
}

fn appeal(video: Option<NewVideo>, at: DateTime<Utc>) -> NewAppeal {
    NewAppeal {
        topic: Topic::Complaint,
        language: "kk".into(),
        iin: Some("880101300010".into()),
        callback_phone: Some("+77011234567".into()),
        text: None,
        video,
        interrupted: false,
        test: false,
        created_at: at,
        recording: None,
        appeal_id: None,
        call_secs: None,
    }
}

fn guide(at: DateTime<Utc>) -> GuideEventRecord {
    GuideEventRecord {
        session_id: "s-1".into(),
        service_id: "passport".into(),
        event: GuideEventKind::Started,
        step: None,
        rating: None,
        at,
    }
}

fn fault(at: DateTime<Utc>) -> DeviceFaultRecord {
    DeviceFaultRecord {
        device: "scanner".into(),
        status: DeviceStatus::Fail,
        detail: "unplugged".into(),
        at,
    }
}

#[test]
fn check_codes_are_16_base32_characters_and_differ() {
    let codes: std::collections::HashSet<String> = (0..1000).map(|_| new_check_code()).collect();
    assert_eq!(codes.len(), 1000, "80 random bits: no repeats");
    assert!(codes.iter().all(|c| senim_protocol::valid_check_code(c)));
    // Every character of the alphabet shows up (the encoding uses all 5 bits).
    let seen: std::collections::HashSet<u8> = codes.iter().flat_map(|c| c.bytes()).collect();
    assert_eq!(seen.len(), 32);
}

#[test]
fn migrations_are_valid_and_counted() {
    migrations().validate().unwrap();
    let mut conn = Connection::open_in_memory().unwrap();
    migrations().to_latest(&mut conn).unwrap();
    let v: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

#[test]
fn a_file_store_is_wal_with_full_commits_and_a_newer_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mode: String = store
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let sync: i64 = store
        .conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(
        (mode.as_str(), sync),
        ("wal", 2),
        "WAL and synchronous=FULL"
    );
    store.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(store);
    let err = Store::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("newer senim-kiosk"), "{err}");
    assert!(err.contains("schema 99"), "{err}");
}

#[test]
fn a_store_written_by_the_first_schema_opens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What a kiosk of schema 1 left on disk, written with plain SQL as that build did.
        let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        Migrations::new(vec![M::up(include_str!("sql/0001_initial.sql"))])
            .to_version(&mut conn, 1)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO appeals (id, created_at, topic, language, iin) \
             VALUES ('A-23456789', '2026-11-20T10:00:00.000Z', 'gratitude', 'ru', '880101300010');
             INSERT INTO outbox (kind, ref_id, key, created_at) \
             VALUES ('appeal', 'A-23456789', 'appeal-A-23456789', '2026-11-20T10:00:00.000Z');
             INSERT INTO meta (key, value) VALUES ('kiosk_id', 'K-1'), ('token', 'secret');",
        )
        .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let pending = store.pending_records(10).unwrap();
    assert_eq!(pending.len(), 1);
    let RecordBody::Appeal(a) = &pending[0].record.record else {
        panic!("not an appeal: {:?}", pending[0]);
    };
    assert_eq!(
        (a.appeal_id.as_str(), a.topic, a.iin.as_deref()),
        ("A-23456789", Topic::Gratitude, Some("880101300010"))
    );
    assert_eq!(store.enrolment().unwrap().unwrap().kiosk_id, "K-1");
    // Upgraded to the current schema: the new table is there, and empty.
    let version: usize = store
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert!(store.unfinished_recordings().unwrap().is_empty());
}

#[test]
fn a_recording_is_noted_before_it_starts_and_ends_with_its_appeal_or_its_discard() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    let begin = |store: &mut Store, name: &str| {
        let take_dir = store.incoming_dir().join(name);
        std::fs::create_dir_all(&take_dir).unwrap();
        std::fs::write(take_dir.join("segment-00000.webm"), b"bytes").unwrap();
        let id = store
            .begin_recording(&NewRecording {
                take_dir: take_dir.clone(),
                topic: Topic::BribeReport,
                language: "ru".into(),
                iin: Some("880101300010".into()),
                test: false,
                started_at: t(0),
                call_id: None,
            })
            .unwrap();
        (id, take_dir)
    };
    let (sent, _) = begin(&mut store, "take-1");
    let (dropped, dropped_dir) = begin(&mut store, "take-2");
    let (crashed, crashed_dir) = begin(&mut store, "take-3");

    // Sent: the recording ends in the appeal's own transaction.
    let mut a = appeal(Some(take(&store, "final.webm", b"video")), t(1));
    a.recording = Some(sent);
    store.commit_appeal(&a).unwrap();
    // Re-recorded: row and take folder gone.
    store.discard_recording(dropped).unwrap();
    assert!(!dropped_dir.exists());

    // What is left is what a crash would leave: found at start-up with what it needs.
    let left = store.unfinished_recordings().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, crashed);
    assert_eq!(left[0].recording.take_dir, crashed_dir);
    assert_eq!(left[0].recording.topic, Topic::BribeReport);
    assert_eq!(left[0].recording.iin.as_deref(), Some("880101300010"));
    assert!(!format!("{:?}", left[0]).contains("880101300010"));

    // A take folder outside incoming/ is refused.
    let outside = store.begin_recording(&NewRecording {
        take_dir: dir.path().join("elsewhere"),
        ..left[0].recording.clone()
    });
    assert!(outside.is_err());
}

#[test]
fn an_appeal_is_committed_with_its_video_and_announced_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    let video = take(&store, "take-1.webm", b"pretend webm bytes");
    let incoming = video.path.clone();
    let id = store.commit_appeal(&appeal(Some(video), t(0))).unwrap();
    assert!(senim_protocol::valid_appeal_id(&id), "{id}");

    assert!(!incoming.exists(), "the take left the incoming folder");
    let filed = dir.path().join(VIDEOS_DIR).join(format!("{id}.webm"));
    assert_eq!(std::fs::read(&filed).unwrap(), b"pretend webm bytes");

    let pending = store.pending_records(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].record.key, format!("appeal-{id}"));
    let RecordBody::Appeal(a) = &pending[0].record.record else {
        panic!("not an appeal");
    };
    let video = a.video.as_ref().unwrap();
    assert_eq!(video.bytes, 18);
    assert_eq!(
        video.sha256,
        hex::encode(Sha256::digest(b"pretend webm bytes"))
    );
    assert_eq!(video.duration_seconds, 42);
    assert_eq!(a.iin.as_deref(), Some("880101300010"));
    assert_eq!(
        store.next_video().unwrap(),
        None,
        "no upload before the backend has the appeal"
    );
}

#[test]
fn a_failed_commit_stores_nothing_and_keeps_the_take() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    let missing = NewVideo {
        path: store.incoming_dir().join("never-written.webm"),
        seconds: 3,
    };
    let err = store
        .commit_appeal(&appeal(Some(missing), t(0)))
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot read the recorded video"),
        "{err}"
    );
    assert!(store.pending_records(10).unwrap().is_empty());

    // The SQL part fails after the file was moved: the file goes back to incoming.
    let video = take(&store, "take-2.webm", b"abc");
    let path = video.path.clone();
    store
        .conn
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;",
        )
        .unwrap();
    let err = store.commit_appeal(&appeal(Some(video), t(0))).unwrap_err();
    assert!(err.to_string().contains("disk trouble"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"abc", "the take is back");
    let appeals: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM appeals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(appeals, 0, "no half appeal");
    assert_eq!(
        std::fs::read_dir(dir.path().join(VIDEOS_DIR))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count(),
        0
    );
}

#[test]
fn records_leave_in_commit_order_and_delivery_erases_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    store.record_guide_event(&guide(t(0))).unwrap();
    let video = take(&store, "v.webm", b"0123456789");
    let committed = store
        .commit_appeal_with_code(&appeal(Some(video), t(1)))
        .unwrap();
    let id = committed.number.clone();
    assert!(senim_protocol::valid_check_code(&committed.check_code));
    assert!(!format!("{committed:?}").contains(&committed.check_code));
    store.record_device_fault(&fault(t(2))).unwrap();

    let pending = store.pending_records(10).unwrap();
    let kinds: Vec<_> = pending.iter().map(|o| o.record.record.kind()).collect();
    assert_eq!(kinds, ["guide_event", "appeal", "device_fault"]);
    let RecordBody::Appeal(sent) = &pending[1].record.record else {
        panic!("the appeal's record");
    };
    assert_eq!(
        sent.check_code.as_deref(),
        Some(committed.check_code.as_str()),
        "the check code travels with the appeal"
    );
    assert_eq!(
        store.pending_records(2).unwrap().len(),
        2,
        "limit respected"
    );

    let q = store.queue().unwrap();
    assert_eq!(q.kinds["appeal"].pending, 1);
    assert_eq!(q.kinds["video"].pending, 1);
    assert_eq!(q.pending_video_bytes, 10);
    assert_eq!(q.pending(), 4);

    let seqs: Vec<i64> = pending.iter().map(|o| o.seq).collect();
    store.mark_delivered(&seqs[..2], t(3)).unwrap();
    store.mark_delivered(&seqs[..2], t(4)).unwrap(); // a replayed answer changes nothing
    let left = store.pending_records(10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].record.record.kind(), "device_fault");

    let (iin, phone, code): (Option<String>, Option<String>, Option<String>) = store
        .conn
        .query_row(
            "SELECT iin, callback_phone, check_code FROM appeals WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (iin, phone, code),
        (None, None, None),
        "the backend has them; the kiosk forgets (the check code too)"
    );

    let video = store.next_video().unwrap().unwrap();
    assert_eq!(video.appeal_id, id);
    assert_eq!(video.bytes, 10);
    store
        .set_upload_url(&id, Some("/api/v1/uploads/u1"))
        .unwrap();
    assert_eq!(
        store.next_video().unwrap().unwrap().upload_url.as_deref(),
        Some("/api/v1/uploads/u1")
    );
    store.confirm_video(&id, t(5)).unwrap();
    assert!(!video.path.exists(), "a confirmed video is deleted");
    assert_eq!(store.next_video().unwrap(), None);
    store.confirm_video(&id, t(6)).unwrap(); // twice is harmless

    let q = store.queue().unwrap();
    assert_eq!(
        q.kinds["appeal"],
        Counts {
            committed: 1,
            pending: 0,
            delivered: 1,
            rejected: 0
        }
    );
    assert_eq!(q.kinds["video"].delivered, 1);
    assert_eq!(q.kinds["device_fault"].pending, 1);
    assert_eq!(q.pending_video_bytes, 0);
}

#[test]
fn a_refused_record_leaves_the_queue_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    store.record_device_fault(&fault(t(0))).unwrap();
    let seq = store.pending_records(1).unwrap()[0].seq;
    store
        .mark_rejected(seq, "422 invalid_record", t(1))
        .unwrap();
    assert!(store.pending_records(10).unwrap().is_empty());
    assert_eq!(store.queue().unwrap().kinds["device_fault"].rejected, 1);
}

#[test]
fn retention_purges_delivered_items_but_never_undelivered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    store.record_guide_event(&guide(t(0))).unwrap();
    store.record_device_fault(&fault(t(0))).unwrap();
    let video = take(&store, "v.webm", b"xyz");
    let with_video = store.commit_appeal(&appeal(Some(video), t(0))).unwrap();
    let undelivered = store.commit_appeal(&appeal(None, t(0))).unwrap();
    let seqs: Vec<i64> = store
        .pending_records(10)
        .unwrap()
        .iter()
        .filter(
            |o| !matches!(&o.record.record, RecordBody::Appeal(a) if a.appeal_id == undelivered),
        )
        .map(|o| o.seq)
        .collect();
    store.mark_delivered(&seqs, t(1)).unwrap();

    // Within retention: nothing goes.
    let purged = store.purge(t(60 * 24 * 29), 30).unwrap();
    assert_eq!(purged, Purged::default());

    // After it: delivered items go, except the appeal whose video the backend lacks.
    let purged = store.purge(t(60 * 24 * 31), 30).unwrap();
    assert_eq!(
        purged,
        Purged {
            outbox: 2,
            appeals: 0,
            guide_sessions: 1,
            device_faults: 1
        }
    );
    store.confirm_video(&with_video, t(60 * 24 * 31)).unwrap();
    let purged = store.purge(t(60 * 24 * 31), 30).unwrap();
    assert_eq!((purged.appeals, purged.outbox), (1, 1));
    let left = store.pending_records(10).unwrap();
    assert_eq!(left.len(), 1, "the undelivered appeal is never purged");
    assert_eq!(store.queue().unwrap().kinds["appeal"].committed, 1);
}

#[test]
fn stray_videos_from_a_crashed_commit_are_swept_once_old() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    let stray = dir.path().join(VIDEOS_DIR).join("A-STRAY234.webm");
    std::fs::write(&stray, b"half").unwrap();
    store.purge(Utc::now(), 30).unwrap();
    assert!(stray.exists(), "a fresh file may be a commit in progress");
    store.purge(Utc::now() + Duration::hours(2), 30).unwrap();
    assert!(!stray.exists());
}

#[test]
fn enrolment_and_sync_facts_are_kept_and_the_token_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_in_memory(dir.path()).unwrap();
    assert_eq!(store.enrolment().unwrap(), None);
    let e = Enrolment {
        kiosk_id: "K-ABC".into(),
        token: "s3cret-token".into(),
        site: "Hospital".into(),
        mode: SiteMode::FrontOffice,
        backend_url: "https://cc.example".into(),
        pin: Some(senim_protocol::enrol::SpkiPin([7; 32])),
    };
    store.set_enrolment(&e).unwrap();
    assert_eq!(store.enrolment().unwrap(), Some(e.clone()));
    assert!(!format!("{e:?}").contains("s3cret"));
    // A re-enrolment without a pin (loopback HTTP) forgets the old one.
    let plain = Enrolment {
        pin: None,
        ..e.clone()
    };
    store.set_enrolment(&plain).unwrap();
    assert_eq!(store.enrolment().unwrap(), Some(plain));
    store.set_enrolment(&e).unwrap();
    assert_eq!(store.signing_key().unwrap(), None);
    let key = senim_common::signing::PublicKey([9; 32]);
    store.set_signing_key(&key).unwrap();
    assert_eq!(store.signing_key().unwrap(), Some(key));
    store.note_error("backend unreachable", t(1)).unwrap();
    store.note_success(t(2)).unwrap();
    store.set_clock_skew_ms(-1500).unwrap();
    let q = store.queue().unwrap();
    assert_eq!(q.last_error.as_deref(), Some("backend unreachable"));
    assert_eq!(q.last_error_at, Some(t(1)));
    assert_eq!(q.last_success_at, Some(t(2)));
    assert_eq!(store.clock_skew_ms().unwrap(), -1500);
}

#[test]
fn free_space_is_measured_and_an_impossible_need_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let free = store.free_bytes().unwrap();
    assert!(free > 0);
    let err = store.check_space(u64::MAX / 2).unwrap_err();
    assert!(err.is_disk_full());
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert!(store.check_space(1).is_ok());
}

#[test]
fn a_calls_appeal_keeps_the_calls_number_and_length_and_its_recording_note_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let number = crate::store::new_appeal_id();
    let note = store
        .begin_recording(&NewRecording {
            take_dir: store.incoming_dir().join("call-take"),
            topic: Topic::Complaint,
            language: "kk".into(),
            iin: None,
            test: false,
            started_at: Utc::now(),
            call_id: Some(number.clone()),
        })
        .unwrap();
    let left = store.unfinished_recordings().unwrap();
    assert_eq!(left[0].recording.call_id.as_deref(), Some(number.as_str()));
    let committed = store
        .commit_appeal(&NewAppeal {
            appeal_id: Some(number.clone()),
            call_secs: Some(95),
            recording: Some(note),
            ..appeal(None, Utc::now())
        })
        .unwrap();
    assert_eq!(committed, number);
    let record = store.appeal_record(&number).unwrap();
    assert_eq!(record.call_secs, Some(95));
    assert!(store.unfinished_recordings().unwrap().is_empty());
    // The same number twice is refused (nothing new is stored), as is a malformed one.
    assert!(store
        .commit_appeal(&NewAppeal {
            appeal_id: Some(number.clone()),
            ..appeal(None, Utc::now())
        })
        .is_err());
    assert!(store
        .commit_appeal(&NewAppeal {
            appeal_id: Some("call-1".into()),
            ..appeal(None, Utc::now())
        })
        .is_err());
}
