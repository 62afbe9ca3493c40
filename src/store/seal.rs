//! Sealing appeals to the call-centre (issue 19): the call-centre's age recipient as the kiosk
//! learned it, the sealing of a take and of personal fields, the sealing of appeals committed
//! before a recipient was known, and erasure that leaves nothing in the SQLite file or its WAL.
//!
//! A kiosk that knows a recipient commits every appeal sealed (`Store::commit_appeal_with_code`
//! calls [`seal_take`] and [`seal_fields`]); from then on it cannot read them back. A kiosk that
//! knows none yet (enrolled with a call-centre older than sealing) commits them as before and
//! seals every undelivered one the moment it learns a recipient ([`Store::seal_pending`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, TransactionBehavior};
use senim_common::seal::Recipient;
use senim_protocol::SealedFields;
use sha2::{Digest, Sha256};

use super::{io, Store, StoreError, VIDEOS_DIR};

/// The file name of an appeal's sealed video under `videos/`.
pub(super) fn sealed_video_name(appeal_id: &str) -> String {
    format!("{appeal_id}.webm.age")
}

/// A sealed take: the age file written beside its destination, durable, with what the upload
/// announces.
pub(super) struct SealedTake {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Seals the take at `take` into `dest` (a new file; fsynced), hashing the sealed bytes as they
/// are written. The take itself is left alone: the caller removes it once the appeal is
/// committed.
pub(super) fn seal_take(
    recipient: &Recipient,
    take: &Path,
    dest: &Path,
) -> Result<SealedTake, StoreError> {
    let mut input = File::open(take).map_err(io("cannot read the recorded video"))?;
    let out = File::create(dest).map_err(io("cannot write the sealed video"))?;
    let mut hashing = Hashing {
        inner: BufWriter::with_capacity(256 * 1024, out),
        hasher: Sha256::new(),
    };
    let result = recipient.seal_stream(&mut input, &mut hashing);
    let bytes = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(dest);
            return Err(seal_error(e));
        }
    };
    let Hashing { inner, hasher } = hashing;
    let file = inner
        .into_inner()
        .map_err(|e| io("cannot write the sealed video")(e.into_error()))?;
    file.sync_all()
        .map_err(io("cannot make the sealed video durable"))?;
    Ok(SealedTake {
        path: dest.to_path_buf(),
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// The personal fields sealed, or `None` when there are none.
pub(super) fn seal_fields(
    recipient: &Recipient,
    fields: &SealedFields,
) -> Result<Option<Vec<u8>>, StoreError> {
    if fields.is_empty() {
        return Ok(None);
    }
    let json = serde_json::to_vec(fields).map_err(|e| StoreError::Corrupt {
        what: "appeal fields",
        detail: e.to_string(),
    })?;
    recipient.seal(&json).map(Some).map_err(seal_error)
}

fn seal_error(e: senim_common::seal::SealError) -> StoreError {
    match e {
        senim_common::seal::SealError::Io(source) => StoreError::Io {
            what: "cannot seal the appeal",
            source,
        },
        other => StoreError::Corrupt {
            what: "sealed appeal",
            detail: other.to_string(),
        },
    }
}

/// Removes a file and makes its folder durable; a file already gone is fine.
pub(super) fn remove_durably(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("cannot remove the plaintext take")(e)),
    }
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("cannot make the video folder durable"))?;
    }
    Ok(())
}

impl Store {
    /// The call-centre's age recipient, learned at enrolment or from a heartbeat answer.
    pub fn seal_recipient(&self) -> Result<Option<Recipient>, StoreError> {
        Ok(self.meta("seal_recipient")?.and_then(|k| k.parse().ok()))
    }

    /// Keeps the call-centre's recipient; `true` when it is new (or rotated), so the caller
    /// seals what is pending with [`Store::seal_pending`].
    pub fn set_seal_recipient(&mut self, recipient: &Recipient) -> Result<bool, StoreError> {
        let known = self.seal_recipient()?;
        if known.as_ref() == Some(recipient) {
            return Ok(false);
        }
        self.set_meta("seal_recipient", &recipient.to_string())?;
        Ok(true)
    }

    /// Erasure that erases: `secure_delete` (set on every connection) has zeroed what was
    /// deleted or overwritten in the database file; this copies the WAL back and truncates it,
    /// so the old page images leave the WAL too. A reader holding part of the WAL makes it a
    /// no-op (logged); the next erasure tries again.
    pub fn checkpoint_erased(&self) -> Result<(), StoreError> {
        if !senim_common::sqlite::checkpoint_truncate(&self.conn)? {
            tracing::warn!("the WAL could not be truncated now (a reader is busy); erased data leaves it at the next checkpoint");
        }
        Ok(())
    }

