//! Appeals as operators see them: the queue, one appeal, its history, status changes and
//! logged actions (notes, IIN reveals).

use super::sql::{params, Connection, OptionalExtension, Row, Transaction};
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, DbError};
/// Appeal statuses, in the order an appeal moves through them.
pub const STATUSES: [&str; 5] = ["new", "assigned", "in_progress", "answered", "closed"];

/// An appeal as the queue and the appeal page show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppealRow {
    pub id: String,
    pub kiosk_id: String,
    pub site: String,
    pub topic: String,
    pub created_at: DateTime<Utc>,
    pub language: String,
    pub iin: Option<String>,
    pub callback_phone: Option<String>,
    pub text: Option<String>,
    pub duration_seconds: Option<u32>,
    pub interrupted: bool,
    pub test: bool,
    pub status: String,
    pub due_at: DateTime<Utc>,
    pub video_upload_id: Option<String>,
    pub video_bytes: Option<u64>,
    pub video_sha256: Option<String>,
    pub expected_video_bytes: Option<u64>,
    /// The appeal was a live call (answered by an operator); see [`LiveCall`].
    pub call: Option<LiveCall>,
    /// The operator it is assigned to (username).
    pub assigned_to: Option<String>,
    /// The answer to the citizen, once written.
    pub answer: Option<Answer>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was closed without an answer.
    pub close_reason: Option<String>,
    /// Why the legal limit was extended, if it was.
    pub due_extended_reason: Option<String>,
    /// A report of a bribe or an improper demand (the anti-corruption queue).
    pub anticorruption: bool,
    /// When retention erased its personal data.
    pub erased_at: Option<DateTime<Utc>>,
}

/// The operator's answer to the citizen.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    /// `kk`, `ru` or `en`.
    pub language: String,
    pub at: DateTime<Utc>,
    /// Username of the operator who answered.
    pub by: String,
}

/// What an appeal that was a live call adds.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCall {
    pub answered_at: Option<DateTime<Utc>>,
    /// Seconds from answer to end; `None` while it goes on (or if the server stopped mid-call).
    pub secs: Option<u32>,
    pub operator: Option<String>,
    pub operator_name: Option<String>,
    /// `hung_up`, `lost` or `error`.
    pub end: Option<String>,
    pub notes: Option<String>,
    /// `resolved` or `follow_up`.
    pub outcome: Option<String>,
    /// No kiosk record has joined the call's row yet.
    pub call_only: bool,
}

pub(super) const APPEAL_COLUMNS: &str =
    "a.id, a.kiosk_id, k.site, a.topic, a.created_at, a.language, a.iin, \
    a.callback_phone, a.body_text, a.duration_seconds, a.interrupted, a.test, a.status, a.due_at, \
    a.video_upload_id, a.video_bytes, a.video_sha256, a.expected_video_bytes, a.call_answered_at, \
    a.call_secs, a.call_operator, a.call_operator_name, a.call_end, a.call_notes, a.call_outcome, \
    a.call_only, a.assigned_to, a.answer_text, a.answer_language, a.answered_at, a.answered_by, \
    a.closed_at, a.close_reason, a.due_extended_reason, a.anticorruption, a.erased_at";

