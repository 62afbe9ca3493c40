//! Tests of the queue's SQL: order across a weekend and a holiday, who sees what, filters,
//! numbers, paging both ways, live rows, and the query plans (indexes, no scan of appeals).
use super::*;
use crate::db::sql::params;
use crate::db::Db;
use chrono::TimeZone;

fn t(s: &str) -> DateTime<Utc> {
    crate::db::parse_ts(s).unwrap()
}

/// A store with kiosks K-A1 (site Alpha), K-B1 (site Beta) and operators aigerim, bolat.
fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.write(|tx| {
        tx.execute_batch(
            "INSERT INTO kiosks (id, site, token_hash, enrolled_at) VALUES \
             ('K-A1', 'Alpha', 'a', '2026-01-01T00:00:00.000Z'), \
             ('K-B1', 'Beta', 'b', '2026-01-01T00:00:00.000Z');
             INSERT INTO operators (username, display_name, password_hash, created_at) VALUES \
             ('aigerim', 'Aigerim S.', 'x', '2026-01-01T00:00:00.000Z'), \
             ('bolat', 'Bolat K.', 'x', '2026-01-01T00:00:00.000Z');",
        )?;
        Ok::<_, DbError>(())
    })
    .unwrap();
    (dir, db)
}

struct New<'a> {
    id: &'a str,
    kiosk: &'a str,
    topic: &'a str,
    status: &'a str,
    created: &'a str,
    due: &'a str,
    assigned: Option<&'a str>,
}

fn add(db: &Db, a: New<'_>) {
    db.write(|tx| {
        tx.execute(
            "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
             interrupted, test, status, due_at, assigned_to, anticorruption) \
             VALUES (?1, ?2, ?3, ?4, ?4, 'kk', 0, 0, ?5, ?6, ?7, CASE WHEN ?3 = 'bribe_report' THEN 1 ELSE 0 END)",
            params![a.id, a.kiosk, a.topic, a.created, a.status, a.due, a.assigned],
        )?;
        Ok::<_, DbError>(())
    })
    .unwrap();
}

fn id(n: u32) -> String {
    format!("A-{n:08}")
}

fn operator() -> Roles {
    Roles {
        operator: true,
        ..Roles::default()
    }
}

fn viewer<'a>(name: &'a str, roles: Roles, sites: &'a [String]) -> Viewer<'a> {
    Viewer {
        username: name,
        roles,
        sites,
    }
}

fn ids(page: &QueuePage) -> Vec<String> {
    page.rows.iter().map(|r| r.appeal.id.clone()).collect()
}

fn first(db: &Db, view: View, filter: &QueueFilter, v: Viewer<'_>) -> QueuePage {
    db.read(|c| queue_page(c, view, filter, v, &Cursor::First))
        .unwrap()
}

/// Deadlines around a weekend and a holiday, computed by `deadlines` as `[deadlines]` with
/// `count = "working"` makes them (5 working days, requests 2) on Kazakhstan's calendar in
/// Almaty (16 December 2026 is Independence Day): the queue goes by the deadline, not by
/// arrival.
#[test]
fn open_views_go_by_urgency_across_a_weekend_and_a_holiday() {
    use crate::config::{Config, DayCount, DeadlinesSection, TopicDeadline};
    let mut limits = DeadlinesSection {
        days: 5,
        count: DayCount::Working,
        ..DeadlinesSection::default()
    };
    limits.topics.insert(
        "request".into(),
        TopicDeadline {
            days: 2,
            count: DayCount::Working,
        },
    );
    let schedule = Config::default().schedule().unwrap();
    let deadlines = crate::deadlines::Deadlines::new(limits, schedule);
    let (_dir, db) = store();
    // Left at (Almaty, UTC+5), in the order they arrived.
    let appeals = [
        // Thursday 10 Dec: Fri, Mon, Tue, (Wed 16th off), Thu, Fri → Friday 18th, 10:00.
        ("A", "complaint", "2026-12-10T05:00:00.000Z"),
        // Friday 11 Dec, 11:00: Mon, Tue → Tuesday 15th, 11:00.
        ("C", "request", "2026-12-11T06:00:00.000Z"),
        // Saturday 12 Dec, 08:00: counted from Monday → Tuesday 15th, 08:00.
        ("E", "request", "2026-12-12T03:00:00.000Z"),
        // Monday 14 Dec: Tue, Thu, Fri, Mon, Tue → Tuesday 22nd.
        ("B", "complaint", "2026-12-14T05:00:00.000Z"),
        // Tuesday 15 Dec, 09:00: (Wed off) Thu, Fri → Friday 18th, 09:00.
        ("D", "request", "2026-12-15T04:00:00.000Z"),
    ];
    let number = |name: &str| id(u32::from(name.as_bytes()[0]));
    for (name, topic, created) in appeals {
        let due = deadlines.due_at(topic, t(created));
        add(
            &db,
            New {
                id: &number(name),
                kiosk: "K-A1",
                topic,
                status: "new",
                created,
                due: &ts(due),
                assigned: None,
            },
        );
    }
    let due = |name: &str| {
        let (_, topic, created) = appeals.iter().find(|a| a.0 == name).unwrap();
        ts(deadlines.due_at(topic, t(created)))
    };
    assert_eq!(
        due("D"),
        "2026-12-18T04:00:00.000Z",
        "the holiday does not count"
    );
    assert_eq!(due("E"), "2026-12-15T03:00:00.000Z", "nor does the weekend");
    let page = first(
        &db,
        View::Open,
        &QueueFilter::default(),
        viewer("aigerim", operator(), &[]),
    );
    assert_eq!(
        ids(&page),
        ["E", "C", "D", "A", "B"].map(number),
        "by deadline, then by arrival"
    );
    // Newest first where nothing is urgent any more.
    let page = first(
        &db,
        View::All,
        &QueueFilter::default(),
        viewer("aigerim", operator(), &[]),
    );
    assert_eq!(ids(&page), ["D", "B", "E", "C", "A"].map(number));
}

