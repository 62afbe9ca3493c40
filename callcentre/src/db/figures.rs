//! The appeal figures in SQL: appeals counted by local month, site, topic and status (with
//! how many were answered, answered within the limit, or are overdue without an answer), and
//! median hours from an appeal to its answer, computed by the database with window functions.
//! Test appeals never count; operators' sites and the anti-corruption flag narrow the scope.

use super::guides::{local_sql, LocalPart};
use super::sql::{Connection, Dialect, Row, Value};
use chrono::{DateTime, Utc};

use super::{ts, DbError, OffsetSpan};

/// Which appeals the figures cover: made (`created_at`, the time the legal limit counts from)
/// in `[from, to)`, local months told apart by `spans`; only kiosks at `sites` (empty: every
/// site); anti-corruption reports only if `anticorruption`. `now` decides what is overdue.
#[derive(Debug, Clone, Copy)]
pub struct FigureScope<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub spans: &'a [OffsetSpan],
    pub sites: &'a [String],
    pub anticorruption: bool,
    pub now: DateTime<Utc>,
}

/// Appeals of one local month, site, topic and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureCell {
    /// `YYYY-MM` in the call-centre's zone.
    pub month: String,
    pub site: String,
    pub topic: String,
    pub status: String,
    pub appeals: u64,
    /// Those with an answer.
    pub answered: u64,
    /// Answered at or before their due time.
    pub within_limit: u64,
    /// Not answered, not closed, and past their due time at `now`.
    pub overdue_open: u64,
}

/// The groups a median is taken over (none set: one median for the whole scope).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MedianBy {
    pub month: bool,
    pub site: bool,
    pub topic: bool,
}

/// The median time from an appeal to its answer in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct MedianRow {
    pub month: Option<String>,
    pub site: Option<String>,
    pub topic: Option<String>,
    /// Answered appeals in the group.
    pub answered: u64,
    pub median_hours: f64,
}

/// The local month of `a.created_at` (`YYYY-MM`); pushes its parameters.
fn month_expr(dialect: Dialect, spans: &[OffsetSpan], values: &mut Vec<Value>) -> String {
    local_sql(dialect, spans, values, LocalPart::Month, "a.created_at")
}

/// A stored time (or a time parameter) as something both dialects compare and subtract as a
/// time: SQLite's Julian day number, PostgreSQL's `timestamptz`.
fn time_sql(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("julianday({expr})"),
        Dialect::Postgres => format!("({expr})::timestamptz"),
    }
}

/// The `WHERE` clause of a scope (on `appeals a JOIN kiosks k`); pushes its parameters.
fn scope_filter(scope: &FigureScope<'_>, values: &mut Vec<Value>) -> Result<String, DbError> {
    values.push(ts(scope.from).into());
    let from = values.len();
    values.push(ts(scope.to).into());
    let to = values.len();
    let mut sql = format!("a.created_at >= ?{from} AND a.created_at < ?{to} AND a.test = 0");
    if !scope.anticorruption {
        sql.push_str(" AND a.anticorruption = 0");
    }
    if !scope.sites.is_empty() {
        // One parameter per site (an operator has a few).
        let mut marks = Vec::with_capacity(scope.sites.len());
        for site in scope.sites {
            values.push(site.clone().into());
            marks.push(format!("?{}", values.len()));
        }
        sql.push_str(&format!(" AND k.site IN ({})", marks.join(", ")));
    }
    Ok(sql)
}

fn count(r: &Row, i: usize) -> Result<u64, DbError> {
    Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
}

