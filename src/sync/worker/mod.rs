//! The worker's loop: commands from the UI thread, one step of work at a time (presence, a
//! heartbeat when due, a batch of records, a video), the retention purge, status reports, and
//! waiting — idle until a command or the next heartbeat, after a failure with backoff and a
//! cheap probe for the network's return. The steps themselves live in `presence.rs`,
//! `batches.rs` and `videos.rs`.

mod batches;
mod presence;
mod videos;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use senim_protocol::{ConsultantCall, DeviceHealth, KioskState, Presence};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::client::Api;
use super::{Command, EnrolledAs, Status, SyncConfig, SyncError};
use crate::store::Store;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
pub(super) struct Worker {
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
    /// The last heartbeat answer's word on the operators.
    operators: Option<super::Operators>,
    uploaded_bytes: u64,
    last_report: Option<Instant>,
    next_purge: Instant,
    /// System updates, where the kiosk takes them.
    updates: Option<Arc<std::sync::Mutex<crate::update::Updates>>>,
    /// The background download of an offered bundle, while one runs.
    download: Option<tokio::task::JoinHandle<()>>,
    update_fetched: Arc<std::sync::atomic::AtomicU64>,
}

impl Worker {
    pub(super) fn new(
        cfg: SyncConfig,
        rx: mpsc::UnboundedReceiver<Command>,
        stop: Arc<AtomicBool>,
        sink: Box<dyn Fn(Status) + Send>,
    ) -> Result<Worker, SyncError> {
        let store = Store::open(&cfg.data_dir)?;
        // Checked now, so a bad URL or CA is reported at start rather than as "offline".
        Api::new(&cfg.backend_url, cfg.ca_pem.as_deref())?;
        let updates = cfg
            .updates
            .clone()
            .and_then(|u| match crate::update::Updates::open(u) {
                Ok(u) => Some(Arc::new(std::sync::Mutex::new(u))),
                Err(e) => {
                    tracing::error!(error = %e, "sync: system updates are off");
                    None
                }
            });
        Ok(Worker {
            updates,
            download: None,
            update_fetched: Arc::default(),
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
            operators: None,
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
            Command::SwitchUpdate => {
                if let Some(u) = &self.updates {
                    let mut u = u.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = u.switch() {
                        tracing::error!(error = %e, "update: cannot ask for the restart");
                    }
                }
            }
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
        let api = Api::enrolled(
            &self.cfg.backend_url,
            self.cfg.ca_pem.as_deref(),
            &enrolment,
        )?;
        if self.refused_token.as_deref() == Some(enrolment.token.as_str()) {
            // The same token the call-centre refused: not worth a request until a new one.
            return Err(SyncError::Unauthorized);
        }
        self.refused_token = None;
        self.api = Some(api.clone());
        Ok(api)
    }

    pub(super) async fn run(&mut self, until_idle: bool) -> Result<(), SyncError> {
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
            match self.heartbeat(&api).await {
                // The API's own answer refusing a heartbeat (say, a field an older call-centre
                // does not know) must not hold up delivery: noted, tried again when due.
                Err(e @ (SyncError::Refused { .. } | SyncError::Declined { .. })) => {
                    tracing::warn!(error = %e, "sync: heartbeat refused; delivery goes on");
                    self.store.note_error(&e.to_string(), Utc::now())?;
                    self.next_heartbeat = Instant::now() + self.cfg.heartbeat;
                }
                other => other?,
            }
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
            parked: queue.parked_count(),
            pending_bytes: queue.pending_video_bytes,
            last_error: queue.last_error,
            last_success_at: queue.last_success_at,
            clock_skew_ms: self.store.clock_skew_ms().unwrap_or(0),
            uploaded_bytes: self.uploaded_bytes,
            catalog_version: self.store.catalog_version().ok().flatten(),
            operators: self.operators.filter(|_| self.online),
            update: self.updates.as_ref().and_then(|u| lock(u).report()),
            update_said: self.updates.as_ref().and_then(|u| lock(u).said()),
            update_due: self
                .updates
                .as_ref()
                .is_some_and(|u| lock(u).switch_due(chrono::Local::now().time())),
            update_fetched_bytes: self
                .update_fetched
                .load(std::sync::atomic::Ordering::Relaxed),
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
