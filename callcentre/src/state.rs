//! Shared server state: the store, the configuration, and the live picture kept in memory
//! (who is at which kiosk now, the latest heartbeats) with its change feed for the console.
//!
//! The live picture changes only through facts on the live bus (`crate::live`): the handlers
//! publish, and every server applies every fact in [`AppState::apply`], so all servers behind
//! a load balancer show the same lamp and consultant calls.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use senim_protocol::hours::Schedule;
use senim_protocol::{ConsultantCall, Heartbeat, Journey};
use tokio::sync::broadcast;

use crate::config::Config;
use crate::db::{Db, HeartbeatSeen};
use crate::live::picture::Picture;
use crate::live::{Bus, Envelope, Fact};

pub use crate::live::picture::{ConsultantNeeded, Present};

/// The newest published catalogue as heartbeats and the console need it.
#[derive(Debug, Clone, Default, PartialEq)]
struct CatalogCache {
    version: Option<String>,
    titles: HashMap<String, String>,
    /// The titles in each console language (`i18n::Lang::code`), by id.
    localized: HashMap<&'static str, HashMap<String, String>>,
}

/// What the console is told live.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// Who is at a kiosk changed.
    Presence,
    /// A consultant call came, changed, or ended.
    Consultant,
    /// Something in the queue changed and which appeals is not known: the console reloads the
    /// rows it shows. Prefer [`LiveEvent::AppealsChanged`].
    Appeals,
    /// These appeals arrived or changed (status, video, call, assignment…): the console
    /// fetches just their rows.
    AppealsChanged(Vec<String>),
}

/// The published update bundles as heartbeats need them.
#[derive(Debug, Clone, Default)]
struct UpdatesCache {
    bundles: Vec<crate::db::Bundle>,
    /// Per kiosk, the version it last reported failed (never offered to it again).
    failed: HashMap<String, String>,
}

/// Everything handlers share.
pub struct AppState {
    pub db: Arc<Db>,
    pub config: Config,
    pub schedule: Schedule,
    pub data_dir: PathBuf,
    heartbeats: Mutex<HashMap<String, HeartbeatSeen>>,
    dirty_heartbeats: Mutex<Vec<String>>,
    live: broadcast::Sender<LiveEvent>,
    /// Where live facts go (to this server only, or to every server of the database).
    bus: Bus,
    /// Who is at which kiosk, consultant calls: changed only by facts from the bus.
    picture: Picture,
    catalog: Mutex<CatalogCache>,
    uploads: crate::uploads::Locks,
    /// Published update bundles (newest first) and each kiosk's last failed version.
    updates: Mutex<UpdatesCache>,
    /// Live calls and the signalling sockets.
    pub calls: crate::calls::Calls,
    /// SMS to citizens: the outbox's sender.
    pub sms: Arc<crate::sms::Outbox>,
    /// The console's sign-in throttle.
    pub signin: crate::signin_throttle::Throttle,
    /// Password hashing and checks, on their own threads.
    pub passwords: crate::passwords::Passwords,
    /// The public half of the signing key (`secrets::signing_key`), handed to kiosks at
    /// enrolment and in heartbeat answers; `None` only if the key file cannot be used.
    pub signing_key: Option<senim_common::signing::PublicKey>,
    /// The TLS key pin enrolment QR codes carry (`enrolment::pin`), read at start.
    pub tls_pin: Option<senim_protocol::enrol::SpkiPin>,
    /// The age identities of `[storage] key_file` (`crate::sealing`): kiosks seal to the
    /// current one, what is kept is sealed to it, every one opens. `None` only if the key file
    /// cannot be used (the server then refuses to start; tests see the error logged).
    pub seal: Option<Arc<senim_common::seal::Identities>>,
    /// Where videos are kept (`[storage] url`): the data folder or an object store.
    pub videos: crate::videos::Videos,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(db: Arc<Db>, config: Config, schedule: Schedule, data_dir: PathBuf) -> Arc<Self> {
        let (live, _) = broadcast::channel(256);
        let bus = Bus::new(config.database.postgres_url());
        let calls = crate::calls::Calls::new(config.call.clone());
        let sms = Arc::new(crate::sms::Outbox::new(Arc::clone(&db), config.sms.clone()));
        let signin = crate::signin_throttle::Throttle::new(&config.console);
        let passwords = crate::passwords::Passwords::start(config.console.password_checks_at_once);
        let signing_key = match crate::secrets::signing_key(&data_dir) {
            Ok((key, made)) => {
                if made {
                    tracing::info!(key = %key.public(), "made the call-centre's signing key");
                }
                Some(key.public())
            }
            Err(e) => {
                tracing::error!(error = %e, "no signing key: kiosks will refuse catalogues");
                None
            }
        };
        let tls_pin = crate::enrolment::pin(&config.tls).unwrap_or_else(|e| {
            tracing::error!(error = %e, "enrolment codes will carry no TLS pin");
            None
        });
        let key_file = config.storage.key_file(&data_dir);
        let seal = match senim_common::seal::Identities::load_or_create(&key_file) {
            Ok((ids, made)) => {
                if made {
                    tracing::info!(recipient = %ids.current(), path = %key_file.display(), "made the call-centre's sealing key file");
                }
                let ids = Arc::new(ids);
                crate::sealing::register(Arc::clone(&ids));
                Some(ids)
            }
            Err(e) => {
                tracing::error!(error = %e, "no sealing keys: sealed appeals cannot be opened");
                None
            }
        };
        let videos = crate::videos::Videos::open_or_unavailable(&config.storage, &data_dir);
        Arc::new(AppState {
            videos,
            seal,
            signing_key,
            tls_pin,
            signin,
            passwords,
            sms,
            calls,
            db,
            config,
            schedule,
            data_dir,
            heartbeats: Mutex::new(HashMap::new()),
            dirty_heartbeats: Mutex::new(Vec::new()),
            live,
            bus,
            picture: Picture::default(),
            catalog: Mutex::new(CatalogCache::default()),
            uploads: crate::uploads::Locks::default(),
            updates: Mutex::new(UpdatesCache::default()),
        })
    }

