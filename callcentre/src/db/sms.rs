//! The SMS outbox and the status-page link codes made for each SMS: queueing a message,
//! finding the ones due, marking them sent (phone and text erased) or failed (retried later).

use super::sql::{params, Connection, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, DbError};

/// One message waiting to be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    pub id: i64,
    pub appeal_id: String,
    pub phone: String,
    pub body: String,
    /// Tries so far.
    pub attempts: u32,
}

impl std::fmt::Debug for OutgoingSms {
    // The phone and the text are personal data: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingSms")
            .field("id", &self.id)
            .field("appeal_id", &self.appeal_id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Stores the SHA-256 (hex) of a link code that opens `appeal_id`'s status page.
pub fn store_status_link(
    tx: &Transaction<'_>,
    appeal_id: &str,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO status_links (code_hash, appeal_id, created_at) VALUES (?1, ?2, ?3)",
        params![code_hash, appeal_id, ts(now)],
    )?;
    Ok(())
}

/// The appeal a link code's hash opens, if any.
pub fn status_link_appeal(conn: &Connection, code_hash: &str) -> Result<Option<String>, DbError> {
    conn.query_row(
        "SELECT appeal_id FROM status_links WHERE code_hash = ?1",
        [code_hash],
        |r| r.get(0),
    )
    .optional()
}

/// Queues a message (due now) and notes it in the appeal's history; its id.
pub fn queue_sms(
    tx: &Transaction<'_>,
    appeal_id: &str,
    phone: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    let id: i64 = tx.query_row(
        "INSERT INTO sms_outbox (appeal_id, phone, body, created_at, next_at) \
         VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        params![appeal_id, phone, body, ts(now)],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO appeal_events (appeal_id, at, operator, action, note) \
         VALUES (?1, ?2, 'server', 'sms', 'queued')",
        params![appeal_id, ts(now)],
    )?;
    Ok(id)
}

/// Unsent messages due at `now`, oldest first, at most `limit`.
pub fn due_sms(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<OutgoingSms>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, appeal_id, phone, body, attempts FROM sms_outbox \
         WHERE sent_at IS NULL AND next_at <= ?1 AND phone != '' ORDER BY next_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ts(now), limit as i64], |r| {
        Ok(OutgoingSms {
            id: r.get(0)?,
            appeal_id: r.get(1)?,
            phone: r.get(2)?,
            body: r.get(3)?,
            attempts: r.get(4)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

/// When the next unsent message is due, if there is one.
pub fn next_sms_at(conn: &Connection) -> Result<Option<DateTime<Utc>>, DbError> {
    let next: Option<String> = conn.query_row(
        "SELECT min(next_at) FROM sms_outbox WHERE sent_at IS NULL AND phone != ''",
        [],
        |r| r.get(0),
    )?;
    Ok(next.as_deref().and_then(parse_ts))
}

/// The gateway took the message: its phone and text are erased, the history notes it.
pub fn sms_sent(tx: &Transaction<'_>, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    let appeal: Option<String> = tx
        .query_row(
            "UPDATE sms_outbox SET sent_at = ?2, phone = '', body = '', attempts = attempts + 1, \
             last_error = NULL WHERE id = ?1 AND sent_at IS NULL RETURNING appeal_id",
            params![id, ts(now)],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(appeal) = appeal {
        tx.execute(
            "INSERT INTO appeal_events (appeal_id, at, operator, action, note) \
             VALUES (?1, ?2, 'server', 'sms', 'sent')",
            params![appeal, ts(now)],
        )?;
    }
    Ok(())
}

/// The gateway did not take it: one more attempt counted, tried again at `next_at`.
pub fn sms_failed(
    tx: &Transaction<'_>,
    id: i64,
    error: &str,
    next_at: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE sms_outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3 \
         WHERE id = ?1 AND sent_at IS NULL",
        params![id, error, ts(next_at)],
    )?;
    Ok(())
}

/// One outbox row as tests and the CLI look at it (no phone or text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsState {
    pub id: i64,
    pub attempts: u32,
    pub sent_at: Option<String>,
    pub next_at: String,
    pub last_error: Option<String>,
    /// The phone and text are still stored (erased once sent).
    pub pending_data: bool,
}

/// The outbox rows of an appeal, oldest first.
pub fn appeal_sms(conn: &Connection, appeal_id: &str) -> Result<Vec<SmsState>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, attempts, sent_at, next_at, last_error, phone != '' OR body != '' \
         FROM sms_outbox WHERE appeal_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([appeal_id], |r| {
        Ok(SmsState {
            id: r.get(0)?,
            attempts: r.get(1)?,
            sent_at: r.get(2)?,
            next_at: r.get(3)?,
            last_error: r.get(4)?,
            pending_data: r.get(5)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}
