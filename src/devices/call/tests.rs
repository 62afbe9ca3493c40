//! Unit tests of the call media: signalling input checks, ICE server settings, the pipeline
//! description, and the engine's offer, hang-up and refusal of bad signalling (with the test
//! sources; nothing is sent anywhere: candidates are gathered on 127.0.0.1 and no peer exists).
//! The call against a real browser is `tests/call_media.rs`.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use gstreamer::prelude::*;

use super::sdp::{check_candidate, media_kinds, parse_answer};
use super::*;

/// A browser-shaped answer to an offer of video then audio.
fn answer() -> String {
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE video0 audio1",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
        "a=setup:active",
        "a=mid:video0",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=rtpmap:96 VP8/90000",
        "m=audio 9 UDP/TLS/RTP/SAVPF 97",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
        "a=setup:active",
        "a=mid:audio1",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=rtpmap:97 opus/48000/2",
        "",
    ]
    .join("\r\n")
}

fn offered() -> Vec<String> {
    vec!["video".to_string(), "audio".to_string()]
}

fn reason(r: Result<impl std::fmt::Debug, CallError>) -> String {
    match r {
        Err(CallError::BadAnswer { reason } | CallError::BadCandidate { reason }) => reason,
        other => panic!("expected a bad answer or candidate, got {other:?}"),
    }
}

#[test]
fn a_browser_shaped_answer_is_accepted() {
    assert_eq!(media_kinds(&answer()), offered());
    let message = parse_answer(&answer(), &offered()).unwrap();
    assert_eq!(message.medias_len(), 2);
}

#[test]
fn malformed_answers_are_refused_with_the_reason() {
    let a = answer();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "v=0"),
        ("hello".into(), "v=0"),
        ("v=0\r\nnot sdp at all\r\n".into(), "line 2"),
        (a.replace("o=- ", "x-"), "line 2"),
        (a.replace("o=- 4611", "z=- 4611"), "origin"),
        (a.replace("m=audio", "m=application"), "the offer had"),
        (
            a.split("m=audio").next().unwrap().to_string(),
            "the offer had",
        ),
        (a.replace("a=fingerprint:", "a=fingerprinx:"), "fingerprint"),
        (a.replace("a=ice-ufrag:", "a=ice-ufrax:"), "ice-ufrag"),
        (a.replace("a=ice-pwd:", "a=ice-pwx:"), "ice-pwd"),
        (a.replace("s=-", "s=\0"), "NUL"),
        (format!("{a}{}", "a=x\r\n".repeat(20_000)), "bytes"),
    ];
    for (text, expected) in cases {
        let why = reason(parse_answer(&text, &offered()));
        assert!(why.contains(expected), "{expected:?} not in {why:?}");
    }
}

