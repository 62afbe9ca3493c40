//! Call-centre working hours: open now, or when it opens next (pure, time zone aware).
//!
//! Shared by the kiosk (attract screen, receipts) and the backend (the red lamp), so both
//! sides agree on whether operators are at work.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;

/// A working-hours setting that cannot be used: which key (relative to the section), what is
/// expected there and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursError {
    pub key: &'static str,
    pub expected: String,
    pub found: String,
}

impl std::fmt::Display for HoursError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.key, self.expected, self.found
        )
    }
}

impl std::error::Error for HoursError {}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HoursConfig {
    /// IANA time zone of the call-centre.
    pub timezone: String,
    /// Opening and closing time, `HH:MM`.
    pub opens: String,
    pub closes: String,
    /// Working days, `mon` … `sun`.
    pub working_days: Vec<String>,
    /// Public holidays, `YYYY-MM-DD`; by default [`KAZAKHSTAN_HOLIDAYS`].
    pub holidays: Vec<String>,
}

impl Default for HoursConfig {
    fn default() -> Self {
        Self {
            timezone: "Asia/Almaty".into(),
            opens: "09:00".into(),
            closes: "18:00".into(),
            working_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            holidays: KAZAKHSTAN_HOLIDAYS.iter().map(|d| d.to_string()).collect(),
        }
    }
}

/// The public holidays of Kazakhstan (days off), the default of both the kiosk's
/// `[callcentre] holidays` and the call-centre's `[hours] holidays`: one list for both sides.
/// Kurban Ait follows the lunar calendar and the government announces transfers of days off
/// each year; a site adds those in its configuration.
pub const KAZAKHSTAN_HOLIDAYS: &[&str] = &[
    "2026-01-01",
    "2026-01-02",
    "2026-01-07",
    "2026-03-08",
    "2026-03-21",
    "2026-03-22",
    "2026-03-23",
    "2026-05-01",
    "2026-05-07",
    "2026-05-09",
    "2026-05-27",
    "2026-07-06",
    "2026-08-30",
    "2026-10-25",
    "2026-12-16",
    "2027-01-01",
    "2027-01-02",
    "2027-01-07",
    "2027-03-08",
    "2027-03-21",
    "2027-03-22",
    "2027-03-23",
    "2027-05-01",
    "2027-05-07",
    "2027-05-09",
    "2027-05-16",
    "2027-07-06",
    "2027-08-30",
    "2027-10-25",
    "2027-12-16",
];

impl HoursConfig {
    /// The working-hours schedule, or which key is wrong, what is expected and what was found.
    pub fn schedule(&self) -> Result<Schedule, HoursError> {
        self.parse().map_err(|(key, expected, found)| HoursError {
            key,
            expected,
            found,
        })
    }

    fn parse(&self) -> Result<Schedule, (&'static str, String, String)> {
        let tz: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            (
                "timezone",
                "an IANA time zone such as \"Asia/Almaty\"".to_string(),
                format!("{:?}", self.timezone),
            )
        })?;
        let time = |key: &'static str, s: &str| {
            chrono::NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| {
                (
                    key,
                    "a time as HH:MM, e.g. \"09:00\"".to_string(),
                    format!("{s:?}"),
                )
            })
        };
        let opens = time("opens", &self.opens)?;
        let closes = time("closes", &self.closes)?;
        if closes <= opens {
            return Err((
                "closes",
                format!("a time after opens ({})", self.opens),
                format!("{:?}", self.closes),
            ));
        }
        let mut days = Vec::new();
        for day in &self.working_days {
            let weekday = match day.as_str() {
                "mon" => chrono::Weekday::Mon,
                "tue" => chrono::Weekday::Tue,
                "wed" => chrono::Weekday::Wed,
                "thu" => chrono::Weekday::Thu,
                "fri" => chrono::Weekday::Fri,
                "sat" => chrono::Weekday::Sat,
                "sun" => chrono::Weekday::Sun,
                other => {
                    return Err((
                        "working_days",
                        "days written mon, tue, wed, thu, fri, sat or sun".to_string(),
                        format!("{other:?}"),
                    ))
                }
            };
            days.push(weekday);
        }
        if days.is_empty() {
            return Err((
                "working_days",
                "at least one working day".to_string(),
                "an empty list".to_string(),
            ));
        }
        let mut holidays = Vec::new();
        for h in &self.holidays {
            let date = chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| {
                (
                    "holidays",
                    "dates written YYYY-MM-DD".to_string(),
                    format!("{h:?}"),
                )
            })?;
            holidays.push(date);
        }
        Ok(Schedule::new(tz, opens, closes, days, holidays))
    }
}

