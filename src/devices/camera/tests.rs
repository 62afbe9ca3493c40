//! Camera tests on GStreamer's test sources (headless, no devices): takes are real WebM files
//! checked with the Discoverer; torn recordings are recovered; a missing camera is reported.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::*;

/// Opens a camera whose events go to a channel.
fn open(cfg: CameraConfig) -> (Camera, Receiver<CameraEvent>) {
    let (tx, rx) = mpsc::channel();
    let camera = Camera::open(cfg, move |e| {
        let _ = tx.send(e);
    })
    .expect("camera opens");
    (camera, rx)
}

/// Waits (up to `secs`) for the first event matching `want`; the others are passed to `seen`.
fn wait_for(
    rx: &Receiver<CameraEvent>,
    secs: u64,
    what: &str,
    mut seen: impl FnMut(CameraEvent),
    want: impl Fn(&CameraEvent) -> bool,
) -> CameraEvent {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(e) => seen(e),
            Err(_) => panic!("no {what} within {secs} s"),
        }
    }
}

fn finished(e: &CameraEvent) -> bool {
    matches!(e, CameraEvent::TakeFinished(_))
}

fn take_of(e: CameraEvent) -> Take {
    match e {
        CameraEvent::TakeFinished(Ok(t)) => t,
        other => panic!("expected a take, got {other:?}"),
    }
}

/// Records about `secs` seconds, starting once the preview shows a frame (or, audio-only, a
/// level), and returns the take and the events seen meanwhile.
fn record(cfg: CameraConfig, dir: &Path, secs: f32) -> (Take, Vec<CameraEvent>) {
    let has_video = cfg.has_video();
    let (camera, rx) = open(cfg);
    let mut events = Vec::new();
    camera.start_preview();
    let live = wait_for(
        &rx,
        20,
        "live media",
        |e| events.push(e),
        |e| {
            if has_video {
                matches!(e, CameraEvent::Frame(_))
            } else {
                matches!(e, CameraEvent::Level { .. })
            }
        },
    );
    events.push(live);
    camera.start_recording(dir);
    // The length of the take itself, not a wait for something to happen.
    std::thread::sleep(Duration::from_secs_f32(secs));
    camera.stop_recording();
    let done = wait_for(&rx, 30, "TakeFinished", |e| events.push(e), finished);
    drop(camera);
    events.extend(rx.try_iter());
    (take_of(done), events)
}

