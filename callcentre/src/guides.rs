//! Usage figures of the service guides, from the stored `guide_event` records: per service,
//! per kiosk and per local day, how many citizens started a guide, completed it (the "citizens
//! trained to use e-services" figure the centres report), abandoned it and at which step most
//! often, how often a consultant was called, and how the guides were rated.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
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
mod tests {
    use super::*;
    use crate::db::Db;
    use chrono_tz::Asia::Almaty;
    use senim_protocol::{GuideEventKind, GuideEventRecord, Record, RecordBody};

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_range_defaults_to_thirty_days_and_refuses_nonsense_clearly() {
        let today = date("2026-11-20");
        let r = Range::parse(None, None, today).unwrap();
        assert_eq!((r.from, r.to, r.days()), (date("2026-10-22"), today, 30));
        let r = Range::parse(Some(""), Some("2026-11-01"), today).unwrap();
        assert_eq!(r.from, date("2026-10-03"));
        let r = Range::parse(Some("2026-11-05"), None, today).unwrap();
        assert_eq!((r.from, r.to), (date("2026-11-05"), today));
        let e = Range::parse(Some("5.11.2026"), None, today).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("from: expected a date written YYYY-MM-DD"),
            "{e}"
        );
        let e = Range::parse(Some("2026-11-10"), Some("2026-11-01"), today).unwrap_err();
        assert!(matches!(e, RangeError::Backwards { .. }), "{e}");
        let e = Range::parse(Some("2020-01-01"), None, today).unwrap_err();
        assert!(e.to_string().contains("at most 366 days"), "{e}");
    }

    #[test]
    fn days_are_the_call_centres_local_days() {
        // Almaty is UTC+5: 20 November starts at 19:00 UTC the day before.
        let r = Range::parse(Some("2026-11-20"), Some("2026-11-20"), date("2026-11-20")).unwrap();
        assert_eq!(
            r.bounds(Almaty),
            (utc("2026-11-19T19:00:00Z"), utc("2026-11-20T19:00:00Z"))
        );
        assert_eq!(
            offset_spans(
                Almaty,
                utc("2026-11-19T19:00:00Z"),
                utc("2026-11-20T19:00:00Z")
            ),
            vec![OffsetSpan {
                until: None,
                offset_secs: 5 * 3600
            }]
        );
        // Kazakhstan moved Almaty from UTC+6 to UTC+5 at 00:00 local on 1 March 2024.
        let spans = offset_spans(
            Almaty,
            utc("2024-02-28T00:00:00Z"),
            utc("2024-03-03T00:00:00Z"),
        );
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!(spans[0].offset_secs, 6 * 3600);
        assert_eq!(spans[0].until, Some(utc("2024-02-29T18:00:00Z")));
        assert_eq!(spans[1].offset_secs, 5 * 3600);
    }

    /// One guide event: session, service, kind, step, rating, time.
    type Event<'a> = (
        &'a str,
        &'a str,
        GuideEventKind,
        Option<u32>,
        Option<u8>,
        &'a str,
    );

    /// A store with one kiosk and the given guide events (kept with its folder).
    fn store(events: &[Event<'_>]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let now = Utc::now();
        db.write(|tx| {
            db::insert_enrol_code(
                tx,
                "h",
                "Centre",
                senim_protocol::SiteMode::FrontOffice,
                now,
                now + Duration::hours(1),
            )?;
            db::redeem_enrol_code(tx, "h", now, "K-AAAAAA", "t")?.unwrap();
            let records: Vec<Record> = events
                .iter()
                .enumerate()
                .map(|(i, (session, service, event, step, rating, at))| Record {
                    key: format!("key-{i:06}"),
                    record: RecordBody::GuideEvent(GuideEventRecord {
                        session_id: session.to_string(),
                        service_id: service.to_string(),
                        event: *event,
                        step: *step,
                        rating: *rating,
                        at: utc(at),
                    }),
                })
                .collect();
            let hashes: Vec<String> = (0..records.len()).map(|i| i.to_string()).collect();
            db::store_batch(tx, "K-AAAAAA", &records, &hashes, now, 15)?.unwrap();
            Ok::<_, DbError>(())
        })
        .unwrap();
        (dir, db)
    }

    #[test]
    fn figures_count_citizens_and_the_step_most_given_up_at() {
        use GuideEventKind::*;
        let (_dir, db) = store(&[
            // Two citizens complete the address certificate, one rates it good.
            ("s1", "address", Started, None, None, "2026-11-19T04:00:00Z"),
            (
                "s1",
                "address",
                StepReached,
                Some(2),
                None,
                "2026-11-19T04:01:00Z",
            ),
            (
                "s1",
                "address",
                Completed,
                None,
                None,
                "2026-11-19T04:05:00Z",
            ),
            (
                "s1",
                "address",
                Rated,
                None,
                Some(3),
                "2026-11-19T04:05:10Z",
            ),
            ("s2", "address", Started, None, None, "2026-11-20T04:00:00Z"),
            (
                "s2",
                "address",
                Completed,
                None,
                None,
                "2026-11-20T04:06:00Z",
            ),
            (
                "s2",
                "address",
                Rated,
                None,
                Some(1),
                "2026-11-20T04:06:10Z",
            ),
            // Three give up on the e-signature: two at step 3, one at step 2; one calls for help.
            ("s3", "ecp", Started, None, None, "2026-11-20T05:00:00Z"),
            (
                "s3",
                "ecp",
                ConsultantCalled,
                Some(3),
                None,
                "2026-11-20T05:02:00Z",
            ),
            (
                "s3",
                "ecp",
                Abandoned,
                Some(3),
                None,
                "2026-11-20T05:03:00Z",
            ),
            ("s4", "ecp", Started, None, None, "2026-11-20T06:00:00Z"),
            (
                "s4",
                "ecp",
                Abandoned,
                Some(2),
                None,
                "2026-11-20T06:03:00Z",
            ),
            ("s5", "ecp", Started, None, None, "2026-11-20T07:00:00Z"),
            (
                "s5",
                "ecp",
                Abandoned,
                Some(3),
                None,
                "2026-11-20T07:03:00Z",
            ),
            // 23:30 in Almaty on the 20th is 18:30 UTC; 00:30 on the 21st is outside the range.
            ("s6", "address", Started, None, None, "2026-11-20T18:30:00Z"),
            ("s7", "address", Started, None, None, "2026-11-20T19:30:00Z"),
        ]);
        let titles = HashMap::from([("address".to_string(), "Address certificate".to_string())]);
        let range =
            Range::parse(Some("2026-11-19"), Some("2026-11-20"), date("2026-11-20")).unwrap();
        let r = db
            .read(|c| report(c, range, Almaty, Filter::default(), &titles, None))
            .unwrap();
        assert_eq!(r.total.started, 6);
        assert_eq!(r.total.completed, 2);
        assert_eq!(r.total.abandoned, 3);
        assert_eq!(r.total.consultant_calls, 1);
        assert_eq!(
            r.total.ratings,
            Ratings {
                good: 1,
                neutral: 0,
                bad: 1
            }
        );
        assert_eq!(
            r.by_service[0].title, "Address certificate",
            "most completed first"
        );
        assert_eq!(r.by_service[0].figures.completed, 2);
        let ecp = &r.by_service[1];
        assert_eq!(
            (ecp.title.as_str(), ecp.figures.abandoned),
            ("ecp", 3),
            "no title: the id"
        );
        assert_eq!(ecp.figures.most_abandoned_step, Some(3));
        assert_eq!(ecp.figures.completion_percent(), Some(0));
        assert_eq!(r.by_kiosk.len(), 1);
        assert_eq!(r.by_kiosk[0].site, "Centre");
        let days: Vec<(String, u64, u64)> = r
            .by_day
            .iter()
            .map(|d| (d.date.to_string(), d.figures.started, d.figures.completed))
            .collect();
        assert_eq!(
            days,
            vec![("2026-11-19".into(), 1, 1), ("2026-11-20".into(), 5, 1)]
        );

        let only = Filter {
            service: Some("ecp".into()),
            kiosk: None,
        };
        let r = db
            .read(|c| report(c, range, Almaty, only, &titles, None))
            .unwrap();
        assert_eq!((r.total.started, r.by_service.len()), (3, 1));
    }
}
