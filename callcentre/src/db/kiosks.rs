//! Enrolment codes, kiosks (tokens, revocation, the fleet list) and their heartbeats.

use super::sql::{params, Connection, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};
use senim_protocol::{CatalogProblem, Heartbeat, SiteMode};

use super::{parse_ts, ts, DbError};
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
    let enrolled = match take_enrol_code(tx, code_hash, now, kiosk_id)? {
        Ok(e) => e,
        Err(problem) => return Ok(Err(problem)),
    };
    tx.execute(
        "INSERT INTO kiosks (id, site, mode, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            kiosk_id,
            enrolled.site,
            enrolled.mode.as_str(),
            token_hash,
            ts(now)
        ],
    )?;
    Ok(Ok(enrolled))
}

/// A re-enrolled kiosk's id, and the code's outcome.
pub type Reenrolled = (String, Result<Enrolled, CodeProblem>);

/// Re-enrolment of a machine that proves its previous token (even a revoked one): the code is
/// used, and the kiosk keeps its id with the new token, the code's site and mode, and no
/// revocation, so what it queued under the old token is delivered as its own. `Ok(None)`
/// when no kiosk ever held that token (the caller enrols a new kiosk instead).
pub fn reenrol_kiosk(
    tx: &Transaction<'_>,
    code_hash: &str,
    now: DateTime<Utc>,
    previous_token_hash: &str,
    token_hash: &str,
) -> Result<Option<Reenrolled>, DbError> {
    let kiosk_id: Option<String> = tx
        .query_row(
            "SELECT id FROM kiosks WHERE token_hash = ?1",
            [previous_token_hash],
            |r| r.get(0),
        )
        .optional()?;
    let Some(kiosk_id) = kiosk_id else {
        return Ok(None);
    };
    let enrolled = match take_enrol_code(tx, code_hash, now, &kiosk_id)? {
        Ok(e) => e,
        Err(problem) => return Ok(Some((kiosk_id, Err(problem)))),
    };
    tx.execute(
        "UPDATE kiosks SET token_hash = ?2, site = ?3, mode = ?4, enrolled_at = ?5, \
         revoked_at = NULL WHERE id = ?1",
        params![
            kiosk_id,
            token_hash,
            enrolled.site,
            enrolled.mode.as_str(),
            ts(now)
        ],
    )?;
    Ok(Some((kiosk_id, Ok(enrolled))))
}

/// Marks a code used by `kiosk_id`, or says why it cannot be used.
fn take_enrol_code(
    tx: &Transaction<'_>,
    code_hash: &str,
    now: DateTime<Utc>,
    kiosk_id: &str,
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
    /// The system image version running, by the last stored heartbeat.
    pub image_version: Option<String>,
    /// The last update report the kiosk sent.
    pub update: Option<senim_protocol::UpdateReport>,
    /// The last failed update (kept until another failure replaces it).
    pub update_failure: Option<senim_protocol::UpdateReport>,
}

pub fn list_kiosks(conn: &Connection) -> Result<Vec<KioskRow>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, site, enrolled_at, CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, \
         last_heartbeat, state, \
         queue_depth, devices_json, app_version, clock_skew_ms, mode, catalog_version, \
         catalog_problem_json, image_version, update_json, update_failure_json FROM kiosks \
         ORDER BY site, id",
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
            image_version: r.get(13)?,
            update: r
                .get::<_, Option<String>>(14)?
                .and_then(|j| serde_json::from_str(&j).ok()),
            update_failure: r
                .get::<_, Option<String>>(15)?
                .and_then(|j| serde_json::from_str(&j).ok()),
        })
    })?;
    rows.collect::<Result<_, _>>()
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
         app_version = ?6, catalog_version = ?7, clock_skew_ms = ?8, catalog_problem_json = ?9, \
         image_version = ?10, update_json = COALESCE(?11, update_json) WHERE id = ?1",
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
        // The last report stays shown after the kiosk stops sending one (a switch, a failure).
        let update = seen
            .beat
            .update
            .as_ref()
            .and_then(|u| serde_json::to_string(u).ok());
        stmt.execute(params![
            id,
            ts(seen.received),
            state,
            seen.beat.queue_depth,
            devices,
            seen.beat.versions.app,
            seen.beat.versions.catalog,
            skew,
            problem,
            seen.beat.versions.image,
            update
        ])?;
    }
    Ok(())
}
