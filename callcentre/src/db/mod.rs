//! The backend's store: connections (the embedded SQLite file, through the SQL layer in
//! [`sql`]), pragmas, migrations, and every SQL statement the server runs, one file per
//! resource (no other module speaks SQL).

mod appeals;
mod audit;
mod calls;
mod catalog;
pub mod copy;
mod figures;
mod guides;
mod kiosks;
mod lifecycle;
pub mod migrate;
mod operators;
mod queue;
mod records;
mod retention;
mod server_keys;
mod sessions;
mod sms;
pub mod sql;
mod status;
mod updates;
mod uploads;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite_migration::Migrations;
use senim_common::sqlite::{self, UpgradeError};

pub use appeals::*;
pub use audit::*;
pub use calls::*;
pub use catalog::*;
pub use figures::*;
pub use guides::*;
pub use kiosks::*;
pub use lifecycle::*;
pub use operators::*;
pub use queue::*;
pub use records::*;
pub use retention::*;
pub use server_keys::*;
pub use sessions::*;
pub use sms::*;
pub use status::*;
pub use updates::*;
pub use uploads::*;

/// The SQLite schema, oldest first ([`migrate`] lists both stores' migrations). Append only.
pub fn migrations() -> Migrations<'static> {
    migrate::sqlite()
}

/// How many migrations this build knows.
pub const SCHEMA_VERSION: usize = 8;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data folder {path}: {source}. Check --data and its permissions")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} was written by a newer senim-callcentre (schema {found}, this build \
         knows {known}); run the newer version or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("a database task stopped unexpectedly")]
    Task,
    /// A single-row query found none (`.optional()` turns it into `None`).
    #[error("the query returned no row")]
    NoRows,
    /// A value could not be converted between Rust and SQL.
    #[error("a database value has the wrong type or range: {0}")]
    Value(String),
    /// The PostgreSQL database (`[database] url`) failed.
    #[error(transparent)]
    Postgres(#[from] sql::postgres::PgError),
}

/// One writer and a few readers on the same database.
pub struct Db {
    /// The call-centre's data folder (keys, update bundles; the SQLite file when embedded).
    data_dir: PathBuf,
    /// The SQLite file, `None` on another backend.
    path: Option<PathBuf>,
    writer: Mutex<sql::Connection>,
    readers: Vec<Mutex<sql::Connection>>,
    next_reader: AtomicUsize,
}

impl Db {
    /// The call-centre's data folder (where the SQLite file lives when the store is embedded).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A store on connections already opened and migrated: one writer, one or more readers.
    pub(crate) fn from_connections(
        data_dir: PathBuf,
        writer: sql::Connection,
        readers: Vec<sql::Connection>,
    ) -> Db {
        Db {
            data_dir,
            path: None,
            writer: Mutex::new(writer),
            readers: readers.into_iter().map(Mutex::new).collect(),
            next_reader: AtomicUsize::new(0),
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("data_dir", &self.data_dir)
            .field("path", &self.path)
            .finish()
    }
}

const READERS: usize = 4;

/// How long a connection waits for another's lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// WAL lets the console read while kiosks write; FULL makes every commit survive a power cut
/// (one fsync of the WAL per transaction, so batches are cheap).
fn configure(conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    sqlite::configure(conn, BUSY_TIMEOUT)
}

impl Db {
    /// Opens the store the configuration names: the PostgreSQL database of `[database] url`
    /// (`postgres_url`), else the embedded SQLite file of `data_dir`. The data folder holds
    /// the keys and videos either way.
    pub fn connect(data_dir: &Path, postgres_url: Option<&str>) -> Result<Db, DbError> {
        match postgres_url {
            Some(url) => Db::open_postgres(data_dir, url),
            None => Db::open(data_dir),
        }
    }

