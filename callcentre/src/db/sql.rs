//! The SQL both stores speak: values, parameters, rows, and a connection that runs one
//! statement on the embedded SQLite file or on PostgreSQL, with rusqlite's shape (`execute`,
//! `query_row`, `prepare(..).query_map`, `params!`, `.optional()`), so every query in `db/` is
//! written once.
//!
//! Statements use SQLite's numbered placeholders (`?1`, `?2`); the PostgreSQL backend rewrites
//! them to `$1`, `$2`. Keep SQL in the common subset of both: `ON CONFLICT … DO NOTHING` (not
//! `INSERT OR IGNORE`), `RETURNING` (not `last_insert_rowid()`), `COALESCE` (not `IFNULL`),
//! `CAST(SUM(x) AS BIGINT)` (PostgreSQL sums integers as NUMERIC), every selected column in
//! `GROUP BY`; where the dialects must differ, branch on [`Connection::dialect`].
//! Over 600 lines: values, conversions, parameters and the one connection type both
//! backends dispatch through are a single interface, with its tests.

use std::ops::Deref;

use super::DbError;

pub mod postgres;

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One SQL value, as both databases store it: integers (and booleans as 0/1), reals, text,
/// bytes, or NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real number",
            Value::Text(_) => "text",
            Value::Blob(_) => "bytes",
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// A Rust value a statement can take as a parameter.
pub trait ToSql {
    fn to_sql(&self) -> Result<Value, DbError>;
}

/// A Rust value a column can be read as.
pub trait FromSql: Sized {
    fn from_sql(value: &Value) -> Result<Self, String>;
}

impl ToSql for Value {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(self.clone())
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Result<Value, DbError> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Result<Value, DbError> {
        match self {
            Some(v) => v.to_sql(),
            None => Ok(Value::Null),
        }
    }
}

impl ToSql for str {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.to_string()))
    }
}

impl ToSql for String {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(Value::Text(self.clone()))
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(Value::Blob(self.clone()))
    }
}

impl ToSql for bool {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(Value::Int(i64::from(*self)))
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> Result<Value, DbError> {
        Ok(Value::Real(*self))
    }
}

macro_rules! int_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Result<Value, DbError> {
                i64::try_from(*self)
                    .map(Value::Int)
                    .map_err(|_| DbError::Value(format!("{} does not fit a 64-bit integer", self)))
            }
        }
    )*};
}
int_to_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl FromSql for Value {
    fn from_sql(value: &Value) -> Result<Self, String> {
        Ok(value.clone())
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

impl FromSql for String {
    fn from_sql(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {}", other.kind())),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(value: &Value) -> Result<Self, String> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {}", other.kind())),
        }
    }
}

impl FromSql for bool {
    fn from_sql(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(i) => Ok(*i != 0),
            other => Err(format!("expected a boolean (0/1), found {}", other.kind())),
        }
    }
}

impl FromSql for f64 {
    fn from_sql(value: &Value) -> Result<Self, String> {
        match value {
            Value::Real(r) => Ok(*r),
            // Integers read as reals as SQLite does (an AVG of whole numbers, a 0 default).
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {}", other.kind())),
        }
    }
}

macro_rules! int_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_sql(value: &Value) -> Result<Self, String> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i)
                        .map_err(|_| format!("{i} is out of range for {}", stringify!($t))),
                    other => Err(format!("expected an integer, found {}", other.kind())),
                }
            }
        }
    )*};
}
int_from_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

/// A statement's parameters: `params![a, b]`, `[a, b]` (of one type), or `[]`.
pub trait Params {
    fn values(&self) -> Result<Vec<Value>, DbError>;
}

impl Params for &[&dyn ToSql] {
    fn values(&self) -> Result<Vec<Value>, DbError> {
        self.iter().map(|p| p.to_sql()).collect()
    }
}

