//! The operator's side of a call for the call media test and the call bench: a Chromium page
//! that does what the console does (getUserMedia + RTCPeerConnection, fake camera and
//! microphone), a tiny HTTP signalling server between it and the kiosk's `CallMedia`, and
//! the browser's `getStats()` view. Included with `#[path]` (the including file also includes
//! `callcentre/tests/common/chromium.rs` as `chromium`).

#![allow(dead_code)]

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fantoccini::Client;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use senim_kiosk::devices::call::{CallConfig, CallError, CallEvent, CallMedia, CallState};
use senim_kiosk::devices::camera::{CameraConfig, CaptureLender};

// The signalling and page server: the browser polls for the kiosk's messages and posts its own.

#[derive(Default)]
pub struct Shared {
    pub to_browser: Mutex<Vec<Value>>,
    pub from_browser: Mutex<Option<UnboundedSender<Value>>>,
}

#[derive(serde::Deserialize)]
pub struct Since {
    since: usize,
}

pub const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>operator</title>
<video id="remote" autoplay muted playsinline></video>
<script>
window.callInfo = { state: "new", candidates: [], error: null };
const pc = new RTCPeerConnection({ iceServers: [] });
window.pc = pc;
pc.onconnectionstatechange = () => { callInfo.state = pc.connectionState; };
let chain = Promise.resolve();
function post(msg) {
  chain = chain.then(() => fetch("/from-browser", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(msg),
  }));
}
let answered = false;
const early = [];
pc.onicecandidate = (e) => {
  if (!e.candidate || !e.candidate.candidate) return;
  callInfo.candidates.push(e.candidate.candidate);
  const msg = { type: "candidate", mline: e.candidate.sdpMLineIndex, candidate: e.candidate.candidate };
  if (answered) post(msg); else early.push(msg);
};
pc.ontrack = (e) => {
  if (e.track.kind === "video") {
    document.getElementById("remote").srcObject = e.streams[0] || new MediaStream([e.track]);
  }
};
async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  let seen = 0;
  for (;;) {
    const msgs = await (await fetch("/to-browser?since=" + seen)).json();
    for (const m of msgs) {
      seen++;
      if (m.type === "offer") {
        await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
        for (const t of stream.getTracks()) pc.addTrack(t, stream);
        await pc.setLocalDescription(await pc.createAnswer());
        post({ type: "answer", sdp: pc.localDescription.sdp });
        answered = true;
        early.splice(0).forEach(post);
      } else if (m.type === "candidate") {
        await pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: m.mline });
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
main().catch((e) => { callInfo.error = String(e); });
</script>
"#;

/// Starts the server on 127.0.0.1:0; answers its URL, the shared queues and the browser's
/// messages.
pub async fn start_server() -> (String, Arc<Shared>, UnboundedReceiver<Value>) {
    let shared = Arc::new(Shared::default());
    let (tx, rx) = unbounded_channel();
    *shared.from_browser.lock().unwrap() = Some(tx);
    let app = Router::new()
        .route("/", get(|| async { axum::response::Html(PAGE) }))
        .route(
            "/to-browser",
            get(
                |State(s): State<Arc<Shared>>, Query(q): Query<Since>| async move {
                    let all = s.to_browser.lock().unwrap();
                    Json(Value::Array(all.iter().skip(q.since).cloned().collect()))
                },
            ),
        )
        .route(
            "/from-browser",
            post(
                |State(s): State<Arc<Shared>>, Json(v): Json<Value>| async move {
                    if let Some(tx) = s.from_browser.lock().unwrap().as_ref() {
                        let _ = tx.send(v);
                    }
                },
            ),
        )
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, shared, rx)
}

// ---------------------------------------------------------------------------------------------
// Chromium through chromedriver (as callcentre/tests/console.rs).

use crate::chromium::{self, browser as chromium_session};

/// The operator's Chromium: fake camera and microphone, and loopback ICE candidates.
pub async fn browser(driver: &chromium::Driver) -> Client {
    browser_with(driver, &[]).await
}

/// As [`browser`], with more Chromium flags.
pub async fn browser_with(driver: &chromium::Driver, more: &[&str]) -> Client {
    let mut args = chromium::FAKE_MEDIA.to_vec();
    args.extend_from_slice(more);
    chromium_session(driver, &args).await
}

