//! The console's language in a real browser (Debian's headless Chromium over WebDriver): a
//! Kazakh-speaking operator's browser gets the sign-in page in Kazakh; signed in, the header,
//! the menu and the scripts' texts are Kazakh; the switch in the header turns them Russian on
//! the same page, and Russian they stay after signing out and in again (the choice is stored),
//! although the browser still asks for Kazakh. Screenshots land in
//! `target/screenshots/console-language-*.png`.

mod common;

use common::chromium::{browser, shot, sign_in, start_chromedriver};
use common::{appeal, appeal_id, TestServer};
use fantoccini::{Client, Locator};
use serde_json::json;

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn page_lang(c: &Client) -> String {
    js(c, "return document.documentElement.lang;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the page is in `lang` (after a form's redirect), up to WebDriver's wait.
async fn wait_lang(c: &Client, lang: &str) {
    let want = lang.to_string();
    c.wait()
        .for_element(Locator::Css(&format!("html[lang=\"{want}\"] body")))
        .await
        .unwrap_or_else(|e| panic!("the page did not turn {want}: {e}"));
}

/// Nothing in the header is cut or pushed off: it is no wider than the window, and every
/// button's text fits in the button.
async fn assert_header_fits(c: &Client, what: &str) {
    let overflow = js(
        c,
        "const h = document.querySelector('header.top');
         const cut = [...h.querySelectorAll('button, a, span')]
           .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
           .map((e) => e.textContent.trim());
         return { wide: h.scrollWidth > h.clientWidth + 1, page: document.documentElement.scrollWidth > innerWidth + 1, cut };",
    )
    .await;
    assert_eq!(
        overflow,
        json!({"wide": false, "page": false, "cut": []}),
        "the {what} header does not fit"
    );
}

#[tokio::test]
async fn a_kazakh_speaking_operator_reads_kazakh_switches_to_russian_and_it_stays() {
    let server = TestServer::start().await;
    server.admin("aigerim", "demo-password-1", "Айгерім Садықова");
    let http = reqwest::Client::new();
    let (_kiosk, token) = server.enrol(&http, "№ 4 қалалық аурухана, Алматы").await;
    let mut record = appeal("appeal-000001", &appeal_id(1), None);
    record["record"]["created_at"] = json!(chrono::Utc::now() - chrono::Duration::hours(3));
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [record] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let driver = start_chromedriver();
    let c = browser(&driver, &["--lang=kk", "--accept-lang=kk"]).await;

    // The sign-in page follows the browser: Kazakh.
    c.goto(&format!("{}/console", server.url)).await.unwrap();
    c.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    assert_eq!(page_lang(&c).await, "kk");
    assert_eq!(text(&c, "button[type=submit]").await, "Кіру");
    assert!(text(&c, ".lead").await.contains("жүйеге кіріңіз"));
    shot(&c, "language-sign-in-kk").await;

    // Signed in (no language stored yet): the browser's Kazakh, also in the scripts' texts.
    sign_in(&c, &server.url, "aigerim", "demo-password-1").await;
    wait_lang(&c, "kk").await;
    let nav = text(&c, "header.top nav").await;
    assert!(
        nav.contains("Өтініштер") && nav.contains("Киосктер"),
        "{nav}"
    );
    assert_eq!(text(&c, "#sound").await, "Дыбыс: қосулы");
    // call.js draws the availability button once its socket is up.
    c.wait()
        .for_element(Locator::XPath(
            "//button[@id='availability' and normalize-space()='Орнында жоқ']",
        ))
        .await
        .unwrap();
    assert_header_fits(&c, "Kazakh").await;
    shot(&c, "language-queue-kk").await;
    // A smaller office monitor: still nothing cut.
    c.set_window_size(1280, 800).await.unwrap();
    assert_header_fits(&c, "Kazakh at 1280 px").await;
    shot(&c, "language-queue-kk-1280").await;
    c.set_window_size(1440, 1000).await.unwrap();

    // The live-call panel's texts in Kazakh (shown here without a call, to look at them).
    js(&c, "document.getElementById('call').hidden = false;").await;
    let panel = text(&c, "#call").await;
    assert!(
        panel.contains("Жазбалар мен нәтижені сақтау") && panel.contains("ЖСН"),
        "{panel}"
    );
    shot(&c, "language-call-panel-kk").await;
    js(&c, "document.getElementById('call').hidden = true;").await;

    c.goto(&format!("{}/console/guides", server.url))
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "Қызмет нұсқаулықтары");
    assert_header_fits(&c, "Kazakh guides").await;
    shot(&c, "language-guides-kk").await;

    // The switch: Russian, on the same page.
    c.goto(&format!("{}/console/fleet", server.url))
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "Киосктер");
    c.find(Locator::Css("#language button[value=ru]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_lang(&c, "ru").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/console/fleet",
        "the switch returns to the page it was pressed on"
    );
    assert_eq!(text(&c, "h1").await, "Киоски");
    let nav = text(&c, "header.top nav").await;
    assert!(nav.contains("Обращения") && nav.contains("Киоски"), "{nav}");
    assert_eq!(text(&c, "#sound").await, "Звук: вкл.");
    assert_eq!(text(&c, "#language button[aria-pressed=true]").await, "Рус");
    assert_header_fits(&c, "Russian").await;
    shot(&c, "language-fleet-ru").await;
    let stored: Option<String> = server
        .state
        .db
        .read(|db| {
            db.query_row(
                "SELECT language FROM operators WHERE username = 'aigerim'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(stored.as_deref(), Some("ru"));

    // Signing out: the sign-in page in the language the operator was using.
    c.find(Locator::Css("form[action='/console/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    assert_eq!(page_lang(&c).await, "ru");
    assert_eq!(text(&c, "button[type=submit]").await, "Войти");

    // A fresh sign-in page follows the browser again (Kazakh); once signed in, the stored
    // Russian wins over the browser's Kazakh.
    c.goto(&format!("{}/console/login", server.url))
        .await
        .unwrap();
    assert_eq!(page_lang(&c).await, "kk");
    sign_in(&c, &server.url, "aigerim", "demo-password-1").await;
    wait_lang(&c, "ru").await;
    let nav = text(&c, "header.top nav").await;
    assert!(nav.contains("Обращения"), "{nav}");
    assert_eq!(text(&c, "header.top .brand .sub").await, "колл-центр");
    shot(&c, "language-queue-ru-after-sign-in").await;

    // An error page is in the operator's language too.
    c.goto(&format!("{}/console/appeals/A-NOSUCH00", server.url))
        .await
        .unwrap();
    assert_eq!(page_lang(&c).await, "ru");
    assert_eq!(text(&c, "p.error").await, "Такого обращения нет.");
    shot(&c, "language-error-ru").await;

    c.close().await.unwrap();
}
