//! The kiosk's durable store: one SQLite file (WAL, `synchronous=FULL`) and a folder of videos.
//!
//! Every business row (appeal, service-guide event, device fault) is committed in the same
//! transaction as the outbox row that announces it to the call-centre, so nothing can be saved
//! and forgotten, or announced and missing. Only this module speaks SQL. Each thread opens its
//! own [`Store`] on the same folder (the UI thread commits, the sync worker delivers); SQLite's
//! WAL lets them work side by side.

mod queue;
mod thread;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use senim_common::sqlite::{self, UpgradeError};
use senim_protocol::{
    AppealRecord, CatalogProblem, DeviceFaultRecord, DeviceStatus, GuideEventKind,
    GuideEventRecord, Record, RecordBody, SiteMode, Topic, VideoInfo,
};
use sha2::{Digest, Sha256};

pub use queue::{Counts, QueueReport, KINDS};
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
    ])
}

/// How many migrations this build knows (the schema version it writes).
pub const SCHEMA_VERSION: usize = 2;

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

/// A video take ready to be committed with its appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVideo {
    /// The finished file, inside [`INCOMING_DIR`] (or anywhere on the same file system).
    pub path: PathBuf,
    pub seconds: u32,
}

/// A recording that has started: enough to commit it as an interrupted appeal if the kiosk
/// dies before the citizen sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRecording {
    /// The take's folder, inside [`INCOMING_DIR`].
    pub take_dir: PathBuf,
    pub topic: Topic,
    pub language: String,
    pub iin: Option<String>,
    pub test: bool,
    pub started_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRecording")
            .field("topic", &self.topic)
            .field("identified", &self.iin.is_some())
            .field("test", &self.test)
            .finish_non_exhaustive()
    }
}

/// A recording found unfinished at start-up (the kiosk died while it ran).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedRecording {
    pub id: i64,
    pub recording: NewRecording,
}

/// An appeal as the citizen left it; the store gives it its number.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAppeal {
    pub topic: Topic,
    pub language: String,
    pub iin: Option<String>,
    pub callback_phone: Option<String>,
    pub text: Option<String>,
    pub video: Option<NewVideo>,
    pub interrupted: bool,
    pub test: bool,
    pub created_at: DateTime<Utc>,
    /// The recording this appeal ends (its row goes in the same transaction).
    pub recording: Option<i64>,
}

impl std::fmt::Debug for NewAppeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAppeal")
            .field("topic", &self.topic)
            .field("language", &self.language)
            .field("identified", &self.iin.is_some())
            .field("phone", &self.callback_phone.is_some())
            .field("video", &self.video.as_ref().map(|v| v.seconds))
            .field("test", &self.test)
            .finish()
    }
}

/// What the kiosk learnt at enrolment. The token is a secret: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub kiosk_id: String,
    pub token: String,
    pub site: String,
    /// Hospital or front office, as the call-centre made the code.
    pub mode: SiteMode,
    /// The backend the kiosk enrolled with.
    pub backend_url: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("kiosk_id", &self.kiosk_id)
            .field("token", &"<redacted>")
            .field("site", &self.site)
            .field("mode", &self.mode)
            .field("backend_url", &self.backend_url)
            .finish()
    }
}

/// One outbox item ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub seq: i64,
    pub record: Record,
}

/// A video the backend does not have yet (its appeal record is delivered).
#[derive(Clone, PartialEq, Eq)]
pub struct PendingVideo {
    pub appeal_id: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The tus upload created earlier, if any.
    pub upload_url: Option<String>,
}

impl std::fmt::Debug for PendingVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path names a person's recording: not for logs.
        f.debug_struct("PendingVideo")
            .field("appeal_id", &self.appeal_id)
            .field("bytes", &self.bytes)
            .field("upload", &self.upload_url.is_some())
            .finish()
    }
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    pub outbox: usize,
    pub appeals: usize,
    pub guide_sessions: usize,
    pub device_faults: usize,
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

