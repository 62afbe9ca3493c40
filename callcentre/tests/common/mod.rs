//! Test support: the real backend started in-process on `127.0.0.1:0` with a fresh data
//! folder, and small helpers to enrol kiosks and send records.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use senim_callcentre::config::Config;
use senim_callcentre::db::{self, Db};
use senim_callcentre::secrets;
use senim_callcentre::state::AppState;
use tokio::sync::oneshot;

pub mod chromium;
mod config;
pub mod netns;
pub mod postgres;
pub mod process;
pub mod tus;
pub mod ws;

pub use config::test_config;

pub struct TestServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub state: Arc<AppState>,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(test_config(), None).await
    }

    pub async fn start_with(
        config: Config,
        tls: Option<senim_callcentre::server::Tls>,
    ) -> TestServer {
        Self::start_in(config, tls, tempfile::tempdir().unwrap()).await
    }

    /// Starts on the data folder `dir` (a restart keeps it: see [`TestServer::stop_keeping_data`]).
    pub async fn start_in(
        config: Config,
        tls: Option<senim_callcentre::server::Tls>,
        dir: tempfile::TempDir,
    ) -> TestServer {
        Self::start_on(config, tls, dir, true).await
    }

    /// Starts on the embedded SQLite file of `dir` whatever the suite's store (a test of
    /// moving a single server's data elsewhere).
    pub async fn start_embedded_in(config: Config, dir: tempfile::TempDir) -> TestServer {
        Self::start_on(config, None, dir, false).await
    }

    async fn start_on(
        mut config: Config,
        tls: Option<senim_callcentre::server::Tls>,
        dir: tempfile::TempDir,
        suite_store: bool,
    ) -> TestServer {
        config.server.data_dir = dir.path().to_path_buf();
        let schedule = config.schedule().unwrap();
        // A test that names a database (several servers on one) gets it, migrated; else the
        // suite's choice (`SENIM_TEST_POSTGRES`), else the embedded file.
        let url = match config.database.postgres_url() {
            Some(url) => {
                db::migrate::postgres(url).unwrap();
                Some(url.to_string())
            }
            None if suite_store => postgres::suite_database(dir.path()),
            None => None,
        };
        let db = match url {
            Some(url) => {
                config.database.url = Some(url.clone());
                Db::open_postgres(dir.path(), &url).unwrap()
            }
            None => Db::open(dir.path()).unwrap(),
        };
        let db = Arc::new(db);
        let state = AppState::new(db, config, schedule, dir.path().to_path_buf());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(senim_callcentre::server::serve(
            listener,
            Arc::clone(&state),
            tls,
            async move {
                let _ = rx.await;
            },
        ));
        TestServer {
            url: format!("{scheme}://{addr}"),
            addr,
            state,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A fresh one-time enrolment code, valid for `hours` (negative: already expired).
    pub fn code(&self, site: &str, hours: i64) -> String {
        let code = senim_callcentre::enrolment::new_code();
        // An expired code is one issued long enough ago.
        let issued = Utc::now() + chrono::Duration::hours(hours.min(0) - 1);
        let ttl = u32::try_from(hours.max(0) + 1).unwrap();
        self.state
            .db
            .write(|tx| {
                senim_callcentre::enrolment::store(
                    tx,
                    &code,
                    site,
                    senim_protocol::SiteMode::Hospital,
                    issued,
                    ttl,
                )
            })
            .unwrap();
        code
    }

    /// Enrols a kiosk; its id and token.
    pub async fn enrol(&self, client: &reqwest::Client, site: &str) -> (String, String) {
        self.enrol_at(client, site, &self.url).await
    }

    /// Enrols a kiosk at the server of `url` (another server of the same store) with a code
    /// made here; its id and token.
    pub async fn enrol_at(
        &self,
        client: &reqwest::Client,
        site: &str,
        url: &str,
    ) -> (String, String) {
        let code = self.code(site, 1);
        let r: serde_json::Value = client
            .post(format!("{url}/api/v1/enrol"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            r["kiosk_id"].as_str().unwrap().to_string(),
            r["token"].as_str().unwrap().to_string(),
        )
    }

    /// Adds an operator account directly.
    pub fn operator(&self, username: &str, password: &str, name: &str) {
        let hash = secrets::hash_password(password).unwrap();
        self.state
            .db
            .write(|tx| db::insert_operator(tx, username, name, &hash, Utc::now()))
            .unwrap();
    }

    /// Adds an operator account with exactly these roles (`admin`, `operator`,
    /// `anticorruption`).
    pub fn operator_with_roles(&self, username: &str, password: &str, name: &str, roles: &[&str]) {
        self.operator(username, password, name);
        let roles = db::Roles::from_names(roles.iter().copied()).unwrap();
        self.state
            .db
            .write(|tx| db::set_roles(tx, username, roles))
            .unwrap();
    }

    /// Adds an operator who is also an administrator (kiosks, enrolment codes, operators).
    pub fn admin(&self, username: &str, password: &str, name: &str) {
        self.operator_with_roles(username, password, name, &["admin", "operator"]);
    }

    /// Stops the server gracefully and hands back its data folder (for a restart).
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let empty = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, empty)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// A console page's HTML as a signed-in session sees it, in `lang` (`Accept-Language`).
/// How many audit rows say `actor` did `action` on the appeal `appeal_id`.
pub fn audited(server: &TestServer, action: &str, actor: &str, appeal_id: &str) -> i64 {
    let (action, actor, appeal_id) = (action.to_string(), actor.to_string(), appeal_id.to_string());
    server
        .state
        .db
        .read(move |c| {
            c.query_row(
                "SELECT count(*) FROM audit WHERE action = ?1 AND actor = ?2 AND appeal_id = ?3",
                [&action, &actor, &appeal_id],
                |r| r.get(0),
            )
        })
        .unwrap()
}

pub async fn console_page(server: &TestServer, cookie: &str, path: &str, lang: &str) -> String {
    no_redirects()
        .get(format!("{}{path}", server.url))
        .header("Cookie", cookie)
        .header("Accept-Language", lang)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The CSRF token the console's pages carry (`body[data-csrf]`) for a signed-in session.
pub async fn console_csrf(server: &TestServer, cookie: &str) -> String {
    let page = reqwest::Client::new()
        .get(format!("{}/console", server.url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("data-csrf=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the console page carries its CSRF token")
        .to_string()
}

pub async fn http_sign_in(server: &TestServer, password: &str) -> Option<String> {
    http_sign_in_as(server, "aigerim", password).await
}

/// An HTTP client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The sign-in form's double-submit cookie and CSRF token (`query` e.g. `?lang=ru`).
pub async fn login_form(
    http: &reqwest::Client,
    server: &TestServer,
    query: &str,
) -> (String, String) {
    let page = http
        .get(format!("{}/console/login{query}", server.url))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = page.text().await.unwrap();
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    (cookie, csrf)
}

/// Session cookie from a plain HTTP sign-in (no browser) as `username`.
pub async fn http_sign_in_as(
    server: &TestServer,
    username: &str,
    password: &str,
) -> Option<String> {
    let http = no_redirects();
    let (login_cookie, csrf) = login_form(&http, server, "").await;
    let r = http
        .post(format!("{}/console/login", server.url))
        .header("Cookie", login_cookie)
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("senim_session=") && !v.starts_with("senim_session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Reads Server-Sent Events from a response until one named `name` satisfies `accept`;
/// panics after `within`.
pub async fn wait_for_event<B: AsRef<[u8]>>(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    buffer: &mut String,
    name: &str,
    within: std::time::Duration,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if event == name {
                let value: serde_json::Value = serde_json::from_str(&data).unwrap();
                if accept(&value) {
                    return value;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no `{name}` event as expected within {within:?}"))
            .expect("the event stream ended")
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
}

/// Decodes the one QR code in a picture (`dark` tells the dark pixels).
pub fn decode_qr(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

/// Decodes the QR code in a greyscale PNG.
pub fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    decode_qr(w, h, |x, y| pixels[y * w + x] < 128)
}

/// An appeal record as JSON, declaring a video of these bytes.
pub fn appeal(key: &str, appeal_id: &str, video: Option<&[u8]>) -> serde_json::Value {
    use sha2::Digest;
    let mut record = serde_json::json!({
        "kind": "appeal",
        "appeal_id": appeal_id,
        "topic": "complaint",
        "created_at": "2026-11-20T10:00:00Z",
        "language": "kk",
        "iin": "880101300010",
        "callback_phone": "+77011234567",
    });
    if let Some(bytes) = video {
        record["video"] = serde_json::json!({
            "bytes": bytes.len(),
            "sha256": hex::encode(sha2::Sha256::digest(bytes)),
            "duration_seconds": 5,
        });
    }
    serde_json::json!({ "key": key, "record": record })
}

/// A stable appeal number for test `n`.
pub fn appeal_id(n: u32) -> String {
    const A: &[u8] = senim_protocol::APPEAL_ID_ALPHABET;
    let mut s = String::from("A-");
    let mut x = n as usize + 1_000_000;
    for _ in 0..8 {
        s.push(A[x % A.len()] as char);
        x /= A.len();
    }
    s
}
