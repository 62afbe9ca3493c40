//! The sync worker: delivers the store's outbox to the call-centre exactly once, uploads videos
//! with tus (resuming from the server's offset after any failure or restart), sends presence
//! and heartbeats, and reports its state. It runs on its own thread with a small tokio
//! runtime and its own store connection; the UI thread only sends it commands.

pub mod backoff;
pub mod catalog;
pub mod client;

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use senim_protocol::{
    CatalogProblem, ConsultantCall, DeviceHealth, Heartbeat, Journey, KioskState, Presence,
    RecordOutcome, Versions,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::store::{Enrolment, Outgoing, PendingVideo, Store, StoreError};
use backoff::Backoff;
use client::{Api, Created, UploadState};

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
    #[error("the call-centre refused the request ({status} {code}): {message}")]
    Refused {
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
            SyncError::Offline { .. } | SyncError::Server { .. } | SyncError::Protocol(_)
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
    pub pending_bytes: u64,
    pub last_error: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Server clock − kiosk clock, from the last heartbeat.
    pub clock_skew_ms: i64,
    /// Video bytes this worker has sent (re-sent bytes included), since it started.
    pub uploaded_bytes: u64,
    /// The newest catalogue installed from the call-centre (`None`: the shipped one).
    pub catalog_version: Option<String>,
}

enum Command {
    Presence(Presence),
    Consultant(ConsultantCall),
    Wake,
    Devices(Vec<DeviceHealth>),
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

/// Enrols this kiosk with a one-time code and keeps the token in the store.
pub fn enrol(
    data_dir: &std::path::Path,
    backend_url: &str,
    ca_pem: Option<&[u8]>,
    code: &str,
) -> Result<Enrolment, SyncError> {
    let api = Api::new(backend_url, ca_pem)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SyncError::Thread)?;
    let answer = runtime.block_on(api.enrol(code))?;
    let enrolment = Enrolment {
        kiosk_id: answer.kiosk_id,
        token: answer.token,
        site: answer.site,
        mode: answer.mode,
        backend_url: backend_url.to_string(),
    };
    let mut store = Store::open(data_dir)?;
    store.set_enrolment(&enrolment)?;
    Ok(enrolment)
}

/// What a technician's probe of the call-centre found (`senim-kiosk doctor`, technician
/// screen).
#[derive(Debug)]
pub struct Probe {
    /// The backend speaks HTTPS (certificate verified when the API answered).
    pub https: bool,
    /// The host is this machine (plain HTTP is then no exposure).
    pub loopback: bool,
    /// TCP connect time to the backend's port, or why it failed.
    pub connect: Result<Duration, String>,
    /// An authenticated heartbeat: its round trip and the clock skew (server − kiosk, ms).
    pub api: Result<(Duration, i64), SyncError>,
}

/// Probes the call-centre once: TCP reachability, then an authenticated heartbeat (state
/// "technician") that proves TLS, the token and the clocks.
pub fn probe(config: &SyncConfig, queue_depth: u32) -> Result<Probe, SyncError> {
    let api = Api::new(&config.backend_url, config.ca_pem.as_deref())?;
    let url = api.base().clone();
    let https = url.scheme() == "https";
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let port = url.port_or_known_default().unwrap_or(443);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SyncError::Thread)?;
    let store = Store::open(&config.data_dir)?;
    let enrolment = store.enrolment()?;
    let catalog = store.catalog_version()?;
    let catalog_problem = store.catalog_problem()?;
    runtime.block_on(async move {
        let started = Instant::now();
        let connect = match tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 5 s".to_string()),
        };
        let api = match enrolment {
            None => Err(SyncError::NotEnrolled),
            Some(e) => {
                let api = api.with_token(&e.token);
                let sent_at = Utc::now();
                let started = Instant::now();
                api.heartbeat(&Heartbeat {
                    state: KioskState::Technician,
                    queue_depth,
                    devices: Vec::new(),
                    versions: Versions {
                        app: config.app_version.clone(),
                        catalog,
                    },
                    sent_at,
                    catalog_problem,
                })
                .await
                .map(|answer| {
                    let rtt = started.elapsed();
                    let half = chrono::Duration::from_std(rtt / 2).unwrap_or_default();
                    (
                        rtt,
                        (answer.server_time - (sent_at + half)).num_milliseconds(),
                    )
                })
            }
        };
        Ok(Probe {
            https,
            loopback,
            connect,
            api,
        })
    })
}

