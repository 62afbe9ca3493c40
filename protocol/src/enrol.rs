//! The enrolment code as a QR code or barcode carries it: `SENIM-ENROL:<code>` optionally
//! followed by `;pin=sha256:<base64>`, the SHA-256 of the call-centre's TLS public key (its
//! certificate's SubjectPublicKeyInfo, DER) that the kiosk pins from then on. Written by the
//! call-centre (`enrol-code --qr`, the console), read by the kiosk's classifier and `enrol`.
//!
//! The format grows compatibly: fields after the code are `;name=value`; a reader ignores a
//! field it does not know (of the shape `[a-z0-9-]+=…`), so a later field does not break this
//! kiosk. Codes without fields (older call-centres) still read.

use base64::Engine;

use crate::ENROL_PREFIX;

/// The pin field's name and the only hash it names.
const PIN_FIELD: &str = "pin";
const PIN_SCHEME: &str = "sha256:";
/// The longest payload (after the prefix) a reader looks at: the code, a pin and room for a
/// few future fields.
pub const MAX_ENROL_PAYLOAD: usize = 512;

/// The SHA-256 of a server's SubjectPublicKeyInfo (DER), written `sha256:<base64>` (standard
/// alphabet, padded: 44 characters), as HTTP public-key pinning wrote it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpkiPin(pub [u8; 32]);

impl std::fmt::Debug for SpkiPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpkiPin({self})")
    }
}

impl std::fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.0);
        write!(f, "{PIN_SCHEME}{b64}")
    }
}

impl std::str::FromStr for SpkiPin {
    type Err = EnrolCodeError;

    fn from_str(s: &str) -> Result<SpkiPin, EnrolCodeError> {
        let b64 = s
            .strip_prefix(PIN_SCHEME)
            .ok_or(EnrolCodeError::PinScheme)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| EnrolCodeError::PinEncoding)?;
        let hash: [u8; 32] = bytes.try_into().map_err(|_| EnrolCodeError::PinEncoding)?;
        Ok(SpkiPin(hash))
    }
}

/// An enrolment code read from a QR code, a barcode or the command line.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolCode {
    /// The one-time code (6–64 of `A-Z 0-9 -`), sent to `POST /api/v1/enrol`.
    pub code: String,
    /// The call-centre's public-key pin, when its QR code carries one.
    pub pin: Option<SpkiPin>,
}

impl std::fmt::Debug for EnrolCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolCode")
            .field("code", &format_args!("<{} chars>", self.code.len()))
            .field("pin", &self.pin)
            .finish()
    }
}

/// Why a text is not a usable enrolment code. Each message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolCodeError {
    #[error("an enrolment code starts with SENIM-ENROL:")]
    Prefix,
    #[error("an enrolment code is 6-64 characters A-Z, 0-9 or -; this one is damaged or not ours")]
    Code,
    #[error("an enrolment code is at most {MAX_ENROL_PAYLOAD} characters after SENIM-ENROL:")]
    TooLong,
    #[error("a field after the enrolment code is `;name=value` with a name of a-z, 0-9 or -")]
    Field,
    #[error("the enrolment code names its pin twice")]
    DuplicatePin,
    #[error("the pin of an enrolment code is sha256:<base64>; this one names another hash")]
    PinScheme,
    #[error("the pin of an enrolment code is sha256: and 44 characters of base64 (32 bytes)")]
    PinEncoding,
}

impl EnrolCodeError {
    /// A stable lower-case code for programs and translations.
    pub fn code(&self) -> &'static str {
        match self {
            EnrolCodeError::Prefix => "prefix",
            EnrolCodeError::Code => "code",
            EnrolCodeError::TooLong => "too_long",
            EnrolCodeError::Field => "field",
            EnrolCodeError::DuplicatePin => "duplicate_pin",
            EnrolCodeError::PinScheme => "pin_scheme",
            EnrolCodeError::PinEncoding => "pin_encoding",
        }
    }
}

