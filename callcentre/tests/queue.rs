//! The appeal queue over HTTP and in Chromium: an ordinary operator never sees a flagged
//! appeal (in any view, by number, or in live rows) and gets a logged 403 on the
//! anti-corruption view, which its own operators see with a "flagged on arrival" badge; a
//! site-limited operator sees only their site; following the page links visits every appeal
//! exactly once; date filters are the call-centre's local days; bad parameters are refused;
//! and a live update brings just the changed rows into the open page (no reload).
//! Screenshots: `target/screenshots/console-queue-*.png`.
//!
//! Over 600 lines: HTTP checks and one browser journey share the fixtures (one costly
//! Chromium session).

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::chromium::{browser, shot, sign_in, start_chromedriver};
use common::{appeal, appeal_id, http_sign_in_as, TestServer};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use senim_callcentre::db::{self, Roles};
use senim_callcentre::state::LiveEvent;
use serde_json::{json, Value};

const PASSWORD: &str = "demo-password-1";

/// An appeal row written straight into the store (deadlines given, not computed), a bribe
/// report flagged as arrival flags it.
#[allow(clippy::too_many_arguments)]
fn insert(
    server: &TestServer,
    id: &str,
    kiosk: &str,
    topic: &str,
    status: &str,
    created: DateTime<Utc>,
    due: DateTime<Utc>,
    assigned: Option<&str>,
) {
    let (id, kiosk, topic, status, assigned) = (
        id.to_string(),
        kiosk.to_string(),
        topic.to_string(),
        status.to_string(),
        assigned.map(str::to_owned),
    );
    server
        .state
        .db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                 interrupted, test, status, due_at, assigned_to, anticorruption) \
                 VALUES (?1, ?2, ?3, ?4, ?4, 'kk', 0, 0, ?5, ?6, ?7, CASE WHEN ?3 = 'bribe_report' THEN 1 ELSE 0 END)",
                senim_callcentre::db::sql::params![
                    id,
                    kiosk,
                    topic,
                    db::ts(created),
                    status,
                    db::ts(due),
                    assigned
                ],
            )
        })
        .unwrap();
}

fn set_roles(server: &TestServer, username: &str, roles: Roles) {
    server
        .state
        .db
        .write(|tx| db::set_roles(tx, username, roles))
        .unwrap();
}

fn limit_to_site(server: &TestServer, username: &str, site: &str) {
    server
        .state
        .db
        .write(|tx| {
            tx.execute(
                "INSERT INTO operator_sites (username, site) VALUES (?1, ?2)",
                [username, site],
            )
        })
        .unwrap();
}