    /// Seals every appeal whose record has not left the kiosk yet and is not sealed: its
    /// personal fields into `sealed_fields` (the plaintext columns set to NULL), its video into
    /// `videos/<id>.webm.age` (the plaintext file removed). Appeals whose record the
    /// call-centre already has keep their video as announced (the upload must match it).
    /// The number of appeals sealed.
    pub fn seal_pending(&mut self) -> Result<usize, StoreError> {
        let Some(recipient) = self.seal_recipient()? else {
            return Ok(0);
        };
        let rows = {
            let mut stmt = self.conn.prepare(
                "SELECT a.id, a.iin, a.callback_phone, a.text, a.video_file, a.video_sealed, \
                 a.video_confirmed_at IS NULL FROM appeals a JOIN outbox o \
                 ON o.kind = 'appeal' AND o.ref_id = a.id \
                 WHERE o.delivered_at IS NULL AND ((a.sealed_fields IS NULL AND \
                 (a.iin IS NOT NULL OR a.callback_phone IS NOT NULL OR a.text IS NOT NULL)) \
                 OR (a.video_file IS NOT NULL AND a.video_sealed = 0 \
                 AND a.video_confirmed_at IS NULL))",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        SealedFields {
                            iin: r.get(1)?,
                            callback_phone: r.get(2)?,
                            text: r.get(3)?,
                        },
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, bool>(5)?,
                        r.get::<_, bool>(6)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        let videos = self.data_dir.join(VIDEOS_DIR);
        let mut sealed = 0;
        for (id, fields, video_file, video_sealed, unconfirmed) in rows {
            let blob = seal_fields(&recipient, &fields)?;
            let take = match (&video_file, video_sealed, unconfirmed) {
                (Some(file), false, true) => {
                    let plain = videos.join(file);
                    let dest = videos.join(sealed_video_name(&id));
                    Some((plain.clone(), seal_take(&recipient, &plain, &dest)?))
                }
                _ => None,
            };
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(blob) = &blob {
                tx.execute(
                    "UPDATE appeals SET sealed_fields = ?2, iin = NULL, callback_phone = NULL, \
                     text = NULL WHERE id = ?1",
                    params![id, blob],
                )?;
            }
            if let Some((_, t)) = &take {
                tx.execute(
                    "UPDATE appeals SET video_file = ?2, video_bytes = ?3, video_sha256 = ?4, \
                     video_sealed = 1, upload_url = NULL WHERE id = ?1",
                    params![id, sealed_video_name(&id), t.bytes as i64, t.sha256],
                )?;
            }
            tx.commit()?;
            if let Some((plain, _)) = take {
                remove_durably(&plain)?;
            }
            sealed += 1;
        }
        if sealed > 0 {
            File::open(&videos)
                .and_then(|d| d.sync_all())
                .map_err(io("cannot make the video folder durable"))?;
            self.checkpoint_erased()?;
            tracing::info!(
                sealed,
                "appeals committed before a seal recipient was known are sealed now"
            );
        }
        Ok(sealed)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use chrono::{TimeZone, Utc};
    use senim_common::seal::Identities;
    use senim_protocol::{AppealRecord, RecordBody, Topic};
    use sha2::{Digest, Sha256};

    use super::super::{NewAppeal, NewRecording, NewVideo, Store, VIDEOS_DIR};

    const IIN: &[u8] = b"880101300010";
    const PHONE: &[u8] = b"+77011234567";
    const TEXT: &[u8] = b"the doctor asked for money";

    /// A take that starts as a real WebM does (EBML header, doctype `webm`).
    fn webm_bytes() -> Vec<u8> {
        let mut v = vec![
            0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42,
            0xf2, 0x81, 0x04, 0x42, 0xf3, 0x81, 0x08, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm',
        ];
        v.extend((0..700_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        v
    }

    /// Every file under `dir` (SQLite, its WAL and SHM, videos, takes) read as raw bytes.
    fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let bytes = std::fs::read(&p).unwrap();
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        found.push(p.display().to_string());
                    }
                }
            }
        }
        found
    }

    fn assert_nothing_readable(dir: &std::path::Path, webm: &[u8]) {
        for (what, needle) in [
            ("IIN", IIN),
            ("phone", PHONE),
            ("text", TEXT),
            ("WebM header", &webm[..28]),
        ] {
            let hits = files_containing(dir, needle);
            assert!(hits.is_empty(), "the {what} is readable in {hits:?}");
        }
    }

    fn record(store: &Store) -> AppealRecord {
        let pending = store.pending_records(10).unwrap();
        let RecordBody::Appeal(a) = &pending[0].record.record else {
            panic!("not an appeal");
        };
        a.clone()
    }

    fn new_appeal(video: NewVideo, recording: Option<i64>) -> NewAppeal {
        NewAppeal {
            topic: Topic::BribeReport,
            language: "ru".into(),
            iin: Some(String::from_utf8(IIN.to_vec()).unwrap()),
            callback_phone: Some(String::from_utf8(PHONE.to_vec()).unwrap()),
            text: Some(String::from_utf8(TEXT.to_vec()).unwrap()),
            video: Some(video),
            interrupted: false,
            test: false,
            created_at: Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap(),
            recording,
            appeal_id: None,
            call_secs: None,
        }
    }

