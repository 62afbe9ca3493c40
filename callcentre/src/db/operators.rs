//! Administering operator accounts: the list with roles, sites and status, disabling and
//! enabling (disabling deletes every session), password resets (which revoke sessions too),
//! sites, and the rules for usernames and passwords the console and the CLI share.

use super::sql::{params, Connection, OptionalExtension, Params, Transaction};
use chrono::{DateTime, Utc};

use super::{parse_ts, roles_of, sites_of, ts, DbError, Roles};

/// The shortest password an operator may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The longest display name, in characters.
pub const MAX_DISPLAY_CHARS: usize = 100;

/// Is this a username an account may have: 2 to 64 characters of `a-z`, `A-Z`, `0-9`, `.`,
/// `_` or `-`?
pub fn valid_username(username: &str) -> bool {
    (2..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Is this a display name an account may have: 1 to 100 characters on one line?
pub fn valid_display_name(name: &str) -> bool {
    let n = name.trim().chars().count();
    (1..=MAX_DISPLAY_CHARS).contains(&n) && !name.chars().any(char::is_control)
}

/// One operator account, for the admin page and `operator list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OperatorRow {
    pub username: String,
    pub display_name: String,
    #[serde(serialize_with = "roles_as_names")]
    pub roles: Roles,
    /// Sites the operator may handle; empty means every site.
    pub sites: Vec<String>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the account was disabled; `None` while it may sign in.
    pub disabled_at: Option<DateTime<Utc>>,
}

fn roles_as_names<S: serde::Serializer>(roles: &Roles, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(roles.names())
}

/// Every operator account, by username.
pub fn list_operators(conn: &Connection) -> Result<Vec<OperatorRow>, DbError> {
    operators_where(conn, "1 = 1", [])
}

/// One operator account, disabled or not.
pub fn get_operator(conn: &Connection, username: &str) -> Result<Option<OperatorRow>, DbError> {
    Ok(operators_where(conn, "username = ?1", [username])?
        .into_iter()
        .next())
}

fn operators_where<P: Params>(
    conn: &Connection,
    condition: &str,
    params: P,
) -> Result<Vec<OperatorRow>, DbError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT username, display_name, language, created_at, disabled_at FROM operators \
         WHERE {condition} ORDER BY username"
    ))?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(username, display_name, language, created, disabled)| {
            Ok(OperatorRow {
                roles: roles_of(conn, &username)?,
                sites: sites_of(conn, &username)?,
                username,
                display_name,
                language,
                created_at: parse_ts(&created).unwrap_or_default(),
                disabled_at: disabled.as_deref().and_then(parse_ts),
            })
        })
        .collect()
}

/// Disables (`true`) or enables an account. Disabling deletes every session of the operator,
/// so an open console stops working at its next request. `false` if there is no such
/// operator; disabling a disabled account keeps its first time.
pub fn set_disabled(
    tx: &Transaction<'_>,
    username: &str,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = if disabled {
        tx.execute(
            "UPDATE operators SET disabled_at = COALESCE(disabled_at, ?2) WHERE username = ?1",
            params![username, ts(now)],
        )?
    } else {
        tx.execute(
            "UPDATE operators SET disabled_at = NULL WHERE username = ?1",
            [username],
        )?
    };
    if n == 1 && disabled {
        delete_sessions_of(tx, username)?;
    }
    Ok(n == 1)
}

/// Sets a new password hash and deletes every session of the operator. `false` if there is no
/// such operator.
pub fn set_password(
    tx: &Transaction<'_>,
    username: &str,
    password_hash: &str,
) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE operators SET password_hash = ?2 WHERE username = ?1",
        params![username, password_hash],
    )?;
    if n == 1 {
        delete_sessions_of(tx, username)?;
    }
    Ok(n == 1)
}

/// Changes the name shown in the console. `false` if there is no such operator.
pub fn set_display_name(
    tx: &Transaction<'_>,
    username: &str,
    display_name: &str,
) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE operators SET display_name = ?2 WHERE username = ?1",
        params![username, display_name],
    )?;
    Ok(n == 1)
}

