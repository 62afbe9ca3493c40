//! The enrolment text a QR code or barcode carries: everything a blank kiosk needs to become
//! a working one in one scan. Written by the call-centre (`enrol-code`, the console's enrol
//! form), read by the kiosk's classifier, its enrolment screen and `senim-kiosk enrol`.
//!
//! ```text
//! SENIM-ENROL:<code>;v=2;pin=sha256:<base64>;url=<https URL>
//! ```
//!
//! - `<code>`: the one-time code, 6–64 of `A-Z 0-9 -`, always first.
//! - `v=2`: the format's version (a decimal number); absent means version 1 (code and pin
//!   only). Written whenever the text carries a `url`.
//! - `pin=sha256:<base64>`: the SHA-256 of the call-centre's TLS public key (its certificate's
//!   SubjectPublicKeyInfo, DER, standard base64, 44 characters) that the kiosk pins from then
//!   on.
//! - `url=<URL>`: the call-centre's public address (`[server] public_url` or `enrol-code
//!   --url`): `https://`, or `http://` only to this machine (loopback); no `;`, no spaces, no
//!   user name or password.
//!
//! Fields after the code are `;name=value` in any order; a reader ignores a field it does not
//! know (of the shape `[a-z0-9-]+=…`), so a later field does not break this kiosk. Codes
//! without fields, or with a pin only (older call-centres), still read. The whole text after
//! `SENIM-ENROL:` is at most [`MAX_ENROL_PAYLOAD`] characters.

use base64::Engine;

use crate::ENROL_PREFIX;

/// The pin field's name and the only hash it names.
const PIN_FIELD: &str = "pin";
const PIN_SCHEME: &str = "sha256:";
/// The version field's name, and the version this code writes (with a `url`).
const VERSION_FIELD: &str = "v";
pub const ENROL_VERSION: u32 = 2;
/// The call-centre URL field's name.
const URL_FIELD: &str = "url";
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
    /// The call-centre's address (checked by [`check_url`]), when the text carries one
    /// (version 2).
    pub url: Option<String>,
}