#[test]
fn a_rejected_section_needs_no_transport() {
    let a = answer();
    let (head, audio) = a.split_once("m=audio").unwrap();
    let rejected = format!(
        "{head}m=audio 0 UDP/TLS/RTP/SAVPF 97\r\n{}",
        audio
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("a=ice-") && !l.starts_with("a=fingerprint"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
    );
    parse_answer(&rejected, &offered()).unwrap();
}

#[test]
fn candidates_are_checked_field_by_field() {
    let host = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0";
    assert_eq!(check_candidate(0, host, 2).unwrap(), host);
    assert_eq!(check_candidate(1, &format!("a={host}"), 2).unwrap(), host);
    let mdns = "candidate:2 1 UDP 2122260223 0f1e2d3c-aaaa.local 50000 typ host";
    check_candidate(0, mdns, 2).unwrap();
    check_candidate(
        0,
        "candidate:3 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 0.0.0.0 rport 0",
        2,
    )
    .unwrap();
    let cases = [
        (2, host.to_string(), "media line 2"),
        (
            0,
            "candidat:1 1 udp 1 127.0.0.1 9 typ host".into(),
            "candidate:",
        ),
        (0, "candidate:1 1 udp 1 127.0.0.1 9".into(), "8 fields"),
        (
            0,
            "candidate:1 3 udp 1 127.0.0.1 9 typ host".into(),
            "component",
        ),
        (
            0,
            "candidate:1 1 sctp 1 127.0.0.1 9 typ host".into(),
            "transport",
        ),
        (
            0,
            "candidate:1 1 udp x 127.0.0.1 9 typ host".into(),
            "priority",
        ),
        (
            0,
            "candidate:1 1 udp 1 evil;host 9 typ host".into(),
            "address",
        ),
        (0, "candidate:1 1 udp 1 127.0.0.1 0 typ host".into(), "port"),
        (
            0,
            "candidate:1 1 udp 1 127.0.0.1 70000 typ host".into(),
            "port",
        ),
        (0, "candidate:1 1 udp 1 127.0.0.1 9 type host".into(), "typ"),
        (0, "candidate:1 1 udp 1 127.0.0.1 9 typ bogus".into(), "typ"),
        (0, format!("{host}\n"), "control"),
        (0, format!("{host} {}", "x".repeat(2000)), "longer"),
    ];
    for (mline, text, expected) in cases {
        let why = reason(check_candidate(mline, &text, 2));
        assert!(why.contains(expected), "{expected:?} not in {why:?}");
    }
}

#[test]
fn ice_servers_are_validated_and_credentials_stay_out_of_debug() {
    let stun = IceServer::Stun {
        url: "stun://stun.example.invalid:3478".into(),
    };
    let turn = IceServer::Turn {
        url: "turns://turn.example.invalid:5349".into(),
        username: "1700000000:kiosk".into(),
        credential: "s3cr:et".into(),
    };
    let ok = CallConfig {
        ice_servers: vec![stun.clone(), turn.clone()],
        ..CallConfig::default()
    };
    ok.validate().unwrap();
    let debug = format!("{ok:?}");
    assert!(
        !debug.contains("s3cr") && !debug.contains("kiosk"),
        "{debug}"
    );

    let bad = |servers: Vec<IceServer>| {
        CallConfig {
            ice_servers: servers,
            ..CallConfig::default()
        }
        .validate()
        .unwrap_err()
    };
    assert!(bad(vec![stun.clone(), stun.clone()])
        .to_string()
        .contains("one STUN server"));
    let no_creds = IceServer::Turn {
        url: "turn://turn.example.invalid:3478".into(),
        username: String::new(),
        credential: "x".into(),
    };
    assert!(bad(vec![no_creds]).to_string().contains("username"));
    for url in [
        "http://stun.example.invalid:3478",
        "stun://stun.example.invalid",
        "stun://user@stun.example.invalid:3478",
        "stun://:3478",
    ] {
        let e = bad(vec![IceServer::Stun { url: url.into() }]);
        assert!(matches!(e, CallError::BadIceServer { .. }), "{url}: {e}");
    }
}

#[test]
fn turn_credentials_are_escaped_for_the_url() {
    assert_eq!(
        engine::userinfo_escape("1700000000:kiosk"),
        "1700000000%3Akiosk"
    );
    assert_eq!(engine::userinfo_escape("a/b+c=@"), "a%2Fb%2Bc%3D%40");
    assert_eq!(engine::userinfo_escape("plain-._~"), "plain-._~");
}

#[test]
fn the_pipeline_uses_realtime_vp8_opus_and_max_bundle() {
    let desc = pipeline::send_desc(&devices());
    for part in [
        "webrtcbin name=call-webrtc bundle-policy=max-bundle",
        "vp8enc name=call-video-enc deadline=1 end-usage=cbr target-bitrate=400000",
        "lag-in-frames=0 keyframe-max-dist=30",
        "rtpvp8pay",
        "encoding-name=VP8,payload=96",
        "opusenc name=call-audio-enc bitrate=48000 audio-type=voice",
        "encoding-name=OPUS,payload=97",
        "videotestsrc",
        "audiotestsrc",
    ] {
        assert!(desc.contains(part), "{part:?} not in {desc}");
    }
    let audio_only = pipeline::send_desc(&CameraConfig::test_sources(false, true));
    assert!(!audio_only.contains("vp8enc") && audio_only.contains("opusenc"));
}

#[test]
fn the_operators_voice_goes_to_a_sink_that_opens() {
    gstreamer::init().unwrap();
    assert!(pipeline::audio_sink_desc(&devices()).starts_with("fakesink"));
    // Whatever this machine has (often no sound card at all), the chosen sink opens.
    for output in [
        crate::devices::camera::AudioOutput::Auto,
        crate::devices::camera::AudioOutput::Pulse,
        crate::devices::camera::AudioOutput::Alsa,
    ] {
        let cfg = CameraConfig {
            audio_output: output,
            ..devices()
        };
        let desc = pipeline::audio_sink_desc(&cfg);
        let sink = gstreamer::parse::launch(desc).unwrap();
        assert!(
            sink.set_state(gstreamer::State::Ready).is_ok(),
            "{output:?}: {desc}"
        );
        let _ = sink.set_state(gstreamer::State::Null);
    }
}

fn devices() -> CameraConfig {
    CameraConfig {
        width: 320,
        height: 240,
        fps: 15,
        video_kbps: 400,
        ..CameraConfig::test_sources(true, true)
    }
}

fn loopback() -> CallConfig {
    CallConfig {
        local_addresses: vec!["127.0.0.1".parse().unwrap()],
        ..CallConfig::default()
    }
}

/// A started call and its events.
fn start() -> (CallMedia, mpsc::Receiver<CallEvent>) {
    let (tx, rx) = mpsc::channel();
    let call = CallMedia::start(loopback(), devices(), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    (call, rx)
}

/// Waits (bounded) for the first event `pick` takes; the events before it are returned too.
fn wait_for<T>(
    rx: &mpsc::Receiver<CallEvent>,
    what: &str,
    mut pick: impl FnMut(&CallEvent) -> Option<T>,
) -> (T, Vec<CallEvent>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => {
                if let Some(t) = pick(&e) {
                    return (t, seen);
                }
                seen.push(e);
            }
            Err(_) => panic!("{what}: not within 20 s; saw {seen:?}"),
        }
    }
}

