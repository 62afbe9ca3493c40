//! Shared server state: the store, the configuration, and the live picture kept in memory
//! (who is at which kiosk now, the latest heartbeats) with its change feed for the console.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use senim_protocol::hours::Schedule;
use senim_protocol::{Heartbeat, Journey};
use tokio::sync::broadcast;

use crate::config::Config;
use crate::db::{Db, HeartbeatSeen};

/// Someone at a kiosk now.
#[derive(Debug, Clone, PartialEq)]
pub struct Present {
    pub kiosk_id: String,
    pub site: String,
    pub journey: Option<Journey>,
    /// When the server learnt of it (the console's timer counts from here).
    pub since: DateTime<Utc>,
}

/// What the console is told live.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// Who is at a kiosk changed.
    Presence,
    /// A new appeal arrived, or an appeal's video finished uploading.
    Appeals,
}

/// Everything handlers share.
pub struct AppState {
    pub db: Arc<Db>,
    pub config: Config,
    pub schedule: Schedule,
    pub data_dir: PathBuf,
    presence: Mutex<HashMap<String, Present>>,
    heartbeats: Mutex<HashMap<String, HeartbeatSeen>>,
    dirty_heartbeats: Mutex<Vec<String>>,
    live: broadcast::Sender<LiveEvent>,
    catalog_version: Mutex<Option<String>>,
    uploads: crate::api::tus::Locks,
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
        Arc::new(AppState {
            db,
            config,
            schedule,
            data_dir,
            presence: Mutex::new(HashMap::new()),
            heartbeats: Mutex::new(HashMap::new()),
            dirty_heartbeats: Mutex::new(Vec::new()),
            live,
            catalog_version: Mutex::new(None),
            uploads: crate::api::tus::Locks::default(),
        })
    }

    /// Per-upload locks of the tus endpoints.
    pub fn upload_locks(&self) -> &crate::api::tus::Locks {
        &self.uploads
    }

    /// Subscribes to live changes.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    /// Tells live subscribers (if any) that something changed.
    pub fn notify(&self, event: LiveEvent) {
        let _ = self.live.send(event);
    }

    /// Records that someone is at a kiosk now, or left. Returns whether anything changed.
    pub fn set_presence(
        &self,
        kiosk_id: &str,
        site: &str,
        present: bool,
        journey: Option<Journey>,
        now: DateTime<Utc>,
    ) -> bool {
        let changed = {
            let mut map = lock(&self.presence);
            if present {
                match map.get_mut(kiosk_id) {
                    Some(p) if p.journey == journey => false,
                    Some(p) => {
                        p.journey = journey;
                        true
                    }
                    None => {
                        map.insert(
                            kiosk_id.to_string(),
                            Present {
                                kiosk_id: kiosk_id.to_string(),
                                site: site.to_string(),
                                journey,
                                since: now,
                            },
                        );
                        true
                    }
                }
            } else {
                map.remove(kiosk_id).is_some()
            }
        };
        if changed {
            self.notify(LiveEvent::Presence);
        }
        changed
    }

    /// The newest published catalogue version, as last read from the store.
    pub fn catalog_version(&self) -> Option<String> {
        lock(&self.catalog_version).clone()
    }

    /// Re-reads the newest catalogue version (heartbeats answer from memory).
    pub fn refresh_catalog_version(&self) -> Result<(), crate::db::DbError> {
        let latest = self.db.read(crate::db::latest_catalog)?;
        *lock(&self.catalog_version) = latest.map(|c| c.version);
        Ok(())
    }

    /// Everyone at a kiosk now, longest waiting first.
    pub fn present(&self) -> Vec<Present> {
        let mut list: Vec<Present> = lock(&self.presence).values().cloned().collect();
        list.sort_by(|a, b| a.since.cmp(&b.since).then(a.kiosk_id.cmp(&b.kiosk_id)));
        list
    }

    /// Keeps a heartbeat in memory (flushed to the store by [`AppState::flush_heartbeats`]).
    pub fn record_heartbeat(&self, kiosk_id: &str, beat: Heartbeat, now: DateTime<Utc>) {
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

    /// Clears presence at kiosks that went silent (so the lamp never sticks on a dead link).
    pub fn drop_silent_presence(&self, now: DateTime<Utc>) {
        let limit = chrono::Duration::seconds(self.config.fleet.offline_after_secs as i64);
        let beats = lock(&self.heartbeats).clone();
        let stale: Vec<String> = lock(&self.presence)
            .values()
            .filter(|p| {
                let last = beats
                    .get(&p.kiosk_id)
                    .map(|b| b.received)
                    .unwrap_or(p.since);
                now - last.max(p.since) > limit
            })
            .map(|p| p.kiosk_id.clone())
            .collect();
        for id in stale {
            self.set_presence(&id, "", false, None, now);
        }
    }

    /// Where the bytes of an upload live. Ids are made by the server, never taken from a
    /// request path unchecked, so this never escapes the uploads folder.
    pub fn upload_path(&self, upload_id: &str) -> PathBuf {
        self.data_dir.join("uploads").join(upload_id)
    }
}
