//! Operator accounts (roles, sites, language, disabling) and console sessions.

use super::sql::{params, Connection, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};

use super::{ts, DbError};
/// What an operator may do. An account can hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles {
    /// Operators, kiosks, enrolment codes, the catalogue, the audit.
    pub admin: bool,
    /// The ordinary appeal queue and live calls.
    pub operator: bool,
    /// The separate queue of bribe and improper-demand reports.
    pub anticorruption: bool,
}

impl Roles {
    /// The role names as stored (`admin`, `operator`, `anticorruption`).
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.admin, "admin"),
            (self.operator, "operator"),
            (self.anticorruption, "anticorruption"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// Roles from stored names; `None` for a name that is no role.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Roles> {
        let mut roles = Roles::default();
        for name in names {
            match name {
                "admin" => roles.admin = true,
                "operator" => roles.operator = true,
                "anticorruption" => roles.anticorruption = true,
                _ => return None,
            }
        }
        Some(roles)
    }
}

/// Gives an operator exactly these roles.
pub fn set_roles(tx: &Transaction<'_>, username: &str, roles: Roles) -> Result<(), DbError> {
    tx.execute("DELETE FROM operator_roles WHERE username = ?1", [username])?;
    for role in roles.names() {
        tx.execute(
            "INSERT INTO operator_roles (username, role) VALUES (?1, ?2)",
            params![username, role],
        )?;
    }
    Ok(())
}

pub(super) fn roles_of(conn: &Connection, username: &str) -> Result<Roles, DbError> {
    let mut stmt = conn.prepare_cached("SELECT role FROM operator_roles WHERE username = ?1")?;
    let names = stmt
        .query_map([username], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Roles::from_names(names.iter().map(String::as_str)).unwrap_or_default())
}

pub(super) fn sites_of(conn: &Connection, username: &str) -> Result<Vec<String>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT site FROM operator_sites WHERE username = ?1 ORDER BY site")?;
    let sites = stmt
        .query_map([username], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sites)
}

/// `false` if the username is taken. The new operator has the `operator` role; see
/// [`set_roles`].
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
    if n == 1 {
        set_roles(
            tx,
            username,
            Roles {
                operator: true,
                ..Roles::default()
            },
        )?;
    }
    Ok(n == 1)
}

/// The stored password hash and display name of an operator who is not disabled.
pub fn operator_login(
    conn: &Connection,
    username: &str,
) -> Result<Option<(String, String)>, DbError> {
    conn.query_row(
        "SELECT password_hash, display_name FROM operators \
             WHERE username = ?1 AND disabled_at IS NULL",
        [username],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
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
    pub roles: Roles,
    /// Sites this operator may handle; empty means every site.
    pub sites: Vec<String>,
    /// The console language the operator chose (`kk`, `ru`, `en`); `None`: the browser's.
    pub language: Option<String>,
}

impl SessionRow {
    /// May this operator handle appeals of kiosks at `site`?
    pub fn may_see_site(&self, site: &str) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| s == site)
    }
}

pub fn session(
    conn: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, DbError> {
    conn.prepare_cached(
        "SELECT s.username, o.display_name, s.csrf, o.language FROM sessions s \
             JOIN operators o ON o.username = s.username \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND o.disabled_at IS NULL",
    )?
    .query_row(params![token_hash, ts(now)], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .optional()?
    .map(
        |(username, display_name, csrf, language): (String, String, String, Option<String>)| {
            Ok::<_, DbError>(SessionRow {
                roles: roles_of(conn, &username)?,
                sites: sites_of(conn, &username)?,
                username,
                display_name,
                csrf,
                language,
            })
        },
    )
    .transpose()
}

pub fn delete_session(tx: &Transaction<'_>, token_hash: &str) -> Result<(), DbError> {
    tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Stores an operator's console language (`kk`, `ru`, `en`; `None`: follow the browser).
/// `false` if there is no such operator.
pub fn set_operator_language(
    tx: &Transaction<'_>,
    username: &str,
    language: Option<&str>,
) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE operators SET language = ?2 WHERE username = ?1",
        params![username, language],
    )?;
    Ok(n == 1)
}
