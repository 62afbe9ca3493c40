//! Live calls as appeals, over the real sockets and HTTP: the ring shows the IIN masked only;
//! the reveal is the answering operator's alone, needs the CSRF token and is logged; notes and
//! outcome are checked and saved by the call's operator; the call's row is joined by the
//! kiosk's record whichever comes first, a replay is a duplicate, and another kiosk cannot take
//! the call's appeal number.

mod common;

use common::ws::*;
use common::{appeal, appeal_id, console_csrf, TestServer};
use reqwest::StatusCode;
use senim_callcentre::db::{self, AppealRow};
use serde_json::{json, Value};

const IIN: &str = "880101300010";

/// The appeal row `id` once `accept` holds (answered calls are stored just after the socket
/// message); panics after [`WITHIN`].
async fn row_when(server: &TestServer, id: &str, accept: impl Fn(&AppealRow) -> bool) -> AppealRow {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let key = id.to_string();
        let row = server
            .state
            .db
            .read(move |c| db::get_appeal(c, &key))
            .unwrap();
        if let Some(row) = row.filter(|r| accept(r)) {
            return row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "appeal {id} not as expected in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn post(
    server: &TestServer,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", server.url))
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn records(server: &TestServer, token: &str, records: Vec<Value>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap()
}

fn reveals(server: &TestServer, id: &str) -> Vec<String> {
    let key = id.to_string();
    server
        .state
        .db
        .read(move |c| db::appeal_events(c, &key))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "reveal_iin")
        .map(|e| e.operator)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iin_is_masked_on_the_ring_and_revealed_only_to_the_answering_operator_logged() {
    let server = TestServer::start().await;
    let (mut a, a_cookie) = operator_session(&server, "aigerim", "Aigerim Sadykova").await;
    let (mut b, b_cookie) = operator_session(&server, "bolat", "Bolat Nurov").await;
    let (a_csrf, b_csrf) = (
        console_csrf(&server, &a_cookie).await,
        console_csrf(&server, &b_cookie).await,
    );
    let (mut k, _, _) = kiosk(&server, "Almaty CSC 3").await;
    let id = appeal_id(700);
    send(
        &mut k,
        json!({"type": "ring", "call_id": id, "topic": "complaint", "iin": IIN}),
    )
    .await;
    for op in [&mut a, &mut b] {
        let incoming = expect(op, "incoming").await;
        assert_eq!(incoming["iin_masked"], "••••••••0010");
        assert!(!incoming.to_string().contains("880101"), "{incoming}");
    }
    send(&mut a, json!({"type": "answer", "call_id": id})).await;
    let accepted = expect(&mut a, "accepted").await;
    assert_eq!(
        accepted["appeal_id"],
        id.as_str(),
        "an appeal-shaped call id is the appeal's"
    );
    let row = row_when(&server, &id, |r| r.call.is_some()).await;
    assert_eq!(row.status, "in_progress");
    assert_eq!(row.iin, None, "the IIN is not stored from the ring");
    let path = format!("/console/calls/{id}/reveal");

    // Without the CSRF token, or by another operator: refused, nothing logged.
    let r = post(&server, &path, &a_cookie, &[("csrf", "forged")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(&server, &path, &b_cookie, &[("csrf", &b_csrf)]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains(IIN));
    assert!(reveals(&server, &id).is_empty());

    // The answering operator sees it, and the reveal is logged as an appeal's is.
    let r = post(&server, &path, &a_cookie, &[("csrf", &a_csrf)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["iin"], IIN);
    assert_eq!(reveals(&server, &id), vec!["aigerim".to_string()]);
    let audited = common::audited(&server, "iin_reveal", "aigerim", &id);
    assert_eq!(audited, 1, "the reveal is in the audit too");

    // Notes and outcome: checked, the operator's own, saved on the appeal.
    let outcome = format!("/console/calls/{id}/outcome");
    let r = post(
        &server,
        &outcome,
        &a_cookie,
        &[("csrf", &a_csrf), ("outcome", "solved")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let long = "x".repeat(4001);
    let r = post(
        &server,
        &outcome,
        &a_cookie,
        &[("csrf", &a_csrf), ("notes", &long)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post(
        &server,
        &outcome,
        &b_cookie,
        &[
            ("csrf", &b_csrf),
            ("notes", "mine"),
            ("outcome", "resolved"),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "another operator's call"
    );
    let row = row_when(&server, &id, |_| true).await;
    let call = row.call.unwrap();
    assert_eq!(
        (call.notes, call.outcome),
        (None, None),
        "refusals change nothing"
    );
    let r = post(
        &server,
        &outcome,
        &a_cookie,
        &[
            ("csrf", &a_csrf),
            ("notes", "Wants a callback"),
            ("outcome", "follow_up"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // The kiosk hangs up: the length is stored; the IIN is gone with the call.
    send(
        &mut k,
        json!({"type": "hang_up", "call_id": id, "reason": "hung_up"}),
    )
    .await;
    expect(&mut a, "ended").await;
    let row = row_when(&server, &id, |r| {
        r.call.as_ref().is_some_and(|c| c.secs.is_some())
    })
    .await;
    let call = row.call.unwrap();
    assert_eq!(call.end.as_deref(), Some("hung_up"));
    assert_eq!(call.operator_name.as_deref(), Some("Aigerim Sadykova"));
    assert_eq!(call.notes.as_deref(), Some("Wants a callback"));
    assert_eq!(call.outcome.as_deref(), Some("follow_up"));
    assert_eq!(row.status, "in_progress");
    let r = post(&server, &path, &a_cookie, &[("csrf", &a_csrf)]).await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "no reveal after the call"
    );
    // After the call the outcome can still be changed: resolved moves it to answered.
    let r = post(
        &server,
        &outcome,
        &a_cookie,
        &[
            ("csrf", &a_csrf),
            ("notes", "Called back"),
            ("outcome", "resolved"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let row = row_when(&server, &id, |r| r.status == "answered").await;
    assert_eq!(row.call.unwrap().notes.as_deref(), Some("Called back"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_and_its_kiosk_record_are_one_appeal_whichever_comes_first() {
    let server = TestServer::start().await;
    let mut op = operator(&server, "aigerim", "Aigerim Sadykova").await;
    let (mut k, _, token) = kiosk(&server, "Almaty CSC 3").await;

    // The record first (the call-centre was slow to store the call): the call joins it.
    let first = appeal_id(710);
    let mut record = appeal("record-710", &first, None);
    record["record"]["call_secs"] = json!(30);
    let r = records(&server, &token, vec![record]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    send(
        &mut k,
        json!({"type": "ring", "call_id": first, "topic": "complaint"}),
    )
    .await;
    expect(&mut op, "incoming").await;
    send(&mut op, json!({"type": "answer", "call_id": first})).await;
    expect(&mut op, "accepted").await;
    let row = row_when(&server, &first, |r| r.call.is_some()).await;
    assert_eq!(row.language, "kk", "the record's fields stay");
    assert_eq!(row.call.as_ref().unwrap().secs, Some(30));
    assert!(!row.call.unwrap().call_only);
    send(
        &mut k,
        json!({"type": "hang_up", "call_id": first, "reason": "hung_up"}),
    )
    .await;
    expect(&mut op, "ended").await;

    // The call first: the record joins its row; the same record again is a duplicate.
    let second = appeal_id(711);
    send(
        &mut k,
        json!({"type": "ring", "call_id": second, "topic": "request"}),
    )
    .await;
    expect(&mut op, "incoming").await;
    send(&mut op, json!({"type": "answer", "call_id": second})).await;
    expect(&mut op, "accepted").await;
    row_when(&server, &second, |r| {
        r.call.as_ref().is_some_and(|c| c.call_only)
    })
    .await;

    // Another kiosk cannot take the call's appeal number.
    let (other, other_token) = server.enrol(&reqwest::Client::new(), "Elsewhere").await;
    assert_ne!(other, "");
    let r = records(
        &server,
        &other_token,
        vec![appeal("record-other", &second, None)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "appeal_id_conflict"
    );

    send(
        &mut k,
        json!({"type": "hang_up", "call_id": second, "reason": "lost"}),
    )
    .await;
    expect(&mut op, "ended").await;
    row_when(&server, &second, |r| {
        r.call.as_ref().is_some_and(|c| c.secs.is_some())
    })
    .await;
    let mut record = appeal("record-711", &second, Some(b"take"));
    record["record"]["call_secs"] = json!(3);
    record["record"]["interrupted"] = json!(true);
    for expected in ["stored", "duplicate"] {
        let r: Value = records(&server, &token, vec![record.clone()])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(r["results"][0]["outcome"], expected, "{r}");
    }
    let row = row_when(&server, &second, |r| !r.call.as_ref().unwrap().call_only).await;
    assert_eq!(row.expected_video_bytes, Some(4));
    assert!(row.interrupted);
    assert_eq!(row.topic, "request", "the call's topic");
    assert_eq!(row.call.unwrap().end.as_deref(), Some("lost"));
    let all = server.state.db.read(|c| db::list_appeals(c, &[])).unwrap();
    assert_eq!(all.iter().filter(|r| r.id == second).count(), 1);

    // A call id that is no appeal number gets one of its own.
    send(&mut k, json!({"type": "ring", "topic": "other"})).await;
    let ringing = loop {
        // The earlier calls' `ringing` are still unread.
        let m = expect(&mut k, "ringing").await;
        if m["call_id"] != first.as_str() && m["call_id"] != second.as_str() {
            break m;
        }
    };
    expect(&mut op, "incoming").await;
    send(
        &mut op,
        json!({"type": "answer", "call_id": ringing["call_id"]}),
    )
    .await;
    let accepted = expect(&mut op, "accepted").await;
    let id = accepted["appeal_id"].as_str().unwrap();
    assert!(senim_protocol::valid_appeal_id(id), "{id}");
    assert_ne!(accepted["call_id"], id);
    row_when(&server, id, |r| r.topic == "other").await;
    drop((k, op));
    server.stop().await;
}
