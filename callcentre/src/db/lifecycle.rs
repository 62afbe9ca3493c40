//! An appeal's lifecycle: new → assigned → in progress → answered → closed, with only the
//! sensible transitions (assign and reassign, start work, answer, close — with a reason when
//! there is no answer —, reopen an answer, extend the deadline once). Each change writes the
//! appeal's history and the audit in the caller's transaction; a refused one changes nothing
//! and says why in the operator's language.
//!
//! Over 600 lines: every transition next to its checks and the refusals' messages, so one
//! file shows which move is allowed from where.

use super::sql::{params, Connection, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};

use super::{audit, parse_ts, ts, AuditEntry, DbError};
use crate::i18n::{tr, trc, trf, Lang};

/// The longest answer to a citizen, in characters.
pub const MAX_ANSWER_CHARS: usize = 10_000;
/// The longest reason (closing, extending), in characters.
pub const MAX_REASON_CHARS: usize = 1_000;

/// Who makes a change: an operator's username (or `cli`), and their address if known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub name: &'a str,
    pub address: Option<&'a str>,
}

/// What an operator tries to do to an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Assign,
    Start,
    Answer,
    Close,
    Reopen,
    Extend,
}

/// Why a change was refused (nothing was changed).
#[derive(Debug)]
pub enum LifecycleError {
    NoSuchAppeal,
    /// The action is not possible from the appeal's status.
    NotAllowed {
        action: Action,
        status: String,
    },
    /// The appeal is already assigned to this operator.
    AlreadyAssigned {
        to: String,
    },
    /// Only the operator the appeal is assigned to starts work on it.
    NotAssignee {
        assignee: Option<String>,
    },
    /// Closing an appeal without an answer needs a reason.
    ReasonNeeded,
    /// Extending the deadline needs a reason.
    ExtendReasonNeeded,
    EmptyAnswer,
    AnswerTooLong,
    ReasonTooLong,
    /// Not `kk`, `ru` or `en`.
    Language {
        found: String,
    },
    AlreadyExtended,
    NoSuchOperator {
        name: String,
    },
    OperatorDisabled {
        name: String,
    },
    /// The colleague lacks the role for this appeal (anti-corruption for flagged ones).
    WrongRole {
        name: String,
        anticorruption: bool,
    },
    /// The colleague may not handle appeals of this site.
    NotTheirSite {
        name: String,
        site: String,
    },
    Db(DbError),
}

impl From<DbError> for LifecycleError {
    fn from(e: DbError) -> Self {
        LifecycleError::Db(e)
    }
}

/// An appeal status as operators read it.
pub fn status_label(lang: Lang, status: &str) -> &'static str {
    match status {
        "new" => trc(lang, "appeal status", "New"),
        "assigned" => trc(lang, "appeal status", "Assigned"),
        "in_progress" => trc(lang, "appeal status", "In progress"),
        "answered" => trc(lang, "appeal status", "Answered"),
        "closed" => trc(lang, "appeal status", "Closed"),
        _ => trc(lang, "appeal status", "Unknown"),
    }
}

