//! Delivery: the outbox read in commit order as wire records, rows marked delivered (erasing
//! the appeal's personal data and check code) or refused, and videos through their tus upload to the server's
//! confirmed SHA-256, after which the file is deleted.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use senim_protocol::{Record, RecordBody};

use super::{io, ts, Store, StoreError};

/// One outbox item ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub seq: i64,
    pub record: Record,
}

/// A video the backend does not have yet (its appeal record is delivered).
#[derive(Clone, PartialEq, Eq)]
pub struct PendingVideo {
    pub appeal_id: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The tus upload created earlier, if any.
    pub upload_url: Option<String>,
    /// How many complete uploads of it the call-centre held with another SHA-256 so far.
    pub attempts: u32,
}

/// A record or video refused for good (or a video whose checksum kept failing): kept on the
/// kiosk with its reason for a technician, while the rest of the queue flows past it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Parked {
    /// `appeal`, `guide_event`, `device_fault` (a record) or `video`.
    pub kind: String,
    /// The appeal number for an appeal or its video, else the outbox sequence number.
    pub id: String,
    /// Why, as the call-centre said it (its code and message) or the kiosk found it.
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path names a person's recording: not for logs.
        f.debug_struct("PendingVideo")
            .field("appeal_id", &self.appeal_id)
            .field("bytes", &self.bytes)
            .field("upload", &self.upload_url.is_some())
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Store {
    /// The oldest undelivered records, in commit order.
    pub fn pending_records(&self, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, ref_id, key FROM outbox \
             WHERE delivered_at IS NULL AND rejected_at IS NULL ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, kind, ref_id, key) in rows {
            let record = match kind.as_str() {
                "appeal" => RecordBody::Appeal(self.appeal_record(&ref_id)?),
                "guide_event" => RecordBody::GuideEvent(self.guide_record(&ref_id)?),
                "device_fault" => RecordBody::DeviceFault(self.fault_record(&ref_id)?),
                other => {
                    return Err(StoreError::Corrupt {
                        what: "outbox kind",
                        detail: other.to_string(),
                    })
                }
            };
            out.push(Outgoing {
                seq,
                record: Record { key, record },
            });
        }
        Ok(out)
    }

    /// The backend stored these records (now or earlier): they leave the outbox, and the
    /// personal data of delivered appeals is erased here (the backend has it), with the check
    /// code (not personal, but a secret the call-centre now holds as a hash).
    pub fn mark_delivered(&mut self, seqs: &[i64], now: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut mark = tx.prepare_cached(
                "UPDATE outbox SET delivered_at = ?2 WHERE seq = ?1 AND delivered_at IS NULL",
            )?;
            let mut scrub = tx.prepare_cached(
                "UPDATE appeals SET iin = NULL, callback_phone = NULL, text = NULL, check_code = NULL, \
                 sealed_fields = NULL \
                 WHERE id = (SELECT ref_id FROM outbox WHERE seq = ?1 AND kind = 'appeal')",
            )?;
            let now = ts(now);
            for seq in seqs {
                mark.execute(params![seq, now])?;
                scrub.execute([seq])?;
            }
        }
        tx.commit()?;
        self.checkpoint_erased()
    }

    /// The backend refused a record for good (a documented refusal code): the record is
    /// parked — it leaves the queue and is kept, with the reason, for a technician
    /// (`senim-kiosk queue`, `doctor`, the technician screen, the heartbeat's `parked`).
    pub fn mark_rejected(
        &mut self,
        seq: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE outbox SET rejected_at = ?2, rejection = ?3 WHERE seq = ?1",
            params![seq, ts(now), reason],
        )?;
        // Erased like a delivered appeal's: nothing the kiosk can read stays. Only the sealed
        // fields (which the kiosk cannot open) and the check code stay, so that a technician's
        // `queue --retry-parked` can still deliver the appeal whole.
        tx.execute(
            "UPDATE appeals SET iin = NULL, callback_phone = NULL, text = NULL \
             WHERE id = (SELECT ref_id FROM outbox WHERE seq = ?1 AND kind = 'appeal')",
            [seq],
        )?;
        tx.commit()?;
        self.checkpoint_erased()
    }

    /// The oldest video whose appeal the backend has but whose bytes it does not.
    pub fn next_video(&self) -> Result<Option<PendingVideo>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT a.id, a.video_file, a.video_bytes, a.video_sha256, a.upload_url, \
                 a.video_attempts \
                 FROM appeals a JOIN outbox o ON o.kind = 'appeal' AND o.ref_id = a.id \
                 WHERE a.video_file IS NOT NULL AND a.video_confirmed_at IS NULL \
                 AND a.video_parked_at IS NULL \
                 AND o.delivered_at IS NOT NULL ORDER BY o.seq LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.map(
            |(appeal_id, file, bytes, sha256, upload_url, attempts)| PendingVideo {
                path: self.videos_dir().join(file),
                appeal_id,
                bytes: bytes as u64,
                sha256,
                upload_url,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            },
        ))
    }

    /// The call-centre's copy of a video did not match the SHA-256 sealed at commit: counts
    /// the attempt durably and forgets the upload (the next one starts afresh). Returns the
    /// number of failed attempts so far.
    pub fn note_video_mismatch(&mut self, appeal_id: &str) -> Result<u32, StoreError> {
        let n: i64 = self.conn.query_row(
            "UPDATE appeals SET video_attempts = video_attempts + 1, upload_url = NULL \
             WHERE id = ?1 RETURNING video_attempts",
            [appeal_id],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Parks a video: refused for good, unreadable, or its checksum failed too often. The
    /// file stays (a technician may look at it); the next video goes.
    pub fn park_video(
        &mut self,
        appeal_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE appeals SET video_parked_at = ?2, video_parked_reason = ?3, upload_url = NULL \
             WHERE id = ?1 AND video_confirmed_at IS NULL",
            params![appeal_id, ts(now), reason],
        )?;
        Ok(())
    }

    /// Puts every parked record and video back in the queue (a technician's `senim-kiosk
    /// queue --retry-parked`, once the cause is fixed); a video's checksum attempts start
    /// again. Returns how many items were parked.
    pub fn unpark_all(&mut self) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let records = tx.execute(
            "UPDATE outbox SET rejected_at = NULL, rejection = NULL \
             WHERE rejected_at IS NOT NULL AND delivered_at IS NULL",
            [],
        )?;
        let videos = tx.execute(
            "UPDATE appeals SET video_parked_at = NULL, video_parked_reason = NULL, \
             video_attempts = 0 WHERE video_parked_at IS NOT NULL AND video_confirmed_at IS NULL",
            [],
        )?;
        tx.commit()?;
        Ok(records + videos)
    }

    /// Everything parked, oldest first: records refused for good and parked videos.
    pub fn parked(&self) -> Result<Vec<Parked>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, CASE kind WHEN 'appeal' THEN ref_id ELSE CAST(seq AS TEXT) END, \
             COALESCE(rejection, ''), rejected_at FROM outbox WHERE rejected_at IS NOT NULL \
             UNION ALL \
             SELECT 'video', id, COALESCE(video_parked_reason, ''), video_parked_at FROM appeals \
             WHERE video_parked_at IS NOT NULL AND video_confirmed_at IS NULL \
             ORDER BY 4",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(kind, id, reason, at)| {
                Ok(Parked {
                    kind,
                    id,
                    reason,
                    at: super::parse_ts(&at)?,
                })
            })
            .collect()
    }

    /// Whether the call-centre has an appeal's record and (if it has one) its video:
    /// `(record delivered, video confirmed or none)`; `None` for an unknown number.
    pub fn appeal_delivery(&self, appeal_id: &str) -> Result<Option<(bool, bool)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT o.delivered_at IS NOT NULL, \
                 a.video_file IS NULL OR a.video_confirmed_at IS NOT NULL \
                 FROM appeals a JOIN outbox o ON o.kind = 'appeal' AND o.ref_id = a.id \
                 WHERE a.id = ?1",
                [appeal_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Remembers (or forgets, with `None`) the tus upload of an appeal's video.
    pub fn set_upload_url(&mut self, appeal_id: &str, url: Option<&str>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE appeals SET upload_url = ?2 WHERE id = ?1",
            params![appeal_id, url],
        )?;
        Ok(())
    }

    /// The backend holds the video with the right SHA-256: record it, then delete the file.
    pub fn confirm_video(&mut self, appeal_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let file: Option<String> = self
            .conn
            .query_row(
                "UPDATE appeals SET video_confirmed_at = ?2, upload_url = NULL WHERE id = ?1 \
                 AND video_confirmed_at IS NULL RETURNING video_file",
                params![appeal_id, ts(now)],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(file) = file {
            let path = self.videos_dir().join(file);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot delete a delivered video")(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::{NewAppeal, NewVideo, VIDEOS_DIR};
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    fn take(store: &Store, name: &str, bytes: &[u8]) -> NewVideo {
        let path = store.incoming_dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        NewVideo { path, seconds: 42 }
    }

    fn appeal(video: Option<NewVideo>, at: DateTime<Utc>) -> NewAppeal {
        NewAppeal {
            topic: senim_protocol::Topic::Complaint,
            language: "kk".into(),
            iin: None,
            callback_phone: None,
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

    #[test]
    fn checksum_failures_are_counted_durably_and_a_parked_video_lets_the_next_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = {
            let mut store = Store::open(dir.path()).unwrap();
            let v1 = take(&store, "a.webm", b"first video");
            let first = store.commit_appeal(&appeal(Some(v1), t(0))).unwrap();
            let v2 = take(&store, "b.webm", b"second video");
            let second = store.commit_appeal(&appeal(Some(v2), t(1))).unwrap();
            let seqs: Vec<i64> = store
                .pending_records(10)
                .unwrap()
                .iter()
                .map(|o| o.seq)
                .collect();
            store.mark_delivered(&seqs, t(2)).unwrap();
            store
                .set_upload_url(&first, Some("/api/v1/uploads/x"))
                .unwrap();
            assert_eq!(store.note_video_mismatch(&first).unwrap(), 1);
            (first, second)
        };
        // Counted in the file: a restart does not reset it; the failed upload is forgotten.
        let mut store = Store::open(dir.path()).unwrap();
        let next = store.next_video().unwrap().unwrap();
        assert_eq!(
            (next.appeal_id.as_str(), next.attempts),
            (first.as_str(), 1)
        );
        assert_eq!(next.upload_url, None);
        assert_eq!(store.note_video_mismatch(&first).unwrap(), 2);

        store
            .park_video(&first, "checksum failed 2 times", t(3))
            .unwrap();
        assert_eq!(store.next_video().unwrap().unwrap().appeal_id, second);
        let q = store.queue().unwrap();
        assert_eq!(q.kinds["video"].pending, 1);
        assert_eq!(q.kinds["video"].rejected, 1);
        assert_eq!(q.parked_count(), 1);
        assert_eq!(q.pending_video_bytes, b"second video".len() as u64);
        assert_eq!(
            q.parked,
            vec![Parked {
                kind: "video".into(),
                id: first.clone(),
                reason: "checksum failed 2 times".into(),
                at: t(3),
            }]
        );
        assert!(dir
            .path()
            .join(VIDEOS_DIR)
            .join(format!("{first}.webm"))
            .exists());
    }
}
