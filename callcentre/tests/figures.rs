//! The appeal figures and retention end to end: `senim-callcentre purge --dry-run` then
//! `purge` on a fixture database (the built binary); the figures page and its CSV over HTTP
//! with the right numbers for an ordinary operator, an anti-corruption operator, an operator
//! limited to one site, and a refusal (403, logged) for an account without the operator role;
//! the server's own purge, after which the erased appeal still counts; and a year of appeals
//! over three sites in Chromium, with screenshots in `target/screenshots/console-figures*.png`.
//!
//! Over 600 lines: three journeys with fixture data of their own, and a year of appeals made up.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::chromium::{browser, shot, sign_in, start_chromedriver};
use common::{http_sign_in_as, TestServer};
use fantoccini::Locator;
use senim_callcentre::db::{self, Db, DbError};

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg("--data")
        .arg(data)
        .args(common::postgres::store_args(data))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "the command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// One appeal as a fixture: made at `created`, due `due_days` later, answered `answered_after`
/// hours later (or not), closed at `closed` (or not).
struct Fixture<'a> {
    id: String,
    kiosk: &'a str,
    topic: &'a str,
    created: DateTime<Utc>,
    due_days: i64,
    status: &'a str,
    answered_after: Option<f64>,
    closed: Option<DateTime<Utc>>,
    video: Option<&'a str>,
}

fn fixture<'a>(id: &str, kiosk: &'a str, topic: &'a str, created: DateTime<Utc>) -> Fixture<'a> {
    Fixture {
        id: id.to_string(),
        kiosk,
        topic,
        created,
        due_days: 15,
        status: "new",
        answered_after: None,
        closed: None,
        video: None,
    }
}

fn add_kiosks(
    tx: &senim_callcentre::db::sql::Transaction<'_>,
    kiosks: &[(&str, &str)],
) -> Result<(), DbError> {
    for (id, site) in kiosks {
        tx.execute(
            "INSERT INTO kiosks (id, site, token_hash, enrolled_at) \
             VALUES (?1, ?2, ?1, '2024-01-01T00:00:00.000Z')",
            [id, site],
        )?;
    }
    Ok(())
}

fn add_appeal(
    tx: &senim_callcentre::db::sql::Transaction<'_>,
    f: &Fixture<'_>,
) -> Result<(), DbError> {
    let answered = f
        .answered_after
        .map(|h| db::ts(f.created + Duration::seconds((h * 3600.0) as i64)));
    tx.execute(
        "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, iin, \
         callback_phone, body_text, interrupted, test, status, due_at, answered_at, answer_text, \
         answer_language, answered_by, closed_at, anticorruption, video_upload_id, video_bytes) \
         VALUES (?1, ?2, ?3, ?4, ?4, 'kk', '880101300010', '+77011234567', 'What happened', 0, \
         0, ?5, ?6, ?7, CASE WHEN CAST(?7 AS TEXT) IS NULL THEN NULL ELSE 'Our answer' END, 'kk', \
         CASE WHEN CAST(?7 AS TEXT) IS NULL THEN NULL ELSE 'aigerim' END, ?8, CASE WHEN ?3 = 'bribe_report' THEN 1 ELSE 0 END, ?9, \
         CASE WHEN CAST(?9 AS TEXT) IS NULL THEN NULL ELSE 7 END)",
        senim_callcentre::db::sql::params![
            f.id,
            f.kiosk,
            f.topic,
            db::ts(f.created),
            f.status,
            db::ts(f.created + Duration::days(f.due_days)),
            answered,
            f.closed.map(db::ts),
            f.video,
        ],
    )?;
    if let Some(video) = f.video {
        tx.execute(
            "INSERT INTO uploads (id, kiosk_id, appeal_id, length, \"offset\", metadata, \
             created_at, expires_at, completed_at) VALUES (?1, ?2, ?3, 7, 7, '', ?4, ?4, ?4)",
            senim_callcentre::db::sql::params![video, f.kiosk, f.id, db::ts(f.created)],
        )?;
    }
    Ok(())
}