impl LifecycleError {
    /// What to tell the operator, in their language.
    pub fn message(&self, lang: Lang) -> String {
        use LifecycleError as E;
        match self {
            E::NoSuchAppeal => tr(lang, "There is no such appeal.").into(),
            E::NotAllowed { action, status } => {
                let status = status_label(lang, status);
                match action {
                    Action::Assign => trf(
                        lang,
                        "This appeal cannot be assigned: its status is “{0}”.",
                        &[&status],
                    ),
                    Action::Start => trf(
                        lang,
                        "Work starts on an assigned appeal; this one's status is “{0}”.",
                        &[&status],
                    ),
                    Action::Answer => trf(
                        lang,
                        "Only an assigned appeal or one in progress can be answered; this one's status is “{0}”. Assign it first.",
                        &[&status],
                    ),
                    Action::Close => tr(lang, "This appeal is already closed.").into(),
                    Action::Reopen => trf(
                        lang,
                        "Only an answered appeal can be reopened; this one's status is “{0}”.",
                        &[&status],
                    ),
                    Action::Extend => trf(
                        lang,
                        "Only an open appeal's deadline can be extended; this one's status is “{0}”.",
                        &[&status],
                    ),
                }
            }
            E::AlreadyAssigned { to } => {
                trf(lang, "This appeal is already assigned to {0}.", &[to])
            }
            E::NotAssignee { assignee: Some(who) } => trf(
                lang,
                "This appeal is assigned to {0}; only they can start work on it. Assign it to yourself first.",
                &[who],
            ),
            E::NotAssignee { assignee: None } => {
                tr(lang, "Assign this appeal to someone before work starts on it.").into()
            }
            E::ReasonNeeded => tr(
                lang,
                "This appeal has no answer: write why it is closed without one.",
            )
            .into(),
            E::ExtendReasonNeeded => tr(lang, "Write why the deadline is extended.").into(),
            E::EmptyAnswer => tr(lang, "The answer is empty: write the answer to the citizen.").into(),
            E::AnswerTooLong => trf(
                lang,
                "The answer is longer than {0} characters; shorten it.",
                &[&MAX_ANSWER_CHARS],
            ),
            E::ReasonTooLong => trf(
                lang,
                "The reason is longer than {0} characters; shorten it.",
                &[&MAX_REASON_CHARS],
            ),
            E::Language { found } => trf(
                lang,
                "The answer's language is kk, ru or en, not “{0}”.",
                &[found],
            ),
            E::AlreadyExtended => tr(
                lang,
                "The deadline of this appeal was already extended; it can be extended only once.",
            )
            .into(),
            E::NoSuchOperator { name } => trf(lang, "There is no operator “{0}”.", &[name]),
            E::OperatorDisabled { name } => trf(
                lang,
                "The operator “{0}” is disabled and cannot take appeals.",
                &[name],
            ),
            E::WrongRole {
                name,
                anticorruption: true,
            } => trf(
                lang,
                "{0} does not have the anti-corruption role this appeal needs.",
                &[name],
            ),
            E::WrongRole { name, .. } => trf(
                lang,
                "{0} does not have the operator role that handles appeals.",
                &[name],
            ),
            E::NotTheirSite { name, site } => trf(
                lang,
                "{0} does not handle appeals from {1}.",
                &[name, site],
            ),
            E::Db(e) => e.to_string(),
        }
    }
}

impl std::fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for LifecycleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LifecycleError::Db(e) => Some(e),
            _ => None,
        }
    }
}

/// The statuses of an appeal still waiting for its answer.
pub const OPEN_STATUSES: [&str; 3] = ["new", "assigned", "in_progress"];

/// The facts of an appeal a transition looks at.
struct Current {
    status: String,
    assigned_to: Option<String>,
    anticorruption: bool,
    site: String,
    extended: bool,
}

/// The appeal as it is, if `action` may be taken from its status (one of `from`).
fn current_for(
    tx: &Transaction<'_>,
    id: &str,
    action: Action,
    from: &[&str],
) -> Result<Current, LifecycleError> {
    let c = current(tx, id)?;
    if !from.contains(&c.status.as_str()) {
        return Err(LifecycleError::NotAllowed {
            action,
            status: c.status,
        });
    }
    Ok(c)
}

fn current(tx: &Transaction<'_>, id: &str) -> Result<Current, LifecycleError> {
    tx.query_row(
        "SELECT a.status, a.assigned_to, a.anticorruption, k.site, \
         CASE WHEN a.due_extended_reason IS NULL THEN 0 ELSE 1 END \
         FROM appeals a JOIN kiosks k ON k.id = a.kiosk_id WHERE a.id = ?1",
        [id],
        |r| {
            Ok(Current {
                status: r.get(0)?,
                assigned_to: r.get(1)?,
                anticorruption: r.get(2)?,
                site: r.get(3)?,
                extended: r.get(4)?,
            })
        },
    )
    .optional()?
    .ok_or(LifecycleError::NoSuchAppeal)
}

#[allow(clippy::too_many_arguments)]
fn record(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    action: &str,
    from: &str,
    to: &str,
    note: Option<&str>,
    target: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO appeal_events (appeal_id, at, operator, action, from_status, to_status, note) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, ts(now), actor.name, action, from, to, note],
    )?;
    let detail = (from != to).then(|| format!("{from} -> {to}"));
    audit(
        tx,
        &AuditEntry {
            actor: Some(actor.name),
            action,
            appeal_id: Some(id),
            target,
            address: actor.address,
            detail: detail.as_deref(),
        },
        now,
    )
}

fn reason(text: Option<&str>) -> Result<Option<String>, LifecycleError> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    match text {
        Some(t) if t.chars().count() > MAX_REASON_CHARS => Err(LifecycleError::ReasonTooLong),
        t => Ok(t.map(str::to_owned)),
    }
}

