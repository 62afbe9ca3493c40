//! Tests of the appeal figures: months in Almaty time, the median time to answer, the share
//! answered within the limit, sites and the anti-corruption flag, the CSV.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;
use crate::db::Db;

const ALMATY: Tz = chrono_tz::Asia::Almaty;

/// An appeal as the figures see it; everything else about it is filler.
struct Fixture<'a> {
    id: &'a str,
    kiosk: &'a str,
    topic: &'a str,
    created: DateTime<Utc>,
    due_days: i64,
    status: &'a str,
    /// Hours from making to answer.
    answered_after: Option<f64>,
    anticorruption: bool,
    test: bool,
}

impl Default for Fixture<'_> {
    fn default() -> Self {
        Fixture {
            id: "A-00000000",
            kiosk: "K-A",
            topic: "complaint",
            created: Utc::now(),
            due_days: 15,
            status: "new",
            answered_after: None,
            anticorruption: false,
            test: false,
        }
    }
}

fn db_with_kiosks() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.write(|tx| {
        for (id, site) in [("K-A", "Clinic A"), ("K-B", "Clinic B")] {
            tx.execute(
                "INSERT INTO kiosks (id, site, token_hash, enrolled_at) \
                 VALUES (?1, ?2, ?1, '2025-01-01T00:00:00.000Z')",
                [id, site],
            )?;
        }
        Ok::<_, DbError>(())
    })
    .unwrap();
    (dir, db)
}

fn add(db: &Db, f: Fixture<'_>) {
    let answered = f
        .answered_after
        .map(|h| db::ts(f.created + Duration::seconds((h * 3600.0) as i64)));
    db.write(|tx| {
        tx.execute(
            "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
             interrupted, test, status, due_at, answered_at, anticorruption) \
             VALUES (?1, ?2, ?3, ?4, ?4, 'kk', 0, ?5, ?6, ?7, ?8, ?9)",
            crate::db::sql::params![
                f.id,
                f.kiosk,
                f.topic,
                db::ts(f.created),
                f.test,
                f.status,
                db::ts(f.created + Duration::days(f.due_days)),
                answered,
                f.anticorruption
            ],
        )?;
        Ok::<_, DbError>(())
    })
    .unwrap();
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    ALMATY
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn month(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

fn range(from: (i32, u32), to: (i32, u32)) -> Months {
    Months {
        from: month(from.0, from.1),
        to: month(to.0, to.1),
    }
}

fn everyone() -> Viewer {
    Viewer {
        sites: Vec::new(),
        anticorruption: true,
    }
}

#[test]
fn months_default_to_the_last_twelve_and_bad_ones_are_refused() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let m = Months::parse(None, Some(""), today).unwrap();
    assert_eq!((m.from, m.to), (month(2026, 1), month(2026, 12)));
    assert_eq!(m.list().len(), 12);
    let m = Months::parse(Some("2026-02"), Some("2026-04"), today).unwrap();
    assert_eq!(
        m.list(),
        vec![month(2026, 2), month(2026, 3), month(2026, 4)]
    );
    assert!(matches!(
        Months::parse(Some("2026-13"), None, today),
        Err(MonthsError::Month { field: "from", .. })
    ));
    assert!(matches!(
        Months::parse(Some("March"), None, today),
        Err(MonthsError::Month { .. })
    ));
    assert_eq!(
        Months::parse(Some("2026-05"), Some("2026-04"), today),
        Err(MonthsError::Order)
    );
    assert_eq!(
        Months::parse(Some("2010-01"), Some("2026-04"), today),
        Err(MonthsError::TooLong)
    );
}

