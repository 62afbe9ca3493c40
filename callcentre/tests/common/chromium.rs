//! Debian's Chromium driven over WebDriver (chromedriver on a loopback port, a fresh profile),
//! shared by the call-centre's console tests and the kiosk's call-media test, which includes
//! this file with `#[path]`.

// Each including test uses a part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// chromedriver on a free port, killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_chromedriver() -> Driver {
    for bin in ["/usr/bin/chromedriver", "/usr/bin/chromium"] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: run `make setup` (it installs Debian's chromium and chromium-driver)"
        );
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        profile: tempfile::tempdir().unwrap(),
    }
}

/// A headless Chromium session (English, 1440×1000, nothing talking to the outside world),
/// with `extra` command-line flags.
pub async fn browser(driver: &Driver, extra: &[&str]) -> Client {
    let deadline = Instant::now() + Duration::from_secs(20);
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-audio-output",
        "--window-size=1440,1000",
        "--lang=en-GB",
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": args.iter().chain(extra).map(|s| s.to_string())
                .chain([format!("--user-data-dir={}", driver.profile.path().display())])
                .collect::<Vec<_>>(),
        }),
    );
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => return client,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver did not start a Chromium session: {e}"),
        }
    }
}

/// Fills in and submits the console's sign-in form at `base` (the server's URL). Returns once
/// submitted; whether it worked is the caller's to check.
pub async fn sign_in(c: &Client, base: &str, username: &str, password: &str) {
    use fantoccini::Locator;
    c.goto(&format!("{base}/console")).await.unwrap();
    c.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Chromium's flags for an operator with a camera and a microphone: its fake devices (a moving
/// test picture, a beep), permission granted without a prompt, and loopback ICE candidates
/// (left out of gathering otherwise).
pub const FAKE_MEDIA: [&str; 3] = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
];

/// `target/screenshots/`, made if missing.
pub fn screenshots() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/screenshots"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page as `target/screenshots/console-<name>.png`.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("console-{name}.png")), png).unwrap();
}
