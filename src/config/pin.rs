//! The technician PIN: argon2id with a random salt (`[technician] pin_hash`, the PHC string
//! `senim-kiosk hash-pin` prints), and the deprecated unsalted SHA-256 (`pin_sha256`) that older
//! configurations hold — still accepted so an upgraded kiosk keeps its technician mode, but
//! reported by `doctor` and at start until it is replaced.
//!
//! Checking costs tens of milliseconds (argon2id, 19 MiB): the app runs it off the UI thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::TechnicianSection;
use crate::flow::PinLock;

/// The fewest digits a technician PIN may have.
pub const PIN_MIN_DIGITS: usize = 4;
/// The most digits the kiosk's keypad takes.
pub const PIN_MAX_DIGITS: usize = 12;

/// Why a PIN cannot be hashed. Messages say what to type instead.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(
        "the PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits (0–9), the kiosk's keypad \
         has nothing else; found {found}"
    )]
    NotDigits { found: String },
    #[error("cannot hash the PIN: {0}")]
    Hash(argon2::password_hash::Error),
}

/// Checks that `pin` can be typed on the kiosk's keypad.
pub fn check_pin_text(pin: &str) -> Result<(), PinError> {
    let digits = pin.chars().count();
    if !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&digits)
        || !pin.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(PinError::NotDigits {
            found: if pin.chars().all(|c| c.is_ascii_digit()) {
                format!("{digits} digits")
            } else {
                format!("{digits} characters, not all digits")
            },
        });
    }
    Ok(())
}

/// The argon2id PHC string of `pin` with a fresh 16-byte salt: the value of
/// `[technician] pin_hash`.
pub fn hash_pin(pin: &str) -> Result<String, PinError> {
    check_pin_text(pin)?;
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(PinError::Hash)?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(PinError::Hash)
}

/// Whether `text` is an argon2id PHC string (what `pin_hash` must hold), and if not, why.
pub(super) fn pin_hash_problem(text: &str) -> Option<String> {
    match PasswordHash::new(text) {
        Err(e) => Some(format!("not a PHC string ({e})")),
        Ok(h) if h.algorithm.as_str() != "argon2id" => {
            Some(format!("a {} hash, not argon2id", h.algorithm))
        }
        Ok(h) if h.salt.is_none() || h.hash.is_none() => Some("a hash without salt".into()),
        Ok(_) => None,
    }
}

impl TechnicianSection {
    /// Whether a technician PIN is configured (either key).
    pub fn pin_set(&self) -> bool {
        !self.pin_hash.is_empty() || !self.pin_sha256.is_empty()
    }

    /// Whether the PIN is still the deprecated unsalted SHA-256 (`pin_sha256`).
    pub fn pin_deprecated(&self) -> bool {
        self.pin_hash.is_empty() && !self.pin_sha256.is_empty()
    }

    /// What `doctor` says of the PIN, given the lock-out the store keeps: `Ok(detail)`, or
    /// `Err((detail, hint))` for a warning (deprecated hash, locked now).
    pub fn pin_check(&self, lock: PinLock) -> Result<&'static str, (String, &'static str)> {
        if self.pin_deprecated() {
            Err((
                "[technician] pin_sha256 is an unsalted SHA-256 (deprecated)".into(),
                "run `senim-kiosk hash-pin` and replace pin_sha256 with the pin_hash line it prints",
            ))
        } else if lock.locked_for_ms > 0 {
            Err((
                format!(
                    "the PIN is locked for {} s after {} wrong PINs",
                    lock.locked_for_ms.div_ceil(1000),
                    lock.failures
                ),
                "wait, or open technician mode with a technician badge",
            ))
        } else if self.pin_set() {
            Ok("PIN set (argon2id with a salt)")
        } else {
            Ok("no PIN: only a technician badge opens technician mode")
        }
    }

    /// Whether `typed` is the configured PIN. Slow (argon2id): never on the UI thread.
    pub fn verify_pin(&self, typed: &str) -> bool {
        if typed.is_empty() {
            return false;
        }
        if !self.pin_hash.is_empty() {
            return PasswordHash::new(&self.pin_hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(typed.as_bytes(), &h)
                    .is_ok()
            });
        }
        if !self.pin_sha256.is_empty() {
            let hex: String = Sha256::digest(typed.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            return hex.eq_ignore_ascii_case(&self.pin_sha256);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_pin_verifies_with_its_salt_and_only_itself() {
        let a = hash_pin("4321").unwrap();
        let b = hash_pin("4321").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert_eq!(pin_hash_problem(&a), None);
        let section = TechnicianSection {
            pin_hash: a,
            ..TechnicianSection::default()
        };
        assert!(section.pin_set() && !section.pin_deprecated());
        assert!(section.verify_pin("4321"));
        assert!(!section.verify_pin("4322"));
        assert!(!section.verify_pin(""));
    }

    #[test]
    fn the_deprecated_sha256_still_verifies() {
        let section = TechnicianSection {
            pin_sha256: "fe2592b42a727e977f055947385b709cc82b16b9a87f88c6abf3900d65d0cdc3".into(),
            ..TechnicianSection::default()
        };
        assert!(section.pin_deprecated());
        assert!(section.verify_pin("4321"));
        assert!(!section.verify_pin("1234"));
        assert!(!TechnicianSection::default().verify_pin("4321"));
    }

    #[test]
    fn doctor_warns_of_the_old_hash_and_of_a_lock() {
        let old = TechnicianSection {
            pin_sha256: "ab".repeat(32),
            ..TechnicianSection::default()
        };
        let (detail, hint) = old.pin_check(PinLock::default()).unwrap_err();
        assert!(detail.contains("pin_sha256") && hint.contains("hash-pin"));
        let new = TechnicianSection {
            pin_hash: hash_pin("1234").unwrap(),
            ..TechnicianSection::default()
        };
        assert!(new.pin_check(PinLock::default()).is_ok());
        let locked = PinLock {
            failures: 4,
            locked_for_ms: 59_001,
        };
        let (detail, _) = new.pin_check(locked).unwrap_err();
        assert!(detail.contains("60 s after 4"), "{detail}");
    }

    #[test]
    fn only_keypad_pins_are_hashed() {
        for bad in ["", "123", "12345678901234", "12a4", "１２３４", " 1234"] {
            assert!(hash_pin(bad).is_err(), "{bad:?}");
        }
        assert!(check_pin_text("000000000000").is_ok());
    }

    #[test]
    fn a_pin_hash_must_be_argon2id() {
        assert!(pin_hash_problem("4321").is_some());
        assert!(
            pin_hash_problem("$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_some()
        );
        assert!(pin_hash_problem("$argon2id$v=19$m=19456,t=2,p=1").is_some());
    }
}