fn mixed(db: &Db) {
    let statuses = ["new", "assigned", "in_progress", "answered", "closed"];
    for n in 0..60u32 {
        let topic = if n % 4 == 0 {
            "bribe_report"
        } else {
            "complaint"
        };
        let status = statuses[n as usize % 5];
        let created = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
            + chrono::Duration::hours(i64::from(n * 7 % 60));
        add(
            db,
            New {
                id: &id(n),
                kiosk: if n % 3 == 0 { "K-B1" } else { "K-A1" },
                topic,
                status,
                created: &ts(created),
                due: &ts(created + chrono::Duration::days(i64::from(n % 9))),
                assigned: (status != "new").then_some(if n % 2 == 0 { "aigerim" } else { "bolat" }),
            },
        );
    }
}

fn is_flagged(n: &str) -> bool {
    n[2..].parse::<u32>().unwrap() % 4 == 0
}

#[test]
fn an_ordinary_operator_never_sees_a_flagged_appeal() {
    let (_dir, db) = store();
    mixed(&db);
    let v = viewer("aigerim", operator(), &[]);
    for view in View::ALL {
        let page = first(&db, view, &QueueFilter::default(), v);
        assert!(
            ids(&page).iter().all(|n| !is_flagged(n)),
            "{view:?}: {:?}",
            ids(&page)
        );
        if view == View::Anticorruption {
            assert!(page.rows.is_empty());
            assert_eq!(page.total, Count::Exact(0));
        } else {
            assert!(!page.rows.is_empty(), "{view:?}");
        }
    }
    // Not by number either, nor by asking for the topic.
    let by_number = QueueFilter {
        number: Some(id(4)),
        ..QueueFilter::default()
    };
    assert!(first(&db, View::Open, &by_number, v).rows.is_empty());
    let by_topic = QueueFilter {
        topic: Some("bribe_report".into()),
        ..QueueFilter::default()
    };
    assert!(first(&db, View::All, &by_topic, v).rows.is_empty());
    assert_eq!(db.read(|c| flagged_new(c, v)).unwrap(), 0);

    // The anti-corruption operator sees only flagged ones, open unless asked otherwise.
    let roles = Roles {
        anticorruption: true,
        ..Roles::default()
    };
    let ac = viewer("bolat", roles, &[]);
    let page = first(&db, View::Anticorruption, &QueueFilter::default(), ac);
    assert!(!page.rows.is_empty());
    for r in &page.rows {
        assert!(r.appeal.anticorruption && OPEN_STATUSES.contains(&r.appeal.status.as_str()));
    }
    assert!(first(&db, View::Open, &QueueFilter::default(), ac)
        .rows
        .is_empty());
    let closed = QueueFilter {
        status: Some("closed".into()),
        ..QueueFilter::default()
    };
    let page = first(&db, View::Anticorruption, &closed, ac);
    assert!(!page.rows.is_empty() && page.rows.iter().all(|r| r.appeal.status == "closed"));
    assert_eq!(ids(&first(&db, View::Open, &by_number, ac)), [id(4)]);
    // 0, 20, 40 are flagged and new.
    assert_eq!(db.read(|c| flagged_new(c, ac)).unwrap(), 3);
}