#[test]
fn three_seconds_from_the_test_sources_make_a_vp8_opus_webm_that_plays_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("incoming").join("take-1");
    let (take, events) = record(CameraConfig::test_sources(true, true), &dir, 3.0);

    assert_eq!(take.path, dir.join(TAKE_FILE));
    assert!(
        !dir.join(RECORDING_FILE).exists(),
        "the raw file became the take"
    );
    assert!(!take.interrupted);
    assert!(take.has_video && take.has_audio);
    assert_eq!(take.bytes, std::fs::metadata(&take.path).unwrap().len());
    let info = inspect(&take.path).unwrap();
    assert_eq!(info.container, "video/webm");
    assert_eq!(info.video.as_deref(), Some("video/x-vp8"));
    assert_eq!(info.audio.as_deref(), Some("audio/x-opus"));
    let secs = info.duration.as_secs_f32();
    assert!((2.5..=3.5).contains(&secs), "duration {secs} s");
    assert_eq!(take.duration, info.duration);

    // Health first, then live frames at the preview size and microphone levels.
    let health: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            CameraEvent::Health { device, state } => Some((*device, state.clone())),
            _ => None,
        })
        .collect();
    assert!(
        health.contains(&(AvDevice::Camera, DeviceState::Ok)),
        "{health:?}"
    );
    assert!(
        health.contains(&(AvDevice::Microphone, DeviceState::Ok)),
        "{health:?}"
    );
    let frame = events
        .iter()
        .find_map(|e| match e {
            CameraEvent::Frame(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert_eq!((frame.width(), frame.height()), (640, 480));
    assert_eq!(frame.source, FrameSource::Live);
    assert!(
        frame.pixels.as_bytes().iter().any(|&b| b > 100),
        "the frame has a picture, not black"
    );
    let levels: Vec<f32> = events
        .iter()
        .filter_map(|e| match e {
            CameraEvent::Level { db } => Some(*db),
            _ => None,
        })
        .collect();
    assert!(levels.len() >= 10, "{} level reports", levels.len());
    // The test tone is at 0.1 of full scale: −20 dBFS.
    assert!(
        levels.iter().all(|db| (-21.0..=-19.0).contains(db)),
        "{levels:?}"
    );

    // Review: the take plays back as frames and ends.
    let (camera, rx) = open(CameraConfig::test_sources(true, true));
    camera.play(&take.path);
    let mut playback_frames = 0;
    let end = wait_for(
        &rx,
        30,
        "PlaybackEnded",
        |e| {
            if let CameraEvent::Frame(f) = &e {
                assert_eq!(f.source, FrameSource::Playback);
                assert_eq!(f.width(), 640);
                playback_frames += 1;
            }
        },
        |e| matches!(e, CameraEvent::PlaybackEnded { .. }),
    );
    assert!(matches!(
        end,
        CameraEvent::PlaybackEnded { completed: true }
    ));
    // 3 s at 30 fps; the UI gets every decoded frame of the review.
    assert!(playback_frames >= 60, "{playback_frames} playback frames");
}

#[test]
fn an_audio_only_take_is_opus_in_webm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audio-take");
    let (take, events) = record(CameraConfig::test_sources(false, true), &dir, 2.0);
    let info = inspect(&take.path).unwrap();
    assert!(info.container.ends_with("/webm"), "{}", info.container);
    assert_eq!(info.video, None);
    assert_eq!(info.audio.as_deref(), Some("audio/x-opus"));
    assert!(!take.has_video && take.has_audio);
    let secs = info.duration.as_secs_f32();
    assert!((1.5..=2.5).contains(&secs), "duration {secs} s");
    assert!(!events.iter().any(|e| matches!(e, CameraEvent::Frame(_))));
    assert!(events.contains_health(AvDevice::Camera, &DeviceState::Absent));
}

trait HealthEvents {
    fn contains_health(&self, device: AvDevice, state: &DeviceState) -> bool;
}

impl HealthEvents for Vec<CameraEvent> {
    fn contains_health(&self, device: AvDevice, state: &DeviceState) -> bool {
        self.iter().any(|e| {
            matches!(e, CameraEvent::Health { device: d, state: s } if *d == device && s == state)
        })
    }
}

#[test]
fn a_torn_recording_is_recovered_into_one_playable_take() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, _) = record(
        CameraConfig::test_sources(true, true),
        &tmp.path().join("whole"),
        3.0,
    );
    // What a recorder killed mid-way leaves: the muxer's output cut anywhere, never finalised.
    // (The finished file cut at 60 %: its tail, cues and final sizes are gone.)
    let bytes = std::fs::read(&whole.path).unwrap();
    for (name, tail) in [("cut", Vec::new()), ("zero-tail", vec![0u8; 64 * 1024])] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut torn = bytes[..bytes.len() * 6 / 10].to_vec();
        torn.extend_from_slice(&tail); // a power cut can leave zeroed blocks at the end
        std::fs::write(dir.join(RECORDING_FILE), &torn).unwrap();

        let take = recover_take(&dir).unwrap().expect("something to recover");
        assert!(take.interrupted, "{name}");
        assert_eq!(take.path, dir.join(TAKE_FILE));
        assert!(
            !dir.join(RECORDING_FILE).exists(),
            "{name}: raw file removed"
        );
        let info = inspect(&take.path).unwrap();
        assert_eq!(info.video.as_deref(), Some("video/x-vp8"), "{name}");
        assert_eq!(info.audio.as_deref(), Some("audio/x-opus"), "{name}");
        let (got, all) = (info.duration.as_secs_f32(), whole.duration.as_secs_f32());
        assert!(got > 0.5 && got < all, "{name}: {got} s of {all} s");
        // Recovering again finds the finished take and changes nothing.
        let again = recover_take(&dir).unwrap().unwrap();
        assert!(!again.interrupted);
        assert_eq!(again.bytes, take.bytes);
    }
}

#[test]
fn nothing_to_recover_is_none_and_foreign_folders_are_never_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(recover_take(tmp.path()).unwrap(), None, "empty folder");
    let garbage = tmp.path().join("garbage");
    std::fs::create_dir(&garbage).unwrap();
    std::fs::write(garbage.join(RECORDING_FILE), b"not a webm at all").unwrap();
    assert_eq!(recover_take(&garbage).unwrap(), None);
    assert!(
        garbage.join(RECORDING_FILE).exists(),
        "an unrecoverable file is left for a technician"
    );
    remove_take_dir(&garbage).unwrap();
    assert!(!garbage.exists());

    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("kiosk.sqlite3"), b"data").unwrap();
    assert!(remove_take_dir(&foreign).is_err());
    assert!(foreign.join("kiosk.sqlite3").exists());
}

#[test]
fn a_missing_v4l2_camera_is_reported_faulty_and_recording_is_refused_cleanly() {
    let cfg = CameraConfig {
        video: VideoSource::V4l2,
        video_device: "/dev/senim-no-such-camera".into(),
        ..CameraConfig::default()
    };
    let probed = probe_devices(&cfg).unwrap();
    let (device, state) = &probed[0];
    assert_eq!(*device, AvDevice::Camera);
    let DeviceState::Faulty(reason) = state else {
        panic!("{state:?}")
    };
    assert!(reason.contains("/dev/senim-no-such-camera"), "{reason}");
    assert!(reason.contains("does not exist"), "{reason}");
    assert_eq!(probed[1], (AvDevice::Microphone, DeviceState::Absent));

    let (camera, rx) = open(cfg);
    let health = wait_for(
        &rx,
        10,
        "camera health",
        |_| {},
        |e| {
            matches!(
                e,
                CameraEvent::Health {
                    device: AvDevice::Camera,
                    ..
                }
            )
        },
    );
    assert!(
        matches!(&health, CameraEvent::Health { state: DeviceState::Faulty(r), .. } if r == reason),
        "{health:?}"
    );
    camera.start_preview();
    let tmp = tempfile::tempdir().unwrap();
    camera.start_recording(&tmp.path().join("t"));
    let done = wait_for(&rx, 10, "TakeFinished", |_| {}, finished);
    assert!(
        matches!(
            done,
            CameraEvent::TakeFinished(Err(CameraError::NoWorkingDevice))
        ),
        "{done:?}"
    );
    drop(camera);
    assert!(!rx.try_iter().any(|e| matches!(e, CameraEvent::Frame(_))));
}

