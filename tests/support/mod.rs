//! Test support for the kiosk's integration tests: the real call-centre backend
//! (`senim-callcentre`) started in-process on loopback, a kiosk data folder enrolled with it,
//! and readers of what the backend holds.
#![allow(dead_code)]

pub mod proxy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use senim_callcentre::db::{self, Db};
use senim_callcentre::state::AppState;
use senim_kiosk::store::{NewAppeal, NewVideo, Store};
use senim_kiosk::sync::SyncConfig;
use senim_protocol::Topic;

/// The real backend on loopback, with its own runtime and data folder.
pub struct Backend {
    pub url: String,
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub dir: tempfile::TempDir,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Open around the clock, plain HTTP cookies: the call-centre tests' own configuration.
#[path = "../../callcentre/tests/common/config.rs"]
mod backend;
pub use backend::test_config as backend_config;

/// A loopback address nobody listens on (yet).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

impl Backend {
    /// Starts the backend on `addr` (port 0 for any), keeping `data` if given (a restart).
    pub fn start_at(addr: SocketAddr, data: Option<tempfile::TempDir>) -> Backend {
        Backend::start_configured(addr, data, backend_config())
    }

    /// [`Backend::start_at`] with a configuration of the test's own.
    pub fn start_configured(
        addr: SocketAddr,
        data: Option<tempfile::TempDir>,
        mut config: senim_callcentre::config::Config,
    ) -> Backend {
        let dir = data.unwrap_or_else(|| tempfile::tempdir().unwrap());
        config.server.data_dir = dir.path().to_path_buf();
        let schedule = config.schedule().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let state = AppState::new(db, config, schedule, dir.path().to_path_buf());
        let listener = std::net::TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve = senim_callcentre::server::serve(listener, Arc::clone(&state), None, async {
            let _ = rx.await;
        });
        let task = runtime.spawn(serve);
        Backend {
            url: format!("http://{addr}"),
            addr,
            state,
            dir,
            runtime: Some(runtime),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn start() -> Backend {
        Backend::start_at("127.0.0.1:0".parse().unwrap(), None)
    }

    /// A one-time enrolment code for `site`, valid for an hour.
    pub fn code(&self, site: &str) -> String {
        let code = senim_callcentre::enrolment::new_code();
        self.state
            .db
            .write(|tx| {
                senim_callcentre::enrolment::store(
                    tx,
                    &code,
                    site,
                    senim_protocol::SiteMode::Hospital,
                    Utc::now(),
                    1,
                )
            })
            .unwrap();
        code
    }

    /// Stops the server (gracefully) and keeps its data folder for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let runtime = self.runtime.take().unwrap();
        if let Some(task) = self.task.take() {
            runtime.block_on(task).unwrap().unwrap();
        }
        runtime.shutdown_timeout(Duration::from_secs(5));
        let empty = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, empty)
    }

    /// Idempotency keys of the records the backend stored, in the order it stored them.
    pub fn stored_keys(&self) -> Vec<String> {
        self.state
            .db
            .read(|c| {
                let mut stmt = c.prepare("SELECT idem_key FROM records ORDER BY rowid")?;
                let keys = stmt
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(keys)
            })
            .unwrap()
    }

    /// Every appeal the backend holds.
    pub fn appeals(&self) -> Vec<db::AppealRow> {
        self.state.db.read(|c| db::list_appeals(c, &[])).unwrap()
    }

    /// The bytes of an appeal's uploaded video as the console plays them: kept sealed at rest
    /// (issue 19), opened with the call-centre's keys.
    pub fn video(&self, appeal: &db::AppealRow) -> Option<Vec<u8>> {
        let bytes = self.video_at_rest(appeal)?;
        let keys = self.state.seal.as_ref()?;
        keys.open(&bytes).ok()
    }

    /// The bytes of an appeal's uploaded video as they lie in the data folder.
    pub fn video_at_rest(&self, appeal: &db::AppealRow) -> Option<Vec<u8>> {
        let id = appeal.video_upload_id.as_ref()?;
        std::fs::read(self.dir.path().join("uploads").join(id)).ok()
    }

    /// The call-centre's data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Sync settings for tests: quick retries, small chunks.
pub fn sync_config(data: &Path, backend_url: &str) -> SyncConfig {
    SyncConfig {
        data_dir: data.to_path_buf(),
        backend_url: backend_url.to_string(),
        ca_pem: None,
        heartbeat: Duration::from_secs(3600),
        batch_size: 25,
        chunk_bytes: 64 * 1024,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(300),
        retention_days: 30,
        app_version: "test".into(),
        max_video_attempts: 5,
        updates: None,
        serving: None,
    }
}

/// A kiosk data folder enrolled with `backend`.
pub fn enrolled_kiosk(backend: &Backend) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let code = backend.code("Test hospital");
    senim_kiosk::sync::enrol(data.path(), &backend.url, None, &code).unwrap();
    data
}

/// Deterministic pseudo-random bytes (a stand-in for a recorded video).
pub fn video_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Commits an appeal as the kiosk would, with a video of `len` bytes when `len > 0`.
pub fn commit_appeal(store: &mut Store, seed: u64, len: usize) -> String {
    let video = (len > 0).then(|| {
        let path: PathBuf = store.incoming_dir().join(format!("take-{seed}.webm"));
        std::fs::write(&path, video_bytes(seed, len)).unwrap();
        NewVideo { path, seconds: 7 }
    });
    store
        .commit_appeal(&NewAppeal {
            topic: Topic::Complaint,
            language: "kk".into(),
            iin: Some("880101300010".into()),
            callback_phone: None,
            text: None,
            video,
            interrupted: false,
            test: false,
            created_at: Utc::now(),
            recording: None,
            appeal_id: None,
            call_secs: None,
        })
        .unwrap()
}

/// The outbox keys of a kiosk in commit order (what the backend must hold, in this order).
pub fn outbox_keys(data: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(data.join(senim_kiosk::store::DB_FILE)).unwrap();
    let mut stmt = conn.prepare("SELECT key FROM outbox ORDER BY seq").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}
