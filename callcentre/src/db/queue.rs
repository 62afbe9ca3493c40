//! The appeal queue in SQL: views (open, mine, anti-corruption, answered, closed, all), search
//! by number, filters (kiosk, site, topic, status, dates), the viewer's limits (flagged appeals
//! only for the anti-corruption role, sites), urgency or newest-first order, keyset pages and
//! counts, all on schema 4's indexes.
//!
//! Over 600 lines: the views, their WHERE terms, the keyset order and the SQLite index hints
//! (left out on PostgreSQL) build one statement, and read best side by side.

use super::sql::{Connection, Dialect, Row, Value};
use chrono::{DateTime, Utc};

use super::appeals::{appeal_row, APPEAL_COLUMNS};
use super::{ts, AppealRow, DbError, Roles, SessionRow, OPEN_STATUSES};

/// Rows on one page of the queue.
pub const PAGE_SIZE: usize = 50;

/// Counting stops here: past it the console says "more than".
pub const COUNT_CAP: u64 = 100_000;

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
struct Terms {
    dialect: Dialect,
    sql: Vec<String>,
    params: Vec<Value>,
}

impl Terms {
    fn new(dialect: Dialect) -> Terms {
        Terms {
            dialect,
            sql: Vec::new(),
            params: Vec::new(),
        }
    }

    /// Adds a term whose parameters are written `?`, in the order of `params`; they are
    /// numbered here (`?N`, as every statement is written, so PostgreSQL's `$N` follows).
    fn push(&mut self, sql: &str, params: impl IntoIterator<Item = Value>) {
        let mut numbered = String::with_capacity(sql.len() + 8);
        let mut n = self.params.len();
        for c in sql.chars() {
            numbered.push(c);
            if c == '?' {
                n += 1;
                numbered.push_str(&n.to_string());
            }
        }
        self.params.extend(params);
        debug_assert_eq!(n, self.params.len(), "one value per `?` in {sql}");
        self.sql.push(numbered);
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
        self.push("1 = 0", []);
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
/// for a newest-first view, the flag and status terms are kept off the indexes (unary `+`):
/// a page then walks `appeals_by_created` (or the topic's, kiosk's or dates' index) in order
/// and stops at the page's end rather than sorting every closed appeal. Counts walk the same
/// way when a filter narrows them, and otherwise count `appeals_by_triage` alone.
/// (The unary `+` is SQLite's; PostgreSQL plans on its own and has no `+` for text.)
fn terms(
    dialect: Dialect,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
    walk: bool,
) -> Terms {
    let mut t = Terms::new(dialect);
    let walk = walk && dialect == Dialect::Sqlite;
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
        // Five topics against a thousand kiosks: with a site or kiosk, go by the kiosks.
        let by_kiosk = !viewer.sites.is_empty() || filter.site.is_some() || filter.kiosk.is_some();
        let column = if walk && by_kiosk {
            "+a.topic"
        } else {
            "a.topic"
        };
        t.push(&format!("{column} = ?"), [text(topic)]);
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
/// appeals table leads the join (SQLite's CROSS JOIN keeps it outermost) so the order comes
/// from an index on appeals.
fn select(terms: &Terms, order_by: &str, limit: Option<usize>) -> String {
    let join = match terms.dialect {
        Dialect::Sqlite => "CROSS JOIN",
        // PostgreSQL's CROSS JOIN takes no ON (and it orders joins itself).
        Dialect::Postgres => "JOIN",
    };
    let where_clause = terms.clause();
    format!(
        "SELECT {APPEAL_COLUMNS}, coalesce(o.display_name, a.assigned_to) \
         FROM appeals a {join} kiosks k ON k.id = a.kiosk_id \
         LEFT JOIN operators o ON o.username = a.assigned_to \
         {where_clause} ORDER BY {order_by}{}",
        limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default()
    )
}

fn queue_row(r: &Row) -> Result<QueueRow, DbError> {
    let appeal = appeal_row(r)?;
    Ok(QueueRow {
        assignee: r.get(36)?,
        key: QueueKey::of(&appeal),
        appeal,
    })
}

fn run(conn: &Connection, sql: &str, params: Vec<Value>) -> Result<Vec<QueueRow>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, queue_row)?;
    rows.collect::<Result<_, _>>()
}

/// The SQL and parameters of one page (for [`queue_page`] and the plan test).
fn page_query(
    dialect: Dialect,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
    cursor: &Cursor,
    size: usize,
) -> (String, Vec<Value>, bool) {
    let mut t = terms(dialect, view, filter, viewer, true);
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
    (select(&t, order_by, Some(size + 1)), t.params, forward)
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
    let (sql, params, forward) = page_query(conn.dialect(), view, filter, viewer, cursor, size);
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

fn count_terms(dialect: Dialect, view: View, filter: &QueueFilter, viewer: Viewer<'_>) -> Terms {
    let narrowed = !viewer.sites.is_empty()
        || filter.site.is_some()
        || filter.kiosk.is_some()
        || filter.topic.is_some()
        || filter.from.is_some()
        || filter.until.is_some();
    terms(dialect, view, filter, viewer, narrowed)
}

/// How many appeals of `view` and `filter` the viewer may see (up to [`COUNT_CAP`]).
pub fn count(
    conn: &Connection,
    view: View,
    filter: &QueueFilter,
    viewer: Viewer<'_>,
) -> Result<Count, DbError> {
    let t = count_terms(conn.dialect(), view, filter, viewer);
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM appeals a {} LIMIT {}) capped",
        t.clause(),
        COUNT_CAP + 1
    );
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(t.params, |r| r.get(0))?;
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
    let mut t = terms(conn.dialect(), view, filter, viewer, false);
    t.push(
        &format!("a.id IN ({})", vec!["?"; ids.len()].join(", ")),
        ids.iter().map(|id| text(id)),
    );
    let (order_by, _, _) = order(view, true, None);
    run(conn, &select(&t, order_by, None), t.params)
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

#[cfg(test)]
mod tests;