    /// Opens what the kiosk sends as the call-centre does: fields and video.
    fn open_as_call_centre(
        ids: &Identities,
        dir: &std::path::Path,
        a: &AppealRecord,
        id: &str,
    ) -> Vec<u8> {
        assert_eq!((&a.iin, &a.callback_phone, &a.text), (&None, &None, &None));
        let blob = base64::engine::general_purpose::STANDARD
            .decode(a.sealed.as_ref().expect("sealed fields"))
            .unwrap();
        let fields: senim_protocol::SealedFields =
            serde_json::from_slice(&ids.open(&blob).unwrap()).unwrap();
        assert_eq!(fields.iin.as_deref().map(str::as_bytes), Some(IIN));
        assert_eq!(
            fields.callback_phone.as_deref().map(str::as_bytes),
            Some(PHONE)
        );
        assert_eq!(fields.text.as_deref().map(str::as_bytes), Some(TEXT));
        let video = a.video.as_ref().unwrap();
        assert!(video.sealed);
        let file = dir.join(VIDEOS_DIR).join(format!("{id}.webm.age"));
        let sealed = std::fs::read(&file).unwrap();
        assert_eq!(video.bytes, sealed.len() as u64);
        assert_eq!(video.sha256, hex::encode(Sha256::digest(&sealed)));
        ids.open(&sealed).unwrap()
    }

    #[test]
    fn a_committed_appeal_leaves_no_iin_phone_text_or_webm_in_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Identities::generate();
        let mut store = Store::open(dir.path()).unwrap();
        // The sync worker's own connection is open beside the UI's, as in the kiosk.
        let _worker = Store::open(dir.path()).unwrap();
        assert!(store.set_seal_recipient(&ids.current()).unwrap());
        assert!(!store.set_seal_recipient(&ids.current()).unwrap());

        // The recording is noted with the IIN before the camera starts (plaintext until the
        // commit, as the take itself).
        let take_dir = store.incoming_dir().join("take-1");
        std::fs::create_dir_all(&take_dir).unwrap();
        let recording = store
            .begin_recording(&NewRecording {
                take_dir: take_dir.clone(),
                topic: Topic::BribeReport,
                language: "ru".into(),
                iin: Some(String::from_utf8(IIN.to_vec()).unwrap()),
                test: false,
                started_at: Utc::now(),
                call_id: None,
            })
            .unwrap();
        let webm = webm_bytes();
        let path = take_dir.join("take.webm");
        std::fs::write(&path, &webm).unwrap();
        assert!(
            !files_containing(dir.path(), IIN).is_empty(),
            "the test sees a plaintext IIN"
        );

        let id = store
            .commit_appeal(&new_appeal(
                NewVideo {
                    path: path.clone(),
                    seconds: 120,
                },
                Some(recording),
            ))
            .unwrap();
        assert!(!path.exists(), "the plaintext take is removed");
        assert_nothing_readable(dir.path(), &webm);

        // Only the call-centre opens it, and the video is the take, byte for byte.
        let a = record(&store);
        assert_eq!(open_as_call_centre(&ids, dir.path(), &a, &id), webm);
        assert!(Identities::generate()
            .open(
                &std::fs::read(dir.path().join(VIDEOS_DIR).join(format!("{id}.webm.age"))).unwrap()
            )
            .is_err());
    }

    #[test]
    fn a_kiosk_without_a_recipient_seals_its_queue_the_moment_it_learns_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let webm = webm_bytes();
        let path = store.incoming_dir().join("take.webm");
        std::fs::write(&path, &webm).unwrap();
        let id = store
            .commit_appeal(&new_appeal(NewVideo { path, seconds: 120 }, None))
            .unwrap();
        // No recipient: committed as before (the citizen is never refused).
        let a = record(&store);
        assert_eq!(a.iin.as_deref().map(str::as_bytes), Some(IIN));
        assert!(a.sealed.is_none() && !a.video.as_ref().unwrap().sealed);

        let ids = Identities::generate();
        assert!(store.set_seal_recipient(&ids.current()).unwrap());
        assert_eq!(store.seal_pending().unwrap(), 1);
        assert_eq!(store.seal_pending().unwrap(), 0, "sealed once");
        assert_nothing_readable(dir.path(), &webm);
        let a = record(&store);
        assert_eq!(open_as_call_centre(&ids, dir.path(), &a, &id), webm);
    }

    #[test]
    fn delivered_and_refused_appeals_are_erased_from_the_file_and_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut seqs = Vec::new();
        for _ in 0..2 {
            let mut a = new_appeal(
                NewVideo {
                    path: std::path::PathBuf::new(),
                    seconds: 0,
                },
                None,
            );
            a.video = None;
            store.commit_appeal(&a).unwrap();
        }
        for o in store.pending_records(10).unwrap() {
            seqs.push(o.seq);
        }
        assert!(
            !files_containing(dir.path(), IIN).is_empty(),
            "the test sees a plaintext IIN"
        );
        store.mark_delivered(&seqs[..1], Utc::now()).unwrap();
        store
            .mark_rejected(seqs[1], "bad_record", Utc::now())
            .unwrap();
        for needle in [IIN, PHONE, TEXT] {
            let hits = files_containing(dir.path(), needle);
            assert!(
                hits.is_empty(),
                "{} readable in {hits:?}",
                String::from_utf8_lossy(needle)
            );
        }
    }
}
