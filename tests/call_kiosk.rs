//! The live call end to end as a patient and an operator live it: the real kiosk window (test
//! camera and microphone, the simulated scanner, touch through xdotool on a private Xvfb
//! screen) and the real call-centre, with Debian's Chromium as the operator on the console
//! (fake camera and microphone). The patient scans a card, picks a topic and presses "Talk to a
//! specialist now"; the operator sees the ring with the masked IIN and answers; media flows both
//! ways (the browser's inbound video and audio bytes grow; the kiosk draws the operator's
//! frames); then the operator's browser dies mid-call: the kiosk says the call was lost, saves
//! what was said, and the call-centre ends up with ONE appeal under the call's number holding
//! the call's length and its recorded video. Then the kiosk itself dies mid-call: started again,
//! it keeps what it recorded as the call's appeal, under the call's number, marked interrupted.
//!
//! `harness = false`: like `tests/call_media.rs`, it re-runs itself under `unshare --net --pid`
//! (loopback only; Chromium, Xvfb and the kiosk die with the test).

#[path = "../callcentre/tests/common/mod.rs"]
mod common;
#[path = "support/xvfb.rs"]
mod xvfb;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use common::{chromium, netns, TestServer};
use xvfb::{start_xvfb, Killed, Log};

const PASSWORD: &str = "operator-password-1";
/// Only a guard against a hung test; every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(40);

fn main() {
    netns::isolated("the kiosk call scenario", || {
        child();
        println!("call kiosk: scan, offer, ring, answer, media both ways, browser gone, appeal; kiosk killed mid-call, appeal kept");
    });
}

/// Starts the kiosk and collects its log.
fn run_kiosk(mut cmd: Command) -> (Killed, Log) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().expect("start the kiosk");
    let log = Log::of(&mut child, GUARD);
    (Killed(child), log)
}

/// The appeal number in a log line (`appeal=A-…`).
fn logged_appeal(line: &str) -> String {
    line.split("appeal=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no appeal number in {line:?}"))
        .to_string()
}

fn tap(display: &str, x: u32, y: u32) {
    let status = Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .env("DISPLAY", display)
        .status()
        .expect("xdotool is installed by scripts/setup.sh");
    assert!(status.success());
}

fn screenshot(display: &str, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("window-{name}.png"));
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(&path)
        .env("DISPLAY", display)
        .status()
        .expect("imagemagick's import is installed by scripts/setup.sh");
    assert!(status.success());
}

