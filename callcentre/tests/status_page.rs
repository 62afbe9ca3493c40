//! The citizen's status page, `/s/{number}/{code}`, against the real server on loopback: the
//! check code a kiosk sends is stored only as its SHA-256 and a malformed one is refused per
//! record; wrong codes, unknown numbers and malformed links get the very same 404; each client
//! gets 30 requests a minute; and in Debian's headless Chromium at a phone's size, the page
//! opened as from the receipt's QR code shows the Kazakh answer, then the Russian page after
//! the switch. Screenshots: `target/screenshots/status-page-*.png`.

mod common;

use chrono::Utc;
use common::chromium::{browser, screenshots, start_chromedriver};
use common::{appeal, appeal_id, TestServer};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;

const CODE: &str = "QR7DKXW2M5TBNZ4H";
const ANSWER_KK: &str = "Сәлеметсіз бе! Өтінішіңіз қаралды: дәрігерге жазылу кезегі 25 қарашаға \
    белгіленді. Құжаттарыңызды ала келіңіз.";

fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// An appeal record carrying a check code (or whatever `code` is).
fn appeal_with_code(key: &str, id: &str, code: &str) -> Value {
    let mut record = appeal(key, id, None);
    record["record"]["check_code"] = json!(code);
    record
}

async fn post_records(server: &TestServer, token: &str, records: Vec<Value>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap()
}