/// The browser's view: inbound bytes per kind, frames decoded, connection state, candidates.
#[derive(Debug, Default, Clone)]
pub struct BrowserStats {
    pub video_bytes: u64,
    pub audio_bytes: u64,
    pub frames_decoded: u64,
    pub state: String,
    pub error: Option<String>,
    pub candidates: Vec<String>,
}

pub async fn browser_stats(c: &Client) -> BrowserStats {
    let v = c
        .execute(
            r#"if (!window.pc) return null;
            return pc.getStats().then((r) => {
              const o = { video: 0, audio: 0, frames: 0 };
              r.forEach((s) => {
                if (s.type === "inbound-rtp") {
                  o[s.kind] = s.bytesReceived || 0;
                  if (s.kind === "video") o.frames = s.framesDecoded || 0;
                }
              });
              o.state = pc.connectionState;
              o.error = callInfo.error;
              o.candidates = callInfo.candidates;
              return o;
            });"#,
            vec![],
        )
        .await
        .unwrap();
    if v.is_null() {
        return BrowserStats::default();
    }
    BrowserStats {
        video_bytes: v["video"].as_u64().unwrap_or(0),
        audio_bytes: v["audio"].as_u64().unwrap_or(0),
        frames_decoded: v["frames"].as_u64().unwrap_or(0),
        state: v["state"].as_str().unwrap_or_default().to_string(),
        error: v["error"].as_str().map(str::to_string),
        candidates: v["candidates"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

// ---------------------------------------------------------------------------------------------
// One call: the kiosk engine, the page, and the signalling between them.

pub struct Call {
    pub media: CallMedia,
    pub events: mpsc::Receiver<CallEvent>,
    pub shared: Arc<Shared>,
    pub from_browser: UnboundedReceiver<Value>,
    pub states: Vec<CallState>,
    pub failures: Vec<CallError>,
    pub local_candidates: Vec<String>,
    pub remote_candidates: Vec<String>,
    pub offer: Option<String>,
    pub answered_at: Option<Instant>,
    pub first_frame_at: Option<Instant>,
    pub frames_seen: u64,
    pub frame_size: Option<(u32, u32)>,
    /// A poor link between the two, when the call goes through one.
    pub shaper: Option<Shaper>,
}

/// Where the kiosk's side of a call gets its camera and microphone.
pub enum CallTarget {
    /// Opened by the call itself.
    Own,
    /// The camera's capture, shared.
    Shared(CaptureLender),
}

pub fn test_devices() -> CameraConfig {
    CameraConfig {
        width: 320,
        height: 240,
        fps: 15,
        video_kbps: 400,
        ..CameraConfig::test_sources(true, true)
    }
}

pub fn loopback_call() -> CallConfig {
    CallConfig {
        local_addresses: vec!["127.0.0.1".parse().unwrap()],
        ..CallConfig::default()
    }
}

impl Call {
    /// Opens the page on a fresh server and starts the kiosk's engine and offer.
    pub async fn start(c: &Client) -> Call {
        Call::start_with(c, true).await
    }

    /// As `start`; without `page` the browser shows nothing, so nobody answers the offer.
    pub async fn start_with(c: &Client, page: bool) -> Call {
        Call::start_on(c, page, CallTarget::Own, test_devices()).await
    }

    /// As `start`, on the camera's capture when a lender is given.
    pub async fn start_on(
        c: &Client,
        page: bool,
        target: CallTarget,
        devices: CameraConfig,
    ) -> Call {
        let (url, shared, from_browser) = start_server().await;
        c.goto(if page { &url } else { "about:blank" })
            .await
            .unwrap();
        let (tx, events) = mpsc::channel();
        let sink = move |e| {
            let _ = tx.send(e);
        };
        let media = match target {
            CallTarget::Shared(lender) => {
                CallMedia::start_shared(loopback_call(), devices, lender, sink).unwrap()
            }
            CallTarget::Own => CallMedia::start(loopback_call(), devices, sink).unwrap(),
        };
        media.create_offer().unwrap();
        Call {
            media,
            events,
            shared,
            from_browser,
            states: Vec::new(),
            failures: Vec::new(),
            local_candidates: Vec::new(),
            remote_candidates: Vec::new(),
            offer: None,
            answered_at: None,
            first_frame_at: None,
            frames_seen: 0,
            frame_size: None,
            shaper: None,
        }
    }

    /// Whether the call reached a final state.
    pub fn over(&self) -> bool {
        matches!(self.states.last(), Some(CallState::Ended | CallState::Lost))
    }

    /// Carries whatever is waiting between the kiosk and the browser.
    pub fn pump(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                CallEvent::LocalDescription(sdp) => {
                    self.shared
                        .to_browser
                        .lock()
                        .unwrap()
                        .push(json!({"type": "offer", "sdp": sdp}));
                    self.offer = Some(sdp);
                }
                CallEvent::IceCandidate { mline, candidate } => {
                    // Through the poor link: the browser only learns the relay's address.
                    let candidate = match &mut self.shaper {
                        Some(shaper) => shaper.relay(&candidate),
                        None => candidate,
                    };
                    self.shared
                        .to_browser
                        .lock()
                        .unwrap()
                        .push(json!({"type": "candidate", "mline": mline, "candidate": candidate}));
                    self.local_candidates.push(candidate);
                }
                CallEvent::State(s) => self.states.push(s),
                CallEvent::RemoteFrame(frame) => {
                    self.frames_seen += 1;
                    self.frame_size = Some((frame.pixels.width(), frame.pixels.height()));
                    self.first_frame_at.get_or_insert_with(Instant::now);
                }
                CallEvent::Counters(_) => {}
                CallEvent::Failed(e) => self.failures.push(e),
            }
        }
        while let Ok(msg) = self.from_browser.try_recv() {
            match msg["type"].as_str() {
                Some("answer") => {
                    self.media
                        .accept_answer(msg["sdp"].as_str().unwrap())
                        .unwrap();
                    self.answered_at = Some(Instant::now());
                }
                Some("candidate") => {
                    let candidate = msg["candidate"].as_str().unwrap().to_string();
                    let mline = msg["mline"].as_u64().unwrap() as u32;
                    // Through the poor link, the kiosk learns the browser only from the relay's
                    // checks (a peer-reflexive candidate), so no packet goes around it.
                    if self.shaper.is_none() {
                        self.media.add_remote_candidate(mline, &candidate).unwrap();
                    }
                    self.remote_candidates.push(candidate);
                }
                other => panic!("unexpected message from the browser: {other:?}"),
            }
        }
    }

    /// Pumps until `done` holds; panics with `what` after `limit`. Answers the time it took.
    pub async fn wait(
        &mut self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&Call) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            self.pump();
            if done(self) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "{what}: not within {limit:?} (kiosk states {:?}, failures {:?}, counters {:?})",
                self.states,
                self.failures,
                self.media.counters()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn connected(&mut self) {
        let took = self
            .wait("kiosk connected", Duration::from_secs(30), |c| {
                c.states.contains(&CallState::Connected)
            })
            .await;
        assert!(self.failures.is_empty(), "{:?}", self.failures);
        println!("call: connected {took:?} after the offer was asked for");
    }
}

/// Polls the browser until `done` holds; panics with `what` after `limit`.
pub async fn wait_browser(
    c: &Client,
    call: &mut Call,
    what: &str,
    limit: Duration,
    done: impl Fn(&BrowserStats) -> bool,
) -> (BrowserStats, Duration) {
    let start = Instant::now();
    loop {
        call.pump();
        let stats = browser_stats(c).await;
        assert!(stats.error.is_none(), "the page failed: {:?}", stats.error);
        if done(&stats) {
            return (stats, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}; browser {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A poor link in user space (this machine's kernel has no sch_netem): a UDP relay between the
// browser and the kiosk that queues each direction behind a rate limit, delays it and drops a
// share at random, as `tc netem rate … delay … loss …` would.

/// One direction of the link.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub kbps: u32,
    pub delay: Duration,
    /// Packets dropped at random, in percent.
    pub loss_percent: u32,
    /// Longest queue before tail drop.
    pub max_queue: Duration,
}

/// The relay: one socket the browser sends to per kiosk candidate.
pub struct Shaper {
    link: Link,
    /// The kiosk's candidate port → the relay port given to the browser in its place.
    ports: std::collections::HashMap<u16, u16>,
    seed: u64,
}

impl Shaper {
    pub fn new(link: Link) -> Shaper {
        Shaper {
            link,
            ports: std::collections::HashMap::new(),
            seed: 0x5eed,
        }
    }

    /// The kiosk's candidate as the browser should see it: the relay's port in place of the
    /// kiosk's (a relay socket per kiosk port, made on first sight). Must run in a tokio runtime.
    pub fn relay(&mut self, candidate: &str) -> String {
        let fields: Vec<&str> = candidate.split(' ').collect();
        let (Some(addr), Some(port)) = (fields.get(4), fields.get(5)) else {
            return candidate.to_string();
        };
        let Ok(kiosk_port) = port.parse::<u16>() else {
            return candidate.to_string();
        };
        if *addr != "127.0.0.1"
            || fields.get(2).map(|p| p.to_ascii_lowercase()) != Some("udp".into())
        {
            return candidate.to_string();
        }
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let (link, seed) = (self.link, self.seed);
        let relay_port = *self.ports.entry(kiosk_port).or_insert_with(|| {
            let outer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = outer.local_addr().unwrap().port();
            outer.set_nonblocking(true).unwrap();
            tokio::spawn(relay_task(outer, kiosk_port, link, seed));
            port
        });
        let mut out: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        out[5] = relay_port.to_string();
        out.join(" ")
    }
}

/// A tiny random generator for the loss (xorshift; no crate for a test's coin).
struct Coin(u64);

impl Coin {
    fn percent(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 100) as u32
    }
}

/// A queue behind a rate limit: when each packet would leave, or `None` (dropped).
struct Queue {
    link: Link,
    coin: Coin,
    free_at: tokio::time::Instant,
}

impl Queue {
    fn admit(&mut self, len: usize) -> Option<tokio::time::Instant> {
        if self.coin.percent() < self.link.loss_percent {
            return None;
        }
        let now = tokio::time::Instant::now();
        let start = self.free_at.max(now);
        if start - now > self.link.max_queue {
            return None; // tail drop: the queue is full
        }
        let wire = Duration::from_secs_f64(len as f64 * 8.0 / (f64::from(self.link.kbps) * 1000.0));
        self.free_at = start + wire;
        Some(self.free_at + self.link.delay)
    }
}

/// Relays between the browser (whoever sends to `outer`) and the kiosk's `kiosk_port`, through
/// an inner socket, each direction through its own queue.
async fn relay_task(outer: std::net::UdpSocket, kiosk_port: u16, link: Link, seed: u64) {
    let outer = Arc::new(tokio::net::UdpSocket::from_std(outer).unwrap());
    let inner = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let kiosk: std::net::SocketAddr = ([127, 0, 0, 1], kiosk_port).into();
    let browser = Arc::new(Mutex::new(None::<std::net::SocketAddr>));
    let new_queue = |seed: u64| Queue {
        link,
        coin: Coin(seed | 1),
        free_at: tokio::time::Instant::now(),
    };
    // Browser → kiosk.
    {
        let (outer, inner, browser) =
            (Arc::clone(&outer), Arc::clone(&inner), Arc::clone(&browser));
        let (tx, mut rx) = unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
        tokio::spawn(async move {
            while let Some((at, packet)) = rx.recv().await {
                tokio::time::sleep_until(at).await;
                let _ = inner.send_to(&packet, kiosk).await;
            }
        });
        let mut queue = new_queue(seed);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, from)) = outer.recv_from(&mut buf).await {
                *browser.lock().unwrap() = Some(from);
                if let Some(at) = queue.admit(n) {
                    let _ = tx.send((at, buf[..n].to_vec()));
                }
            }
        });
    }
    // Kiosk → browser.
    let (tx, mut rx) = unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    {
        let (outer, browser) = (Arc::clone(&outer), Arc::clone(&browser));
        tokio::spawn(async move {
            while let Some((at, packet)) = rx.recv().await {
                tokio::time::sleep_until(at).await;
                let to = *browser.lock().unwrap();
                if let Some(to) = to {
                    let _ = outer.send_to(&packet, to).await;
                }
            }
        });
    }
    let mut queue = new_queue(seed.rotate_left(17));
    let mut buf = vec![0u8; 65536];
    while let Ok((n, _)) = inner.recv_from(&mut buf).await {
        if let Some(at) = queue.admit(n) {
            let _ = tx.send((at, buf[..n].to_vec()));
        }
    }
}
