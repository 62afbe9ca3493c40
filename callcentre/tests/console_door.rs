//! The console's door: sign-in throttled per user name and per client address (429 with
//! `Retry-After`, the password not even checked while locked; a success clears the name), the
//! lock in the audit; security headers on console responses (CSP without inline script or
//! style, no framing, nosniff, HSTS only under TLS, `no-store` but on static files) with the
//! video's range requests still answered; and the queue, an appeal and the call panel in
//! Chromium under that CSP with no violation reported.

mod common;

use std::time::Duration;

use common::chromium::{browser, start_chromedriver};
use common::{appeal, appeal_id, http_sign_in, test_config, TestServer};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::json;

const FIXTURE: &[u8] = include_bytes!("fixtures/sample.webm");

/// A server whose throttle acts after 2 free failures, locks a name at 4 and an address at
/// `address_lock`, for a minute.
async fn server(address_lock: u32) -> TestServer {
    let mut config = test_config();
    config.console.signin_free_attempts = 2;
    config.console.signin_lock_after = 4;
    config.console.signin_address_lock_after = address_lock;
    config.console.signin_lock_minutes = 1;
    let server = TestServer::start_with(config, None).await;
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    server.operator("dana", "demo-password-2", "Dana Nurlanovna");
    server
}

/// The answer to one sign-in: its status, `Retry-After`, and page.
struct Tried {
    status: StatusCode,
    retry_after: Option<u64>,
    body: String,
    signed_in: bool,
}

async fn try_sign_in(server: &TestServer, username: &str, password: &str) -> Tried {
    let http = common::no_redirects();
    let (cookie, csrf) = common::login_form(&http, server, "?lang=ru").await;
    let r = http
        .post(format!("{}/console/login", server.url))
        .header("Cookie", cookie)
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
            ("lang", "ru"),
        ])
        .send()
        .await
        .unwrap();
    let signed_in = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("senim_session=") && !v.starts_with("senim_session=;"));
    Tried {
        status: r.status(),
        retry_after: r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        signed_in,
        body: r.text().await.unwrap(),
    }
}

async fn wait(seconds: u64) {
    tokio::time::sleep(Duration::from_millis(seconds * 1000 + 150)).await;
}