    /// Connects to the PostgreSQL database of `url` (one writer, [`READERS`] readers), which
    /// must have this build's schema: servers do not migrate a shared database, `senim-callcentre
    /// migrate` does.
    pub fn open_postgres(data_dir: &Path, url: &str) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let (writer, readers) = migrate::open_postgres(url, READERS)?;
        Ok(Db::from_connections(
            data_dir.to_path_buf(),
            writer,
            readers,
        ))
    }

    /// Opens (creating if needed) `<data_dir>/senim.sqlite3` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("senim.sqlite3");
        let open = || {
            rusqlite::Connection::open(&path).map_err(|source| DbError::Open {
                path: path.clone(),
                source,
            })
        };
        let mut writer = open()?;
        configure(&writer)?;
        // Migrations that rebuild a table run with foreign keys off (SQLite's procedure for
        // schema changes ALTER TABLE cannot make); each such migration checks them itself.
        writer.pragma_update(None, "foreign_keys", "OFF")?;
        sqlite::upgrade(&mut writer, &migrations(), SCHEMA_VERSION).map_err(|e| match e {
            UpgradeError::NewerSchema { found, known } => DbError::TooNew {
                path: path.clone(),
                found,
                known,
            },
            UpgradeError::Sql(e) => DbError::Sql(e),
            UpgradeError::Migrate(e) => DbError::Migrate(e),
        })?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = open()?;
            configure(&reader)?;
            readers.push(Mutex::new(sql::Connection::sqlite(reader)));
        }
        Ok(Db {
            data_dir: data_dir.to_path_buf(),
            path: Some(path),
            writer: Mutex::new(sql::Connection::sqlite(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `f` in one write transaction, committed if it returns `Ok`.
    /// An `Err` from `f` (or a panic in it) rolls everything back.
    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&sql::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.begin_write()?;
        let open = OpenWrite {
            conn: &conn,
            done: false,
        };
        let value = f(&sql::Transaction::new(open.conn));
        open.finish(value.is_ok())?;
        value
    }

    /// After personal data was erased (the purge): `secure_delete` (set on every connection)
    /// zeroed the old values in the database file; this copies the WAL back and truncates it so
    /// their old page images leave the WAL too. `false` if a reader kept part of it alive.
    pub fn checkpoint_erased(&self) -> Result<bool, DbError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match conn.as_sqlite() {
            Some(c) => Ok(sqlite::checkpoint_truncate(c)?),
            // Nothing of SQLite's WAL to empty on another backend.
            None => Ok(true),
        }
    }

    /// Runs `f` on a reader connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&sql::Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first free reader, else wait for the one round-robin picked.
        for i in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[start % self.readers.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

/// The writer's open transaction: committed or rolled back by [`OpenWrite::finish`], rolled
/// back on drop if `f` panicked (the writer's lock ignores poisoning, so the connection must
/// not stay inside a transaction).
struct OpenWrite<'c> {
    conn: &'c sql::Connection,
    done: bool,
}

impl OpenWrite<'_> {
    /// Commits if `ok`, else rolls back (the closure's own error is what the caller hears;
    /// a connection left inside a transaction says so at the next `begin_write`).
    fn finish(mut self, ok: bool) -> Result<(), DbError> {
        self.done = true;
        if ok {
            // A failed COMMIT leaves the transaction open in SQLite: roll it back then.
            self.conn.commit().inspect_err(|_| {
                let _ = self.conn.rollback();
            })
        } else {
            let _ = self.conn.rollback();
            Ok(())
        }
    }
}

impl Drop for OpenWrite<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.rollback();
        }
    }
}

/// Runs a write transaction off the async runtime.
pub async fn write<T: Send + 'static, E: From<DbError> + Send + 'static>(
    db: &Arc<Db>,
    f: impl FnOnce(&sql::Transaction<'_>) -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || db.write(f))
        .await
        .map_err(|_| E::from(DbError::Task))?
}

/// Runs a read off the async runtime.
pub async fn read<T: Send + 'static>(
    db: &Arc<Db>,
    f: impl FnOnce(&sql::Connection) -> Result<T, DbError> + Send + 'static,
) -> Result<T, DbError> {
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || db.read(f))
        .await
        .map_err(|_| DbError::Task)?
}

