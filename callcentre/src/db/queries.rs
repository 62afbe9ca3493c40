//! Every SQL statement of the backend, as small typed functions over a connection.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use senim_protocol::{
    CatalogDocument, CatalogProblem, Heartbeat, Record, RecordBody, RecordOutcome, RecordResult,
    SiteMode,
};

use super::{parse_ts, ts, DbError};

// ---------------------------------------------------------------- enrolment and kiosks

/// A kiosk as the bearer-token check finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLookup {
    Kiosk { kiosk_id: String, site: String },
    Revoked { kiosk_id: String },
    Unknown,
}

/// Why an enrolment code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    Unknown,
    Used,
    Expired,
}

pub fn insert_enrol_code(
    tx: &Transaction<'_>,
    code_hash: &str,
    site: &str,
    mode: SiteMode,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO enrol_codes (code_hash, site, mode, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![code_hash, site, mode.as_str(), ts(now), ts(expires)],
    )?;
    Ok(())
}

/// What a redeemed code was made for: the site and its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub site: String,
    pub mode: SiteMode,
}

/// Marks a code used and creates the kiosk, or says why the code cannot be used.
pub fn redeem_enrol_code(
    tx: &Transaction<'_>,
    code_hash: &str,
    now: DateTime<Utc>,
    kiosk_id: &str,
    token_hash: &str,
) -> Result<Result<Enrolled, CodeProblem>, DbError> {
    let row: Option<(String, String, String, Option<String>)> = tx
        .query_row(
            "SELECT site, mode, expires_at, used_at FROM enrol_codes WHERE code_hash = ?1",
            [code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((site, mode, expires_at, used_at)) = row else {
        return Ok(Err(CodeProblem::Unknown));
    };
    // The column's CHECK admits only the two names.
    let mode = SiteMode::parse(&mode).unwrap_or_default();
    if used_at.is_some() {
        return Ok(Err(CodeProblem::Used));
    }
    if expires_at <= ts(now) {
        return Ok(Err(CodeProblem::Expired));
    }
    tx.execute(
        "UPDATE enrol_codes SET used_at = ?2, kiosk_id = ?3 WHERE code_hash = ?1",
        params![code_hash, ts(now), kiosk_id],
    )?;
    tx.execute(
        "INSERT INTO kiosks (id, site, mode, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kiosk_id, site, mode.as_str(), token_hash, ts(now)],
    )?;
    Ok(Ok(Enrolled { site, mode }))
}

pub fn kiosk_by_token(conn: &Connection, token_hash: &str) -> Result<TokenLookup, DbError> {
    let row: Option<(String, String, Option<String>)> = conn
        .prepare_cached("SELECT id, site, revoked_at FROM kiosks WHERE token_hash = ?1")?
        .query_row([token_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(match row {
        None => TokenLookup::Unknown,
        Some((kiosk_id, _, Some(_))) => TokenLookup::Revoked { kiosk_id },
        Some((kiosk_id, site, None)) => TokenLookup::Kiosk { kiosk_id, site },
    })
}

/// Revokes a kiosk's token; `false` if there is no such kiosk.
pub fn revoke_kiosk(tx: &Transaction<'_>, id: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE kiosks SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        params![id, ts(now)],
    )?;
    Ok(n == 1)
}

/// A kiosk row for the fleet view and `kiosk list`.
#[derive(Debug, Clone, PartialEq)]
pub struct KioskRow {
    pub id: String,
    pub site: String,
    pub enrolled_at: String,
    pub revoked: bool,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub state: Option<String>,
    pub queue_depth: Option<u32>,
    pub devices_json: Option<String>,
    pub app_version: Option<String>,
    pub clock_skew_ms: Option<i64>,
    pub mode: SiteMode,
    /// The catalogue version in use, by the last stored heartbeat.
    pub catalog_version: Option<String>,
    /// A newest catalogue the kiosk refused, by the last stored heartbeat.
    pub catalog_problem: Option<CatalogProblem>,
}

pub fn list_kiosks(conn: &Connection) -> Result<Vec<KioskRow>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, site, enrolled_at, revoked_at IS NOT NULL, last_heartbeat, state, \
         queue_depth, devices_json, app_version, clock_skew_ms, mode, catalog_version, \
         catalog_problem_json FROM kiosks ORDER BY site, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(KioskRow {
            id: r.get(0)?,
            site: r.get(1)?,
            enrolled_at: r.get(2)?,
            revoked: r.get(3)?,
            last_heartbeat: r.get::<_, Option<String>>(4)?.as_deref().and_then(parse_ts),
            state: r.get(5)?,
            queue_depth: r.get(6)?,
            devices_json: r.get(7)?,
            app_version: r.get(8)?,
            clock_skew_ms: r.get(9)?,
            mode: SiteMode::parse(&r.get::<_, String>(10)?).unwrap_or_default(),
            catalog_version: r.get(11)?,
            catalog_problem: r
                .get::<_, Option<String>>(12)?
                .and_then(|j| serde_json::from_str(&j).ok()),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last heartbeat of a kiosk as kept in memory and flushed now and then.
#[derive(Debug, Clone)]
pub struct HeartbeatSeen {
    pub received: DateTime<Utc>,
    pub beat: Heartbeat,
}

pub fn save_heartbeats(
    tx: &Transaction<'_>,
    beats: &[(String, HeartbeatSeen)],
) -> Result<(), DbError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE kiosks SET last_heartbeat = ?2, state = ?3, queue_depth = ?4, devices_json = ?5, \
         app_version = ?6, catalog_version = ?7, clock_skew_ms = ?8, catalog_problem_json = ?9 \
         WHERE id = ?1",
    )?;
    for (id, seen) in beats {
        let state = serde_json::to_value(seen.beat.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        let devices = serde_json::to_string(&seen.beat.devices).unwrap_or_default();
        let skew = (seen.received - seen.beat.sent_at).num_milliseconds();
        let problem = seen
            .beat
            .catalog_problem
            .as_ref()
            .and_then(|p| serde_json::to_string(p).ok());
        stmt.execute(params![
            id,
            ts(seen.received),
            state,
            seen.beat.queue_depth,
            devices,
            seen.beat.versions.app,
            seen.beat.versions.catalog,
            skew,
            problem
        ])?;
    }
    Ok(())
}

// ---------------------------------------------------------------- records

/// A batch cannot be stored: the key was used before for a different body, or the appeal
/// number belongs to another appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchConflict {
    KeyReused { key: String },
    AppealIdTaken { key: String, appeal_id: String },
}

/// Stores a batch (all or nothing): new records are inserted, replays found, conflicts
/// refused. `body_hashes[i]` is the SHA-256 of record `i`'s canonical body.
pub fn store_batch(
    tx: &Transaction<'_>,
    kiosk_id: &str,
    records: &[Record],
    body_hashes: &[String],
    now: DateTime<Utc>,
    due_days: u32,
) -> Result<Result<Vec<RecordResult>, BatchConflict>, DbError> {
    // Report the time exactly as stored, so a replay returns the very same result.
    let now = parse_ts(&ts(now)).unwrap_or(now);
    let mut results = Vec::with_capacity(records.len());
    let mut find = tx.prepare_cached(
        "SELECT body_sha256, stored_at FROM records WHERE kiosk_id = ?1 AND idem_key = ?2",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO records (kiosk_id, idem_key, kind, body_sha256, stored_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (record, hash) in records.iter().zip(body_hashes) {
        let seen: Option<(String, String)> = find
            .query_row(params![kiosk_id, record.key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if let Some((seen_hash, stored_at)) = seen {
            if &seen_hash != hash {
                return Ok(Err(BatchConflict::KeyReused {
                    key: record.key.clone(),
                }));
            }
            results.push(RecordResult {
                key: record.key.clone(),
                outcome: RecordOutcome::Duplicate,
                stored_at: parse_ts(&stored_at).unwrap_or(now),
            });
            continue;
        }
        match &record.record {
            RecordBody::Appeal(a) => {
                let taken: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM appeals WHERE id = ?1)")?
                    .query_row([&a.appeal_id], |r| r.get(0))?;
                if taken {
                    return Ok(Err(BatchConflict::AppealIdTaken {
                        key: record.key.clone(),
                        appeal_id: a.appeal_id.clone(),
                    }));
                }
                let due = a.created_at + Duration::days(i64::from(due_days));
                tx.prepare_cached(
                    "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                     iin, callback_phone, body_text, expected_video_bytes, expected_video_sha256, \
                     duration_seconds, interrupted, test, due_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    a.appeal_id,
                    kiosk_id,
                    a.topic.as_str(),
                    ts(a.created_at),
                    ts(now),
                    a.language,
                    a.iin,
                    a.callback_phone,
                    a.text,
                    a.video.as_ref().map(|v| v.bytes as i64),
                    a.video.as_ref().map(|v| v.sha256.clone()),
                    a.video.as_ref().map(|v| v.duration_seconds),
                    a.interrupted,
                    a.test,
                    ts(due),
                ])?;
            }
            RecordBody::GuideEvent(e) => {
                let event = serde_json::to_value(e.event)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                tx.prepare_cached(
                    "INSERT INTO guide_events (kiosk_id, session_id, service_id, event, step, \
                     rating, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    kiosk_id,
                    e.session_id,
                    e.service_id,
                    event,
                    e.step,
                    e.rating,
                    ts(e.at)
                ])?;
            }
            RecordBody::DeviceFault(f) => {
                let status = serde_json::to_value(f.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                tx.prepare_cached(
                    "INSERT INTO device_faults (kiosk_id, device, status, detail, at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    kiosk_id,
                    f.device,
                    status,
                    f.detail,
                    ts(f.at)
                ])?;
            }
        }
        insert.execute(params![
            kiosk_id,
            record.key,
            record.record.kind(),
            hash,
            ts(now)
        ])?;
        results.push(RecordResult {
            key: record.key.clone(),
            outcome: RecordOutcome::Stored,
            stored_at: now,
        });
    }
    Ok(Ok(results))
}

/// One device fault as the fleet view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRow {
    pub device: String,
    pub status: String,
    pub detail: String,
    /// When the kiosk saw it (stored timestamp text, UTC).
    pub at: String,
}

/// Recent device faults per kiosk, newest first, at most `per_kiosk` each.
pub fn recent_faults(
    conn: &Connection,
    per_kiosk: usize,
) -> Result<HashMap<String, Vec<FaultRow>>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT kiosk_id, device, status, detail, at FROM device_faults ORDER BY at DESC LIMIT 2000",
    )?;
    let mut out: HashMap<String, Vec<_>> = HashMap::new();
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            FaultRow {
                device: r.get(1)?,
                status: r.get(2)?,
                detail: r.get(3)?,
                at: r.get(4)?,
            },
        ))
    })?;
    for row in rows {
        let (kiosk, fault) = row?;
        let list = out.entry(kiosk).or_default();
        if list.len() < per_kiosk {
            list.push(fault);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- uploads

/// An appeal as the upload creation checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealForUpload {
    pub expected_bytes: Option<u64>,
    pub has_video: bool,
}

pub fn appeal_for_upload(
    conn: &Connection,
    appeal_id: &str,
    kiosk_id: &str,
) -> Result<Option<AppealForUpload>, DbError> {
    Ok(conn
        .query_row(
            "SELECT expected_video_bytes, video_upload_id IS NOT NULL FROM appeals \
             WHERE id = ?1 AND kiosk_id = ?2",
            params![appeal_id, kiosk_id],
            |r| {
                Ok(AppealForUpload {
                    expected_bytes: r.get::<_, Option<i64>>(0)?.map(|b| b as u64),
                    has_video: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// A tus upload's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub id: String,
    pub kiosk_id: String,
    pub appeal_id: String,
    pub length: u64,
    pub offset: u64,
    pub metadata: String,
    pub expires_at: String,
    pub completed: bool,
    pub sha256: Option<String>,
    pub expired: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_upload(
    tx: &Transaction<'_>,
    id: &str,
    kiosk_id: &str,
    appeal_id: &str,
    length: u64,
    metadata: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO uploads (id, kiosk_id, appeal_id, length, metadata, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            kiosk_id,
            appeal_id,
            length as i64,
            metadata,
            ts(now),
            ts(expires)
        ],
    )?;
    Ok(())
}

pub fn get_upload(conn: &Connection, id: &str) -> Result<Option<UploadRow>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, kiosk_id, appeal_id, length, offset, metadata, expires_at, \
             completed_at IS NOT NULL, sha256, expired_at IS NOT NULL FROM uploads WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(UploadRow {
                id: r.get(0)?,
                kiosk_id: r.get(1)?,
                appeal_id: r.get(2)?,
                length: r.get::<_, i64>(3)? as u64,
                offset: r.get::<_, i64>(4)? as u64,
                metadata: r.get(5)?,
                expires_at: r.get(6)?,
                completed: r.get(7)?,
                sha256: r.get(8)?,
                expired: r.get(9)?,
            })
        })
        .optional()?)
}

/// Records the durable offset of an upload and pushes its expiry on.
pub fn set_upload_offset(
    tx: &Transaction<'_>,
    id: &str,
    offset: u64,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE uploads SET offset = ?2, expires_at = ?3 WHERE id = ?1",
        params![id, offset as i64, ts(expires)],
    )?;
    Ok(())
}

/// Marks an upload complete and, when its hash matches what the kiosk declared (or nothing
/// was declared), attaches it to its appeal. Returns whether it was attached.
pub fn complete_upload(
    tx: &Transaction<'_>,
    id: &str,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    tx.execute(
        "UPDATE uploads SET completed_at = ?2, sha256 = ?3 WHERE id = ?1",
        params![id, ts(now), sha256],
    )?;
    let n = tx.execute(
        "UPDATE appeals SET video_upload_id = u.id, video_bytes = u.length, video_sha256 = u.sha256 \
         FROM (SELECT id, appeal_id, length, sha256 FROM uploads WHERE id = ?1) AS u \
         WHERE appeals.id = u.appeal_id AND appeals.video_upload_id IS NULL \
         AND (appeals.expected_video_sha256 IS NULL OR appeals.expected_video_sha256 = u.sha256)",
        [id],
    )?;
    Ok(n == 1)
}

/// Whether an upload is the received video of an appeal.
pub fn upload_attached(conn: &Connection, id: &str) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM appeals WHERE video_upload_id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

pub fn delete_upload(tx: &Transaction<'_>, id: &str) -> Result<(), DbError> {
    tx.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
    Ok(())
}

/// Marks unfinished uploads past their expiry as expired; returns their ids (to delete bytes).
pub fn expire_uploads(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Vec<String>, DbError> {
    let mut stmt = tx.prepare(
        "UPDATE uploads SET expired_at = ?1 WHERE completed_at IS NULL AND expired_at IS NULL \
         AND expires_at <= ?1 RETURNING id",
    )?;
    let ids = stmt.query_map([ts(now)], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

// ---------------------------------------------------------------- appeals for operators

/// Appeal statuses, in the order an appeal moves through them.
pub const STATUSES: [&str; 4] = ["new", "in_progress", "answered", "closed"];

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
}

const APPEAL_COLUMNS: &str = "a.id, a.kiosk_id, k.site, a.topic, a.created_at, a.language, a.iin, \
    a.callback_phone, a.body_text, a.duration_seconds, a.interrupted, a.test, a.status, a.due_at, \
    a.video_upload_id, a.video_bytes, a.video_sha256, a.expected_video_bytes";

fn appeal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppealRow> {
    let time = |i: usize| -> rusqlite::Result<DateTime<Utc>> {
        let s: String = r.get(i)?;
        parse_ts(&s).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, s.into())
        })
    };
    Ok(AppealRow {
        id: r.get(0)?,
        kiosk_id: r.get(1)?,
        site: r.get(2)?,
        topic: r.get(3)?,
        created_at: time(4)?,
        language: r.get(5)?,
        iin: r.get(6)?,
        callback_phone: r.get(7)?,
        text: r.get(8)?,
        duration_seconds: r.get(9)?,
        interrupted: r.get(10)?,
        test: r.get(11)?,
        status: r.get(12)?,
        due_at: time(13)?,
        video_upload_id: r.get(14)?,
        video_bytes: r.get::<_, Option<i64>>(15)?.map(|b| b as u64),
        video_sha256: r.get(16)?,
        expected_video_bytes: r.get::<_, Option<i64>>(17)?.map(|b| b as u64),
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
    Ok(conn.query_row(&sql, [id], appeal_row).optional()?)
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
    Ok(rows.collect::<Result<_, _>>()?)
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

// ---------------------------------------------------------------- operators and sessions

/// `false` if the username is taken.
pub fn insert_operator(
    tx: &Transaction<'_>,
    username: &str,
    display_name: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = tx.execute(
        "INSERT INTO operators (username, display_name, password_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO NOTHING",
        params![username, display_name, password_hash, ts(now)],
    )?;
    Ok(n == 1)
}

/// The stored password hash and display name of an operator.
pub fn operator_login(
    conn: &Connection,
    username: &str,
) -> Result<Option<(String, String)>, DbError> {
    Ok(conn
        .query_row(
            "SELECT password_hash, display_name FROM operators WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn insert_session(
    tx: &Transaction<'_>,
    token_hash: &str,
    username: &str,
    csrf: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ts(now)])?;
    tx.execute(
        "INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, username, csrf, ts(now), ts(expires)],
    )?;
    Ok(())
}

/// A signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub username: String,
    pub display_name: String,
    pub csrf: String,
}

pub fn session(
    conn: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT s.username, o.display_name, s.csrf FROM sessions s \
             JOIN operators o ON o.username = s.username \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )?
        .query_row(params![token_hash, ts(now)], |r| {
            Ok(SessionRow {
                username: r.get(0)?,
                display_name: r.get(1)?,
                csrf: r.get(2)?,
            })
        })
        .optional()?)
}