#[test]
fn an_appeal_belongs_to_its_month_in_almaty_time() {
    let (_dir, db) = db_with_kiosks();
    // Almaty's midnight starting March, not UTC's: half an hour either side of it.
    let march = local(2026, 3, 1, 0, 0);
    add(
        &db,
        Fixture {
            id: "A-FEB",
            created: march - Duration::minutes(30),
            ..Fixture::default()
        },
    );
    add(
        &db,
        Fixture {
            id: "A-MAR",
            created: march + Duration::minutes(30),
            ..Fixture::default()
        },
    );
    // The first instant of February and the last of March (local) are inside the range.
    add(
        &db,
        Fixture {
            id: "A-FEB1",
            created: local(2026, 2, 1, 0, 0),
            ..Fixture::default()
        },
    );
    add(
        &db,
        Fixture {
            id: "A-APR",
            created: local(2026, 4, 1, 0, 0),
            ..Fixture::default()
        },
    );
    let r = db
        .read(|c| {
            report(
                c,
                range((2026, 2), (2026, 3)),
                ALMATY,
                &everyone(),
                Utc::now(),
            )
        })
        .unwrap();
    let per_month: Vec<u64> = r.by_month.iter().map(|m| m.counts.appeals).collect();
    assert_eq!(per_month, [2, 1], "Feb: A-FEB1 and A-FEB; Mar: A-MAR");
    assert_eq!(r.total.appeals, 3, "April's first minute is outside");
}

#[test]
fn the_median_time_to_answer_and_the_share_within_the_limit() {
    let (_dir, db) = db_with_kiosks();
    let base = local(2026, 5, 10, 9, 0);
    // May: answered after 10, 20, 30 and 400 hours (400 h is past the 15-day limit).
    for (i, h) in [10.0, 20.0, 30.0, 400.0].into_iter().enumerate() {
        add(
            &db,
            Fixture {
                id: &format!("A-MAY{i}"),
                created: base,
                status: "answered",
                answered_after: Some(h),
                ..Fixture::default()
            },
        );
    }
    // May: overdue without an answer (counts against the share), closed without an answer
    // (left out of it).
    add(
        &db,
        Fixture {
            id: "A-MAYLATE",
            created: base,
            status: "in_progress",
            ..Fixture::default()
        },
    );
    add(
        &db,
        Fixture {
            id: "A-MAYSHUT",
            created: base,
            status: "closed",
            ..Fixture::default()
        },
    );
    // June: three answers (odd count: the middle one), one still open and not yet due.
    let june = local(2026, 6, 2, 9, 0);
    for (i, h) in [5.0, 50.0, 7.0].into_iter().enumerate() {
        add(
            &db,
            Fixture {
                id: &format!("A-JUN{i}"),
                created: june,
                status: "closed",
                answered_after: Some(h),
                ..Fixture::default()
            },
        );
    }
    add(
        &db,
        Fixture {
            id: "A-JUNOPEN",
            created: june,
            due_days: 400,
            ..Fixture::default()
        },
    );
    let now = local(2026, 7, 1, 0, 0);
    let r = db
        .read(|c| report(c, range((2026, 5), (2026, 6)), ALMATY, &everyone(), now))
        .unwrap();
    let may = &r.by_month[0];
    assert_eq!(may.counts.appeals, 6);
    assert_eq!(may.counts.answered, 4);
    assert_eq!(may.counts.within_limit, 3);
    assert_eq!(may.counts.overdue_open, 1);
    assert_eq!(may.median_hours, Some(25.0), "the mean of 20 h and 30 h");
    assert_eq!(may.counts.within_percent(), Some(60.0), "3 of 5 decided");
    assert_eq!(may.statuses, [0, 0, 1, 4, 1]);
    let june = &r.by_month[1];
    assert_eq!(june.median_hours, Some(7.0));
    assert_eq!(june.counts.within_percent(), Some(100.0));
    assert_eq!(
        r.median_hours,
        Some(20.0),
        "10 5 7 20 30 50 400: the middle"
    );
    assert_eq!(r.total.appeals, 10);
    assert_eq!(r.by_status, [1, 0, 1, 4, 4]);
    assert_eq!(r.by_site.len(), 1);
    assert_eq!(r.by_site[0].per_month, [6, 4]);
    assert_eq!(r.by_topic[0].key, "complaint");
}

