//! What the kiosk still has to deliver: counts per kind, bytes of video, the last error and
//! the last success, and what is parked (refused for good) with the reasons. Read by `senim-kiosk queue`, the technician screen and the heartbeat.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{parse_ts, Store, StoreError};

/// Counts for one kind of item (`appeal`, `guide_event`, `device_fault`, `video`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Committed on this kiosk (and not yet purged by retention).
    pub committed: u64,
    /// Not yet confirmed by the backend.
    pub pending: u64,
    /// Confirmed by the backend.
    pub delivered: u64,
    /// Parked: refused by the backend for good, or (a video) unreadable or failing its
    /// checksum `[sync] max_video_attempts` times; kept for a technician.
    pub rejected: u64,
}

/// The whole queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueReport {
    pub kinds: BTreeMap<&'static str, Counts>,
    /// Bytes of video still to upload (whole files; resumed uploads count in full).
    pub pending_video_bytes: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// What is parked, oldest first, with the reasons.
    pub parked: Vec<super::Parked>,
}

impl QueueReport {
    /// Items still to deliver, all kinds together.
    pub fn pending(&self) -> u64 {
        self.kinds.values().map(|c| c.pending).sum()
    }

    /// Items parked (records and videos), all kinds together.
    pub fn parked_count(&self) -> u64 {
        self.kinds.values().map(|c| c.rejected).sum()
    }
}

/// The kinds, in the order they are printed.
pub const KINDS: [&str; 4] = ["appeal", "video", "guide_event", "device_fault"];

impl Store {
    /// Counts per kind, pending video bytes, last error and last success.
    pub fn queue(&self) -> Result<QueueReport, StoreError> {
        let mut kinds: BTreeMap<&'static str, Counts> =
            KINDS.iter().map(|k| (*k, Counts::default())).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, COUNT(*), \
             COUNT(*) FILTER (WHERE delivered_at IS NULL AND rejected_at IS NULL), \
             COUNT(delivered_at), COUNT(rejected_at) FROM outbox GROUP BY kind",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Counts {
                    committed: r.get::<_, i64>(1)? as u64,
                    pending: r.get::<_, i64>(2)? as u64,
                    delivered: r.get::<_, i64>(3)? as u64,
                    rejected: r.get::<_, i64>(4)? as u64,
                },
            ))
        })?;
        for row in rows {
            let (kind, counts) = row?;
            if let Some(k) = KINDS.iter().find(|k| **k == kind) {
                kinds.insert(k, counts);
            }
        }
        // A video is parked by itself, or with its appeal record (never sent without it).
        let (committed, pending, delivered, parked, pending_bytes): (i64, i64, i64, i64, i64) =
            self.conn.query_row(
                "WITH v AS (SELECT a.video_bytes, a.video_file, a.video_confirmed_at, \
                 a.video_parked_at IS NOT NULL OR EXISTS (SELECT 1 FROM outbox o \
                 WHERE o.kind = 'appeal' AND o.ref_id = a.id AND o.rejected_at IS NOT NULL) \
                 AS parked FROM appeals a) \
                 SELECT COUNT(video_bytes), \
                 COUNT(*) FILTER (WHERE video_file IS NOT NULL AND video_confirmed_at IS NULL \
                 AND NOT parked), \
                 COUNT(video_confirmed_at), \
                 COUNT(*) FILTER (WHERE video_file IS NOT NULL AND video_confirmed_at IS NULL \
                 AND parked), \
                 COALESCE(SUM(video_bytes) FILTER (WHERE video_confirmed_at IS NULL \
                 AND NOT parked), 0) \
                 FROM v",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
        kinds.insert(
            "video",
            Counts {
                committed: committed as u64,
                pending: pending as u64,
                delivered: delivered as u64,
                rejected: parked as u64,
            },
        );
        let at = |key: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
            self.meta(key)?.map(|s| parse_ts(&s)).transpose()
        };
        Ok(QueueReport {
            kinds,
            pending_video_bytes: pending_bytes as u64,
            last_error: self.meta("last_error")?,
            last_error_at: at("last_error_at")?,
            last_success_at: at("last_success_at")?,
            parked: self.parked()?,
        })
    }
}
