//! The kiosk's durable store: one SQLite file (WAL, `synchronous=FULL`) and a folder of videos.
//!
//! Every business row (appeal, service-guide event, device fault) is committed in the same
//! transaction as the outbox row that announces it to the call-centre, so nothing can be saved
//! and forgotten, or announced and missing. Only this module speaks SQL. Each thread opens its
//! own [`Store`] on the same folder (the UI thread commits, the sync worker delivers); SQLite's
//! WAL lets them work side by side.
//!
//! This file opens the store (pragmas, migrations, refusing a newer schema) and holds what the
//! parts share; the parts: `appeals.rs` (appeals and recordings), `guides.rs` (service-guide
//! events), `faults.rs` (device faults), `outbox.rs` (delivery and videos), `retention.rs`
//! (purge), `meta.rs` (enrolment and sync notes), `pin.rs` (the technician PIN's lock-out),
//! `queue.rs` (counts), `seal.rs` (sealing appeals to the call-centre's age recipient,
//! erasing for good), `thread.rs` (the store thread).

mod appeals;
mod faults;
mod guides;
mod meta;
mod outbox;
mod pin;
mod queue;
mod retention;
mod seal;
mod thread;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use rusqlite_migration::{Migrations, M};
use senim_common::sqlite::{self, UpgradeError};

pub use appeals::{
    new_appeal_id, new_check_code, CommittedAppeal, NewAppeal, NewRecording, NewVideo,
    UnfinishedRecording,
};
pub use guides::new_session_id;
pub use meta::Enrolment;
pub use outbox::{Outgoing, Parked, PendingVideo};
pub use pin::StoredPinLock;
pub use queue::{Counts, QueueReport, KINDS};
pub use retention::Purged;
pub use thread::StoreThread;

/// The store's file name inside the data folder.
pub const DB_FILE: &str = "kiosk.sqlite3";
/// Finished videos, named `<appeal id>.webm`.
pub const VIDEOS_DIR: &str = "videos";
/// Where a recorder writes a take before the store commits it (same file system as
/// [`VIDEOS_DIR`], so committing is a rename).
pub const INCOMING_DIR: &str = "videos/incoming";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("sql/0001_initial.sql")),
        M::up(include_str!("sql/0002_recordings.sql")),
        M::up(include_str!("sql/0003_calls.sql")),
        M::up(include_str!("sql/0004_check_code.sql")),
        M::up(include_str!("sql/0005_parked.sql")),
        M::up(include_str!("sql/0006_technician_pin.sql")),
        M::up(include_str!("sql/0007_sealed.sql")),
    ])
}

/// How many migrations this build knows (the schema version it writes).
pub const SCHEMA_VERSION: usize = 7;

/// What can go wrong with the kiosk's store. Messages say what a technician can do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the kiosk store in {path}: {source} — check that the data folder exists, \
         is writable by the kiosk user and that its disk is mounted"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the kiosk store {path} was written by a newer senim-kiosk (schema {found}, this build \
         knows {known}); install the newer version again or restore the data folder from backup"
    )]
    NewerSchema {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("cannot upgrade the kiosk store: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    #[error(
        "the kiosk's disk is full ({free_mib} MiB free, {needed_mib} MiB needed) — free space \
         in the data folder or let the kiosk deliver what it holds"
    )]
    DiskFull { free_mib: u64, needed_mib: u64 },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("kiosk store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("kiosk store holds an unreadable {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

impl StoreError {
    /// Whether the failure is a full disk (so the UI can say so rather than "error").
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull { .. } => true,
            StoreError::Io { source, .. } => {
                source.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
            }
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            _ => false,
        }
    }
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { what, source }
}

/// UTC text with milliseconds: sortable, and what [`parse_ts`] reads.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: "timestamp",
            detail: format!("{s:?}: {e}"),
        })
}

/// The kiosk's store on one connection.
pub struct Store {
    conn: Connection,
    data_dir: PathBuf,
}

fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    sqlite::configure(conn, std::time::Duration::from_secs(10))
}

fn random_from(alphabet: &[u8], n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A new idempotency key with this prefix (64 random bits).
fn new_key(prefix: &str) -> String {
    format!("{prefix}-{}", random_from(b"0123456789abcdef", 16))
}

/// The call-centre the store in `data_dir` was enrolled with, when there is a store and it
/// names one; a store that cannot be read counts as none (the kiosk then asks to be enrolled,
/// and opening the store for real reports why).
pub fn enrolled_backend(data_dir: &Path) -> Option<String> {
    if !data_dir.join(DB_FILE).exists() {
        return None;
    }
    match Store::open(data_dir).and_then(|s| s.enrolled_backend()) {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(error = %e, "the store cannot say which call-centre this kiosk enrolled with");
            None
        }
    }
}

impl Store {
    /// Opens the store in `data_dir` (creating the folder, the database and the video folders),
    /// upgrading an older schema and refusing a newer one.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir.join(INCOMING_DIR))
            .map_err(io("cannot create the kiosk's data folder"))?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Store::init(conn, data_dir, &path)
    }

    /// A store in memory (unit tests); videos go to `data_dir`.
    pub fn open_in_memory(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir.join(INCOMING_DIR))
            .map_err(io("cannot create the kiosk's data folder"))?;
        let conn = Connection::open_in_memory()?;
        Store::init(conn, data_dir, Path::new(":memory:"))
    }

    fn init(mut conn: Connection, data_dir: &Path, path: &Path) -> Result<Store, StoreError> {
        configure(&conn).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        sqlite::upgrade(&mut conn, &migrations(), SCHEMA_VERSION).map_err(|e| match e {
            UpgradeError::NewerSchema { found, known } => StoreError::NewerSchema {
                path: path.to_path_buf(),
                found,
                known,
            },
            UpgradeError::Sql(e) => StoreError::Sql(e),
            UpgradeError::Migrate(e) => StoreError::Migrate(e),
        })?;
        Ok(Store {
            conn,
            data_dir: data_dir.to_path_buf(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where a recorder writes takes before they are committed.
    pub fn incoming_dir(&self) -> PathBuf {
        self.data_dir.join(INCOMING_DIR)
    }

    fn videos_dir(&self) -> PathBuf {
        self.data_dir.join(VIDEOS_DIR)
    }

    /// Bytes free for the kiosk on the data folder's file system.
    pub fn free_bytes(&self) -> Result<u64, StoreError> {
        let st = rustix::fs::statvfs(&self.data_dir).map_err(|e| StoreError::Io {
            what: "cannot measure free space in the data folder",
            source: e.into(),
        })?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// Refuses up front when fewer than `needed` bytes are free (a recording would not fit).
    pub fn check_space(&self, needed: u64) -> Result<u64, StoreError> {
        let free = self.free_bytes()?;
        if free < needed {
            return Err(StoreError::DiskFull {
                free_mib: free >> 20,
                needed_mib: needed.div_ceil(1 << 20),
            });
        }
        Ok(free)
    }

    /// A consistency check of the whole file (`PRAGMA integrity_check`).
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let r: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }
}

/// A snake_case enum read back from the text it was stored as; `what` names it in the error.
fn parse_enum<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        StoreError::Corrupt {
            what,
            detail: s.to_string(),
        }
    })
}

/// The outbox row announcing a business row, written in that row's own transaction.
fn insert_outbox(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    ref_id: &str,
    key: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO outbox (kind, ref_id, key, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![kind, ref_id, key, ts(at)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