#[test]
fn a_site_limited_operator_sees_only_their_sites() {
    let (_dir, db) = store();
    mixed(&db);
    let beta = vec!["Beta".to_string()];
    let v = viewer("aigerim", operator(), &beta);
    for view in [View::Open, View::Answered, View::Closed, View::All] {
        let page = first(&db, view, &QueueFilter::default(), v);
        assert!(!page.rows.is_empty(), "{view:?}");
        assert!(
            page.rows.iter().all(|r| r.appeal.site == "Beta"),
            "{view:?}"
        );
    }
    // Asking for the other site, its kiosk or one of its numbers finds nothing.
    let alpha = QueueFilter {
        site: Some("Alpha".into()),
        ..QueueFilter::default()
    };
    assert!(first(&db, View::All, &alpha, v).rows.is_empty());
    let kiosk = QueueFilter {
        kiosk: Some("K-A1".into()),
        ..QueueFilter::default()
    };
    assert!(first(&db, View::All, &kiosk, v).rows.is_empty());
    let number = QueueFilter {
        number: Some(id(1)),
        ..QueueFilter::default()
    };
    assert!(first(&db, View::All, &number, v).rows.is_empty());
    let number = QueueFilter {
        number: Some(id(3)),
        ..QueueFilter::default()
    };
    assert_eq!(ids(&first(&db, View::All, &number, v)), [id(3)]);
    assert_eq!(db.read(|c| queue_sites(c, v)).unwrap(), ["Beta"]);
}

#[test]
fn filters_narrow_and_mine_is_mine() {
    let (_dir, db) = store();
    mixed(&db);
    let v = viewer("aigerim", operator(), &[]);
    let page = first(&db, View::Mine, &QueueFilter::default(), v);
    assert!(!page.rows.is_empty());
    for r in &page.rows {
        assert_eq!(r.appeal.assigned_to.as_deref(), Some("aigerim"));
        assert_eq!(r.assignee.as_deref(), Some("Aigerim S."));
        assert!(OPEN_STATUSES.contains(&r.appeal.status.as_str()));
    }
    let f = QueueFilter {
        status: Some("in_progress".into()),
        site: Some("Alpha".into()),
        from: Some(t("2026-10-01T12:00:00.000Z")),
        until: Some(t("2026-10-02T12:00:00.000Z")),
        ..QueueFilter::default()
    };
    let page = first(&db, View::All, &f, v);
    assert!(!page.rows.is_empty());
    for r in &page.rows {
        let a = &r.appeal;
        assert!(a.status == "in_progress" && a.site == "Alpha" && !a.anticorruption);
        assert!(a.created_at >= f.from.unwrap() && a.created_at < f.until.unwrap());
    }
    // A status outside the view: nothing.
    let closed = QueueFilter {
        status: Some("closed".into()),
        ..QueueFilter::default()
    };
    assert!(first(&db, View::Open, &closed, v).rows.is_empty());
}

#[test]
fn numbers_are_found_however_they_are_typed() {
    for typed in [
        "A-ABCD2345",
        "a-abcd2345",
        " a - abcd 2345 ",
        "abcd2345",
        "AABCD2345",
    ] {
        assert_eq!(
            normalise_number(typed).as_deref(),
            Some("A-ABCD2345"),
            "{typed}"
        );
    }
    for typed in ["", "A-ABC", "A-ABCD234O", "hello world"] {
        assert_eq!(normalise_number(typed), None, "{typed}");
    }
}

#[test]
fn paging_returns_every_appeal_exactly_once_both_ways() {
    let (_dir, db) = store();
    mixed(&db);
    // Same deadlines and times on several rows: the number breaks the tie.
    let v = viewer(
        "aigerim",
        Roles {
            operator: true,
            anticorruption: true,
            ..Roles::default()
        },
        &[],
    );
    for view in [View::Open, View::All, View::Anticorruption] {
        let f = QueueFilter::default();
        let all = db
            .read(|c| queue_page_sized(c, view, &f, v, &Cursor::First, 1000))
            .unwrap();
        let Count::Exact(total) = all.total else {
            panic!()
        };
        assert_eq!(all.rows.len() as u64, total);
        let mut seen = Vec::new();
        let mut cursor = Cursor::First;
        loop {
            let page = db
                .read(|c| queue_page_sized(c, view, &f, v, &cursor, 7))
                .unwrap();
            assert!(page.rows.len() <= 7);
            seen.extend(ids(&page));
            match page.next {
                Some(k) => cursor = Cursor::After(k),
                None => break,
            }
        }
        assert_eq!(seen, ids(&all), "{view:?} forwards");
        let mut back = Vec::new();
        let mut cursor = Cursor::Last;
        loop {
            let page = db
                .read(|c| queue_page_sized(c, view, &f, v, &cursor, 7))
                .unwrap();
            back.splice(0..0, ids(&page));
            match page.prev {
                Some(k) => cursor = Cursor::Before(k),
                None => break,
            }
        }
        assert_eq!(back, ids(&all), "{view:?} backwards");
    }
}

