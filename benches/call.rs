//! `make bench` rows for the live call: answer → first operator frame on the kiosk (median of
//! calls on loopback), the kiosk's CPU in a 640×480 call against the same recording without
//! one (median ratio of alternating runs), and a call over a poor hospital link (512 kbit/s,
//! 100 ms queueing delay, 2 % loss each way): frames per second both ways and voice packets
//! lost. Prints one JSON object, also written to `$SENIM_BENCH_JSON` when set;
//! `scripts/bench.py` turns it into table rows.
//!
//! Like `tests/call_media.rs` it re-runs itself under `unshare --net --pid`: only loopback, and
//! the browser dies with the bench. The poor link: this machine's kernel has no `sch_netem`
//! (nor `tbf`'s and `prio`'s modules), and Chromium 156 ignores libwebrtc's network-emulation
//! field trials, so the link is a relay in user space (`call_peer::Shaper`): the browser is
//! given the relay's address instead of the kiosk's, and the kiosk learns the browser only from
//! the relay's checks, so every packet crosses it; each direction waits in a queue behind the
//! rate limit (tail drop past 500 ms), then the delay, and loses its share at random, as
//! `tc netem rate 512kbit delay 100ms loss 2%` would. `scripts/bench.py` checks the round trip
//! it measures shows the delay, so an unshaped run cannot pass for a poor link.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{json, Value};

use senim_kiosk::devices::camera::{Camera, CameraConfig, CameraEvent};

#[path = "../tests/support/call_peer.rs"]
mod call_peer;
#[path = "../callcentre/tests/common/chromium.rs"]
mod chromium;
#[path = "../callcentre/tests/common/netns.rs"]
mod netns;
use call_peer::{Call, CallTarget};

const ANSWER_RUNS: usize = 5;
const CPU_RUNS: usize = 3;
const WARM_UP: Duration = Duration::from_secs(3);
const WINDOW: Duration = Duration::from_secs(10);
const POOR_WINDOW: Duration = Duration::from_secs(20);
/// The poor link, each way.
const LINK_KBPS: u32 = 512;
const LINK_DELAY_MS: u32 = 100;
const LINK_LOSS_PERCENT: u32 = 2;

fn main() {
    netns::isolated("the call bench", || {
        child();
    });
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// utime + stime of this process (all threads), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn child() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let driver = chromium::start_chromedriver();
        // `SENIM_BENCH_CALL=poor-link`: only the poor link (while working on it).
        if std::env::var("SENIM_BENCH_CALL").as_deref() == Ok("poor-link") {
            let browser = call_peer::browser(&driver).await;
            let poor = poor_link(&browser).await;
            browser.close().await.unwrap();
            return json!({ "poor_link": poor });
        }
        let browser = call_peer::browser(&driver).await;
        let answer_ms = answer_to_first_frame(&browser).await;
        let (alone, in_call) = cpu_in_call(&browser).await;
        browser.close().await.unwrap();

        let poor_browser = call_peer::browser(&driver).await;
        let poor = poor_link(&poor_browser).await;
        poor_browser.close().await.unwrap();
        json!({
            "answer_runs": ANSWER_RUNS,
            "answer_to_first_frame_ms": answer_ms,
            "cpu_runs": CPU_RUNS,
            "record_cpu_percent": median(alone.clone()) * 100.0,
            "call_cpu_percent": median(in_call.clone()) * 100.0,
            "call_cpu_ratio": median(in_call.iter().zip(&alone).map(|(c, a)| c / a).collect()),
            "poor_link": poor,
        })
    });
    let text = out.to_string();
    println!("{text}");
    if let Some(path) = std::env::var_os("SENIM_BENCH_JSON") {
        std::fs::write(path, &text).unwrap();
    }
}

/// The median time from the operator's answer reaching the kiosk to the first operator frame
/// decoded there, in ms.
async fn answer_to_first_frame(c: &Client) -> f64 {
    let mut ms = Vec::new();
    for _ in 0..=ANSWER_RUNS {
        let mut call = Call::start(c).await;
        call.connected().await;
        call.wait("first frame", Duration::from_secs(30), |c| {
            c.first_frame_at.is_some()
        })
        .await;
        ms.push((call.first_frame_at.unwrap() - call.answered_at.unwrap()).as_secs_f64() * 1e3);
        call.media.hang_up();
        call.wait("ended", Duration::from_secs(10), |c| c.over())
            .await;
    }
    ms.remove(0); // warm-up
    median(ms)
}

fn bench_camera() -> CameraConfig {
    CameraConfig {
        width: 640,
        height: 480,
        ..CameraConfig::test_sources(true, true)
    }
}