/// Can `username` take an appeal of `site` (flagged or not)? Checks the account exists, is
/// enabled, has the role and may see the site.
pub fn check_assignee(
    conn: &Connection,
    username: &str,
    site: &str,
    anticorruption: bool,
) -> Result<(), LifecycleError> {
    let disabled: Option<Option<String>> = conn
        .query_row(
            "SELECT disabled_at FROM operators WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    match disabled {
        None => {
            return Err(LifecycleError::NoSuchOperator {
                name: username.into(),
            })
        }
        Some(Some(_)) => {
            return Err(LifecycleError::OperatorDisabled {
                name: username.into(),
            })
        }
        Some(None) => {}
    }
    let has = |role: &str| -> Result<bool, DbError> {
        conn.query_row(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM operator_roles \
             WHERE username = ?1 AND role = ?2) THEN 1 ELSE 0 END",
            params![username, role],
            |r| r.get(0),
        )
    };
    let role_ok = if anticorruption {
        has("anticorruption")?
    } else {
        has("operator")? || has("admin")?
    };
    if !role_ok {
        return Err(LifecycleError::WrongRole {
            name: username.into(),
            anticorruption,
        });
    }
    let site_ok: bool = conn.query_row(
        "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM operator_sites WHERE username = ?1) \
         OR EXISTS (SELECT 1 FROM operator_sites WHERE username = ?1 AND site = ?2) \
         THEN 1 ELSE 0 END",
        params![username, site],
        |r| r.get(0),
    )?;
    if !site_ok {
        return Err(LifecycleError::NotTheirSite {
            name: username.into(),
            site: site.into(),
        });
    }
    Ok(())
}

/// An operator who may take an appeal, for the "assign to" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignable {
    pub username: String,
    pub display_name: String,
}

