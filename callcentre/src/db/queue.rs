//! The appeal queue in SQL: views (open, mine, anti-corruption, answered, closed, all), search
//! by number, filters (kiosk, site, topic, status, dates), the viewer's limits (flagged appeals
//! only for the anti-corruption role, sites), urgency or newest-first order, keyset pages and
//! counts, all on schema 4's indexes; and the triage flag set on arrival.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Transaction};

use super::appeals::{appeal_row, APPEAL_COLUMNS};
use super::{ts, AppealRow, DbError, Roles, SessionRow};

/// Rows on one page of the queue.
pub const PAGE_SIZE: usize = 50;

/// Counting stops here: past it the console says "more than".
pub const COUNT_CAP: u64 = 100_000;

/// Statuses of an appeal still to be handled.
pub const OPEN_STATUSES: [&str; 3] = ["new", "assigned", "in_progress"];

/// The topics an appeal can have, in the order the filter offers them.
pub const TOPICS: [&str; 5] = ["complaint", "request", "gratitude", "bribe_report", "other"];

/// A tab of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// New, assigned or in progress (not flagged).
    Open,
    /// Open and assigned to the viewer.
    Mine,
    /// Flagged reports of bribes and improper demands (open unless a status is chosen); only
    /// for the anti-corruption role.
    Anticorruption,
    Answered,
    Closed,
    /// Every status (not flagged).
    All,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Open,
        View::Mine,
        View::Anticorruption,
        View::Answered,
        View::Closed,
        View::All,
    ];

    /// The view's name in URLs (`?view=`).
    pub fn key(self) -> &'static str {
        match self {
            View::Open => "open",
            View::Mine => "mine",
            View::Anticorruption => "anticorruption",
            View::Answered => "answered",
            View::Closed => "closed",
            View::All => "all",
        }
    }

    pub fn parse(key: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.key() == key)
    }

    /// Open views go by urgency (overdue first, then the nearest deadline); the others show
    /// the newest first.
    pub fn urgent(self) -> bool {
        matches!(self, View::Open | View::Mine | View::Anticorruption)
    }

    /// Whether an operator with these roles may open the view.
    pub fn allowed(self, roles: Roles) -> bool {
        match self {
            View::Anticorruption => roles.anticorruption,
            _ => roles.operator || roles.admin,
        }
    }

    /// The statuses the view shows when no status is chosen (empty: any).
    fn statuses(self) -> &'static [&'static str] {
        match self {
            View::Open | View::Mine | View::Anticorruption => &OPEN_STATUSES,
            View::Answered => &["answered"],
            View::Closed => &["closed"],
            View::All => &[],
        }
    }
}

/// Who is looking, as far as the queue cares.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub username: &'a str,
    pub roles: Roles,
    /// Sites the viewer may handle; empty means every site.
    pub sites: &'a [String],
}

impl<'a> Viewer<'a> {
    pub fn of(session: &'a SessionRow) -> Viewer<'a> {
        Viewer {
            username: &session.username,
            roles: session.roles,
            sites: &session.sites,
        }
    }
}

/// What the operator narrowed the queue to. A search by `number` looks through every view the
/// viewer may see and ignores the other filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// An appeal number as [`normalise_number`] makes it.
    pub number: Option<String>,
    pub kiosk: Option<String>,
    pub site: Option<String>,
    pub topic: Option<String>,
    pub status: Option<String>,
    /// Left at or after.
    pub from: Option<DateTime<Utc>>,
    /// Left before.
    pub until: Option<DateTime<Utc>>,
}

/// An appeal number as typed (any case, spaces, with or without `A-`) in its stored form;
/// `None` if it cannot be one.
pub fn normalise_number(typed: &str) -> Option<String> {
    let mut s: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !s.starts_with("A-") {
        if s.len() == 9 && s.starts_with('A') {
            s = format!("A-{}", &s[1..]);
        } else if s.len() == 8 {
            s = format!("A-{s}");
        }
    }
    senim_protocol::valid_appeal_id(&s).then_some(s)
}

/// Where a row stands in the queue's order: its deadline, when it was left, its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKey {
    pub due_at: String,
    pub created_at: String,
    pub id: String,
}