/// `[]`: no parameters (its own impl, so the empty array needs no type).
impl Params for [&dyn ToSql; 0] {
    fn values(&self) -> Result<Vec<Value>, DbError> {
        Ok(Vec::new())
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(&self) -> Result<Vec<Value>, DbError> {
                self.iter().map(ToSql::to_sql).collect()
            }
        }
        impl<T: ToSql> Params for &[T; $n] {
            fn values(&self) -> Result<Vec<Value>, DbError> {
                self.iter().map(ToSql::to_sql).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);

impl Params for Vec<Value> {
    fn values(&self) -> Result<Vec<Value>, DbError> {
        Ok(self.clone())
    }
}

/// Parameters of mixed types, as rusqlite's `params!`.
#[macro_export]
macro_rules! sql_params {
    () => {
        &[] as &[&dyn $crate::db::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::db::sql::ToSql),+] as &[&dyn $crate::db::sql::ToSql]
    };
}
pub use crate::sql_params as params;

/// A column's position (from 0), as rusqlite's `RowIndex`: `row.get(0)` infers `usize`.
pub trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One result row, read by column index.
#[derive(Debug, Clone)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// Column `idx` (from 0) as `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T, DbError> {
        let idx = idx.index();
        let value = self
            .values
            .get(idx)
            .ok_or_else(|| DbError::Value(format!("the query has no column {idx}")))?;
        T::from_sql(value).map_err(|why| DbError::Value(format!("column {idx}: {why}")))
    }

    /// Column `idx` as it came from the database.
    pub fn get_ref(&self, idx: usize) -> Option<&Value> {
        self.values.get(idx)
    }
}

/// `.optional()` on a single-row query: no row is `None`, as rusqlite's.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>, DbError>;
}

impl<T> OptionalExtension<T> for Result<T, DbError> {
    fn optional(self) -> Result<Option<T>, DbError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The connection of one backend.
pub(crate) enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::PgConnection>),
}

/// One open connection to the store (SQLite or PostgreSQL).
pub struct Connection {
    backend: Backend,
}

impl Connection {
    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Connection {
        Connection {
            backend: Backend::Sqlite(conn),
        }
    }

    /// A connection to the PostgreSQL database of `url` (`[database] url`), opened now.
    pub fn postgres(url: &str) -> Result<Connection, DbError> {
        let target = postgres::Target::parse(url)?;
        Connection::postgres_to(&target)
    }

    pub(crate) fn postgres_to(target: &postgres::Target) -> Result<Connection, DbError> {
        Ok(Connection {
            backend: Backend::Postgres(Box::new(postgres::PgConnection::open(target)?)),
        })
    }

    /// The SQLite connection underneath, for what only SQLite has (pragmas, checkpoints);
    /// `None` on PostgreSQL.
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    pub fn dialect(&self) -> Dialect {
        match &self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Starts the write transaction (`Db::write`): SQLite's `BEGIN IMMEDIATE`; on PostgreSQL
    /// `BEGIN` and the writers' advisory lock, so the writers of every server take turns as
    /// SQLite's one writer does.
    pub fn begin_write(&self) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            Backend::Postgres(c) => c.begin_write(),
        }
    }

    /// Commits the write transaction.
    pub fn commit(&self) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch("COMMIT")?),
            Backend::Postgres(c) => c.commit(),
        }
    }

    /// Rolls the write transaction back; the connection stays usable (also after a statement
    /// in it failed).
    pub fn rollback(&self) -> Result<(), DbError> {
        match &self.backend {
            // SQLite may already have rolled back by itself (some errors do): nothing is open.
            Backend::Sqlite(c) if c.is_autocommit() => Ok(()),
            Backend::Sqlite(c) => Ok(c.execute_batch("ROLLBACK")?),
            Backend::Postgres(c) => c.rollback(),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize, DbError> {
        let values = params.values()?;
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?)
            }
            Backend::Postgres(c) => c.execute(sql, &values),
        }
    }

    /// Runs several statements separated by `;`, without parameters (schema, test fixtures).
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(c) => c.execute_batch(sql),
        }
    }

    /// All rows of a query.
    pub fn query_rows<P: Params>(&self, sql: &str, params: P) -> Result<Vec<Row>, DbError> {
        let values = params.values()?;
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(columns);
                    for i in 0..columns {
                        values.push(from_sqlite(row.get_ref(i)?));
                    }
                    out.push(Row::new(values));
                }
                Ok(out)
            }
            Backend::Postgres(c) => c.query_rows(sql, &values),
        }
    }

    /// The first row of a query through `f`; [`DbError::NoRows`] if there is none (use
    /// `.optional()`).
    pub fn query_row<P: Params, T>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let rows = self.query_rows(sql, params)?;
        match rows.first() {
            Some(row) => f(row),
            None => Err(DbError::NoRows),
        }
    }

    /// Every row of a query through `f`.
    pub fn query_map<P: Params, T>(
        &self,
        sql: &str,
        params: P,
        mut f: impl FnMut(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        self.query_rows(sql, params)?.iter().map(&mut f).collect()
    }

    /// A statement to run with [`Statement::query_map`], as rusqlite's `prepare`.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>, DbError> {
        Ok(Statement {
            conn: self,
            sql: sql.to_string(),
        })
    }

    /// The same as [`Connection::prepare`] (both backends cache every statement).
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>, DbError> {
        self.prepare(sql)
    }
}

