//! The call media engine against a real browser: the kiosk's `CallMedia` (test camera and
//! tone) calls a Chromium page that does what the operator's console will do (getUserMedia +
//! RTCPeerConnection, fake camera and microphone), through a tiny HTTP signalling server.
//! Media must flow both ways; a hang-up on the kiosk must end the browser's connection; a
//! browser that closes its peer connection, or its page, must show as `Lost` on the kiosk; a
//! malformed answer must be a typed error, not a panic.
//!
//! `harness = false`: the parent re-runs this binary under `unshare --net --pid` (as root, or
//! as a user with a user namespace), in a fresh network namespace that has only `lo`, so every
//! packet of the test stays on loopback, and a PID namespace that takes the browser down with
//! the test.
//!
//! The operator's page, its signalling server and the kiosk's side of one call are in
//! `tests/support/call_peer.rs` (shared with `benches/call.rs`).

use std::sync::mpsc;
use std::time::Duration;

use fantoccini::Client;

use senim_kiosk::devices::call::{CallError, CallState};
use senim_kiosk::devices::camera::{Camera, CameraEvent};

#[path = "support/call_peer.rs"]
mod call_peer;
#[path = "../callcentre/tests/common/chromium.rs"]
mod chromium;
#[path = "../callcentre/tests/common/netns.rs"]
mod netns;
use call_peer::{browser, test_devices, wait_browser, Call, CallTarget};
use chromium::start_chromedriver;

fn main() {
    netns::isolated("the call media scenario", || {
        child();
        println!("call media: both ways, hang-up, peer gone and a bad answer all behave");
    });
}

fn child() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let driver = start_chromedriver();
        let browser = browser(&driver).await;
        media_both_ways_then_kiosk_hangs_up(&browser).await;
        browser_closes_its_peer_connection(&browser, false).await;
        browser_closes_its_peer_connection(&browser, true).await;
        malformed_answer_is_a_typed_error(&browser).await;
        call_on_the_cameras_capture_records_both_voices(&browser).await;
        browser.close().await.unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// The cases.

async fn media_both_ways_then_kiosk_hangs_up(c: &Client) {
    let mut call = Call::start(c).await;
    call.connected().await;

    // The kiosk receives and decodes the operator's picture and voice.
    call.wait(
        "kiosk receives 60 frames and audio",
        Duration::from_secs(30),
        |c| {
            let n = c.media.counters();
            n.remote_frames_received >= 60 && n.audio_packets_received > 0
        },
    )
    .await;
    let to_first_frame = call.first_frame_at.unwrap() - call.answered_at.unwrap();
    assert!(call.frames_seen > 0);

    // The browser receives the kiosk's picture and sound, and keeps receiving.
    let (first, _) = wait_browser(
        c,
        &mut call,
        "browser receives",
        Duration::from_secs(20),
        |s| s.video_bytes > 20_000 && s.audio_bytes > 2_000 && s.frames_decoded > 10,
    )
    .await;
    let (second, _) = wait_browser(
        c,
        &mut call,
        "browser keeps receiving",
        Duration::from_secs(20),
        |s| {
            s.video_bytes > first.video_bytes + 20_000
                && s.audio_bytes > first.audio_bytes + 2_000
                && s.frames_decoded > first.frames_decoded + 10
        },
    )
    .await;
    assert_eq!(second.state, "connected");

    // Loopback host candidates on both sides: Chromium's, in plain (no mDNS .local name,
    // since the page holds the media permission), and the kiosk's only on 127.0.0.1.
    assert!(!call.remote_candidates.is_empty());
    for cand in call.remote_candidates.iter().chain(&second.candidates) {
        assert!(
            !cand.contains(".local"),
            "Chromium hid a host behind mDNS: {cand}"
        );
    }
    assert!(
        call.remote_candidates
            .iter()
            .any(|c| c.contains(" 127.0.0.1 ")),
        "{:?}",
        call.remote_candidates
    );
    assert!(!call.local_candidates.is_empty());
    for cand in &call.local_candidates {
        assert!(
            cand.contains(" 127.0.0.1 "),
            "kiosk candidate off loopback: {cand}"
        );
    }
    let offer = call.offer.clone().unwrap();
    // max-bundle: one transport for both sections (webrtcbin names them video0, audio1).
    let bundle = offer
        .lines()
        .find_map(|l| l.strip_prefix("a=group:BUNDLE "))
        .expect("the offer bundles its media");
    assert_eq!(bundle.split(' ').count(), 2, "{offer}");
    assert!(offer.contains("a=bundle-only"), "{offer}");
    assert!(
        offer.contains("VP8/90000") && offer.contains("OPUS/48000/2"),
        "{offer}"
    );

    let counters = call.media.counters();
    println!(
        "call: answer → first remote frame {to_first_frame:?}; kiosk {counters:?}, {} frames drawn \
         at {:?}; browser video {} B, audio {} B, {} frames decoded",
        call.frames_seen, call.frame_size, second.video_bytes, second.audio_bytes,
        second.frames_decoded
    );
    assert!(counters.frames_sent > 30, "{counters:?}");

    // The kiosk hangs up: the browser's connection ends.
    call.media.hang_up();
    call.wait("kiosk ended", Duration::from_secs(5), |c| {
        c.states.last() == Some(&CallState::Ended)
    })
    .await;
    assert!(call.failures.is_empty(), "{:?}", call.failures);
    let (stats, took) = wait_browser(
        c,
        &mut call,
        "browser notices the hang-up",
        Duration::from_secs(40),
        |s| matches!(s.state.as_str(), "disconnected" | "failed" | "closed"),
    )
    .await;
    println!(
        "call: kiosk hung up → browser connectionState {:?} after {took:?}",
        stats.state
    );
}

