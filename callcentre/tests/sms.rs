//! Telling the citizen by SMS, with a local HTTP server on 127.0.0.1 as the gateway: first
//! down (503), then up. The answer is saved regardless, the message stays queued and is sent
//! exactly once on the retry, in the answer's language with a link whose code opens the
//! appeal; without `[sms]` nothing is queued.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Json;
use chrono::Utc;
use common::{appeal, appeal_id, console_csrf, http_sign_in_as, test_config, TestServer};
use senim_callcentre::db;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const PASSWORD: &str = "demo-password-1";

/// What the gateway received: the Authorization header and the JSON body.
type Received = (Option<String>, Value);

/// A gateway answering 503 to the first `fail_first` requests, then 200.
async fn gateway(fail_first: usize) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/send",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let (tx, seen) = (tx.clone(), Arc::clone(&seen));
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send((auth, body));
                if n < fail_first {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the gateway got no request")
        .unwrap()
}

/// A server with an operator and one appeal in Kazakh with a callback phone (and one without).
async fn start(config: senim_callcentre::config::Config) -> TestServer {
    let server = TestServer::start_with(config, None).await;
    server.operator("aigerim", PASSWORD, "Aigerim Sadykova");
    let http = reqwest::Client::new();
    let (_, token) = server.enrol(&http, "City Hospital No. 4").await;
    let mut no_phone = appeal("appeal-000002", &appeal_id(2), None);
    no_phone["record"]
        .as_object_mut()
        .unwrap()
        .remove("callback_phone");
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [appeal("appeal-000001", &appeal_id(1), None), no_phone] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    server
}

/// Assigns and answers an appeal in the console as aigerim (Kazakh).
async fn answer_in_console(server: &TestServer, id: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = http_sign_in_as(server, "aigerim", PASSWORD).await.unwrap();
    let csrf = console_csrf(server, &cookie).await;
    for (path, form) in [
        ("assign", vec![("to", "aigerim")]),
        (
            "answer",
            vec![("text", "Сіздің өтінішіңіз қаралды."), ("language", "kk")],
        ),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let r = http
            .post(format!("{}/console/appeals/{id}/{path}", server.url))
            .header("Cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{path}");
    }
}

fn outbox(server: &TestServer, id: &str) -> Vec<db::SmsState> {
    let id = id.to_string();
    server
        .state
        .db
        .read(move |c| db::appeal_sms(c, &id))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sms_waits_out_a_gateway_that_is_down_and_is_sent_once_with_a_working_link() {
    let (url, mut received) = gateway(1).await;
    let mut config = test_config();
    config.sms.url = url;
    config.sms.username = "senim".into();
    config.sms.password = "gateway-secret".into();
    config.server.public_url = "https://senim.example.kz/".into();
    let server = start(config).await;
    let id = appeal_id(1);
    answer_in_console(&server, &id).await;

    // The gateway is down: the answer is saved, the SMS stays queued with its retry later.
    let (auth, first) = next(&mut received).await;
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("senim:gateway-secret");
    assert_eq!(auth, Some(format!("Basic {basic}")));
    assert_eq!(first["to"], "+77011234567");
    assert_eq!(first["sender"], "Senim");
    let text = first["text"].as_str().unwrap().to_string();
    let prefix = format!("https://senim.example.kz/s/{id}/");
    assert!(
        text.starts_with(&format!("Senim: {id} өтінішіңізге жауап берілді: {prefix}")),
        "the Kazakh template with the number and the link: {text}"
    );
    let code = text.rsplit('/').next().unwrap();
    assert!(senim_protocol::valid_check_code(code), "{code}");
    // This pass waits for the sender's own pass to finish; the message is not due yet.
    let report = server.state.sms.send_due(Utc::now()).await.unwrap();
    assert_eq!(report.sent, 0);
    let queued = outbox(&server, &id);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].attempts, 1);
    assert!(queued[0].sent_at.is_none() && queued[0].pending_data);
    // While it waits, the phone and the message are sealed at rest (issue 19).
    let at_rest: (String, String) = server
        .state
        .db
        .read(|c| {
            c.query_row("SELECT phone, body FROM sms_outbox", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .unwrap();
    assert!(
        at_rest.0.starts_with("age:") && at_rest.1.starts_with("age:"),
        "{at_rest:?}"
    );
    assert!(!at_rest.0.contains("7011234567"));
    assert!(
        queued[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("503"),
        "{queued:?}"
    );
    let appeal = server
        .state
        .db
        .read({
            let id = id.clone();
            move |c| db::get_appeal(c, &id)
        })
        .unwrap()
        .unwrap();
    assert_eq!(appeal.status, "answered", "the answer is saved regardless");

    // The retry falls due (tests move the clock instead of waiting): sent, once.
    let later = Utc::now() + chrono::Duration::hours(2);
    let report = server.state.sms.send_due(later).await.unwrap();
    assert_eq!(report.sent, 1);
    let (_, second) = next(&mut received).await;
    assert_eq!(second["text"], text.as_str());
    assert_eq!(second["to"], "+77011234567");
    let sent = outbox(&server, &id);
    assert_eq!(sent[0].attempts, 2);
    assert!(sent[0].sent_at.is_some());
    assert!(!sent[0].pending_data, "phone and text are erased once sent");
    let report = server
        .state
        .sms
        .send_due(later + chrono::Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(report.sent + report.failed, 0);
    assert!(received.try_recv().is_err(), "delivered exactly once");

    // The link's code opens this appeal (only its hash is stored).
    let hash = senim_callcentre::secrets::sha256_hex(code.as_bytes());
    let opens = server
        .state
        .db
        .read(move |c| db::status_link_appeal(c, &hash))
        .unwrap();
    assert_eq!(opens.as_deref(), Some(id.as_str()));
    let stored_codes: i64 = server
        .state
        .db
        .read({
            let code = code.to_string();
            move |c| {
                c.query_row(
                    "SELECT count(*) FROM status_links WHERE code_hash = ?1",
                    [code],
                    |r| r.get(0),
                )
            }
        })
        .unwrap();
    assert_eq!(stored_codes, 0, "the code itself is not stored");
    let history: Vec<Option<String>> = server
        .state
        .db
        .read({
            let id = id.clone();
            move |c| db::appeal_events(c, &id)
        })
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "sms")
        .map(|e| e.note)
        .collect();
    assert_eq!(history, [Some("queued".into()), Some("sent".into())]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_sms_gateway_or_a_phone_nothing_is_queued() {
    let server = start(test_config()).await;
    answer_in_console(&server, &appeal_id(1)).await;
    assert!(outbox(&server, &appeal_id(1)).is_empty());
    server.stop().await;

    let (url, mut received) = gateway(0).await;
    let mut config = test_config();
    config.sms.url = url;
    config.server.public_url = "https://senim.example.kz".into();
    let server = start(config).await;
    answer_in_console(&server, &appeal_id(2)).await;
    assert!(
        outbox(&server, &appeal_id(2)).is_empty(),
        "no phone, no SMS"
    );
    let links: i64 = server
        .state
        .db
        .read(|c| c.query_row("SELECT count(*) FROM status_links", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(links, 0);
    assert!(received.try_recv().is_err());
    server.stop().await;
}