/// A server with one enrolled kiosk and one appeal (`appeal_id(1)`) sent with [`CODE`].
async fn server_with_appeal() -> (TestServer, String) {
    let server = TestServer::start().await;
    let (_, token) = server
        .enrol(&reqwest::Client::new(), "City Hospital No. 4, Almaty")
        .await;
    let r = post_records(
        &server,
        &token,
        vec![appeal_with_code("appeal-000001", &appeal_id(1), CODE)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    (server, token)
}

/// A GET as one client: loopback peers may name the client in `X-Forwarded-For` (a reverse
/// proxy on the same host), which lets one test be several clients.
async fn get(
    server: &TestServer,
    path: &str,
    client: &str,
    lang: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .header("X-Forwarded-For", client);
    if let Some(lang) = lang {
        req = req.header("Accept-Language", lang);
    }
    req.send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The headers that keep the page out of search engines, caches and other sites' logs.
fn assert_private(r: &reqwest::Response, what: &str) {
    assert_eq!(header(r, "cache-control"), "no-store", "{what}");
    assert!(header(r, "x-robots-tag").contains("noindex"), "{what}");
    assert_eq!(header(r, "referrer-policy"), "no-referrer", "{what}");
}

#[tokio::test]
async fn the_check_code_is_kept_as_its_hash_and_a_malformed_one_is_refused() {
    let (server, token) = server_with_appeal().await;
    let id = appeal_id(1);
    let (hash, row): (Option<String>, String) = {
        let id = id.clone();
        server
            .state
            .db
            .read(move |c| {
                let hash =
                    c.query_row("SELECT check_hash FROM appeals WHERE id = ?1", [&id], |r| {
                        r.get(0)
                    })?;
                // Every column of the row, to look for the code itself.
                let row = c.query_row("SELECT * FROM appeals WHERE id = ?1", [&id], |r| {
                    let mut all = String::new();
                    let mut i = 0;
                    while let Some(v) = r.get_ref(i) {
                        all.push_str(&format!("{v:?}|"));
                        i += 1;
                    }
                    Ok(all)
                })?;
                Ok((hash, row))
            })
            .unwrap()
    };
    assert_eq!(hash.as_deref(), Some(sha256_hex(CODE).as_str()));
    assert!(
        !row.contains(CODE),
        "the code itself is never stored: {row}"
    );

    // A replay of the same record is a duplicate, not an error, and changes nothing.
    let r = post_records(
        &server,
        &token,
        vec![appeal_with_code("appeal-000001", &id, CODE)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["outcome"], "duplicate");

    // A malformed code: this record is refused with a reason, and nothing of the batch stored.
    for bad in [
        "qr7dkxw2m5tbnz4h",
        "QR7DKXW2M5TBNZ4",
        "QR7DKXW2M5TBNZ41",
        "QR7DKXW2M5TBNZ4H0",
    ] {
        let r = post_records(
            &server,
            &token,
            vec![
                appeal("appeal-000002", &appeal_id(2), None),
                appeal_with_code("appeal-000003", &appeal_id(3), bad),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"], "invalid_record", "{bad}");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("record 1 (appeal-000003)") && message.contains("check_code"),
            "{message}"
        );
        assert!(!message.contains(bad), "the code is not echoed: {message}");
    }
    let stored: i64 = server
        .state
        .db
        .read(|c| c.query_row("SELECT COUNT(*) FROM appeals", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(stored, 1, "the refused batches stored nothing");
    server.stop().await;
}

#[tokio::test]
async fn wrong_codes_unknown_numbers_and_malformed_links_get_the_same_404() {
    let (server, _) = server_with_appeal().await;
    let id = appeal_id(1);
    let client = "198.51.100.10";

    let ok = get(&server, &format!("/s/{id}/{CODE}"), client, Some("ru")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_private(&ok, "the appeal's page");
    let page = ok.text().await.unwrap();
    assert!(page.contains(&id));
    assert!(page.contains(r#"<meta name="robots" content="noindex"#));
    assert!(page.contains("Принято"), "a new appeal is received: {page}");
    for personal in ["880101300010", "7011234567", "City Hospital"] {
        assert!(!page.contains(personal), "{personal} is not on the page");
    }

    // An SMS link code (a `status_links` row, as the SMS sender writes it) opens it too.
    let link = "LINKCODE2345ABCD";
    server
        .state
        .db
        .write(|tx| {
            tx.execute(
                "INSERT INTO status_links (code_hash, appeal_id, created_at) VALUES (?1, ?2, ?3)",
                senim_callcentre::db::sql::params![
                    sha256_hex(link),
                    id,
                    senim_callcentre::db::ts(Utc::now())
                ],
            )
        })
        .unwrap();
    let r = get(&server, &format!("/s/{id}/{link}"), client, Some("ru")).await;
    assert_eq!(r.status(), StatusCode::OK, "a link code opens the page");

    let wrong = [
        format!("/s/{id}/AAAAAAAAAAAAAAAA"),   // wrong code
        format!("/s/{}/{CODE}", appeal_id(2)), // unknown number
        format!("/s/{}/{link}", appeal_id(2)), // another appeal's link code
        format!("/s/{id}/{}", &CODE[..15]),    // a code too short
        format!("/s/{id}/{CODE}0"),            // a code too long
        format!("/s/{id}/QR7DKXW2M5TBNZ4%2F"), // not base32
        format!("/s/not-a-number/{CODE}"),     // malformed number
        format!("/s/{id}"),                    // no code
    ];
    let mut bodies = Vec::new();
    for path in &wrong {
        let r = get(&server, path, client, Some("ru")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_private(&r, path);
        let headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        bodies.push((path, headers, r.text().await.unwrap()));
    }
    for (path, headers, body) in &bodies[1..] {
        assert_eq!(headers, &bodies[0].1, "{path}: the same headers");
        assert_eq!(
            body, &bodies[0].2,
            "{path}: the same page, no hint which part was wrong"
        );
    }
    assert!(
        bodies[0].2.contains("Обращение не найдено"),
        "{}",
        bodies[0].2
    );

    // Accept-Language chooses the page's language; ?lang= overrides it.
    let kk = get(
        &server,
        &format!("/s/{id}/{CODE}"),
        client,
        Some("kk-KZ,kk;q=0.9,ru;q=0.8"),
    )
    .await;
    assert_eq!(header(&kk, "content-language"), "kk");
    assert!(kk.text().await.unwrap().contains("Қабылданды"));
    let en = get(
        &server,
        &format!("/s/{id}/{CODE}?lang=en"),
        client,
        Some("kk"),
    )
    .await;
    assert!(en.text().await.unwrap().contains("Received"));
    server.stop().await;
}

#[tokio::test]
async fn each_client_gets_30_requests_a_minute_then_a_friendly_429() {
    let (server, _) = server_with_appeal().await;
    let path = format!("/s/{}/{CODE}", appeal_id(1));
    let sweeper = "203.0.113.7";
    for i in 0..30 {
        let r = get(
            &server,
            &format!("/s/{}/AAAAAAAAAAAAAAAA", appeal_id(i)),
            sweeper,
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "request {i}");
    }
    // Over the limit, even the right code is refused: a sweep learns nothing more.
    let r = get(&server, &path, sweeper, Some("kk")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_private(&r, "429");
    assert_eq!(header(&r, "retry-after"), "60");
    let body = r.text().await.unwrap();
    assert!(body.contains("Сұраулар тым көп"), "{body}");
    assert!(!body.contains(&appeal_id(1)));

    // Another client, and the same client's neighbours on another IPv6 /64, are not affected.
    let r = get(&server, &path, "203.0.113.8", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&server, &path, "2001:db8:1:2::7", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    server.stop().await;
}

async fn text_of(c: &Client, css: &str) -> String {
    c.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("status-page-{name}.png")), png).unwrap();
}

#[tokio::test]
async fn the_citizen_reads_the_kazakh_answer_and_switches_to_russian_on_a_phone() {
    let (server, _) = server_with_appeal().await;
    let id = appeal_id(1);
    // An operator takes the appeal and answers it in Kazakh, through the lifecycle the console
    // and the CLI use.
    server.operator("aigerim", "correct horse battery", "Aigerim");
    let answered_at = Utc::now();
    {
        let id = id.clone();
        let config = server.state.config.clone();
        server
            .state
            .db
            .write(move |tx| {
                let me = senim_callcentre::db::Actor {
                    name: "aigerim",
                    address: None,
                };
                senim_callcentre::db::assign(tx, &id, me, "aigerim", answered_at)?;
                senim_callcentre::sms::answer(tx, &config, &id, me, ANSWER_KK, "kk", answered_at)
            })
            .unwrap();
    }
    let driver = start_chromedriver();
    // A phone set to Kazakh: its browser asks for Kazakh pages.
    let c = browser(&driver, &["--lang=kk", "--accept-lang=kk,ru"]).await;
    c.set_window_size(390, 844).await.unwrap();
    // As from the QR code: the number and the code, nothing else.
    let url = format!("{}/s/{id}/{CODE}", server.url);
    c.goto(&url).await.unwrap();
    assert_eq!(text_of(&c, "h1").await, "Сіздің өтінішіңіз");
    assert_eq!(text_of(&c, "#number").await, id);
    assert_eq!(text_of(&c, "#stage").await, "Жауап берілді");
    assert_eq!(text_of(&c, "#answer").await, ANSWER_KK);
    let local = server.state.schedule.local(answered_at);
    assert_eq!(
        text_of(&c, "#answered-at").await,
        local.format("%d.%m.%Y, %H:%M").to_string(),
        "in the call-centre's time zone"
    );
    // Fits a 360–390 px phone: nothing wider than the screen.
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, Value::Bool(false), "no sideways scrolling");
    shot(&c, "kk").await;

    c.find(Locator::Css("nav.langs a[hreflang=ru]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::XPath("//h1[text()='Ваше обращение']"))
        .await
        .unwrap();
    let now = c.current_url().await.unwrap();
    assert_eq!(
        now.path(),
        format!("/s/{id}/{CODE}"),
        "the switch keeps the path"
    );
    assert_eq!(now.query(), Some("lang=ru"));
    assert_eq!(text_of(&c, "#stage").await, "Дан ответ");
    assert_eq!(
        text_of(&c, "#answer").await,
        ANSWER_KK,
        "the answer stays as the operator wrote it"
    );
    let lang = c
        .execute("return document.documentElement.lang;", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "ru");
    shot(&c, "ru").await;

    // A wrong code, at the same size: the one "not found" page.
    c.goto(&format!("{}/s/{id}/AAAAAAAAAAAAAAAA", server.url))
        .await
        .unwrap();
    assert_eq!(text_of(&c, "#title").await, "Өтініш табылмады");
    shot(&c, "not-found-kk").await;
    c.close().await.unwrap();
    server.stop().await;
}