impl QueueKey {
    fn of(a: &AppealRow) -> QueueKey {
        QueueKey {
            due_at: ts(a.due_at),
            created_at: ts(a.created_at),
            id: a.id.clone(),
        }
    }

    /// `due~created~id`, as page links and rows carry it.
    pub fn encode(&self) -> String {
        format!("{}~{}~{}", self.due_at, self.created_at, self.id)
    }

    /// The inverse of [`QueueKey::encode`]; `None` for anything else.
    pub fn decode(s: &str) -> Option<QueueKey> {
        let mut parts = s.split('~');
        let (due, created, id) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || super::parse_ts(due).is_none()
            || super::parse_ts(created).is_none()
            || !senim_protocol::valid_appeal_id(id)
        {
            return None;
        }
        Some(QueueKey {
            due_at: due.into(),
            created_at: created.into(),
            id: id.into(),
        })
    }
}

/// Which page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cursor {
    #[default]
    First,
    /// The page after this row.
    After(QueueKey),
    /// The page before this row.
    Before(QueueKey),
    Last,
}

/// An appeal as a queue row: the appeal and the assigned operator's name.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    pub appeal: AppealRow,
    /// Display name of the operator it is assigned to (the username if they have none).
    pub assignee: Option<String>,
    /// Its place in the order (for the page's live updates).
    pub key: QueueKey,
}

/// How many appeals match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact(u64),
    /// More than [`COUNT_CAP`]; counting further would be slow.
    AtLeast(u64),
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    pub rows: Vec<QueueRow>,
    /// The first row's key, if there are rows before it.
    pub prev: Option<QueueKey>,
    /// The last row's key, if there are rows after it.
    pub next: Option<QueueKey>,
    pub total: Count,
}

/// WHERE terms and their parameters.
#[derive(Default)]
struct Terms {
    sql: Vec<String>,
    params: Vec<Value>,
}

impl Terms {
    fn push(&mut self, sql: &str, params: impl IntoIterator<Item = Value>) {
        self.sql.push(sql.to_string());
        self.params.extend(params);
    }

    fn one_of(&mut self, column: &str, values: &[&str]) {
        match values {
            [] => {}
            [one] => self.push(&format!("{column} = ?"), [Value::from(one.to_string())]),
            many => self.push(
                &format!("{column} IN ({})", vec!["?"; many.len()].join(", ")),
                many.iter().map(|v| Value::from(v.to_string())),
            ),
        }
    }

