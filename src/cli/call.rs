//! `senim-kiosk call [--seconds N]`: the technician's test call. It rings any available
//! operator (at any hour, marked as a test) with the configured camera and microphone, stays
//! N seconds in the call once connected, hangs up, and prints JSON lines: `availability`,
//! `ringing`, `answered`, `connected`, `media` figures once a second and at the end, `ended`
//! with the reason. Exit status 0 only if media flowed both ways.

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::call::{CallEnd, CallNews, CallRequest, CallSetup, CallStats, LiveCall};
use crate::config::Config;
use crate::sync::call::{availability, Endpoint};

/// Longest wait for the call to connect after the operator answered.
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

fn print(value: serde_json::Value) {
    println!("{value}");
}

fn figures(stats: CallStats) -> serde_json::Value {
    json!({
        "event": "media",
        "operator_frames_received": stats.operator_frames_received,
        "operator_frames_drawn": stats.operator_frames_drawn,
        "audio_packets_received": stats.audio_packets_received,
        "frames_sent": stats.frames_sent,
    })
}

/// Runs the test call; answers the exit status.
pub(super) fn call(
    config: &Config,
    seconds: u64,
    local_addresses: Vec<IpAddr>,
) -> anyhow::Result<i32> {
    let sync = super::backend(config)?;
    let cannot_connect = |detail: String| {
        print(json!({"event": "ended", "reason": "cannot_connect", "detail": detail}));
        eprintln!("call: cannot connect: {detail}");
        Ok(1)
    };
    // First a look at the socket: it opens with the token, and says who can answer.
    let endpoint = match Endpoint::from_sync(&sync)
        .and_then(|e| availability(&e, CONNECT_LIMIT).map(|a| (e, a)))
    {
        Ok((endpoint, a)) => {
            print(json!({
                "event": "availability",
                "open_now": a.open_now,
                "operators_available": a.operators_available,
            }));
            endpoint
        }
        Err(e) => return cannot_connect(e.to_string()),
    };
    let (tx, rx) = mpsc::channel();
    let setup = CallSetup {
        endpoint,
        devices: crate::devices::camera::discover::resolve(&config.camera).config,
        local_addresses,
        ring_timeout: None,
        capture: None,
    };
    let request = CallRequest {
        call_id: None,
        topic: senim_protocol::Topic::Other,
        iin: None,
        test: true,
    };
    let seen_frame = std::sync::atomic::AtomicBool::new(false);
    let live = LiveCall::place(request, setup, move |news| {
        // Only the first of the operator's pictures matters here (its time).
        let first = !matches!(news, CallNews::RemoteFrame(_))
            || !seen_frame.swap(true, std::sync::atomic::Ordering::Relaxed);
        if first {
            let _ = tx.send(news);
        }
    })?;
    let mut answered_at = None;
    let mut first_frame_ms = None;
    let mut hang_up_at = None;
    let mut hung_up = false;
    let mut next_figures = Instant::now() + Duration::from_secs(1);
    let (reason, detail) = loop {
        let now = Instant::now();
        if let Some(at) = hang_up_at {
            if !hung_up && now >= at {
                live.hang_up();
                hung_up = true;
            }
        }
        if hang_up_at.is_none()
            && answered_at.is_some_and(|t: Instant| now.duration_since(t) > CONNECT_LIMIT)
            && !hung_up
        {
            eprintln!(
                "call: not connected within {} s of the answer; hanging up",
                CONNECT_LIMIT.as_secs()
            );
            live.hang_up();
            hung_up = true;
        }
        if answered_at.is_some() && now >= next_figures {
            print(figures(live.stats()));
            next_figures = now + Duration::from_secs(1);
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(CallNews::Ringing { call_id }) => {
                print(json!({"event": "ringing", "call_id": call_id}));
            }
            Ok(CallNews::Answered { operator }) => {
                answered_at = Some(Instant::now());
                print(json!({"event": "answered", "operator": operator}));
            }
            Ok(CallNews::Connected) => {
                hang_up_at = Some(Instant::now() + Duration::from_secs(seconds));
                print(json!({"event": "connected", "seconds": seconds}));
            }
            Ok(CallNews::Ended { reason, detail }) => break (reason, detail),
            Ok(CallNews::RemoteFrame(_)) => {
                first_frame_ms = answered_at.map(|t: Instant| t.elapsed().as_millis() as u64);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break (CallEnd::Failed, "the call stopped without a word".into())
            }
        }
    };
    let stats = live.stats();
    drop(live);
    print(figures(stats));
    let flowed = stats.operator_frames_received > 0 && stats.frames_sent > 0;
    print(json!({
        "event": "ended",
        "reason": reason.as_str(),
        "detail": detail,
        "media_both_ways": flowed,
        "answer_to_first_frame_ms": first_frame_ms,
    }));
    let ok = flowed && reason == CallEnd::HungUpByKiosk && hung_up;
    if ok {
        eprintln!("call: media flowed both ways; hung up after {seconds} s");
        Ok(0)
    } else {
        eprintln!(
            "call: {} — {detail}{}",
            reason.as_str(),
            if flowed {
                ""
            } else {
                " (media did not flow both ways)"
            }
        );
        Ok(1)
    }
}
