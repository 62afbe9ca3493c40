//! The keys every server of one call-centre must share, checked at each start against what
//! the first server recorded in the store: the signing key's public half, and the sealing
//! recipient in use (which may move on by rotation: a server that holds the recorded one and
//! puts a new one first records the new one).

use chrono::{DateTime, Utc};

use super::sql::{params, Connection, OptionalExtension, Transaction};
use super::{ts, DbError};

/// Why this server's keys are not the call-centre's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMismatch {
    #[error(
        "this server's signing key ({found}) is not the one this call-centre's kiosks trust \
         ({recorded}): copy signing.key from the data folder of a server already serving into \
         this server's data folder, then start again"
    )]
    Signing { recorded: String, found: String },
    #[error(
        "this server does not hold the sealing key personal data is sealed to ({recorded}): \
         copy the sealing key file ([storage] key_file) of a server already serving, then start \
         again"
    )]
    Sealing { recorded: String },
}

const SIGNING: &str = "signing";
const SEALING: &str = "sealing";

fn recorded(conn: &Connection, name: &str) -> Result<Option<String>, DbError> {
    conn.query_row(
        "SELECT value FROM server_keys WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

fn record(
    tx: &Transaction<'_>,
    name: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO server_keys (name, value, recorded_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, recorded_at = excluded.recorded_at",
        params![name, value, ts(now)],
    )?;
    Ok(())
}

/// Checks this server's keys against the recorded ones, recording them if none are yet.
/// `signing`: the public signing key; `sealing`: the recipients of the sealing keys this server
/// holds, the current one first.
pub fn check_server_keys(
    tx: &Transaction<'_>,
    signing: &str,
    sealing: &[String],
    now: DateTime<Utc>,
) -> Result<Result<(), KeyMismatch>, DbError> {
    match recorded(tx, SIGNING)? {
        Some(recorded) if recorded != signing => {
            return Ok(Err(KeyMismatch::Signing {
                recorded,
                found: signing.to_string(),
            }))
        }
        Some(_) => {}
        None => record(tx, SIGNING, signing, now)?,
    }
    let Some(current) = sealing.first() else {
        return Ok(Ok(()));
    };
    match recorded(tx, SEALING)? {
        Some(recorded) if recorded == *current => {}
        // A rotation: this server holds the recorded key and seals to a new one from now on.
        Some(recorded) if sealing.contains(&recorded) => record(tx, SEALING, current, now)?,
        Some(recorded) => return Ok(Err(KeyMismatch::Sealing { recorded })),
        None => record(tx, SEALING, current, now)?,
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn check(db: &Db, signing: &str, sealing: &[&str]) -> Result<(), KeyMismatch> {
        let sealing: Vec<String> = sealing.iter().map(|s| s.to_string()).collect();
        db.write(|tx| check_server_keys(tx, signing, &sealing, Utc::now()))
            .unwrap()
    }

    #[test]
    fn the_first_server_records_its_keys_and_others_must_hold_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        assert_eq!(check(&db, "sign-1", &["seal-1"]), Ok(()));
        assert_eq!(
            check(&db, "sign-1", &["seal-1"]),
            Ok(()),
            "the same keys again"
        );
        let other = check(&db, "sign-2", &["seal-1"]).unwrap_err();
        assert!(matches!(other, KeyMismatch::Signing { .. }));
        assert!(other.to_string().contains("copy signing.key"), "{other}");
        let lost = check(&db, "sign-1", &["seal-9"]).unwrap_err();
        assert!(lost.to_string().contains("[storage] key_file"), "{lost}");
        // Rotation: the old key kept below a new one; from then on the new one is required.
        assert_eq!(check(&db, "sign-1", &["seal-2", "seal-1"]), Ok(()));
        assert!(
            check(&db, "sign-1", &["seal-1"]).is_err(),
            "a server without the new key"
        );
        assert_eq!(check(&db, "sign-1", &["seal-2"]), Ok(()));
    }
}
