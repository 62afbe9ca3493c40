//! The appeal figures: appeals per local month, site, topic and status, the median time to
//! answer and the share answered within the legal limit, for a range of whole months in the
//! call-centre's zone, and their CSV export. Counting is done by SQL (`db::figure_cells`,
//! `db::answer_medians`); here the groups are summed up. A [`Viewer`] narrows them to an
//! operator's sites, and leaves out anti-corruption reports without that role. The console's
//! page and download are in `console::figures`.

use std::collections::BTreeMap;

use crate::db::sql::Connection;
use chrono::{DateTime, Datelike, Months as ChronoMonths, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::db::{self, DbError, FigureScope, MedianBy};

/// The longest range the figures show at once, in months.
pub const MAX_MONTHS: u32 = 60;

/// A range of whole months, both ends included (each held as its first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Months {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a range of months cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MonthsError {
    #[error("{field}: expected a month as YYYY-MM, found {found:?}")]
    Month { field: &'static str, found: String },
    #[error("the first month comes after the last")]
    Order,
    #[error("at most {MAX_MONTHS} months at once")]
    TooLong,
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn parse_month(field: &'static str, s: &str) -> Result<NaiveDate, MonthsError> {
    let s = s.trim();
    let bad = || MonthsError::Month {
        field,
        found: s.chars().take(20).collect(),
    };
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    NaiveDate::from_ymd_opt(y, m, 1)
        .filter(|_| (2000..=2999).contains(&y))
        .ok_or_else(bad)
}

impl Months {
    /// `from` and `to` as `YYYY-MM` (empty or missing: `to` is this month, `from` 11 months
    /// before `to`).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Months, MonthsError> {
        fn given(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let to = match given(to) {
            Some(s) => parse_month("to", s)?,
            None => first_of_month(today),
        };
        let from = match given(from) {
            Some(s) => parse_month("from", s)?,
            None => to - ChronoMonths::new(11),
        };
        let range = Months { from, to };
        if from > to {
            return Err(MonthsError::Order);
        }
        if range.list().len() > MAX_MONTHS as usize {
            return Err(MonthsError::TooLong);
        }
        Ok(range)
    }

    /// Every month of the range, oldest first.
    pub fn list(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut m = self.from;
        while m <= self.to && out.len() <= MAX_MONTHS as usize {
            out.push(m);
            m = m + ChronoMonths::new(1);
        }
        out
    }

    /// The range as UTC instants: the first month's local midnight to the local midnight
    /// starting the month after the last (exclusive).
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            local_midnight(tz, self.from),
            local_midnight(tz, self.to + ChronoMonths::new(1)),
        )
    }
}

fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    (0..3)
        .find_map(|h| {
            date.and_hms_opt(h, 0, 0)
                .and_then(|n| tz.from_local_datetime(&n).earliest())
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// Appeals of a group, and how their answers went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub appeals: u64,
    pub answered: u64,
    pub within_limit: u64,
    /// Not answered, not closed, past the due time.
    pub overdue_open: u64,
}

impl Counts {
    fn add(&mut self, c: &db::FigureCell) {
        self.appeals += c.appeals;
        self.answered += c.answered;
        self.within_limit += c.within_limit;
        self.overdue_open += c.overdue_open;
    }

    /// Appeals whose limit is decided: answered (in time or late) or overdue without answer.
    /// Open appeals not yet due and appeals closed without an answer are not counted.
    pub fn decided(&self) -> u64 {
        self.answered + self.overdue_open
    }

    /// The share answered within the limit, in percent of [`Counts::decided`].
    pub fn within_percent(&self) -> Option<f64> {
        let d = self.decided();
        (d > 0).then(|| self.within_limit as f64 * 100.0 / d as f64)
    }
}

/// One month of the figures.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    pub month: NaiveDate,
    pub counts: Counts,
    /// Appeals per status now, in the order of [`db::STATUSES`].
    pub statuses: [u64; 5],
    pub median_hours: Option<f64>,
}

/// One site or topic over the whole range.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub key: String,
    pub counts: Counts,
    pub median_hours: Option<f64>,
    /// Appeals per month of the range, oldest first.
    pub per_month: Vec<u64>,
}

/// The figures of a range of months.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub months: Months,
    pub timezone: String,
    pub total: Counts,
    pub median_hours: Option<f64>,
    pub by_month: Vec<MonthRow>,
    pub by_site: Vec<GroupRow>,
    pub by_topic: Vec<GroupRow>,
    pub by_status: [u64; 5],
    /// The viewer sees only some sites (listed).
    pub sites: Vec<String>,
    /// Anti-corruption reports are counted (the viewer has that role).
    pub anticorruption: bool,
    /// The month in progress, if the range has it: its figures are so far.
    pub current_month: Option<NaiveDate>,
}

pub fn month_key(m: NaiveDate) -> String {
    m.format("%Y-%m").to_string()
}

fn status_index(status: &str) -> Option<usize> {
    db::STATUSES.iter().position(|s| *s == status)
}

/// Who the figures are for: their sites (empty: all) and whether they count anti-corruption
/// reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    pub sites: Vec<String>,
    pub anticorruption: bool,
}

fn scope<'a>(
    months: Months,
    tz: Tz,
    spans: &'a [db::OffsetSpan],
    viewer: &'a Viewer,
    now: DateTime<Utc>,
) -> FigureScope<'a> {
    let (from, to) = months.bounds(tz);
    FigureScope {
        from,
        to,
        spans,
        sites: &viewer.sites,
        anticorruption: viewer.anticorruption,
        now,
    }
}

