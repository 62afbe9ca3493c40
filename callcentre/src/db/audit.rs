//! The audit trail: who did what, when and from where (sign-ins, appeal views, video plays,
//! IIN reveals, assignments, answers, enrolment codes, kiosk revocations, operator changes,
//! purges, refusals).

use super::sql::{params, Connection, Transaction};
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, DbError};

/// One action to record. `actor` is the operator's username (for a failed sign-in: the name
/// that was tried); `address` the client's address where there is one. Never personal data
/// of a citizen: an appeal is named by its number only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    pub actor: Option<&'a str>,
    /// A stable action name, e.g. `sign_in`, `sign_in_failed`, `sign_in_locked` (detail: `name`,
    /// `address` or both), `appeal_view`, `video_play`,
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

/// One row of the audit trail, as the admin page and `senim-callcentre audit` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub appeal_id: Option<String>,
    pub target: Option<String>,
    pub address: Option<String>,
    pub detail: Option<String>,
}

/// Audit rows with `from <= at < to`, newest first, `limit` of them after skipping `offset`.
pub fn list_audit(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u32,
    offset: u32,
) -> Result<Vec<AuditRow>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, appeal_id, target, address, detail FROM audit \
         WHERE at >= ?1 AND at < ?2 ORDER BY at DESC, id DESC LIMIT ?3 OFFSET ?4",
    )?;
    let rows = stmt
        .query_map(params![ts(from), ts(to), limit, offset], |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                at: parse_ts(&r.get::<_, String>(1)?).unwrap_or_default(),
                actor: r.get(2)?,
                action: r.get(3)?,
                appeal_id: r.get(4)?,
                target: r.get(5)?,
                address: r.get(6)?,
                detail: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many audit rows have `from <= at < to`.
pub fn count_audit(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64, DbError> {
    conn.prepare_cached("SELECT count(*) FROM audit WHERE at >= ?1 AND at < ?2")?
        .query_row(params![ts(from), ts(to)], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::super::Db;
    use super::*;

    #[test]
    fn rows_are_listed_newest_first_within_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let t = |h: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
        };
        db.write(|tx| {
            for (h, action) in [(1, "sign_in"), (5, "forbidden"), (9, "sign_out")] {
                audit(
                    tx,
                    &AuditEntry {
                        actor: Some("aigerim"),
                        action,
                        address: Some("10.0.0.7"),
                        ..AuditEntry::default()
                    },
                    t(h),
                )?;
            }
            Ok::<_, DbError>(())
        })
        .unwrap();
        let rows = db.read(|c| list_audit(c, t(0), t(9), 10, 0)).unwrap();
        let actions: Vec<_> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["forbidden", "sign_in"], "the end is exclusive");
        assert_eq!(rows[0].address.as_deref(), Some("10.0.0.7"));
        assert_eq!(db.read(|c| count_audit(c, t(0), t(10))).unwrap(), 3);
        let page2 = db.read(|c| list_audit(c, t(0), t(10), 2, 2)).unwrap();
        assert_eq!(page2.len(), 1);
        assert_eq!(page2[0].action, "sign_in");
    }
}
