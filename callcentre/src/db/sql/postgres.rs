//! The PostgreSQL backend of the SQL layer ([`super`]): one `tokio-postgres` client per
//! [`super::Connection`], used synchronously.
//!
//! The layer is called from `spawn_blocking` threads and sometimes straight from the async
//! runtime's threads, where `Runtime::block_on` panics. So every connection's I/O task (the
//! `tokio_postgres::Connection` future) runs on one background thread of this process with its
//! own current-thread runtime, and a caller waits for the client's futures with
//! `futures_executor::block_on`: they only talk to that task over channels, so any executor can
//! poll them. A connection found broken (the server restarted, the network dropped) is opened
//! again on its next use; a statement outside a transaction that met a closed connection is
//! sent once more on the new one.
//!
//! Statements come with SQLite's `?N` placeholders and are rewritten to `$N` once (prepared
//! statements are cached per connection, keyed by the original text). Parameters are written
//! as the type PostgreSQL inferred for them, and columns read by their type, into
//! [`Value`]s.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql as PgToSql, Type};
use tokio_postgres::{Client, Statement};

use super::{Row, Value};
use crate::db::DbError;

mod connect;
pub(crate) use connect::Target;

/// The key of the advisory lock every write transaction takes (`pg_advisory_xact_lock`), on
/// every server: writers are serialised exactly as SQLite's one writer is. Any fixed number;
/// this one spells "senimWR".
pub(crate) const WRITER_LOCK: i64 = 0x73656e_696d5752;

/// How many prepared statements a connection keeps before it forgets them all.
const STATEMENT_CACHE: usize = 512;

/// Why PostgreSQL failed, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "[database] url is not a PostgreSQL URL: {0}. Write it as \
         postgres://USER@HOST:5432/DATABASE (options such as ?sslmode=require after it)"
    )]
    Url(String),
    #[error(
        "cannot connect to PostgreSQL at {target}: {reason}. Check [database] url, that the \
         server is running and reachable from here, and the password (in ~/.pgpass or \
         PGPASSWORD in the service's environment, not in the URL)"
    )]
    Connect { target: String, reason: String },
    #[error("PostgreSQL refused a statement: {0}")]
    Statement(String),
    #[error(
        "the connection to PostgreSQL was lost ({0}); it is opened again on the next request. \
         Check that the server is running"
    )]
    Lost(String),
    /// Until every query in db/ runs on the SQL layer (the port), the server's store is SQLite.
    #[error("cannot start the PostgreSQL client's thread: {0}")]
    Thread(String),
    #[error(
        "the PostgreSQL database {target} has schema {found}, this build needs {known}: run \
         `senim-callcentre migrate` once (servers do not change a shared database's schema \
         by themselves)"
    )]
    NeedsMigrate {
        target: String,
        found: usize,
        known: usize,
    },
    #[error(
        "the PostgreSQL database {target} sorts text by the locale {found}; Senim compares \
         times and ids as bytes, as SQLite does. Create the database with \
         `CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`"
    )]
    Collation { target: String, found: String },
}

/// An error's text without row values (PostgreSQL's DETAIL can quote a row: personal data).
fn error_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(hint) = db.hint() {
            s.push_str(". ");
            s.push_str(hint);
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Whether an error means the connection is gone (rather than the statement was wrong).
fn is_lost(e: &tokio_postgres::Error, client: &Client) -> bool {
    e.is_closed()
        || client.is_closed()
        || matches!(
            e.code(),
            Some(c) if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        )
}

/// One PostgreSQL connection of the layer (used by one thread at a time, behind `Db`'s
/// mutexes).
pub(crate) struct PgConnection {
    target: Target,
    client: RefCell<Option<Client>>,
    statements: RefCell<HashMap<String, Statement>>,
    in_transaction: Cell<bool>,
}

impl PgConnection {
    /// Connects now, so a wrong URL or password shows at start-up.
    pub(crate) fn open(target: &Target) -> Result<PgConnection, DbError> {
        let client = target.connect()?;
        Ok(PgConnection {
            target: target.clone(),
            client: RefCell::new(Some(client)),
            statements: RefCell::new(HashMap::new()),
            in_transaction: Cell::new(false),
        })
    }

    /// Runs `op` on a live client: reconnects a broken one first (not inside a transaction,
    /// which died with it), and outside a transaction sends once more if the connection broke
    /// under the statement.
    fn with_client<T>(
        &self,
        mut op: impl FnMut(&Client, &mut HashMap<String, Statement>) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, DbError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut slot = self.client.borrow_mut();
            if slot.as_ref().is_none_or(Client::is_closed) {
                if self.in_transaction.get() {
                    *slot = None;
                    return Err(PgError::Lost("the transaction was rolled back".into()).into());
                }
                self.statements.borrow_mut().clear();
                *slot = None;
                *slot = Some(self.target.connect()?);
            }
            let Some(client) = slot.as_ref() else {
                return Err(PgError::Lost("no connection".into()).into());
            };
            match op(client, &mut self.statements.borrow_mut()) {
                Ok(v) => return Ok(v),
                Err(e) if is_lost(&e, client) => {
                    *slot = None;
                    if self.in_transaction.get() || attempt > 1 {
                        return Err(PgError::Lost(error_text(&e)).into());
                    }
                }
                Err(e) => return Err(PgError::Statement(error_text(&e)).into()),
            }
        }
    }

    fn prepared(
        client: &Client,
        cache: &mut HashMap<String, Statement>,
        sql: &str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = cache.get(sql) {
            return Ok(s.clone());
        }
        let stmt = futures_executor::block_on(client.prepare(&rewrite_placeholders(sql)))?;
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, values: &[Value]) -> Result<usize, DbError> {
        let params: Vec<Param<'_>> = values.iter().map(Param).collect();
        let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let n = self.with_client(|client, cache| {
            let stmt = Self::prepared(client, cache, sql)?;
            futures_executor::block_on(client.execute(&stmt, &refs))
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// All rows of a query.
    pub(crate) fn query_rows(&self, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
        let params: Vec<Param<'_>> = values.iter().map(Param).collect();
        let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let rows = self.with_client(|client, cache| {
            let stmt = Self::prepared(client, cache, sql)?;
            futures_executor::block_on(client.query(&stmt, &refs))
        })?;
        rows.iter().map(read_row).collect()
    }

    /// Several statements separated by `;`, without parameters.
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        self.with_client(|client, _| futures_executor::block_on(client.batch_execute(sql)))
    }

    /// Starts a write transaction holding the writers' advisory lock ([`WRITER_LOCK`]).
    pub(crate) fn begin_write(&self) -> Result<(), DbError> {
        // A transaction left open (its end never called) must not block this connection.
        if self.in_transaction.get() {
            let _ = self.rollback();
        }
        self.execute_batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"
        ))?;
        self.in_transaction.set(true);
        Ok(())
    }

    pub(crate) fn commit(&self) -> Result<(), DbError> {
        let result = self.execute_batch("COMMIT");
        self.in_transaction.set(false);
        result
    }

    /// Rolls the transaction back; a lost connection already did.
    pub(crate) fn rollback(&self) -> Result<(), DbError> {
        let alive = self
            .client
            .borrow()
            .as_ref()
            .is_some_and(|c| !c.is_closed());
        let result = if alive {
            self.execute_batch("ROLLBACK")
        } else {
            Ok(())
        };
        self.in_transaction.set(false);
        result
    }
}