/// This process's CPU share while `camera` records a take (and a call runs, if `call`), over
/// [`WINDOW`] after [`WARM_UP`].
async fn cpu_share(
    camera: &Camera,
    events: &mpsc::Receiver<CameraEvent>,
    dir: &std::path::Path,
    mut call: Option<&mut Call>,
) -> f64 {
    camera.start_recording(dir);
    let pump = |call: &mut Option<&mut Call>| {
        if let Some(call) = call.as_deref_mut() {
            call.pump();
        }
    };
    let start = Instant::now();
    while start.elapsed() < WARM_UP {
        pump(&mut call);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (c0, t0) = (cpu_seconds(), Instant::now());
    while t0.elapsed() < WINDOW {
        pump(&mut call);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let share = (cpu_seconds() - c0) / t0.elapsed().as_secs_f64();
    camera.stop_recording();
    loop {
        pump(&mut call);
        match events.recv_timeout(Duration::from_secs(15)).unwrap() {
            CameraEvent::TakeFinished(r) => {
                r.unwrap();
                break;
            }
            _ => continue,
        }
    }
    share
}

/// (recording alone, recording in a call): this process's CPU share per run.
async fn cpu_in_call(c: &Client) -> (Vec<f64>, Vec<f64>) {
    let (tx, events) = mpsc::channel();
    let camera = Camera::open(bench_camera(), move |e| {
        if !matches!(e, CameraEvent::Frame(_) | CameraEvent::Level { .. }) {
            let _ = tx.send(e);
        }
    })
    .unwrap();
    camera.start_preview();
    let tmp = tempfile::tempdir().unwrap();
    let (mut alone, mut in_call) = (Vec::new(), Vec::new());
    for run in 0..CPU_RUNS {
        alone.push(cpu_share(&camera, &events, &tmp.path().join(format!("a{run}")), None).await);
        let mut call =
            Call::start_on(c, true, CallTarget::Shared(camera.lender()), bench_camera()).await;
        call.connected().await;
        let share = cpu_share(
            &camera,
            &events,
            &tmp.path().join(format!("c{run}")),
            Some(&mut call),
        )
        .await;
        in_call.push(share);
        call.media.hang_up();
        call.wait("ended", Duration::from_secs(10), |c| c.over())
            .await;
    }
    (alone, in_call)
}

/// The browser's detailed view of the call: inbound video frames decoded, inbound audio
/// packets received and lost, the round trip to the kiosk.
async fn browser_detail(c: &Client) -> Value {
    c.execute(
        r#"return pc.getStats().then((r) => {
          const o = { frames: 0, audio_received: 0, audio_lost: 0, rtt: null };
          r.forEach((s) => {
            if (s.type === "inbound-rtp" && s.kind === "video") o.frames = s.framesDecoded || 0;
            if (s.type === "inbound-rtp" && s.kind === "audio") {
              o.audio_received = s.packetsReceived || 0;
              o.audio_lost = s.packetsLost || 0;
            }
            if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null)
              o.rtt = s.currentRoundTripTime;
          });
          return o;
        });"#,
        vec![],
    )
    .await
    .unwrap()
}

/// A call over the shaped link, measured over [`POOR_WINDOW`] after it settles.
async fn poor_link(c: &Client) -> Value {
    let mut call = Call::start_on(c, true, CallTarget::Own, bench_camera()).await;
    call.shaper = Some(call_peer::Shaper::new(call_peer::Link {
        kbps: LINK_KBPS,
        delay: Duration::from_millis(u64::from(LINK_DELAY_MS)),
        loss_percent: LINK_LOSS_PERCENT,
        max_queue: Duration::from_millis(500),
    }));
    call.connected().await;
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(10) {
        call.pump();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (k0, b0, t0) = (
        call.media.counters(),
        browser_detail(c).await,
        Instant::now(),
    );
    while t0.elapsed() < POOR_WINDOW {
        call.pump();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (k1, b1) = (call.media.counters(), browser_detail(c).await);
    let secs = t0.elapsed().as_secs_f64();
    let n = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    let received = n(&b1, "audio_received") - n(&b0, "audio_received");
    let lost = n(&b1, "audio_lost") - n(&b0, "audio_lost");
    // Opus at 20 ms: 50 packets a second are sent each way.
    let operator_voice = (k1.audio_packets_received - k0.audio_packets_received) as f64;
    let result = json!({
        "link_kbps": LINK_KBPS,
        "link_delay_ms": LINK_DELAY_MS,
        "link_loss_percent": LINK_LOSS_PERCENT,
        "seconds": secs,
        "rtt_ms": b1["rtt"].as_f64().map(|r| r * 1e3),
        "kiosk_to_operator_fps": (n(&b1, "frames") - n(&b0, "frames")) / secs,
        "operator_to_kiosk_fps":
            (k1.remote_frames_received - k0.remote_frames_received) as f64 / secs,
        "kiosk_voice_lost_percent": 100.0 * lost / (received + lost).max(1.0),
        "operator_voice_lost_percent": 100.0 * (1.0 - operator_voice / (50.0 * secs)).max(0.0),
        "kiosk_video_kbps": k1.video_target_bps / 1000,
        "kiosk_state": format!("{:?}", call.states.last()),
    });
    call.media.hang_up();
    call.wait("ended", Duration::from_secs(10), |c| c.over())
        .await;
    result
}