pub fn delete_session(tx: &Transaction<'_>, token_hash: &str) -> Result<(), DbError> {
    tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

// ---------------------------------------------------------------- catalogue

/// The newest published catalogue version's name, without its files (heartbeats ask often).
pub fn latest_catalog_version(conn: &Connection) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT version FROM catalog_versions ORDER BY published_at DESC, version DESC LIMIT 1",
        )?
        .query_row([], |r| r.get(0))
        .optional()?)
}

/// What publishing a catalogue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A new version was stored and is the newest now.
    New { version: String },
    /// The newest version already has exactly this content: nothing changed.
    Unchanged { version: String },
    /// An older version has exactly this content: it is the newest again (a roll-back), under
    /// its old name.
    Restored {
        version: String,
        first_published: String,
    },
}

/// Stores a validated catalogue unless a version with the same content exists.
/// `version` is the name a new version gets; `files_json` the canonical JSON of the files.
pub fn publish_catalog(
    tx: &Transaction<'_>,
    version: &str,
    files_json: &str,
    content_sha256: &str,
    now: DateTime<Utc>,
) -> Result<Published, DbError> {
    let latest = latest_catalog_version(tx)?;
    let same: Option<(String, String)> = tx
        .query_row(
            "SELECT version, published_at FROM catalog_versions WHERE content_sha256 = ?1",
            [content_sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match same {
        Some((version, _)) if latest.as_deref() == Some(version.as_str()) => {
            Ok(Published::Unchanged { version })
        }
        Some((version, first_published)) => {
            tx.execute(
                "UPDATE catalog_versions SET published_at = ?2 WHERE version = ?1",
                params![version, ts(now)],
            )?;
            Ok(Published::Restored {
                version,
                first_published,
            })
        }
        None => {
            tx.execute(
                "INSERT INTO catalog_versions (version, published_at, files_json, content_sha256) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![version, ts(now), files_json, content_sha256],
            )?;
            Ok(Published::New {
                version: version.to_string(),
            })
        }
    }
}

/// A published version as `catalog list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVersionRow {
    pub version: String,
    pub published_at: String,
    /// Service files in it.
    pub files: usize,
    /// Kiosks that reported running it in their last stored heartbeat.
    pub kiosks: u32,
    /// Kiosks whose last stored heartbeat says they refused it.
    pub refused_by: u32,
}

/// Every published version, newest first.
pub fn list_catalogs(conn: &Connection) -> Result<Vec<CatalogVersionRow>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT c.version, c.published_at, c.files_json, \
         (SELECT COUNT(*) FROM kiosks k WHERE k.catalog_version = c.version \
            AND k.revoked_at IS NULL), \
         (SELECT COUNT(*) FROM kiosks k WHERE k.revoked_at IS NULL \
            AND json_extract(k.catalog_problem_json, '$.version') = c.version) \
         FROM catalog_versions c ORDER BY c.published_at DESC, c.version DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        let files: String = r.get(2)?;
        Ok(CatalogVersionRow {
            version: r.get(0)?,
            published_at: r.get(1)?,
            files: serde_json::from_str::<BTreeMap<String, String>>(&files)
                .map(|f| f.len())
                .unwrap_or(0),
            kiosks: r.get(3)?,
            refused_by: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn latest_catalog(conn: &Connection) -> Result<Option<CatalogDocument>, DbError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT version, published_at, files_json FROM catalog_versions \
             ORDER BY published_at DESC, version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.map(|(version, published_at, files)| CatalogDocument {
        version,
        published_at: parse_ts(&published_at).unwrap_or_default(),
        files: serde_json::from_str::<BTreeMap<String, String>>(&files).unwrap_or_default(),
    }))
}

// ---------------------------------------------------------------- service-guide figures

/// How guide events are grouped for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuideGrouping {
    Service,
    Kiosk,
    /// The call-centre's local day.
    Day,
}