/// Whether a one-time code has the shape the call-centre makes: 6–64 of `A-Z 0-9 -`.
pub fn valid_code(code: &str) -> bool {
    (6..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

impl EnrolCode {
    /// Reads a whole QR text: `SENIM-ENROL:` and the payload.
    pub fn parse(text: &str) -> Result<EnrolCode, EnrolCodeError> {
        let payload = text
            .strip_prefix(ENROL_PREFIX)
            .ok_or(EnrolCodeError::Prefix)?;
        EnrolCode::parse_payload(payload)
    }

    /// Reads what follows `SENIM-ENROL:` (also what `senim-kiosk enrol` takes).
    pub fn parse_payload(payload: &str) -> Result<EnrolCode, EnrolCodeError> {
        if payload.len() > MAX_ENROL_PAYLOAD {
            return Err(EnrolCodeError::TooLong);
        }
        let mut parts = payload.split(';');
        let code = parts.next().unwrap_or_default();
        if !valid_code(code) {
            return Err(EnrolCodeError::Code);
        }
        let mut pin = None;
        for field in parts {
            let (name, value) = field.split_once('=').ok_or(EnrolCodeError::Field)?;
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !name_ok || value.chars().any(char::is_control) {
                return Err(EnrolCodeError::Field);
            }
            if name == PIN_FIELD {
                if pin.is_some() {
                    return Err(EnrolCodeError::DuplicatePin);
                }
                pin = Some(value.parse::<SpkiPin>()?);
            }
        }
        Ok(EnrolCode {
            code: code.to_string(),
            pin,
        })
    }

    /// The payload after the prefix: `<code>` or `<code>;pin=sha256:<base64>`.
    pub fn payload(&self) -> String {
        match &self.pin {
            Some(pin) => format!("{};{PIN_FIELD}={pin}", self.code),
            None => self.code.clone(),
        }
    }
}

impl std::fmt::Display for EnrolCode {
    /// The whole QR text, `SENIM-ENROL:<payload>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{ENROL_PREFIX}{}", self.payload())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PIN: &str = "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn codes_with_and_without_a_pin_read_and_write_back() {
        let plain = EnrolCode::parse("SENIM-ENROL:7Q2M-9XK3-RT5W-H8NB").unwrap();
        assert_eq!(plain.code, "7Q2M-9XK3-RT5W-H8NB");
        assert_eq!(plain.pin, None);
        assert_eq!(plain.to_string(), "SENIM-ENROL:7Q2M-9XK3-RT5W-H8NB");
        let text = format!("SENIM-ENROL:7Q2M-9XK3;pin={PIN}");
        let pinned = EnrolCode::parse(&text).unwrap();
        assert_eq!(pinned.pin.unwrap().to_string(), PIN);
        assert_eq!(pinned.to_string(), text);
        // A field a later call-centre adds is ignored.
        let later = EnrolCode::parse(&format!("SENIM-ENROL:7Q2M-9XK3;x-site=2;pin={PIN}")).unwrap();
        assert_eq!(later, pinned);
    }

    #[test]
    fn damaged_codes_are_refused_with_their_reason() {
        let e = |t: &str| EnrolCode::parse(t).unwrap_err();
        assert_eq!(e("ENROL:ABCDEF"), EnrolCodeError::Prefix);
        assert_eq!(e("SENIM-ENROL:abcdef"), EnrolCodeError::Code);
        assert_eq!(e("SENIM-ENROL:ABC"), EnrolCodeError::Code);
        assert_eq!(e("SENIM-ENROL:ABCDEF;pin"), EnrolCodeError::Field);
        assert_eq!(e("SENIM-ENROL:ABCDEF;Pin=x"), EnrolCodeError::Field);
        assert_eq!(
            e("SENIM-ENROL:ABCDEF;pin=sha1:AAAA"),
            EnrolCodeError::PinScheme
        );
        assert_eq!(
            e("SENIM-ENROL:ABCDEF;pin=sha256:AAAA"),
            EnrolCodeError::PinEncoding
        );
        assert_eq!(
            e(&format!("SENIM-ENROL:ABCDEF;pin={PIN};pin={PIN}")),
            EnrolCodeError::DuplicatePin
        );
        assert_eq!(
            e(&format!("SENIM-ENROL:ABCDEF;x={}", "a".repeat(600))),
            EnrolCodeError::TooLong
        );
    }

    fn arb_code() -> impl Strategy<Value = String> {
        "[A-Z0-9-]{6,64}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Any text: no panic, and a refusal is one of the documented errors.
        #[test]
        fn any_text_reads_or_is_refused(s in "\\PC{0,200}|SENIM-ENROL:\\PC{0,120}|SENIM-ENROL:[A-Z0-9-]{6,20}(;[a-z=:]{0,10}\\PC{0,50}){0,3}") {
            match EnrolCode::parse(&s) {
                Ok(c) => {
                    prop_assert!(valid_code(&c.code));
                    // What was read writes back to a text that reads the same.
                    prop_assert_eq!(EnrolCode::parse(&c.to_string()).unwrap(), c);
                }
                Err(e) => prop_assert!(!e.code().is_empty() && !e.to_string().is_empty()),
            }
        }

        /// Any bytes, as a scanner might deliver them.
        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let s = String::from_utf8_lossy(&bytes);
            let _ = EnrolCode::parse(&s);
            let _ = EnrolCode::parse_payload(&s);
        }

        /// Every code and pin the call-centre can write round-trips exactly.
        #[test]
        fn written_codes_round_trip(code in arb_code(), hash in any::<[u8; 32]>(), pinned in any::<bool>()) {
            let c = EnrolCode { code, pin: pinned.then_some(SpkiPin(hash)) };
            let text = c.to_string();
            prop_assert_eq!(EnrolCode::parse(&text).unwrap(), c.clone());
            prop_assert_eq!(EnrolCode::parse_payload(&c.payload()).unwrap(), c);
        }
    }
}