/// Progress of one step of work.
enum Progress {
    More,
    Idle,
}

/// How often, while offline, a cheap TCP connect checks whether the network is back.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How often a status report may be computed while work streams through.
const REPORT_EVERY: Duration = Duration::from_millis(250);
const PURGE_EVERY: Duration = Duration::from_secs(3600);

struct Worker {
    cfg: SyncConfig,
    store: Store,
    api: Option<Api>,
    rx: mpsc::UnboundedReceiver<Command>,
    stop: Arc<AtomicBool>,
    sink: Box<dyn Fn(Status) + Send>,
    presence: Option<Presence>,
    consultant: Option<ConsultantCall>,
    /// The token the call-centre refused (unknown), until a new enrolment replaces it.
    refused_token: Option<String>,
    /// The last failure logged (repeats go to debug).
    last_logged: Option<String>,
    /// Someone is at the kiosk (an appeal journey's presence).
    present: bool,
    /// A consultant call is open: a citizen is at the kiosk even without presence (service
    /// guides send no presence), so heartbeats must not say "idle" and end the call.
    calling: bool,
    devices: Vec<DeviceHealth>,
    next_heartbeat: Instant,
    backoff: Backoff,
    online: bool,
    uploaded_bytes: u64,
    last_report: Option<Instant>,
    next_purge: Instant,
}

impl Worker {
    fn new(
        cfg: SyncConfig,
        rx: mpsc::UnboundedReceiver<Command>,
        stop: Arc<AtomicBool>,
        sink: Box<dyn Fn(Status) + Send>,
    ) -> Result<Worker, SyncError> {
        let store = Store::open(&cfg.data_dir)?;
        // Checked now, so a bad URL or CA is reported at start rather than as "offline".
        Api::new(&cfg.backend_url, cfg.ca_pem.as_deref())?;
        Ok(Worker {
            backoff: Backoff::new(cfg.min_backoff, cfg.max_backoff),
            store,
            api: None,
            rx,
            stop,
            sink,
            presence: None,
            consultant: None,
            refused_token: None,
            last_logged: None,
            present: false,
            calling: false,
            devices: Vec::new(),
            next_heartbeat: Instant::now(),
            online: false,
            uploaded_bytes: 0,
            last_report: None,
            next_purge: Instant::now(),
            cfg,
        })
    }

    /// What the heartbeat says: in use while someone is present or waits for a consultant.
    fn kiosk_state(&self) -> KioskState {
        if self.present || self.calling {
            KioskState::InUse
        } else {
            KioskState::Idle
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Presence(p) => {
                self.present = p.present;
                if !p.present {
                    // The person left; the call-centre ends any call of theirs with presence.
                    self.calling = false;
                }
                self.presence = Some(p);
            }
            Command::Consultant(c) => {
                self.calling = c.active;
                self.consultant = Some(c);
            }
            Command::Wake => {}
            Command::Devices(d) => self.devices = d,
        }
    }

    fn drain_commands(&mut self) {
        while let Ok(c) = self.rx.try_recv() {
            self.apply(c);
        }
    }