/// Guide events of one group (a service, a kiosk or a local day), counted per kind, step and
/// rating. `step_reached` events are left out: the figures need outcomes, not the way there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideCount {
    /// The service id, the kiosk id, or the local date `YYYY-MM-DD`.
    pub key: String,
    /// The kiosk's site, when grouped by kiosk.
    pub site: Option<String>,
    /// The wire name of [`senim_protocol::GuideEventKind`].
    pub event: String,
    pub step: Option<u32>,
    pub rating: Option<u8>,
    /// Events in this group.
    pub events: u64,
    /// Citizen sessions among them.
    pub sessions: u64,
}

/// A stretch of time with one offset from UTC in the call-centre's zone: from the previous
/// span's end (or the range start) until `until` (exclusive; `None` for the last span).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSpan {
    pub until: Option<DateTime<Utc>>,
    pub offset_secs: i32,
}

/// Counts the guide events of `[from, to)` by one grouping (local days from `spans`),
/// optionally for one service or one kiosk. One pass over the range per grouping: each
/// answer has a row per group, kind, step and rating, however many events there are.
pub fn guide_counts(
    conn: &Connection,
    grouping: GuideGrouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    spans: &[OffsetSpan],
    service: Option<&str>,
    kiosk: Option<&str>,
) -> Result<Vec<GuideCount>, DbError> {
    let mut values: Vec<rusqlite::types::Value> = vec![
        ts(from).into(),
        ts(to).into(),
        service.map(str::to_owned).into(),
        kiosk.map(str::to_owned).into(),
    ];
    let key = match grouping {
        GuideGrouping::Service => "g.service_id".to_string(),
        GuideGrouping::Kiosk => "g.kiosk_id".to_string(),
        // SQLite knows no time zones: the day is the UTC time moved by the offset in force.
        GuideGrouping::Day => {
            let modifier = |secs: i32| format!("{secs:+} seconds");
            match spans {
                [] => "date(g.at)".to_string(),
                [only] => {
                    values.push(modifier(only.offset_secs).into());
                    format!("date(g.at, ?{})", values.len())
                }
                _ => {
                    let mut case = String::from("CASE");
                    for span in spans {
                        values.push(modifier(span.offset_secs).into());
                        let m = values.len();
                        match span.until {
                            Some(until) => {
                                values.push(ts(until).into());
                                case.push_str(&format!(
                                    " WHEN g.at < ?{} THEN date(g.at, ?{m})",
                                    m + 1
                                ));
                            }
                            None => case.push_str(&format!(" ELSE date(g.at, ?{m})")),
                        }
                    }
                    case.push_str(" END");
                    case
                }
            }
        }
    };
    let grouped = format!(
        "SELECT {key} AS grp, g.event AS event, g.step AS step, g.rating AS rating, \
         COUNT(*) AS events, COUNT(DISTINCT g.session_id) AS sessions \
         FROM guide_events g \
         WHERE g.at >= ?1 AND g.at < ?2 AND g.event <> 'step_reached' \
         AND (?3 IS NULL OR g.service_id = ?3) AND (?4 IS NULL OR g.kiosk_id = ?4) \
         GROUP BY grp, g.event, g.step, g.rating"
    );
    let sql = match grouping {
        GuideGrouping::Kiosk => format!(
            "SELECT x.grp, k.site, x.event, x.step, x.rating, x.events, x.sessions \
             FROM ({grouped}) x JOIN kiosks k ON k.id = x.grp"
        ),
        _ => format!("SELECT grp, NULL, event, step, rating, events, sessions FROM ({grouped})"),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| {
        Ok(GuideCount {
            key: r.get(0)?,
            site: r.get(1)?,
            event: r.get(2)?,
            step: r.get(3)?,
            rating: r.get(4)?,
            events: r.get::<_, i64>(5)?.max(0) as u64,
            sessions: r.get::<_, i64>(6)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every kiosk's id and site, for the figures' filter.
pub fn kiosk_sites(conn: &Connection) -> Result<Vec<(String, String)>, DbError> {
    let mut stmt = conn.prepare("SELECT id, site FROM kiosks ORDER BY site, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
