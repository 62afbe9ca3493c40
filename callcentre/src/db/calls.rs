//! Live calls as appeals: the row an answered call makes (or joins, when the kiosk's record
//! came first), its end and duration, and the notes and outcome its operator saves.

use super::sql::{params, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};

use super::{call_outcome, call_taken, ts, DbError};
use crate::deadlines::Deadlines;

/// An operator answered a live call: what its appeal row starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAnswered {
    pub appeal_id: String,
    pub kiosk_id: String,
    pub topic: String,
    pub test: bool,
    /// When the kiosk rang (the appeal's `created_at`).
    pub rang_at: DateTime<Utc>,
    pub answered_at: DateTime<Utc>,
    /// The operator's username and display name.
    pub operator: String,
    pub operator_name: String,
}

/// Makes the appeal row of an answered call (status `in_progress`, assigned to its operator), or
/// joins the call to the kiosk's record of the same id if that came first. `false` when the id
/// is another kiosk's appeal (nothing is stored then).
pub fn store_call_answered(
    tx: &Transaction<'_>,
    call: &CallAnswered,
    deadlines: &Deadlines,
) -> Result<bool, DbError> {
    let owner: Option<String> = tx
        .query_row(
            "SELECT kiosk_id FROM appeals WHERE id = ?1",
            [&call.appeal_id],
            |r| r.get(0),
        )
        .optional()?;
    match owner {
        Some(kiosk) if kiosk != call.kiosk_id => return Ok(false),
        Some(_) => {
            tx.execute(
                "UPDATE appeals SET call_answered_at = ?2, call_operator = ?3, \
                 call_operator_name = ?4 WHERE id = ?1",
                params![
                    call.appeal_id,
                    ts(call.answered_at),
                    call.operator,
                    call.operator_name
                ],
            )?;
        }
        None => {
            let due = deadlines.due_at(&call.topic, call.rang_at);
            tx.execute(
                "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                 interrupted, test, due_at, call_only, call_answered_at, call_operator, \
                 call_operator_name, anticorruption) \
                 VALUES (?1, ?2, ?3, ?4, ?5, '', 0, ?6, ?7, 1, ?5, ?8, ?9, ?10)",
                params![
                    call.appeal_id,
                    call.kiosk_id,
                    call.topic,
                    ts(call.rang_at),
                    ts(call.answered_at),
                    call.test,
                    ts(due),
                    call.operator,
                    call.operator_name,
                    // Reports of bribes go to the anti-corruption queue from arrival.
                    call.topic == "bribe_report"
                ],
            )?;
        }
    }
    call_taken(tx, &call.appeal_id, &call.operator, call.answered_at)?;
    Ok(true)
}

/// An answered call ended after `secs` seconds, for `end` (`hung_up`, `lost`, `error`).
pub fn store_call_ended(
    tx: &Transaction<'_>,
    appeal_id: &str,
    kiosk_id: &str,
    secs: u32,
    end: &str,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE appeals SET call_secs = ?3, call_end = ?4 WHERE id = ?1 AND kiosk_id = ?2",
        params![appeal_id, kiosk_id, secs, end],
    )?;
    Ok(())
}

/// What saving a call's notes and outcome did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeSaved {
    Saved,
    /// No appeal of an answered call has this id.
    NoSuchCall,
    /// Another operator took the call.
    NotYours,
}

/// The call's outcomes, as stored.
pub const CALL_OUTCOMES: [&str; 2] = ["resolved", "follow_up"];

/// Saves the notes and outcome of a call its operator took. "Resolved on the call" moves the
/// appeal to `answered`, "needs follow-up" keeps (or puts) it `in_progress`; both are logged
/// as status changes like any other (see [`call_outcome`]).
pub fn save_call_outcome(
    tx: &Transaction<'_>,
    appeal_id: &str,
    operator: &str,
    notes: Option<&str>,
    outcome: Option<&str>,
    now: DateTime<Utc>,
) -> Result<OutcomeSaved, DbError> {
    let taker: Option<Option<String>> = tx
        .query_row(
            "SELECT call_operator FROM appeals WHERE id = ?1 AND call_answered_at IS NOT NULL",
            [appeal_id],
            |r| r.get(0),
        )
        .optional()?;
    match taker {
        None => return Ok(OutcomeSaved::NoSuchCall),
        Some(taker) if taker.as_deref() != Some(operator) => return Ok(OutcomeSaved::NotYours),
        Some(_) => {}
    }
    tx.execute(
        "UPDATE appeals SET call_notes = ?2, call_outcome = COALESCE(?3, call_outcome) \
         WHERE id = ?1",
        params![appeal_id, notes, outcome],
    )?;
    match outcome {
        Some("resolved") => call_outcome(tx, appeal_id, operator, true, now)?,
        Some("follow_up") => call_outcome(tx, appeal_id, operator, false, now)?,
        _ => {}
    }
    Ok(OutcomeSaved::Saved)
}
