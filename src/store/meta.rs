//! The `meta` table: this kiosk's enrolment (token included, and the call-centre's TLS key pin
//! and signing key), the last sync success and error, the catalogue version in use or refused,
//! and the clock skew to the call-centre.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use senim_common::signing::PublicKey;
use senim_protocol::enrol::SpkiPin;
use senim_protocol::{CatalogProblem, SiteMode};

use super::{ts, Store, StoreError};

/// What the kiosk learnt at enrolment. The token is a secret: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub kiosk_id: String,
    pub token: String,
    pub site: String,
    /// Hospital or front office, as the call-centre made the code.
    pub mode: SiteMode,
    /// The backend the kiosk enrolled with.
    pub backend_url: String,
    /// The call-centre's TLS public-key pin from the enrolment QR code: every later HTTPS
    /// connection must present that key. `None`: enrolled over loopback HTTP, or with a code
    /// that carried no pin (webpki trust alone; `doctor` warns).
    pub pin: Option<SpkiPin>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("kiosk_id", &self.kiosk_id)
            .field("token", &"<redacted>")
            .field("site", &self.site)
            .field("mode", &self.mode)
            .field("backend_url", &self.backend_url)
            .field("pin", &self.pin)
            .finish()
    }
}

impl Store {
    pub(super) fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub(super) fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// This kiosk's enrolment, if it has one.
    pub fn enrolment(&self) -> Result<Option<Enrolment>, StoreError> {
        let (Some(kiosk_id), Some(token)) = (self.meta("kiosk_id")?, self.meta("token")?) else {
            return Ok(None);
        };
        let mode = match self.meta("mode")?.as_deref() {
            Some("front-office") => SiteMode::FrontOffice,
            _ => SiteMode::Hospital,
        };
        Ok(Some(Enrolment {
            kiosk_id,
            token,
            site: self.meta("site")?.unwrap_or_default(),
            mode,
            backend_url: self.meta("backend_url")?.unwrap_or_default(),
            // A damaged pin is kept as a pin nothing matches: refused, never silently unpinned.
            pin: self
                .meta("tls_pin")?
                .map(|p| p.parse().unwrap_or(SpkiPin([0; 32]))),
        }))
    }

    /// The call-centre's signing key (catalogues), learned at enrolment or, for a kiosk
    /// enrolled before signing, from the first heartbeat answer that carries it.
    pub fn signing_key(&self) -> Result<Option<PublicKey>, StoreError> {
        Ok(self.meta("signing_key")?.and_then(|k| k.parse().ok()))
    }

    pub fn set_signing_key(&self, key: &PublicKey) -> Result<(), StoreError> {
        self.set_meta("signing_key", &key.to_string())
    }

