//! The sync worker: delivers the store's outbox to the call-centre exactly once, uploads videos
//! with tus (resuming from the server's offset after any failure or restart), sends presence
//! and heartbeats, and reports its state. It runs on its own thread with a small tokio
//! runtime and its own store connection; the UI thread only sends it commands.

pub mod backoff;
pub mod call;
pub mod catalog;
pub mod client;
mod health;
mod probe;
pub mod tls;
mod update;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use senim_protocol::{ConsultantCall, DeviceHealth, Journey, Presence};
use tokio::sync::mpsc;

use crate::store::{Enrolment, Store, StoreError};
use client::Api;
use worker::Worker;

pub use health::{device_health, device_name, device_status};
pub use probe::{probe, Probe};

/// What can go wrong while talking to the call-centre. Messages say what to check.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "cannot reach the call-centre at {url} ({reason}) — check the kiosk's network and \
         sync.backend_url; everything stays safe on this kiosk meanwhile"
    )]
    Offline { url: String, reason: String },
    #[error("the call-centre answered {status}: {message} — it will be retried")]
    Server { status: u16, message: String },
    /// Refused for good: the API's JSON answer with one of `senim_protocol::RefusalCode`.
    #[error("the call-centre refused the request for good ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The API's JSON answer with a code that is not a refusal for good: retried.
    #[error("the call-centre declined the request for now ({status} {code}): {message} — it will be retried")]
    Declined {
        status: u16,
        code: String,
        message: String,
    },
    #[error(
        "the call-centre does not accept this kiosk's token — enrol it again with \
         `senim-kiosk enrol CODE` (a code from `senim-callcentre enrol-code`)"
    )]
    Unauthorized,
    #[error(
        "this kiosk was revoked at the call-centre — ask the administrator, then enrol it \
         again with `senim-kiosk enrol CODE`"
    )]
    Revoked,
    #[error(
        "this kiosk is not enrolled — run `senim-kiosk enrol CODE` with a code from \
         `senim-callcentre enrol-code --site NAME`"
    )]
    NotEnrolled,
    #[error("sync.backend_url {url:?} is not usable: {reason}")]
    BadBackendUrl { url: String, reason: String },
    #[error("sync.ca_file is not a usable PEM certificate: {reason}")]
    BadCa { reason: String },
    #[error("cannot read sync.ca_file {path}: {source}")]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the call-centre answered something unexpected: {0}")]
    Protocol(String),
    #[error(
        "the call-centre's copy of appeal {appeal_id}'s video does not match the SHA-256 sealed \
         at commit ({attempts} of {max} attempts, sync.max_video_attempts); it is sent again, \
         then parked"
    )]
    Mismatch {
        appeal_id: String,
        attempts: u32,
        max: u32,
    },
    #[error(
        "the call-centre sent more than {limit} bytes for {what}; it was not read (check the \
         call-centre and any proxy in front of it)"
    )]
    TooLarge { what: &'static str, limit: u64 },
    #[error("{0}")]
    EnrolCode(#[from] senim_protocol::enrol::EnrolCodeError),
    #[error("the video of appeal {appeal_id} is missing from the data folder: {source}")]
    VideoUnreadable {
        appeal_id: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the sync thread: {0}")]
    Thread(std::io::Error),
}

impl SyncError {
    /// Worth retrying soon by itself (the network or the server may come back).
    fn retriable(&self) -> bool {
        matches!(
            self,
            SyncError::Offline { .. }
                | SyncError::Server { .. }
                | SyncError::Declined { .. }
                | SyncError::Mismatch { .. }
                | SyncError::Protocol(_)
                | SyncError::TooLarge { .. }
        )
    }

    /// The network itself failed (so a cheap probe can tell when it is back).
    fn network(&self) -> bool {
        matches!(self, SyncError::Offline { .. })
    }
}

/// How the worker runs (from `[sync]` and `[store]` of the configuration).
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub data_dir: PathBuf,
    pub backend_url: String,
    /// An extra CA certificate (PEM) for a backend with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    pub heartbeat: Duration,
    pub batch_size: usize,
    pub chunk_bytes: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retention_days: u32,
    pub app_version: String,
    /// `[sync] max_video_attempts`: complete uploads of one video whose SHA-256 at the
    /// call-centre differs from the sealed one before the video is parked.
    pub max_video_attempts: u32,
    /// System updates (`[updates]`): `None` where the kiosk takes none (no image to install).
    pub updates: Option<crate::update::UpdatesConfig>,
    /// The serving mark, told when the call-centre answers a heartbeat.
    pub serving: Option<crate::update::serving::Serving>,
}

/// Who the call-centre knows this kiosk as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledAs {
    pub kiosk_id: String,
    pub site: String,
    pub mode: senim_protocol::SiteMode,
}

