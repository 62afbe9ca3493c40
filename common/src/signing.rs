//! The one signature scheme of Senim: Ed25519 over a canonical byte string with a purpose.
//! The call-centre signs (its key is made at first start, kept as PKCS#8 in its data folder,
//! mode 0600); kiosks verify with the public half learned at enrolment. Catalogues use it now,
//! software updates will (issue 18).
//!
//! What is signed is `senim-signature-v1\0<purpose>\0<message>`, so a signature made for one
//! purpose (`catalog`) never passes for another (`update`). Keys and signatures travel as
//! text: a public key `ed25519:<base64 of 32 bytes>`, a signature the base64 of 64 bytes.

use std::path::{Path, PathBuf};

use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// The domain separation in front of every signed message.
const DOMAIN: &[u8] = b"senim-signature-v1\0";
const KEY_PREFIX: &str = "ed25519:";

/// The purpose of a signed catalogue.
pub const PURPOSE_CATALOG: &str = "catalog";

/// What can go wrong with keys and signatures. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read the signing key {path}: {source} — check the data folder's permissions")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the signing key {path}: {source} — check the data folder")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the signing key {0} is damaged (not an Ed25519 PKCS#8 key); restore it from a backup — \
         a new key would make every enrolled kiosk refuse what this call-centre signs"
    )]
    BadKeyFile(PathBuf),
    #[error("the signing key {0} is readable by others; run chmod 600 on it")]
    Permissions(PathBuf),
    #[error("cannot make a signing key: the system's random source failed")]
    Random,
    #[error("a public key is written ed25519:<base64 of 32 bytes>")]
    BadPublicKey,
    #[error("a signature is the base64 of 64 bytes")]
    BadSignatureEncoding,
    #[error("the signature does not match: the content was changed or signed by another key")]
    Mismatch,
}

/// A call-centre's private signing key.
pub struct SigningKey(Ed25519KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public())
    }
}

/// The public half, as kiosks keep it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.0);
        write!(f, "{KEY_PREFIX}{b64}")
    }
}

impl std::str::FromStr for PublicKey {
    type Err = SigningError;

    fn from_str(s: &str) -> Result<PublicKey, SigningError> {
        let b64 = s
            .strip_prefix(KEY_PREFIX)
            .ok_or(SigningError::BadPublicKey)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| SigningError::BadPublicKey)?;
        Ok(PublicKey(
            bytes.try_into().map_err(|_| SigningError::BadPublicKey)?,
        ))
    }
}

fn signed_message(purpose: &str, message: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + purpose.len() + 1 + message.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(purpose.as_bytes());
    m.push(0);
    m.extend_from_slice(message);
    m
}

impl SigningKey {
    /// A fresh key and its PKCS#8 document (what the key file holds).
    pub fn generate() -> Result<(SigningKey, Vec<u8>), SigningError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SigningError::Random)?;
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| SigningError::Random)?;
        Ok((SigningKey(pair), doc.as_ref().to_vec()))
    }

    /// Reads a key file (PKCS#8 DER, mode 0600).
    pub fn load(path: &Path) -> Result<SigningKey, SigningError> {
        let bytes = std::fs::read(path).map_err(|source| SigningError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let exposed = crate::keyfile::exposed(path).map_err(|source| SigningError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if exposed {
            return Err(SigningError::Permissions(path.to_path_buf()));
        }
        Ed25519KeyPair::from_pkcs8(&bytes)
            .map(SigningKey)
            .map_err(|_| SigningError::BadKeyFile(path.to_path_buf()))
    }

    /// Reads the key at `path`, or makes one there if there is none (written beside with mode
    /// 0600, fsynced and renamed into place, so a crash never leaves half a key). `true` when
    /// it was made now.
    pub fn load_or_create(path: &Path) -> Result<(SigningKey, bool), SigningError> {
        if path.exists() {
            return SigningKey::load(path).map(|k| (k, false));
        }
        let (key, doc) = SigningKey::generate()?;
        let write = |source| SigningError::Write {
            path: path.to_path_buf(),
            source,
        };
        if !crate::keyfile::create_private(path, &doc).map_err(write)? {
            return SigningKey::load(path).map(|k| (k, false));
        }
        Ok((key, true))
    }

    pub fn public(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.0.public_key().as_ref());
        PublicKey(bytes)
    }

    /// The signature (base64) of `message` for `purpose`.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> String {
        let sig = self.0.sign(&signed_message(purpose, message));
        base64::engine::general_purpose::STANDARD.encode(sig.as_ref())
    }
}

impl PublicKey {
    /// Checks `signature` (base64) of `message` for `purpose`.
    pub fn verify(
        &self,
        purpose: &str,
        message: &[u8],
        signature: &str,
    ) -> Result<(), SigningError> {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| SigningError::BadSignatureEncoding)?;
        if sig.len() != 64 {
            return Err(SigningError::BadSignatureEncoding);
        }
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(&signed_message(purpose, message), &sig)
            .map_err(|_| SigningError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_purpose_and_message() {
        let (key, _) = SigningKey::generate().unwrap();
        let public: PublicKey = key.public().to_string().parse().unwrap();
        assert_eq!(public, key.public());
        let sig = key.sign(PURPOSE_CATALOG, b"hello");
        public.verify(PURPOSE_CATALOG, b"hello", &sig).unwrap();
        assert!(matches!(
            public.verify(PURPOSE_CATALOG, b"hellO", &sig),
            Err(SigningError::Mismatch)
        ));
        assert!(matches!(
            public.verify("update", b"hello", &sig),
            Err(SigningError::Mismatch)
        ));
        let (other, _) = SigningKey::generate().unwrap();
        assert!(matches!(
            other.public().verify(PURPOSE_CATALOG, b"hello", &sig),
            Err(SigningError::Mismatch)
        ));
        assert!(matches!(
            public.verify(PURPOSE_CATALOG, b"hello", "not base64!"),
            Err(SigningError::BadSignatureEncoding)
        ));
        assert!("ed25519:AAAA".parse::<PublicKey>().is_err());
        assert!("rsa:AAAA".parse::<PublicKey>().is_err());
    }

    #[test]
    fn the_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let (made, created) = SigningKey::load_or_create(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, created) = SigningKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(made.public(), again.public());
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                SigningKey::load(&path),
                Err(SigningError::Permissions(_))
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(
            SigningKey::load(&path),
            Err(SigningError::BadKeyFile(_))
        ));
    }
}
