//! A live call end to end: the real call-centre (in this process, on loopback), the real
//! `senim-kiosk call` with test camera and microphone sources, and Debian's Chromium as the
//! operator: signed in to the console, it runs the operator's side in injected JavaScript
//! (`/console/call` with the session cookie, `set_available`, `answer`, RTCPeerConnection with
//! fake camera and microphone, trickle ICE). Checked: media both ways (the kiosk's figures and
//! the browser's `getStats()`), a foreign `hang_up` from another kiosk refused with
//! `not_your_call` while the call goes on, the operator hanging up, nobody available, nobody
//! answering (`ring_seconds = 2`), the browser killed mid-call (`lost` on the kiosk), and
//! `doctor`'s call and ICE checks; and `LiveCall` itself: its own ring limit, a cancel while
//! ringing, a call id chosen by the kiosk.
//!
//! `harness = false`: as `tests/call_media.rs`, the parent re-runs this binary under
//! `unshare --net --pid --mount-proc`, so only loopback exists, every process dies with the
//! test, and `/proc` lists only the test's own processes (the Chromium it kills).
//!
//! Over 600 lines: the scenarios share one namespace, one browser and two call-centres, and the
//! operator's page script is inline.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use senim_kiosk::call::{CallEnd, CallNews, CallRequest, CallSetup, LiveCall};
use senim_kiosk::sync::call::{Endpoint, Incoming, Signalling, SignallingError};
use senim_protocol::call::{EndReason, ErrorCode, KioskMessage, ToKiosk};
use senim_protocol::Topic;

#[path = "../callcentre/tests/common/mod.rs"]
mod common;
use common::{chromium, netns, test_config, TestServer};

const PASSWORD: &str = "demo-password-1";

fn main() {
    netns::isolated("the call end-to-end scenario", || {
        child();
        println!(
            "call e2e: media both ways, foreign message, hang-ups, bad answer, unavailable, \
                 unanswered, cannot connect, lost, doctor"
        );
    });
}

fn child() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = TestServer::start().await;
        server.operator("aigerim", PASSWORD, "Aigerim Sadykova");
        let kiosk = Kiosk::enrolled(&server).await;
        let driver = chromium::start_chromedriver();
        let browser = browser(&driver).await;
        sign_in_as_operator(&browser, &server).await;

        media_flows_both_ways_and_a_foreign_message_is_refused(&browser, &server, &kiosk).await;
        the_operator_hangs_up(&browser, &server, &kiosk).await;
        nobody_available_then_nobody_answers().await;
        a_malformed_answer_ends_the_call_on_both_sides(&browser, &server, &kiosk).await;
        the_browser_dies_mid_call(&browser, &server, &kiosk).await;
        drop(driver);
    });
}

// ---------------------------------------------------------------------------------------------
// The kiosk: a data folder enrolled with the call-centre, and `senim-kiosk call` runs.

struct Kiosk {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    data: std::path::PathBuf,
    backend: String,
}

impl Kiosk {
    async fn enrolled(server: &TestServer) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = dir.path().join("kiosk.toml");
        std::fs::write(
            &config,
            format!(
                "[kiosk]\nsite_name = \"Call test\"\nmode = \"hospital\"\n\
                 default_language = \"kk\"\ncatalog_dir = {:?}\n\
                 [camera]\nvideo = \"test\"\naudio = \"test\"\naudio_output = \"none\"\n\
                 width = 320\nheight = 240\nfps = 15\n\
                 [sync]\nbackend_url = {:?}\n",
                root.join("config/services").display().to_string(),
                server.url
            ),
        )
        .unwrap();
        let kiosk = Kiosk {
            data: dir.path().join("data"),
            config,
            backend: server.url.clone(),
            _dir: dir,
        };
        let code = server.code("Ward 3", 1);
        let out = kiosk.command(&["enrol", &code]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        kiosk
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"));
        c.arg("--config")
            .arg(&self.config)
            .arg("--data")
            .arg(&self.data)
            .args(args);
        c
    }

    /// `senim-kiosk call --seconds N` on loopback, its JSON lines read as they come.
    fn call(&self, seconds: u32) -> KioskCall {
        self.call_with(seconds, &[])
    }

