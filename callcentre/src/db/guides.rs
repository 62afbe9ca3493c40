//! Service-guide events counted by service, kiosk or local day for the figures, and the
//! kiosk sites the figures' filter offers.

use super::sql::{Connection, Dialect, Value};
use chrono::{DateTime, Utc};

use super::{ts, DbError};
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

/// What [`local_sql`] makes of a time: its local date or its local month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocalPart {
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM`.
    Month,
}

/// SQL for a local date or month of the UTC time in `column`: the time is moved by the offset
/// in force (one `CASE` arm per span; SQLite knows no time zones, and the spans keep both
/// dialects alike). Pushes its parameters (the offsets as `+N seconds`, the span ends) onto
/// `values`.
pub(super) fn local_sql(
    dialect: Dialect,
    spans: &[OffsetSpan],
    values: &mut Vec<Value>,
    part: LocalPart,
    column: &str,
) -> String {
    let modifier = |secs: i32| format!("{secs:+} seconds");
    // The SQL of `column` moved by the offset in parameter `m` (none: UTC).
    let local = |m: Option<usize>| match (dialect, part, m) {
        (Dialect::Sqlite, LocalPart::Date, None) => format!("date({column})"),
        (Dialect::Sqlite, LocalPart::Date, Some(m)) => format!("date({column}, ?{m})"),
        (Dialect::Sqlite, LocalPart::Month, None) => format!("strftime('%Y-%m', {column})"),
        (Dialect::Sqlite, LocalPart::Month, Some(m)) => {
            format!("strftime('%Y-%m', {column}, ?{m})")
        }
        (Dialect::Postgres, part, m) => {
            let format = match part {
                LocalPart::Date => "YYYY-MM-DD",
                LocalPart::Month => "YYYY-MM",
            };
            let moved = match m {
                // (Cast from text: PostgreSQL types a parameter by where it stands.)
                Some(m) => format!(" + CAST(CAST(?{m} AS text) AS interval)"),
                None => String::new(),
            };
            format!("to_char((({column})::timestamptz AT TIME ZONE 'UTC'){moved}, '{format}')")
        }
    };
    match spans {
        [] => local(None),
        [only] => {
            values.push(modifier(only.offset_secs).into());
            local(Some(values.len()))
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
                            " WHEN {column} < ?{} THEN {}",
                            m + 1,
                            local(Some(m))
                        ));
                    }
                    None => case.push_str(&format!(" ELSE {}", local(Some(m)))),
                }
            }
            case.push_str(" END");
            case
        }
    }
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
    let (sql, values) = counts_sql(conn.dialect(), grouping, from, to, spans, service, kiosk);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(values, |r| {
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
    rows.collect::<Result<_, _>>()
}

/// The statement of [`guide_counts`] and its parameters.
fn counts_sql(
    dialect: Dialect,
    grouping: GuideGrouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    spans: &[OffsetSpan],
    service: Option<&str>,
    kiosk: Option<&str>,
) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = vec![
        ts(from).into(),
        ts(to).into(),
        service.map(str::to_owned).into(),
        kiosk.map(str::to_owned).into(),
    ];
    let key = match grouping {
        GuideGrouping::Service => "g.service_id".to_string(),
        GuideGrouping::Kiosk => "g.kiosk_id".to_string(),
        // The day is the UTC time moved by the offset in force.
        GuideGrouping::Day => local_sql(dialect, spans, &mut values, LocalPart::Date, "g.at"),
    };
    let grouped = format!(
        "SELECT {key} AS grp, g.event AS event, g.step AS step, g.rating AS rating, \
         COUNT(*) AS events, COUNT(DISTINCT g.session_id) AS sessions \
         FROM guide_events g \
         WHERE g.at >= ?1 AND g.at < ?2 AND g.event <> 'step_reached' \
         AND (CAST(?3 AS text) IS NULL OR g.service_id = ?3) \
         AND (CAST(?4 AS text) IS NULL OR g.kiosk_id = ?4) \
         GROUP BY grp, g.event, g.step, g.rating"
    );
    let sql = match grouping {
        GuideGrouping::Kiosk => format!(
            "SELECT x.grp, k.site, x.event, x.step, x.rating, x.events, x.sessions \
             FROM ({grouped}) x JOIN kiosks k ON k.id = x.grp"
        ),
        _ => format!(
            "SELECT x.grp, NULL, x.event, x.step, x.rating, x.events, x.sessions \
             FROM ({grouped}) x"
        ),
    };
    (sql, values)
}

/// Every kiosk's id and site, for the figures' filter.
pub fn kiosk_sites(conn: &Connection) -> Result<Vec<(String, String)>, DbError> {
    let mut stmt = conn.prepare("SELECT id, site FROM kiosks ORDER BY site, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect::<Result<_, _>>()
}