    /// Whether the call-centre is within its working hours now.
    pub fn open_now(&self) -> bool {
        self.schedule.is_open(Utc::now())
    }

    /// Per-upload locks of the tus endpoints.
    pub fn upload_locks(&self) -> &crate::uploads::Locks {
        &self.uploads
    }

    /// Subscribes to live changes.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    /// Tells live subscribers (if any) that something changed. Changed appeals are told on
    /// every server (the live bus); the lamp and consultant events come from
    /// [`AppState::apply`] on each server.
    pub fn notify(&self, event: LiveEvent) {
        match event {
            LiveEvent::Appeals => self.publish(Fact::Appeals { ids: None }),
            LiveEvent::AppealsChanged(ids) => self.publish(Fact::Appeals { ids: Some(ids) }),
            LiveEvent::Presence | LiveEvent::Consultant => self.tell_consoles(event),
        }
    }

    fn tell_consoles(&self, event: LiveEvent) {
        let _ = self.live.send(event);
    }

    /// The live bus.
    pub fn live_bus(&self) -> &Bus {
        &self.bus
    }

    /// Sends a fact to every server, this one included (the in-process bus applies it here
    /// and now).
    pub fn publish(&self, fact: Fact) {
        self.bus.publish(self, fact);
    }

    /// Records that someone is at a kiosk now, or left. Returns whether this server's picture
    /// changes (on the PostgreSQL bus it changes once the fact comes back).
    pub fn set_presence(
        &self,
        kiosk_id: &str,
        site: &str,
        present: bool,
        journey: Option<Journey>,
        now: DateTime<Utc>,
    ) -> bool {
        let changes = self.picture.presence_changes(kiosk_id, present, journey);
        self.publish(Fact::Presence {
            kiosk_id: kiosk_id.to_string(),
            site: site.to_string(),
            present,
            journey,
            at: now,
        });
        changes
    }

    /// A kiosk asks for a consultant, or says the call is over. Returns whether the console
    /// picture changes. A resend of a call staff already took stays taken; a new press of the
    /// button (a new `at`) while a call is open keeps its timer and moves it to the new step.
    pub fn consultant_call(
        &self,
        kiosk_id: &str,
        site: &str,
        call: &ConsultantCall,
        now: DateTime<Utc>,
    ) -> bool {
        if !call.active {
            let changes = self.picture.consultant_call(kiosk_id).is_some();
            self.publish(Fact::ConsultantEnded {
                kiosk_id: kiosk_id.to_string(),
                at: now,
            });
            return changes;
        }
        if self.picture.taken(kiosk_id, call.at) {
            return false;
        }
        let changes = self.picture.consultant_call(kiosk_id).is_none_or(|c| {
            c.service_id != call.service_id || c.step != call.step || c.called_at != call.at
        });
        self.publish(Fact::ConsultantRaised {
            kiosk_id: kiosk_id.to_string(),
            site: site.to_string(),
            service_id: call.service_id.clone(),
            step: call.step,
            called_at: call.at,
            since: now,
        });
        changes
    }

    /// A staff member is on the way: the call is cleared for everyone. `None` if there was no
    /// call (someone else took it, or the citizen left).
    pub fn take_consultant_call(&self, kiosk_id: &str) -> Option<ConsultantNeeded> {
        let call = self.picture.consultant_call(kiosk_id)?;
        self.publish(Fact::ConsultantTaken {
            kiosk_id: kiosk_id.to_string(),
            called_at: call.called_at,
        });
        Some(call)
    }

