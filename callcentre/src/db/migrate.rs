//! The schema's versions for both stores, from one place, and `senim-callcentre migrate`.
//!
//! | version | SQLite (`callcentre/migrations/`)          | PostgreSQL (`callcentre/migrations/postgres/`) |
//! | ------- | ------------------------------------------ | ---------------------------------------------- |
//! | 1       | `0001_initial.sql`                         | —                                              |
//! | 2       | `0002_guides_catalogue_enrolment.sql`      | —                                              |
//! | 3       | `0003_live_calls.sql`                      | —                                              |
//! | 4       | `0004_case_handling.sql`                   | —                                              |
//! | 5       | `0005_upload_limits.sql`                   | —                                              |
//! | 6       | `0006_catalog_signature.sql`               | —                                              |
//! | 7       | `0007_updates.sql`                         | `0007_schema.sql` (the whole schema 7)         |
//! | 8       | `0008_server_keys.sql`                     | `0008_server_keys.sql`                         |
//!
//! PostgreSQL starts at version 7 with one file that is the schema SQLite reaches after its
//! seven migrations. **The rule from here on: every schema change is one new migration with the
//! next number in both lists** ([`sqlite`] and [`POSTGRES`]), written in each dialect (BIGINT
//! for INTEGER, BYTEA for BLOB, identity columns for row numbers), so both stores always have
//! the same tables and columns at the same version; `tests/postgres.rs` compares them.
//!
//! SQLite keeps its version in `user_version` and the server migrates it when it opens the file
//! (one server). PostgreSQL keeps it in the table `schema_version`; servers never migrate a
//! shared database themselves (several may start at once): they refuse an older schema and
//! `senim-callcentre migrate` brings it up to date, under the writers' advisory lock, so two
//! at once take turns and the second finds nothing to do. Either store refuses a schema newer
//! than this build ([`DbError::TooNew`]).

use std::path::PathBuf;

use rusqlite_migration::{Migrations, M};

use super::sql::postgres::{PgError, Target};
use super::sql::Connection;
use super::{DbError, SCHEMA_VERSION};

/// The SQLite schema, oldest first (`user_version` counts them). Append only.
pub fn sqlite() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_initial.sql")),
        M::up(include_str!(
            "../../migrations/0002_guides_catalogue_enrolment.sql"
        )),
        M::up(include_str!("../../migrations/0003_live_calls.sql")),
        M::up(include_str!("../../migrations/0004_case_handling.sql")).foreign_key_check(),
        M::up(include_str!("../../migrations/0005_upload_limits.sql")),
        M::up(include_str!("../../migrations/0006_catalog_signature.sql")),
        M::up(include_str!("../../migrations/0007_updates.sql")),
        M::up(include_str!("../../migrations/0008_server_keys.sql")),
    ])
}

/// The PostgreSQL schema: (the version it brings the database to, its SQL), oldest first.
/// Append only, with the same numbers as [`sqlite`].
pub const POSTGRES: &[(usize, &str)] = &[
    (7, include_str!("../../migrations/postgres/0007_schema.sql")),
    (
        8,
        include_str!("../../migrations/postgres/0008_server_keys.sql"),
    ),
];

/// What `migrate` did: the schema version before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub before: usize,
    pub after: usize,
}

/// Brings the PostgreSQL database of `url` up to this build's schema, under the writers'
/// advisory lock (servers' writes and other `migrate`s wait). Idempotent.
pub fn postgres(url: &str) -> Result<Migrated, DbError> {
    let target = Target::parse(url)?;
    let conn = Connection::postgres_to(&target)?;
    check_collation(&conn, &target)?;
    conn.begin_write()?;
    let result = migrate_locked(&conn, &target);
    match result {
        Ok(m) => {
            conn.commit()?;
            Ok(m)
        }
        Err(e) => {
            let _ = conn.rollback();
            Err(e)
        }
    }
}

fn migrate_locked(conn: &Connection, target: &Target) -> Result<Migrated, DbError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    BIGINT PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )?;
    let before = stored_version(conn)?.unwrap_or(0);
    refuse_newer(before, target)?;
    for (version, sql) in POSTGRES.iter().filter(|(v, _)| *v > before) {
        conn.execute_batch(sql)?;
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            super::sql::params![*version, super::ts(chrono::Utc::now())],
        )?;
    }
    Ok(Migrated {
        before,
        after: stored_version(conn)?.unwrap_or(0),
    })
}

/// The version recorded in `schema_version`; `None` if the table is not there.
pub(crate) fn stored_version(conn: &Connection) -> Result<Option<usize>, DbError> {
    let exists: bool = conn.query_row(
        "SELECT to_regclass('schema_version') IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    let v: Option<i64> =
        conn.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))?;
    Ok(Some(v.and_then(|v| usize::try_from(v).ok()).unwrap_or(0)))
}

fn refuse_newer(found: usize, target: &Target) -> Result<(), DbError> {
    if found > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            path: PathBuf::from(target.describe()),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Refuses a database that does not sort text by bytes (see the schema file's head).
fn check_collation(conn: &Connection, target: &Target) -> Result<(), DbError> {
    let collate: String = conn.query_row(
        "SELECT datcollate::text FROM pg_database WHERE datname = current_database()",
        [],
        |r| r.get(0),
    )?;
    if matches!(
        collate.as_str(),
        "C" | "POSIX" | "C.UTF-8" | "C.utf8" | "ucs_basic"
    ) {
        Ok(())
    } else {
        Err(PgError::Collation {
            target: target.describe(),
            found: collate,
        }
        .into())
    }
}

/// The connections a server's store uses on PostgreSQL: one writer and `readers` readers,
/// after checking the database has exactly this build's schema (older: run `migrate`; newer:
/// [`DbError::TooNew`]).
pub(crate) fn open_postgres(
    url: &str,
    readers: usize,
) -> Result<(Connection, Vec<Connection>), DbError> {
    let target = Target::parse(url)?;
    let writer = Connection::postgres_to(&target)?;
    check_collation(&writer, &target)?;
    let found = stored_version(&writer)?.unwrap_or(0);
    refuse_newer(found, &target)?;
    if found < SCHEMA_VERSION {
        return Err(PgError::NeedsMigrate {
            target: target.describe(),
            found,
            known: SCHEMA_VERSION,
        }
        .into());
    }
    let readers = (0..readers)
        .map(|_| Connection::postgres_to(&target))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((writer, readers))
}

/// Brings the SQLite file of `data_dir` up to date (what opening it does) and says from which
/// version.
pub fn sqlite_file(data_dir: &std::path::Path) -> Result<Migrated, DbError> {
    let path = data_dir.join("senim.sqlite3");
    let before = if path.exists() {
        let conn = rusqlite::Connection::open(&path).map_err(|source| DbError::Open {
            path: path.clone(),
            source,
        })?;
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        usize::try_from(v).unwrap_or(0)
    } else {
        0
    };
    drop(super::Db::open(data_dir)?);
    Ok(Migrated {
        before,
        after: SCHEMA_VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lists_end_at_this_builds_version() {
        assert_eq!(POSTGRES.last().map(|(v, _)| *v), Some(SCHEMA_VERSION));
        assert!(POSTGRES.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
