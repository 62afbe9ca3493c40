//! Operator accounts and console sessions.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{ts, DbError};
/// `false` if the username is taken.
pub fn insert_operator(
    tx: &Transaction<'_>,
    username: &str,
    display_name: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = tx.execute(
        "INSERT INTO operators (username, display_name, password_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO NOTHING",
        params![username, display_name, password_hash, ts(now)],
    )?;
    Ok(n == 1)
}

/// The stored password hash and display name of an operator.
pub fn operator_login(
    conn: &Connection,
    username: &str,
) -> Result<Option<(String, String)>, DbError> {
    Ok(conn
        .query_row(
            "SELECT password_hash, display_name FROM operators WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn insert_session(
    tx: &Transaction<'_>,
    token_hash: &str,
    username: &str,
    csrf: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ts(now)])?;
    tx.execute(
        "INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, username, csrf, ts(now), ts(expires)],
    )?;
    Ok(())
}

/// A signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub username: String,
    pub display_name: String,
    pub csrf: String,
}

pub fn session(
    conn: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT s.username, o.display_name, s.csrf FROM sessions s \
             JOIN operators o ON o.username = s.username \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )?
        .query_row(params![token_hash, ts(now)], |r| {
            Ok(SessionRow {
                username: r.get(0)?,
                display_name: r.get(1)?,
                csrf: r.get(2)?,
            })
        })
        .optional()?)
}

pub fn delete_session(tx: &Transaction<'_>, token_hash: &str) -> Result<(), DbError> {
    tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}