async fn get(server: &TestServer, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", server.url))
        .header("Cookie", cookie)
        // The checks read English (without it the console speaks Russian).
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Appeal numbers in a page's rows, in order.
fn numbers(html: &str) -> Vec<String> {
    html.split("<tr data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The page's `rel=next` link, if any (HTML-unescaped).
fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}

/// Two sites (one kiosk each), 30 open appeals at each, a flagged bribe report at each (new),
/// a closed one; operators: `ordinary`, `anti` (anti-corruption only), `beta` (limited to
/// Beta clinic).
async fn populated() -> (TestServer, String, String) {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (alpha, _) = server.enrol(&http, "Alpha hospital").await;
    let (beta, _) = server.enrol(&http, "Beta clinic").await;
    for name in ["ordinary", "anti", "beta"] {
        server.operator(name, PASSWORD, name);
    }
    set_roles(
        &server,
        "anti",
        Roles {
            anticorruption: true,
            ..Roles::default()
        },
    );
    limit_to_site(&server, "beta", "Beta clinic");
    let now = Utc::now();
    for n in 0..60u32 {
        let created = now - chrono::Duration::hours(i64::from(n) * 5);
        insert(
            &server,
            &appeal_id(n),
            if n % 2 == 0 { &alpha } else { &beta },
            if n % 3 == 0 { "request" } else { "complaint" },
            "new",
            created,
            created + chrono::Duration::days(15),
            None,
        );
    }
    for (n, kiosk) in [(100, &alpha), (101, &beta)] {
        insert(
            &server,
            &appeal_id(n),
            kiosk,
            "bribe_report",
            "new",
            now,
            now + chrono::Duration::days(15),
            None,
        );
    }
    insert(
        &server,
        &appeal_id(102),
        &alpha,
        "complaint",
        "closed",
        now - chrono::Duration::days(40),
        now - chrono::Duration::days(25),
        None,
    );
    (server, alpha, beta)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_operator_never_sees_flagged_appeals_and_is_refused_their_queue() {
    let (server, _, _) = populated().await;
    let flagged = [appeal_id(100), appeal_id(101)];
    let cookie = http_sign_in_as(&server, "ordinary", PASSWORD)
        .await
        .unwrap();
    for view in ["open", "mine", "answered", "closed", "all"] {
        let (status, page) = get(&server, &cookie, &format!("/console?view={view}")).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        for id in &flagged {
            assert!(!page.contains(id.as_str()), "{view} shows {id}");
        }
        assert!(!page.contains("tab-anticorruption"), "{view}: no such tab");
    }
    // Nor by number, nor in live rows.
    let (_, page) = get(
        &server,
        &cookie,
        &format!("/console?view=all&q={}", flagged[0]),
    )
    .await;
    assert!(numbers(&page).is_empty(), "{page}");
    assert!(page.contains("that you may see"));
    let (status, rows) = get(
        &server,
        &cookie,
        &format!(
            "/console/queue/rows?view=open&ids={},{}",
            flagged[0],
            appeal_id(0)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        rows.contains(&format!("<tr data-id=\"{}\" data-gone", flagged[0])),
        "{rows}"
    );
    assert!(
        rows.contains(&format!("<tr data-id=\"{}\" data-key", appeal_id(0))),
        "{rows}"
    );

    // The anti-corruption view: 403, and the refusal is in the audit.
    for path in [
        "/console?view=anticorruption",
        "/console/queue/rows?view=anticorruption&ids=A-00000000",
    ] {
        let (status, page) = get(&server, &cookie, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.contains(flagged[0].as_str()));
    }
    let refusals: i64 = server
        .state
        .db
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM audit WHERE actor = 'ordinary' AND action = 'forbidden' \
                 AND detail = 'queue view anticorruption'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(refusals, 2);

    // Its own operators see them there, with the badge of new flagged appeals, and only there.
    let anti = http_sign_in_as(&server, "anti", PASSWORD).await.unwrap();
    let (status, page) = get(&server, &anti, "/console").await;
    assert_eq!(status, StatusCode::OK);
    let mut shown = numbers(&page);
    shown.sort();
    let mut expected = flagged.to_vec();
    expected.sort();
    assert_eq!(shown, expected);
    assert!(page.contains("id=\"flagged-new\""), "{page}");
    assert!(page.contains("Flagged on arrival"));
    let (status, _) = get(&server, &anti, "/console?view=open").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no ordinary queue for this role"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_limited_operator_sees_only_their_site() {
    let (server, alpha, beta) = populated().await;
    let cookie = http_sign_in_as(&server, "beta", PASSWORD).await.unwrap();
    let (_, page) = get(&server, &cookie, "/console?view=all").await;
    assert!(!numbers(&page).is_empty());
    assert!(
        page.contains(&beta) && !page.contains(&alpha),
        "only Beta's kiosk"
    );
    assert!(
        !page.contains("Alpha hospital"),
        "not even in the site filter"
    );
    // Asking for the other site, its kiosk or one of its numbers finds nothing.
    for path in [
        "/console?view=all&site=Alpha+hospital".to_string(),
        format!("/console?view=all&kiosk={alpha}"),
        format!("/console?view=all&q={}", appeal_id(0)),
    ] {
        let (status, page) = get(&server, &cookie, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(numbers(&page).is_empty(), "{path}");
    }
    // One of its own, typed loosely.
    let typed = appeal_id(1).to_lowercase().replace('-', " - ");
    let (_, page) = get(
        &server,
        &cookie,
        &format!("/console?q={}", typed.replace(' ', "+")),
    )
    .await;
    assert_eq!(numbers(&page), [appeal_id(1)]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_the_page_links_shows_every_appeal_exactly_once() {
    let (server, _, _) = populated().await;
    let cookie = http_sign_in_as(&server, "ordinary", PASSWORD)
        .await
        .unwrap();
    for (view, expected) in [("open", 60), ("all", 61)] {
        let mut seen = Vec::new();
        let mut path = format!("/console?view={view}");
        let mut pages = 0;
        loop {
            let (status, page) = get(&server, &cookie, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            seen.extend(numbers(&page));
            pages += 1;
            match next_link(&page) {
                Some(next) => path = next,
                None => {
                    assert!(page.contains(&format!("of {expected}")), "{page}");
                    break;
                }
            }
        }
        assert_eq!(pages, 2, "{view}: 50 to a page");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{view}: an appeal shown twice");
        assert_eq!(seen.len(), expected, "{view}");
        // The last page from its link: the same rows as the end of the walk.
        let (_, last) = get(&server, &cookie, &format!("/console?view={view}&last=1")).await;
        let tail = numbers(&last);
        assert_eq!(tail[..], seen[seen.len() - tail.len()..]);
    }
    // Filters go along with the pages, and the order is the view's.
    let (_, page) = get(&server, &cookie, "/console?view=open&topic=request").await;
    let shown = numbers(&page);
    assert_eq!(shown.len(), 20);
    let (_, all) = get(&server, &cookie, "/console?view=all&topic=request").await;
    let mut newest_first = shown.clone();
    newest_first.reverse();
    assert_eq!(
        numbers(&all),
        newest_first,
        "open: oldest deadline first; all: newest first"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_are_the_call_centres_own_days() {
    let server = TestServer::start().await;
    let (kiosk, _) = server
        .enrol(&reqwest::Client::new(), "Alpha hospital")
        .await;
    server.operator("ordinary", PASSWORD, "ordinary");
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // Almaty is UTC+5: 20:00 UTC on the 20th is already the 21st there.
    for (n, created) in [
        (1, "2026-11-20T18:30:00Z"),
        (2, "2026-11-20T20:00:00Z"),
        (3, "2026-11-21T18:59:00Z"),
        (4, "2026-11-21T19:00:00Z"),
    ] {
        let created = at(created);
        insert(
            &server,
            &appeal_id(n),
            &kiosk,
            "complaint",
            "new",
            created,
            created + chrono::Duration::days(15),
            None,
        );
    }
    let cookie = http_sign_in_as(&server, "ordinary", PASSWORD)
        .await
        .unwrap();
    let (_, page) = get(
        &server,
        &cookie,
        "/console?view=all&from=2026-11-21&to=2026-11-21",
    )
    .await;
    assert_eq!(
        numbers(&page),
        [3, 2].map(appeal_id),
        "the 21st in Almaty, newest first"
    );
    assert!(
        page.contains("value=\"2026-11-21\""),
        "the form keeps the dates"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queue_parameters_are_refused_with_a_reason() {
    let (server, _, _) = populated().await;
    let cookie = http_sign_in_as(&server, "ordinary", PASSWORD)
        .await
        .unwrap();
    for (path, says) in [
        ("/console?view=everything", "no queue view"),
        ("/console?from=20.11.2026", "YYYY-MM-DD"),
        ("/console?topic=gossip", "no topic"),
        ("/console?status=lost", "no status"),
        ("/console?after=garbage", "page link is damaged"),
    ] {
        let (status, page) = get(&server, &cookie, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.contains(says), "{path}: {page}");
    }
    server.stop().await;
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn until(c: &Client, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = js(c, script).await;
        let truthy = match &v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The rows' numbers in the browser, in order.
async fn rows(c: &Client) -> Vec<String> {
    let v = js(
        c,
        "return [...document.querySelectorAll('#queue-rows tr')].map(r => r.dataset.id);",
    )
    .await;
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_updates_bring_only_the_changed_rows_into_the_open_page() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (kiosk, token) = server.enrol(&http, "City Hospital No. 4, Almaty").await;
    server.operator("aigerim", PASSWORD, "Aigerim Sadykova");
    server.operator("dana", PASSWORD, "Dana Omarova");
    set_roles(
        &server,
        "dana",
        Roles {
            operator: true,
            anticorruption: true,
            ..Roles::default()
        },
    );
    let now = Utc::now();
    let days = chrono::Duration::days;
    // Overdue, due soon, assigned, and plenty of time.
    insert(
        &server,
        &appeal_id(1),
        &kiosk,
        "complaint",
        "in_progress",
        now - days(20),
        now - days(3),
        Some("aigerim"),
    );
    insert(
        &server,
        &appeal_id(2),
        &kiosk,
        "request",
        "new",
        now - days(14),
        now + days(1) - chrono::Duration::hours(2),
        None,
    );
    insert(
        &server,
        &appeal_id(3),
        &kiosk,
        "complaint",
        "assigned",
        now - days(5),
        now + days(10),
        Some("dana"),
    );
    insert(
        &server,
        &appeal_id(4),
        &kiosk,
        "gratitude",
        "new",
        now - days(1),
        now + days(14),
        None,
    );
    insert(
        &server,
        &appeal_id(5),
        &kiosk,
        "bribe_report",
        "new",
        now - days(2),
        now + days(13),
        None,
    );

    let driver = start_chromedriver();
    let c = browser(&driver, &[]).await;
    sign_in(&c, &server.url, "aigerim", PASSWORD).await;
    c.wait()
        .for_element(Locator::Css("#queue-rows"))
        .await
        .unwrap();
    assert_eq!(
        rows(&c).await,
        [1, 2, 3, 4].map(appeal_id),
        "overdue first, then by deadline; the bribe report is not here"
    );
    let marks = js(
        &c,
        "return [...document.querySelectorAll('#queue-rows tr')].map(r => r.className);",
    )
    .await;
    assert!(
        marks[0].as_str().unwrap().contains("mark-overdue"),
        "{marks}"
    );
    assert!(
        marks[1].as_str().unwrap().contains("mark-due-soon"),
        "{marks}"
    );
    let third = js(
        &c,
        "return document.querySelectorAll('#queue-rows tr')[2].innerText;",
    )
    .await;
    assert!(third.as_str().unwrap().contains("Dana Omarova"), "{third}");
    // Wait for the live feed before anything changes.
    until(
        &c,
        "return document.body.dataset.live === 'connected';",
        "the live feed",
    )
    .await;
    js(
        &c,
        "window.queueMarker = 'still this page'; performance.clearResourceTimings(); return 1;",
    )
    .await;

    // A new appeal arrives from the kiosk: its row appears in its place (due in 15 days: last).
    let mut record = appeal("appeal-live-0006", &appeal_id(6), None);
    record["record"]["created_at"] = json!(now);
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [record] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    until(
        &c,
        &format!(
            "return !!document.querySelector('#queue-rows tr[data-id=\"{}\"]');",
            appeal_id(6)
        ),
        "the new appeal's row",
    )
    .await;
    assert_eq!(rows(&c).await, [1, 2, 3, 4, 6].map(appeal_id));

    // Another operator closes appeal 3 and takes appeal 4: the one leaves the open view, the
    // other shows its new status and assignee, in place.
    server
        .state
        .db
        .write(|tx| {
            tx.execute_batch(&format!(
                "UPDATE appeals SET status = 'closed' WHERE id = '{}';
                 UPDATE appeals SET status = 'assigned', assigned_to = 'dana' WHERE id = '{}';",
                appeal_id(3),
                appeal_id(4)
            ))
        })
        .unwrap();
    server
        .state
        .notify(LiveEvent::AppealsChanged(vec![appeal_id(3), appeal_id(4)]));
    until(
        &c,
        &format!(
            "return !document.querySelector('#queue-rows tr[data-id=\"{}\"]');",
            appeal_id(3)
        ),
        "the closed appeal leaving",
    )
    .await;
    let fourth = until(
        &c,
        &format!(
            "const r = document.querySelector('#queue-rows tr[data-id=\"{}\"]'); \
             return r && r.innerText.includes('Dana Omarova') ? r.innerText : '';",
            appeal_id(4)
        ),
        "appeal 4's new assignee",
    )
    .await;
    assert!(fourth.as_str().unwrap().contains("Assigned"), "{fourth}");
    assert_eq!(rows(&c).await, [1, 2, 4, 6].map(appeal_id));

    // No reload: the page's own marker survived, and only the rows were fetched, by number.
    assert_eq!(
        js(&c, "return window.queueMarker;").await,
        "still this page"
    );
    let fetched = js(
        &c,
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname + new URL(e.name).search);",
    )
    .await;
    let fetched: Vec<String> = serde_json::from_value(fetched).unwrap();
    assert!(
        fetched
            .iter()
            .all(|f| f.starts_with("/console/queue/rows?")),
        "{fetched:?}"
    );
    assert!(
        fetched
            .iter()
            .any(|f| f.contains(&format!("ids={}", appeal_id(6)))),
        "{fetched:?}"
    );
    assert!(
        fetched
            .iter()
            .any(|f| f.contains(&format!("ids={}%2C{}", appeal_id(3), appeal_id(4)))),
        "{fetched:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await; // the fresh rows' highlight, for the picture
    shot(&c, "queue-live").await;

    // A filtered view, and the anti-corruption tab with its badge for who has the role.
    c.goto(&format!("{}/console?view=all&topic=complaint", server.url))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#queue-rows"))
        .await
        .unwrap();
    assert_eq!(rows(&c).await, [6, 3, 1].map(appeal_id));
    shot(&c, "queue-filtered").await;
    c.delete_all_cookies().await.unwrap();
    sign_in(&c, &server.url, "dana", PASSWORD).await;
    c.wait()
        .for_element(Locator::Id("flagged-new"))
        .await
        .unwrap();
    assert_eq!(
        js(
            &c,
            "return document.getElementById('flagged-new').textContent;"
        )
        .await,
        "1"
    );
    c.find(Locator::Id("tab-anticorruption"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#queue[data-view=anticorruption]"))
        .await
        .unwrap();
    assert_eq!(rows(&c).await, [appeal_id(5)]);
    shot(&c, "queue-anticorruption").await;
    // A second report arrives: the badge counts it without a reload.
    insert(
        &server,
        &appeal_id(7),
        &kiosk,
        "bribe_report",
        "new",
        now,
        now + days(15),
        None,
    );
    server
        .state
        .notify(LiveEvent::AppealsChanged(vec![appeal_id(7)]));
    until(
        &c,
        "return document.getElementById('flagged-new').textContent === '2';",
        "the badge counting 2",
    )
    .await;
    assert_eq!(rows(&c).await, [5, 7].map(appeal_id));
    // In the operator's own language (Kazakh here), marks and all.
    server
        .state
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE operators SET language = 'kk' WHERE username = 'dana'",
                [],
            )
        })
        .unwrap();
    c.goto(&format!("{}/console?view=open", server.url))
        .await
        .unwrap();
    let tab = c.wait().for_element(Locator::Id("tab-open")).await.unwrap();
    assert_eq!(tab.text().await.unwrap(), "Ашық");
    let body = js(&c, "return document.getElementById('queue').innerText;").await;
    assert!(
        body.as_str().unwrap().contains("күнге кешіктірілді"),
        "{body}"
    );
    shot(&c, "queue-kk").await;
    c.close().await.unwrap();
    server.stop().await;
}