    fn never(&mut self) {
        self.push("0", []);
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

fn text(s: &str) -> Value {
    Value::from(s.to_string())
}

/// The terms choosing the appeals of `view` and `filter` that `viewer` may see. With `walk`,
/// for a page of a newest-first view, the flag and status terms are kept off the indexes
/// (unary `+`) so SQLite walks `appeals_by_created` in order and stops at the page's end,
/// rather than sorting every closed appeal; counts use every index they can.
fn terms(view: View, filter: &QueueFilter, viewer: Viewer<'_>, walk: bool) -> Terms {
    let mut t = Terms::default();
    let plus = if walk && !view.urgent() { "+" } else { "" };
    if !viewer.sites.is_empty() {
        t.push(
            &format!(
                "a.kiosk_id IN (SELECT id FROM kiosks WHERE site IN ({}))",
                vec!["?"; viewer.sites.len()].join(", ")
            ),
            viewer.sites.iter().map(|s| text(s)),
        );
    }
    let ordinary = viewer.roles.operator || viewer.roles.admin;
    if let Some(number) = &filter.number {
        match (ordinary, viewer.roles.anticorruption) {
            (true, true) => {}
            (true, false) => t.push("a.anticorruption = 0", []),
            (false, true) => t.push("a.anticorruption = 1", []),
            (false, false) => t.never(),
        }
        t.push("a.id = ?", [text(number)]);
        return t;
    }
    if !view.allowed(viewer.roles) {
        t.never();
        return t;
    }
    let status = filter.status.as_deref();
    match view {
        View::Anticorruption => {
            t.push("a.anticorruption = 1", []);
            match status {
                Some(s) => t.one_of("a.status", &[s]),
                None => t.one_of("a.status", &OPEN_STATUSES),
            }
        }
        _ => {
            t.push(&format!("{plus}a.anticorruption = 0"), []);
            if view == View::Mine {
                t.push("a.assigned_to = ?", [text(viewer.username)]);
            }
            let shown = view.statuses();
            let column = format!("{plus}a.status");
            match status {
                Some(s) if shown.is_empty() || shown.contains(&s) => t.one_of(&column, &[s]),
                Some(_) => t.never(),
                None => t.one_of(&column, shown),
            }
        }
    }
    if let Some(site) = &filter.site {
        t.push(
            "a.kiosk_id IN (SELECT id FROM kiosks WHERE site = ?)",
            [text(site)],
        );
    }
    if let Some(kiosk) = &filter.kiosk {
        t.push("a.kiosk_id = ?", [text(kiosk)]);
    }
    if let Some(topic) = &filter.topic {
        t.push("a.topic = ?", [text(topic)]);
    }
    if let Some(from) = filter.from {
        t.push("a.created_at >= ?", [text(&ts(from))]);
    }
    if let Some(until) = filter.until {
        t.push("a.created_at < ?", [text(&ts(until))]);
    }
    t
}

/// `(ORDER BY, keyset term, keyset params)` for one direction through the view's order.
/// `forward` walks the order as shown; backwards is for the page before and the last page.
fn order(
    view: View,
    forward: bool,
    from: Option<&QueueKey>,
) -> (&'static str, Option<&'static str>, Vec<Value>) {
    // The first term of each keyset condition is a plain range, so the index's order serves.
    match (view.urgent(), forward) {
        (true, true) => (
            "a.due_at, a.created_at, a.id",
            Some("a.due_at >= ? AND (a.due_at > ? OR (a.created_at, a.id) > (?, ?))"),
            from.map(|k| {
                vec![
                    text(&k.due_at),
                    text(&k.due_at),
                    text(&k.created_at),
                    text(&k.id),
                ]
            })
            .unwrap_or_default(),
        ),
        (true, false) => (
            "a.due_at DESC, a.created_at DESC, a.id DESC",
            Some("a.due_at <= ? AND (a.due_at < ? OR (a.created_at, a.id) < (?, ?))"),
            from.map(|k| {
                vec![
                    text(&k.due_at),
                    text(&k.due_at),
                    text(&k.created_at),
                    text(&k.id),
                ]
            })
            .unwrap_or_default(),
        ),
        (false, true) => (
            "a.created_at DESC, a.id DESC",
            Some("a.created_at <= ? AND (a.created_at < ? OR a.id < ?)"),
            from.map(|k| vec![text(&k.created_at), text(&k.created_at), text(&k.id)])
                .unwrap_or_default(),
        ),
        (false, false) => (
            "a.created_at, a.id",
            Some("a.created_at >= ? AND (a.created_at > ? OR a.id > ?)"),
            from.map(|k| vec![text(&k.created_at), text(&k.created_at), text(&k.id)])
                .unwrap_or_default(),
        ),
    }
}

/// The SELECT of queue rows for `terms`, ordered by `order_by`, at most `limit` rows. The
/// appeals table leads the join (CROSS JOIN keeps it outermost) so the order comes from an
/// index on appeals.
fn select(where_clause: &str, order_by: &str, limit: Option<usize>) -> String {
    format!(
        "SELECT {APPEAL_COLUMNS}, coalesce(o.display_name, a.assigned_to) \
         FROM appeals a CROSS JOIN kiosks k ON k.id = a.kiosk_id \
         LEFT JOIN operators o ON o.username = a.assigned_to \
         {where_clause} ORDER BY {order_by}{}",
        limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default()
    )
}

fn queue_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueueRow> {
    let appeal = appeal_row(r)?;
    Ok(QueueRow {
        assignee: r.get(36)?,
        key: QueueKey::of(&appeal),
        appeal,
    })
}

fn run(conn: &Connection, sql: &str, params: Vec<Value>) -> Result<Vec<QueueRow>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(params), queue_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The SQL and parameters of one page (for [`queue_page`] and the plan test).
fn page_query(
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
    cursor: &Cursor,
    size: usize,
) -> (String, Vec<Value>, bool) {
    let mut t = terms(view, filter, viewer, true);
    let (forward, from) = match cursor {
        Cursor::First => (true, None),
        Cursor::After(k) => (true, Some(k)),
        Cursor::Before(k) => (false, Some(k)),
        Cursor::Last => (false, None),
    };
    let (order_by, keyset, params) = order(view, forward, from);
    if let (Some(term), true) = (keyset, from.is_some()) {
        t.push(term, params);
    }
    (
        select(&t.clause(), order_by, Some(size + 1)),
        t.params,
        forward,
    )
}

/// One page of `view` as `viewer` may see it, narrowed by `filter`, at `cursor`.
pub fn queue_page(
    conn: &Connection,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
    cursor: &Cursor,
) -> Result<QueuePage, DbError> {
    queue_page_sized(conn, view, filter, viewer, cursor, PAGE_SIZE)
}

/// [`queue_page`] with another page size (tests walk small pages).
pub fn queue_page_sized(
    conn: &Connection,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
    cursor: &Cursor,
    size: usize,
) -> Result<QueuePage, DbError> {
    let (sql, params, forward) = page_query(view, filter, viewer, cursor, size);
    let mut rows = run(conn, &sql, params)?;
    let more = rows.len() > size;
    rows.truncate(size);
    if !forward {
        rows.reverse();
    }
    let (has_prev, has_next) = match cursor {
        Cursor::First => (false, more),
        Cursor::After(_) => (true, more),
        Cursor::Before(_) => (more, true),
        Cursor::Last => (more, false),
    };
    Ok(QueuePage {
        prev: has_prev
            .then(|| rows.first().map(|r| r.key.clone()))
            .flatten(),
        next: has_next
            .then(|| rows.last().map(|r| r.key.clone()))
            .flatten(),
        total: count(conn, view, filter, viewer)?,
        rows,
    })
}

/// How many appeals of `view` and `filter` the viewer may see (up to [`COUNT_CAP`]).
pub fn count(
    conn: &Connection,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
) -> Result<Count, DbError> {
    let t = terms(view, filter, viewer, false);
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM appeals a {} LIMIT {})",
        t.clause(),
        COUNT_CAP + 1
    );
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(t.params), |r| r.get(0))?;
    let n = n as u64;
    Ok(if n > COUNT_CAP {
        Count::AtLeast(COUNT_CAP)
    } else {
        Count::Exact(n)
    })
}

