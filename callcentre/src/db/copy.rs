//! `migrate --from-sqlite`: copies a single server's SQLite data into an empty PostgreSQL
//! database (every table, in one transaction under the writers' lock), so a regional
//! call-centre can move to several servers with its kiosks, operators, appeals and audit trail.
//! Uploads still open are copied as expired: their bytes stay behind, and each kiosk, which
//! keeps a video until the call-centre confirms it, sends it again from the start.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::sql::{Connection, Value};
use super::DbError;

/// Rows sent to PostgreSQL in one `INSERT` (fewer for wide tables: at most this many values).
const VALUES_PER_INSERT: usize = 2000;

/// Why a copy was refused or failed; nothing was written to PostgreSQL then.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "{dir} holds no call-centre database (no senim.sqlite3): give the single server's data \
         folder, its [server] data_dir"
    )]
    NoSqlite { dir: PathBuf },
    #[error(
        "the PostgreSQL database already holds data (table {table} has rows), so nothing was \
         copied: --from-sqlite fills only a new, empty database (docs/several-servers.md says \
         how to create one); to copy again, drop that database and create it anew"
    )]
    NotEmpty { table: String },
    #[error(
        "the SQLite file and PostgreSQL hold different tables (only in SQLite: {sqlite_only}; \
         only in PostgreSQL: {postgres_only}); both were brought to this build's schema, so one \
         of them was changed by hand: restore it from a backup"
    )]
    Tables {
        sqlite_only: String,
        postgres_only: String,
    },
    #[error(
        "table {table} is not the same in the SQLite file ({sqlite}) and in PostgreSQL \
         ({postgres}); both were brought to this build's schema, so one of them was changed by \
         hand: restore it from a backup"
    )]
    Columns {
        table: String,
        sqlite: String,
        postgres: String,
    },
}

/// What a copy did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Each table and its rows, in the order they were copied.
    pub tables: Vec<(String, usize)>,
    /// Uploads that were open: copied as expired, sent again by their kiosks.
    pub expired_uploads: usize,
}

/// Opens the SQLite file of the data folder `dir` (already at this build's schema: run
/// [`super::migrate::sqlite_file`] first).
pub fn open_sqlite(dir: &Path) -> Result<Connection, CopyError> {
    let path = dir.join("senim.sqlite3");
    if !path.is_file() {
        return Err(CopyError::NoSqlite {
            dir: dir.to_path_buf(),
        });
    }
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| DbError::Open { path, source })?;
    Ok(Connection::sqlite(conn))
}

/// The ids of the finished videos the SQLite data names (whose bytes must go along).
pub fn finished_videos(sqlite: &Connection) -> Result<Vec<String>, CopyError> {
    Ok(sqlite.query_map(
        "SELECT id FROM uploads WHERE completed_at IS NOT NULL ORDER BY id",
        [],
        |r| r.get(0),
    )?)
}

/// The SHA-256 of the update bundles the SQLite data publishes (their files go along).
pub fn published_bundles(sqlite: &Connection) -> Result<Vec<String>, CopyError> {
    Ok(sqlite.query_map(
        "SELECT sha256 FROM update_bundles ORDER BY sha256",
        [],
        |r| r.get(0),
    )?)
}

/// Refuses a PostgreSQL database that holds any row (a copy never merges).
pub fn check_empty(pg: &Connection) -> Result<(), CopyError> {
    for table in tables_in_order(pg)? {
        let any: bool = pg.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM {})", quote(&table)),
            [],
            |r| r.get(0),
        )?;
        if any {
            return Err(CopyError::NotEmpty { table });
        }
    }
    Ok(())
}

/// Copies every table of `sqlite` into the empty PostgreSQL database `pg`, parents before
/// children, in one transaction; the open uploads are marked expired at `now`. On any error
/// PostgreSQL is left as it was.
pub fn copy_rows(
    sqlite: &Connection,
    pg: &Connection,
    now: DateTime<Utc>,
) -> Result<Copied, CopyError> {
    let order = tables_in_order(pg)?;
    check_same_schema(sqlite, pg, &order)?;
    pg.begin_write()?;
    match copy_locked(sqlite, pg, &order, now) {
        Ok(copied) => {
            pg.commit()?;
            Ok(copied)
        }
        Err(e) => {
            let _ = pg.rollback();
            Err(e)
        }
    }
}

fn copy_locked(
    sqlite: &Connection,
    pg: &Connection,
    order: &[String],
    now: DateTime<Utc>,
) -> Result<Copied, CopyError> {
    // Checked again under the lock: a server or another copy may have written meanwhile.
    check_empty(pg)?;
    let mut copied = Copied::default();
    for table in order {
        let columns = columns(pg, table)?;
        let n = copy_table(sqlite, pg, table, &columns)?;
        restart_identities(pg, table)?;
        copied.tables.push((table.clone(), n));
    }
    copied.expired_uploads = pg.execute(
        "UPDATE uploads SET expired_at = ?1 WHERE completed_at IS NULL AND expired_at IS NULL",
        super::sql::params![super::ts(now)],
    )?;
    Ok(copied)
}