/// Working days, hours and public holidays of the call-centre, in its own time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    tz: Tz,
    opens: NaiveTime,
    closes: NaiveTime,
    days: Vec<Weekday>,
    holidays: Vec<NaiveDate>,
}

/// What the attract screen and the receipt tell a citizen about the operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCentreStatus {
    /// Operators are at work now.
    Open,
    /// Closed; appeals left now are seen at this local date and time.
    Closed { next_open: NaiveDateTime },
}

impl Schedule {
    pub fn new(
        tz: Tz,
        opens: NaiveTime,
        closes: NaiveTime,
        days: Vec<Weekday>,
        holidays: Vec<NaiveDate>,
    ) -> Schedule {
        Schedule {
            tz,
            opens,
            closes,
            days,
            holidays,
        }
    }

    /// Is this local date a working day (a working weekday that is no public holiday)?
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days.contains(&date.weekday()) && !self.holidays.contains(&date)
    }

    /// The status at a moment in time.
    pub fn status(&self, now: DateTime<Utc>) -> CallCentreStatus {
        let local = now.with_timezone(&self.tz).naive_local();
        let date = local.date();
        let time = local.time();
        if self.is_working_day(date) && time >= self.opens && time < self.closes {
            return CallCentreStatus::Open;
        }
        let mut day = if self.is_working_day(date) && time < self.opens {
            date
        } else {
            date + Duration::days(1)
        };
        // A year of holidays cannot hide every working day; stop looking after that.
        for _ in 0..400 {
            if self.is_working_day(day) {
                break;
            }
            day += Duration::days(1);
        }
        CallCentreStatus::Closed {
            next_open: day.and_time(self.opens),
        }
    }

    /// Whether operators are at work at this moment.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == CallCentreStatus::Open
    }

    /// The call-centre's time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The same moment in the call-centre's zone (for tests and messages).
    pub fn local(&self, now: DateTime<Utc>) -> NaiveDateTime {
        self.tz.from_utc_datetime(&now.naive_utc()).naive_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn almaty(holidays: &[&str]) -> Schedule {
        Schedule::new(
            chrono_tz::Asia::Almaty,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            holidays
                .iter()
                .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap())
                .collect(),
        )
    }

    /// A moment given as Almaty local time (UTC+5).
    fn at(local: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Almaty
            .from_local_datetime(&naive)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn next(local: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn friday_before_and_at_closing() {
        let s = almaty(&[]);
        // 2026-11-20 is a Friday.
        assert_eq!(s.status(at("2026-11-20 17:59")), CallCentreStatus::Open);
        assert_eq!(
            s.status(at("2026-11-20 18:00")),
            CallCentreStatus::Closed {
                next_open: next("2026-11-23 09:00")
            }
        );
    }

    #[test]
    fn saturday_waits_for_monday() {
        let s = almaty(&[]);
        assert_eq!(
            s.status(at("2026-11-21 11:00")),
            CallCentreStatus::Closed {
                next_open: next("2026-11-23 09:00")
            }
        );
    }

    #[test]
    fn early_morning_opens_the_same_day() {
        let s = almaty(&[]);
        assert_eq!(
            s.status(at("2026-11-24 07:30")),
            CallCentreStatus::Closed {
                next_open: next("2026-11-24 09:00")
            }
        );
    }

    #[test]
    fn weekday_holiday_is_closed_and_skipped() {
        // Independence Day, Wednesday 2026-12-16.
        let s = almaty(&["2026-12-16"]);
        assert_eq!(
            s.status(at("2026-12-16 10:00")),
            CallCentreStatus::Closed {
                next_open: next("2026-12-17 09:00")
            }
        );
    }

    #[test]
    fn long_holiday_runs_to_the_first_working_day() {
        // Nauryz 2027: 21–23 March (Sun–Tue) with 24 March as a day off.
        let s = almaty(&["2027-03-22", "2027-03-23", "2027-03-24"]);
        assert_eq!(
            s.status(at("2027-03-19 18:30")),
            CallCentreStatus::Closed {
                next_open: next("2027-03-25 09:00")
            }
        );
    }

    #[test]
    fn time_zone_is_the_call_centres() {
        let s = almaty(&[]);
        // 04:30 UTC on a Monday is 09:30 in Almaty: open.
        let utc = Utc.with_ymd_and_hms(2026, 11, 23, 4, 30, 0).unwrap();
        assert_eq!(s.status(utc), CallCentreStatus::Open);
        assert_eq!(s.local(utc), next("2026-11-23 09:30"));
    }
}
