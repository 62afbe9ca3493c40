//! The recorder as a process: `senim-kiosk record` on the test sources, killed with SIGKILL in
//! the middle of a take, leaves a recording that `recover_take` turns into one playable WebM
//! holding at least everything the recorder had reported as secured.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use senim_kiosk::devices::camera::{inspect, recover_take, RECORDING_FILE, TAKE_FILE};
use senim_kiosk::store::{NewRecording, Store};
use senim_protocol::{RecordBody, Topic};

const CONFIG: &str = r#"
[kiosk]
site_name = "Camera test"
mode = "hospital"

[camera]
video = "test"
audio = "test"
audio_output = "none"
"#;

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, CONFIG).unwrap();
    path
}

/// Runs `senim-kiosk record` into `take_dir` and SIGKILLs it once the recorder reports at least
/// `min_secured` seconds safely on disk. Returns the seconds it reported secured.
fn record_and_kill(config: &Path, take_dir: &Path, min_secured: f64) -> f64 {
    let mut child = kiosk()
        .args(["record", "--seconds", "60", "--config"])
        .arg(config)
        .arg("--out")
        .arg(take_dir)
        .env("SENIM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let secured = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the recorder reports secured seconds");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_ne!(v["state"], "faulty", "{line}");
        if v["event"] == "recording" {
            let s = v["secured_s"].as_f64().unwrap();
            if s >= min_secured {
                break s;
            }
        }
    };
    // SAFETY: plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(take_dir.join(RECORDING_FILE).exists());
    assert!(
        !take_dir.join(TAKE_FILE).exists(),
        "a killed take is never finished"
    );
    secured
}

#[test]
fn a_take_killed_mid_way_is_recovered_up_to_what_was_secured() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path());
    let take_dir = tmp.path().join("incoming").join("take-killed");
    // Wait until the recorder says at least 3 s are on disk (its second fsync), then kill it.
    let secured = record_and_kill(&config, &take_dir, 3.0);

    let take = recover_take(&take_dir).unwrap().expect("a recovered take");
    assert!(take.interrupted);
    assert_eq!(take.path, take_dir.join(TAKE_FILE));
    let info = inspect(&take.path).unwrap();
    assert_eq!(info.container, "video/webm");
    assert_eq!(info.video.as_deref(), Some("video/x-vp8"));
    assert_eq!(info.audio.as_deref(), Some("audio/x-opus"));
    let got = info.duration.as_secs_f64();
    assert!(
        got >= secured - 0.1,
        "recovered {got} s, but {secured} s had been reported secured"
    );
    assert!(got < 60.0, "{got} s: less than the whole planned take");
}

/// The kiosk notes a take in its store before the camera writes a byte; a crash mid-take and a
/// restart leave the patient's appeal in the delivery queue, marked interrupted, with the video
/// up to the cut, and nothing left behind in `incoming/`.
#[test]
fn after_a_crash_mid_take_the_restarted_kiosk_keeps_the_appeal_marked_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path());
    let data = tmp.path().join("data");
    let take_dir = {
        let mut store = Store::open(&data).unwrap();
        let take_dir = store.incoming_dir().join("take-1");
        store
            .begin_recording(&NewRecording {
                take_dir: take_dir.clone(),
                topic: Topic::Complaint,
                language: "kk".into(),
                iin: Some("880101300010".into()),
                test: false,
                started_at: chrono::Utc::now(),
                call_id: None,
            })
            .unwrap();
        take_dir
    };
    let secured = record_and_kill(&config, &take_dir, 2.0);
    // A folder no note names (a crash before the note was written): swept at restart.
    let stray = take_dir.with_file_name("take-stray");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join(RECORDING_FILE), b"half a header").unwrap();

    let mut store = Store::open(&data).unwrap();
    assert_eq!(senim_kiosk::app::recover_interrupted(&mut store), 1);

    let pending = store.pending_records(10).unwrap();
    let appeals: Vec<_> = pending
        .iter()
        .filter_map(|o| match &o.record.record {
            RecordBody::Appeal(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(appeals.len(), 1, "one appeal in the delivery queue");
    let appeal = appeals[0];
    assert!(appeal.interrupted, "the appeal says it was cut short");
    assert_eq!(appeal.iin.as_deref(), Some("880101300010"));
    assert_eq!(appeal.topic, Topic::Complaint);
    let video = appeal
        .video
        .as_ref()
        .expect("the video is part of the appeal");
    assert!(f64::from(video.duration_seconds) >= secured.floor() - 1.0);

    // The video waits for upload once the record is delivered; it plays up to the cut.
    let seqs: Vec<i64> = pending.iter().map(|o| o.seq).collect();
    store.mark_delivered(&seqs, chrono::Utc::now()).unwrap();
    let upload = store
        .next_video()
        .unwrap()
        .expect("the video is queued for upload");
    assert_eq!(upload.appeal_id, appeal.appeal_id);
    assert_eq!(upload.bytes, video.bytes);
    let info = inspect(&upload.path).unwrap();
    assert!(info.duration.as_secs_f64() >= secured - 0.1);
    assert!(info.video.is_some() && info.audio.is_some());

    assert!(store.unfinished_recordings().unwrap().is_empty());
    let left: Vec<_> = std::fs::read_dir(store.incoming_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "incoming/ is empty after recovery: {left:?}"
    );
    // A second restart finds nothing more to do and changes nothing.
    drop(store);
    let mut store = Store::open(&data).unwrap();
    assert_eq!(senim_kiosk::app::recover_interrupted(&mut store), 0);
    assert_eq!(store.pending_records(10).unwrap().len(), 0);
}

#[test]
fn record_finishes_a_take_and_prints_it() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path());
    let take_dir = tmp.path().join("take-ok");
    let out = kiosk()
        .args(["record", "--seconds", "2", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&take_dir)
        .env("SENIM_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "take");
    assert_eq!(last["interrupted"], false);
    assert_eq!(last["video"], true);
    assert_eq!(last["audio"], true);
    assert!(take_dir.join(TAKE_FILE).exists());
    let healthy = |device: &str| {
        stdout.lines().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event"] == "health" && v["device"] == device && v["state"] == "ok"
        })
    };
    assert!(healthy("camera") && healthy("microphone"), "{stdout}");

    // The same pipeline for gst-launch-1.0 (the bench's reference run).
    let launch = kiosk()
        .args(["record", "--print-launch", "--config"])
        .arg(&config)
        .args(["--out", "/tmp/x.webm"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&launch.stdout);
    assert!(line.starts_with("gst-launch-1.0 -e videotestsrc"), "{line}");
    assert!(line.contains("location=/tmp/x.webm"), "{line}");
}

#[test]
fn a_v4l2_camera_that_is_not_there_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(
        &config,
        CONFIG
            .replace(
                "video = \"test\"",
                "video = \"v4l2\"\nvideo_device = \"/dev/senim-cam-absent\"",
            )
            .replace("audio = \"test\"", "audio = \"none\""),
    )
    .unwrap();
    let out = kiosk()
        .args(["record", "--seconds", "1", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(tmp.path().join("t"))
        .env("SENIM_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("camera device /dev/senim-cam-absent does not exist"),
        "{stdout}"
    );
    assert!(
        stderr.contains("no camera or microphone is working"),
        "{stderr}"
    );
}