/// A new random appeal number (`A-` and 8 characters without look-alikes).
fn new_appeal_id() -> String {
    format!("A-{}", random_from(senim_protocol::APPEAL_ID_ALPHABET, 8))
}

/// A new random id grouping one citizen's service-guide events (64 random bits).
pub fn new_session_id() -> String {
    new_key("s")
}

/// A new idempotency key with this prefix (64 random bits).
fn new_key(prefix: &str) -> String {
    format!("{prefix}-{}", random_from(b"0123456789abcdef", 16))
}

/// Opens (or creates) the file, fsyncs it and its folder.
fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Size and SHA-256 of a file, after making its bytes durable.
fn seal_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    file.sync_all()?;
    Ok((len, hex::encode(hasher.finalize())))
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

    /// Commits an appeal and its video durably: the video is fsynced and moved to
    /// `videos/<number>.webm`, the folder fsynced, then the appeal row and its outbox row are
    /// committed in one transaction. Only then does the citizen see "sent". On failure
    /// nothing is stored and the take stays where it was, so "try again" can commit it.
    pub fn commit_appeal(&mut self, appeal: &NewAppeal) -> Result<String, StoreError> {
        // Hash and fsync the take before taking the write lock (it can be 100 MB).
        let sealed = match &appeal.video {
            Some(video) => {
                Some(seal_file(&video.path).map_err(io("cannot read the recorded video"))?)
            }
            None => None,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = loop {
            let id = new_appeal_id();
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM appeals WHERE id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            if !taken {
                break id;
            }
        };
        let mut moved: Option<(PathBuf, PathBuf)> = None;
        let mut video_cols: (Option<String>, Option<u64>, Option<String>, Option<u32>) =
            (None, None, None, None);
        if let (Some(video), Some((bytes, sha))) = (&appeal.video, sealed) {
            let name = format!("{id}.webm");
            let dest = self.data_dir.join(VIDEOS_DIR).join(&name);
            std::fs::rename(&video.path, &dest).map_err(io("cannot file the recorded video"))?;
            moved = Some((dest, video.path.clone()));
            video_cols = (Some(name), Some(bytes), Some(sha), Some(video.seconds));
        }
        let result = (|| -> Result<(), StoreError> {
            if moved.is_some() {
                fsync_dir(&self.data_dir.join(VIDEOS_DIR))
                    .map_err(io("cannot make the video folder durable"))?;
            }
            tx.execute(
                "INSERT INTO appeals (id, created_at, topic, language, iin, callback_phone, text, \
                 video_file, video_bytes, video_sha256, video_seconds, interrupted, test) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    id,
                    ts(appeal.created_at),
                    appeal.topic.as_str(),
                    appeal.language,
                    appeal.iin,
                    appeal.callback_phone,
                    appeal.text,
                    video_cols.0,
                    video_cols.1.map(|b| b as i64),
                    video_cols.2,
                    video_cols.3,
                    appeal.interrupted,
                    appeal.test,
                ],
            )?;
            insert_outbox(
                &tx,
                "appeal",
                &id,
                &format!("appeal-{id}"),
                appeal.created_at,
            )?;
            if let Some(recording) = appeal.recording {
                tx.execute("DELETE FROM recordings WHERE id = ?1", [recording])?;
            }
            Ok(())
        })();
        let result = result.and_then(|()| tx.commit().map_err(StoreError::from));
        if let Err(e) = result {
            if let Some((dest, back)) = moved {
                // Give the take back, so the citizen's "try again" has it.
                if let Err(undo) = std::fs::rename(&dest, &back) {
                    tracing::error!(error = %undo, "could not return an uncommitted video to incoming");
                }
            }
            return Err(e);
        }
        Ok(id)
    }

    /// Notes that a recording has started (before the camera writes a byte of it).
    pub fn begin_recording(&mut self, r: &NewRecording) -> Result<i64, StoreError> {
        let dir = self.relative_take_dir(&r.take_dir)?;
        self.conn.execute(
            "INSERT INTO recordings (take_dir, started_at, topic, language, iin, test) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                dir,
                ts(r.started_at),
                r.topic.as_str(),
                r.language,
                r.iin,
                r.test
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The recording was thrown away (re-record, or the citizen left before sending): forget
    /// it and delete its take folder.
    pub fn discard_recording(&mut self, id: i64) -> Result<(), StoreError> {
        let dir: Option<String> = self
            .conn
            .query_row(
                "DELETE FROM recordings WHERE id = ?1 RETURNING take_dir",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(dir) = dir {
            let path = self.incoming_dir().join(dir);
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot delete a discarded recording")(e)),
            }
        }
        Ok(())
    }

    /// Recordings a crash or power cut left unfinished, oldest first.
    pub fn unfinished_recordings(&self) -> Result<Vec<UnfinishedRecording>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, take_dir, started_at, topic, language, iin, test FROM recordings \
             ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, bool>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, dir, started, topic, language, iin, test)| {
                Ok(UnfinishedRecording {
                    id,
                    recording: NewRecording {
                        take_dir: self.incoming_dir().join(dir),
                        topic: parse_topic(&topic)?,
                        language,
                        iin,
                        test,
                        started_at: parse_ts(&started)?,
                    },
                })
            })
            .collect()
    }

    /// A take folder as stored: relative to [`INCOMING_DIR`], and inside it.
    fn relative_take_dir(&self, dir: &Path) -> Result<String, StoreError> {
        dir.strip_prefix(self.incoming_dir())
            .ok()
            .and_then(|p| p.to_str())
            .filter(|p| !p.is_empty() && !p.contains(".."))
            .map(str::to_string)
            .ok_or_else(|| StoreError::Corrupt {
                what: "take folder",
                detail: "a recording must be written inside videos/incoming/".into(),
            })
    }

    /// Records one service-guide event (and its session on `started`).
    pub fn record_guide_event(&mut self, event: &GuideEventRecord) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO guide_sessions (id, service_id, started_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO NOTHING",
            params![event.session_id, event.service_id, ts(event.at)],
        )?;
        tx.execute(
            "INSERT INTO guide_events (session_id, event, step, rating, at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                event.session_id,
                guide_kind_str(event.event),
                event.step,
                event.rating,
                ts(event.at)
            ],
        )?;
        let id = tx.last_insert_rowid().to_string();
        insert_outbox(&tx, "guide_event", &id, &new_key("guide"), event.at)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a device fault for the fleet view.
    pub fn record_device_fault(&mut self, fault: &DeviceFaultRecord) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO device_faults (device, status, detail, at) VALUES (?1, ?2, ?3, ?4)",
            params![
                fault.device,
                device_status_str(fault.status),
                fault.detail,
                ts(fault.at)
            ],
        )?;
        let id = tx.last_insert_rowid().to_string();
        insert_outbox(&tx, "device_fault", &id, &new_key("fault"), fault.at)?;
        tx.commit()?;
        Ok(())
    }

    /// The oldest undelivered records, in commit order.
    pub fn pending_records(&self, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, ref_id, key FROM outbox \
             WHERE delivered_at IS NULL AND rejected_at IS NULL ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, kind, ref_id, key) in rows {
            let record = match kind.as_str() {
                "appeal" => RecordBody::Appeal(self.appeal_record(&ref_id)?),
                "guide_event" => RecordBody::GuideEvent(self.guide_record(&ref_id)?),
                "device_fault" => RecordBody::DeviceFault(self.fault_record(&ref_id)?),
                other => {
                    return Err(StoreError::Corrupt {
                        what: "outbox kind",
                        detail: other.to_string(),
                    })
                }
            };
            out.push(Outgoing {
                seq,
                record: Record { key, record },
            });
        }
        Ok(out)
    }

    fn appeal_record(&self, id: &str) -> Result<AppealRecord, StoreError> {
        let row = self.conn.query_row(
            "SELECT created_at, topic, language, iin, callback_phone, text, video_bytes, \
             video_sha256, video_seconds, interrupted, test FROM appeals WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<u32>>(8)?,
                    r.get::<_, bool>(9)?,
                    r.get::<_, bool>(10)?,
                ))
            },
        )?;
        let (created, topic, language, iin, phone, text, bytes, sha, seconds, interrupted, test) =
            row;
        let video = match (bytes, sha) {
            (Some(bytes), Some(sha256)) => Some(VideoInfo {
                bytes: bytes as u64,
                sha256,
                duration_seconds: seconds.unwrap_or(0),
            }),
            _ => None,
        };
        Ok(AppealRecord {
            appeal_id: id.to_string(),
            topic: parse_topic(&topic)?,
            created_at: parse_ts(&created)?,
            language,
            iin,
            callback_phone: phone,
            text,
            video,
            interrupted,
            test,
        })
    }

    fn guide_record(&self, id: &str) -> Result<GuideEventRecord, StoreError> {
        let (session_id, service_id, event, step, rating, at) = self.conn.query_row(
            "SELECT e.session_id, s.service_id, e.event, e.step, e.rating, e.at \
             FROM guide_events e JOIN guide_sessions s ON s.id = e.session_id WHERE e.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<u32>>(3)?,
                    r.get::<_, Option<u8>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )?;
        Ok(GuideEventRecord {
            session_id,
            service_id,
            event: parse_guide_kind(&event)?,
            step,
            rating,
            at: parse_ts(&at)?,
        })
    }

    fn fault_record(&self, id: &str) -> Result<DeviceFaultRecord, StoreError> {
        let (device, status, detail, at) = self.conn.query_row(
            "SELECT device, status, detail, at FROM device_faults WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )?;
        Ok(DeviceFaultRecord {
            device,
            status: parse_device_status(&status)?,
            detail,
            at: parse_ts(&at)?,
        })
    }

    /// The backend stored these records (now or earlier): they leave the outbox, and the
    /// personal data of delivered appeals is erased here (the backend has it).
    pub fn mark_delivered(&mut self, seqs: &[i64], now: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut mark = tx.prepare_cached(
                "UPDATE outbox SET delivered_at = ?2 WHERE seq = ?1 AND delivered_at IS NULL",
            )?;
            let mut scrub = tx.prepare_cached(
                "UPDATE appeals SET iin = NULL, callback_phone = NULL, text = NULL \
                 WHERE id = (SELECT ref_id FROM outbox WHERE seq = ?1 AND kind = 'appeal')",
            )?;
            let now = ts(now);
            for seq in seqs {
                mark.execute(params![seq, now])?;
                scrub.execute([seq])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The backend refused a record for good; it leaves the queue and is kept for a
    /// technician (`senim-kiosk queue` shows it).
    pub fn mark_rejected(
        &mut self,
        seq: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET rejected_at = ?2, rejection = ?3 WHERE seq = ?1",
            params![seq, ts(now), reason],
        )?;
        Ok(())
    }

    /// The oldest video whose appeal the backend has but whose bytes it does not.
    pub fn next_video(&self) -> Result<Option<PendingVideo>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT a.id, a.video_file, a.video_bytes, a.video_sha256, a.upload_url \
                 FROM appeals a JOIN outbox o ON o.kind = 'appeal' AND o.ref_id = a.id \
                 WHERE a.video_file IS NOT NULL AND a.video_confirmed_at IS NULL \
                 AND o.delivered_at IS NOT NULL ORDER BY o.seq LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.map(
            |(appeal_id, file, bytes, sha256, upload_url)| PendingVideo {
                path: self.videos_dir().join(file),
                appeal_id,
                bytes: bytes as u64,
                sha256,
                upload_url,
            },
        ))
    }

    /// Whether the call-centre has an appeal's record and (if it has one) its video:
    /// `(record delivered, video confirmed or none)`; `None` for an unknown number.
    pub fn appeal_delivery(&self, appeal_id: &str) -> Result<Option<(bool, bool)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT o.delivered_at IS NOT NULL, \
                 a.video_file IS NULL OR a.video_confirmed_at IS NOT NULL \
                 FROM appeals a JOIN outbox o ON o.kind = 'appeal' AND o.ref_id = a.id \
                 WHERE a.id = ?1",
                [appeal_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Remembers (or forgets, with `None`) the tus upload of an appeal's video.
    pub fn set_upload_url(&mut self, appeal_id: &str, url: Option<&str>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE appeals SET upload_url = ?2 WHERE id = ?1",
            params![appeal_id, url],
        )?;
        Ok(())
    }

    /// The backend holds the video with the right SHA-256: record it, then delete the file.
    pub fn confirm_video(&mut self, appeal_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let file: Option<String> = self
            .conn
            .query_row(
                "UPDATE appeals SET video_confirmed_at = ?2, upload_url = NULL WHERE id = ?1 \
                 AND video_confirmed_at IS NULL RETURNING video_file",
                params![appeal_id, ts(now)],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(file) = file {
            let path = self.videos_dir().join(file);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot delete a delivered video")(e)),
            }
        }
        Ok(())
    }

    /// Removes delivered (or refused) items older than `retention_days`, and video files
    /// that belong to no appeal (a commit that crashed half-way) once they are an hour old.
    pub fn purge(&mut self, now: DateTime<Utc>, retention_days: u32) -> Result<Purged, StoreError> {
        let cutoff = ts(now - chrono::Duration::days(i64::from(retention_days)));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done = "(delivered_at IS NOT NULL OR rejected_at IS NOT NULL) AND created_at < ?1";
        let appeals = tx.execute(
            &format!(
                "DELETE FROM appeals WHERE (video_file IS NULL OR video_confirmed_at IS NOT NULL) \
                 AND id IN (SELECT ref_id FROM outbox WHERE kind = 'appeal' AND {done})"
            ),
            [&cutoff],
        )?;
        tx.execute(
            &format!(
                "DELETE FROM guide_events WHERE CAST(id AS TEXT) IN \
                 (SELECT ref_id FROM outbox WHERE kind = 'guide_event' AND {done})"
            ),
            [&cutoff],
        )?;
        let guide_sessions = tx.execute(
            "DELETE FROM guide_sessions WHERE started_at < ?1 AND NOT EXISTS \
             (SELECT 1 FROM guide_events e WHERE e.session_id = guide_sessions.id)",
            [&cutoff],
        )?;
        let device_faults = tx.execute(
            &format!(
                "DELETE FROM device_faults WHERE CAST(id AS TEXT) IN \
                 (SELECT ref_id FROM outbox WHERE kind = 'device_fault' AND {done})"
            ),
            [&cutoff],
        )?;
        // Outbox rows go last, and only where their business row is gone.
        let outbox = tx.execute(
            &format!(
                "DELETE FROM outbox WHERE {done} AND NOT EXISTS \
                 (SELECT 1 FROM appeals a WHERE outbox.kind = 'appeal' AND a.id = outbox.ref_id)"
            ),
            [&cutoff],
        )?;
        tx.commit()?;
        self.sweep_orphan_videos(now)?;
        Ok(Purged {
            outbox,
            appeals,
            guide_sessions,
            device_faults,
        })
    }

    fn sweep_orphan_videos(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let dir = self.videos_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let hour_ago = std::time::SystemTime::from(now - chrono::Duration::hours(1));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".webm") else {
                continue;
            };
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
            if !old {
                continue;
            }
            let known: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM appeals WHERE id = ?1 AND video_confirmed_at IS NULL)",
                [id],
                |r| r.get(0),
            )?;
            if !known {
                std::fs::remove_file(entry.path()).map_err(io("cannot delete a stray video"))?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ meta

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// This kiosk's enrolment, if it has one.
    pub fn enrolment(&self) -> Result<Option<Enrolment>, StoreError> {
        let (Some(kiosk_id), Some(token)) = (self.meta("kiosk_id")?, self.meta("token")?) else {
            return Ok(None);
        };
        let mode = match self.meta("mode")?.as_deref() {
            Some("front-office") => SiteMode::FrontOffice,
            _ => SiteMode::Hospital,
        };
        Ok(Some(Enrolment {
            kiosk_id,
            token,
            site: self.meta("site")?.unwrap_or_default(),
            mode,
            backend_url: self.meta("backend_url")?.unwrap_or_default(),
        }))
    }

    /// The call-centre revoked this kiosk: its token is useless, so it is forgotten (the queue
    /// stays, to be delivered once the kiosk is enrolled again).
    pub fn forget_token(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM meta WHERE key IN ('token', 'kiosk_id')", [])?;
        Ok(())
    }

    /// Keeps a new enrolment (replacing an old one).
    pub fn set_enrolment(&mut self, e: &Enrolment) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (k, v) in [
            ("kiosk_id", e.kiosk_id.as_str()),
            ("token", e.token.as_str()),
            ("site", e.site.as_str()),
            ("mode", e.mode.as_str()),
            ("backend_url", e.backend_url.as_str()),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The backend accepted something now.
    pub fn note_success(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta("last_success_at", &ts(now))
    }

    /// The last sync failure (a technical sentence without personal data).
    pub fn note_error(&self, message: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta("last_error", message)?;
        self.set_meta("last_error_at", &ts(now))
    }

    /// The catalogue version installed from the call-centre (`None`: the shipped one).
    pub fn catalog_version(&self) -> Result<Option<String>, StoreError> {
        self.meta("catalog_version")
    }

    /// A new catalogue version is installed: it is the one in use from now on, and any
    /// earlier refusal is forgotten.
    pub fn set_catalog_version(&self, version: &str) -> Result<(), StoreError> {
        self.set_meta("catalog_version", version)?;
        self.set_catalog_problem(None)
    }

    /// The last catalogue version the kiosk refused, and why (sent with every heartbeat).
    pub fn catalog_problem(&self) -> Result<Option<CatalogProblem>, StoreError> {
        let (Some(version), Some(message)) = (
            self.meta("catalog_refused_version")?,
            self.meta("catalog_refused_message")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(CatalogProblem { version, message }))
    }

    pub fn set_catalog_problem(&self, problem: Option<&CatalogProblem>) -> Result<(), StoreError> {
        match problem {
            Some(p) => {
                self.set_meta("catalog_refused_version", &p.version)?;
                self.set_meta("catalog_refused_message", &p.message)
            }
            None => {
                self.conn.execute(
                    "DELETE FROM meta WHERE key IN ('catalog_refused_version', 'catalog_refused_message')",
                    [],
                )?;
                Ok(())
            }
        }
    }

    /// How far the kiosk's clock is behind the server's (server − kiosk), in milliseconds.
    pub fn set_clock_skew_ms(&self, skew: i64) -> Result<(), StoreError> {
        self.set_meta("clock_skew_ms", &skew.to_string())
    }

    pub fn clock_skew_ms(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta("clock_skew_ms")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// A consistency check of the whole file (`PRAGMA integrity_check`).
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let r: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }
}

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

fn parse_topic(s: &str) -> Result<Topic, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        StoreError::Corrupt {
            what: "appeal topic",
            detail: s.to_string(),
        }
    })
}

fn guide_kind_str(k: GuideEventKind) -> &'static str {
    match k {
        GuideEventKind::Started => "started",
        GuideEventKind::StepReached => "step_reached",
        GuideEventKind::Completed => "completed",
        GuideEventKind::Abandoned => "abandoned",
        GuideEventKind::ConsultantCalled => "consultant_called",
        GuideEventKind::Rated => "rated",
    }
}

fn parse_guide_kind(s: &str) -> Result<GuideEventKind, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        StoreError::Corrupt {
            what: "guide event",
            detail: s.to_string(),
        }
    })
}

fn device_status_str(s: DeviceStatus) -> &'static str {
    match s {
        DeviceStatus::Ok => "ok",
        DeviceStatus::Warn => "warn",
        DeviceStatus::Fail => "fail",
        DeviceStatus::Absent => "absent",
    }
}

fn parse_device_status(s: &str) -> Result<DeviceStatus, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        StoreError::Corrupt {
            what: "device status",
            detail: s.to_string(),
        }
    })
}

#[cfg(test)]
mod tests;
