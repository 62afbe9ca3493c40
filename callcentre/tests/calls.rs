//! Live-call signalling end to end: real kiosk and console WebSockets against the real server
//! (ringing, the first answer winning, the verbatim relay of SDP and candidates, refusals of
//! other calls' messages, of strangers and of bad input, lost sockets, availability, TURN).

mod common;

use base64::Engine;
use common::ws::*;
use common::TestServer;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const SDP_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const SDP_ANSWER: &str =
    "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const CANDIDATE: &str =
    "candidate:842163049 1 udp 1677729535 192.0.2.7 46154 typ srflx raddr 0.0.0.0 rport 0";

/// The kiosk rings and operator `op` answers; the call id.
async fn ring_and_answer(k: &mut Ws, op: &mut Ws) -> String {
    send(k, json!({"type": "ring", "topic": "complaint"})).await;
    let ringing = expect(k, "ringing").await;
    let call_id = ringing["call_id"].as_str().unwrap().to_string();
    let incoming = expect(op, "incoming").await;
    assert_eq!(incoming["call_id"], call_id.as_str());
    send(op, json!({"type": "answer", "call_id": call_id})).await;
    expect(op, "accepted").await;
    expect(k, "answered").await;
    call_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_is_answered_once_and_relays_sdp_and_candidates_verbatim() {
    let server = TestServer::start().await;
    let mut a = operator(&server, "aigerim", "Aigerim Sadykova").await;
    let mut b = operator(&server, "bolat", "Bolat Nurov").await;
    let (mut k, kiosk_id, _) = kiosk(&server, "Almaty CSC 3").await;
    let first = expect(&mut k, "availability").await;
    assert_eq!(first["operators_available"], true, "{first}");
    assert_eq!(first["open_now"], true);

    send(&mut k, json!({"type": "ring", "topic": "bribe_report"})).await;
    let ringing = expect(&mut k, "ringing").await;
    let call_id = ringing["call_id"].as_str().unwrap().to_string();
    assert!(ringing["ice_servers"].is_array());
    for op in [&mut a, &mut b] {
        let incoming = expect(op, "incoming").await;
        assert_eq!(incoming["call_id"], call_id.as_str());
        assert_eq!(incoming["kiosk_id"], kiosk_id.as_str());
        assert_eq!(incoming["site"], "Almaty CSC 3");
        assert_eq!(incoming["topic"], "bribe_report");
        assert_eq!(incoming["test"], false);
        assert!(incoming["waiting_since"].is_string());
    }

    // A answers first; everyone learns who took it; B's answer is too late.
    send(&mut a, json!({"type": "answer", "call_id": call_id})).await;
    let accepted = expect(&mut a, "accepted").await;
    assert_eq!(accepted["call_id"], call_id.as_str());
    let answered = expect(&mut k, "answered").await;
    assert_eq!(answered["operator"], "Aigerim Sadykova");
    assert_eq!(
        answered.as_object().unwrap().len(),
        3,
        "only the name: {answered}"
    );
    let taken = expect(&mut b, "taken").await;
    assert_eq!(taken["by"], "Aigerim Sadykova");
    assert_eq!(expect(&mut a, "taken").await["call_id"], call_id.as_str());
    send(&mut b, json!({"type": "answer", "call_id": call_id})).await;
    expect_error(&mut b, "already_taken").await;

    // The offer, the answer and candidates pass through untouched, both ways.
    send(
        &mut k,
        json!({"type": "sdp_offer", "call_id": call_id, "sdp": SDP_OFFER}),
    )
    .await;
    let offer = expect(&mut a, "sdp_offer").await;
    assert_eq!(offer["sdp"], SDP_OFFER);
    send(
        &mut a,
        json!({"type": "sdp_answer", "call_id": call_id, "sdp": SDP_ANSWER}),
    )
    .await;
    assert_eq!(expect(&mut k, "sdp_answer").await["sdp"], SDP_ANSWER);
    send(
        &mut k,
        json!({"type": "ice_candidate", "call_id": call_id, "mline_index": 1, "candidate": CANDIDATE}),
    )
    .await;
    let c = expect(&mut a, "ice_candidate").await;
    assert_eq!(
        (c["candidate"].as_str(), c["mline_index"].as_u64()),
        (Some(CANDIDATE), Some(1))
    );
    send(
        &mut a,
        json!({"type": "ice_candidate", "call_id": call_id, "mline_index": 0, "candidate": CANDIDATE}),
    )
    .await;
    let c = expect(&mut k, "ice_candidate").await;
    assert_eq!(
        (c["candidate"].as_str(), c["mline_index"].as_u64()),
        (Some(CANDIDATE), Some(0))
    );

    // B may not speak into A's call.
    send(
        &mut b,
        json!({"type": "sdp_answer", "call_id": call_id, "sdp": SDP_ANSWER}),
    )
    .await;
    expect_error(&mut b, "not_your_call").await;

    send(
        &mut a,
        json!({"type": "hang_up", "call_id": call_id, "reason": "hung_up"}),
    )
    .await;
    let ended = expect(&mut k, "ended").await;
    assert_eq!(ended["reason"], "hung_up");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_about_another_kiosks_call_is_refused() {
    let server = TestServer::start().await;
    let mut a = operator(&server, "aigerim", "Aigerim Sadykova").await;
    let (mut k1, _, _) = kiosk(&server, "Site 1").await;
    let (mut k2, _, _) = kiosk(&server, "Site 2").await;
    let call_id = ring_and_answer(&mut k1, &mut a).await;
    for m in [
        json!({"type": "sdp_offer", "call_id": call_id, "sdp": SDP_OFFER}),
        json!({"type": "ice_candidate", "call_id": call_id, "mline_index": 0, "candidate": CANDIDATE}),
        json!({"type": "hang_up", "call_id": call_id, "reason": "hung_up"}),
    ] {
        send(&mut k2, m).await;
        let e = expect_error(&mut k2, "not_your_call").await;
        assert_eq!(e["call_id"], call_id.as_str());
    }
    // The call itself goes on.
    send(
        &mut k1,
        json!({"type": "sdp_offer", "call_id": call_id, "sdp": SDP_OFFER}),
    )
    .await;
    assert_eq!(expect(&mut a, "sdp_offer").await["sdp"], SDP_OFFER);
    // A kiosk ringing twice is busy; a call that does not exist is said so.
    send(&mut k1, json!({"type": "ring", "topic": "other"})).await;
    expect_error(&mut k1, "busy").await;
    send(&mut a, json!({"type": "answer", "call_id": "nope"})).await;
    expect_error(&mut a, "no_such_call").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_without_credentials_or_from_another_origin_are_refused() {
    let server = TestServer::start().await;
    assert_eq!(
        refused_status(kiosk_socket(&server, "not-a-token").await),
        401
    );
    assert_eq!(
        refused_status(console_socket(&server, None, Some(&server.url)).await),
        401
    );
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    let cookie = common::http_sign_in(&server, "demo-password-1")
        .await
        .unwrap();
    assert_eq!(
        refused_status(console_socket(&server, Some(&cookie), Some("https://evil.example")).await),
        403
    );
    assert_eq!(
        refused_status(console_socket(&server, Some(&cookie), None).await),
        403
    );
    assert!(console_socket(&server, Some(&cookie), Some(&server.url))
        .await
        .is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_closing_mid_call_ends_it_for_the_other_side() {
    let server = TestServer::start().await;
    let mut a = operator(&server, "aigerim", "Aigerim Sadykova").await;
    let (mut k, _, token) = kiosk(&server, "Site").await;
    let call_id = ring_and_answer(&mut k, &mut a).await;
    drop(k);
    let ended = expect(&mut a, "ended").await;
    assert_eq!(ended["call_id"], call_id.as_str());
    assert_eq!(ended["reason"], "lost");

    // The other way round: the operator's tab closes.
    let mut k = kiosk_socket(&server, &token).await.unwrap();
    let call_id = ring_and_answer(&mut k, &mut a).await;
    drop(a);
    let ended = expect(&mut k, "ended").await;
    assert_eq!(ended["call_id"], call_id.as_str());
    assert_eq!(ended["reason"], "lost");
    // Nobody is available any more (kiosks were told so when the operator took the call).
    assert!(!server.state.calls.operators_available(true));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_oversized_messages_end_the_call_cleanly_and_the_server_still_serves() {
    let server = TestServer::start().await;
    let mut a = operator(&server, "aigerim", "Aigerim Sadykova").await;
    let (mut k, _, _) = kiosk(&server, "Site").await;

    // Not a message at all, with no call going: an error, nothing else.
    send(&mut k, json!({"type": "dance"})).await;
    expect_error(&mut k, "malformed").await;

    // Malformed SDP from the kiosk: error to it, the call ends on both sides.
    let call_id = ring_and_answer(&mut k, &mut a).await;
    send(
        &mut k,
        json!({"type": "sdp_offer", "call_id": call_id, "sdp": "hello"}),
    )
    .await;
    let e = expect_error(&mut k, "malformed").await;
    assert_eq!(e["call_id"], call_id.as_str());
    assert_eq!(expect(&mut k, "ended").await["reason"], "error");
    assert_eq!(expect(&mut a, "ended").await["reason"], "error");

    // An oversized SDP answer from the console: the same.
    let call_id = ring_and_answer(&mut k, &mut a).await;
    let huge = format!("v=0\r\n{}", "a".repeat(70 * 1024));
    send(
        &mut a,
        json!({"type": "sdp_answer", "call_id": call_id, "sdp": huge}),
    )
    .await;
    expect_error(&mut a, "too_large").await;
    assert_eq!(expect(&mut a, "ended").await["reason"], "error");
    assert_eq!(expect(&mut k, "ended").await["reason"], "error");

    // A candidate over 1 KiB from the kiosk.
    let call_id = ring_and_answer(&mut k, &mut a).await;
    let long = format!("candidate:{}", "1".repeat(2000));
    send(
        &mut k,
        json!({"type": "ice_candidate", "call_id": call_id, "mline_index": 0, "candidate": long}),
    )
    .await;
    expect_error(&mut k, "too_large").await;
    assert_eq!(expect(&mut a, "ended").await["reason"], "error");

    // Binary frames are refused too, and the server still takes calls and requests.
    {
        use futures_util::SinkExt;
        k.send(Message::Binary(vec![0, 1, 2].into())).await.unwrap();
    }
    expect_error(&mut k, "malformed").await;
    ring_and_answer(&mut k, &mut a).await;
    let r = reqwest::get(format!("{}/api/v1/openapi.json", server.url))
        .await
        .unwrap();
    assert!(r.status().is_success());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_is_pushed_to_kiosks_and_told_in_the_heartbeat() {
    let server = TestServer::start().await;
    let (mut k, _, token) = kiosk(&server, "Site").await;
    let first = expect(&mut k, "availability").await;
    assert_eq!(first["operators_available"], false);
    assert_eq!(first["open_now"], true);
    send(&mut k, json!({"type": "ring", "topic": "request"})).await;
    expect_error(&mut k, "unavailable").await;

    let heartbeat = || async {
        let r: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/heartbeat", server.url))
            .bearer_auth(&token)
            .json(&json!({
                "state": "idle", "queue_depth": 0, "devices": [],
                "versions": {"app": "0.1.0"}, "sent_at": chrono::Utc::now(),
            }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        r["operators_available"].as_bool().unwrap()
    };
    assert!(!heartbeat().await);

    let mut a = operator(&server, "aigerim", "Aigerim Sadykova").await;
    assert_eq!(
        expect(&mut k, "availability").await["operators_available"],
        true
    );
    assert!(heartbeat().await);

    send(&mut a, json!({"type": "set_available", "available": false})).await;
    assert_eq!(
        expect(&mut k, "availability").await["operators_available"],
        false
    );
    send(&mut a, json!({"type": "set_available", "available": true})).await;
    assert_eq!(
        expect(&mut k, "availability").await["operators_available"],
        true
    );
    // Closing the tab makes the operator away.
    drop(a);
    assert_eq!(
        expect(&mut k, "availability").await["operators_available"],
        false
    );
    assert!(!heartbeat().await);

    // So does signing out: the operator's socket closes.
    let cookie = common::http_sign_in(&server, "demo-password-1")
        .await
        .unwrap();
    let mut a = console_socket(&server, Some(&cookie), Some(&server.url))
        .await
        .unwrap();
    send(&mut a, json!({"type": "set_available", "available": true})).await;
    assert_eq!(
        expect(&mut k, "availability").await["operators_available"],
        true
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = common::console_csrf(&server, &cookie).await;
    let r = http
        .post(format!("{}/console/logout", server.url))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        expect(&mut k, "availability").await["operators_available"],
        false
    );
    {
        use futures_util::StreamExt;
        let closed = tokio::time::timeout(WITHIN, async {
            loop {
                match a.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "the signed-out operator's socket stays open"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_call_rings_out_of_hours_ends_unanswered_and_carries_turn_credentials() {
    // Today and tomorrow are holidays: closed; calls ring for one second.
    let mut config = common::test_config();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive();
    config.hours.holidays = vec![
        today.to_string(),
        (today + chrono::Duration::days(1)).to_string(),
    ];
    config.call.ring_seconds = 1;
    config.call.stun_urls = vec!["stun:turn.example.kz:3478".into()];
    config.call.turn_urls = vec!["turn:turn.example.kz:3478?transport=udp".into()];
    config.call.turn_secret = "north-wind".into();
    config.call.turn_ttl_secs = 600;
    let server = TestServer::start_with(config, None).await;
    let mut a = operator(&server, "aigerim", "Aigerim Sadykova").await;
    let (mut k, kiosk_id, _) = kiosk(&server, "Site").await;
    let first = expect(&mut k, "availability").await;
    assert_eq!(first["open_now"], false);
    assert_eq!(first["operators_available"], false);

    send(&mut k, json!({"type": "ring", "topic": "other"})).await;
    expect_error(&mut k, "unavailable").await;
    send(
        &mut k,
        json!({"type": "ring", "topic": "other", "test": true}),
    )
    .await;
    let ringing = expect(&mut k, "ringing").await;
    let incoming = expect(&mut a, "incoming").await;
    assert_eq!(incoming["test"], true);

    // TURN REST credentials: "<expiry>:<kiosk id>", base64(HMAC-SHA1(secret, username)).
    let servers = ringing["ice_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["urls"][0], "stun:turn.example.kz:3478");
    assert!(servers[0].get("username").is_none());
    let username = servers[1]["username"].as_str().unwrap();
    let (expiry, who) = username.split_once(':').unwrap();
    assert_eq!(who, kiosk_id);
    let expiry: i64 = expiry.parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 590..=now + 610).contains(&expiry),
        "{expiry} vs {now}"
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"north-wind").unwrap();
    mac.update(username.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(servers[1]["credential"], expected.as_str());

    // Nobody answers: it ends as unanswered on both sides.
    assert_eq!(expect(&mut k, "ended").await["reason"], "unanswered");
    assert_eq!(expect(&mut a, "ended").await["reason"], "unanswered");
    server.stop().await;
}