#[test]
fn purge_on_the_command_line_first_as_a_dry_run_then_for_real() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    {
        let db = Db::open(dir.path()).unwrap();
        db.write(|tx| {
            add_kiosks(tx, &[("K-A", "Clinic A")])?;
            let mut old = fixture("A-OLD", "K-A", "complaint", now - Duration::days(420));
            old.status = "closed";
            old.answered_after = Some(48.0);
            old.closed = Some(now - Duration::days(400));
            old.video = Some("u-old");
            add_appeal(tx, &old)?;
            let mut recent = fixture("A-RECENT", "K-A", "request", now - Duration::days(30));
            recent.status = "closed";
            recent.closed = Some(now - Duration::days(10));
            recent.video = Some("u-recent");
            add_appeal(tx, &recent)?;
            let mut open = fixture("A-OPEN", "K-A", "complaint", now - Duration::days(900));
            open.status = "in_progress";
            add_appeal(tx, &open)
        })
        .unwrap();
    }
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::write(uploads.join("u-old"), vec![7u8; 2_500_000]).unwrap();
    std::fs::write(uploads.join("u-recent"), b"webm123").unwrap();

    let iins = |dir: &Path| -> Vec<(String, Option<String>)> {
        let db = Db::open(dir).unwrap();
        db.read(|c| {
            let mut s = c.prepare("SELECT id, iin FROM appeals ORDER BY id")?;
            let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
    };
    let iin = Some("880101300010".to_string());
    let all_kept = vec![
        ("A-OLD".to_string(), iin.clone()),
        ("A-OPEN".to_string(), iin.clone()),
        ("A-RECENT".to_string(), iin.clone()),
    ];

    let dry = stdout(&cli(dir.path(), &["purge", "--dry-run"]));
    assert!(
        dry.contains("Would erase") && dry.contains("appeals: 1; videos: 1 (2.5 MB)"),
        "{dry}"
    );
    assert!(dry.contains("Nothing was changed"), "{dry}");
    assert_eq!(iins(dir.path()), all_kept, "the dry run changed nothing");
    assert!(uploads.join("u-old").exists());

    let done = stdout(&cli(dir.path(), &["purge"]));
    assert!(
        done.contains("Erased") && done.contains("appeals: 1; videos: 1 (2.5 MB)"),
        "{done}"
    );
    assert_eq!(
        iins(dir.path()),
        vec![
            ("A-OLD".to_string(), None),
            ("A-OPEN".to_string(), iin.clone()),
            ("A-RECENT".to_string(), iin.clone()),
        ]
    );
    assert!(!uploads.join("u-old").exists(), "the old video is deleted");
    assert!(uploads.join("u-recent").exists());

    let again = stdout(&cli(dir.path(), &["purge"]));
    assert!(again.contains("appeals: 0; videos: 0"), "{again}");
}

/// The text of the element with this id in an HTML page.
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} on the page"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    rest[start..start + end].to_string()
}