    /// The call-centre revoked this kiosk: its token is useless for requests, so it is
    /// forgotten as this kiosk's token (the queue stays, to be delivered once the kiosk is
    /// enrolled again) and kept only as `revoked_token`, the proof a re-enrolment offers so
    /// that the call-centre recognises the machine and keeps its kiosk id.
    pub fn forget_token(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO meta (key, value) SELECT 'revoked_token', value FROM meta \
             WHERE key = 'token' ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [],
        )?;
        tx.execute("DELETE FROM meta WHERE key IN ('token', 'kiosk_id')", [])?;
        tx.commit()?;
        Ok(())
    }

    /// The call-centre this kiosk was enrolled with (also after a revocation), `None` before
    /// any enrolment.
    pub fn enrolled_backend(&self) -> Result<Option<String>, StoreError> {
        Ok(self.meta("backend_url")?.filter(|u| !u.is_empty()))
    }

    /// The token this machine held before a (re-)enrolment with `backend_url`: the current
    /// one, else a revoked one — only if it was issued by that same backend (a token is never
    /// shown to another server). Sent with the enrolment request so the call-centre keeps the
    /// kiosk's id.
    pub fn previous_token(&self, backend_url: &str) -> Result<Option<String>, StoreError> {
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        if !self
            .meta("backend_url")?
            .is_some_and(|u| same(&u, backend_url))
        {
            return Ok(None);
        }
        Ok(match self.meta("token")? {
            Some(t) => Some(t),
            None => self.meta("revoked_token")?,
        })
    }

    /// Keeps a new enrolment (replacing an old one).
    pub fn set_enrolment(&mut self, e: &Enrolment) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (k, v) in [
            ("kiosk_id", e.kiosk_id.as_str()),
            ("token", e.token.as_str()),
            ("site", e.site.as_str()),
            ("mode", e.mode.as_str()),
            ("backend_url", e.backend_url.as_str()),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.execute("DELETE FROM meta WHERE key = 'revoked_token'", [])?;
        match &e.pin {
            Some(pin) => tx.execute(
                "INSERT INTO meta (key, value) VALUES ('tls_pin', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [pin.to_string()],
            )?,
            None => tx.execute("DELETE FROM meta WHERE key = 'tls_pin'", [])?,
        };
        tx.commit()?;
        Ok(())
    }

    /// The backend accepted something now.
    pub fn note_success(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta("last_success_at", &ts(now))
    }

    /// The last sync failure (a technical sentence without personal data).
    pub fn note_error(&self, message: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta("last_error", message)?;
        self.set_meta("last_error_at", &ts(now))
    }

    /// The catalogue version installed from the call-centre (`None`: the shipped one).
    pub fn catalog_version(&self) -> Result<Option<String>, StoreError> {
        self.meta("catalog_version")
    }

    /// A new catalogue version is installed: it is the one in use from now on, and any
    /// earlier refusal is forgotten.
    pub fn set_catalog_version(&self, version: &str) -> Result<(), StoreError> {
        self.set_meta("catalog_version", version)?;
        self.set_catalog_problem(None)
    }

    /// The last catalogue version the kiosk refused, and why (sent with every heartbeat).
    pub fn catalog_problem(&self) -> Result<Option<CatalogProblem>, StoreError> {
        let (Some(version), Some(message)) = (
            self.meta("catalog_refused_version")?,
            self.meta("catalog_refused_message")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(CatalogProblem { version, message }))
    }

    pub fn set_catalog_problem(&self, problem: Option<&CatalogProblem>) -> Result<(), StoreError> {
        match problem {
            Some(p) => {
                self.set_meta("catalog_refused_version", &p.version)?;
                self.set_meta("catalog_refused_message", &p.message)
            }
            None => {
                self.conn.execute(
                    "DELETE FROM meta WHERE key IN ('catalog_refused_version', 'catalog_refused_message')",
                    [],
                )?;
                Ok(())
            }
        }
    }

    /// How far the kiosk's clock is behind the server's (server − kiosk), in milliseconds.
    pub fn set_clock_skew_ms(&self, skew: i64) -> Result<(), StoreError> {
        self.set_meta("clock_skew_ms", &skew.to_string())
    }

    pub fn clock_skew_ms(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta("clock_skew_ms")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use senim_protocol::SiteMode;

    use super::*;

    #[test]
    fn a_revoked_token_is_kept_only_as_the_proof_for_reenrolment() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in_memory(dir.path()).unwrap();
        assert_eq!(store.previous_token("https://cc.example").unwrap(), None);
        let e = Enrolment {
            kiosk_id: "K-ABC".into(),
            token: "old-token".into(),
            site: "Hospital".into(),
            mode: SiteMode::Hospital,
            backend_url: "https://cc.example".into(),
            pin: None,
        };
        store.set_enrolment(&e).unwrap();
        assert_eq!(
            store
                .previous_token("https://cc.example/")
                .unwrap()
                .as_deref(),
            Some("old-token")
        );
        store.forget_token().unwrap();
        assert_eq!(store.enrolment().unwrap(), None);
        assert_eq!(
            store
                .previous_token("https://cc.example/")
                .unwrap()
                .as_deref(),
            Some("old-token")
        );
        store
            .set_enrolment(&Enrolment {
                token: "new-token".into(),
                ..e
            })
            .unwrap();
        assert_eq!(
            store
                .previous_token("https://cc.example/")
                .unwrap()
                .as_deref(),
            Some("new-token")
        );
        assert_eq!(store.meta("revoked_token").unwrap(), None);
        assert_eq!(
            store.previous_token("https://elsewhere.example").unwrap(),
            None,
            "a token is never shown to another server"
        );
    }
}