/// Of the appeals `ids`, those in `view` and `filter` that `viewer` may see, as rows (for the
/// console's live updates); the others are gone from the viewer's list.
pub fn queue_rows(
    conn: &Connection,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
    ids: &[String],
) -> Result<Vec<QueueRow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut t = terms(view, filter, viewer, false);
    t.push(
        &format!("a.id IN ({})", vec!["?"; ids.len()].join(", ")),
        ids.iter().map(|id| text(id)),
    );
    let (order_by, _, _) = order(view, true, None);
    run(conn, &select(&t.clause(), order_by, None), t.params)
}

/// New flagged appeals the viewer may see ("flagged on arrival", the anti-corruption tab's
/// badge); 0 without the anti-corruption role.
pub fn flagged_new(conn: &Connection, viewer: Viewer<'_>) -> Result<u64, DbError> {
    if !viewer.roles.anticorruption {
        return Ok(0);
    }
    let filter = QueueFilter {
        status: Some("new".into()),
        ..QueueFilter::default()
    };
    Ok(match count(conn, View::Anticorruption, &filter, viewer)? {
        Count::Exact(n) | Count::AtLeast(n) => n,
    })
}

/// Sites with at least one kiosk, for the site filter (only the viewer's if limited).
pub fn queue_sites(conn: &Connection, viewer: Viewer<'_>) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT site FROM kiosks ORDER BY site")?;
    let sites = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sites
        .into_iter()
        .filter(|s| viewer.sites.is_empty() || viewer.sites.contains(s))
        .collect())
}