#[test]
fn sites_anti_corruption_reports_and_test_appeals_narrow_the_figures() {
    let (_dir, db) = db_with_kiosks();
    let t = local(2026, 8, 3, 12, 0);
    let fixtures = [
        ("A-1", "K-A", "complaint", false, false),
        ("A-2", "K-B", "request", false, false),
        ("A-3", "K-A", "bribe_report", true, false),
        ("A-4", "K-A", "complaint", false, true),
    ];
    for (id, kiosk, topic, anticorruption, test) in fixtures {
        add(
            &db,
            Fixture {
                id,
                kiosk,
                topic,
                created: t,
                anticorruption,
                test,
                ..Fixture::default()
            },
        );
    }
    let months = range((2026, 8), (2026, 8));
    let figures = |viewer: Viewer| db.read(|c| report(c, months, ALMATY, &viewer, t)).unwrap();
    let all = figures(everyone());
    assert_eq!(all.total.appeals, 3, "the test appeal never counts");
    let ordinary = figures(Viewer {
        sites: Vec::new(),
        anticorruption: false,
    });
    assert_eq!(ordinary.total.appeals, 2);
    assert!(ordinary.by_topic.iter().all(|t| t.key != "bribe_report"));
    let clinic_b = figures(Viewer {
        sites: vec!["Clinic B".into()],
        anticorruption: true,
    });
    assert_eq!(clinic_b.total.appeals, 1);
    assert_eq!(clinic_b.by_site.len(), 1);
    assert_eq!(clinic_b.by_site[0].key, "Clinic B");
}

#[test]
fn the_csv_has_a_row_per_month_site_and_topic() {
    let (_dir, db) = db_with_kiosks();
    let t = local(2026, 9, 15, 12, 0);
    for (i, (kiosk, topic, h)) in [
        ("K-A", "complaint", Some(10.0)),
        ("K-A", "complaint", Some(30.0)),
        ("K-A", "request", None),
        ("K-B", "complaint", Some(500.0)),
    ]
    .into_iter()
    .enumerate()
    {
        add(
            &db,
            Fixture {
                id: &format!("A-{i}"),
                kiosk,
                topic,
                created: t,
                answered_after: h,
                status: if h.is_some() { "answered" } else { "new" },
                ..Fixture::default()
            },
        );
    }
    let rows = db
        .read(|c| csv_rows(c, range((2026, 9), (2026, 9)), ALMATY, &everyone(), t))
        .unwrap();
    let text = csv(&rows);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "month,site,topic,appeals,answered,answered_within_limit,overdue_unanswered,median_hours_to_answer",
            "2026-09,Clinic A,complaint,2,2,2,0,20.0",
            "2026-09,Clinic A,request,1,0,0,0,",
            "2026-09,Clinic B,complaint,1,1,0,0,500.0",
        ]
    );
}

#[test]
fn csv_fields_are_quoted_and_formulas_defused() {
    assert_eq!(csv_field("Clinic, No. 4"), "\"Clinic, No. 4\"");
    assert_eq!(csv_field("Say \"hi\""), "\"Say \"\"hi\"\"\"");
    assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    assert_eq!(csv_field("plain"), "plain");
}

#[test]
fn months_follow_the_zone_across_a_change_of_its_offset() {
    // Almaty moved from UTC+6 to UTC+5 at the start of March 2024: local midnight came twice
    // near the month's end. The SQL's month of each appeal must be the one chrono gives.
    let (_dir, db) = db_with_kiosks();
    let instants: Vec<DateTime<Utc>> = (0..10)
        .map(|i| Utc.with_ymd_and_hms(2024, 2, 29, 16, 30, 0).unwrap() + Duration::minutes(i * 20))
        .collect();
    for (i, t) in instants.iter().enumerate() {
        add(
            &db,
            Fixture {
                id: &format!("A-{i}"),
                created: *t,
                ..Fixture::default()
            },
        );
    }
    let months = range((2024, 2), (2024, 3));
    let (from, to) = months.bounds(ALMATY);
    assert!(
        crate::guides::offset_spans(ALMATY, from, to).len() > 1,
        "the zone data knows the change, so the range has two offsets"
    );
    let r = db
        .read(|c| report(c, months, ALMATY, &everyone(), Utc::now()))
        .unwrap();
    let feb = instants
        .iter()
        .filter(|t| t.with_timezone(&ALMATY).format("%m").to_string() == "02")
        .count() as u64;
    assert!(feb > 0 && feb < 10);
    let per_month: Vec<u64> = r.by_month.iter().map(|m| m.counts.appeals).collect();
    assert_eq!(per_month, [feb, 10 - feb]);
}
