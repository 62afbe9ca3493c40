//! The audit trail: who did what, when and from where (sign-ins, appeal views, video plays,
//! IIN reveals, assignments, answers, enrolment codes, kiosk revocations, operator changes,
//! purges, refusals).

use chrono::{DateTime, Utc};
use rusqlite::{params, Transaction};

use super::{ts, DbError};

/// One action to record. `actor` is the operator's username (for a failed sign-in: the name
/// that was tried); `address` the client's address where there is one. Never personal data
/// of a citizen: an appeal is named by its number only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    pub actor: Option<&'a str>,
    /// A stable action name, e.g. `sign_in`, `sign_in_failed`, `appeal_view`, `video_play`,
    /// `iin_reveal`, `assign`, `answer`, `close`, `status`, `extend`, `enrol_code`,
    /// `kiosk_revoke`, `operator_add`, `operator_disable`, `password_reset`, `purge`,
    /// `forbidden`.
    pub action: &'a str,
    pub appeal_id: Option<&'a str>,
    pub target: Option<&'a str>,
    pub address: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// Adds a row to the audit trail, in the caller's transaction.
pub fn audit(
    tx: &Transaction<'_>,
    entry: &AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, action, appeal_id, target, address, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        ts(now),
        entry.actor,
        entry.action,
        entry.appeal_id,
        entry.target,
        entry.address,
        entry.detail
    ])?;
    Ok(())
}