/// Flags an appeal that arrived as a report of a bribe or an improper demand for the
/// anti-corruption queue (it stays flagged). Run where an appeal row is made or joined.
pub fn flag_on_arrival(tx: &Transaction<'_>, id: &str) -> Result<(), DbError> {
    tx.prepare_cached(
        "UPDATE appeals SET anticorruption = 1 WHERE id = ?1 AND topic = 'bribe_report' \
         AND anticorruption = 0",
    )?
    .execute([id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        crate::db::parse_ts(s).unwrap()
    }

    /// A store with kiosks K-A1 (site Alpha), K-B1 (site Beta) and operators aigerim, bolat.
    fn store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write(|tx| {
            tx.execute_batch(
                "INSERT INTO kiosks (id, site, token_hash, enrolled_at) VALUES \
                 ('K-A1', 'Alpha', 'a', '2026-01-01T00:00:00.000Z'), \
                 ('K-B1', 'Beta', 'b', '2026-01-01T00:00:00.000Z');
                 INSERT INTO operators (username, display_name, password_hash, created_at) VALUES \
                 ('aigerim', 'Aigerim S.', 'x', '2026-01-01T00:00:00.000Z'), \
                 ('bolat', 'Bolat K.', 'x', '2026-01-01T00:00:00.000Z');",
            )?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        (dir, db)
    }

    struct New<'a> {
        id: &'a str,
        kiosk: &'a str,
        topic: &'a str,
        status: &'a str,
        created: &'a str,
        due: &'a str,
        assigned: Option<&'a str>,
    }

    fn add(db: &Db, a: New<'_>) {
        db.write(|tx| {
            tx.execute(
                "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                 interrupted, test, status, due_at, assigned_to) \
                 VALUES (?1, ?2, ?3, ?4, ?4, 'kk', 0, 0, ?5, ?6, ?7)",
                rusqlite::params![a.id, a.kiosk, a.topic, a.created, a.status, a.due, a.assigned],
            )?;
            flag_on_arrival(tx, a.id)
        })
        .unwrap();
    }

    fn id(n: u32) -> String {
        format!("A-{n:08}")
    }

    fn operator() -> Roles {
        Roles {
            operator: true,
            ..Roles::default()
        }
    }

    fn viewer<'a>(name: &'a str, roles: Roles, sites: &'a [String]) -> Viewer<'a> {
        Viewer {
            username: name,
            roles,
            sites,
        }
    }

    fn ids(page: &QueuePage) -> Vec<String> {
        page.rows.iter().map(|r| r.appeal.id.clone()).collect()
    }

    fn first(db: &Db, view: View, filter: &QueueFilter, v: Viewer<'_>) -> QueuePage {
        db.read(|c| queue_page(c, view, filter, v, &Cursor::First))
            .unwrap()
    }

    /// Deadlines around a weekend and a holiday, as `[deadlines] count = "working"` makes
    /// them (the due times are written here, not computed): appeals left on Friday 4 Dec
    /// 2026, Monday 14 Dec and Tuesday 15 Dec (16 Dec is Independence Day) are due after the
    /// weekend or the holiday, and the queue goes by the deadline, not by arrival.
    #[test]
    fn open_views_go_by_urgency_across_a_weekend_and_a_holiday() {
        let (_dir, db) = store();
        let rows = [
            // Left Friday evening: 1 working day → due Monday 7 Dec (not Saturday).
            (1, "2026-12-04T13:00:00.000Z", "2026-12-07T13:00:00.000Z"),
            // Left Saturday: the count starts Monday → due Tuesday 8 Dec.
            (2, "2026-12-05T05:00:00.000Z", "2026-12-08T13:00:00.000Z"),
            // Left Tuesday 15 Dec: the 16th is a holiday → due Thursday 17 Dec.
            (3, "2026-12-15T04:00:00.000Z", "2026-12-17T13:00:00.000Z"),
            // Left Monday 14 Dec, earlier, with the same deadline as the next: by arrival.
            (4, "2026-12-14T04:00:00.000Z", "2026-12-15T13:00:00.000Z"),
            (5, "2026-12-14T09:00:00.000Z", "2026-12-15T13:00:00.000Z"),
            // Left long before, with an extended deadline: still later than the others.
            (6, "2026-11-20T04:00:00.000Z", "2026-12-31T13:00:00.000Z"),
            // Overdue since November.
            (7, "2026-11-02T04:00:00.000Z", "2026-11-23T13:00:00.000Z"),
        ];
        for (n, created, due) in rows {
            add(
                &db,
                New {
                    id: &id(n),
                    kiosk: "K-A1",
                    topic: "complaint",
                    status: "new",
                    created,
                    due,
                    assigned: None,
                },
            );
        }
        let page = first(
            &db,
            View::Open,
            &QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        );
        assert_eq!(
            ids(&page),
            [7, 1, 2, 4, 5, 3, 6].map(id),
            "overdue first, then by deadline, then by arrival"
        );
        // Newest first where nothing is urgent any more.
        let page = first(
            &db,
            View::All,
            &QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        );
        assert_eq!(ids(&page), [3, 5, 4, 2, 1, 6, 7].map(id));
    }

    fn mixed(db: &Db) {
        let statuses = ["new", "assigned", "in_progress", "answered", "closed"];
        for n in 0..60u32 {
            let topic = if n % 4 == 0 {
                "bribe_report"
            } else {
                "complaint"
            };
            let status = statuses[n as usize % 5];
            let created = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
                + chrono::Duration::hours(i64::from(n * 7 % 60));
            add(
                db,
                New {
                    id: &id(n),
                    kiosk: if n % 3 == 0 { "K-B1" } else { "K-A1" },
                    topic,
                    status,
                    created: &ts(created),
                    due: &ts(created + chrono::Duration::days(i64::from(n % 9))),
                    assigned: (status != "new").then_some(if n % 2 == 0 {
                        "aigerim"
                    } else {
                        "bolat"
                    }),
                },
            );
        }
    }

    fn is_flagged(n: &str) -> bool {
        n[2..].parse::<u32>().unwrap() % 4 == 0
    }

    #[test]
    fn an_ordinary_operator_never_sees_a_flagged_appeal() {
        let (_dir, db) = store();
        mixed(&db);
        let v = viewer("aigerim", operator(), &[]);
        for view in View::ALL {
            let page = first(&db, view, &QueueFilter::default(), v);
            assert!(
                ids(&page).iter().all(|n| !is_flagged(n)),
                "{view:?}: {:?}",
                ids(&page)
            );
            if view == View::Anticorruption {
                assert!(page.rows.is_empty());
                assert_eq!(page.total, Count::Exact(0));
            } else {
                assert!(!page.rows.is_empty(), "{view:?}");
            }
        }
        // Not by number either, nor by asking for the topic.
        let by_number = QueueFilter {
            number: Some(id(4)),
            ..QueueFilter::default()
        };
        assert!(first(&db, View::Open, &by_number, v).rows.is_empty());
        let by_topic = QueueFilter {
            topic: Some("bribe_report".into()),
            ..QueueFilter::default()
        };
        assert!(first(&db, View::All, &by_topic, v).rows.is_empty());
        assert_eq!(db.read(|c| flagged_new(c, v)).unwrap(), 0);

        // The anti-corruption operator sees only flagged ones, open unless asked otherwise.
        let roles = Roles {
            anticorruption: true,
            ..Roles::default()
        };
        let ac = viewer("bolat", roles, &[]);
        let page = first(&db, View::Anticorruption, &QueueFilter::default(), ac);
        assert!(!page.rows.is_empty());
        for r in &page.rows {
            assert!(r.appeal.anticorruption && OPEN_STATUSES.contains(&r.appeal.status.as_str()));
        }
        assert!(first(&db, View::Open, &QueueFilter::default(), ac)
            .rows
            .is_empty());
        let closed = QueueFilter {
            status: Some("closed".into()),
            ..QueueFilter::default()
        };
        let page = first(&db, View::Anticorruption, &closed, ac);
        assert!(!page.rows.is_empty() && page.rows.iter().all(|r| r.appeal.status == "closed"));
        assert_eq!(ids(&first(&db, View::Open, &by_number, ac)), [id(4)]);
        // 0, 20, 40 are flagged and new.
        assert_eq!(db.read(|c| flagged_new(c, ac)).unwrap(), 3);
    }

    #[test]
    fn a_site_limited_operator_sees_only_their_sites() {
        let (_dir, db) = store();
        mixed(&db);
        let beta = vec!["Beta".to_string()];
        let v = viewer("aigerim", operator(), &beta);
        for view in [View::Open, View::Answered, View::Closed, View::All] {
            let page = first(&db, view, &QueueFilter::default(), v);
            assert!(!page.rows.is_empty(), "{view:?}");
            assert!(
                page.rows.iter().all(|r| r.appeal.site == "Beta"),
                "{view:?}"
            );
        }
        // Asking for the other site, its kiosk or one of its numbers finds nothing.
        let alpha = QueueFilter {
            site: Some("Alpha".into()),
            ..QueueFilter::default()
        };
        assert!(first(&db, View::All, &alpha, v).rows.is_empty());
        let kiosk = QueueFilter {
            kiosk: Some("K-A1".into()),
            ..QueueFilter::default()
        };
        assert!(first(&db, View::All, &kiosk, v).rows.is_empty());
        let number = QueueFilter {
            number: Some(id(1)),
            ..QueueFilter::default()
        };
        assert!(first(&db, View::All, &number, v).rows.is_empty());
        let number = QueueFilter {
            number: Some(id(3)),
            ..QueueFilter::default()
        };
        assert_eq!(ids(&first(&db, View::All, &number, v)), [id(3)]);
        assert_eq!(db.read(|c| queue_sites(c, v)).unwrap(), ["Beta"]);
    }

    #[test]
    fn filters_narrow_and_mine_is_mine() {
        let (_dir, db) = store();
        mixed(&db);
        let v = viewer("aigerim", operator(), &[]);
        let page = first(&db, View::Mine, &QueueFilter::default(), v);
        assert!(!page.rows.is_empty());
        for r in &page.rows {
            assert_eq!(r.appeal.assigned_to.as_deref(), Some("aigerim"));
            assert_eq!(r.assignee.as_deref(), Some("Aigerim S."));
            assert!(OPEN_STATUSES.contains(&r.appeal.status.as_str()));
        }
        let f = QueueFilter {
            status: Some("in_progress".into()),
            site: Some("Alpha".into()),
            from: Some(t("2026-10-01T12:00:00.000Z")),
            until: Some(t("2026-10-02T12:00:00.000Z")),
            ..QueueFilter::default()
        };
        let page = first(&db, View::All, &f, v);
        assert!(!page.rows.is_empty());
        for r in &page.rows {
            let a = &r.appeal;
            assert!(a.status == "in_progress" && a.site == "Alpha" && !a.anticorruption);
            assert!(a.created_at >= f.from.unwrap() && a.created_at < f.until.unwrap());
        }
        // A status outside the view: nothing.
        let closed = QueueFilter {
            status: Some("closed".into()),
            ..QueueFilter::default()
        };
        assert!(first(&db, View::Open, &closed, v).rows.is_empty());
    }

    #[test]
    fn numbers_are_found_however_they_are_typed() {
        for typed in [
            "A-ABCD2345",
            "a-abcd2345",
            " a - abcd 2345 ",
            "abcd2345",
            "AABCD2345",
        ] {
            assert_eq!(
                normalise_number(typed).as_deref(),
                Some("A-ABCD2345"),
                "{typed}"
            );
        }
        for typed in ["", "A-ABC", "A-ABCD234O", "hello world"] {
            assert_eq!(normalise_number(typed), None, "{typed}");
        }
    }

    #[test]
    fn paging_returns_every_appeal_exactly_once_both_ways() {
        let (_dir, db) = store();
        mixed(&db);
        // Same deadlines and times on several rows: the number breaks the tie.
        let v = viewer(
            "aigerim",
            Roles {
                operator: true,
                anticorruption: true,
                ..Roles::default()
            },
            &[],
        );
        for view in [View::Open, View::All, View::Anticorruption] {
            let f = QueueFilter::default();
            let all = db
                .read(|c| queue_page_sized(c, view, &f, v, &Cursor::First, 1000))
                .unwrap();
            let Count::Exact(total) = all.total else {
                panic!()
            };
            assert_eq!(all.rows.len() as u64, total);
            let mut seen = Vec::new();
            let mut cursor = Cursor::First;
            loop {
                let page = db
                    .read(|c| queue_page_sized(c, view, &f, v, &cursor, 7))
                    .unwrap();
                assert!(page.rows.len() <= 7);
                seen.extend(ids(&page));
                match page.next {
                    Some(k) => cursor = Cursor::After(k),
                    None => break,
                }
            }
            assert_eq!(seen, ids(&all), "{view:?} forwards");
            let mut back = Vec::new();
            let mut cursor = Cursor::Last;
            loop {
                let page = db
                    .read(|c| queue_page_sized(c, view, &f, v, &cursor, 7))
                    .unwrap();
                back.splice(0..0, ids(&page));
                match page.prev {
                    Some(k) => cursor = Cursor::Before(k),
                    None => break,
                }
            }
            assert_eq!(back, ids(&all), "{view:?} backwards");
        }
    }

    #[test]
    fn live_rows_are_only_those_the_viewer_sees_in_the_view() {
        let (_dir, db) = store();
        mixed(&db);
        let v = viewer("aigerim", operator(), &[]);
        let asked: Vec<String> = (0..10).map(id).collect();
        let rows = db
            .read(|c| queue_rows(c, View::Open, &QueueFilter::default(), v, &asked))
            .unwrap();
        let mut got: Vec<String> = rows.iter().map(|r| r.appeal.id.clone()).collect();
        got.sort();
        // Open (n % 5 < 3) and not flagged (n % 4 != 0).
        assert_eq!(got, [1, 2, 5, 6, 7].map(id));
    }

    fn plan(db: &Db, view: View, filter: &QueueFilter, v: Viewer<'_>, cursor: &Cursor) -> String {
        let (sql, params, _) = page_query(view, filter, v, cursor, PAGE_SIZE);
        db.read(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let lines = stmt
                .query_map(params_from_iter(params), |r| r.get::<_, String>(3))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(lines.join("\n"))
        })
        .unwrap()
    }

    #[test]
    fn the_main_views_use_an_index_and_never_scan_appeals() {
        let (_dir, db) = store();
        mixed(&db);
        let key = QueueKey {
            due_at: "2026-10-05T00:00:00.000Z".into(),
            created_at: "2026-10-01T00:00:00.000Z".into(),
            id: id(3),
        };
        let ac = Roles {
            operator: true,
            anticorruption: true,
            ..Roles::default()
        };
        let beta = vec!["Beta".to_string()];
        let cases: Vec<(View, QueueFilter, Viewer<'_>)> = vec![
            (
                View::Open,
                QueueFilter::default(),
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::Mine,
                QueueFilter::default(),
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::Anticorruption,
                QueueFilter::default(),
                viewer("aigerim", ac, &[]),
            ),
            (
                View::Answered,
                QueueFilter::default(),
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::Closed,
                QueueFilter::default(),
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::All,
                QueueFilter::default(),
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::Open,
                QueueFilter::default(),
                viewer("aigerim", operator(), &beta),
            ),
            (
                View::All,
                QueueFilter {
                    number: Some(id(3)),
                    ..QueueFilter::default()
                },
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::All,
                QueueFilter {
                    kiosk: Some("K-A1".into()),
                    ..QueueFilter::default()
                },
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::All,
                QueueFilter {
                    topic: Some("request".into()),
                    ..QueueFilter::default()
                },
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::All,
                QueueFilter {
                    site: Some("Beta".into()),
                    ..QueueFilter::default()
                },
                viewer("aigerim", operator(), &[]),
            ),
            (
                View::All,
                QueueFilter {
                    from: Some(t("2026-10-02T00:00:00.000Z")),
                    ..QueueFilter::default()
                },
                viewer("aigerim", operator(), &[]),
            ),
        ];
        for (view, filter, v) in &cases {
            for cursor in [
                Cursor::First,
                Cursor::After(key.clone()),
                Cursor::Before(key.clone()),
                Cursor::Last,
            ] {
                let plan = plan(&db, *view, filter, *v, &cursor);
                assert!(
                    plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                    "{view:?} {filter:?} {cursor:?}:\n{plan}"
                );
                assert!(
                    !plan
                        .lines()
                        .any(|l| l.trim() == "SCAN a" || l.trim() == "SCAN appeals"),
                    "{view:?} {filter:?} {cursor:?} scans appeals:\n{plan}"
                );
                if !view.urgent() && *filter == QueueFilter::default() && v.sites.is_empty() {
                    // Newest first: walked in index order, stopping at the page's end.
                    assert!(plan.contains("appeals_by_created"), "{view:?}:\n{plan}");
                    assert!(
                        !plan.contains("TEMP B-TREE FOR ORDER BY"),
                        "{view:?}:\n{plan}"
                    );
                }
            }
        }
    }
}