/// Copies one table's rows in SQLite's order, in batches.
fn copy_table(
    sqlite: &Connection,
    pg: &Connection,
    table: &str,
    columns: &[String],
) -> Result<usize, CopyError> {
    let list = columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let rows_per_insert = (VALUES_PER_INSERT / columns.len().max(1)).max(1);
    let mut after: i64 = i64::MIN;
    let mut total = 0;
    loop {
        // By rowid, a page at a time: a table of millions of audit rows never sits in memory.
        let rows = sqlite.query_rows(
            &format!(
                "SELECT rowid, {list} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT {}",
                quote(table),
                rows_per_insert
            ),
            super::sql::params![after],
        )?;
        let Some(last) = rows.last() else {
            return Ok(total);
        };
        after = last.get(0)?;
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        let mut tuples = Vec::with_capacity(rows.len());
        for row in &rows {
            let first = values.len();
            for i in 1..=columns.len() {
                values.push(row.get_ref(i).cloned().unwrap_or(Value::Null));
            }
            let marks = (first + 1..=values.len())
                .map(|n| format!("?{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            tuples.push(format!("({marks})"));
        }
        pg.execute(
            &format!(
                "INSERT INTO {} ({list}) VALUES {}",
                quote(table),
                tuples.join(", ")
            ),
            values,
        )?;
        total += rows.len();
    }
}

/// Identity columns go on after the largest copied number, so new rows do not collide.
fn restart_identities(pg: &Connection, table: &str) -> Result<(), CopyError> {
    let identities: Vec<String> = pg.query_map(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = ?1 AND is_identity = 'YES'",
        super::sql::params![table],
        |r| r.get(0),
    )?;
    for column in identities {
        pg.query_rows(
            &format!(
                "SELECT setval(pg_get_serial_sequence(?1, ?2), COALESCE(MAX({c}), 0) + 1, false) \
                 FROM {t}",
                c = quote(&column),
                t = quote(table)
            ),
            super::sql::params![quote(table), column],
        )?;
    }
    Ok(())
}

/// The tables of PostgreSQL's schema but its own bookkeeping (`schema_version`), each after
/// the tables its foreign keys name.
fn tables_in_order(pg: &Connection) -> Result<Vec<String>, CopyError> {
    let tables: BTreeSet<String> = pg
        .query_map(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
               AND table_name <> 'schema_version'",
            [],
            |r| r.get(0),
        )?
        .into_iter()
        .collect();
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let references: Vec<(String, String)> = pg.query_map(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (child, parent) in references {
        if child != parent {
            parents.entry(child).or_default().insert(parent);
        }
    }
    Ok(parents_first(&tables, &parents))
}

/// `tables` ordered so that each comes after its `parents` (by name where free to choose).
fn parents_first(
    tables: &BTreeSet<String>,
    parents: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut placed: Vec<String> = Vec::with_capacity(tables.len());
    let mut left: BTreeSet<&String> = tables.iter().collect();
    while !left.is_empty() {
        let ready = left.iter().copied().find(|t| {
            parents
                .get(*t)
                .is_none_or(|ps| ps.iter().all(|p| placed.contains(p) || !tables.contains(p)))
        });
        // A cycle of foreign keys (none in the schema) is copied in name order; PostgreSQL
        // then refuses the row that comes too early, and nothing is kept.
        let next = ready.or_else(|| left.iter().copied().next());
        let Some(next) = next else { break };
        left.remove(next);
        placed.push(next.clone());
    }
    placed
}

/// Refuses a copy when the two databases' tables or columns differ.
fn check_same_schema(
    sqlite: &Connection,
    pg: &Connection,
    order: &[String],
) -> Result<(), CopyError> {
    let join = |s: &mut dyn Iterator<Item = &String>| {
        let v: Vec<&str> = s.map(String::as_str).collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let sqlite_tables: BTreeSet<String> = sqlite
        .query_map(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?
        .into_iter()
        .collect();
    let pg_tables: BTreeSet<String> = order.iter().cloned().collect();
    if sqlite_tables != pg_tables {
        return Err(CopyError::Columns {
            table: "tables".into(),
            sqlite: format!(
                "only there: {}",
                join(&mut sqlite_tables.difference(&pg_tables))
            ),
            postgres: format!(
                "only there: {}",
                join(&mut pg_tables.difference(&sqlite_tables))
            ),
        });
    }
    for table in order {
        let in_pg: BTreeSet<String> = columns(pg, table)?.into_iter().collect();
        let in_sqlite: BTreeSet<String> = sqlite
            .query_map(
                "SELECT name FROM pragma_table_info(?1)",
                super::sql::params![table],
                |r| r.get(0),
            )?
            .into_iter()
            .collect();
        if in_pg != in_sqlite {
            return Err(CopyError::Columns {
                table: table.clone(),
                sqlite: format!("columns {}", join(&mut in_sqlite.iter())),
                postgres: format!("columns {}", join(&mut in_pg.iter())),
            });
        }
    }
    Ok(())
}

/// The columns of `table` in PostgreSQL, in its order.
fn columns(pg: &Connection, table: &str) -> Result<Vec<String>, CopyError> {
    Ok(pg.query_map(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
        super::sql::params![table],
        |r| r.get(0),
    )?)
}

/// An identifier as both databases quote it (`"offset"`).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_table_comes_after_the_tables_it_refers_to() {
        let tables = set(&[
            "appeals",
            "audit",
            "kiosks",
            "uploads",
            "update_sites",
            "update_bundles",
        ]);
        let parents: BTreeMap<String, BTreeSet<String>> = [
            ("appeals", set(&["kiosks"])),
            ("uploads", set(&["appeals", "kiosks"])),
            ("update_sites", set(&["update_bundles"])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let order = parents_first(&tables, &parents);
        let at = |t: &str| order.iter().position(|o| o == t).unwrap();
        assert_eq!(order.len(), tables.len());
        assert!(at("kiosks") < at("appeals"));
        assert!(at("appeals") < at("uploads"));
        assert!(at("update_bundles") < at("update_sites"));
    }

    #[test]
    fn identifiers_are_quoted_for_both_databases() {
        assert_eq!(quote("offset"), "\"offset\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
