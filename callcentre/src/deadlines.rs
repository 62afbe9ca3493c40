//! The legal deadlines of appeals: the due date from when the citizen left the appeal, per
//! topic, in calendar days or in working days of the `[hours]` schedule (weekends and public
//! holidays skipped), and the one extension to `[deadlines] extended_days`.

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use senim_protocol::hours::Schedule;

use crate::config::{DayCount, DeadlinesSection};

/// The limits of `[deadlines]` with the calendar they are counted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadlines {
    limits: DeadlinesSection,
    schedule: Schedule,
}

impl Deadlines {
    pub fn new(limits: DeadlinesSection, schedule: Schedule) -> Deadlines {
        Deadlines { limits, schedule }
    }

    /// When an appeal on `topic` (its wire name) left at `created_at` is due.
    pub fn due_at(&self, topic: &str, created_at: DateTime<Utc>) -> DateTime<Utc> {
        let limit = self.limits.for_topic(topic);
        add_days(&self.schedule, created_at, limit.days, limit.count)
    }

    /// When it is due once the limit is extended to `extended_days` (counted the topic's way).
    pub fn extended_due_at(&self, topic: &str, created_at: DateTime<Utc>) -> DateTime<Utc> {
        let limit = self.limits.for_topic(topic);
        add_days(
            &self.schedule,
            created_at,
            self.limits.extended_days.max(limit.days),
            limit.count,
        )
    }

    /// Days the limit becomes when extended.
    pub fn extended_days(&self) -> u32 {
        self.limits.extended_days
    }

    /// An open appeal this close to its deadline (or closer) is "due soon".
    pub fn due_soon(&self, due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now <= due_at && due_at - now <= Duration::days(i64::from(self.limits.due_soon_days))
    }
}

/// `days` days after `from`: calendar days, or working days of `schedule` (the deadline falls
/// at the same local time of day on the `days`-th working day after the day of `from`).
pub fn add_days(
    schedule: &Schedule,
    from: DateTime<Utc>,
    days: u32,
    count: DayCount,
) -> DateTime<Utc> {
    match count {
        DayCount::Calendar => from + Duration::days(i64::from(days)),
        DayCount::Working => {
            let local = schedule.local(from);
            let mut date = local.date();
            let mut left = days;
            // A year of holidays cannot hide every working day (the schedule has at least
            // one working weekday), so this ends; the bound keeps a broken list harmless.
            let mut steps = 0u32;
            while left > 0 && steps < days.saturating_mul(7).saturating_add(400) {
                date += Duration::days(1);
                steps += 1;
                if schedule.is_working_day(date) {
                    left -= 1;
                }
            }
            let target = date.and_time(local.time());
            match schedule.tz().from_local_datetime(&target) {
                LocalResult::Single(t) => t.with_timezone(&Utc),
                LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                // A local time skipped by a clock change: an hour later exists.
                LocalResult::None => schedule
                    .tz()
                    .from_local_datetime(&(target + Duration::hours(1)))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(from + Duration::days(i64::from(days))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicDeadline;

    fn schedule() -> Schedule {
        crate::config::kazakhstan_hours().schedule().unwrap()
    }

    /// A moment given as Almaty local time (UTC+5).
    fn at(local: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Almaty
            .from_local_datetime(&naive)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn calendar_days_count_every_day() {
        let due = add_days(&schedule(), at("2026-12-11 10:00"), 15, DayCount::Calendar);
        assert_eq!(due, at("2026-12-26 10:00"));
    }

    #[test]
    fn working_days_skip_the_weekend_and_independence_day() {
        // Friday 11 December 2026; Sat 12, Sun 13 are the weekend, Wednesday 16 December is
        // Independence Day: the 3rd working day is Mon 14, Tue 15, Thu 17.
        let due = add_days(&schedule(), at("2026-12-11 10:00"), 3, DayCount::Working);
        assert_eq!(due, at("2026-12-17 10:00"));
        // 15 working days from the same Friday: 14, 15, 17, 18, 21–25, 28–31 (13 days),
        // 1 and 2 January are holidays, 3 January a Sunday, then Mon 4 and Tue 5 January.
        let due = add_days(&schedule(), at("2026-12-11 10:00"), 15, DayCount::Working);
        assert_eq!(due, at("2027-01-05 10:00"));
    }

    #[test]
    fn an_appeal_left_on_a_saturday_counts_from_monday() {
        let due = add_days(&schedule(), at("2026-11-21 16:00"), 1, DayCount::Working);
        assert_eq!(due, at("2026-11-23 16:00"));
    }

    #[test]
    fn topics_have_their_own_limit_and_the_extension_counts_the_same_way() {
        let mut limits = DeadlinesSection::default();
        limits.topics.insert(
            "bribe_report".into(),
            TopicDeadline {
                days: 5,
                count: DayCount::Working,
            },
        );
        let d = Deadlines::new(limits, schedule());
        let left = at("2026-12-11 10:00");
        assert_eq!(d.due_at("complaint", left), at("2026-12-26 10:00"));
        assert_eq!(d.due_at("bribe_report", left), at("2026-12-21 10:00"));
        assert_eq!(d.extended_due_at("complaint", left), at("2027-01-10 10:00"));
        assert!(d.due_soon(at("2026-12-26 10:00"), at("2026-12-24 10:00")));
        assert!(!d.due_soon(at("2026-12-26 10:00"), at("2026-12-20 10:00")));
        assert!(!d.due_soon(at("2026-12-26 10:00"), at("2026-12-27 10:00")));
    }
}