/// The browser ends the call: `pc.close()`, or (`leave_page`) the page is left.
async fn browser_closes_its_peer_connection(c: &Client, leave_page: bool) {
    let mut call = Call::start(c).await;
    call.connected().await;
    call.wait("kiosk receives", Duration::from_secs(30), |c| {
        let n = c.media.counters();
        n.remote_frames_received >= 10 && n.audio_packets_received > 0
    })
    .await;
    if leave_page {
        c.goto("about:blank").await.unwrap();
    } else {
        c.execute("pc.close(); return true;", vec![]).await.unwrap();
    }
    let took = call
        .wait("kiosk shows lost", Duration::from_secs(10), |c| {
            c.states.last() == Some(&CallState::Lost)
        })
        .await;
    assert!(call.failures.is_empty(), "{:?}", call.failures);
    let how = if leave_page {
        "page left"
    } else {
        "pc.close()"
    };
    println!("call: browser {how} → kiosk Lost after {took:?}");
}

async fn malformed_answer_is_a_typed_error(c: &Client) {
    // No operator page: this case answers for it.
    let mut call = Call::start_with(c, false).await;
    call.wait("offer", Duration::from_secs(20), |c| c.offer.is_some())
        .await;
    let err = call
        .media
        .accept_answer("v=0\r\nthis is not an SDP answer\r\n")
        .unwrap_err();
    assert!(matches!(err, CallError::BadAnswer { .. }), "{err:?}");
    assert!(err.to_string().contains("malformed"), "{err}");
    call.wait(
        "call ended after the bad answer",
        Duration::from_secs(5),
        |c| c.states.last() == Some(&CallState::Ended),
    )
    .await;
    assert!(
        matches!(call.failures.as_slice(), [CallError::BadAnswer { .. }]),
        "{:?}",
        call.failures
    );
    // The call is over: more signalling is refused, nothing panics.
    let again = call
        .media
        .add_remote_candidate(0, "candidate:1 1 udp 1 127.0.0.1 9 typ host");
    assert_eq!(again, Err(CallError::Ended));
    println!("call: malformed answer → {err}");
}

/// The loudest peak (dBFS) of a WebM file's audio.
fn audio_peak_db(file: &std::path::Path) -> f64 {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    let pipe = gst::parse::launch(
        "filesrc name=src ! matroskademux ! opusdec ! audioconvert \
         ! level interval=100000000 post-messages=true ! fakesink sync=false",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipe.by_name("src")
        .unwrap()
        .set_property("location", file.to_str().unwrap());
    pipe.set_state(gst::State::Playing).unwrap();
    let bus = pipe.bus().unwrap();
    let mut peak = f64::NEG_INFINITY;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match msg.view() {
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure().filter(|s| s.name() == "level") {
                    let peaks = s.get::<gst::glib::ValueArray>("peak").unwrap();
                    for v in peaks.iter() {
                        peak = peak.max(v.get::<f64>().unwrap());
                    }
                }
            }
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("cannot read the take: {}", e.error()),
            _ => {}
        }
    }
    pipe.set_state(gst::State::Null).unwrap();
    peak
}

