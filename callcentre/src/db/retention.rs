//! Retention in the store: which closed appeals are due for erasure, and erasing their
//! personal data (IIN, phone, text, answer, call notes, history notes, SMS, status links) in
//! the caller's transaction. Numbers, dates, topic, site, status and durations stay.

use super::sql::{params, Connection, Transaction};
use chrono::{DateTime, Utc};

use super::{ts, DbError};

/// The history's name for the retention job (`appeal_events.operator` of an `erase` row).
pub const RETENTION_ACTOR: &str = "retention";

/// A closed appeal whose personal data is due for erasure, with the uploads whose bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueErasure {
    pub appeal_id: String,
    /// Every upload of the appeal (the received video and any unfinished attempt).
    pub upload_ids: Vec<String>,
}

/// Closed appeals not yet erased that were closed at or before `cutoff`: by `closed_at`, or,
/// for appeals closed before schema 4 (no `closed_at`), by their latest move to `closed` in
/// the history. Appeals closed with neither are left alone.
pub fn due_erasures(conn: &Connection, cutoff: DateTime<Utc>) -> Result<Vec<DueErasure>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id FROM appeals \
             WHERE erased_at IS NULL AND closed_at <= ?1 AND status = 'closed' \
         UNION \
         SELECT a.id FROM appeals a \
             WHERE a.erased_at IS NULL AND a.closed_at IS NULL AND a.status = 'closed' \
             AND (SELECT max(e.at) FROM appeal_events e \
                  WHERE e.appeal_id = a.id AND e.to_status = 'closed') <= ?1 \
         ORDER BY 1",
    )?;
    let ids = stmt
        .query_map([ts(cutoff)], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut uploads = conn.prepare(
        "SELECT id FROM uploads WHERE appeal_id = ?1 \
         UNION SELECT video_upload_id FROM appeals WHERE id = ?1 AND video_upload_id IS NOT NULL \
         ORDER BY 1",
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for appeal_id in ids {
        let upload_ids = uploads
            .query_map([&appeal_id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        out.push(DueErasure {
            appeal_id,
            upload_ids,
        });
    }
    Ok(out)
}

/// Erases the personal data of one appeal, in the caller's transaction: IIN, phone, text,
/// answer text, call notes and the notes of its history become NULL, its video is detached
/// (the caller deletes the files after commit), unfinished uploads are expired, SMS rows lose
/// phone and text (pending ones are never sent), status links go, `erased_at` is set and an
/// `erase` row joins the history. `false` (nothing changed) if it was erased already.
pub fn erase_appeal(
    tx: &Transaction<'_>,
    appeal_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let now = ts(now);
    let n = tx.execute(
        "UPDATE appeals SET iin = NULL, callback_phone = NULL, body_text = NULL, \
         answer_text = NULL, call_notes = NULL, video_upload_id = NULL, erased_at = ?2 \
         WHERE id = ?1 AND erased_at IS NULL",
        params![appeal_id, now],
    )?;
    if n == 0 {
        return Ok(false);
    }
    // Operators' notes and reasons may quote the citizen; who did what and when stays.
    tx.execute(
        "UPDATE appeal_events SET note = NULL WHERE appeal_id = ?1 AND note IS NOT NULL",
        [appeal_id],
    )?;
    tx.execute(
        "UPDATE sms_outbox SET phone = '', body = '', \
         last_error = CASE WHEN sent_at IS NULL THEN 'erased by retention before it was sent' \
                      ELSE last_error END, \
         next_at = CASE WHEN sent_at IS NULL THEN '9999-12-31T00:00:00.000Z' ELSE next_at END \
         WHERE appeal_id = ?1",
        [appeal_id],
    )?;
    tx.execute("DELETE FROM status_links WHERE appeal_id = ?1", [appeal_id])?;
    tx.execute(
        "UPDATE uploads SET expired_at = ?2 \
         WHERE appeal_id = ?1 AND completed_at IS NULL AND expired_at IS NULL",
        params![appeal_id, now],
    )?;
    tx.execute(
        "INSERT INTO appeal_events (appeal_id, at, operator, action) VALUES (?1, ?2, ?3, 'erase')",
        params![appeal_id, now, RETENTION_ACTOR],
    )?;
    Ok(true)
}

/// Uploads of appeals already erased: their files should be gone (the purge deletes any that
/// are left, e.g. after a deletion failed or the server stopped right after commit).
pub fn erased_upload_ids(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT u.id FROM uploads u JOIN appeals a ON a.id = u.appeal_id \
         WHERE a.erased_at IS NOT NULL ORDER BY u.id",
    )?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}