/// Limits an operator to exactly these sites (none: every site).
pub fn set_sites(tx: &Transaction<'_>, username: &str, sites: &[String]) -> Result<(), DbError> {
    tx.execute("DELETE FROM operator_sites WHERE username = ?1", [username])?;
    for site in sites {
        tx.execute(
            "INSERT INTO operator_sites (username, site) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            params![username, site],
        )?;
    }
    Ok(())
}

/// The roles an operator holds (none for an unknown name).
pub fn operator_roles(conn: &Connection, username: &str) -> Result<Roles, DbError> {
    roles_of(conn, username)
}

/// Signs an operator out everywhere.
pub fn delete_sessions_of(tx: &Transaction<'_>, username: &str) -> Result<usize, DbError> {
    tx.execute("DELETE FROM sessions WHERE username = ?1", [username])
}

/// Does this operator exist (disabled or not)?
pub fn operator_exists(conn: &Connection, username: &str) -> Result<bool, DbError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM operators WHERE username = ?1",
            [username],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The sites of enrolled kiosks and of operators' limits, sorted, each once: what an admin
/// chooses an operator's sites from.
pub fn known_sites(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt =
        conn.prepare("SELECT site FROM kiosks UNION SELECT site FROM operator_sites ORDER BY 1")?;
    let sites = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sites)
}

/// How many enabled operators hold the admin role (the last one cannot be disabled or lose
/// the role, or nobody could administer the call-centre from the console).
pub fn enabled_admins(conn: &Connection) -> Result<u32, DbError> {
    conn.query_row(
        "SELECT count(*) FROM operator_roles r JOIN operators o ON o.username = r.username \
         WHERE r.role = 'admin' AND o.disabled_at IS NULL",
        [],
        |r| r.get(0),
    )
}

/// The actor of audit rows written by the command line (a name no account can have).
pub const CLI_ACTOR: &str = "(command line)";

/// Who makes a change, for the audit.
#[derive(Debug, Clone, Copy, Default)]
pub struct By<'a> {
    /// The administrator's username; [`CLI_ACTOR`] from the command line.
    pub actor: Option<&'a str>,
    /// Their client's address, where there is one.
    pub address: Option<&'a str>,
}

/// A change to an operator account.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    /// A new account with these roles and sites.
    Add {
        display_name: &'a str,
        password_hash: &'a str,
        roles: Roles,
        sites: &'a [String],
    },
    /// Cannot sign in; every session ends.
    Disable,
    /// May sign in again.
    Enable,
    /// A new password (an argon2id hash); every session ends.
    Password(&'a str),
    Roles(Roles),
    Sites(&'a [String]),
    DisplayName(&'a str),
}

/// Why a change to an operator account was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("there is no operator {0:?}; `senim-callcentre operator list` shows them")]
    Unknown(String),
    #[error("there is already an operator {0:?}; choose another username")]
    Taken(String),
    #[error(
        "this would leave no enabled administrator; give another operator the admin role first"
    )]
    LastAdmin,
    #[error(transparent)]
    Db(#[from] DbError),
}

fn sites_detail(sites: &[String]) -> String {
    if sites.is_empty() {
        "every site".into()
    } else {
        sites.join("; ")
    }
}

