//! Usage figures of the service guides, from the stored `guide_event` records: per service,
//! per kiosk and per local day, how many citizens started a guide, completed it (the "citizens
//! trained to use e-services" figure the centres report), abandoned it and at which step most
//! often, how often a consultant was called, and how the guides were rated.

use std::collections::{BTreeMap, HashMap};

use crate::db::sql::Connection;
use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::db::{self, DbError, GuideCount, GuideGrouping, OffsetSpan};

/// Days shown when no range is asked for: today and the 29 days before.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest range one report covers.
pub const MAX_DAYS: i64 = 366;

/// A date range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{key}: expected a date written YYYY-MM-DD, e.g. 2026-11-01; found {found:?}")]
    Date { key: &'static str, found: String },
    #[error("`from` ({from}) is after `to` ({to}); give the earlier date first")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("{from} to {to} is {days} days; ask for at most {MAX_DAYS} days at a time")]
    TooLong {
        from: NaiveDate,
        to: NaiveDate,
        days: i64,
    },
}

/// Local dates, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Range {
    /// From the user's `from` and `to` (empty means not given): by default the last
    /// [`DEFAULT_DAYS`] days up to `today`; one end alone gets the other from the default.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Range, RangeError> {
        let date = |key: &'static str, text: Option<&str>| match text
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| RangeError::Date {
                    key,
                    found: s.chars().take(40).collect(),
                }),
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        if from > to {
            return Err(RangeError::Backwards { from, to });
        }
        let range = Range { from, to };
        if range.days() > MAX_DAYS {
            return Err(RangeError::TooLong {
                from,
                to,
                days: range.days(),
            });
        }
        Ok(range)
    }

    /// Days in the range.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The range as UTC instants: from the first day's local midnight to the midnight after
    /// the last day (exclusive).
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            day_start(tz, self.from),
            day_start(tz, self.to + Duration::days(1)),
        )
    }
}

/// The first instant of a local date (midnight, or the first hour that exists on days a
/// clock change skips midnight).
fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    for hour in 0..3 {
        if let Some(t) = date
            .and_hms_opt(hour, 0, 0)
            .and_then(|naive| tz.from_local_datetime(&naive).earliest())
        {
            return t.with_timezone(&Utc);
        }
    }
    // No zone skips three hours; keep to UTC midnight if one ever did.
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The stretches of `[from, to)` with one UTC offset each in `tz`, so the database can tell
/// local days apart without knowing time zones. Offsets change on the hour or later, found to
/// the second.
pub fn offset_spans(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<OffsetSpan> {
    let mut spans = Vec::new();
    let mut current = offset_at(tz, from);
    let mut t = from;
    while t < to {
        let next = (t + Duration::hours(1)).min(to);
        if offset_at(tz, next) != current {
            // The change lies in (t, next]: find its first second.
            let (mut lo, mut hi) = (t, next);
            while (hi - lo) > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            spans.push(OffsetSpan {
                until: Some(hi),
                offset_secs: current,
            });
            current = offset_at(tz, hi);
        }
        t = next;
    }
    spans.push(OffsetSpan {
        until: None,
        offset_secs: current,
    });
    spans
}

/// Good, neutral and bad answers to "did it work?" (ratings 3, 2 and 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ratings {
    pub good: u64,
    pub neutral: u64,
    pub bad: u64,
}

/// The figures of one service, kiosk, day, or of everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Citizens who opened the guide.
    pub started: u64,
    /// Citizens guided to the end: the "citizens trained to use e-services" figure.
    pub completed: u64,
    /// Citizens who left before the end (walked away, went back, timed out).
    pub abandoned: u64,
    /// The step most abandoned at (the earliest on a tie), if any were abandoned at a step.
    pub most_abandoned_step: Option<u32>,
    /// How many times "call a consultant" was pressed.
    pub consultant_calls: u64,
    pub ratings: Ratings,
    #[serde(skip)]
    abandoned_at: BTreeMap<u32, u64>,
}

impl Figures {
    fn add(&mut self, c: &GuideCount) {
        match c.event.as_str() {
            "started" => self.started += c.sessions,
            "completed" => self.completed += c.sessions,
            "abandoned" => {
                self.abandoned += c.sessions;
                if let Some(step) = c.step {
                    *self.abandoned_at.entry(step).or_default() += c.sessions;
                }
            }
            "consultant_called" => self.consultant_calls += c.events,
            "rated" => match c.rating {
                Some(3) => self.ratings.good += c.events,
                Some(2) => self.ratings.neutral += c.events,
                Some(1) => self.ratings.bad += c.events,
                _ => {}
            },
            // `step_reached` shows the way, not an outcome; the abandoned step says the rest.
            _ => {}
        }
    }