/// Audit rows of `action`: (actor, address, detail).
async fn audited(
    server: &TestServer,
    action: &'static str,
) -> Vec<(String, Option<String>, Option<String>)> {
    senim_callcentre::db::read(&server.state.db, move |c| {
        let mut q =
            c.prepare("SELECT actor, address, detail FROM audit WHERE action = ?1 ORDER BY id")?;
        let rows = q
            .query_map([action], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_for_one_name_slow_it_then_lock_it_even_against_the_right_one() {
    let server = server(100).await;
    for _ in 0..2 {
        let t = try_sign_in(&server, "aigerim", "wrong-password").await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED);
        assert_eq!(t.retry_after, None);
    }
    // Beyond the free tries, the next must wait a second, then two.
    let t = try_sign_in(&server, "aigerim", "demo-password-1").await;
    assert_eq!(t.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(t.retry_after, Some(1));
    assert!(!t.signed_in);
    assert!(
        t.body.contains("Слишком много неудачных попыток входа"),
        "{}",
        t.body
    );
    wait(1).await;
    assert_eq!(
        try_sign_in(&server, "aigerim", "wrong-password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let t = try_sign_in(&server, "AIGERIM", "demo-password-1").await;
    assert_eq!(
        (t.status, t.retry_after),
        (StatusCode::TOO_MANY_REQUESTS, Some(2))
    );
    wait(2).await;
    assert!(audited(&server, "sign_in_locked").await.is_empty());
    // The fourth failure locks the name for the configured minute.
    assert_eq!(
        try_sign_in(&server, "aigerim", "wrong-password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let t = try_sign_in(&server, "aigerim", "demo-password-1").await;
    assert_eq!(t.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!t.signed_in);
    let retry = t.retry_after.unwrap();
    assert!((55..=60).contains(&retry), "Retry-After {retry}");
    assert!(t.body.contains("Вход заблокирован"), "{}", t.body);
    let locked = audited(&server, "sign_in_locked").await;
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].0, "aigerim");
    assert_eq!(locked[0].1.as_deref(), Some("127.0.0.1"));
    assert_eq!(locked[0].2.as_deref(), Some("name"));
    // Every failure is in the audit with the name and address; refused attempts are not
    // failures (their password was not checked).
    let failed = audited(&server, "sign_in_failed").await;
    assert_eq!(failed.len(), 4);
    assert!(failed
        .iter()
        .all(|(who, address, _)| who == "aigerim" && address.as_deref() == Some("127.0.0.1")));
    // Another name from the same address is not locked.
    let t = try_sign_in(&server, "dana", "demo-password-2").await;
    assert!(t.signed_in, "{:?}", t.status);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_clears_the_names_failures() {
    let server = server(100).await;
    for _ in 0..2 {
        let t = try_sign_in(&server, "aigerim", "wrong-password").await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED);
    }
    wait(1).await;
    assert!(
        try_sign_in(&server, "aigerim", "demo-password-1")
            .await
            .signed_in
    );
    // Two free failures again, not a wait.
    for _ in 0..2 {
        let t = try_sign_in(&server, "aigerim", "wrong-password").await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED);
    }
    let t = try_sign_in(&server, "aigerim", "wrong-password").await;
    assert_eq!(t.status, StatusCode::TOO_MANY_REQUESTS);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_names_from_one_address_lock_the_address() {
    // The address: locked at 5 failures, its delays starting after 3 (as a name's start 2
    // before its lock).
    let server = server(5).await;
    for i in 0..3 {
        let t = try_sign_in(&server, &format!("guess{i}"), "wrong-password").await;
        assert_eq!(t.status, StatusCode::UNAUTHORIZED, "name {i}");
    }
    let t = try_sign_in(&server, "guess3", "wrong-password").await;
    assert_eq!(
        (t.status, t.retry_after),
        (StatusCode::TOO_MANY_REQUESTS, Some(1))
    );
    wait(1).await;
    assert_eq!(
        try_sign_in(&server, "guess3", "wrong-password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    wait(2).await;
    assert_eq!(
        try_sign_in(&server, "guess4", "wrong-password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Locked: a real operator from this address waits too.
    let t = try_sign_in(&server, "aigerim", "demo-password-1").await;
    assert_eq!(t.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(t.retry_after.unwrap() > 50);
    let locked = audited(&server, "sign_in_locked").await;
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].0, "guess4");
    assert_eq!(locked[0].2.as_deref(), Some("address"));
    server.stop().await;
}

/// The security headers every console response carries.
fn assert_secure(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "same-origin", "{what}");
}

/// A server with an operator and one appeal with its video.
async fn server_with_appeal() -> (TestServer, String) {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    let http = reqwest::Client::new();
    let (_, token) = server.enrol(&http, "City Hospital No. 4, Almaty").await;
    let id = appeal_id(1);
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [appeal("appeal-000001", &id, Some(FIXTURE))] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    use base64::Engine;
    let meta = base64::engine::general_purpose::STANDARD.encode(&id);
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
    assert_eq!(r.status(), StatusCode::CREATED);
    // A guide used today, so the guides' figures draw bars.
    let at = chrono::Utc::now() - chrono::Duration::minutes(1);
    let records: Vec<_> = ["started", "completed"]
        .iter()
        .enumerate()
        .map(|(n, event)| {
            json!({"key": format!("guide-{n:04}"), "record": {"kind": "guide_event",
                "session_id": "s-1", "service_id": "no-criminal-record", "event": event,
                "at": at}})
        })
        .collect();
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    (server, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_responses_carry_security_headers_and_personal_data_is_not_stored() {
    let (server, id) = server_with_appeal().await;
    let cookie = http_sign_in(&server, "demo-password-1").await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: String| {
        let http = http.clone();
        let cookie = cookie.clone();
        let url = format!("{}{path}", server.url);
        async move { http.get(url).header("Cookie", cookie).send().await.unwrap() }
    };
    for path in [
        "/console".to_string(),
        format!("/console/appeals/{id}"),
        "/console/guides".into(),
        "/console/figures".into(),
        "/console/appeals/NO-SUCH".into(),
    ] {
        let r = get(path.clone()).await;
        assert!(
            r.status().is_success() || r.status() == StatusCode::NOT_FOUND,
            "{path}: {}",
            r.status()
        );
        assert_secure(&r, &path);
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert!(r.headers().get("strict-transport-security").is_none());
        let page = r.text().await.unwrap();
        // No inline script (the i18n block is data, never run) and no inline style.
        for (at, _) in page.match_indices("<script") {
            let tag = &page[at..at + page[at..].find('>').unwrap()];
            assert!(
                tag.contains("src=") || tag.contains("type=\"application/json\""),
                "{path}: {tag}"
            );
        }
        assert!(!page.contains(" style="), "{path}");
        assert!(!page.contains(" onclick="), "{path}");
    }
    // The sign-in page too, without a session.
    let r = reqwest::get(format!("{}/console/login", server.url))
        .await
        .unwrap();
    assert_secure(&r, "login");
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The video: not stored, and ranges still answered.
    let r = http
        .get(format!("{}/console/appeals/{id}/video", server.url))
        .header("Cookie", &cookie)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_secure(&r, "video");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &FIXTURE[10..20]);
    // Static files may be cached (revalidated).
    let r = get("/console/static/console.js".into()).await;
    assert_secure(&r, "console.js");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_only_when_the_server_serves_tls_itself() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let tls = senim_callcentre::server::tls_from_pem(
        cert.cert.pem().into_bytes(),
        cert.key_pair.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let mut config = test_config();
    config.tls.cert = Some("cert.pem".into());
    config.tls.key = Some("key.pem".into());
    let server = TestServer::start_with(config, Some(tls)).await;
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let r = https
        .get(format!(
            "https://localhost:{}/console/login",
            server.addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_secure(&r, "login over TLS");
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    server.stop().await;
}

/// CSP violations the page has seen (buffered reports, so those before this call count).
async fn csp_violations(c: &Client) -> Vec<String> {
    let found = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            const seen = [];
            const o = new ReportingObserver((reports) => {
              reports.forEach((r) => seen.push(JSON.stringify(r.body)));
            }, { types: ["csp-violation"], buffered: true });
            o.observe();
            setTimeout(() => { seen.push(...o.takeRecords().map((r) => JSON.stringify(r.body))); done(seen); }, 500);"#,
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_chromium_under_its_csp() {
    let (server, id) = server_with_appeal().await;
    let driver = start_chromedriver();
    let c = browser(&driver, &common::chromium::FAKE_MEDIA).await;
    common::chromium::sign_in(&c, &server.url, "aigerim", "demo-password-1").await;
    // The queue: its rows, the live feed (console.js) and the call socket (call.js).
    c.wait()
        .for_element(Locator::Css(&format!("a[href='/console/appeals/{id}']")))
        .await
        .unwrap();
    // Going available goes over the call socket.
    c.wait()
        .for_element(Locator::Css("#availability"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut available = false;
    for _ in 0..100 {
        if server.state.calls.operators_available(true) {
            available = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(available, "call.js did not go available over /console/call");
    assert_eq!(csp_violations(&c).await, Vec::<String>::new(), "queue");
    // An appeal: the video plays from the console.
    c.goto(&format!("{}/console/appeals/{id}", server.url))
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("video")).await.unwrap();
    assert_eq!(csp_violations(&c).await, Vec::<String>::new(), "appeal");
    // The guides' figures draw their bars from data-width.
    c.goto(&format!("{}/console/guides", server.url))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css(".bar.completed"))
        .await
        .unwrap();
    let width = c
        .execute(
            "return document.querySelector('.bar.completed').style.width;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(width, json!("100%"));
    assert_eq!(csp_violations(&c).await, Vec::<String>::new(), "guides");
    // The check itself sees a violation: an inline style the CSP refuses.
    c.execute(
        "document.body.setAttribute('style', 'outline: 1px solid red');",
        vec![],
    )
    .await
    .unwrap();
    assert!(
        !csp_violations(&c).await.is_empty(),
        "the check sees nothing"
    );
    c.close().await.unwrap();
    server.stop().await;
}