    /// Applies a fact from the live bus (every server applies every fact, its own included).
    pub fn apply(&self, envelope: &Envelope) {
        let mine = envelope.from == self.bus.id();
        match &envelope.fact {
            Fact::Operators { free, at } => {
                if !mine {
                    self.calls
                        .operators_elsewhere(&envelope.from, *free, *at, self.open_now());
                }
            }
            Fact::CallToConsole {
                server,
                conn,
                message,
            } => {
                if server == self.bus.id() {
                    self.calls.to_console_from(
                        &envelope.from,
                        *conn,
                        message.clone(),
                        self.open_now(),
                    );
                    self.announce_operators(false);
                }
            }
            Fact::CallToConsoles { message } => {
                if !mine {
                    self.calls.to_consoles_from(&envelope.from, message.clone());
                }
            }
            Fact::CallFromConsole {
                owner,
                conn,
                username,
                display_name,
                available,
                text,
            } => {
                if owner == self.bus.id() {
                    self.calls.from_console_elsewhere(
                        &envelope.from,
                        *conn,
                        username,
                        display_name,
                        *available,
                        text,
                        self.open_now(),
                    );
                    self.calls.wake_store();
                }
            }
            Fact::CallerIin {
                server,
                conn,
                call_id,
                appeal_id,
                kiosk_id,
                sealed,
            } => {
                if server == self.bus.id() {
                    self.calls.remote_caller_iin(
                        &envelope.from,
                        *conn,
                        call_id,
                        appeal_id,
                        kiosk_id,
                        sealed.clone(),
                    );
                }
            }
            Fact::CallConsoleGone { owner, conn } => {
                if owner == self.bus.id() {
                    self.calls
                        .console_elsewhere_gone(&envelope.from, *conn, self.open_now());
                    self.calls.wake_store();
                }
            }
            Fact::Appeals { ids } => self.tell_consoles(match ids {
                Some(ids) => LiveEvent::AppealsChanged(ids.clone()),
                None => LiveEvent::Appeals,
            }),
            Fact::Sync => {
                // The asker learns everything anew; this server's picture stands.
                if !mine {
                    let mut facts = self.picture.facts();
                    facts.push(Fact::Operators {
                        free: self.calls.free_here(),
                        at: Utc::now(),
                    });
                    self.publish(Fact::Picture { facts });
                }
            }
            Fact::Picture { facts } => {
                for fact in facts {
                    if !matches!(fact, Fact::Sync | Fact::Picture { .. }) {
                        self.apply(&Envelope {
                            from: envelope.from.clone(),
                            fact: fact.clone(),
                        });
                    }
                }
            }
            fact => {
                let changes = self.picture.apply(fact);
                if changes.presence {
                    self.tell_consoles(LiveEvent::Presence);
                }
                if changes.consultant {
                    self.tell_consoles(LiveEvent::Consultant);
                }
            }
        }
    }

    /// Tells the other servers whether an operator is free here: when that changed, or
    /// `always` (the periodic announcement, so that they forget a server that stopped).
    pub fn announce_operators(&self, always: bool) {
        if !self.bus.shared() {
            return;
        }
        if let Some(free) = self.calls.free_here_changed(always) {
            self.publish(Fact::Operators {
                free,
                at: Utc::now(),
            });
        }
    }

    /// Open consultant calls, longest waiting first.
    pub fn consultant_calls(&self) -> Vec<ConsultantNeeded> {
        self.picture.consultant_calls()
    }

    /// The newest published catalogue version, as last read from the store.
    pub fn catalog_version(&self) -> Option<String> {
        lock(&self.catalog).version.clone()
    }

    /// A service's title in the newest published catalogue, else its id.
    pub fn service_title(&self, service_id: &str) -> String {
        lock(&self.catalog)
            .titles
            .get(service_id)
            .cloned()
            .unwrap_or_else(|| service_id.to_string())
    }

    /// Every service title of the newest published catalogue, by id.
    pub fn service_titles(&self) -> HashMap<String, String> {
        lock(&self.catalog).titles.clone()
    }

    /// Every service title of the newest published catalogue in `lang`, by id.
    pub fn service_titles_in(&self, lang: crate::i18n::Lang) -> HashMap<String, String> {
        let catalog = lock(&self.catalog);
        catalog
            .localized
            .get(lang.code())
            .unwrap_or(&catalog.titles)
            .clone()
    }