/// Makes `change` to `username`'s account and records it in the audit, in the caller's
/// transaction. A change that would leave no enabled administrator (where there was one) is
/// refused.
pub fn change_operator(
    tx: &Transaction<'_>,
    username: &str,
    change: &Change<'_>,
    by: By<'_>,
    now: DateTime<Utc>,
) -> Result<(), OperatorError> {
    let admins_before = enabled_admins(tx)?;
    let unknown = || OperatorError::Unknown(username.to_string());
    let (action, detail) = match change {
        Change::Add {
            display_name,
            password_hash,
            roles,
            sites,
        } => {
            if !super::insert_operator(tx, username, display_name, password_hash, now)? {
                return Err(OperatorError::Taken(username.to_string()));
            }
            super::set_roles(tx, username, *roles)?;
            set_sites(tx, username, sites)?;
            (
                "operator_add",
                format!("{}; {}", roles.names().join(", "), sites_detail(sites)),
            )
        }
        Change::Disable => {
            set_disabled(tx, username, true, now)?
                .then_some(())
                .ok_or_else(unknown)?;
            ("operator_disable", String::new())
        }
        Change::Enable => {
            set_disabled(tx, username, false, now)?
                .then_some(())
                .ok_or_else(unknown)?;
            ("operator_enable", String::new())
        }
        Change::Password(hash) => {
            set_password(tx, username, hash)?
                .then_some(())
                .ok_or_else(unknown)?;
            ("password_reset", String::new())
        }
        Change::Roles(roles) => {
            if !operator_exists(tx, username)? {
                return Err(unknown());
            }
            super::set_roles(tx, username, *roles)?;
            ("operator_roles", roles.names().join(", "))
        }
        Change::Sites(sites) => {
            if !operator_exists(tx, username)? {
                return Err(unknown());
            }
            set_sites(tx, username, sites)?;
            ("operator_sites", sites_detail(sites))
        }
        Change::DisplayName(name) => {
            set_display_name(tx, username, name)?
                .then_some(())
                .ok_or_else(unknown)?;
            ("operator_name", String::new())
        }
    };
    if admins_before > 0 && enabled_admins(tx)? == 0 {
        return Err(OperatorError::LastAdmin);
    }
    super::audit(
        tx,
        &super::AuditEntry {
            actor: by.actor,
            action,
            target: Some(username),
            address: by.address,
            detail: (!detail.is_empty()).then_some(detail.as_str()),
            ..super::AuditEntry::default()
        },
        now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{insert_operator, insert_session, session, set_roles, Db};
    use super::*;

    fn db_with(names: &[&str]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        for name in names {
            db.write(|tx| insert_operator(tx, name, "Name", "hash", Utc::now()))
                .unwrap();
        }
        (dir, db)
    }

    fn sign_in(db: &Db, username: &str, token: &str) {
        let now = Utc::now();
        db.write(|tx| {
            insert_session(
                tx,
                token,
                username,
                "csrf",
                now,
                now + chrono::Duration::hours(8),
            )
        })
        .unwrap();
    }

    #[test]
    fn disabling_ends_every_session_and_enabling_does_not_bring_them_back() {
        let (_dir, db) = db_with(&["aigerim", "bolat"]);
        sign_in(&db, "aigerim", "t1");
        sign_in(&db, "aigerim", "t2");
        sign_in(&db, "bolat", "t3");
        let now = Utc::now();
        assert!(db
            .write(|tx| set_disabled(tx, "aigerim", true, now))
            .unwrap());
        assert!(db.read(|c| session(c, "t1", now)).unwrap().is_none());
        assert!(db.read(|c| session(c, "t2", now)).unwrap().is_none());
        assert!(
            db.read(|c| session(c, "t3", now)).unwrap().is_some(),
            "another operator stays signed in"
        );
        let row = db.read(|c| get_operator(c, "aigerim")).unwrap().unwrap();
        assert!(row.disabled_at.is_some());
        assert!(db
            .read(|c| super::super::operator_login(c, "aigerim"))
            .unwrap()
            .is_none());

        assert!(db
            .write(|tx| set_disabled(tx, "aigerim", false, now))
            .unwrap());
        assert!(db.read(|c| session(c, "t1", now)).unwrap().is_none());
        assert!(db
            .read(|c| super::super::operator_login(c, "aigerim"))
            .unwrap()
            .is_some());
        assert!(!db
            .write(|tx| set_disabled(tx, "nobody", true, now))
            .unwrap());
    }

    #[test]
    fn a_password_reset_revokes_sessions_and_changes_the_hash() {
        let (_dir, db) = db_with(&["aigerim"]);
        sign_in(&db, "aigerim", "t1");
        assert!(db
            .write(|tx| set_password(tx, "aigerim", "new-hash"))
            .unwrap());
        let now = Utc::now();
        assert!(db.read(|c| session(c, "t1", now)).unwrap().is_none());
        let (hash, _) = db
            .read(|c| super::super::operator_login(c, "aigerim"))
            .unwrap()
            .unwrap();
        assert_eq!(hash, "new-hash");
        assert!(!db.write(|tx| set_password(tx, "nobody", "x")).unwrap());
    }

    #[test]
    fn roles_and_sites_are_listed_and_reach_the_session() {
        let (_dir, db) = db_with(&["aigerim", "bolat"]);
        db.write(|tx| {
            set_roles(
                tx,
                "aigerim",
                Roles {
                    admin: true,
                    anticorruption: true,
                    ..Roles::default()
                },
            )?;
            set_sites(tx, "aigerim", &["Clinic 2".into(), "Clinic 1".into()])
        })
        .unwrap();
        let list = db.read(list_operators).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].username, "aigerim");
        assert_eq!(list[0].roles.names(), ["admin", "anticorruption"]);
        assert_eq!(list[0].sites, ["Clinic 1", "Clinic 2"]);
        assert_eq!(list[1].roles.names(), ["operator"]);
        assert!(list[1].sites.is_empty());
        assert_eq!(db.read(enabled_admins).unwrap(), 1);
        assert_eq!(db.read(known_sites).unwrap(), ["Clinic 1", "Clinic 2"]);

        sign_in(&db, "aigerim", "t1");
        let s = db.read(|c| session(c, "t1", Utc::now())).unwrap().unwrap();
        assert!(s.roles.admin && !s.roles.operator && s.roles.anticorruption);
        assert!(s.may_see_site("Clinic 1") && !s.may_see_site("Clinic 9"));

        db.write(|tx| set_sites(tx, "aigerim", &[])).unwrap();
        let s = db.read(|c| session(c, "t1", Utc::now())).unwrap().unwrap();
        assert!(s.may_see_site("Clinic 9"), "no sites: every site");
    }

    #[test]
    fn usernames_and_display_names_are_checked() {
        assert!(valid_username("aigerim.s"));
        assert!(!valid_username("a"));
        assert!(!valid_username("айгерим"));
        assert!(!valid_username("a b"));
        assert!(valid_display_name("Айгерим Садыкова"));
        assert!(!valid_display_name("  "));
        assert!(!valid_display_name("two\nlines"));
    }

    #[test]
    fn changes_are_audited_and_the_last_admin_stays() {
        let (_dir, db) = db_with(&[]);
        let now = Utc::now();
        let by = By {
            actor: Some(CLI_ACTOR),
            address: None,
        };
        let admin = Roles {
            admin: true,
            operator: true,
            ..Roles::default()
        };
        db.write(|tx| {
            change_operator(
                tx,
                "boss",
                &Change::Add {
                    display_name: "Boss",
                    password_hash: "h",
                    roles: admin,
                    sites: &[],
                },
                by,
                now,
            )
        })
        .unwrap();
        let taken = db.write(|tx| {
            change_operator(
                tx,
                "boss",
                &Change::Add {
                    display_name: "Boss",
                    password_hash: "h",
                    roles: admin,
                    sites: &[],
                },
                by,
                now,
            )
        });
        assert!(matches!(taken, Err(OperatorError::Taken(_))));
        let last = db.write(|tx| change_operator(tx, "boss", &Change::Disable, by, now));
        assert!(matches!(last, Err(OperatorError::LastAdmin)), "{last:?}");
        let demoted =
            db.write(|tx| change_operator(tx, "boss", &Change::Roles(Roles::default()), by, now));
        assert!(matches!(demoted, Err(OperatorError::LastAdmin)));
        let boss = db.read(|c| get_operator(c, "boss")).unwrap().unwrap();
        assert!(
            boss.disabled_at.is_none() && boss.roles.admin,
            "nothing changed"
        );
        let unknown = db.write(|tx| change_operator(tx, "nobody", &Change::Enable, by, now));
        assert!(matches!(unknown, Err(OperatorError::Unknown(_))));

        let from = now - chrono::Duration::minutes(1);
        let to = now + chrono::Duration::minutes(1);
        let rows = db
            .read(|c| super::super::list_audit(c, from, to, 10, 0))
            .unwrap();
        assert_eq!(rows.len(), 1, "refused changes leave no row");
        assert_eq!(rows[0].action, "operator_add");
        assert_eq!(rows[0].actor.as_deref(), Some(CLI_ACTOR));
        assert_eq!(rows[0].target.as_deref(), Some("boss"));
        assert_eq!(
            rows[0].detail.as_deref(),
            Some("admin, operator; every site")
        );
    }
}
