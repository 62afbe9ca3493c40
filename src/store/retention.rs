//! Retention: delivered (or refused) items purged after `[store] retention_days`, and video
//! files that belong to no appeal (a commit that crashed half-way) swept once an hour old.

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;

use super::{io, ts, Store, StoreError};

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    pub outbox: usize,
    pub appeals: usize,
    pub guide_sessions: usize,
    pub device_faults: usize,
}

impl Store {
    /// Removes delivered (or refused) items older than `retention_days`, and video files
    /// that belong to no appeal (a commit that crashed half-way) once they are an hour old.
    pub fn purge(&mut self, now: DateTime<Utc>, retention_days: u32) -> Result<Purged, StoreError> {
        let cutoff = ts(now - chrono::Duration::days(i64::from(retention_days)));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done = "(delivered_at IS NOT NULL OR rejected_at IS NOT NULL) AND created_at < ?1";
        let appeals = tx.execute(
            &format!(
                "DELETE FROM appeals WHERE (video_file IS NULL OR video_confirmed_at IS NOT NULL) \
                 AND id IN (SELECT ref_id FROM outbox WHERE kind = 'appeal' AND {done})"
            ),
            [&cutoff],
        )?;
        tx.execute(
            &format!(
                "DELETE FROM guide_events WHERE CAST(id AS TEXT) IN \
                 (SELECT ref_id FROM outbox WHERE kind = 'guide_event' AND {done})"
            ),
            [&cutoff],
        )?;
        let guide_sessions = tx.execute(
            "DELETE FROM guide_sessions WHERE started_at < ?1 AND NOT EXISTS \
             (SELECT 1 FROM guide_events e WHERE e.session_id = guide_sessions.id)",
            [&cutoff],
        )?;
        let device_faults = tx.execute(
            &format!(
                "DELETE FROM device_faults WHERE CAST(id AS TEXT) IN \
                 (SELECT ref_id FROM outbox WHERE kind = 'device_fault' AND {done})"
            ),
            [&cutoff],
        )?;
        // Outbox rows go last, and only where their business row is gone.
        let outbox = tx.execute(
            &format!(
                "DELETE FROM outbox WHERE {done} AND NOT EXISTS \
                 (SELECT 1 FROM appeals a WHERE outbox.kind = 'appeal' AND a.id = outbox.ref_id)"
            ),
            [&cutoff],
        )?;
        tx.commit()?;
        self.sweep_orphan_videos(now)?;
        Ok(Purged {
            outbox,
            appeals,
            guide_sessions,
            device_faults,
        })
    }

    fn sweep_orphan_videos(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let dir = self.videos_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let hour_ago = std::time::SystemTime::from(now - chrono::Duration::hours(1));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".webm") else {
                continue;
            };
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
            if !old {
                continue;
            }
            let known: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM appeals WHERE id = ?1 AND video_confirmed_at IS NULL)",
                [id],
                |r| r.get(0),
            )?;
            if !known {
                std::fs::remove_file(entry.path()).map_err(io("cannot delete a stray video"))?;
            }
        }
        Ok(())
    }
}