    fn call_with(&self, seconds: u32, extra: &[&str]) -> KioskCall {
        let seconds = seconds.to_string();
        let mut args = vec!["call", "--seconds", &seconds, "--ice-address", "127.0.0.1"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take().unwrap();
        let (etx, stderr_lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if etx.send(line).is_err() {
                    break;
                }
            }
        });
        KioskCall {
            child,
            lines,
            stderr_lines,
            seen: Vec::new(),
            stderr: Vec::new(),
            status: None,
        }
    }
}

struct KioskCall {
    child: Child,
    lines: mpsc::Receiver<Value>,
    stderr_lines: mpsc::Receiver<String>,
    seen: Vec<Value>,
    stderr: Vec<String>,
    status: Option<std::process::ExitStatus>,
}

impl KioskCall {
    fn pump(&mut self) {
        while let Ok(v) = self.lines.try_recv() {
            println!("kiosk: {v}");
            self.seen.push(v);
        }
        while let Ok(l) = self.stderr_lines.try_recv() {
            self.stderr.push(l);
        }
        if self.status.is_none() {
            self.status = self.child.try_wait().unwrap();
        }
    }

    fn event(&self, name: &str) -> Option<&Value> {
        self.seen.iter().find(|v| v["event"] == name)
    }

    fn last_media(&self) -> Option<&Value> {
        self.seen.iter().rev().find(|v| v["event"] == "media")
    }

