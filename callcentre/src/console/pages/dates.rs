//! Dates and times as the console shows them, in the operator's language: "4 Dec 2026, 14:05"
//! in English, "4 дек. 2026 г., 14:05" in Russian, "2026 ж. 4 жел., 14:05" in Kazakh (the order
//! is part of each translation), always in the call-centre's own time zone.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};

use crate::i18n::{fill, trc, Lang};
use crate::state::AppState;

/// A month's short name.
fn month(lang: Lang, date: NaiveDate) -> &'static str {
    match date.month() {
        1 => trc(lang, "month, short", "Jan"),
        2 => trc(lang, "month, short", "Feb"),
        3 => trc(lang, "month, short", "Mar"),
        4 => trc(lang, "month, short", "Apr"),
        5 => trc(lang, "month, short", "May"),
        6 => trc(lang, "month, short", "Jun"),
        7 => trc(lang, "month, short", "Jul"),
        8 => trc(lang, "month, short", "Aug"),
        9 => trc(lang, "month, short", "Sep"),
        10 => trc(lang, "month, short", "Oct"),
        11 => trc(lang, "month, short", "Nov"),
        _ => trc(lang, "month, short", "Dec"),
    }
}

/// A weekday's short name.
fn weekday(lang: Lang, date: NaiveDate) -> &'static str {
    match date.weekday() {
        Weekday::Mon => trc(lang, "weekday, short", "Mon"),
        Weekday::Tue => trc(lang, "weekday, short", "Tue"),
        Weekday::Wed => trc(lang, "weekday, short", "Wed"),
        Weekday::Thu => trc(lang, "weekday, short", "Thu"),
        Weekday::Fri => trc(lang, "weekday, short", "Fri"),
        Weekday::Sat => trc(lang, "weekday, short", "Sat"),
        Weekday::Sun => trc(lang, "weekday, short", "Sun"),
    }
}

/// "4 Dec 2026" (day, month, year in the language's order).
pub fn day(lang: Lang, date: NaiveDate) -> String {
    fill(
        trc(lang, "date: day, month, year", "{0} {1} {2}"),
        &[&date.day(), &month(lang, date), &date.year()],
    )
}

/// "Fri 4 Dec" (weekday, day, month in the language's order).
pub fn weekday_day(lang: Lang, date: NaiveDate) -> String {
    fill(
        trc(lang, "date: weekday, day, month", "{0} {1} {2}"),
        &[&weekday(lang, date), &date.day(), &month(lang, date)],
    )
}

/// A moment as the call-centre's local date and time: "4 Dec 2026, 14:05".
pub fn local(state: &AppState, lang: Lang, t: DateTime<Utc>) -> String {
    let t = state.schedule.local(t);
    let date = t.date();
    fill(
        trc(
            lang,
            "date and time: day, month, year, time",
            "{0} {1} {2}, {3}",
        ),
        &[
            &date.day(),
            &month(lang, date),
            &date.year(),
            &t.format("%H:%M"),
        ],
    )
}
