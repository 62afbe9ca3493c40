//! The operator's side of a live call in a real browser: Chromium (fake camera and microphone)
//! signs in as an operator, goes Available, sees a fake kiosk's call ring (site, kiosk, topic,
//! the IIN masked only), answers it while a second operator's console sees "Taken by"; the
//! kiosk's media comes from a page of its own in the second browser, its offer, answer and
//! candidates relayed through the fake kiosk's signalling socket; the operator's `getStats()`
//! must show video and audio arriving. Then the logged IIN reveal, notes and an outcome, hang
//! up (the kiosk is told `hung_up`), the call standing as an appeal with all that, the kiosk's
//! record of the call joining the same row (a replay a duplicate), a call the kiosk loses
//! showing "Call lost", and an unusable offer ending the call on both sides with an error.
//! Screenshots: `target/screenshots/console-call-ringing.png`, `console-call.png` and
//! `console-call-appeal.png`.
//!
//! `harness = false`: the parent re-runs this binary under `unshare --net --pid` (as
//! `tests/call_media.rs` does), in a network namespace with only `lo`, so every packet stays
//! on loopback and the browsers die with the test.
//!
//! Over 600 lines: one browser journey (two costly Chromium sessions) from ring to the stored
//! appeal and a lost call, with its relay of the kiosk's media and its helpers.

mod common;
use common::netns;

use std::time::Duration;

use common::chromium::{browser, start_chromedriver, Driver};
use common::ws::{kiosk_socket, send, Ws};
use common::{appeal, appeal_id, TestServer};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Generous: two Chromiums share two busy cores with other builds.
const WITHIN: Duration = Duration::from_secs(45);
const IIN: &str = "880101300010";

fn main() {
    netns::isolated("the call console scenario", || {
        child();
        println!(
            "call console: ring, answer, taken by, media, reveal, outcome, appeal, lost, bad offer"
        );
    });
}

fn child() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(scenario());
}

use common::chromium::shot;

/// A Chromium with fake camera and microphone and loopback ICE candidates.
async fn media_browser(driver: &Driver) -> Client {
    browser(driver, &common::chromium::FAKE_MEDIA).await
}

async fn sign_in(c: &Client, server: &TestServer, username: &str) {
    common::chromium::sign_in(c, &server.url, username, "demo-password-1").await;
    c.wait()
        .for_element(Locator::Css("#availability"))
        .await
        .unwrap();
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Polls `script` until it returns a truthy value (that value); panics with `what` after
/// [`WITHIN`].
async fn until(c: &Client, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let v = js(c, script).await;
        let truthy = match &v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn go_available(c: &Client) {
    c.find(Locator::Css("#availability"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "return document.getElementById('availability').getAttribute('aria-pressed') === 'true';",
        "going available",
    )
    .await;
}

/// The kiosk socket's next message within `wait`, if any.
async fn next_within(ws: &mut Ws, wait: Duration) -> Option<Value> {
    use futures_util::StreamExt;
    let deadline = Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next()).await.ok()?;
        let frame = frame.expect("the kiosk socket closed").unwrap();
        if let Message::Text(text) = frame {
            return Some(serde_json::from_str(text.as_str()).unwrap());
        }
    }
}

/// Reads until a message of type `kind` (others skipped).
async fn expect(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = next_within(ws, left)
            .await
            .unwrap_or_else(|| panic!("no `{kind}` for the kiosk in time"));
        if m["type"] == kind {
            return m;
        }
    }
}

/// The operator page's inbound (video, audio) bytes, from its peer connection's `getStats()`.
async fn inbound(c: &Client) -> (u64, u64) {
    let v = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            if (!window.senimPeer) { done([0, 0]); return; }
            senimPeer.getStats().then((r) => {
              const o = { video: 0, audio: 0 };
              r.forEach((s) => { if (s.type === "inbound-rtp") o[s.kind] += s.bytesReceived || 0; });
              done([o.video, o.audio]);
            });"#,
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
}

