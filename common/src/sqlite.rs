//! Opening a SQLite database the way both Senim programs keep theirs: pragmas set on every
//! connection outside the migrations (WAL, `synchronous=FULL`, foreign keys, a busy timeout),
//! and the schema brought up to date with `rusqlite_migration` on `user_version`, refusing a
//! database written by a newer build.

use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::Migrations;

/// Why a database's schema cannot be used. Each program names its file and what to do in its
/// own error type.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error(
        "the database was written by a newer build (schema {found}, this build knows {known}); \
         run the newer version or restore a backup"
    )]
    NewerSchema { found: usize, known: usize },
    #[error("cannot read the database's schema version: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
}

/// Sets a connection's pragmas: WAL (readers beside the writer), `synchronous=FULL` (every
/// commit survives a power cut), foreign keys, `secure_delete` (deleted and overwritten
/// content is zeroed in the file, not left in free space), and how long to wait for a lock.
pub fn configure(conn: &Connection, busy_timeout: Duration) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(())
}

/// After personal data was erased: copies the WAL back into the database and truncates it
/// (`wal_checkpoint(TRUNCATE)`), so the erased values' old page images leave the WAL file too.
/// `false` when a reader kept part of the WAL alive (the next erasure tries again).
pub fn checkpoint_truncate(conn: &Connection) -> Result<bool, rusqlite::Error> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// The schema version a database is at (`user_version`).
pub fn schema_version(conn: &Connection) -> Result<usize, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings the schema up to date with `migrations` (`known` of them), refusing a database whose
/// schema is newer than this build knows.
pub fn upgrade(
    conn: &mut Connection,
    migrations: &Migrations<'_>,
    known: usize,
) -> Result<(), UpgradeError> {
    let found = schema_version(conn)?;
    if found > known {
        return Err(UpgradeError::NewerSchema { found, known });
    }
    migrations.to_latest(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite_migration::M;

    use super::*;

    fn migrations() -> Migrations<'static> {
        Migrations::new(vec![
            M::up("CREATE TABLE a (id INTEGER PRIMARY KEY);"),
            M::up("CREATE TABLE b (a INTEGER NOT NULL REFERENCES a(id));"),
        ])
    }

    #[test]
    fn a_new_database_is_configured_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        configure(&conn, Duration::from_secs(1)).unwrap();
        upgrade(&mut conn, &migrations(), 2).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 2);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2));
        assert!(
            conn.execute("INSERT INTO b (a) VALUES (7)", []).is_err(),
            "foreign keys are enforced"
        );
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused_and_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        let err = upgrade(&mut conn, &migrations(), 2).unwrap_err();
        assert!(
            matches!(err, UpgradeError::NewerSchema { found: 3, known: 2 }),
            "{err}"
        );
        assert_eq!(schema_version(&conn).unwrap(), 3);
    }
}