async fn get(url: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("Cookie", cookie)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_page_and_csv_count_right_for_each_operator() {
    let server = TestServer::start().await;
    let tz = chrono_tz::Asia::Almaty;
    let at = |m: u32, d: u32| {
        tz.with_ymd_and_hms(2026, m, d, 10, 0, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    };
    for name in ["aigerim", "dana", "bolat", "yerlan"] {
        server.operator(name, "demo-password-1", name);
    }
    server
        .state
        .db
        .write(|tx| {
            db::set_roles(
                tx,
                "dana",
                db::Roles {
                    operator: true,
                    anticorruption: true,
                    ..db::Roles::default()
                },
            )?;
            db::set_roles(
                tx,
                "yerlan",
                db::Roles {
                    anticorruption: true,
                    ..db::Roles::default()
                },
            )?;
            tx.execute(
                "INSERT INTO operator_sites (username, site) VALUES ('bolat', 'Clinic B')",
                [],
            )?;
            add_kiosks(tx, &[("K-A", "Clinic A"), ("K-B", "Clinic B")])?;
            // January: two answered in time at Clinic A (after 1 and 3 days), one late at B.
            let mut a = fixture("A-JAN1", "K-A", "complaint", at(1, 5));
            a.answered_after = Some(24.0);
            a.status = "closed";
            add_appeal(tx, &a)?;
            let mut a = fixture("A-JAN2", "K-A", "complaint", at(1, 20));
            a.answered_after = Some(72.0);
            a.status = "answered";
            add_appeal(tx, &a)?;
            let mut a = fixture("A-JAN3", "K-B", "request", at(1, 25));
            a.answered_after = Some(20.0 * 24.0);
            a.status = "answered";
            add_appeal(tx, &a)?;
            // February: a bribe report answered after 2 days at A, one overdue at B.
            let mut a = fixture("A-FEB1", "K-A", "bribe_report", at(2, 3));
            a.answered_after = Some(48.0);
            a.status = "answered";
            add_appeal(tx, &a)?;
            let mut a = fixture("A-FEB2", "K-B", "complaint", at(2, 10));
            a.status = "in_progress";
            add_appeal(tx, &a)
        })
        .unwrap();
    let page = |cookie: String| {
        let url = format!("{}/console/figures?from=2026-01&to=2026-03", server.url);
        async move {
            let r = get(&url, &cookie).await;
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let cookie = |name: &'static str| {
        let server = &server;
        async move {
            http_sign_in_as(server, name, "demo-password-1")
                .await
                .unwrap()
        }
    };

    // An ordinary operator: no bribe report.
    let aigerim = cookie("aigerim").await;
    let html = page(aigerim.clone()).await;
    assert_eq!(text_of(&html, "total-appeals"), "4");
    assert_eq!(text_of(&html, "total-answered"), "3");
    assert_eq!(text_of(&html, "total-within"), "2");
    assert_eq!(text_of(&html, "total-overdue"), "1");
    assert_eq!(
        text_of(&html, "total-share"),
        "50%",
        "2 of 3 answered + 1 overdue"
    );
    assert_eq!(text_of(&html, "total-median"), "3.0 d", "24, 72, 480 hours");
    assert!(
        html.contains("data-label=\"Jan 2026\" data-value=\"3\""),
        "{html}"
    );
    assert!(html.contains("data-label=\"Feb 2026\" data-value=\"1\""));
    assert!(html.contains("data-label=\"Mar 2026\" data-value=\"0\""));
    assert!(html.contains("<title id=\"chart-appeals-title\">Appeals per month</title>"));
    assert!(!html.contains("data-topic=\"bribe_report\""));
    assert!(html.contains("href=\"/console/figures\" class=\"here\""));

    // The CSV: a row per month, site and topic.
    let r = get(
        &format!("{}/console/figures.csv?from=2026-01&to=2026-03", server.url),
        &aigerim,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"senim-figures-2026-01-2026-03.csv\""
    );
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = r.text().await.unwrap();
    let rows: Vec<Vec<&str>> = body
        .lines()
        .map(|l| l.trim_end_matches('\r').split(',').collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![
                "month",
                "site",
                "topic",
                "appeals",
                "answered",
                "answered_within_limit",
                "overdue_unanswered",
                "median_hours_to_answer"
            ],
            vec![
                "2026-01",
                "Clinic A",
                "complaint",
                "2",
                "2",
                "2",
                "0",
                "48.0"
            ],
            vec!["2026-01", "Clinic B", "request", "1", "1", "0", "0", "480.0"],
            vec!["2026-02", "Clinic B", "complaint", "1", "0", "0", "1", ""],
        ]
    );

    // An anti-corruption operator counts the bribe report too.
    let html = page(cookie("dana").await).await;
    assert_eq!(text_of(&html, "total-appeals"), "5");
    assert!(html.contains("data-topic=\"bribe_report\""));

    // An operator of Clinic B sees Clinic B only.
    let html = page(cookie("bolat").await).await;
    assert_eq!(text_of(&html, "total-appeals"), "2");
    assert!(html.contains("data-site=\"Clinic B\""));
    assert!(!html.contains("data-site=\"Clinic A\""));
    assert!(html.contains("Your sites only: Clinic B."));

    // An account without the operator or admin role is refused, and that is logged.
    let yerlan = cookie("yerlan").await;
    for path in ["/console/figures", "/console/figures.csv"] {
        let r = get(&format!("{}{path}", server.url), &yerlan).await;
        assert_eq!(r.status(), 403, "{path}");
    }
    let refused: i64 = server
        .state
        .db
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM audit WHERE action = 'forbidden' AND actor = 'yerlan' \
                 AND detail = 'figures'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(refused, 2);

    // A range that makes no sense is refused with a reason.
    let r = get(
        &format!("{}/console/figures?from=2026-05&to=2026-01", server.url),
        &aigerim,
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The first month comes after the last"));

    // The server's own purge (as its daily task runs it): an appeal of January 2025, closed
    // long ago, loses its IIN and video but still counts in the figures.
    let old_created = at(1, 5) - Duration::days(365);
    server
        .state
        .db
        .write(|tx| {
            let mut a = fixture("A-2025", "K-A", "complaint", old_created);
            a.answered_after = Some(24.0);
            a.status = "closed";
            a.closed = Some(old_created + Duration::days(2));
            a.video = Some("u-2025");
            add_appeal(tx, &a)
        })
        .unwrap();
    let uploads = server.data().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::write(uploads.join("u-2025"), b"webm123").unwrap();
    let purged = senim_callcentre::retention::purge_now(&server.state)
        .await
        .unwrap();
    assert_eq!((purged.appeals, purged.videos), (1, 1));
    assert!(!uploads.join("u-2025").exists());
    let appeal = server
        .state
        .db
        .read(|c| db::get_appeal(c, "A-2025"))
        .unwrap()
        .unwrap();
    assert!(appeal.iin.is_none() && appeal.erased_at.is_some());
    let r = get(
        &format!("{}/console/figures?from=2025-01&to=2025-01", server.url),
        &aigerim,
    )
    .await;
    let html = r.text().await.unwrap();
    assert_eq!(text_of(&html, "total-appeals"), "1");
    assert_eq!(text_of(&html, "total-median"), "24 h");
    server.stop().await;
}

/// A small deterministic random source (no dependency for a fixture).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A year of appeals over three sites, as a call-centre would have them: the busiest site
/// three times the quietest, more in spring and autumn, a median answer of about five days,
/// some late, the newest still open.
fn a_year_of_appeals(db: &Db, now: DateTime<Utc>) -> usize {
    let mut rng = Lcg(16);
    let sites = [
        ("K-ALM4", "City Hospital No. 4, Almaty", 55.0),
        ("K-AST1", "Polyclinic No. 1, Astana", 32.0),
        ("K-SHY2", "Regional Hospital, Shymkent", 18.0),
    ];
    let topics = [
        ("complaint", 0.45),
        ("request", 0.30),
        ("gratitude", 0.12),
        ("other", 0.08),
        ("bribe_report", 0.05),
    ];
    let mut n = 0;
    db.write(|tx| {
        add_kiosks(
            tx,
            &sites.iter().map(|(k, s, _)| (*k, *s)).collect::<Vec<_>>(),
        )?;
        for day in 0..365 {
            let date = now - Duration::days(365 - day);
            let season = 1.0 + 0.3 * ((day as f64) / 365.0 * std::f64::consts::TAU * 2.0).sin();
            for (kiosk, _, per_month) in sites {
                let expected = per_month * season / 30.0;
                let count = (expected + rng.next() * 2.0 - 1.0).round().max(0.0) as usize;
                for _ in 0..count {
                    n += 1;
                    let created = date + Duration::minutes((rng.next() * 9.0 * 60.0) as i64);
                    let pick = rng.next();
                    let mut acc = 0.0;
                    let topic = topics
                        .iter()
                        .find(|(_, w)| {
                            acc += w;
                            pick < acc
                        })
                        .map_or("other", |(t, _)| t);
                    // Hours to answer: mostly 1–10 days, a tail of late ones.
                    let hours = if rng.next() < 0.12 {
                        (16.0 + rng.next() * 20.0) * 24.0
                    } else {
                        (0.5 + rng.next().powf(1.6) * 11.0) * 24.0
                    };
                    let answered = created + Duration::seconds((hours * 3600.0) as i64);
                    let mut f = fixture(&format!("A-{n:08}"), kiosk, topic, created);
                    if answered < now {
                        f.answered_after = Some(hours);
                        let closed = answered + Duration::days(3);
                        if closed < now {
                            f.status = "closed";
                            f.closed = Some(closed);
                        } else {
                            f.status = "answered";
                        }
                    } else {
                        f.status = ["new", "assigned", "in_progress"][n % 3];
                    }
                    add_appeal(tx, &f)?;
                }
            }
        }
        Ok::<_, DbError>(())
    })
    .unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_appeals_over_three_sites_as_a_manager_sees_it() {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    server
        .state
        .db
        .write(|tx| {
            db::set_roles(
                tx,
                "aigerim",
                db::Roles {
                    admin: true,
                    operator: true,
                    anticorruption: true,
                },
            )
        })
        .unwrap();
    let made = a_year_of_appeals(&server.state.db, Utc::now());
    let driver = start_chromedriver();
    let c = browser(&driver, &[]).await;
    sign_in(&c, &server.url, "aigerim", "demo-password-1").await;
    c.wait()
        .for_element(Locator::Css("header.top"))
        .await
        .unwrap();
    c.find(Locator::Css("a[href='/console/figures']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let total = c
        .wait()
        .for_element(Locator::Id("total-appeals"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The default range is the last 12 months: every appeal made is in it but for the first
    // days of the oldest month.
    let total: usize = total.parse().unwrap();
    assert!(total > made * 9 / 10 && total <= made, "{total} of {made}");
    let bars = c
        .find_all(Locator::Css("#chart-appeals g.bar"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 12);
    let title = c
        .find(Locator::Css("#chart-share title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert_eq!(title, "Share answered within the legal limit");
    shot(&c, "figures").await;
    c.set_window_size(1440, 4400).await.unwrap();
    shot(&c, "figures-full").await;

    // The same in Russian, the operator's choice.
    server
        .state
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE operators SET language = 'ru' WHERE username = 'aigerim'",
                [],
            )
        })
        .unwrap();
    c.refresh().await.unwrap();
    let h1 = c
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Показатели по обращениям");
    shot(&c, "figures-ru").await;
    server
        .state
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE operators SET language = 'kk' WHERE username = 'aigerim'",
                [],
            )
        })
        .unwrap();
    c.refresh().await.unwrap();
    c.wait()
        .for_element(Locator::Id("chart-median"))
        .await
        .unwrap();
    shot(&c, "figures-kk").await;
    c.close().await.unwrap();
    server.stop().await;
}
