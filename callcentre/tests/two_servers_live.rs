//! Two call-centre servers behind one load balancer share the live picture over PostgreSQL
//! `LISTEN/NOTIFY` (the live bus): a kiosk talking to server A lights the lamp on a console of
//! server B and clears it through B; a consultant call raised on A is taken on B; a server that
//! starts late learns who is present; a cut bus connection comes back and facts flow again. A
//! live call held by A and answered on B lets B's operator reveal the caller's IIN, which
//! crossed the bus only sealed.
//!
//! Both servers keep their data in the test's one PostgreSQL database, as behind a real load
//! balancer: the kiosk enrols once, the operator exists once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::postgres::TestPostgres;
use common::{console_csrf, http_sign_in, test_config, wait_for_event, TestServer};
use reqwest::StatusCode;
use senim_callcentre::state::AppState;
use serde_json::{json, Value};

const WITHIN: Duration = Duration::from_secs(20);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn start(bus_url: &str) -> TestServer {
    start_with_keys(bus_url, None).await
}

/// A server of the bus; with `keys`, its sealing keys are that file (shared, as the docs say).
async fn start_with_keys(bus_url: &str, keys: Option<&std::path::Path>) -> TestServer {
    let mut config = test_config();
    config.database.url = Some(bus_url.to_string());
    config.storage.key_file = keys.map(std::path::Path::to_path_buf);
    let server = TestServer::start_with(config, None).await;
    let state = Arc::clone(&server.state);
    until("the live bus connects", move || {
        state.live_bus().sessions() >= 1
    })
    .await;
    server
}

/// Waits for `done` to hold; panics after [`WITHIN`].
async fn until(what: &str, done: impl Fn() -> bool) {
    common::process::until(what, WITHIN, done).await
}

fn lit(state: &AppState, kiosk: &str) -> bool {
    state.present().iter().any(|p| p.kiosk_id == kiosk)
}