    /// The API client, once the store holds an enrolment.
    fn api(&mut self) -> Result<Api, SyncError> {
        if let Some(api) = &self.api {
            return Ok(api.clone());
        }
        let enrolment = self.store.enrolment()?.ok_or(SyncError::NotEnrolled)?;
        let api = Api::new(&self.cfg.backend_url, self.cfg.ca_pem.as_deref())?
            .with_token(&enrolment.token);
        if self.refused_token.as_deref() == Some(enrolment.token.as_str()) {
            // The same token the call-centre refused: not worth a request until a new one.
            return Err(SyncError::Unauthorized);
        }
        self.refused_token = None;
        self.api = Some(api.clone());
        Ok(api)
    }

    async fn run(&mut self, until_idle: bool) -> Result<(), SyncError> {
        loop {
            self.drain_commands();
            if self.stopped() {
                return Ok(());
            }
            if Instant::now() >= self.next_purge {
                self.next_purge = Instant::now() + PURGE_EVERY;
                match self.store.purge(Utc::now(), self.cfg.retention_days) {
                    Ok(p) => tracing::debug!(?p, "sync: retention purge"),
                    Err(e) => tracing::warn!(error = %e, "sync: retention purge failed"),
                }
            }
            match self.step().await {
                Ok(Progress::More) => {
                    self.backoff.reset();
                    self.report(false);
                }
                Ok(Progress::Idle) => {
                    self.backoff.reset();
                    self.last_logged = None;
                    self.report(true);
                    if until_idle {
                        return Ok(());
                    }
                    self.wait_idle().await;
                }
                Err(e) => {
                    self.online = !e.network();
                    let message = e.to_string();
                    // Once per kind of failure, not at every retry.
                    if self.last_logged.as_deref() != Some(message.as_str()) {
                        tracing::warn!(error = %message, "sync: attempt failed");
                        self.last_logged = Some(message.clone());
                    } else {
                        tracing::debug!(error = %message, "sync: attempt failed again");
                    }
                    if let Err(se) = self.store.note_error(&message, Utc::now()) {
                        tracing::error!(error = %se, "sync: cannot note the error");
                    }
                    if matches!(e, SyncError::Unauthorized | SyncError::Revoked) {
                        // A new enrolment may come from the CLI or the enrolment screen; read
                        // it again next time. A revoked token is forgotten for good.
                        self.api = None;
                        self.refused_token = self.store.enrolment().ok().flatten().map(|e| e.token);
                        if matches!(e, SyncError::Revoked) {
                            if let Err(se) = self.store.forget_token() {
                                tracing::error!(error = %se, "sync: cannot forget a revoked token");
                            }
                        }
                    }
                    self.report(true);
                    if until_idle && !e.retriable() {
                        return Err(e);
                    }
                    self.wait_after(&e).await;
                }
            }
        }
    }

    /// One piece of work: presence first, then a heartbeat if due, then one batch of records,
    /// then one video.
    async fn step(&mut self) -> Result<Progress, SyncError> {
        let api = self.api()?;
        self.send_presence(&api).await?;
        if Instant::now() >= self.next_heartbeat {
            self.heartbeat(&api).await?;
        }
        let batch = self.store.pending_records(self.cfg.batch_size)?;
        if !batch.is_empty() {
            self.deliver(&api, batch).await?;
            return Ok(Progress::More);
        }
        if let Some(video) = self.store.next_video()? {
            self.upload(&api, video).await?;
            return Ok(Progress::More);
        }
        Ok(Progress::Idle)
    }

    async fn send_presence(&mut self, api: &Api) -> Result<(), SyncError> {
        self.drain_commands();
        if let Some(p) = self.presence.clone() {
            api.presence(&p).await?;
            self.online = true;
            // A newer message may have come while this one was on its way.
            if self.presence.as_ref() == Some(&p) {
                self.presence = None;
            }
            tracing::debug!(present = p.present, "sync: presence sent");
        }
        if let Some(c) = self.consultant.clone() {
            api.consultant(&c).await?;
            self.online = true;
            if self.consultant.as_ref() == Some(&c) {
                self.consultant = None;
            }
            tracing::debug!(active = c.active, "sync: consultant call sent");
        }
        Ok(())
    }

