//! Tests of the service-guide figures: ranges, offset spans and reports over a real store.

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
        let deadlines = crate::deadlines::Deadlines::new(
            Default::default(),
            crate::config::kazakhstan_hours().schedule().unwrap(),
        );
        db::store_batch(tx, "K-AAAAAA", &records, &hashes, now, &deadlines)?.unwrap();
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
    let range = Range::parse(Some("2026-11-19"), Some("2026-11-20"), date("2026-11-20")).unwrap();
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