    /// Re-reads the newest catalogue version (heartbeats answer from memory); its files are
    /// read only when the version changed.
    pub fn refresh_catalog_version(&self) -> Result<(), crate::db::DbError> {
        let latest = self.db.read(crate::db::latest_catalog_version)?;
        if latest == lock(&self.catalog).version {
            return Ok(());
        }
        let cache = match self.db.read(crate::db::latest_catalog)? {
            Some(doc) => CatalogCache {
                titles: crate::catalog::titles(&doc.files),
                localized: crate::i18n::Lang::ALL
                    .into_iter()
                    .map(|l| (l.code(), crate::catalog::titles_in(&doc.files, l.code())))
                    .collect(),
                version: Some(doc.version),
            },
            None => CatalogCache::default(),
        };
        *lock(&self.catalog) = cache;
        Ok(())
    }

    /// Re-reads the published update bundles and the kiosks' failed versions (a publication
    /// by the command line reaches heartbeats within the housekeeping period).
    pub fn refresh_updates(&self) -> Result<(), crate::db::DbError> {
        let bundles = self.db.read(crate::db::list_bundles)?;
        let failed = self
            .db
            .read(crate::db::update_failures)?
            .into_iter()
            .map(|(id, report)| (id, report.version))
            .collect();
        *lock(&self.updates) = UpdatesCache { bundles, failed };
        Ok(())
    }

    /// The update to offer a kiosk of `site` running `image` (see [`crate::updates::offer`]).
    pub fn update_offer(
        &self,
        kiosk_id: &str,
        site: &str,
        image: Option<&str>,
    ) -> Option<senim_protocol::UpdateOffer> {
        let cache = lock(&self.updates);
        let failed = cache.failed.get(kiosk_id).map(String::as_str);
        crate::updates::offer(&cache.bundles, site, image, failed)
    }

    /// A kiosk reported `version` failed: it is not offered to that kiosk again.
    pub fn note_update_failed(&self, kiosk_id: &str, version: &str) {
        lock(&self.updates)
            .failed
            .insert(kiosk_id.to_string(), version.to_string());
    }

    /// A published bundle by its SHA-256, if it is rolled out to `site`.
    pub fn bundle_for(&self, sha256: &str, site: &str) -> Option<crate::db::Bundle> {
        lock(&self.updates)
            .bundles
            .iter()
            .find(|b| b.sha256 == sha256 && b.for_site(site))
            .cloned()
    }

    /// Everyone at a kiosk now, longest waiting first.
    pub fn present(&self) -> Vec<Present> {
        self.picture.present()
    }

    /// Keeps a heartbeat in memory (flushed to the store by [`AppState::flush_heartbeats`]).
    /// Every server learns that the kiosk was heard (its silence clears the lamp everywhere).
    pub fn record_heartbeat(&self, kiosk_id: &str, beat: Heartbeat, now: DateTime<Utc>) {
        self.publish(Fact::Beat {
            kiosk_id: kiosk_id.to_string(),
            in_use: beat.state != senim_protocol::KioskState::Idle,
            at: now,
        });
        lock(&self.heartbeats).insert(
            kiosk_id.to_string(),
            HeartbeatSeen {
                received: now,
                beat,
            },
        );
        lock(&self.dirty_heartbeats).push(kiosk_id.to_string());
    }

    /// The latest heartbeat of every kiosk heard from since start.
    pub fn heartbeats(&self) -> HashMap<String, HeartbeatSeen> {
        lock(&self.heartbeats).clone()
    }

    /// Writes the heartbeats received since the last flush, in one transaction.
    pub fn flush_heartbeats(&self) -> Result<usize, crate::db::DbError> {
        let ids: Vec<String> = std::mem::take(&mut *lock(&self.dirty_heartbeats));
        if ids.is_empty() {
            return Ok(0);
        }
        let beats: Vec<(String, HeartbeatSeen)> = {
            let map = lock(&self.heartbeats);
            let mut seen = std::collections::HashSet::new();
            ids.into_iter()
                .filter(|id| seen.insert(id.clone()))
                .filter_map(|id| map.get(&id).cloned().map(|b| (id, b)))
                .collect()
        };
        let n = beats.len();
        self.db.write(|tx| crate::db::save_heartbeats(tx, &beats))?;
        Ok(n)
    }

    /// Clears presence and consultant calls at kiosks that went silent (so neither the lamp
    /// nor a call sticks on a dead link). Heartbeats count whichever server they reached; the
    /// removal is a fact dated at the kiosk's last sign of life, so anything newer stays.
    pub fn drop_silent_presence(&self, now: DateTime<Utc>) {
        let limit = chrono::Duration::seconds(self.config.fleet.offline_after_secs as i64);
        for fact in self.picture.silent(now, limit) {
            self.publish(fact);
        }
    }

    /// Where the bytes of an upload live. Ids are made by the server, never taken from a
    /// request path unchecked, so this never escapes the uploads folder.
    pub fn upload_path(&self, upload_id: &str) -> PathBuf {
        self.data_dir.join("uploads").join(upload_id)
    }
}