/// Waits (up to 10 s) until `cond` holds.
fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn secured(e: &CameraEvent) -> bool {
    matches!(e, CameraEvent::Recording { .. })
}

#[test]
fn a_discarded_take_leaves_nothing_and_a_used_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    let (camera, rx) = open(CameraConfig::test_sources(true, true));
    let mut finishes = Vec::new();
    let mut keep = |e: CameraEvent| {
        if finished(&e) {
            finishes.push(format!("{e:?}"));
        }
    };

    camera.start_recording(&dir);
    let CameraEvent::Recording { secured: s } = wait_for(&rx, 20, "secured", &mut keep, secured)
    else {
        unreachable!()
    };
    assert!(
        s > Duration::from_millis(500),
        "{s:?} secured after the first fsync"
    );
    assert!(dir.join(RECORDING_FILE).exists());
    camera.discard();
    until("the discarded take's folder is gone", || !dir.exists());

    // The same folder name again: a fresh take.
    camera.start_recording(&dir);
    wait_for(&rx, 20, "secured", &mut keep, secured);
    camera.stop_recording();
    let first = wait_for(&rx, 30, "TakeFinished", &mut keep, finished);
    assert!(
        matches!(first, CameraEvent::TakeFinished(Ok(_))),
        "{first:?}"
    );
    // A folder that already holds a take is refused, and the take is left alone.
    camera.start_recording(&dir);
    let refused = wait_for(&rx, 10, "TakeFinished", &mut keep, finished);
    assert!(
        matches!(
            refused,
            CameraEvent::TakeFinished(Err(CameraError::TakeExists))
        ),
        "{refused:?}"
    );
    assert!(dir.join(TAKE_FILE).exists());
    // discard() with no running take removes the last finished one (e.g. after re-record).
    camera.discard();
    until("the finished take's folder is gone", || !dir.exists());
    drop(camera);
    rx.try_iter().for_each(&mut keep);
    assert!(
        finishes.is_empty(),
        "a discarded take reported: {finishes:?}"
    );
}

#[test]
fn a_camera_that_stalls_mid_take_is_reported_and_the_take_so_far_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stalled");
    let cfg = CameraConfig {
        // Pictures stop after 1.5 s, without an error, as a wedged USB camera does.
        test_stall_after: Some(45),
        ..CameraConfig::test_sources(true, true)
    };
    let (camera, rx) = open(cfg);
    camera.start_preview();
    camera.start_recording(&dir);
    let mut events = Vec::new();
    let done = wait_for(&rx, 30, "TakeFinished", |e| events.push(e), finished);
    let faulty = events.iter().find_map(|e| match e {
        CameraEvent::Health {
            device: AvDevice::Camera,
            state: DeviceState::Faulty(r),
        } => Some(r.clone()),
        _ => None,
    });
    assert!(
        faulty.as_deref().is_some_and(|r| r.contains("no picture")),
        "{faulty:?}"
    );
    let take = take_of(done);
    assert!(
        take.interrupted && take.has_video && take.has_audio,
        "{take:?}"
    );
    assert!(
        !format!("{take:?}").contains("stalled"),
        "Debug hides the take's path"
    );
    let info = inspect(&take.path).unwrap();
    assert!(info.duration >= Duration::from_millis(1400), "{info:?}");
    // The preview carries on with what works: microphone levels keep coming.
    wait_for(
        &rx,
        10,
        "a level after the failure",
        |_| {},
        |e| matches!(e, CameraEvent::Level { .. }),
    );
    drop(camera);
}

#[test]
fn configuration_is_checked_key_by_key() {
    assert!(CameraConfig::default().validate().is_ok());
    let cases = [
        (
            CameraConfig {
                video: VideoSource::V4l2,
                video_device: "".into(),
                ..CameraConfig::default()
            },
            "video_device",
        ),
        (
            CameraConfig {
                width: 641,
                ..CameraConfig::default()
            },
            "width",
        ),
        (
            CameraConfig {
                fps: 0,
                ..CameraConfig::default()
            },
            "fps",
        ),
        (
            CameraConfig {
                video_kbps: 50,
                ..CameraConfig::default()
            },
            "video_kbps",
        ),
        (
            CameraConfig {
                audio_device: "hw:1\n".into(),
                ..CameraConfig::default()
            },
            "audio_device",
        ),
    ];
    for (cfg, key) in cases {
        assert_eq!(cfg.validate().unwrap_err().key, key);
    }
    assert!(matches!(
        Camera::open(CameraConfig::default(), |_| {}),
        Err(CameraError::NothingFitted)
    ));
}
