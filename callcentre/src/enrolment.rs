//! Issuing one-time enrolment codes for new kiosks, the one way both the command line
//! (`enrol-code`) and the console ("Enrol a kiosk") do it: the site name check, the code, its
//! QR code, and the stored row (the code's SHA-256 only, with its expiry).

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use senim_protocol::SiteMode;

use crate::db::{self, DbError};
use crate::qr::{Qr, QrError};
use crate::secrets;

/// Checks a site name typed by a person: 1 to 200 characters once trimmed.
pub fn site_name(site: &str) -> Option<String> {
    let site = site.trim();
    (!site.is_empty() && site.chars().count() <= 200 && !site.chars().any(char::is_control))
        .then(|| site.to_string())
}

/// A fresh one-time code, not stored yet. It is shown to the person who asked and never
/// logged.
pub fn new_code() -> String {
    secrets::enrol_code()
}

/// The QR code a kiosk scans to enrol: `SENIM-ENROL:<code>`.
pub fn qr(code: &str) -> Result<Qr, QrError> {
    Qr::encode(&crate::qr::enrol_payload(code))
}

/// Stores `code` (its SHA-256 only) for a kiosk at `site` in `mode`, valid for `ttl_hours`
/// from `now`; returns when it expires.
pub fn store(
    tx: &Transaction<'_>,
    code: &str,
    site: &str,
    mode: SiteMode,
    now: DateTime<Utc>,
    ttl_hours: u32,
) -> Result<DateTime<Utc>, DbError> {
    let hash = secrets::sha256_hex(code.as_bytes());
    let expires = now + chrono::Duration::hours(i64::from(ttl_hours));
    db::insert_enrol_code(tx, &hash, site, mode, now, expires)?;
    Ok(expires)
}