#[test]
fn live_rows_are_only_those_the_viewer_sees_in_the_view() {
    let (_dir, db) = store();
    mixed(&db);
    let v = viewer("aigerim", operator(), &[]);
    let asked: Vec<String> = (0..10).map(id).collect();
    let rows = db
        .read(|c| queue_rows(c, View::Open, &QueueFilter::default(), v, &asked))
        .unwrap();
    let mut got: Vec<String> = rows.iter().map(|r| r.appeal.id.clone()).collect();
    got.sort();
    // Open (n % 5 < 3) and not flagged (n % 4 != 0).
    assert_eq!(got, [1, 2, 5, 6, 7].map(id));
}

fn plan(
    db: &Db,
    view: View,
    filter: &QueueFilter,
    v: Viewer<'_>,
    cursor: Option<&Cursor>,
) -> String {
    let (sql, params) = match cursor {
        // The count of the view's rows.
        None => {
            let t = count_terms(Dialect::Sqlite, view, filter, v);
            (
                format!("SELECT count(*) FROM appeals a {}", t.clause()),
                t.params,
            )
        }
        Some(cursor) => {
            let (sql, params, _) = page_query(Dialect::Sqlite, view, filter, v, cursor, PAGE_SIZE);
            (sql, params)
        }
    };
    db.read(|c| {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let lines = stmt
            .query_map(params, |r| r.get::<_, String>(3))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    })
    .unwrap()
}

#[test]
fn the_main_views_use_an_index_and_never_scan_appeals() {
    let (_dir, db) = store();
    mixed(&db);
    let key = QueueKey {
        due_at: "2026-10-05T00:00:00.000Z".into(),
        created_at: "2026-10-01T00:00:00.000Z".into(),
        id: id(3),
    };
    let ac = Roles {
        operator: true,
        anticorruption: true,
        ..Roles::default()
    };
    let beta = vec!["Beta".to_string()];
    let cases: Vec<(View, QueueFilter, Viewer<'_>)> = vec![
        (
            View::Open,
            QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::Mine,
            QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::Anticorruption,
            QueueFilter::default(),
            viewer("aigerim", ac, &[]),
        ),
        (
            View::Answered,
            QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::Closed,
            QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::All,
            QueueFilter::default(),
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::Open,
            QueueFilter::default(),
            viewer("aigerim", operator(), &beta),
        ),
        (
            View::All,
            QueueFilter {
                number: Some(id(3)),
                ..QueueFilter::default()
            },
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::All,
            QueueFilter {
                kiosk: Some("K-A1".into()),
                ..QueueFilter::default()
            },
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::All,
            QueueFilter {
                topic: Some("request".into()),
                ..QueueFilter::default()
            },
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::All,
            QueueFilter {
                site: Some("Beta".into()),
                ..QueueFilter::default()
            },
            viewer("aigerim", operator(), &[]),
        ),
        (
            View::All,
            QueueFilter {
                from: Some(t("2026-10-02T00:00:00.000Z")),
                ..QueueFilter::default()
            },
            viewer("aigerim", operator(), &[]),
        ),
    ];
    for (view, filter, v) in &cases {
        for cursor in [
            None,
            Some(Cursor::First),
            Some(Cursor::After(key.clone())),
            Some(Cursor::Before(key.clone())),
            Some(Cursor::Last),
        ] {
            let plan = plan(&db, *view, filter, *v, cursor.as_ref());
            assert!(
                plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                "{view:?} {filter:?} {cursor:?}:\n{plan}"
            );
            assert!(
                !plan
                    .lines()
                    .any(|l| l.trim() == "SCAN a" || l.trim() == "SCAN appeals"),
                "{view:?} {filter:?} {cursor:?} scans appeals:\n{plan}"
            );
            if cursor.is_some()
                && !view.urgent()
                && *filter == QueueFilter::default()
                && v.sites.is_empty()
            {
                // Newest first: walked in index order, stopping at the page's end.
                assert!(plan.contains("appeals_by_created"), "{view:?}:\n{plan}");
                assert!(
                    !plan.contains("TEMP B-TREE FOR ORDER BY"),
                    "{view:?}:\n{plan}"
                );
            }
        }
    }
}