    fn finish(&mut self) {
        // Iterating in step order and keeping only a strictly larger count keeps the earliest.
        let mut best: Option<(u32, u64)> = None;
        for (&step, &n) in &self.abandoned_at {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((step, n));
            }
        }
        self.most_abandoned_step = best.map(|(step, _)| step);
    }

    /// Completed as a share of started, in whole percent.
    pub fn completion_percent(&self) -> Option<u64> {
        (self.started > 0).then(|| (self.completed * 100 + self.started / 2) / self.started)
    }

    /// Whether nothing at all happened.
    pub fn is_empty(&self) -> bool {
        self.started == 0
            && self.completed == 0
            && self.abandoned == 0
            && self.consultant_calls == 0
            && self.ratings == Ratings::default()
    }
}

/// One service's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceFigures {
    pub service_id: String,
    /// From the newest published catalogue, else the id.
    pub title: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One kiosk's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskFigures {
    pub kiosk_id: String,
    pub site: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One local day's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Narrows a report to one service or one kiosk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    pub service: Option<String>,
    pub kiosk: Option<String>,
}

/// The whole report, as the console shows it and `guides report --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    pub filter: Filter,
    /// The newest published catalogue (where the titles come from), if any.
    pub catalog_version: Option<String>,
    pub total: Figures,
    /// Most completed first.
    pub by_service: Vec<ServiceFigures>,
    /// By site, then kiosk id.
    pub by_kiosk: Vec<KioskFigures>,
    /// Every day of the range, oldest first, quiet days included.
    pub by_day: Vec<DayFigures>,
}

/// Counts the figures of a range from the store: one grouped pass per service, kiosk and day.
pub fn report(
    conn: &Connection,
    range: Range,
    tz: Tz,
    filter: Filter,
    titles: &HashMap<String, String>,
    catalog_version: Option<String>,
) -> Result<Report, DbError> {
    let (from, to) = range.bounds(tz);
    let spans = offset_spans(tz, from, to);
    let counts = |grouping| {
        db::guide_counts(
            conn,
            grouping,
            from,
            to,
            &spans,
            filter.service.as_deref(),
            filter.kiosk.as_deref(),
        )
    };
    let by_service = counts(GuideGrouping::Service)?;
    let by_kiosk = counts(GuideGrouping::Kiosk)?;
    let by_day = counts(GuideGrouping::Day)?;
    Ok(aggregate(
        [&by_service, &by_kiosk, &by_day],
        range,
        tz,
        filter,
        titles,
        catalog_version,
    ))
}

/// Adds the grouped counts (by service, by kiosk, by day) up into the report. The total is
/// the sum over services: a citizen who followed two guides counts once in each.
pub fn aggregate(
    [by_service, by_kiosk, by_day]: [&[GuideCount]; 3],
    range: Range,
    tz: Tz,
    filter: Filter,
    titles: &HashMap<String, String>,
    catalog_version: Option<String>,
) -> Report {
    let mut total = Figures::default();
    let mut services: HashMap<&str, Figures> = HashMap::new();
    for c in by_service {
        total.add(c);
        services.entry(&c.key).or_default().add(c);
    }
    let mut kiosks: HashMap<(&str, &str), Figures> = HashMap::new();
    for c in by_kiosk {
        kiosks
            .entry((c.site.as_deref().unwrap_or(""), &c.key))
            .or_default()
            .add(c);
    }
    let mut days: BTreeMap<NaiveDate, Figures> = BTreeMap::new();
    let mut day = range.from;
    while day <= range.to {
        days.insert(day, Figures::default());
        day += Duration::days(1);
    }
    for c in by_day {
        if let Ok(date) = NaiveDate::parse_from_str(&c.key, "%Y-%m-%d") {
            days.entry(date).or_default().add(c);
        }
    }
    total.finish();
    let title = |id: &str| titles.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut by_service: Vec<ServiceFigures> = services
        .into_iter()
        .map(|(id, mut figures)| {
            figures.finish();
            ServiceFigures {
                service_id: id.to_string(),
                title: title(id),
                figures,
            }
        })
        .collect();
    by_service.sort_by(|a, b| {
        b.figures
            .completed
            .cmp(&a.figures.completed)
            .then_with(|| a.title.cmp(&b.title))
    });
    let mut by_kiosk: Vec<KioskFigures> = kiosks
        .into_iter()
        .map(|((site, id), mut figures)| {
            figures.finish();
            KioskFigures {
                kiosk_id: id.to_string(),
                site: site.to_string(),
                figures,
            }
        })
        .collect();
    by_kiosk.sort_by(|a, b| {
        a.site
            .cmp(&b.site)
            .then_with(|| a.kiosk_id.cmp(&b.kiosk_id))
    });
    let by_day = days
        .into_iter()
        .map(|(date, mut figures)| {
            figures.finish();
            DayFigures { date, figures }
        })
        .collect();
    Report {
        from: range.from,
        to: range.to,
        timezone: tz.name().to_string(),
        filter,
        catalog_version,
        total,
        by_service,
        by_kiosk,
        by_day,
    }
}

#[cfg(test)]
mod tests;