/// The figures of `months` for `viewer`.
pub fn report(
    conn: &Connection,
    months: Months,
    tz: Tz,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    let (from, to) = months.bounds(tz);
    let spans = crate::guides::offset_spans(tz, from, to);
    let scope = scope(months, tz, &spans, viewer, now);
    let cells = db::figure_cells(conn, &scope)?;
    let by = |month, site, topic| MedianBy { month, site, topic };
    let mut medians = db::answer_medians(
        conn,
        &scope,
        &[
            by(false, false, false),
            by(true, false, false),
            by(false, true, false),
            by(false, false, true),
        ],
    )?
    .into_iter();
    let mut next = || medians.next().unwrap_or_default();
    let total_median = next().first().map(|m| m.median_hours);
    let keyed = |rows: Vec<db::MedianRow>, key: fn(db::MedianRow) -> Option<String>| {
        rows.into_iter()
            .filter_map(|m| {
                let hours = m.median_hours;
                Some((key(m)?, hours))
            })
            .collect::<BTreeMap<String, f64>>()
    };
    let month_medians = keyed(next(), |m| m.month);
    let site_medians = keyed(next(), |m| m.site);
    let topic_medians = keyed(next(), |m| m.topic);

    let mut by_month: Vec<MonthRow> = months
        .list()
        .into_iter()
        .map(|month| MonthRow {
            median_hours: month_medians.get(&month_key(month)).copied(),
            month,
            counts: Counts::default(),
            statuses: [0; 5],
        })
        .collect();
    let month_list = months.list();
    let month_of = |key: &str| month_list.iter().position(|m| month_key(*m) == key);
    let mut sites: BTreeMap<String, (Counts, Vec<u64>)> = BTreeMap::new();
    let mut topics: BTreeMap<String, (Counts, Vec<u64>)> = BTreeMap::new();
    let mut total = Counts::default();
    let mut by_status = [0; 5];
    for c in &cells {
        total.add(c);
        for (map, key) in [(&mut sites, &c.site), (&mut topics, &c.topic)] {
            let (counts, per_month) = map
                .entry(key.clone())
                .or_insert_with(|| (Counts::default(), vec![0; month_list.len()]));
            counts.add(c);
            if let Some(i) = month_of(&c.month) {
                per_month[i] += c.appeals;
            }
        }
        let status = status_index(&c.status);
        if let Some(i) = status {
            by_status[i] += c.appeals;
        }
        if let Some(row) = by_month.iter_mut().find(|r| month_key(r.month) == c.month) {
            row.counts.add(c);
            if let Some(i) = status {
                row.statuses[i] += c.appeals;
            }
        }
    }
    let group = |map: BTreeMap<String, (Counts, Vec<u64>)>, medians: &BTreeMap<String, f64>| {
        let mut rows: Vec<GroupRow> = map
            .into_iter()
            .map(|(key, (counts, per_month))| GroupRow {
                median_hours: medians.get(&key).copied(),
                key,
                counts,
                per_month,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.counts
                .appeals
                .cmp(&a.counts.appeals)
                .then(a.key.cmp(&b.key))
        });
        rows
    };
    Ok(Report {
        months,
        timezone: tz.name().to_string(),
        total,
        median_hours: total_median,
        by_month,
        by_site: group(sites, &site_medians),
        by_topic: group(topics, &topic_medians),
        by_status,
        sites: viewer.sites.clone(),
        anticorruption: viewer.anticorruption,
        current_month: Some(first_of_month(now.with_timezone(&tz).date_naive()))
            .filter(|m| (months.from..=months.to).contains(m)),
    })
}

/// One line of the CSV export: a month, site and topic.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub month: String,
    pub site: String,
    pub topic: String,
    pub counts: Counts,
    pub median_hours: Option<f64>,
}

/// The CSV export's rows: every month × site × topic with appeals, oldest month first.
pub fn csv_rows(
    conn: &Connection,
    months: Months,
    tz: Tz,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<Vec<CsvRow>, DbError> {
    let (from, to) = months.bounds(tz);
    let spans = crate::guides::offset_spans(tz, from, to);
    let scope = scope(months, tz, &spans, viewer, now);
    let mut rows: BTreeMap<(String, String, String), Counts> = BTreeMap::new();
    for c in db::figure_cells(conn, &scope)? {
        rows.entry((c.month.clone(), c.site.clone(), c.topic.clone()))
            .or_default()
            .add(&c);
    }
    let medians: BTreeMap<(String, String, String), f64> = db::answer_medians(
        conn,
        &scope,
        &[MedianBy {
            month: true,
            site: true,
            topic: true,
        }],
    )?
    .into_iter()
    .flatten()
    .filter_map(|m| Some(((m.month?, m.site?, m.topic?), m.median_hours)))
    .collect();
    Ok(rows
        .into_iter()
        .map(|(key, counts)| CsvRow {
            median_hours: medians.get(&key).copied(),
            month: key.0,
            site: key.1,
            topic: key.2,
            counts,
        })
        .collect())
}

/// A CSV field: quoted when it needs to be; a leading `=`, `+`, `-` or `@` is defused with
/// an apostrophe so spreadsheets do not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The CSV header line's columns.
pub const CSV_COLUMNS: [&str; 8] = [
    "month",
    "site",
    "topic",
    "appeals",
    "answered",
    "answered_within_limit",
    "overdue_unanswered",
    "median_hours_to_answer",
];

/// The CSV export (RFC 4180, CRLF line ends), a header line first.
pub fn csv(rows: &[CsvRow]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let fields = [
            csv_field(&r.month),
            csv_field(&r.site),
            csv_field(&r.topic),
            r.counts.appeals.to_string(),
            r.counts.answered.to_string(),
            r.counts.within_limit.to_string(),
            r.counts.overdue_open.to_string(),
            r.median_hours
                .map(|h| format!("{h:.1}"))
                .unwrap_or_default(),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests;
