//! The SHA-256 of a certificate's SubjectPublicKeyInfo (DER): what a kiosk pins of its
//! call-centre. The call-centre computes it from its `[tls]` certificate for the enrolment QR
//! code; the kiosk's TLS verifier computes it from the certificate a server presents.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

/// Why no public-key hash could be taken.
#[derive(Debug, thiserror::Error)]
pub enum SpkiError {
    #[error("no CERTIFICATE block in the PEM text: {0}")]
    Pem(String),
    #[error("the certificate cannot be read as X.509: {0}")]
    Certificate(String),
}

/// SHA-256 of the SubjectPublicKeyInfo of a DER certificate.
pub fn spki_sha256(cert: &[u8]) -> Result<[u8; 32], SpkiError> {
    let der = CertificateDer::from(cert);
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| SpkiError::Certificate(format!("{e:?}")))?;
    Ok(Sha256::digest(cert.subject_public_key_info().as_ref()).into())
}

/// SHA-256 of the SubjectPublicKeyInfo of the first certificate of a PEM chain (the server's
/// own, as `[tls] cert` lists it first).
pub fn first_pem_spki_sha256(pem: &[u8]) -> Result<[u8; 32], SpkiError> {
    let first = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or_else(|| SpkiError::Pem("it is empty".into()))?
        .map_err(|e| SpkiError::Pem(e.to_string()))?;
    spki_sha256(first.as_ref())
}