/// What the worker reports after its work (for the UI, the CLI and tests).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// The kiosk holds a token the call-centre has not refused.
    pub enrolled: bool,
    /// Its enrolment, while `enrolled`.
    pub enrolled_as: Option<EnrolledAs>,
    /// The backend answered the last request.
    pub online: bool,
    /// Items not yet confirmed (records and videos).
    pub pending: u64,
    /// Items parked: refused for good, or a video failing its checksum too often.
    pub parked: u64,
    pub pending_bytes: u64,
    pub last_error: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Server clock − kiosk clock, from the last heartbeat.
    pub clock_skew_ms: i64,
    /// Video bytes this worker has sent (re-sent bytes included), since it started.
    pub uploaded_bytes: u64,
    /// The newest catalogue installed from the call-centre (`None`: the shipped one).
    pub catalog_version: Option<String>,
    /// What the call-centre said of its operators in the last heartbeat answer (`None`
    /// before one, and while offline): the one truth the kiosk's "open now", "seen at" and
    /// call offer follow.
    pub operators: Option<Operators>,
    /// Where this kiosk is with a system update, as the heartbeats say it.
    pub update: Option<senim_protocol::UpdateReport>,
    /// An installed update waits and it is the quiet hour: the flow switches between citizens.
    pub update_due: bool,
    /// The last update result the call-centre heard (said once: a failure, a refusal, a
    /// switch that worked).
    pub update_said: Option<senim_protocol::UpdateReport>,
    /// Update bytes this worker has fetched since it started (a resumed download counts only
    /// what it fetched).
    pub update_fetched_bytes: u64,
}

/// The call-centre's word on its operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operators {
    /// Within working hours (the call-centre's calendar and holidays).
    pub open: bool,
    /// Somebody signed in and marked available can take a live call now.
    pub available: bool,
}

enum Command {
    Presence(Presence),
    Consultant(ConsultantCall),
    Wake,
    Devices(Vec<DeviceHealth>),
    /// The flow says the kiosk is at rest: restart into the installed update.
    SwitchUpdate,
}

/// The UI thread's end: commands to the worker. Dropping it stops the worker.
pub struct SyncHandle {
    tx: mpsc::UnboundedSender<Command>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Wakes the worker from any thread (the store thread, after a commit).
#[derive(Clone)]
pub struct Waker(mpsc::UnboundedSender<Command>);

impl Waker {
    /// Something was committed: deliver it now rather than at the next heartbeat.
    pub fn wake(&self) {
        let _ = self.0.send(Command::Wake);
    }
}

impl SyncHandle {
    /// A waker to hand to other threads.
    pub fn waker(&self) -> Waker {
        Waker(self.tx.clone())
    }

    /// "A person is at this kiosk now" / "has left": sent before anything else.
    pub fn presence(&self, present: bool, journey: Option<Journey>) {
        let _ = self.tx.send(Command::Presence(Presence {
            present,
            journey,
            at: Utc::now(),
        }));
    }

    /// "A consultant is needed at this kiosk" (or not any more): sent before anything else,
    /// like presence, and not kept if the kiosk dies (it is for the people on the floor now).
    pub fn consultant(&self, service_id: &str, step: u32, active: bool) {
        let _ = self.tx.send(Command::Consultant(ConsultantCall {
            service_id: service_id.to_string(),
            step,
            at: Utc::now(),
            active,
        }));
    }

    /// Something was committed: deliver it now rather than at the next heartbeat.
    pub fn wake(&self) {
        let _ = self.tx.send(Command::Wake);
    }

    /// The devices' health, for the next heartbeat.
    pub fn devices(&self, devices: Vec<DeviceHealth>) {
        let _ = self.tx.send(Command::Devices(devices));
    }

    /// Nobody is at the kiosk and it is the quiet hour: restart into the installed update.
    pub fn switch_update(&self) {
        let _ = self.tx.send(Command::SwitchUpdate);
    }

    /// Stops the worker and waits for its thread (at most one request's timeout).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Command::Wake);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Command::Wake);
    }
}