async fn post(c: &reqwest::Client, server: &TestServer, token: &str, path: &str, body: Value) {
    let r = c
        .post(format!("{}/api/v1/{path}", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "{path}: {:?}",
        r.text().await
    );
}

fn presence(present: bool) -> Value {
    json!({"present": present, "journey": "appeal", "at": Utc::now()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_lamp_and_consultant_calls_over_postgres() {
    let pg = TestPostgres::start();
    let bus = pg.url();
    let a = start(&bus).await;
    let b = start(&bus).await;
    assert_ne!(a.state.live_bus().id(), b.state.live_bus().id());
    let c = client();
    let (kiosk, token) = a.enrol(&c, "Hospital No. 1").await;

    // An operator's live feed on server B, as the console's script reads it.
    b.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    let cookie = http_sign_in(&b, "demo-password-1").await.unwrap();
    let feed = c
        .get(format!("{}/console/events", b.url))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    let mut feed = Box::pin(feed.bytes_stream());
    let mut buffer = String::new();
    let shows = |kiosk: &str, v: &Value, list: &str| {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kiosk_id"] == kiosk)
    };
    wait_for_event(&mut feed, &mut buffer, "lamp", WITHIN, |v| {
        !shows(&kiosk, v, "present")
    })
    .await;

    // Someone steps up to the kiosk, which talks to A: B's console lamp lights.
    post(&c, &a, &token, "presence", presence(true)).await;
    let lamp = wait_for_event(&mut feed, &mut buffer, "lamp", WITHIN, |v| {
        shows(&kiosk, v, "present")
    })
    .await;
    assert_eq!(lamp["present"][0]["site"], "Hospital No. 1");
    assert_eq!(lamp["present"][0]["journey"], "appeal");
    assert!(lit(&b.state, &kiosk));
    // A applies its own fact as B does: when it comes back over the bus.
    let a_state = Arc::clone(&a.state);
    let k = kiosk.clone();
    until("A lights its own lamp too", move || lit(&a_state, &k)).await;

    // They leave, and the load balancer sent that request to B: A's lamp goes out too.
    post(&c, &b, &token, "presence", presence(false)).await;
    let a_state = Arc::clone(&a.state);
    let k = kiosk.clone();
    until("A clears the lamp B learnt of", move || !lit(&a_state, &k)).await;
    wait_for_event(&mut feed, &mut buffer, "lamp", WITHIN, |v| {
        !shows(&kiosk, v, "present")
    })
    .await;

    // A consultant call raised on A shows on B; staff take it on B; it ends on A.
    let pressed = Utc::now();
    let call = json!({"service_id": "passport-id", "step": 2, "at": pressed, "active": true});
    post(&c, &a, &token, "consultant", call.clone()).await;
    let shown = wait_for_event(&mut feed, &mut buffer, "consultant", WITHIN, |v| {
        shows(&kiosk, v, "calls")
    })
    .await;
    assert_eq!(shown["calls"][0]["step"], 2);
    let csrf = console_csrf(&b, &cookie).await;
    let taken = common::no_redirects()
        .post(format!("{}/console/consultant/{kiosk}/taken", b.url))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::NO_CONTENT);
    let a_state = Arc::clone(&a.state);
    until("A ends the call B took", move || {
        a_state.consultant_calls().is_empty()
    })
    .await;
    wait_for_event(&mut feed, &mut buffer, "consultant", WITHIN, |v| {
        !shows(&kiosk, v, "calls")
    })
    .await;
    // The kiosk resends the same call to A: it stays taken everywhere. (Its presence, sent
    // after it, arriving on B shows the resend was applied there before.)
    post(&c, &a, &token, "consultant", call).await;
    post(&c, &a, &token, "presence", presence(true)).await;
    let b_state = Arc::clone(&b.state);
    let k = kiosk.clone();
    until("B learns the presence sent after the resend", move || {
        lit(&b_state, &k)
    })
    .await;
    assert!(
        b.state.consultant_calls().is_empty(),
        "a resend stays taken"
    );
    assert!(
        a.state.consultant_calls().is_empty(),
        "a resend stays taken"
    );

    // A third server starting late learns who is present from the others.
    let late = start(&bus).await;
    let late_state = Arc::clone(&late.state);
    let k = kiosk.clone();
    until("a late server learns the lamp", move || {
        lit(&late_state, &k)
    })
    .await;
    late.stop().await;

    // B's bus connection is cut: B reconnects and facts flow again both ways.
    let (admin, connection) = tokio_postgres::connect(&bus, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let name = format!(
        "{} {}",
        senim_callcentre::live::APPLICATION,
        b.state.live_bus().id()
    );
    let cut = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert_eq!(cut.len(), 1, "B's bus connection was found");
    let b_state = Arc::clone(&b.state);
    until("B's bus reconnects", move || {
        b_state.live_bus().sessions() >= 2
    })
    .await;
    post(&c, &a, &token, "presence", presence(false)).await;
    let b_state = Arc::clone(&b.state);
    let k = kiosk.clone();
    until("B learns of A's fact after reconnecting", move || {
        !lit(&b_state, &k)
    })
    .await;
    post(&c, &b, &token, "presence", presence(true)).await;
    let a_state = Arc::clone(&a.state);
    let k = kiosk.clone();
    until("A learns of B's fact after B reconnected", move || {
        lit(&a_state, &k)
    })
    .await;
    wait_for_event(&mut feed, &mut buffer, "lamp", WITHIN, |v| {
        shows(&kiosk, v, "present")
    })
    .await;

    // B is away for longer (its database refuses connections): what each side did meanwhile
    // arrives once B is back — A's through the picture A re-announces, B's from B's queue.
    // (A database's connections are switched off from another database.)
    let (server_url, database) = bus.rsplit_once('/').unwrap();
    let (maintenance, connection) =
        tokio_postgres::connect(&format!("{server_url}/postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    let maintenance_driver = tokio::spawn(connection);
    maintenance
        .batch_execute(&format!(
            "ALTER DATABASE {database} ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    let terminate =
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1";
    assert_eq!(admin.query(terminate, &[&name]).await.unwrap().len(), 1);
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !admin
        .query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline, "B's backend ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sessions = b.state.live_bus().sessions();
    post(&c, &a, &token, "presence", presence(false)).await;
    let (other, other_token) = b.enrol(&c, "Hospital No. 2").await;
    post(&c, &b, &other_token, "presence", presence(true)).await;
    assert!(lit(&b.state, &kiosk), "B missed A's fact while away");
    assert!(!lit(&a.state, &other), "A has not heard of B's yet");
    maintenance
        .batch_execute(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let b_state = Arc::clone(&b.state);
    until("B's bus is back", move || {
        b_state.live_bus().sessions() > sessions
    })
    .await;
    let b_state = Arc::clone(&b.state);
    let k = kiosk.clone();
    until("B learns the departure it missed", move || {
        !lit(&b_state, &k)
    })
    .await;
    let a_state = Arc::clone(&a.state);
    let k = other.clone();
    until("A learns the arrival B queued", move || lit(&a_state, &k)).await;
    let b_state = Arc::clone(&b.state);
    let k = other.clone();
    until("B applies its own queued arrival", move || {
        lit(&b_state, &k)
    })
    .await;

    driver.abort();
    maintenance_driver.abort();
    drop(feed);
    a.stop().await;
    b.stop().await;
}

const SDP_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const SDP_ANSWER: &str =
    "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_call_rings_on_one_server_and_is_answered_on_the_other() {
    use common::ws::{expect, kiosk, operator_session, send};
    let pg = TestPostgres::start();
    let bus = pg.url();
    // Every server holds the same sealing keys (docs/several-servers.md).
    let keys = tempfile::tempdir().unwrap();
    let keys = keys.path().join("seal.keys");
    let a = start_with_keys(&bus, Some(&keys)).await;
    let b = start_with_keys(&bus, Some(&keys)).await;
    // Everything the bus carries, as PostgreSQL (and its log) sees it.
    let (listener, payloads) = listen(&bus).await;

    // The operator's console talks to B, the kiosk's call socket to A (A, holding the
    // kiosk's socket, stores the call in the shared store).
    let (mut op, cookie) = operator_session(&b, "aigerim", "Aigerim Sadykova").await;
    let (mut k, kiosk_id, _) = kiosk(&a, "Almaty CSC 3").await;
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let m = expect(&mut k, "availability").await;
        if m["operators_available"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never learnt that B has a free operator"
        );
    }
    assert!(!a.state.calls.free_here() && b.state.calls.free_here());

    // It rings on B's console; B's operator answers; the kiosk on A hears who.
    send(
        &mut k,
        json!({"type": "ring", "topic": "complaint", "iin": IIN}),
    )
    .await;
    let call_id = expect(&mut k, "ringing").await["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    let incoming = expect(&mut op, "incoming").await;
    assert_eq!(incoming["call_id"], call_id.as_str());
    assert_eq!(incoming["kiosk_id"], kiosk_id.as_str());
    send(&mut op, json!({"type": "answer", "call_id": call_id})).await;
    let accepted = expect(&mut op, "accepted").await;
    let appeal_id = accepted["appeal_id"].as_str().unwrap().to_string();
    assert_eq!(
        expect(&mut k, "answered").await["operator"],
        "Aigerim Sadykova"
    );
    assert!(a.state.calls.is_live(&appeal_id) && b.state.calls.is_live(&appeal_id));
    assert!(!b.state.calls.free_here(), "B's operator is on the call");

    // B's operator reveals the caller's IIN during the call, on B; it is logged there as a
    // reveal on A's server would be. The bus carried it sealed: never the digits.
    let csrf = console_csrf(&b, &cookie).await;
    let revealed = client()
        .post(format!("{}/console/calls/{appeal_id}/reveal", b.url))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revealed.status(), StatusCode::OK);
    assert_eq!(revealed.json::<Value>().await.unwrap()["iin"], IIN);
    let audited = common::audited(&b, "iin_reveal", "aigerim", &appeal_id);
    assert_eq!(audited, 1, "the reveal is in the audit");
    let carried = payloads.lock().unwrap().clone();
    assert!(
        carried.iter().any(|p| p.contains("caller_iin")),
        "the sealed IIN went over the bus"
    );
    assert!(
        carried.iter().all(|p| !p.contains("880101")),
        "no payload holds the IIN's digits"
    );

    // SDP goes both ways verbatim, across the servers.
    send(
        &mut k,
        json!({"type": "sdp_offer", "call_id": call_id, "sdp": SDP_OFFER}),
    )
    .await;
    assert_eq!(expect(&mut op, "sdp_offer").await["sdp"], SDP_OFFER);
    send(
        &mut op,
        json!({"type": "sdp_answer", "call_id": call_id, "sdp": SDP_ANSWER}),
    )
    .await;
    assert_eq!(expect(&mut k, "sdp_answer").await["sdp"], SDP_ANSWER);

    // The operator hangs up on B: the kiosk on A hears it; A stores the call as an appeal.
    send(
        &mut op,
        json!({"type": "hang_up", "call_id": call_id, "reason": "hung_up"}),
    )
    .await;
    let ended = expect(&mut k, "ended").await;
    assert_eq!(ended["call_id"], call_id.as_str());
    let a_state = Arc::clone(&a.state);
    let id = appeal_id.clone();
    until("A stores the answered call as an appeal", move || {
        a_state
            .db
            .read(|c| senim_callcentre::db::get_appeal(c, &id))
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    let b_state = Arc::clone(&b.state);
    until("B's operator is free again", move || {
        b_state.calls.free_here()
    })
    .await;
    assert!(!b.state.calls.is_live(&appeal_id));

    drop((k, op));
    listener.abort();
    a.stop().await;
    b.stop().await;
}

/// A test IIN (a valid check digit) a kiosk's caller identified with.
const IIN: &str = "880101300010";

/// Listens on the live bus's channel as any PostgreSQL client can: every payload, as sent
/// (the task also keeps the client).
async fn listen(
    url: &str,
) -> (
    tokio::task::JoinHandle<()>,
    Arc<std::sync::Mutex<Vec<String>>>,
) {
    use futures_util::StreamExt;
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let payloads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&payloads);
    let (listening_tx, listening_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        let listen = async {
            client
                .batch_execute(&format!("LISTEN {}", senim_callcentre::live::CHANNEL))
                .await
                .unwrap();
            let _ = listening_tx.send(());
            std::future::pending::<()>().await
        };
        let collect = async {
            while let Some(Ok(message)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = message {
                    seen.lock().unwrap().push(n.payload().to_string());
                }
            }
        };
        tokio::select! {
            _ = listen => {}
            _ = collect => {}
        }
    });
    listening_rx.await.unwrap();
    (task, payloads)
}