    async fn heartbeat(&mut self, api: &Api) -> Result<(), SyncError> {
        let queue = self.store.queue()?;
        let sent_at = Utc::now();
        let started = Instant::now();
        let answer = api
            .heartbeat(&Heartbeat {
                state: self.kiosk_state(),
                queue_depth: u32::try_from(queue.pending()).unwrap_or(u32::MAX),
                devices: self.devices.clone(),
                versions: Versions {
                    app: self.cfg.app_version.clone(),
                    catalog: self.store.catalog_version()?,
                },
                sent_at,
                catalog_problem: self.store.catalog_problem()?,
            })
            .await?;
        let half_rtt = chrono::Duration::from_std(started.elapsed() / 2).unwrap_or_default();
        let skew = (answer.server_time - (sent_at + half_rtt)).num_milliseconds();
        self.store.set_clock_skew_ms(skew)?;
        self.store.note_success(Utc::now())?;
        self.online = true;
        self.next_heartbeat = Instant::now() + self.cfg.heartbeat;
        if let Some(version) = answer.catalog_version {
            self.update_catalog(api, &version).await?;
        }
        Ok(())
    }

    /// A catalogue version the kiosk does not have: download, validate, install (or refuse
    /// and remember why, for the next heartbeats). The UI switches between citizens.
    async fn update_catalog(&mut self, api: &Api, version: &str) -> Result<(), SyncError> {
        let current = self.store.catalog_version()?;
        let refused = self.store.catalog_problem()?.map(|p| p.version);
        if current.as_deref() == Some(version) || refused.as_deref() == Some(version) {
            return Ok(());
        }
        let doc = api.catalog().await?;
        let data_dir = self.cfg.data_dir.clone();
        let result = tokio::task::spawn_blocking({
            let doc = doc.clone();
            move || catalog::install(&data_dir, &doc)
        })
        .await
        .map_err(|e| SyncError::Protocol(format!("catalogue install task: {e}")))?;
        match result {
            Ok(installed) => {
                tracing::info!(
                    version = %doc.version,
                    services = installed.services.len(),
                    "sync: catalogue installed"
                );
                self.store.set_catalog_version(&doc.version)?;
                let keep: Vec<&str> = [Some(doc.version.as_str()), current.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                catalog::prune(&self.cfg.data_dir, &keep);
            }
            Err(catalog::InstallError::Io { path, source }) => {
                // The disk, not the catalogue: try again at the next heartbeat.
                return Err(SyncError::Store(StoreError::Io {
                    what: "cannot install the new catalogue",
                    source: std::io::Error::new(
                        source.kind(),
                        format!("{}: {source}", path.display()),
                    ),
                }));
            }
            Err(refusal) => {
                let message: String = refusal
                    .to_string()
                    .chars()
                    .take(senim_protocol::MAX_CATALOG_PROBLEM_CHARS)
                    .collect();
                tracing::warn!(version = %doc.version, problem = %message, "sync: catalogue refused; the last good one stays");
                self.store.set_catalog_problem(Some(&CatalogProblem {
                    version: doc.version.clone(),
                    message,
                }))?;
                // Told at once, not at the next heartbeat.
                self.next_heartbeat = Instant::now();
            }
        }
        Ok(())
    }

    /// Sends one batch; a batch the server refuses as a whole is split so one bad record
    /// cannot hold up the rest, and that record alone is set aside as refused.
    async fn deliver(&mut self, api: &Api, batch: Vec<Outgoing>) -> Result<(), SyncError> {
        let records = batch.iter().map(|o| o.record.clone()).collect();
        match api.records(records).await {
            Ok(answer) => self.delivered(&batch, &answer.results),
            Err(SyncError::Refused {
                status,
                code,
                message,
            }) => {
                if batch.len() == 1 {
                    let reason = format!("{status} {code}: {message}");
                    tracing::error!(seq = batch[0].seq, %reason, "sync: record refused for good");
                    self.store
                        .mark_rejected(batch[0].seq, &reason, Utc::now())?;
                    return Ok(());
                }
                for one in batch {
                    let records = vec![one.record.clone()];
                    match api.records(records).await {
                        Ok(answer) => {
                            self.delivered(std::slice::from_ref(&one), &answer.results)?
                        }
                        Err(SyncError::Refused {
                            status,
                            code,
                            message,
                        }) => {
                            let reason = format!("{status} {code}: {message}");
                            tracing::error!(seq = one.seq, %reason, "sync: record refused for good");
                            self.store.mark_rejected(one.seq, &reason, Utc::now())?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn delivered(
        &mut self,
        batch: &[Outgoing],
        results: &[senim_protocol::RecordResult],
    ) -> Result<(), SyncError> {
        let answered_all = batch.len() == results.len()
            && batch
                .iter()
                .zip(results)
                .all(|(o, r)| o.record.key == r.key);
        if !answered_all {
            return Err(SyncError::Protocol(
                "the records answer does not list the records sent".into(),
            ));
        }
        let seqs: Vec<i64> = batch.iter().map(|o| o.seq).collect();
        self.store.mark_delivered(&seqs, Utc::now())?;
        self.store.note_success(Utc::now())?;
        self.online = true;
        let replayed = results
            .iter()
            .filter(|r| r.outcome == RecordOutcome::Duplicate)
            .count();
        tracing::debug!(delivered = seqs.len(), replayed, "sync: records delivered");
        Ok(())
    }

    /// Uploads one video to the end, resuming from the server's offset, sending presence
    /// between chunks so the red lamp never waits behind a video.
    async fn upload(&mut self, api: &Api, video: PendingVideo) -> Result<(), SyncError> {
        let location = match &video.upload_url {
            Some(url) => url.clone(),
            None => match api.create_upload(&video.appeal_id, video.bytes).await? {
                Created::AlreadyReceived => {
                    return self.confirmed(&video);
                }
                Created::Location(url) => {
                    self.store.set_upload_url(&video.appeal_id, Some(&url))?;
                    url
                }
            },
        };
        let (mut offset, length, sha) = match api.upload_state(&location).await? {
            UploadState::Gone => {
                tracing::info!(appeal = %video.appeal_id, "sync: upload expired; starting a new one");
                self.store.set_upload_url(&video.appeal_id, None)?;
                return Ok(());
            }
            UploadState::At {
                offset,
                length,
                sha256,
            } => (offset, length, sha256),
        };
        if length != video.bytes || offset > length {
            self.store.set_upload_url(&video.appeal_id, None)?;
            return Err(SyncError::Protocol(format!(
                "upload of appeal {} has length {length}, the video {}; starting again",
                video.appeal_id, video.bytes
            )));
        }
        let mut file =
            std::fs::File::open(&video.path).map_err(|source| SyncError::VideoUnreadable {
                appeal_id: video.appeal_id.clone(),
                source,
            })?;
        let unreadable = |source| SyncError::VideoUnreadable {
            appeal_id: video.appeal_id.clone(),
            source,
        };
        let mut sha = sha;
        while offset < length {
            if self.stopped() {
                return Ok(());
            }
            self.send_presence(api).await?;
            let n = (length - offset).min(self.cfg.chunk_bytes as u64) as usize;
            let mut chunk = vec![0u8; n];
            file.seek(SeekFrom::Start(offset)).map_err(unreadable)?;
            file.read_exact(&mut chunk).map_err(unreadable)?;
            self.uploaded_bytes += n as u64;
            match api.patch(&location, offset, chunk).await {
                Ok(new) => offset = new,
                Err(SyncError::Refused { status: 409, .. }) => {
                    // Someone else's view of the offset: ask the server again.
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            self.online = true;
            self.report(false);
            if offset == length {
                sha = match api.upload_state(&location).await? {
                    UploadState::At { sha256, .. } => sha256,
                    UploadState::Gone => None,
                };
            }
        }
        if sha.as_deref() == Some(video.sha256.as_str()) {
            self.confirmed(&video)
        } else {
            self.store.set_upload_url(&video.appeal_id, None)?;
            Err(SyncError::Protocol(format!(
                "the call-centre's copy of appeal {}'s video does not match its SHA-256; \
                 uploading it again",
                video.appeal_id
            )))
        }
    }

    fn confirmed(&mut self, video: &PendingVideo) -> Result<(), SyncError> {
        self.store.confirm_video(&video.appeal_id, Utc::now())?;
        self.store.note_success(Utc::now())?;
        tracing::info!(appeal = %video.appeal_id, bytes = video.bytes, "sync: video delivered");
        Ok(())
    }

    fn report(&mut self, force: bool) {
        let now = Instant::now();
        if !force && self.last_report.is_some_and(|t| now - t < REPORT_EVERY) {
            return;
        }
        self.last_report = Some(now);
        let queue = match self.store.queue() {
            Ok(q) => q,
            Err(e) => {
                tracing::warn!(error = %e, "sync: cannot read the queue");
                return;
            }
        };
        let enrolled_as = self
            .store
            .enrolment()
            .ok()
            .flatten()
            .filter(|_| self.refused_token.is_none())
            .map(|e| EnrolledAs {
                kiosk_id: e.kiosk_id,
                site: e.site,
                mode: e.mode,
            });
        (self.sink)(Status {
            enrolled: enrolled_as.is_some(),
            enrolled_as,
            online: self.online,
            pending: queue.pending(),
            pending_bytes: queue.pending_video_bytes,
            last_error: queue.last_error,
            last_success_at: queue.last_success_at,
            clock_skew_ms: self.store.clock_skew_ms().unwrap_or(0),
            uploaded_bytes: self.uploaded_bytes,
            catalog_version: self.store.catalog_version().ok().flatten(),
        });
    }

    /// Nothing to do: wait for a command or the next heartbeat.
    async fn wait_idle(&mut self) {
        tokio::select! {
            command = self.rx.recv() => {
                if let Some(c) = command {
                    self.apply(c);
                }
            }
            _ = tokio::time::sleep_until(self.next_heartbeat) => {}
        }
    }

    /// After a failure: back off (with jitter), but try again at once when presence must go
    /// out or, after a network failure, as soon as the backend's port answers again.
    async fn wait_after(&mut self, error: &SyncError) {
        let unit: f64 = rand::random();
        let delay = match error {
            SyncError::NotEnrolled => Duration::from_secs(5),
            _ => self.backoff.fail(unit),
        };
        let deadline = Instant::now() + delay;
        let probe = error.network();
        loop {
            tokio::select! {
                command = self.rx.recv() => match command {
                    Some(c @ (Command::Presence(_) | Command::Consultant(_))) => {
                        self.apply(c);
                        return;
                    }
                    Some(c) => {
                        self.apply(c);
                        if self.stopped() {
                            return;
                        }
                    }
                    None => {
                        tokio::time::sleep_until(deadline).await;
                        return;
                    }
                },
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tokio::time::sleep(PROBE_EVERY), if probe => {
                    if self.reachable().await {
                        tracing::info!("sync: the call-centre is reachable again");
                        return;
                    }
                }
            }
        }
    }

    /// Whether the backend's TCP port accepts a connection (network back?).
    async fn reachable(&self) -> bool {
        let Ok(url) = reqwest::Url::parse(&self.cfg.backend_url) else {
            return false;
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        matches!(
            tokio::time::timeout(
                Duration::from_secs(1),
                tokio::net::TcpStream::connect((host.as_str(), port))
            )
            .await,
            Ok(Ok(_))
        )
    }
}