#[test]
fn a_call_without_devices_is_refused() {
    let r = CallMedia::start(CallConfig::default(), CameraConfig::default(), |_| {});
    assert_eq!(r.unwrap_err(), CallError::NothingFitted);
}

#[test]
fn the_offer_has_vp8_and_opus_sendrecv_and_loopback_candidates_then_hang_up_ends() {
    let (call, rx) = start();
    assert_eq!(call.accept_answer(&answer()), Err(CallError::NoOffer));
    call.create_offer().unwrap();
    let (offer, _) = wait_for(&rx, "offer", |e| match e {
        CallEvent::LocalDescription(sdp) => Some(sdp.clone()),
        _ => None,
    });
    assert_eq!(media_kinds(&offer), offered());
    for part in ["VP8/90000", "OPUS/48000/2", "a=sendrecv", "a=group:BUNDLE"] {
        assert!(offer.contains(part), "{part} not in {offer}");
    }
    let (candidate, _) = wait_for(&rx, "a local candidate", |e| match e {
        CallEvent::IceCandidate { candidate, .. } => Some(candidate.clone()),
        _ => None,
    });
    assert!(candidate.contains(" 127.0.0.1 "), "{candidate}");
    check_candidate(0, &candidate, 2).unwrap();
    // The camera's frames reach the encoder before anyone answers (on a loaded machine the
    // first one may take a while: wait for it rather than hope).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while call.counters().frames_sent == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no frame was sent in 20 s: {:?}",
            call.counters()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    call.hang_up();
    let (_, before) = wait_for(&rx, "ended", |e| {
        matches!(e, CallEvent::State(CallState::Ended)).then_some(())
    });
    assert!(!before.iter().any(|e| matches!(e, CallEvent::Failed(_))));
    assert_eq!(call.create_offer(), Err(CallError::Ended));
    assert_eq!(call.accept_answer(&answer()), Err(CallError::Ended));
}

#[test]
fn a_malformed_candidate_ends_the_call_with_the_reason() {
    let (call, rx) = start();
    call.create_offer().unwrap();
    wait_for(&rx, "offer", |e| {
        matches!(e, CallEvent::LocalDescription(_)).then_some(())
    });
    // The end-of-candidates marker is not an error.
    call.add_remote_candidate(0, "").unwrap();
    let err = call
        .add_remote_candidate(0, "candidate:1 1 udp 1 127.0.0.1 9 typ")
        .unwrap_err();
    assert!(matches!(err, CallError::BadCandidate { .. }), "{err:?}");
    let (failed, _) = wait_for(&rx, "failed", |e| match e {
        CallEvent::Failed(e) => Some(e.clone()),
        _ => None,
    });
    assert_eq!(failed, err);
    wait_for(&rx, "ended", |e| {
        matches!(e, CallEvent::State(CallState::Ended)).then_some(())
    });
}

#[test]
fn an_answer_that_never_connects_is_lost_after_the_timeout() {
    let (tx, rx) = mpsc::channel();
    let cfg = CallConfig {
        connect_timeout: Duration::from_millis(500),
        ..loopback()
    };
    let call = CallMedia::start(cfg, devices(), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    call.create_offer().unwrap();
    wait_for(&rx, "offer", |e| {
        matches!(e, CallEvent::LocalDescription(_)).then_some(())
    });
    // Well-formed, but nobody is behind it.
    call.accept_answer(&answer()).unwrap();
    let (_, before) = wait_for(&rx, "lost", |e| {
        matches!(e, CallEvent::State(CallState::Lost)).then_some(())
    });
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, CallEvent::State(CallState::Connected))),
        "{before:?}"
    );
}