impl std::fmt::Debug for EnrolCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolCode")
            .field("code", &format_args!("<{} chars>", self.code.len()))
            .field("pin", &self.pin)
            .field("url", &self.url)
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
    #[error("the enrolment code names its {0} twice")]
    Duplicate(&'static str),
    #[error("the version of an enrolment code (v=) is a whole number such as v=2")]
    Version,
    #[error(
        "the call-centre URL {url:?} is not usable: {reason}; give its public address, \
         e.g. https://callcentre.example.kz (plain http:// only for this machine, 127.0.0.1)"
    )]
    Url { url: String, reason: &'static str },
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
            EnrolCodeError::Duplicate(_) => "duplicate_field",
            EnrolCodeError::Version => "version",
            EnrolCodeError::Url { .. } => "url",
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

/// Checks a call-centre address an enrolment text may carry (also `[server] public_url`
/// and `enrol-code --url`): `https://HOST[:PORT][/PATH]`, or `http://` only to a loopback
/// host; no user name, password, query, fragment, `;` or spaces. Returns it as written.
pub fn check_url(url: &str) -> Result<url::Url, EnrolCodeError> {
    let bad = |reason: &'static str| EnrolCodeError::Url {
        url: url.chars().take(100).collect(),
        reason,
    };
    if url.is_empty() {
        return Err(bad("it is empty"));
    }
    if url.contains(';') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it holds a ';', a space or a control character"));
    }
    let parsed = url::Url::parse(url).map_err(|_| bad("it is not a URL"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("it names no host")),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("plain http:// is only allowed to this machine")),
        _ => return Err(bad("it is not https://")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("it carries a user name or password"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("it carries a ?query or #fragment"));
    }
    Ok(parsed)
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
        let mut url = None;
        let mut version = None;
        for field in parts {
            let (name, value) = field.split_once('=').ok_or(EnrolCodeError::Field)?;
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !name_ok || value.chars().any(char::is_control) {
                return Err(EnrolCodeError::Field);
            }
            match name {
                PIN_FIELD => {
                    if pin.is_some() {
                        return Err(EnrolCodeError::DuplicatePin);
                    }
                    pin = Some(value.parse::<SpkiPin>()?);
                }
                URL_FIELD => {
                    if url.is_some() {
                        return Err(EnrolCodeError::Duplicate("url"));
                    }
                    check_url(value)?;
                    url = Some(value.to_string());
                }
                VERSION_FIELD => {
                    if version.is_some() {
                        return Err(EnrolCodeError::Duplicate("version"));
                    }
                    let digits_only =
                        !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                    let v: u32 = value
                        .parse()
                        .ok()
                        .filter(|_| digits_only)
                        .ok_or(EnrolCodeError::Version)?;
                    version = Some(v);
                }
                // A field of a later version: ignored.
                _ => {}
            }
        }
        Ok(EnrolCode {
            code: code.to_string(),
            pin,
            url,
        })
    }

    /// The payload after the prefix: `<code>`, `<code>;pin=sha256:<base64>` (version 1), or
    /// with a URL `<code>;v=2[;pin=sha256:<base64>];url=<URL>`.
    pub fn payload(&self) -> String {
        let mut out = self.code.clone();
        if self.url.is_some() {
            out.push_str(&format!(";{VERSION_FIELD}={ENROL_VERSION}"));
        }
        if let Some(pin) = &self.pin {
            out.push_str(&format!(";{PIN_FIELD}={pin}"));
        }
        if let Some(url) = &self.url {
            out.push_str(&format!(";{URL_FIELD}={url}"));
        }
        out
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

    #[test]
    fn version_2_carries_the_call_centres_url_in_any_order() {
        let url = "https://cc.senim.example.kz:8443";
        let written = EnrolCode {
            code: "7Q2M-9XK3-RT5W-H8NB".into(),
            pin: Some(PIN.parse().unwrap()),
            url: Some(url.into()),
        };
        let text = written.to_string();
        assert_eq!(
            text,
            format!("SENIM-ENROL:7Q2M-9XK3-RT5W-H8NB;v=2;pin={PIN};url={url}")
        );
        assert_eq!(EnrolCode::parse(&text).unwrap(), written);
        // Fields in another order, and a field of a later version, read the same.
        let shuffled = format!("SENIM-ENROL:7Q2M-9XK3-RT5W-H8NB;url={url};x-site=5;pin={PIN};v=3");
        assert_eq!(EnrolCode::parse(&shuffled).unwrap(), written);
        // A version-1 text (no v, no url) still reads, with no URL.
        let old = EnrolCode::parse(&format!("SENIM-ENROL:7Q2M-9XK3-RT5W-H8NB;pin={PIN}")).unwrap();
        assert_eq!(old.url, None);
        // Plain http only to this machine.
        let local = EnrolCode::parse("SENIM-ENROL:ABCDEF;v=2;url=http://127.0.0.1:8080").unwrap();
        assert_eq!(local.url.as_deref(), Some("http://127.0.0.1:8080"));
    }

    #[test]
    fn a_bad_url_or_version_is_refused_with_its_reason() {
        let e = |t: &str| EnrolCode::parse(t).unwrap_err();
        let url_reason = |t: &str| match e(t) {
            EnrolCodeError::Url { reason, .. } => reason,
            other => panic!("{t}: {other:?}"),
        };
        assert!(url_reason("SENIM-ENROL:ABCDEF;url=http://cc.example.kz").contains("http://"));
        assert!(url_reason("SENIM-ENROL:ABCDEF;url=ftp://cc.example.kz").contains("https"));
        assert!(url_reason("SENIM-ENROL:ABCDEF;url=cc.example.kz").contains("URL"));
        assert!(url_reason("SENIM-ENROL:ABCDEF;url=").contains("empty"));
        assert!(
            url_reason("SENIM-ENROL:ABCDEF;url=https://a:b@cc.example.kz").contains("password")
        );
        assert!(url_reason("SENIM-ENROL:ABCDEF;url=https://cc.example.kz/?a=1").contains("query"));
        assert_eq!(
            e("SENIM-ENROL:ABCDEF;url=https://a.kz;url=https://b.kz"),
            EnrolCodeError::Duplicate("url")
        );
        assert_eq!(e("SENIM-ENROL:ABCDEF;v=two"), EnrolCodeError::Version);
        assert_eq!(e("SENIM-ENROL:ABCDEF;v=+2"), EnrolCodeError::Version);
        assert_eq!(
            e("SENIM-ENROL:ABCDEF;v=2;v=2"),
            EnrolCodeError::Duplicate("version")
        );
        // The message says how to fix it.
        let msg = e("SENIM-ENROL:ABCDEF;url=http://cc.example.kz").to_string();
        assert!(msg.contains("https://"), "{msg}");
        assert!(check_url("https://[::1]:8443").is_ok());
        assert!(check_url("http://localhost:8080/").is_ok());
        assert!(check_url("http://[::1]:8080/").is_ok());
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

        /// Every code, pin and URL the call-centre can write round-trips exactly, within the
        /// payload limit.
        #[test]
        fn written_codes_round_trip(
            code in arb_code(),
            hash in any::<[u8; 32]>(),
            pinned in any::<bool>(),
            url in proptest::option::of("https://[a-z][a-z0-9]{0,30}(\\.[a-z][a-z0-9]{0,30}){0,3}(:[1-9][0-9]{0,3})?(/[a-z0-9._-]{0,40}){0,3}"),
        ) {
            let c = EnrolCode { code, pin: pinned.then_some(SpkiPin(hash)), url };
            prop_assert!(c.payload().len() <= MAX_ENROL_PAYLOAD);
            let text = c.to_string();
            prop_assert_eq!(EnrolCode::parse(&text).unwrap(), c.clone());
            prop_assert_eq!(EnrolCode::parse_payload(&c.payload()).unwrap(), c);
        }
    }
}