/// The kiosk's side of the media in a page of its own: fake camera and microphone, an offer
/// with all its candidates (gathering waited for), returned as SDP.
const KIOSK_OFFER: &str = r#"const done = arguments[arguments.length - 1];
(async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.kioskPeer = pc;
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((ok) => pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") ok();
    }));
  }
  done(pc.localDescription.sdp);
})().catch((e) => done("error: " + e));"#;

async fn scenario() {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    server.operator("bolat", "demo-password-1", "Bolat Nurov");
    let (kiosk_id, token) = server
        .enrol(&reqwest::Client::new(), "City Hospital No. 4, Almaty")
        .await;
    let (driver_a, driver_b) = (start_chromedriver(), start_chromedriver());
    let a = media_browser(&driver_a).await;
    let b = media_browser(&driver_b).await;
    sign_in(&a, &server, "aigerim").await;
    sign_in(&b, &server, "bolat").await;
    assert_eq!(
        js(
            &a,
            "return document.getElementById('availability').textContent;"
        )
        .await,
        "Away",
        "an operator starts away"
    );
    go_available(&a).await;
    go_available(&b).await;

    // The kiosk rings with the caller's IIN.
    let mut kiosk = kiosk_socket(&server, &token).await.unwrap();
    let call_id = appeal_id(500);
    send(
        &mut kiosk,
        json!({"type": "ring", "call_id": call_id, "topic": "complaint", "iin": IIN}),
    )
    .await;
    expect(&mut kiosk, "ringing").await;
    let ring_text = until(
        &a,
        "const r = document.querySelector('#ringing .ring'); \
         return r && !document.getElementById('ringing').hidden ? r.textContent : '';",
        "the ringing call on the console",
    )
    .await;
    let ring_text = ring_text.as_str().unwrap().to_string();
    for part in [
        "City Hospital No. 4, Almaty",
        kiosk_id.as_str(),
        "Complaint",
        "IIN ••••••••0010",
        "waiting",
    ] {
        assert!(ring_text.contains(part), "{part:?} in {ring_text:?}");
    }
    let html = js(&a, "return document.documentElement.outerHTML;").await;
    assert!(
        !html.as_str().unwrap().contains("880101"),
        "only the masked IIN reaches the console"
    );
    shot(&a, "call-ringing").await;

    // Aigerim answers; Bolat's console says who took it.
    a.find(Locator::Css("#ringing .answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let answered = expect(&mut kiosk, "answered").await;
    assert_eq!(answered["operator"], "Aigerim Sadykova");
    until(
        &b,
        "const t = document.querySelector('#ringing .taken-by'); return t ? t.textContent : '';",
        "Bolat seeing the call taken",
    )
    .await;
    let taken = js(
        &b,
        "return document.querySelector('#ringing .taken-by').textContent;",
    )
    .await;
    assert_eq!(taken, "Taken by Aigerim Sadykova");
    until(
        &a,
        "return !document.getElementById('call').hidden;",
        "the call panel",
    )
    .await;

    // The kiosk's media: a page of its own in Bolat's browser, relayed through the kiosk socket.
    let window = b.new_window(true).await.unwrap();
    b.switch_to_window(window.handle).await.unwrap();
    b.goto(&format!("{}/console/login", server.url))
        .await
        .unwrap();
    let offer = b.execute_async(KIOSK_OFFER, vec![]).await.unwrap();
    let offer = offer.as_str().unwrap().to_string();
    assert!(offer.starts_with("v=0"), "{offer}");
    send(
        &mut kiosk,
        json!({"type": "sdp_offer", "call_id": call_id, "sdp": offer}),
    )
    .await;
    let deadline = Instant::now() + WITHIN;
    let mut first: Option<(u64, u64)> = None;
    loop {
        while let Some(m) = next_within(&mut kiosk, Duration::from_millis(200)).await {
            match m["type"].as_str() {
                Some("sdp_answer") => {
                    b.execute(
                        "return kioskPeer.setRemoteDescription({type: 'answer', sdp: arguments[0]}).then(() => true);",
                        vec![m["sdp"].clone()],
                    )
                    .await
                    .unwrap();
                }
                Some("ice_candidate") => {
                    b.execute(
                        "return kioskPeer.addIceCandidate({candidate: arguments[0], sdpMLineIndex: arguments[1]}).then(() => true);",
                        vec![m["candidate"].clone(), m["mline_index"].clone()],
                    )
                    .await
                    .unwrap();
                }
                Some("error") => panic!("the kiosk was sent an error: {m}"),
                _ => {}
            }
        }
        let now = inbound(&a).await;
        match first {
            None if now.0 > 0 && now.1 > 0 => first = Some(now),
            Some(f) if now.0 > f.0 && now.1 > f.1 => break,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the operator's page did not receive video and audio (inbound {now:?})"
        );
    }
    until(
        &a,
        "return document.getElementById('remote-video').videoWidth > 0;",
        "the patient's picture",
    )
    .await;
    assert_eq!(
        js(
            &a,
            "return document.getElementById('call-iin').textContent;"
        )
        .await,
        "••••••••0010"
    );

    // Notes and an outcome during the call; the screenshot; the logged reveal.
    let notes = "Asked about a referral to cardiology; explained the queue.";
    a.find(Locator::Css("#call-notes"))
        .await
        .unwrap()
        .send_keys(notes)
        .await
        .unwrap();
    a.find(Locator::Css("input[name=call-outcome][value=resolved]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &a,
        "return document.getElementById('call-state').textContent === 'On the call';",
        "the call connected",
    )
    .await;
    shot(&a, "call").await;
    a.find(Locator::Css("#call-reveal"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &a,
        &format!("return document.getElementById('call-iin').textContent === '{IIN}';"),
        "the revealed IIN",
    )
    .await;
    let events = server
        .state
        .db
        .read({
            let id = call_id.clone();
            move |c| senim_callcentre::db::appeal_events(c, &id)
        })
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "reveal_iin" && e.operator == "aigerim"),
        "the reveal is logged on the call's appeal: {events:?}"
    );

    // Hang up: the kiosk is told, the console says so, notes and outcome are kept.
    a.find(Locator::Css("#call-hangup"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let ended = expect(&mut kiosk, "ended").await;
    assert_eq!(ended["reason"], "hung_up");
    assert_eq!(ended["call_id"], call_id.as_str());
    until(
        &a,
        "return !document.getElementById('call-banner').hidden && \
         document.getElementById('call-banner').textContent === 'You hung up.';",
        "the hang-up shown",
    )
    .await;
    a.find(Locator::Css("#call-save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &a,
        "return !document.getElementById('call-saved').hidden;",
        "the notes saved",
    )
    .await;
    a.find(Locator::Css("#call-close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The call stands as an appeal: resolved on the call, so answered.
    a.goto(&format!("{}/console?show=answered", server.url))
        .await
        .unwrap();
    let row = until(
        &a,
        &format!(
            "const l = document.querySelector('a[href=\"/console/appeals/{call_id}\"]'); \
             return l ? l.closest('tr').textContent : '';"
        ),
        "the call in the queue",
    )
    .await;
    assert!(row.as_str().unwrap().contains("Live call 0:"), "{row}");
    a.goto(&format!("{}/console/appeals/{call_id}", server.url))
        .await
        .unwrap();
    let facts = js(
        &a,
        "return document.getElementById('live-call').textContent;",
    )
    .await;
    let facts = facts.as_str().unwrap();
    for part in ["Aigerim Sadykova", "Resolved on the call", notes, "hung up"] {
        assert!(facts.contains(part), "{part:?} in {facts:?}");
    }

    // The kiosk's record of the call joins the same row; a replay is a duplicate.
    let mut record = appeal("call-record-1", &call_id, Some(b"recording"));
    record["record"]["call_secs"] = json!(14);
    let http = reqwest::Client::new();
    for expected in ["stored", "duplicate"] {
        let r: Value = http
            .post(format!("{}/api/v1/records", server.url))
            .bearer_auth(&token)
            .json(&json!({ "records": [record] }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["results"][0]["outcome"], expected, "{r}");
    }
    let rows = server
        .state
        .db
        .read(|c| senim_callcentre::db::list_appeals(c, &[]))
        .unwrap();
    let ours: Vec<_> = rows.iter().filter(|r| r.id == call_id).collect();
    assert_eq!(ours.len(), 1, "one appeal for the call and its record");
    let row = ours[0];
    assert_eq!(row.language, "kk");
    assert_eq!(row.expected_video_bytes, Some(9));
    assert_eq!(row.status, "answered");
    let call = row.call.as_ref().unwrap();
    assert_eq!(call.notes.as_deref(), Some(notes));
    assert_eq!(call.outcome.as_deref(), Some("resolved"));
    assert!(!call.call_only);
    a.refresh().await.unwrap();
    let page = js(&a, "return document.querySelector('main').textContent;").await;
    let page = page.as_str().unwrap();
    assert!(page.contains("Қазақша") && page.contains(notes), "{page}");
    shot(&a, "call-appeal").await;

    // A call the kiosk loses shows "Call lost" on the console.
    a.goto(&format!("{}/console", server.url)).await.unwrap();
    until(
        &a,
        "return document.getElementById('availability').getAttribute('aria-pressed') === 'true';",
        "staying available across pages",
    )
    .await;
    let lost_id = appeal_id(501);
    send(
        &mut kiosk,
        json!({"type": "ring", "call_id": lost_id, "topic": "request"}),
    )
    .await;
    expect(&mut kiosk, "ringing").await;
    until(
        &a,
        "const b = document.querySelector('#ringing .answer'); return b && !b.disabled;",
        "the second call ringing",
    )
    .await;
    a.find(Locator::Css("#ringing .answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect(&mut kiosk, "answered").await;
    send(
        &mut kiosk,
        json!({"type": "hang_up", "call_id": lost_id, "reason": "lost"}),
    )
    .await;
    let banner = until(
        &a,
        "const b = document.getElementById('call-banner'); return b.hidden ? '' : b.textContent;",
        "the lost call shown",
    )
    .await;
    assert!(
        banner.as_str().unwrap().starts_with("Call lost"),
        "{banner}"
    );
    assert_eq!(
        js(
            &a,
            "return document.getElementById('call-state').textContent;"
        )
        .await,
        "Call lost"
    );

    // An offer the browser cannot use ends the call cleanly on both sides, with an error shown.
    a.find(Locator::Css("#call-close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let bad_id = appeal_id(502);
    send(
        &mut kiosk,
        json!({"type": "ring", "call_id": bad_id, "topic": "other"}),
    )
    .await;
    until(
        &a,
        "const b = document.querySelector('#ringing .answer'); return b && !b.disabled;",
        "the third call ringing",
    )
    .await;
    a.find(Locator::Css("#ringing .answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect(&mut kiosk, "answered").await;
    send(
        &mut kiosk,
        json!({"type": "sdp_offer", "call_id": bad_id, "sdp": "v=0\r\nthis is no session description\r\n"}),
    )
    .await;
    let ended = expect(&mut kiosk, "ended").await;
    assert_eq!(
        (&ended["call_id"], &ended["reason"]),
        (&json!(bad_id), &json!("error"))
    );
    let banner = until(
        &a,
        "const b = document.getElementById('call-banner'); return b.hidden ? '' : b.textContent;",
        "the unusable offer shown",
    )
    .await;
    assert!(
        banner
            .as_str()
            .unwrap()
            .starts_with("The kiosk's video offer could not be used"),
        "{banner}"
    );

    // Closing a console makes its operator away; so does signing out, for good in that tab.
    b.close().await.unwrap();
    a.find(Locator::Css("#call-close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    a.find(Locator::Css("form[action='/console/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + WITHIN;
    while server.state.calls.operators_available(true) {
        assert!(
            Instant::now() < deadline,
            "operators still available after sign-out and close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sign_in(&a, &server, "aigerim").await;
    assert_eq!(
        js(&a, "return sessionStorage.getItem('senim-available');").await,
        Value::Null,
        "signing in again starts away"
    );

    drop(kiosk);
    a.close().await.unwrap();
    drop((driver_a, driver_b));
    server.stop().await;
}
