//! Call-centre working hours: open now, or when it opens next (pure, time zone aware).

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

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

    fn is_working_day(&self, date: NaiveDate) -> bool {
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
