//! Case handling in a real browser (Debian's headless Chromium over WebDriver): closing an
//! unanswered appeal without a reason is refused with the reason shown and nothing changed;
//! the operator assigns the appeal to themself, starts work and answers in Kazakh (the
//! language select offers the citizen's Kazakh first), and the history shows who did what
//! and when; the page in Kazakh. Screenshots in `target/screenshots/console-case-*.png`.

mod common;

use common::chromium::{browser, shot, start_chromedriver};
use common::{appeal, appeal_id, TestServer};
use fantoccini::{Client, Locator};
use serde_json::json;

const ANSWER: &str = "Сәлеметсіз бе! Өтінішіңіз қаралды: дәрігердің қабылдау кестесі өзгертілді.";

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn status(server: &TestServer, id: &str) -> (String, usize) {
    let id = id.to_string();
    server
        .state
        .db
        .read(move |c| {
            let a = senim_callcentre::db::get_appeal(c, &id)?.unwrap();
            Ok((a.status, senim_callcentre::db::appeal_events(c, &id)?.len()))
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_takes_an_appeal_and_answers_in_kazakh_and_a_refusal_says_why() {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    server.operator("bolat", "demo-password-1", "Bolat Nurov");
    let http = reqwest::Client::new();
    let (_, token) = server.enrol(&http, "City Hospital No. 4, Almaty").await;
    let id = appeal_id(1);
    let mut record = appeal("appeal-000001", &id, None);
    record["record"]["created_at"] = json!(chrono::Utc::now() - chrono::Duration::hours(3));
    record["record"]["text"] = json!("Дәрігер қабылдауға уақытында келмеді, екі сағат күттік.");
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [record] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let driver = start_chromedriver();
    let c = browser(&driver, &[]).await;
    common::chromium::sign_in(&c, &server.url, "aigerim", "demo-password-1").await;
    c.wait()
        .for_element(Locator::Css("table.queue"))
        .await
        .unwrap();
    c.goto(&format!("{}/console/appeals/{id}", server.url))
        .await
        .unwrap();
    assert_eq!(text(&c, "#appeal-status").await, "New");
    assert_eq!(text(&c, "#appeal-language").await, "Қазақша");
    let colleagues = text(&c, "#assign-to").await;
    assert!(
        colleagues.contains("Bolat Nurov") && colleagues.contains("Aigerim Sadykova"),
        "{colleagues}"
    );
    shot(&c, "case-new").await;

    // Closing an unanswered appeal without a reason: refused, says why, nothing changed.
    let before = status(&server, &id);
    c.find(Locator::Css("#close-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = text(&c, "#action-error").await;
    assert_eq!(
        error,
        "This appeal has no answer: write why it is closed without one."
    );
    assert_eq!(text(&c, "#appeal-status").await, "New");
    assert_eq!(status(&server, &id), before, "nothing changed");
    shot(&c, "case-refused").await;

    // Assign to me, start work.
    c.find(Locator::Css("#assign-me button"))
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
    assert_eq!(text(&c, "#appeal-assignee").await, "Aigerim Sadykova");

    // The answer: the citizen's Kazakh is first and chosen.
    let offered = c
        .execute(
            "const s = document.getElementById('answer-language'); \
             return [s.value, s.options[0].value, s.options.length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(offered, json!(["kk", "kk", 3]));
    assert!(text(&c, "#citizen-language").await.contains("Қазақша"));
    c.find(Locator::Id("answer-text"))
        .await
        .unwrap()
        .send_keys(ANSWER)
        .await
        .unwrap();
    shot(&c, "case-answering").await;
    c.find(Locator::Css("#answer-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css(".status.big.answered"))
        .await
        .unwrap();
    let answer = text(&c, "#answer blockquote").await;
    assert_eq!(answer, ANSWER);
    let history = text(&c, "#history").await;
    for line in [
        "Aigerim Sadykova assigned the appeal to Aigerim Sadykova",
        "Aigerim Sadykova changed the status from “Assigned” to “In progress”",
        "Aigerim Sadykova answered the citizen in Қазақша",
    ] {
        assert!(history.contains(line), "{line:?} in {history}");
    }
    let stored = server
        .state
        .db
        .read({
            let id = id.clone();
            move |c| senim_callcentre::db::get_appeal(c, &id)
        })
        .unwrap()
        .unwrap();
    let given = stored.answer.unwrap();
    assert_eq!(
        (
            given.language.as_str(),
            given.by.as_str(),
            given.text.as_str()
        ),
        ("kk", "aigerim", ANSWER)
    );
    shot(&c, "case-answered").await;
    c.execute(
        "document.getElementById('history').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "case-history").await;

    // The same page for an operator who chose Kazakh.
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
    assert_eq!(text(&c, "#appeal-status").await, "Жауап берілді");
    assert!(text(&c, "#history")
        .await
        .contains("азаматқа жауап берді (Қазақша)"));
    shot(&c, "case-answered-kk").await;

    // The audit has each of the operator's actions on this appeal, with where they came from.
    let key = id.clone();
    let rows: Vec<(String, Option<String>)> = server
        .state
        .db
        .read(move |conn| {
            let mut stmt =
                conn.prepare("SELECT action, address FROM audit WHERE appeal_id = ?1 ORDER BY id")?;
            let rows = stmt
                .query_map([&key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    for wanted in ["appeal_view", "assign", "status", "answer"] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
    assert!(
        rows.iter().all(|(_, a)| a.as_deref() == Some("127.0.0.1")),
        "{rows:?}"
    );

    c.close().await.unwrap();
    server.stop().await;
}