    /// Waits until the kiosk's figures show the operator's picture and voice arriving.
    async fn wait_operator_media(&mut self, limit: Duration) {
        let start = Instant::now();
        loop {
            self.pump();
            if self.last_media().is_some_and(|m| {
                m["operator_frames_drawn"].as_u64() > Some(0)
                    && m["audio_packets_received"].as_u64() > Some(0)
            }) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "no operator media on the kiosk within {limit:?}: {:#?}; stderr {:#?}",
                self.seen,
                self.stderr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the kiosk printed `name`; panics after `limit`.
    async fn wait_event(&mut self, name: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            self.pump();
            if let Some(v) = self.event(name) {
                return v.clone();
            }
            assert!(
                start.elapsed() < limit,
                "the kiosk printed no `{name}` within {limit:?} (exit {:?}); it printed {:#?}; \
                 stderr {:#?}",
                self.status,
                self.seen,
                self.stderr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the kiosk to exit; its exit code and `ended` line.
    async fn finished(&mut self, limit: Duration) -> (i32, Value) {
        let start = Instant::now();
        loop {
            self.pump();
            if let Some(status) = self.status {
                // The reader threads may still hold the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                self.pump();
                let ended = self.event("ended").cloned().unwrap_or_else(|| {
                    panic!(
                        "the kiosk exited without an `ended` line: {:#?}; stderr {:#?}",
                        self.seen, self.stderr
                    )
                });
                return (status.code().unwrap_or(-1), ended);
            }
            assert!(
                start.elapsed() < limit,
                "the kiosk did not exit within {limit:?}: {:#?}; stderr {:#?}",
                self.seen,
                self.stderr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for KioskCall {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The operator: Chromium signed in to the console, the operator's side injected as JavaScript.

async fn browser(driver: &chromium::Driver) -> Client {
    chromium::browser(driver, &chromium::FAKE_MEDIA).await
}

async fn sign_in_as_operator(c: &Client, server: &TestServer) {
    chromium::sign_in(c, &server.url, "aigerim", PASSWORD).await;
    // Signed in: the login form is gone.
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.find(Locator::Css("input[name=password]")).await.is_ok() {
        assert!(Instant::now() < deadline, "the operator could not sign in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The operator's side of a call, as the console does it: its own socket to `/console/call`
/// (same origin, the session cookie), available, answers the first incoming call, and answers
/// the kiosk's offer with Chromium's fake camera and microphone, trickling candidates.
const OPERATOR: &str = r#"
if (window.op && window.op.ws) { try { window.op.ws.close(); } catch (e) {} }
if (window.pc) { try { window.pc.close(); } catch (e) {} }
const op = { log: [], state: "connecting", error: null, callId: null, ended: null, ws: null };
window.op = op;
window.pc = null;
const ws = new WebSocket("ws://" + location.host + "/console/call");
op.ws = ws;
const send = (m) => ws.send(JSON.stringify(m));
let chain = Promise.resolve();
let stream = null;
ws.onopen = () => { op.state = "open"; send({ type: "set_available", available: true }); };
ws.onclose = () => { op.state = "closed"; };
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  op.log.push([m.type, m.code || m.reason || m.available].join(":"));
  chain = chain.then(() => handle(m)).catch((err) => { op.error = String(err); });
};
async function handle(m) {
  if (m.type === "availability" && m.available) {
    op.state = "available";
  } else if (m.type === "incoming" && !op.callId) {
    op.callId = m.call_id;
    send({ type: "answer", call_id: m.call_id });
  } else if (m.type === "accepted" && m.call_id === op.callId) {
    stream = stream || await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
    const pc = new RTCPeerConnection({ iceServers: m.ice_servers });
    window.pc = pc;
    pc.onicecandidate = (ev) => {
      if (ev.candidate && ev.candidate.candidate) {
        send({ type: "ice_candidate", call_id: m.call_id, mline_index: ev.candidate.sdpMLineIndex, candidate: ev.candidate.candidate });
      }
    };
  } else if (m.type === "sdp_offer" && m.call_id === op.callId && window.pc) {
    const pc = window.pc;
    await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    await pc.setLocalDescription(await pc.createAnswer());
    // A broken console: an answer that starts right but is no session description.
    const sdp = window.opBadAnswer ? "v=0\r\nthis is not an answer\r\n" : pc.localDescription.sdp;
    send({ type: "sdp_answer", call_id: m.call_id, sdp });
  } else if (m.type === "ice_candidate" && m.call_id === op.callId && window.pc) {
    await window.pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: m.mline_index });
  } else if (m.type === "ended" && m.call_id === op.callId) {
    op.ended = m.reason;
    if (window.pc) window.pc.close();
  }
}
window.opHangUp = () => {
  send({ type: "hang_up", call_id: op.callId, reason: "hung_up" });
  op.ended = "hung_up_here";
  if (window.pc) window.pc.close();
  return true;
};
"#;

/// Opens a document of the console's origin without the console's own script (its style
/// sheet), and starts the
/// operator's side there; returns once the server holds the operator available.
async fn operator_ready(c: &Client, server: &TestServer) {
    c.goto(&format!("{}/console/static/console.css", server.url))
        .await
        .unwrap();
    c.execute(OPERATOR, vec![]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let op = c
            .execute(
                "const o = window.op || {}; return { state: o.state, log: o.log, \
                 error: o.error, href: location.href };",
                vec![],
            )
            .await
            .unwrap();
        if op["state"] == "available" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the operator's socket did not become available: {op}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.state.calls.operators_available(true) {
        assert!(Instant::now() < deadline, "the operator is not available");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The browser's view of the call.
#[derive(Debug, Default, Clone)]
struct BrowserStats {
    video_bytes: u64,
    audio_bytes: u64,
    frames_decoded: u64,
    state: String,
    ended: Option<String>,
    error: Option<String>,
    log: Vec<String>,
}

async fn browser_stats(c: &Client) -> BrowserStats {
    let v = c
        .execute_async(
            r#"const done = arguments[0];
            const op = window.op || {};
            const base = { state: "", ended: op.ended, error: op.error, log: op.log || [],
                           video: 0, audio: 0, frames: 0 };
            if (!window.pc) { done(base); return; }
            window.pc.getStats().then((r) => {
              r.forEach((s) => {
                if (s.type === "inbound-rtp") {
                  base[s.kind] = s.bytesReceived || 0;
                  if (s.kind === "video") base.frames = s.framesDecoded || 0;
                }
              });
              base.state = window.pc.connectionState;
              done(base);
            }, (e) => { base.error = String(e); done(base); });"#,
            vec![],
        )
        .await
        .unwrap();
    BrowserStats {
        video_bytes: v["video"].as_u64().unwrap_or(0),
        audio_bytes: v["audio"].as_u64().unwrap_or(0),
        frames_decoded: v["frames"].as_u64().unwrap_or(0),
        state: v["state"].as_str().unwrap_or_default().to_string(),
        ended: v["ended"].as_str().map(str::to_string),
        error: v["error"].as_str().map(str::to_string),
        log: v["log"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Polls the browser (and the kiosk's output) until `done` holds; panics after `limit`.
async fn wait_browser(
    c: &Client,
    call: &mut KioskCall,
    what: &str,
    limit: Duration,
    done: impl Fn(&BrowserStats) -> bool,
) -> BrowserStats {
    let start = Instant::now();
    loop {
        call.pump();
        let stats = browser_stats(c).await;
        assert!(
            stats.error.is_none(),
            "the operator's page failed: {stats:?}"
        );
        if done(&stats) {
            return stats;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}; browser {stats:?}; kiosk {:#?}; stderr {:#?}",
            call.seen,
            call.stderr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The cases.

async fn media_flows_both_ways_and_a_foreign_message_is_refused(
    c: &Client,
    server: &TestServer,
    kiosk: &Kiosk,
) {
    operator_ready(c, server).await;
    let mut call = kiosk.call(4);
    let told = call
        .wait_event("availability", Duration::from_secs(15))
        .await;
    assert_eq!(told["operators_available"], true, "{told}");
    let ringing = call.wait_event("ringing", Duration::from_secs(15)).await;
    let call_id = ringing["call_id"].as_str().unwrap().to_string();
    let answered = call.wait_event("answered", Duration::from_secs(15)).await;
    assert_eq!(answered["operator"], "Aigerim Sadykova");

    // Another kiosk tries to hang this call up: refused, and the call goes on.
    let (_, token) = server.enrol(&reqwest::Client::new(), "Ward 9").await;
    let intruder_call_id = call_id.clone();
    let url = kiosk.backend.clone();
    let refusal = tokio::task::spawn_blocking(move || {
        let (tx, rx) = mpsc::channel();
        let endpoint = Endpoint::new(&url, None, &token).unwrap();
        let socket = Signalling::connect(&endpoint, move |incoming| {
            let _ = tx.send(incoming);
        })
        .unwrap();
        socket
            .send(KioskMessage::HangUp {
                call_id: intruder_call_id,
                reason: EndReason::HungUp,
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx
                .recv_timeout(left)
                .expect("no answer to the foreign hang_up")
            {
                Incoming::Message(ToKiosk::Error { code, call_id, .. }) => return (code, call_id),
                Incoming::Message(ToKiosk::Availability { .. }) => {}
                other => panic!("unexpected answer to a foreign hang_up: {other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(refusal.0, ErrorCode::NotYourCall);
    assert_eq!(refusal.1.as_deref(), Some(call_id.as_str()));

    // A wrong token and a revoked kiosk are told apart, with what to do.
    let (intruder_id, intruder_token) = server.enrol(&reqwest::Client::new(), "Ward 10").await;
    server
        .state
        .db
        .write(|tx| senim_callcentre::db::revoke_kiosk(tx, &intruder_id, chrono::Utc::now()))
        .unwrap();
    let url = kiosk.backend.clone();
    let (wrong, revoked) = tokio::task::spawn_blocking(move || {
        let try_token = |token: &str| {
            let endpoint = Endpoint::new(&url, None, token).unwrap();
            Signalling::connect(&endpoint, |_| {})
                .map(|_| ())
                .unwrap_err()
        };
        (try_token("not-a-token"), try_token(&intruder_token))
    })
    .await
    .unwrap();
    assert_eq!(wrong, SignallingError::Unauthorized);
    assert!(wrong.to_string().contains("senim-kiosk enrol"), "{wrong}");
    assert_eq!(revoked, SignallingError::Revoked);

    call.wait_event("connected", Duration::from_secs(30)).await;
    // The operator's browser receives the kiosk's picture and sound, and keeps receiving.
    let first = wait_browser(
        c,
        &mut call,
        "browser receives",
        Duration::from_secs(20),
        |s| s.video_bytes > 5_000 && s.audio_bytes > 500 && s.frames_decoded > 0,
    )
    .await;
    let second = wait_browser(
        c,
        &mut call,
        "browser keeps receiving",
        Duration::from_secs(20),
        |s| {
            s.video_bytes > first.video_bytes + 2_000
                && s.audio_bytes > first.audio_bytes + 500
                && s.frames_decoded > first.frames_decoded
        },
    )
    .await;
    println!("operator's browser: {second:?}");
    assert_eq!(second.state, "connected");

    let (code, ended) = call.finished(Duration::from_secs(30)).await;
    assert_eq!(ended["reason"], "hung_up_by_kiosk", "{ended}");
    assert_eq!(ended["media_both_ways"], true, "{ended}");
    let first_frame = ended["answer_to_first_frame_ms"]
        .as_u64()
        .expect("a first frame time");
    println!("answer → first operator frame on the kiosk: {first_frame} ms");
    assert_eq!(code, 0, "{:#?}; stderr {:#?}", call.seen, call.stderr);
    let media = call.last_media().expect("media figures").clone();
    for figure in [
        "operator_frames_received",
        "operator_frames_drawn",
        "audio_packets_received",
        "frames_sent",
    ] {
        assert!(media[figure].as_u64().unwrap() > 0, "{figure}: {media}");
    }
    // Figures at least once a second: 4 s in the call, more than 3 lines.
    let lines = call.seen.iter().filter(|v| v["event"] == "media").count();
    assert!(lines >= 4, "{lines} media lines");
    let after = wait_browser(
        c,
        &mut call,
        "operator told",
        Duration::from_secs(10),
        |s| s.ended.is_some(),
    )
    .await;
    assert_eq!(after.ended.as_deref(), Some("hung_up"), "{after:?}");
    assert!(
        after.log.iter().any(|l| l == "taken:"),
        "the operator saw who took the call: {:?}",
        after.log
    );
}

async fn the_operator_hangs_up(c: &Client, server: &TestServer, kiosk: &Kiosk) {
    operator_ready(c, server).await;
    let mut call = kiosk.call(120);
    call.wait_event("connected", Duration::from_secs(30)).await;
    wait_browser(
        c,
        &mut call,
        "browser receives",
        Duration::from_secs(20),
        |s| s.video_bytes > 5_000 && s.audio_bytes > 500,
    )
    .await;
    call.wait_operator_media(Duration::from_secs(20)).await;
    c.execute("return window.opHangUp();", vec![])
        .await
        .unwrap();
    let started = Instant::now();
    let (code, ended) = call.finished(Duration::from_secs(10)).await;
    println!(
        "operator hung up → kiosk exited after {:?}",
        started.elapsed()
    );
    assert_eq!(ended["reason"], "hung_up_by_operator", "{ended}");
    assert_ne!(code, 0);
    assert!(
        call.stderr
            .iter()
            .any(|l| l.contains("hung_up_by_operator")),
        "the exit says why: {:#?}",
        call.stderr
    );
}

async fn a_malformed_answer_ends_the_call_on_both_sides(
    c: &Client,
    server: &TestServer,
    kiosk: &Kiosk,
) {
    operator_ready(c, server).await;
    c.execute("window.opBadAnswer = true; return true;", vec![])
        .await
        .unwrap();
    let mut call = kiosk.call(120);
    call.wait_event("answered", Duration::from_secs(15)).await;
    let (code, ended) = call.finished(Duration::from_secs(20)).await;
    assert_eq!(ended["reason"], "failed", "{ended}");
    assert!(
        ended["detail"].as_str().unwrap().contains("malformed"),
        "{ended}"
    );
    assert_ne!(code, 0);
    assert!(call.event("connected").is_none());
    let after = wait_browser(
        c,
        &mut call,
        "operator told",
        Duration::from_secs(10),
        |s| s.ended.is_some(),
    )
    .await;
    assert_eq!(after.ended.as_deref(), Some("error"), "{after:?}");
}

/// A second call-centre that rings for 2 s: first nobody is available, then an operator is
/// available (their own socket, no browser) but does not answer.
async fn nobody_available_then_nobody_answers() {
    let mut config = test_config();
    config.call.ring_seconds = 2;
    // One STUN server that answers and one that does not, for the doctor.
    let stun = stun_server();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    config.call.stun_urls = vec![
        format!("stun:{stun}"),
        format!("stun:{}", silent.local_addr().unwrap()),
    ];
    let server = TestServer::start_with(config, None).await;
    server.operator("bolat", PASSWORD, "Bolat Nurov");
    let kiosk = Kiosk::enrolled(&server).await;

    // The doctor: the socket opens with the token and tells availability; one STUN server
    // answers, the other fails with a hint.
    let out = kiosk.command(&["doctor", "--json"]).output().unwrap();
    let checks: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let call_check = checks
        .iter()
        .find(|c| c["check"] == "call")
        .expect("a call check");
    assert_eq!(call_check["level"], "ok", "{call_check}");
    let detail = call_check["detail"].as_str().unwrap();
    assert!(
        detail.contains("open now: yes") && detail.contains("operators available now: no"),
        "{detail}"
    );
    let ice: Vec<&Value> = checks.iter().filter(|c| c["check"] == "ice").collect();
    assert_eq!(ice.len(), 2, "{checks:#?}");
    assert_eq!(ice[0]["level"], "ok", "{:?}", ice[0]);
    assert_eq!(ice[1]["level"], "fail", "{:?}", ice[1]);
    assert!(ice[1]["hint"].as_str().unwrap().contains("firewall"));
    println!(
        "doctor: {call_check}\ndoctor: {}\ndoctor: {}",
        ice[0], ice[1]
    );
    drop(silent);

    let mut call = kiosk.call(4);
    let (code, ended) = call.finished(Duration::from_secs(20)).await;
    assert_eq!(ended["reason"], "unavailable", "{ended}");
    assert_eq!(
        call.event("availability").unwrap()["operators_available"],
        false
    );
    assert_ne!(code, 0);
    assert!(call.event("ringing").is_none());

    let cookie = common::http_sign_in_as(&server, "bolat", PASSWORD)
        .await
        .expect("bolat signs in");
    let mut req = format!("ws://{}/console/call", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    req.headers_mut()
        .insert("Origin", server.url.parse().unwrap());
    let (mut console, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    use futures_util::SinkExt;
    console
        .send(Message::Text(
            r#"{"type":"set_available","available":true}"#.into(),
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.state.calls.operators_available(true) {
        assert!(Instant::now() < deadline, "bolat is not available");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let mut call = kiosk.call(4);
    call.wait_event("ringing", Duration::from_secs(15)).await;
    let (code, ended) = call.finished(Duration::from_secs(20)).await;
    println!("unanswered after {:?}", started.elapsed());
    assert_eq!(ended["reason"], "unanswered", "{ended}");
    assert_ne!(code, 0);
    assert!(call.event("answered").is_none());

    // The glue itself: the kiosk's own ring limit, and a cancel while ringing that the
    // operator's console hears about.
    let token = senim_kiosk::store::Store::open(&kiosk.data)
        .unwrap()
        .enrolment()
        .unwrap()
        .unwrap()
        .token;
    let endpoint = Endpoint::new(&server.url, None, &token).unwrap();
    let setup = |ring_timeout| CallSetup {
        endpoint: endpoint.clone(),
        devices: senim_kiosk::devices::camera::CameraConfig::test_sources(true, true),
        local_addresses: vec!["127.0.0.1".parse().unwrap()],
        ring_timeout,
        capture: None,
    };
    let request = CallRequest {
        call_id: Some("kiosk-chosen-id-1".into()),
        topic: Topic::Complaint,
        iin: Some("880101300010".into()),
        test: false,
    };
    let (tx, news) = mpsc::channel();
    let live = LiveCall::place(
        request.clone(),
        setup(Some(Duration::from_secs(1))),
        move |n| {
            let _ = tx.send(n);
        },
    )
    .unwrap();
    match next_news(&news).await {
        CallNews::Ringing { call_id } => assert_eq!(call_id, "kiosk-chosen-id-1"),
        other => panic!("expected ringing, got {other:?}"),
    }
    match next_news(&news).await {
        CallNews::Ended { reason, detail } => {
            assert_eq!(reason, CallEnd::Unanswered, "{detail}");
            assert!(detail.contains("within 1 s"), "{detail}");
        }
        other => panic!("expected the kiosk's own ring limit, got {other:?}"),
    }
    drop(live);
    let ended = console_expect(&mut console, "ended", "kiosk-chosen-id-1").await;
    assert_eq!(ended["reason"], "unanswered");

    let (tx, news) = mpsc::channel();
    let request = CallRequest {
        call_id: Some("kiosk-chosen-id-2".into()),
        ..request
    };
    let live = LiveCall::place(request, setup(None), move |n| {
        let _ = tx.send(n);
    })
    .unwrap();
    assert!(matches!(next_news(&news).await, CallNews::Ringing { .. }));
    let incoming = console_expect(&mut console, "incoming", "kiosk-chosen-id-2").await;
    assert_eq!(incoming["test"], false);
    live.cancel();
    match next_news(&news).await {
        CallNews::Ended { reason, .. } => assert_eq!(reason, CallEnd::HungUpByKiosk),
        other => panic!("expected the kiosk's hang-up, got {other:?}"),
    }
    let ended = console_expect(&mut console, "ended", "kiosk-chosen-id-2").await;
    assert_eq!(ended["reason"], "hung_up");
    assert_eq!(live.stats(), Default::default());
    drop(live);
    drop(console);

    // A call-centre that is not there: `cannot_connect`, with what to check.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", nowhere.local_addr().unwrap());
    drop(nowhere);
    let mut call = kiosk.call_with(4, &["--backend", &url]);
    let (code, ended) = call.finished(Duration::from_secs(20)).await;
    assert_eq!(ended["reason"], "cannot_connect", "{ended}");
    assert!(
        ended["detail"].as_str().unwrap().contains("backend_url"),
        "{ended}"
    );
    assert_ne!(code, 0);
}

/// The next news of a call placed by the test; panics after 15 s.
async fn next_news(news: &mpsc::Receiver<CallNews>) -> CallNews {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match news.try_recv() {
            Ok(CallNews::RemoteFrame(_)) => {}
            Ok(n) => return n,
            Err(mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no news from the call within 15 s ({e})"),
        }
    }
}

/// The next message of type `kind` about `call_id` on a console socket (others skipped);
/// panics after 15 s.
async fn console_expect(
    console: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    kind: &str,
    call_id: &str,
) -> Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, console.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` of {call_id} on the console within 15 s"))
            .expect("the console socket closed")
            .unwrap();
        if let Message::Text(text) = frame {
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["type"] == kind && v["call_id"] == call_id {
                return v;
            }
        }
    }
}

/// A STUN server on loopback answering every binding request with success.
fn stun_server() -> std::net::SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if n >= 20 && buf[0..2] == [0, 1] {
                let mut answer = buf[..20].to_vec();
                answer[0..2].copy_from_slice(&[0x01, 0x01]);
                let _ = socket.send_to(&answer, from);
            }
        }
    });
    addr
}

async fn the_browser_dies_mid_call(c: &Client, server: &TestServer, kiosk: &Kiosk) {
    operator_ready(c, server).await;
    let mut call = kiosk.call(120);
    call.wait_event("connected", Duration::from_secs(30)).await;
    wait_browser(
        c,
        &mut call,
        "browser receives",
        Duration::from_secs(20),
        |s| s.video_bytes > 5_000 && s.audio_bytes > 500,
    )
    .await;
    call.wait_operator_media(Duration::from_secs(20)).await;
    netns::kill_chromium();
    let started = Instant::now();
    let (code, ended) = call.finished(Duration::from_secs(10)).await;
    println!(
        "browser killed → kiosk ended {} after {:?}",
        ended["reason"],
        started.elapsed()
    );
    assert_eq!(ended["reason"], "lost", "{ended}");
    assert_ne!(code, 0);
    assert!(started.elapsed() < Duration::from_secs(8));
}