/// Appeals of the scope counted by local month, site, topic and status: one row per group
/// that has appeals, however many appeals there are.
pub fn figure_cells(
    conn: &Connection,
    scope: &FigureScope<'_>,
) -> Result<Vec<FigureCell>, DbError> {
    let (sql, values) = cells_sql(conn.dialect(), scope)?;
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(values, |r| {
        Ok(FigureCell {
            month: r.get(0)?,
            site: r.get(1)?,
            topic: r.get(2)?,
            status: r.get(3)?,
            appeals: count(r, 4)?,
            answered: count(r, 5)?,
            within_limit: count(r, 6)?,
            overdue_open: count(r, 7)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

/// The statement of [`figure_cells`] and its parameters.
fn cells_sql(dialect: Dialect, scope: &FigureScope<'_>) -> Result<(String, Vec<Value>), DbError> {
    let mut values = Vec::new();
    let month = month_expr(dialect, scope.spans, &mut values);
    let filter = scope_filter(scope, &mut values)?;
    values.push(ts(scope.now).into());
    // (A text parameter: PostgreSQL would otherwise expect a timestamptz for it.)
    let now = time_sql(dialect, &format!("CAST(?{} AS text)", values.len()));
    let (answered, due) = (
        time_sql(dialect, "a.answered_at"),
        time_sql(dialect, "a.due_at"),
    );
    // COUNT of a CASE without ELSE: the rows where the condition holds (an integer on both).
    let sql = format!(
        "SELECT {month} AS month, k.site, a.topic, a.status, COUNT(*), \
         COUNT(CASE WHEN a.answered_at IS NOT NULL THEN 1 END), \
         COUNT(CASE WHEN a.answered_at IS NOT NULL AND {answered} <= {due} THEN 1 END), \
         COUNT(CASE WHEN a.answered_at IS NULL AND a.status <> 'closed' AND {due} < {now} \
             THEN 1 END) \
         FROM appeals a JOIN kiosks k ON k.id = a.kiosk_id \
         WHERE {filter} \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    );
    Ok((sql, values))
}

/// The median hours from an appeal's making to its answer over the answered appeals of the
/// scope, for each grouping of `groupings` (the answer has one list per grouping, one row per
/// group). One statement: the durations are computed once, then for each grouping the
/// database sorts each group's durations and keeps the middle one (the mean of the middle two
/// for an even count).
pub fn answer_medians(
    conn: &Connection,
    scope: &FigureScope<'_>,
    groupings: &[MedianBy],
) -> Result<Vec<Vec<MedianRow>>, DbError> {
    if groupings.is_empty() {
        return Ok(Vec::new());
    }
    let (sql, values) = medians_sql(conn.dialect(), scope, groupings)?;
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(values, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            MedianRow {
                month: r.get(1)?,
                site: r.get(2)?,
                topic: r.get(3)?,
                answered: count(r, 4)?,
                median_hours: r.get::<_, Option<f64>>(5)?.unwrap_or(0.0),
            },
        ))
    })?;
    let mut out = vec![Vec::new(); groupings.len()];
    for row in rows {
        let (g, median) = row?;
        // Without groups, an empty scope still yields one row of NULLs.
        if median.answered > 0 {
            if let Some(list) = usize::try_from(g).ok().and_then(|g| out.get_mut(g)) {
                list.push(median);
            }
        }
    }
    Ok(out)
}

/// The statement of [`answer_medians`] and its parameters.
fn medians_sql(
    dialect: Dialect,
    scope: &FigureScope<'_>,
    groupings: &[MedianBy],
) -> Result<(String, Vec<Value>), DbError> {
    let mut values = Vec::new();
    let month = month_expr(dialect, scope.spans, &mut values);
    let filter = scope_filter(scope, &mut values)?;
    let branches: Vec<String> = groupings
        .iter()
        .enumerate()
        .map(|(g, by)| {
            let keys: Vec<&str> = [(by.month, "month"), (by.site, "site"), (by.topic, "topic")]
                .into_iter()
                .filter_map(|(on, k)| on.then_some(k))
                .collect();
            let (partition, group) = if keys.is_empty() {
                (String::new(), String::new())
            } else {
                (
                    format!("PARTITION BY {}", keys.join(", ")),
                    format!("GROUP BY {}", keys.join(", ")),
                )
            };
            let pick = |on: bool, k: &str| if on { k.to_string() } else { "NULL".into() };
            format!(
                "SELECT {g} AS g, {} AS month, {} AS site, {} AS topic, MAX(n) AS n, \
                 AVG(hours) AS median FROM ( \
                     SELECT month, site, topic, hours, \
                     ROW_NUMBER() OVER ({partition} ORDER BY hours) AS rn, \
                     COUNT(*) OVER ({partition}) AS n FROM d) w \
                 WHERE rn IN ((n + 1) / 2, (n + 2) / 2) {group}",
                pick(by.month, "month"),
                pick(by.site, "site"),
                pick(by.topic, "topic"),
            )
        })
        .collect();
    // Whole seconds from the appeal to its answer, as a real number.
    let seconds = match dialect {
        Dialect::Sqlite => "ROUND((julianday(a.answered_at) - julianday(a.created_at)) * 86400.0)",
        Dialect::Postgres => {
            "CAST(ROUND(extract(epoch from (a.answered_at)::timestamptz \
             - (a.created_at)::timestamptz)) AS double precision)"
        }
    };
    let sql = format!(
        "WITH d AS MATERIALIZED ( \
             SELECT {month} AS month, k.site AS site, a.topic AS topic, \
             {seconds} / 3600.0 AS hours \
             FROM appeals a JOIN kiosks k ON k.id = a.kiosk_id \
             WHERE {filter} AND a.answered_at IS NOT NULL) \
         {} ORDER BY 1, 2, 3, 4",
        branches.join(" UNION ALL ")
    );
    Ok((sql, values))
}