pub(super) fn appeal_row(r: &Row) -> Result<AppealRow, DbError> {
    let time = |i: usize| -> Result<DateTime<Utc>, DbError> {
        let s: String = r.get(i)?;
        parse_ts(&s).ok_or_else(|| DbError::Value(format!("column {i}: {s:?} is not a time")))
    };
    Ok(AppealRow {
        id: r.get(0)?,
        kiosk_id: r.get(1)?,
        site: r.get(2)?,
        topic: r.get(3)?,
        created_at: time(4)?,
        language: r.get(5)?,
        // Sealed at rest (issue 19): opened as the row is read.
        iin: crate::sealing::open_at_rest(r.get(6)?),
        callback_phone: crate::sealing::open_at_rest(r.get(7)?),
        text: crate::sealing::open_at_rest(r.get(8)?),
        duration_seconds: r.get(9)?,
        interrupted: r.get(10)?,
        test: r.get(11)?,
        status: r.get(12)?,
        due_at: time(13)?,
        video_upload_id: r.get(14)?,
        video_bytes: r.get::<_, Option<i64>>(15)?.map(|b| b as u64),
        video_sha256: r.get(16)?,
        expected_video_bytes: r.get::<_, Option<i64>>(17)?.map(|b| b as u64),
        call: {
            let answered: Option<String> = r.get(18)?;
            let secs: Option<u32> = r.get(19)?;
            (answered.is_some() || secs.is_some()).then(|| LiveCall {
                answered_at: answered.as_deref().and_then(parse_ts),
                secs,
                operator: r.get(20).ok().flatten(),
                operator_name: r.get(21).ok().flatten(),
                end: r.get(22).ok().flatten(),
                notes: r.get(23).ok().flatten(),
                outcome: r.get(24).ok().flatten(),
                call_only: r.get(25).unwrap_or(false),
            })
        },
        assigned_to: r.get(26)?,
        answer: {
            let text: Option<String> = r.get(27)?;
            let language: Option<String> = r.get(28)?;
            let at: Option<String> = r.get(29)?;
            let by: Option<String> = r.get(30)?;
            match (text, at) {
                (Some(text), Some(at)) => Some(Answer {
                    text,
                    language: language.unwrap_or_default(),
                    at: parse_ts(&at).ok_or_else(|| {
                        DbError::Value(format!("column 29: {at:?} is not a time"))
                    })?,
                    by: by.unwrap_or_default(),
                }),
                _ => None,
            }
        },
        closed_at: r
            .get::<_, Option<String>>(31)?
            .as_deref()
            .and_then(parse_ts),
        close_reason: r.get(32)?,
        due_extended_reason: r.get(33)?,
        anticorruption: r.get(34)?,
        erased_at: r
            .get::<_, Option<String>>(35)?
            .as_deref()
            .and_then(parse_ts),
    })
}

/// Appeals, oldest first; `statuses` empty means all.
pub fn list_appeals(conn: &Connection, statuses: &[&str]) -> Result<Vec<AppealRow>, DbError> {
    let sql = format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals a JOIN kiosks k ON k.id = a.kiosk_id \
         ORDER BY a.created_at, a.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], appeal_row)?;
    let mut out = Vec::new();
    for row in rows {
        let row = row?;
        if statuses.is_empty() || statuses.contains(&row.status.as_str()) {
            out.push(row);
        }
    }
    Ok(out)
}

pub fn get_appeal(conn: &Connection, id: &str) -> Result<Option<AppealRow>, DbError> {
    let sql = format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals a JOIN kiosks k ON k.id = a.kiosk_id WHERE a.id = ?1"
    );
    conn.query_row(&sql, [id], appeal_row).optional()
}

/// One line of an appeal's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealEvent {
    pub at: String,
    pub operator: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub note: Option<String>,
}

pub fn appeal_events(conn: &Connection, id: &str) -> Result<Vec<AppealEvent>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT at, operator, action, from_status, to_status, note FROM appeal_events \
         WHERE appeal_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(AppealEvent {
            at: r.get(0)?,
            operator: r.get(1)?,
            action: r.get(2)?,
            from_status: r.get(3)?,
            to_status: r.get(4)?,
            note: r.get(5)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

/// Moves an appeal to a status and logs who did it; `None` if there is no such appeal.
pub fn change_status(
    tx: &Transaction<'_>,
    id: &str,
    operator: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbError> {
    let from: Option<String> = tx
        .query_row("SELECT status FROM appeals WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(from) = from else { return Ok(None) };
    if from != to {
        tx.execute(
            "UPDATE appeals SET status = ?2 WHERE id = ?1",
            params![id, to],
        )?;
        tx.execute(
            "INSERT INTO appeal_events (appeal_id, at, operator, action, from_status, to_status) \
             VALUES (?1, ?2, ?3, 'status', ?4, ?5)",
            params![id, ts(now), operator, from, to],
        )?;
    }
    Ok(Some(from))
}

/// Logs a note or an IIN reveal on an appeal.
pub fn log_appeal_action(
    tx: &Transaction<'_>,
    id: &str,
    operator: &str,
    action: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO appeal_events (appeal_id, at, operator, action, note) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, ts(now), operator, action, note],
    )?;
    Ok(())
}
