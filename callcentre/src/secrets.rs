//! Tokens, codes and passwords: how they are made, hashed for storage and compared; the
//! call-centre's signing key (made at first start in the data folder, mode 0600).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// The signing key's file in the data folder (PKCS#8, mode 0600). Back it up with the
/// database: a new key makes every enrolled kiosk refuse what this call-centre signs.
pub const SIGNING_KEY_FILE: &str = "signing.key";

/// The call-centre's Ed25519 signing key (catalogues; later software updates), made in
/// `data_dir` if there is none yet (`true` when made now).
pub fn signing_key(
    data_dir: &std::path::Path,
) -> Result<(senim_common::signing::SigningKey, bool), senim_common::signing::SigningError> {
    senim_common::signing::SigningKey::load_or_create(&data_dir.join(SIGNING_KEY_FILE))
}

/// Lower-case hex SHA-256 (for high-entropy secrets: tokens, codes, session ids).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const ALPHABET: &[u8] = senim_protocol::APPEAL_ID_ALPHABET;

fn random_chars(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A bearer token: 32 random bytes, URL-safe base64.
pub fn token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A kiosk id, e.g. `K-7Q2M9X`.
pub fn kiosk_id() -> String {
    format!("K-{}", random_chars(6))
}

/// An appeal number for a live call whose id is not one, e.g. `A-7Q2M9XK3`.
pub fn appeal_id() -> String {
    format!("A-{}", random_chars(8))
}

/// A tus upload id (opaque, 32 hex digits).
pub fn upload_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// A one-time enrolment code: four groups of four (80 bits), e.g. `7Q2M-9XK3-RT5W-H8NB`.
pub fn enrol_code() -> String {
    let raw = random_chars(16);
    format!(
        "{}-{}-{}-{}",
        &raw[0..4],
        &raw[4..8],
        &raw[8..12],
        &raw[12..16]
    )
}

/// The canonical form of a typed or scanned code (case, spaces, the `SENIM-ENROL:` QR
/// prefix forgiven), or `None` if it cannot be a code.
pub fn normalise_enrol_code(input: &str) -> Option<String> {
    let s = input.trim();
    let s = s.strip_prefix("SENIM-ENROL:").unwrap_or(s);
    let chars: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if chars.len() != 16 || !chars.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}",
        &chars[0..4],
        &chars[4..8],
        &chars[8..12],
        &chars[12..16]
    ))
}

/// argon2id hash of an operator password, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether a password matches a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_the_ways_people_type_them() {
        let code = enrol_code();
        assert_eq!(normalise_enrol_code(&code).as_deref(), Some(code.as_str()));
        let sloppy = format!(" {} ", code.to_lowercase().replace('-', " "));
        assert_eq!(
            normalise_enrol_code(&sloppy).as_deref(),
            Some(code.as_str())
        );
        let scanned = format!("SENIM-ENROL:{code}");
        assert_eq!(
            normalise_enrol_code(&scanned).as_deref(),
            Some(code.as_str())
        );
        assert_eq!(normalise_enrol_code("OOOO-IIII-0000-1111"), None);
        assert_eq!(normalise_enrol_code("ABCD"), None);
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_well_formed() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 43);
        let id = kiosk_id();
        assert!(id.starts_with("K-") && id.len() == 8);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
