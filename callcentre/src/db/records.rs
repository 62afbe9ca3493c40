//! Record batches from kiosks (appeals, guide events, device faults), stored all or none,
//! and the recent device faults the fleet view lists. An appeal's check code is kept only as
//! its SHA-256 (`check_hash`).

use super::sql::{params, Connection, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};
use senim_protocol::{Record, RecordBody, RecordOutcome, RecordResult};
use std::collections::HashMap;

use super::{code_hash, parse_ts, ts, DbError};
use crate::deadlines::Deadlines;
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
    deadlines: &Deadlines,
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
                // An answered live call of this kiosk made the row: the record joins it.
                let owner: Option<(String, bool)> = tx
                    .prepare_cached("SELECT kiosk_id, call_only FROM appeals WHERE id = ?1")?
                    .query_row([&a.appeal_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match owner {
                    Some((owner, true)) if owner == kiosk_id => {
                        join_call(tx, a, now)?;
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
                        continue;
                    }
                    Some(_) => {
                        return Ok(Err(BatchConflict::AppealIdTaken {
                            key: record.key.clone(),
                            appeal_id: a.appeal_id.clone(),
                        }));
                    }
                    None => {}
                }
                let due = deadlines.due_at(a.topic.as_str(), a.created_at);
                tx.prepare_cached(
                    "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                     iin, callback_phone, body_text, expected_video_bytes, expected_video_sha256, \
                     duration_seconds, interrupted, test, due_at, call_secs, check_hash, \
                     anticorruption) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                     ?17, ?18)",
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
                    a.call_secs,
                    a.check_code.as_deref().map(code_hash),
                    // Reports of bribes go to the anti-corruption queue from arrival.
                    a.topic.as_str() == "bribe_report",
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

/// The kiosk's record of a live call joins the row the answered call made: its language,
/// identity, phone, text and video, the kiosk's call length if the server has none.
fn join_call(
    tx: &Transaction<'_>,
    a: &senim_protocol::AppealRecord,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.prepare_cached(
        "UPDATE appeals SET language = ?2, iin = ?3, callback_phone = ?4, body_text = ?5, \
         expected_video_bytes = ?6, expected_video_sha256 = ?7, duration_seconds = ?8, \
         interrupted = ?9, test = CASE WHEN test <> 0 OR ?10 <> 0 THEN 1 ELSE 0 END, \
         call_secs = COALESCE(call_secs, ?11), \
         received_at = ?12, call_only = 0, check_hash = COALESCE(?13, check_hash) WHERE id = ?1",
    )?
    .execute(params![
        a.appeal_id,
        a.language,
        a.iin,
        a.callback_phone,
        a.text,
        a.video.as_ref().map(|v| v.bytes as i64),
        a.video.as_ref().map(|v| v.sha256.clone()),
        a.video.as_ref().map(|v| v.duration_seconds),
        a.interrupted,
        a.test,
        a.call_secs,
        ts(now),
        a.check_code.as_deref().map(code_hash),
    ])?;
    Ok(())
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