/// Starts the worker on its own thread; `sink` receives its status after each piece of work.
pub fn spawn(
    config: SyncConfig,
    sink: impl Fn(Status) + Send + 'static,
) -> Result<SyncHandle, SyncError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_worker = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("senim-sync".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "sync: cannot start its runtime; nothing will be sent");
                    return;
                }
            };
            runtime.block_on(async move {
                match Worker::new(config, rx, stop_worker, Box::new(sink)) {
                    Ok(mut w) => w.run(false).await.unwrap_or(()),
                    Err(e) => tracing::error!(error = %e, "sync: cannot start; nothing will be sent"),
                }
            });
        })
        .map_err(SyncError::Thread)?;
    Ok(SyncHandle {
        tx,
        stop,
        thread: Some(thread),
    })
}

/// Runs the worker on this thread until everything is delivered (`senim-kiosk sync
/// --until-idle`), retrying network failures; a refusal that retrying cannot fix ends it.
pub fn run_until_idle(
    config: SyncConfig,
    sink: impl Fn(Status) + Send + 'static,
) -> Result<(), SyncError> {
    run_here(config, sink, true)
}

/// Runs the worker on this thread until the process ends (`senim-kiosk sync`).
pub fn run_forever(
    config: SyncConfig,
    sink: impl Fn(Status) + Send + 'static,
) -> Result<(), SyncError> {
    run_here(config, sink, false)
}

fn run_here(
    config: SyncConfig,
    sink: impl Fn(Status) + Send + 'static,
    until_idle: bool,
) -> Result<(), SyncError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SyncError::Thread)?;
    // Nobody sends commands to a foreground worker; keep the sender so the channel stays open.
    let (_tx, rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    runtime.block_on(async move {
        let mut worker = Worker::new(config, rx, stop, Box::new(sink))?;
        worker.run(until_idle).await
    })
}

/// Enrols this kiosk with a one-time code and keeps the token in the store. `code` is what
/// follows `SENIM-ENROL:` in the QR code: the code, and the call-centre's TLS key pin when it
/// carries one — the enrolment request itself is then pinned, and so is every later
/// connection. The call-centre's signing key (for catalogues) and seal recipient (appeals are
/// sealed to it) are kept from the answer.
pub fn enrol(
    data_dir: &std::path::Path,
    backend_url: &str,
    ca_pem: Option<&[u8]>,
    code: &str,
) -> Result<Enrolment, SyncError> {
    let code = senim_protocol::enrol::EnrolCode::parse_payload(code.trim())?;
    let api = Api::new(backend_url, ca_pem)?;
    // Plain HTTP (to this machine only) has no certificate to pin.
    let pin = code.pin.filter(|_| api.base().scheme() == "https");
    let api = Api::pinned(backend_url, ca_pem, pin)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SyncError::Thread)?;
    // Re-enrolling this machine: its previous token (even a revoked one) keeps its kiosk id
    // at the call-centre, so what is queued under it is delivered as its own.
    let previous = Store::open(data_dir)?.previous_token(backend_url)?;
    let answer = runtime.block_on(api.enrol(&code.code, previous.as_deref()))?;
    let signing_key = match answer.signing_key.as_deref().map(str::parse) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(e)) => {
            return Err(SyncError::Protocol(format!(
                "the enrolment answer's signing_key: {e}"
            )))
        }
    };
    let seal_recipient = match answer
        .seal_recipient
        .as_deref()
        .map(str::parse::<senim_common::seal::Recipient>)
    {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            return Err(SyncError::Protocol(format!(
                "the enrolment answer's seal_recipient: {e}"
            )))
        }
    };
    let enrolment = Enrolment {
        kiosk_id: answer.kiosk_id,
        token: answer.token,
        site: answer.site,
        mode: answer.mode,
        backend_url: backend_url.to_string(),
        pin,
    };
    let mut store = Store::open(data_dir)?;
    store.set_enrolment(&enrolment)?;
    if let Some(key) = signing_key {
        store.set_signing_key(&key)?;
        // A catalogue refused for want of this key is worth another look.
        store.set_catalog_problem(None)?;
    }
    if let Some(recipient) = seal_recipient {
        store.set_seal_recipient(&recipient)?;
        // Appeals queued before the kiosk knew a recipient are sealed now.
        store.seal_pending()?;
    }
    Ok(enrolment)
}