/// Enabled operators with the role for the appeal (anti-corruption for flagged ones) who may
/// see its site, by display name.
pub fn assignable_operators(
    conn: &Connection,
    site: &str,
    anticorruption: bool,
) -> Result<Vec<Assignable>, DbError> {
    let roles = if anticorruption {
        "'anticorruption'"
    } else {
        "'operator', 'admin'"
    };
    let sql = format!(
        "SELECT o.username, o.display_name FROM operators o WHERE o.disabled_at IS NULL \
         AND EXISTS (SELECT 1 FROM operator_roles r WHERE r.username = o.username \
                     AND r.role IN ({roles})) \
         AND (NOT EXISTS (SELECT 1 FROM operator_sites s WHERE s.username = o.username) \
              OR EXISTS (SELECT 1 FROM operator_sites s WHERE s.username = o.username \
                         AND s.site = ?1)) \
         ORDER BY o.display_name, o.username"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([site], |r| {
        Ok(Assignable {
            username: r.get(0)?,
            display_name: r.get(1)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

/// Assigns (or reassigns) an open appeal to `to`; it becomes `assigned`.
pub fn assign(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let c = current_for(tx, id, Action::Assign, &OPEN_STATUSES)?;
    if c.assigned_to.as_deref() == Some(to) {
        return Err(LifecycleError::AlreadyAssigned { to: to.into() });
    }
    check_assignee(tx, to, &c.site, c.anticorruption)?;
    tx.execute(
        "UPDATE appeals SET status = 'assigned', assigned_to = ?2 WHERE id = ?1",
        params![id, to],
    )?;
    record(
        tx,
        id,
        actor,
        "assign",
        &c.status,
        "assigned",
        Some(to),
        Some(to),
        now,
    )?;
    Ok(())
}

/// The operator the appeal is assigned to starts work: `assigned` → `in_progress`.
pub fn start_work(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let c = current_for(tx, id, Action::Start, &["assigned"])?;
    if c.assigned_to.as_deref() != Some(actor.name) {
        return Err(LifecycleError::NotAssignee {
            assignee: c.assigned_to,
        });
    }
    tx.execute(
        "UPDATE appeals SET status = 'in_progress' WHERE id = ?1",
        [id],
    )?;
    record(
        tx,
        id,
        actor,
        "status",
        &c.status,
        "in_progress",
        None,
        None,
        now,
    )?;
    Ok(())
}

/// Answers an assigned appeal or one in progress: stores the answer, its language, who and
/// when; the appeal becomes `answered`.
pub fn answer(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    text: &str,
    language: &str,
    now: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(LifecycleError::EmptyAnswer);
    }
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Err(LifecycleError::AnswerTooLong);
    }
    if !["kk", "ru", "en"].contains(&language) {
        return Err(LifecycleError::Language {
            found: language.chars().take(20).collect(),
        });
    }
    let c = current_for(tx, id, Action::Answer, &["assigned", "in_progress"])?;
    tx.execute(
        "UPDATE appeals SET status = 'answered', answer_text = ?2, answer_language = ?3, \
         answered_at = ?4, answered_by = ?5 WHERE id = ?1",
        params![id, text, language, ts(now), actor.name],
    )?;
    record(
        tx,
        id,
        actor,
        "answer",
        &c.status,
        "answered",
        Some(language),
        None,
        now,
    )?;
    Ok(())
}

/// Closes an appeal: an answered one as it is; an open one only with a reason.
pub fn close(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    why: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let why = reason(why)?;
    let c = current_for(
        tx,
        id,
        Action::Close,
        &["new", "assigned", "in_progress", "answered"],
    )?;
    if c.status != "answered" && why.is_none() {
        return Err(LifecycleError::ReasonNeeded);
    }
    tx.execute(
        "UPDATE appeals SET status = 'closed', closed_at = ?2, close_reason = ?3 WHERE id = ?1",
        params![id, ts(now), why],
    )?;
    record(
        tx,
        id,
        actor,
        "close",
        &c.status,
        "closed",
        why.as_deref(),
        None,
        now,
    )?;
    Ok(())
}

/// An answered appeal needs more work: back to `in_progress` (the answer given stays stored
/// until a new one replaces it).
pub fn reopen(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let c = current_for(tx, id, Action::Reopen, &["answered"])?;
    tx.execute(
        "UPDATE appeals SET status = 'in_progress', \
         assigned_to = COALESCE(assigned_to, ?2) WHERE id = ?1",
        params![id, actor.name],
    )?;
    record(
        tx,
        id,
        actor,
        "status",
        &c.status,
        "in_progress",
        None,
        None,
        now,
    )?;
    Ok(())
}

/// Extends an open appeal's deadline (once) to `new_due`, for a recorded reason.
pub fn extend(
    tx: &Transaction<'_>,
    id: &str,
    actor: Actor<'_>,
    why: &str,
    new_due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let why = reason(Some(why))?.ok_or(LifecycleError::ExtendReasonNeeded)?;
    let c = current_for(tx, id, Action::Extend, &OPEN_STATUSES)?;
    if c.extended {
        return Err(LifecycleError::AlreadyExtended);
    }
    tx.execute(
        "UPDATE appeals SET due_at = ?2, due_extended_reason = ?3 WHERE id = ?1",
        params![id, ts(new_due), why],
    )?;
    record(
        tx,
        id,
        actor,
        "extend",
        &c.status,
        &c.status,
        Some(&why),
        None,
        now,
    )?;
    Ok(())
}

/// The topic and the time an appeal was left (for its deadline), if it exists.
pub fn appeal_topic_and_created(
    conn: &Connection,
    id: &str,
) -> Result<Option<(String, DateTime<Utc>)>, DbError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT topic, created_at FROM appeals WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(topic, at)| parse_ts(&at).map(|at| (topic, at))))
}

/// An operator took a live call: its appeal (if still new or assigned) is theirs and in
/// progress, logged as a status change.
pub fn call_taken(
    tx: &Transaction<'_>,
    id: &str,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let status: Option<String> = tx
        .query_row("SELECT status FROM appeals WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(from) = status else { return Ok(()) };
    if from == "new" || from == "assigned" {
        tx.execute(
            "UPDATE appeals SET status = 'in_progress', assigned_to = ?2 WHERE id = ?1",
            params![id, operator],
        )?;
        let actor = Actor {
            name: operator,
            address: None,
        };
        record(
            tx,
            id,
            actor,
            "status",
            &from,
            "in_progress",
            None,
            None,
            now,
        )?;
    }
    Ok(())
}

/// The outcome of a live call: "resolved on the call" answers the appeal (the answer was
/// spoken: the time and the operator are stamped, no text), "needs follow-up" keeps it — or
/// puts it back — in progress. A closed appeal stays closed.
pub fn call_outcome(
    tx: &Transaction<'_>,
    id: &str,
    operator: &str,
    resolved: bool,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT status, language FROM appeals WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((from, language)) = row else {
        return Ok(());
    };
    let actor = Actor {
        name: operator,
        address: None,
    };
    if resolved && OPEN_STATUSES.contains(&from.as_str()) {
        let language = ["kk", "ru", "en"]
            .contains(&language.as_str())
            .then_some(language);
        tx.execute(
            "UPDATE appeals SET status = 'answered', answered_at = ?2, answered_by = ?3, \
             answer_language = COALESCE(?4, answer_language), \
             assigned_to = COALESCE(assigned_to, ?3) WHERE id = ?1",
            params![id, ts(now), operator, language],
        )?;
        record(tx, id, actor, "status", &from, "answered", None, None, now)?;
    } else if !resolved && (from == "new" || from == "assigned" || from == "answered") {
        tx.execute(
            "UPDATE appeals SET status = 'in_progress', \
             assigned_to = COALESCE(assigned_to, ?2) WHERE id = ?1",
            params![id, operator],
        )?;
        record(
            tx,
            id,
            actor,
            "status",
            &from,
            "in_progress",
            None,
            None,
            now,
        )?;
    }
    Ok(())
}