/// A [`Value`] as a PostgreSQL parameter, written as the type the server inferred for it.
#[derive(Debug)]
struct Param<'a>(&'a Value);

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    let kind = match value {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Real(_) => "a real number",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    };
    format!(
        "{kind} given where PostgreSQL expects {ty}: CAST the placeholder in the SQL \
         (e.g. CAST(?1 AS BIGINT)) or pass the matching type"
    )
    .into()
}

impl PgToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::OID => u32::try_from(*i)?.to_sql(ty, out),
                _ if is_text(ty) => i.to_string().as_str().to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
            Value::Real(r) => match *ty {
                Type::FLOAT8 => r.to_sql(ty, out),
                Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                _ if is_text(ty) => r.to_string().as_str().to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
            Value::Text(s) => match *ty {
                _ if is_text(ty) => s.as_str().to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(mismatch(self.0, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// One row, each column read by its type.
fn read_row(row: &tokio_postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let read = |e: tokio_postgres::Error| {
            DbError::Value(format!(
                "column {i} ({}): {}",
                column.name(),
                error_text(&e)
            ))
        };
        let value = match *ty {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(read)?
                .map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(read)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(read)?
                .map(|v| Value::Int(v.into())),
            Type::OID => row
                .try_get::<_, Option<u32>>(i)
                .map_err(read)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(read)?
                .map(|v| Value::Int(v.into())),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(i)
                .map_err(read)?
                .map(Value::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(read)?
                .map(|v| Value::Real(v.into())),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(read)?
                .map(Value::Blob),
            _ if is_text(ty) => row
                .try_get::<_, Option<String>>(i)
                .map_err(read)?
                .map(Value::Text),
            Type::NUMERIC => {
                return Err(DbError::Value(format!(
                    "column {i} ({}) is NUMERIC (PostgreSQL sums and averages integers as \
                     NUMERIC): CAST it in the SQL, e.g. CAST(SUM(x) AS BIGINT) or \
                     CAST(AVG(x) AS DOUBLE PRECISION)",
                    column.name()
                )))
            }
            _ => {
                return Err(DbError::Value(format!(
                    "column {i} ({}) has the PostgreSQL type {ty}, which the SQL layer does not \
                     read: CAST it to BIGINT, DOUBLE PRECISION, TEXT or BYTEA in the SQL",
                    column.name()
                )))
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row::new(values))
}

/// SQLite's placeholders to PostgreSQL's: `?N` → `$N`, a bare `?` → the next number (as
/// SQLite counts it); string literals, quoted names and comments are left as they are.
pub fn rewrite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut highest = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // A doubled quote inside closes and reopens: copying through works.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                let mut last = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let n = if digits.is_empty() {
                    highest + 1
                } else {
                    digits.parse().unwrap_or(0)
                };
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_literals_and_comments() {
        assert_eq!(
            rewrite_placeholders("SELECT ?2, ?1, ?10 FROM t WHERE a = ?1"),
            "SELECT $2, $1, $10 FROM t WHERE a = $1"
        );
        assert_eq!(
            rewrite_placeholders("SELECT '?1', 'it''s ?2', \"?3\" -- ?4\n, ?5 /* ?6 */ , ?"),
            "SELECT '?1', 'it''s ?2', \"?3\" -- ?4\n, $5 /* ?6 */ , $6"
        );
        assert_eq!(rewrite_placeholders("VALUES (?, ?)"), "VALUES ($1, $2)");
    }
}