/// The call borrows the camera's one capture (no second opening of the devices); a take
/// started in the call records the operator's voice too; hanging up leaves the camera's
/// preview and the take running, and the take then ends cleanly.
async fn call_on_the_cameras_capture_records_both_voices(c: &Client) {
    let (cam_tx, cam_events) = mpsc::channel();
    let camera = Camera::open(test_devices(), move |e| {
        let _ = cam_tx.send(e);
    })
    .unwrap();
    // Silence the kiosk's own (test) microphone: whatever the take then holds is the
    // operator's voice, mixed in by the call.
    use gstreamer::prelude::*;
    let capture = camera.lender().borrow().unwrap();
    capture
        .pipeline
        .by_name("audio-src")
        .unwrap()
        .set_property("volume", 0.0f64);
    let dir = tempfile::tempdir().unwrap();
    let finished = |events: &mpsc::Receiver<CameraEvent>| loop {
        match events.recv_timeout(Duration::from_secs(15)).unwrap() {
            CameraEvent::TakeFinished(r) => break r.unwrap(),
            _ => continue,
        }
    };
    // Without a call, a take of the silenced microphone is silent (once the level meter shows
    // the silence, no sound from before is still on its way).
    let quiet = (0..)
        .map(|_| cam_events.recv_timeout(Duration::from_secs(5)).unwrap())
        .filter(|e| matches!(e, CameraEvent::Level { db } if *db < -60.0))
        .take(3)
        .count();
    assert_eq!(quiet, 3);
    camera.start_recording(&dir.path().join("alone"));
    let frames = (0..)
        .map(|_| cam_events.recv_timeout(Duration::from_secs(5)).unwrap())
        .filter(|e| matches!(e, CameraEvent::Frame(_)))
        .take(20)
        .count();
    assert_eq!(frames, 20);
    camera.stop_recording();
    let alone = finished(&cam_events);
    let silent = audio_peak_db(&alone.path);
    assert!(
        silent < -60.0,
        "the silenced microphone peaks at {silent:.1} dBFS"
    );

    let mut call =
        Call::start_on(c, true, CallTarget::Shared(camera.lender()), test_devices()).await;
    call.connected().await;
    call.wait("kiosk receives", Duration::from_secs(30), |c| {
        let n = c.media.counters();
        n.remote_frames_received >= 10 && n.audio_packets_received > 0
    })
    .await;
    let (first, _) = wait_browser(
        c,
        &mut call,
        "browser receives the camera's picture",
        Duration::from_secs(20),
        |s| s.video_bytes > 20_000 && s.frames_decoded > 10,
    )
    .await;

    let take_dir = dir.path().join("take");
    camera.start_recording(&take_dir);
    // Record a few seconds of the conversation.
    let start = call.media.counters().audio_packets_received;
    call.wait(
        "3 s of the operator's voice",
        Duration::from_secs(20),
        |c| c.media.counters().audio_packets_received > start + 150,
    )
    .await;
    let (second, _) = wait_browser(
        c,
        &mut call,
        "browser keeps receiving while the take records",
        Duration::from_secs(20),
        |s| s.frames_decoded > first.frames_decoded + 10,
    )
    .await;
    assert_eq!(second.state, "connected");

    // Hang up with the take still running: the camera carries on.
    call.media.hang_up();
    call.wait("kiosk ended", Duration::from_secs(5), |c| {
        c.states.last() == Some(&CallState::Ended)
    })
    .await;
    let frames_after = (0..)
        .map(|_| cam_events.recv_timeout(Duration::from_secs(5)).unwrap())
        .filter(|e| matches!(e, CameraEvent::Frame(_)))
        .take(10)
        .count();
    assert_eq!(frames_after, 10, "the preview stopped with the call");
    camera.stop_recording();
    let take = finished(&cam_events);
    assert!(!take.interrupted, "{take:?}");
    assert!(take.has_video && take.has_audio, "{take:?}");
    let info = senim_kiosk::devices::camera::inspect(&take.path).unwrap();
    assert!(info.video.is_some() && info.audio.is_some(), "{info:?}");
    let peak = audio_peak_db(&take.path);
    println!(
        "call on the camera's capture: take {:?} of {} B, voices peak {peak:.1} dBFS with the \
         kiosk's microphone silenced ({silent:.1} dBFS without the call)",
        take.duration, take.bytes
    );
    assert!(
        peak > -50.0,
        "the take holds no operator voice (peak {peak:.1} dBFS)"
    );
    drop(capture);

    // A second call on the same capture, after the first and its take, works as the first.
    let mut again =
        Call::start_on(c, true, CallTarget::Shared(camera.lender()), test_devices()).await;
    again.connected().await;
    again
        .wait(
            "kiosk receives in the second call",
            Duration::from_secs(30),
            |c| c.media.counters().remote_frames_received >= 10,
        )
        .await;
    again.media.hang_up();
    again
        .wait("second call ended", Duration::from_secs(10), |c| c.over())
        .await;
}