/// The server's time format: UTC, milliseconds, `Z` (text order is time order).
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses a time written by [`ts`].
pub fn parse_ts(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use rusqlite_migration::M;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
        assert_eq!(
            SCHEMA_VERSION,
            migrations_count(),
            "SCHEMA_VERSION must equal the number of migrations"
        );
    }

    fn migrations_count() -> usize {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_latest(&mut conn).unwrap();
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Db::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join("senim.sqlite3")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Db::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("newer senim-callcentre"), "{err}");
    }

    #[test]
    fn a_schema_1_database_is_upgraded_and_keeps_its_codes_and_kiosks() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join("senim.sqlite3")).unwrap();
            Migrations::new(vec![M::up(include_str!(
                "../../migrations/0001_initial.sql"
            ))])
            .to_latest(&mut conn)
            .unwrap();
            conn.execute_batch(
                "INSERT INTO enrol_codes (code_hash, site, created_at, expires_at) \
                 VALUES ('c', 'Old clinic', '2026-01-01T00:00:00.000Z', '2099-01-01T00:00:00.000Z');
                 INSERT INTO kiosks (id, site, token_hash, enrolled_at) \
                 VALUES ('K-OLD001', 'Old clinic', 't', '2026-01-01T00:00:00.000Z');
                 INSERT INTO catalog_versions (version, published_at, files_json) \
                 VALUES ('2026-11-01.1', '2026-11-01T00:00:00.000Z', '{}');",
            )
            .unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        let kiosks = db.read(list_kiosks).unwrap();
        assert_eq!(kiosks[0].mode, senim_protocol::SiteMode::Hospital);
        assert_eq!(
            db.read(latest_catalog_version).unwrap().as_deref(),
            Some("2026-11-01.1")
        );
        let redeemed = db
            .write(|tx| redeem_enrol_code(tx, "c", chrono::Utc::now(), "K-NEW001", "t2"))
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.mode, senim_protocol::SiteMode::Hospital);
    }

    #[test]
    fn a_schema_3_database_keeps_its_appeals_history_and_operators() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join("senim.sqlite3")).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            let old = Migrations::new(migrations_up_to(3));
            old.to_latest(&mut conn).unwrap();
            conn.execute_batch(
                "INSERT INTO kiosks (id, site, token_hash, enrolled_at) \
                 VALUES ('K-OLD001', 'Old clinic', 't', '2026-01-01T00:00:00.000Z');
                 INSERT INTO operators (username, display_name, password_hash, created_at) \
                 VALUES ('aigerim', 'Aigerim', 'x', '2026-01-01T00:00:00.000Z');
                 INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                 interrupted, test, status, due_at) VALUES ('A-AAAAAAAA', 'K-OLD001', \
                 'bribe_report', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:01.000Z', 'kk', \
                 0, 0, 'in_progress', '2026-01-17T00:00:00.000Z');
                 INSERT INTO appeal_events (appeal_id, at, operator, action, from_status, \
                 to_status) VALUES ('A-AAAAAAAA', '2026-01-03T00:00:00.000Z', 'aigerim', \
                 'status', 'new', 'in_progress');
                 INSERT INTO uploads (id, kiosk_id, appeal_id, length, metadata, created_at, \
                 expires_at) VALUES ('u1', 'K-OLD001', 'A-AAAAAAAA', 10, '', \
                 '2026-01-02T00:00:00.000Z', '2026-01-05T00:00:00.000Z');",
            )
            .unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        let appeal = db.read(|c| get_appeal(c, "A-AAAAAAAA")).unwrap().unwrap();
        assert_eq!(appeal.status, "in_progress");
        assert_eq!(
            db.read(|c| appeal_events(c, "A-AAAAAAAA")).unwrap().len(),
            1
        );
        let (flag, fk_ok): (bool, i64) = db
            .read(|c| {
                Ok((
                    c.query_row("SELECT anticorruption FROM appeals", [], |r| r.get(0))?,
                    c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                        r.get(0)
                    })?,
                ))
            })
            .unwrap();
        assert!(
            flag,
            "a bribe report is flagged for the anti-corruption queue"
        );
        assert_eq!(fk_ok, 0);
        let roles = db
            .read(|c| {
                let mut s =
                    c.prepare("SELECT role FROM operator_roles WHERE username = 'aigerim'")?;
                let v = s
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(v)
            })
            .unwrap();
        assert_eq!(
            Roles::from_names(roles.iter().map(String::as_str))
                .unwrap()
                .names(),
            ["admin", "operator"]
        );
        // Foreign keys are back on for the server's own work.
        let on: i64 = db
            .write(|tx| {
                Ok::<_, DbError>(tx.as_sqlite().expect("SQLite").pragma_query_value(
                    None,
                    "foreign_keys",
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(on, 1);
        let orphan = db.write(|tx| {
            tx.execute(
                "INSERT INTO appeal_events (appeal_id, at, operator, action) \
                 VALUES ('A-NOPE0000', 'x', 'y', 'note')",
                [],
            )
        });
        assert!(
            orphan.is_err(),
            "foreign keys are enforced after the upgrade"
        );
    }

    fn migrations_up_to(n: usize) -> Vec<M<'static>> {
        [
            include_str!("../../migrations/0001_initial.sql"),
            include_str!("../../migrations/0002_guides_catalogue_enrolment.sql"),
            include_str!("../../migrations/0003_live_calls.sql"),
        ][..n]
            .iter()
            .map(|sql| M::up(sql))
            .collect()
    }

    fn operator_count(db: &Db) -> i64 {
        db.read(|c| c.query_row("SELECT count(*) FROM operators", [], |r| r.get(0)))
            .unwrap()
    }

    fn add_operator(tx: &sql::Transaction<'_>, name: &str) -> Result<bool, DbError> {
        insert_operator(tx, name, name, "x", chrono::Utc::now())
    }

    #[test]
    fn a_write_commits_on_ok_and_rolls_back_on_err_a_failed_statement_or_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write(|tx| add_operator(tx, "aigerim")).unwrap();
        assert_eq!(operator_count(&db), 1);
        // An Err from the closure undoes what it wrote.
        let err = db.write(|tx| {
            add_operator(tx, "bolat")?;
            Err::<(), _>(DbError::Value("refused".into()))
        });
        assert!(err.is_err());
        assert_eq!(operator_count(&db), 1);
        // A failed statement (a broken foreign key) too; the writer stays usable.
        let err = db.write(|tx| {
            add_operator(tx, "bolat")?;
            tx.execute(
                "INSERT INTO appeal_events (appeal_id, at, operator, action) \
                 VALUES ('A-NOPE0000', 'x', 'y', 'note')",
                [],
            )
        });
        assert!(err.is_err());
        assert_eq!(operator_count(&db), 1);
        // A panic in the closure leaves no transaction open on the writer.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.write(|tx| {
                add_operator(tx, "bolat")?;
                if operator_count(&db) >= 0 {
                    panic!("a bug in the closure");
                }
                Ok::<_, DbError>(())
            })
        }));
        assert!(panicked.is_err());
        db.write(|tx| add_operator(tx, "dana")).unwrap();
        let names = db
            .read(|c| {
                c.prepare("SELECT username FROM operators ORDER BY username")?
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        assert_eq!(names, ["aigerim", "dana"]);
    }

    #[test]
    fn the_journal_is_wal_and_commits_are_full() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let (mode, sync): (String, i64) = db
            .read(|c| {
                Ok((
                    c.as_sqlite().expect("SQLite").pragma_query_value(
                        None,
                        "journal_mode",
                        |r| r.get(0),
                    )?,
                    c.as_sqlite().expect("SQLite").pragma_query_value(
                        None,
                        "synchronous",
                        |r| r.get(0),
                    )?,
                ))
            })
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
}
