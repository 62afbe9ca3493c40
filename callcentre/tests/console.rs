//! The operator console in a real browser (Debian's headless Chromium driven over WebDriver):
//! sign-in, the red lamp following presence, an appeal's video playing and seeking, taking
//! the appeal and starting work, the logged IIN reveal, the fleet view; consultant calls outside working
//! hours and "On my way", the service-guide figures, enrolling a kiosk by QR code and a refused
//! catalogue in the fleet view; plus CSRF and session refusals over plain HTTP. Screenshots
//! land in `target/screenshots/console-*.png`.
//!
//! Over 600 lines: whole browser journeys (one costly Chromium session each) and helpers.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::chromium::{browser, start_chromedriver};
use common::{appeal, appeal_id, decode_png, http_sign_in, TestServer};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

const FIXTURE: &[u8] = include_bytes!("fixtures/sample.webm");

use common::chromium::shot;

/// A server with an operator, a kiosk, and appeals: one with its uploaded video, one overdue,
/// one test appeal.
async fn populated_server() -> (TestServer, String, String, String) {
    let server = TestServer::start().await;
    server.admin("aigerim", "demo-password-1", "Aigerim Sadykova");
    let http = reqwest::Client::new();
    let (kiosk, token) = server.enrol(&http, "City Hospital No. 4, Almaty").await;
    let video_id = appeal_id(1);
    let mut with_video = appeal("appeal-000001", &video_id, Some(FIXTURE));
    with_video["record"]["created_at"] = json!(chrono::Utc::now() - chrono::Duration::hours(2));
    let mut overdue = appeal("appeal-000002", &appeal_id(2), None);
    overdue["record"]["created_at"] = json!(chrono::Utc::now() - chrono::Duration::days(20));
    // Not a bribe report: those go to the anti-corruption queue, which this operator lacks.
    overdue["record"]["topic"] = json!("complaint");
    overdue["record"]["text"] = json!("They asked for money for a referral.");
    let mut test = appeal("appeal-000003", &appeal_id(3), None);
    test["record"]["test"] = json!(true);
    test["record"]["topic"] = json!("other");
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [with_video, overdue, test] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    use base64::Engine;
    let meta = base64::engine::general_purpose::STANDARD.encode(&video_id);
    let r = http
        .post(format!("{}/api/v1/uploads/", server.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", FIXTURE.len().to_string())
        .header("Upload-Metadata", format!("appeal_id {meta}"))
        .header("Content-Type", "application/offset+octet-stream")
        .body(FIXTURE.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    (server, kiosk, token, video_id)
}

async fn sign_in(c: &Client, server: &TestServer, password: &str) {
    common::chromium::sign_in(c, &server.url, "aigerim", password).await;
}

async fn lamp_visible(c: &Client) -> bool {
    c.execute("return !document.getElementById('lamp').hidden;", vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

/// Waits until the lamp is lit (or dark); the time it took.
async fn wait_lamp(c: &Client, lit: bool) -> Duration {
    let start = Instant::now();
    while lamp_visible(c).await != lit {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the lamp did not turn {}",
            if lit { "on" } else { "off" }
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_signs_in_sees_the_red_lamp_plays_the_video_and_moves_the_appeal_on() {
    let (server, kiosk, token, video_id) = populated_server().await;
    let driver = start_chromedriver();
    let c = browser(&driver, &[]).await;
    let http = reqwest::Client::new();

    // Sign-in: a wrong password is refused, the right one opens the queue.
    sign_in(&c, &server, "wrong-password").await;
    let error = c.wait().for_element(Locator::Css("p.error")).await.unwrap();
    assert_eq!(error.text().await.unwrap(), "Wrong username or password.");
    shot(&c, "login-refused").await;
    sign_in(&c, &server, "demo-password-1").await;
    c.wait()
        .for_element(Locator::Css("table.queue"))
        .await
        .unwrap();
    let queue = c
        .find(Locator::Css("#queue"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains(&video_id), "{queue}");
    assert!(queue.contains("Overdue by 5 days"), "{queue}");
    assert!(queue.contains("TEST"), "{queue}");
    // Oldest first: the overdue appeal is the first row.
    let first = c
        .find(Locator::Css("table.queue tbody tr:first-child"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains(&appeal_id(2)), "{first}");
    assert!(!lamp_visible(&c).await);
    shot(&c, "queue").await;

    // A patient starts at the kiosk: the lamp lights within a second, with kiosk and site.
    let presence = |present: bool| {
        http.post(format!("{}/api/v1/presence", server.url))
            .bearer_auth(&token)
            .json(&json!({"present": present, "journey": "appeal", "at": chrono::Utc::now()}))
            .send()
    };
    assert!(presence(true).await.unwrap().status().is_success());
    let took = wait_lamp(&c, true).await;
    assert!(took < Duration::from_secs(1), "the lamp took {took:?}");
    let lamp = c
        .find(Locator::Id("lamp"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        lamp.contains(&kiosk) && lamp.contains("City Hospital No. 4"),
        "{lamp}"
    );
    assert!(lamp.contains("leaving an appeal"), "{lamp}");
    tokio::time::sleep(Duration::from_millis(1100)).await; // let the timer tick once for the picture
    shot(&c, "red-lamp").await;
    // ...and goes off when the kiosk reports the patient left.
    presence(false).await.unwrap();
    let took = wait_lamp(&c, false).await;
    assert!(
        took < Duration::from_secs(1),
        "the lamp stayed on for {took:?}"
    );

    // A new appeal arriving refreshes the queue by itself.
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [appeal("appeal-000004", &appeal_id(4), None)] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let start = Instant::now();
    loop {
        // The script swaps the whole #queue element, so read it in one go.
        let queue = c
            .execute("return document.getElementById('queue').innerText;", vec![])
            .await
            .unwrap();
        if queue.as_str().unwrap_or("").contains(&appeal_id(4)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the queue did not refresh"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The appeal page: the video plays and seeks (range requests).
    c.goto(&format!("{}/console/appeals/{video_id}", server.url))
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("video")).await.unwrap();
    let played = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const v = document.getElementById('video');
               const stage = (name, p, ms) => Promise.race([p, new Promise((_, no) =>
                 setTimeout(() => no(name + ' timed out; readyState=' + v.readyState +
                   ' networkState=' + v.networkState + ' error=' + (v.error && (v.error.code + ' ' + v.error.message))), ms))]);
               const event = (name) => new Promise(r => v.addEventListener(name, r, {once: true}));
               v.muted = true;
               // Nothing is fetched until the operator presses play (a view is not a play).
               const before = v.readyState;
               (async () => {
                 await stage('play', v.play(), 10000);
                 await stage('playing', new Promise(r => { const t = () => v.currentTime > 0.1 ? r() : setTimeout(t, 50); t(); }), 10000);
                 const played = v.currentTime;
                 v.pause();
                 const seeked = event('seeked');
                 v.currentTime = 2.0;
                 await stage('seek', seeked, 10000);
                 const r = await fetch(v.src, {headers: {Range: 'bytes=0-99'}});
                 done({before, played, after_seek: v.currentTime, duration: v.duration,
                       error: v.error && v.error.code, range_status: r.status,
                       content_range: r.headers.get('content-range')});
               })().catch(e => done({failed: String(e)}));"#,
            vec![],
        )
        .await
        .unwrap();
    assert!(played.get("failed").is_none(), "{played}");
    assert_eq!(
        played["before"], 0,
        "the video loads only when played: {played}"
    );
    assert!(
        played["played"].as_f64().unwrap() > 0.1,
        "the video did not play: {played}"
    );
    assert!(
        (played["after_seek"].as_f64().unwrap() - 2.0).abs() < 0.2,
        "{played}"
    );
    assert!(
        (played["duration"].as_f64().unwrap() - 3.0).abs() < 0.5,
        "{played}"
    );
    assert_eq!(played["error"], Value::Null, "{played}");
    assert_eq!(played["range_status"], 206, "{played}");
    assert_eq!(
        played["content_range"],
        format!("bytes 0-99/{}", FIXTURE.len()),
        "{played}"
    );
    // The view, then the play, are in the audit (the test's own fetch from byte 0 counts as
    // another play; the player's later ranges and the seek do not).
    let key = video_id.to_string();
    let looks: Vec<String> = server
        .state
        .db
        .read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT action FROM audit WHERE appeal_id = ?1 \
                 AND action IN ('appeal_view', 'video_play') ORDER BY id",
            )?;
            let rows = stmt
                .query_map([&key], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(looks, ["appeal_view", "video_play", "video_play"]);

    // The IIN is masked until revealed; the reveal is logged with the operator's name.
    let iin = c
        .find(Locator::Id("iin"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(iin, "••••••••0010");
    c.find(Locator::Css("form[action$='/reveal'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let iin = c
        .wait()
        .for_element(Locator::Css("#iin.revealed"))
        .await
        .unwrap();
    assert_eq!(iin.text().await.unwrap(), "880101300010");

    // Taking the appeal and starting work stick, with who and when in the history.
    c.goto(&format!("{}/console/appeals/{video_id}", server.url))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#assign-me button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#start-work button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css(".status.big.in_progress"))
        .await
        .unwrap();
    c.refresh().await.unwrap();
    let value = c
        .find(Locator::Id("appeal-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(value, "In progress");
    let history = c
        .find(Locator::Id("history"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("Aigerim Sadykova assigned the appeal to Aigerim Sadykova")
            && history
                .contains("Aigerim Sadykova changed the status from “Assigned” to “In progress”"),
        "{history}"
    );
    assert!(
        history.contains("Aigerim Sadykova revealed the IIN"),
        "{history}"
    );
    shot(&c, "appeal").await;
    let stored = server
        .state
        .db
        .read(|db| senim_callcentre::db::get_appeal(db, &appeal_id(1)))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "in_progress");

    // The fleet view shows the kiosk online with its devices and queue.
    let r = http
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(&json!({"state": "in_use", "queue_depth": 2,
            "devices": [{"device": "scanner", "status": "ok"}, {"device": "camera", "status": "ok"},
                        {"device": "printer", "status": "fail", "detail": "paper out"}],
            "versions": {"app": "0.1.0"}, "sent_at": chrono::Utc::now()}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    c.goto(&format!("{}/console/fleet", server.url))
        .await
        .unwrap();
    let fleet = c
        .wait()
        .for_element(Locator::Css("table.fleet"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fleet.contains(&kiosk) && fleet.contains("Online") && fleet.contains("In use"),
        "{fleet}"
    );
    shot(&c, "fleet").await;

    c.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_need_a_session_and_forms_need_their_csrf_token() {
    let (server, _, _, video_id) = populated_server().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/console".to_string(),
        "/console/fleet".into(),
        "/console/guides".into(),
        format!("/console/appeals/{video_id}"),
        format!("/console/appeals/{video_id}/video"),
    ] {
        let r = http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], "/console/login", "{path}");
    }
    let r = http
        .get(format!("{}/console/events", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "the live feed needs a session"
    );
    assert!(http_sign_in(&server, "nope").await.is_none());
    let cookie = http_sign_in(&server, "demo-password-1").await.unwrap();
    let page = http
        .get(format!("{}/console/appeals/{video_id}", server.url))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(
        !body.contains("880101300010"),
        "the IIN is masked until revealed"
    );
    // A forged form (no or wrong CSRF token) changes nothing.
    for csrf in ["", "forged"] {
        let r = http
            .post(format!("{}/console/appeals/{video_id}/close", server.url))
            .header("Cookie", &cookie)
            .form(&[("reason", "forged"), ("csrf", csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    }
    let stored = server
        .state
        .db
        .read(|db| senim_callcentre::db::get_appeal(db, &video_id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "new");

    // Enrolment codes: a forged form makes none; a good form with a bad site says why and
    // makes none either.
    let codes = || -> i64 {
        server
            .state
            .db
            .read(|c| c.query_row("SELECT COUNT(*) FROM enrol_codes", [], |r| r.get(0)))
            .unwrap()
    };
    let before = codes();
    let enrol = |csrf: String, site: &str, mode: &str| {
        http.post(format!("{}/console/fleet/enrol", server.url))
            .header("Cookie", &cookie)
            .header("Accept-Language", "en")
            .form(&[("csrf", csrf.as_str()), ("site", site), ("mode", mode)])
            .send()
    };
    let r = enrol("forged".into(), "Clinic", "hospital").await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = enrol(csrf.clone(), "   ", "hospital").await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Give the site's name: 1 to 200 characters"));
    let r = enrol(csrf.clone(), "Clinic", "clinic").await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(codes(), before);
    let r = enrol(csrf, "Clinic", "hospital").await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(codes(), before + 1);
    // Without [server] public_url the page says the QR code cannot provision a blank kiosk.
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"enrol-no-url\""), "{page}");
    server.stop().await;
}

/// The console's enrol form, on a call-centre with `[server] public_url`, puts the whole
/// enrolment text — code and URL — into the QR code and prints it as text too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_enrol_form_writes_the_public_url_into_the_qr_code() {
    let mut config = common::test_config();
    config.server.public_url = "https://cc.senim.example.kz:8443".into();
    let server = TestServer::start_with(config, None).await;
    server.admin("aigerim", "demo-password-1", "Aigerim Sadykova");
    let http = common::no_redirects();
    let cookie = http_sign_in(&server, "demo-password-1").await.unwrap();
    let fleet = common::console_page(&server, &cookie, "/console/fleet", "en").await;
    let csrf = fleet
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .post(format!("{}/console/fleet/enrol", server.url))
        .header("Cookie", &cookie)
        .header("Accept-Language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("site", "Ward 5"),
            ("mode", "hospital"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let png = page
        .split("data:image/png;base64,")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    let text = decode_png(&png);
    let read = senim_protocol::enrol::EnrolCode::parse(&text).unwrap();
    assert_eq!(
        read.url.as_deref(),
        Some("https://cc.senim.example.kz:8443")
    );
    assert!(text.contains(";v=2;"), "{text}");
    // The same text is on the page, for typing over SSH.
    assert!(page.contains(&text), "{page}");
    assert!(!page.contains("enrol-no-url"));
    server.stop().await;
}

async fn visible(c: &Client, id: &str) -> bool {
    c.execute(
        &format!("const e = document.getElementById('{id}'); return !!e && !e.hidden;"),
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

/// Waits until an element is shown (or hidden); the time it took.
async fn wait_visible(c: &Client, id: &str, shown: bool) -> Duration {
    let start = Instant::now();
    while visible(c, id).await != shown {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "#{id} was not {}",
            if shown { "shown" } else { "hidden" }
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_consultant_calls_at_any_hour_the_guide_figures_and_enrol_a_kiosk_by_qr() {
    // Today and tomorrow are holidays: the call-centre is closed, the centre's staff are not.
    let mut config = common::test_config();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive();
    config.hours.holidays = vec![
        today.to_string(),
        (today + chrono::Duration::days(1)).to_string(),
    ];
    let server = TestServer::start_with(config, None).await;
    assert!(!server.state.schedule.is_open(chrono::Utc::now()));
    server.admin("aigerim", "demo-password-1", "Aigerim Sadykova");
    let http = reqwest::Client::new();
    let (kiosk, token) = server
        .enrol(&http, "Public Service Centre No. 2, Astana")
        .await;
    let services = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/services"));
    senim_callcentre::catalog::publish(&server.state.db, &services, chrono::Utc::now()).unwrap();
    server.state.refresh_catalog_version().unwrap();

    // Three citizens start the address certificate guide; two finish it, one gives up at
    // step 4; one rates it.
    let now = chrono::Utc::now();
    let mut records = Vec::new();
    for (n, (session, event, step, rating)) in [
        ("c1", "started", None, None),
        ("c1", "completed", None, None),
        ("c1", "rated", None, Some(3)),
        ("c2", "started", None, None),
        ("c2", "completed", None, None),
        ("c3", "started", None, None),
        ("c3", "abandoned", Some(4), None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut record = json!({"kind": "guide_event", "session_id": session,
            "service_id": "no-criminal-record", "event": event,
            "at": now - chrono::Duration::minutes(30 - n as i64)});
        if let Some(step) = step {
            record["step"] = json!(step);
        }
        if let Some(rating) = rating {
            record["rating"] = json!(rating);
        }
        records.push(json!({"key": format!("guide-event-{n:03}"), "record": record}));
    }
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let driver = start_chromedriver();
    let c = browser(&driver, &[]).await;
    sign_in(&c, &server, "demo-password-1").await;
    c.wait().for_element(Locator::Css("#queue")).await.unwrap();
    assert!(!visible(&c, "consultants").await);

    // A citizen presses "call a consultant" at step 3: it shows within a second, although
    // the call-centre is closed.
    let call = |active: bool| {
        http.post(format!("{}/api/v1/consultant", server.url))
            .bearer_auth(&token)
            .json(&json!({"service_id": "no-criminal-record", "step": 3,
                "at": now, "active": active}))
            .send()
    };
    assert_eq!(
        call(true).await.unwrap().status(),
        reqwest::StatusCode::NO_CONTENT
    );
    let took = wait_visible(&c, "consultants", true).await;
    assert!(
        took < Duration::from_secs(1),
        "the call took {took:?} to show"
    );
    let band = c
        .find(Locator::Id("consultants"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        format!("Consultant needed at kiosk {kiosk}"),
        "(Public Service Centre No. 2, Astana)".into(),
        "service Certificate of no criminal record, step 3, for 0:0".into(),
        "On my way".into(),
    ] {
        assert!(band.contains(&needle), "{needle:?} in {band:?}");
    }
    assert!(
        !lamp_visible(&c).await,
        "the red lamp keeps to working hours"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await; // let the timer tick for the picture
    shot(&c, "consultant").await;

    // A staff member goes: it is cleared for everyone.
    c.find(Locator::Css("#consultants button.take"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_visible(&c, "consultants", false).await;
    assert!(server.state.consultant_calls().is_empty());
    // ...and it shows again, live, when a citizen calls anew.
    http.post(format!("{}/api/v1/consultant", server.url))
        .bearer_auth(&token)
        .json(&json!({"service_id": "no-such-service", "step": 0,
            "at": chrono::Utc::now(), "active": true}))
        .send()
        .await
        .unwrap();
    wait_visible(&c, "consultants", true).await;
    let band = c
        .find(Locator::Id("consultants"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        band.contains("service no-such-service, on the overview page"),
        "unknown services show their id: {band}"
    );
    call(false).await.unwrap();
    wait_visible(&c, "consultants", false).await;

    // The figures: completed is the headline.
    c.goto(&format!("{}/console/guides", server.url))
        .await
        .unwrap();
    let completed = c
        .wait()
        .for_element(Locator::Id("completed"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(completed, "2");
    let row = c
        .find(Locator::Css(
            "#by-service tr[data-service='no-criminal-record']",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        row.starts_with("Certificate of no criminal record"),
        "{row}"
    );
    assert!(row.contains("3 2 1 step 4 0 1 / 0 / 0"), "{row}");
    shot(&c, "guides").await;
    // A range without records says so.
    c.goto(&format!(
        "{}/console/guides?from=2025-01-01&to=2025-01-31",
        server.url
    ))
    .await
    .unwrap();
    let completed = c
        .wait()
        .for_element(Locator::Id("completed"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(completed, "0");
    assert!(c.find(Locator::Css("p.empty")).await.is_ok());

    // The kiosk refused the newest catalogue: the fleet view says which and why.
    let newest = server.state.catalog_version().unwrap();
    let r = http
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(&json!({"state": "idle", "queue_depth": 0,
            "versions": {"app": "0.1.0", "catalog": "20261101-090000-0a1b2c3d"},
            "catalog_problem": {"version": newest,
                "message": "01-address-certificate.toml: service `address-certificate`: step 2 has no `kk` translation"},
            "sent_at": chrono::Utc::now()}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    // Enrol a kiosk from the fleet view: the QR code on the page is the code shown.
    c.goto(&format!("{}/console/fleet", server.url))
        .await
        .unwrap();
    let cell = c
        .wait()
        .for_element(Locator::Css(&format!(
            "tr[data-kiosk='{kiosk}'] td.catalog"
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        cell.contains(&format!("Refused {newest}")) && cell.contains("step 2 has no `kk`"),
        "{cell}"
    );
    c.find(Locator::Css("#enrol summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shot(&c, "fleet-catalogue").await;
    c.find(Locator::Css("#enrol input[name=site]"))
        .await
        .unwrap()
        .send_keys("Public Service Centre No. 5, Shymkent")
        .await
        .unwrap();
    c.find(Locator::Css("#enrol select[name=mode]"))
        .await
        .unwrap()
        .select_by_value("front-office")
        .await
        .unwrap();
    c.find(Locator::Css("#enrol button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let code = c
        .wait()
        .for_element(Locator::Id("code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let src = c
        .execute("return document.getElementById('enrol-qr').src;", vec![])
        .await
        .unwrap();
    let png = {
        use base64::Engine;
        let data = src
            .as_str()
            .unwrap()
            .strip_prefix("data:image/png;base64,")
            .unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap()
    };
    assert_eq!(decode_png(&png), format!("SENIM-ENROL:{code}"));
    shot(&c, "enrol").await;
    // The code works once, for that site and mode.
    let r: Value = http
        .post(format!("{}/api/v1/enrol", server.url))
        .json(&json!({ "code": format!("SENIM-ENROL:{code}") }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["site"], "Public Service Centre No. 5, Shymkent");
    assert_eq!(r["mode"], "front-office");

    c.close().await.unwrap();
    server.stop().await;
}
