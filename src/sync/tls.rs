//! The kiosk's TLS trust, one configuration for the HTTP client and the call's WebSocket:
//! rustls with ring, the public roots plus `[sync] ca_file`, and — once enrolled with a pin —
//! the call-centre's public key pinned: a server whose certificate chain is valid but whose key
//! is not the one the enrolment QR code named is refused (a CA mis-issuing, a proxy with a
//! company root, another server of the same private CA). A chain no root vouches for (a
//! self-signed or private-CA call-centre met by a blank kiosk) is trusted when the pin names
//! the server's key, or a CA certificate the server sent and the chain verifies under.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use senim_protocol::enrol::SpkiPin;

/// Why no TLS configuration could be made (the extra CA, in practice).
#[derive(Debug, thiserror::Error)]
#[error("sync.ca_file is not a usable PEM certificate: {reason}")]
pub struct TlsError {
    pub reason: String,
}

fn bad(reason: impl ToString) -> TlsError {
    TlsError {
        reason: reason.to_string(),
    }
}

/// What a refused pin says (the worker's error and `doctor` show it).
pub const PIN_MISMATCH: &str = "the call-centre's TLS key is not the one pinned at enrolment \
     (this may be another server); if the call-centre's key really changed, enrol the kiosk \
     again with a new code";

/// rustls with ring, the public roots, the extra CA and, when given, the pin.
pub fn client_config(
    extra_ca_pem: Option<&[u8]>,
    pin: Option<SpkiPin>,
) -> Result<rustls::ClientConfig, TlsError> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.map_err(bad)?).map_err(bad)?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no CERTIFICATE block in it"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(bad)?;
    let config = match pin {
        None => builder.with_root_certificates(roots).with_no_client_auth(),
        Some(pin) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(bad)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned {
                    webpki,
                    pin,
                    provider,
                }))
                .with_no_client_auth()
        }
    };
    Ok(config)
}

/// The webpki verifier (chain, name, dates) and then the pin.
#[derive(Debug)]
struct Pinned {
    webpki: Arc<WebPkiServerVerifier>,
    pin: SpkiPin,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl Pinned {
    /// The chain is not trusted by the roots: trusted all the same when the pin names the
    /// server's own key (it proves it holds that key in the handshake, as an SSH host key
    /// does; name and dates are not the point of a key pin), or a CA certificate the server
    /// sent, under which the chain (name, dates, signatures) then verifies. Else the
    /// webpki error stands.
    fn anchored_by_pin(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
        untrusted: rustls::Error,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pinned = |cert: &CertificateDer<'_>| {
            senim_common::spki::spki_sha256(cert).is_ok_and(|h| h == self.pin.0)
        };
        if pinned(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        let Some(ca) = intermediates.iter().find(|c| pinned(c)) else {
            return Err(untrusted);
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let under_ca = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&self.provider),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        under_ca.verify_server_cert(end_entity, intermediates, server_name, &[], now)
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => verified,
            // No public root or `[sync] ca_file` vouches for the chain (a self-signed or
            // private-CA call-centre, as a blank kiosk meets it): the pin from the enrolment
            // code is then the trust anchor itself.
            Err(e) => return self.anchored_by_pin(end_entity, intermediates, server_name, now, e),
        };
        let pinned = std::iter::once(end_entity)
            .chain(intermediates)
            .any(|cert| senim_common::spki::spki_sha256(cert).is_ok_and(|h| h == self.pin.0));
        if pinned {
            Ok(verified)
        } else {
            Err(rustls::Error::General(PIN_MISMATCH.into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether a backend URL may be plain HTTP: only to this machine (tests, the demo).
pub fn loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
