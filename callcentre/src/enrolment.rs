//! Issuing one-time enrolment codes for new kiosks, the one way both the command line
//! (`enrol-code`) and the console ("Enrol a kiosk") do it: the site name check, the code, its
//! QR code — carrying the call-centre's public address (`;url=…`, from `[server] public_url`
//! or `enrol-code --url`) and the pin of its TLS key (`;pin=sha256:…`, from `[tls] pin_cert`
//! or `[tls] cert`) that the kiosk checks on every connection from then on, so one scan
//! provisions a blank kiosk — and the stored row (the code's SHA-256 only, with its expiry).

use crate::db::sql::Transaction;
use chrono::{DateTime, Utc};
use senim_protocol::enrol::{EnrolCode, SpkiPin};
use senim_protocol::SiteMode;

use crate::config::TlsSection;

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

/// The QR code a kiosk scans to enrol:
/// `SENIM-ENROL:<code>[;v=2][;pin=sha256:<base64>][;url=<URL>]`.
pub fn qr(code: &str, pin: Option<SpkiPin>, url: Option<&str>) -> Result<Qr, QrError> {
    Qr::encode(&text(code, pin, url))
}

/// The text of the QR code (see [`senim_protocol::enrol`]).
pub fn text(code: &str, pin: Option<SpkiPin>, url: Option<&str>) -> String {
    EnrolCode {
        code: code.to_string(),
        pin,
        url: url.map(str::to_string),
    }
    .to_string()
}

/// The address the QR code carries: `enrol-code --url` when given, else `[server]
/// public_url`; `None` when neither is set. A bad `--url` says how to write one.
pub fn public_url(
    configured: &str,
    given: Option<&str>,
) -> Result<Option<String>, senim_protocol::enrol::EnrolCodeError> {
    let url = given.unwrap_or(configured).trim();
    if url.is_empty() {
        return Ok(None);
    }
    senim_protocol::enrol::check_url(url)?;
    Ok(Some(url.to_string()))
}

/// Why the pin could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("cannot read the certificate {path} ([tls] pin_cert or cert): {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the certificate {path} ([tls] pin_cert or cert) gives no public key to pin: {source}; \
         give the server's PEM certificate (its own first, as for [tls] cert)"
    )]
    Certificate {
        path: std::path::PathBuf,
        source: senim_common::spki::SpkiError,
    },
}

/// The pin kiosks enrolled by this call-centre check: the SHA-256 of the public key of the
/// first certificate of `[tls] pin_cert` (the reverse proxy's, when TLS ends there) or else of
/// `[tls] cert`. `None` when neither is set (plain HTTP on a test machine: no pin).
pub fn pin(tls: &TlsSection) -> Result<Option<SpkiPin>, PinError> {
    let Some(path) = tls.pin_cert.as_ref().or(tls.cert.as_ref()) else {
        return Ok(None);
    };
    let pem = std::fs::read(path).map_err(|source| PinError::Read {
        path: path.clone(),
        source,
    })?;
    let hash = senim_common::spki::first_pem_spki_sha256(&pem).map_err(|source| {
        PinError::Certificate {
            path: path.clone(),
            source,
        }
    })?;
    Ok(Some(SpkiPin(hash)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_is_https_or_http_to_this_machine() {
        use std::path::Path;
        let public = |url: &str| {
            crate::config::Config::parse(
                &format!("[server]\npublic_url = {url:?}\n"),
                Path::new("x.toml"),
            )
        };
        for bad in ["http://cc.example.kz", "cc.example.kz", "https://cc.kz/a;b"] {
            let err = public(bad).unwrap_err().to_string();
            assert!(
                err.contains("server.public_url") && err.contains("https://"),
                "{err}"
            );
        }
        assert!(public("https://cc.example.kz").is_ok());
        assert!(public("http://127.0.0.1:8080").is_ok());
        // --url wins over the configured address; neither: no URL.
        assert_eq!(
            public_url("https://a.kz", Some("https://b.kz"))
                .unwrap()
                .as_deref(),
            Some("https://b.kz")
        );
        assert_eq!(
            public_url("https://a.kz", None).unwrap().as_deref(),
            Some("https://a.kz")
        );
        assert_eq!(public_url("", None).unwrap(), None);
        assert!(public_url("", Some("http://cc.example.kz")).is_err());
    }

    #[test]
    fn the_qr_code_carries_the_pin_of_the_tls_certificates_key() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            pin(&TlsSection::default()).unwrap(),
            None,
            "plain HTTP: no pin"
        );
        let server = rcgen::generate_simple_self_signed(vec!["cc.example".into()]).unwrap();
        let proxy = rcgen::generate_simple_self_signed(vec!["cc.example".into()]).unwrap();
        let (cert, proxy_cert) = (dir.path().join("cert.pem"), dir.path().join("proxy.pem"));
        std::fs::write(&cert, server.cert.pem()).unwrap();
        std::fs::write(&proxy_cert, proxy.cert.pem()).unwrap();
        let tls = TlsSection {
            cert: Some(cert.clone()),
            key: None,
            pin_cert: None,
        };
        let expected = senim_common::spki::spki_sha256(server.cert.der()).unwrap();
        let got = pin(&tls).unwrap().expect("a pin");
        assert_eq!(got, SpkiPin(expected));
        let read = EnrolCode::parse(&text("7Q2M-9XK3-RT5W-H8NB", Some(got), None)).unwrap();
        assert_eq!(read.pin, Some(got));
        assert_eq!(read.code, "7Q2M-9XK3-RT5W-H8NB");
        // Behind a reverse proxy, its certificate's key is the one pinned.
        let behind = TlsSection {
            pin_cert: Some(proxy_cert),
            ..tls.clone()
        };
        let expected = senim_common::spki::spki_sha256(proxy.cert.der()).unwrap();
        assert_eq!(pin(&behind).unwrap(), Some(SpkiPin(expected)));
        // A missing or broken file says which key to fix.
        std::fs::write(&cert, "not a certificate").unwrap();
        let err = pin(&tls).unwrap_err().to_string();
        assert!(err.contains("cert.pem") && err.contains("[tls]"), "{err}");
    }
}
