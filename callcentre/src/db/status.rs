//! The citizen's status page's SQL: the hash a check code is kept as, and an appeal found by its
//! number and a code (the receipt's, hashed on the appeal row, or an SMS link's, in
//! `status_links`), with only what the page may show.

use super::sql::{Connection, OptionalExtension};
use chrono::{DateTime, Utc};

use super::{parse_ts, DbError};

/// SHA-256 (lower-case hex) of a check code or link code: all the call-centre keeps of it
/// (`secrets::sha256_hex`, as the SMS link codes are kept).
pub fn code_hash(code: &str) -> String {
    crate::secrets::sha256_hex(code.as_bytes())
}

/// Whether two hashes are equal, in time that does not depend on where they differ.
fn same_hash(a: &str, b: &str) -> bool {
    crate::secrets::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// What the status page shows of an appeal: no IIN, name, phone, video or operator.
#[derive(Debug, Clone, PartialEq)]
pub struct AppealStatus {
    pub id: String,
    /// One of [`super::STATUSES`].
    pub status: String,
    /// When the citizen left it (the kiosk's time).
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// The answer and when it was given, once answered (and not erased).
    pub answer: Option<(String, DateTime<Utc>)>,
    /// The answer's language (`kk`, `ru`, `en`), for the page's `lang` attribute.
    pub answer_language: Option<String>,
}

/// The appeal `number` if `hash` (see [`code_hash`]) is its receipt's check code or one of its
/// link codes; `None` otherwise, whichever part was wrong. The hashes of the found appeal are
/// all compared in constant time; an unknown number costs one comparison as well.
pub fn appeal_status(
    conn: &Connection,
    number: &str,
    hash: &str,
) -> Result<Option<AppealStatus>, DbError> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT status, created_at, due_at, check_hash, answer_text, answered_at, \
             answer_language FROM appeals WHERE id = ?1",
        )?
        .query_row([number], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    let Some((status, created, due, check_hash, answer_text, answered_at, answer_language)) = row
    else {
        // Same work as a found appeal with a wrong code.
        let _ = same_hash(hash, &code_hash(""));
        return Ok(None);
    };
    let links: Vec<String> = conn
        .prepare_cached("SELECT code_hash FROM status_links WHERE appeal_id = ?1")?
        .query_map([number], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut matched = false;
    for known in check_hash.iter().chain(&links) {
        matched |= same_hash(hash, known);
    }
    if !matched {
        return Ok(None);
    }
    let time = |s: &str| -> Result<DateTime<Utc>, DbError> {
        parse_ts(s).ok_or_else(|| DbError::Value(format!("not a time: {s:?}")))
    };
    let answer = match (answer_text, answered_at) {
        (Some(text), Some(at)) if !text.is_empty() => Some((text, time(&at)?)),
        _ => None,
    };
    Ok(Some(AppealStatus {
        id: number.to_string(),
        status,
        created_at: time(&created)?,
        due_at: time(&due)?,
        answer,
        answer_language,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn hashes_are_sha256_hex_and_compare_exactly() {
        assert_eq!(
            code_hash("ABCDEFGHIJKLMNOP"),
            hex::encode(Sha256::digest(b"ABCDEFGHIJKLMNOP"))
        );
        let h = code_hash("ABCDEFGHIJKLMNOP");
        assert!(same_hash(&h, &h.clone()));
        assert!(!same_hash(&h, &code_hash("ABCDEFGHIJKLMNOQ")));
        assert!(!same_hash(&h, &h[..63]));
    }
}