/// A statement bound to its connection (rusqlite's shape; prepared again per run, which both
/// backends cache).
pub struct Statement<'c> {
    conn: &'c Connection,
    sql: String,
}

impl Statement<'_> {
    /// Every row through `f`, as an iterator of results (collect it into `Result<Vec<_>, _>`).
    pub fn query_map<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnMut(&Row) -> Result<T, DbError>,
    ) -> Result<std::vec::IntoIter<Result<T, DbError>>, DbError> {
        let mut f = f;
        let rows = self.conn.query_rows(&self.sql, params)?;
        Ok(rows.iter().map(&mut f).collect::<Vec<_>>().into_iter())
    }

    /// Runs it; the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize, DbError> {
        self.conn.execute(&self.sql, params)
    }

    /// The first row through `f`; [`DbError::NoRows`] if there is none.
    pub fn query_row<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.conn.query_row(&self.sql, params, f)
    }

    /// Whether the query returns at least one row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool, DbError> {
        Ok(!self.conn.query_rows(&self.sql, params)?.is_empty())
    }
}

/// A write transaction: a [`Connection`] whose statements commit together.
pub struct Transaction<'c> {
    conn: &'c Connection,
}

impl<'c> Transaction<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Transaction<'c> {
        Transaction { conn }
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Real(r) => V::Real(*r),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as V;
    match v {
        V::Null => Value::Null,
        V::Integer(i) => Value::Int(i),
        V::Real(r) => Value::Real(r),
        V::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        V::Blob(b) => Value::Blob(b.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch("CREATE TABLE t (a INTEGER, b TEXT, c BLOB, d REAL)")
            .unwrap();
        c
    }

    #[test]
    fn values_go_in_and_come_back_as_they_were() {
        let c = conn();
        let none: Option<String> = None;
        c.execute(
            "INSERT INTO t (a, b, c, d) VALUES (?1, ?2, ?3, ?4)",
            params![7u32, "х", vec![0u8, 255], 1.5],
        )
        .unwrap();
        c.execute("INSERT INTO t (a, b) VALUES (?1, ?2)", params![true, none])
            .unwrap();
        let rows = c
            .prepare("SELECT a, b, c, d FROM t ORDER BY rowid")
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                ))
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (7, Some("х".into()), Some(vec![0, 255]), Some(1.5)),
                (1, None, None, None)
            ]
        );
    }

    #[test]
    fn no_row_is_none_and_a_wrong_type_is_a_clear_error() {
        let c = conn();
        let missing = c
            .query_row("SELECT a FROM t WHERE a = ?1", [5], |r| r.get::<_, i64>(0))
            .optional()
            .unwrap();
        assert_eq!(missing, None);
        c.execute("INSERT INTO t (b) VALUES ('text')", []).unwrap();
        let err = c
            .query_row("SELECT b FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an integer, found text"), "{err}");
    }
}