/// A number logged as `key=N` in a line.
fn logged_number(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// The operator's inbound (video, audio) bytes, from the console's peer connection.
async fn operator_inbound(c: &Client) -> (u64, u64) {
    let v = c
        .execute(
            r#"const pc = window.senimPeer; if (!pc) return null;
            return pc.getStats().then((r) => {
              const o = { video: 0, audio: 0 };
              r.forEach((s) => { if (s.type === "inbound-rtp") o[s.kind] = s.bytesReceived || 0; });
              return o;
            });"#,
            vec![],
        )
        .await
        .unwrap();
    (
        v["video"].as_u64().unwrap_or(0),
        v["audio"].as_u64().unwrap_or(0),
    )
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + GUARD;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {GUARD:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn child() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(scenario());
}

async fn scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = TestServer::start().await;
    server.operator("aigerim", PASSWORD, "Aigerim Sadykova");

    // The operator signs in and goes available.
    let driver = chromium::start_chromedriver();
    let c = chromium::browser(&driver, &chromium::FAKE_MEDIA).await;
    chromium::sign_in(&c, &server.url, "aigerim", PASSWORD).await;
    c.wait()
        .for_element(Locator::Css("#availability"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the operator is available", || async {
        c.execute(
            "return document.getElementById('availability').getAttribute('aria-pressed') === 'true';",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
            == Some(true)
    })
    .await;

    // The kiosk: enrolled, the simulated scanner, test camera and microphone, its window.
    let dir = tempfile::tempdir().unwrap();
    let kiosk_end = dir.path().join("scanner-kiosk");
    let scanner_end = dir.path().join("scanner");
    let _socat = Killed(
        Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", kiosk_end.display()))
            .arg(format!("pty,raw,echo=0,link={}", scanner_end.display()))
            .spawn()
            .expect("socat is installed by scripts/setup.sh"),
    );
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nsite_name = \"Ward 3\"\nmode = \"hospital\"\ndefault_language = \"en\"\n\
             catalog_dir = {:?}\n\
             [scanner]\nport = {:?}\n\
             [camera]\nvideo = \"test\"\naudio = \"test\"\naudio_output = \"none\"\n\
             width = 320\nheight = 240\nfps = 15\n\
             [sync]\nbackend_url = {:?}\nheartbeat_secs = 5\n\
             [call]\nhost_addresses = [\"127.0.0.1\"]\n",
            root.join("config/services").display().to_string(),
            kiosk_end.display().to_string(),
            server.url
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let kiosk = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"));
        cmd.arg("--config").arg(&config).arg("--data").arg(&data);
        cmd.args(args);
        cmd
    };
    let code = server.code("Ward 3", 1);
    let enrolled = kiosk(&["enrol", &code]).output().unwrap();
    assert!(
        enrolled.status.success(),
        "{}",
        String::from_utf8_lossy(&enrolled.stderr)
    );
    let deadline = Instant::now() + GUARD;
    while !(kiosk_end.exists() && scanner_end.exists()) {
        assert!(
            Instant::now() < deadline,
            "the simulated scanner never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_xvfb, display) = start_xvfb("1920x1080x24");
    let start_kiosk = || {
        let mut cmd = kiosk(&["run", "--windowed"]);
        cmd.env("DISPLAY", &display).env("SENIM_LOG", "info");
        run_kiosk(cmd)
    };
    let (kiosk_process, mut log) = start_kiosk();
    log.expect("kiosk started");
    log.expect("card scanner connected");
    // The call-centre's word reaches the kiosk with a heartbeat.
    log.expect("available=true");

    // The patient: card, topic, "Talk to a specialist now".
    let mut scanner = std::fs::OpenOptions::new()
        .write(true)
        .open(&scanner_end)
        .unwrap();
    scanner.write_all(b"880101300010\n").unwrap();
    log.expect("to=\"appeal-topic\"");
    tap(&display, 960, 378); // "A complaint"
    log.expect("to=\"appeal-consent\"");
    screenshot(&display, "call-offer");
    tap(&display, 1603, 990); // "Talk to a specialist now"
    log.expect("to=\"call-ringing\"");

    // The console rings with the masked IIN only; the operator answers.
    c.wait()
        .at_most(GUARD)
        .for_element(Locator::Css("#ringing .answer"))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("0010"), "the masked IIN is not shown");
    assert!(
        !page.contains("880101300010"),
        "the console shows the whole IIN"
    );
    c.find(Locator::Css("#ringing .answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    log.expect("to=\"in-call\"");

    // Media both ways: the operator receives and keeps receiving; the kiosk draws frames.
    let deadline = Instant::now() + GUARD;
    let first = loop {
        let now = operator_inbound(&c).await;
        if now.0 > 20_000 && now.1 > 2_000 {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the operator never received the patient: {now:?}; the kiosk's log:\n{}",
            log.drain()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    wait_until("the operator keeps receiving", || async {
        let now = operator_inbound(&c).await;
        now.0 > first.0 + 20_000 && now.1 > first.1 + 2_000
    })
    .await;
    screenshot(&display, "in-call");
    // The take runs from the connection: let it hold a few seconds of the call.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The operator's browser dies.
    netns::kill_chromium();
    log.expect("to=\"call-ended-lost\"");
    let media = log.expect("live call media");
    assert!(
        logged_number(&media, "operator_frames_drawn") > 10,
        "{media}"
    );
    assert!(
        logged_number(&media, "audio_packets_received") > 50,
        "{media}"
    );
    assert!(logged_number(&media, "frames_sent") > 10, "{media}");
    let number = logged_appeal(&log.expect("appeal committed"));
    screenshot(&display, "call-lost");

    // One appeal under the call's number: the call's length and the recorded video.
    log.expect("video delivered");
    let appeal = server
        .state
        .db
        .read(|conn| senim_callcentre::db::list_appeals(conn, &[]))
        .unwrap()
        .into_iter()
        .filter(|a| a.id == number)
        .collect::<Vec<_>>();
    assert_eq!(appeal.len(), 1, "one appeal under {number}");
    let appeal = &appeal[0];
    let call = appeal.call.as_ref().expect("the appeal is a live call");
    assert!(!call.call_only, "the kiosk's record joined the call");
    assert_eq!(call.end.as_deref(), Some("lost"));
    assert!(
        appeal.video_bytes.unwrap_or(0) > 10_000,
        "{:?}",
        appeal.video_bytes
    );
    assert!(appeal.duration_seconds.unwrap_or(0) >= 2);

    let all = log.drain();
    assert!(!all.contains("880101300010"), "the kiosk logged the IIN");

    // Part two: the kiosk itself dies mid-call (a power cut, a crash). Started again, it keeps
    // what it recorded as the call's appeal, under the call's number, marked interrupted.
    tap(&display, 1620, 66); // "Finish"
    let c = chromium::browser(&driver, &chromium::FAKE_MEDIA).await;
    chromium::sign_in(&c, &server.url, "aigerim", PASSWORD).await;
    c.wait()
        .for_element(Locator::Css("#availability"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The operator was away after the browser died, and is available again.
    let away = log.last("available=false");
    let back = log.expect_after(away, "available=true");
    let back = log.seen.iter().rposition(|l| *l == back).unwrap_or(away);
    scanner.write_all(b"880101300010\n").unwrap();
    log.expect_after(back, "to=\"appeal-topic\"");
    tap(&display, 960, 378);
    log.expect_after(back, "to=\"appeal-consent\"");
    tap(&display, 1603, 990);
    c.wait()
        .at_most(GUARD)
        .for_element(Locator::Css("#ringing .answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    log.expect_after(back, "to=\"in-call\"");
    let deadline = Instant::now() + GUARD;
    loop {
        let now = operator_inbound(&c).await;
        if now.0 > 20_000 && now.1 > 2_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the operator never received the patient in the second call: {now:?}; the kiosk's \
             log:\n{}",
            log.drain()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few seconds of the call on disk (the recorder makes it durable every 2 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(kiosk_process); // SIGKILL
    let (_kiosk_again, mut log) = start_kiosk();
    let kept = logged_appeal(&log.expect("an interrupted recording was kept"));
    log.expect("video delivered");
    let appeal = server
        .state
        .db
        .read(|conn| senim_callcentre::db::list_appeals(conn, &[]))
        .unwrap()
        .into_iter()
        .find(|a| a.id == kept)
        .unwrap_or_else(|| panic!("no appeal {kept} at the call-centre"));
    let call = appeal.call.as_ref().expect("the kept appeal is the call's");
    assert!(!call.call_only, "the kiosk's record joined the call");
    assert!(appeal.interrupted, "the kept appeal is marked interrupted");
    assert!(
        appeal.video_bytes.unwrap_or(0) > 10_000,
        "{:?}",
        appeal.video_bytes
    );
    let all = log.drain();
    assert!(!all.contains("880101300010"), "the kiosk logged the IIN");
    drop(driver);
}
