//! Identity data read at the kiosk: IIN and ID-card MRZ validation, and classification of whatever a scanner delivers.
//!
//! Pure code, no I/O. Everything here may hold personal data; every `Debug` impl masks it.

pub mod iin;
pub mod mrz;

use std::fmt;

pub use iin::{Iin, IinError};
pub use mrz::{Mrz, MrzError, MrzField, MrzFields, Sex};

/// Prefix of a technician badge.
pub const BADGE_PREFIX: &str = "SENIM-TECH:";
/// Prefix of an enrolment code.
pub const ENROL_PREFIX: &str = senim_protocol::ENROL_PREFIX;

/// Where a citizen's IIN was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A bare IIN (e.g. a barcode printed on the card's back).
    Iin,
    /// The ID card's machine-readable zone.
    Mrz,
}

/// A valid identity read by a scanner.
#[derive(Clone, PartialEq, Eq)]
pub enum Identity {
    /// A citizen, identified by IIN.
    Citizen {
        /// The validated IIN.
        iin: Iin,
        /// How it was read.
        source: Source,
    },
    /// A technician badge (payload after `SENIM-TECH:`).
    Badge(String),
    /// An enrolment code (payload after `SENIM-ENROL:`).
    Enrolment(String),
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Citizen { iin, source } => f
                .debug_struct("Citizen")
                .field("iin", iin)
                .field("source", source)
                .finish(),
            Identity::Badge(p) => write!(f, "Badge(<{} chars>)", p.len()),
            Identity::Enrolment(p) => write!(f, "Enrolment(<{} chars>)", p.len()),
        }
    }
}

/// Why a scan was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Looked like an IIN but is not a valid one.
    #[error("{0}")]
    Iin(IinError),
    /// Looked like an ID-card MRZ but is not a valid one.
    #[error("{0}")]
    Mrz(MrzError),
    /// `SENIM-TECH:` followed by something that is not 8-64 chars of `A-Za-z0-9_-`.
    #[error("a technician badge is SENIM-TECH: followed by 8-64 characters A-Z, a-z, 0-9, _ or -; this badge is damaged or not ours")]
    BadBadge,
    /// `SENIM-ENROL:` followed by something that is not 6-64 chars of `A-Z0-9-` (and an
    /// optional well-formed `;pin=sha256:…`).
    #[error("an enrolment code is SENIM-ENROL: followed by 6-64 characters A-Z, 0-9 or -; this code is damaged or not ours")]
    BadEnrolment,
    /// Not an IIN, MRZ, badge or enrolment code.
    #[error("this code is not an IIN, an ID card, a technician badge or an enrolment code")]
    Unknown,
    /// The scanner delivered bytes that could not be made into text (not UTF-8, overlong).
    #[error("the scanner delivered something unreadable (not text, or too long)")]
    Unreadable,
}

impl Rejection {
    /// Stable snake_case code for logs, metrics and the technician CLI.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Iin(e) => match e {
                IinError::WrongLength { .. } => "wrong_length",
                IinError::NotDigits => "not_digits",
                IinError::CenturyDigit { .. } => "century_digit",
                IinError::ImpossibleDate => "impossible_date",
                IinError::CheckDigitUndefined | IinError::CheckDigitMismatch => "check_digit",
            },
            Rejection::Mrz(e) => match e {
                MrzError::Shape { .. } => "mrz_shape",
                MrzError::Character { .. } => "mrz_character",
                MrzError::CheckDigit { field } => match field {
                    MrzField::DocumentNumber => "mrz_check_digit_document_number",
                    MrzField::BirthDate => "mrz_check_digit_birth_date",
                    MrzField::ExpiryDate => "mrz_check_digit_expiry_date",
                    MrzField::Composite => "mrz_check_digit_composite",
                },
                MrzError::Iin(_) | MrzError::IinMismatch => "mrz_iin",
            },
            Rejection::BadBadge => "bad_badge",
            Rejection::BadEnrolment => "bad_enrolment",
            Rejection::Unknown => "unknown",
            Rejection::Unreadable => "unreadable",
        }
    }
}

/// What a scan looked like, whether or not it was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only digits (or 10-14 chars with at least 10 digits).
    Iin,
    /// ID-card MRZ.
    Mrz,
    /// `SENIM-TECH:` prefix.
    Badge,
    /// `SENIM-ENROL:` prefix.
    Enrolment,
    /// Anything else.
    Unknown,
}

impl Kind {
    /// Stable lowercase name: `iin`, `mrz`, `badge`, `enrolment`, `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Iin => "iin",
            Kind::Mrz => "mrz",
            Kind::Badge => "badge",
            Kind::Enrolment => "enrolment",
            Kind::Unknown => "unknown",
        }
    }
}

/// Result of [`classify`]: the identity or why it was rejected, plus what it looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The identity, or the reason for rejection.
    pub result: Result<Identity, Rejection>,
    /// What the text looked like, even if invalid.
    pub kind: Kind,
}

impl Classified {
    fn new(kind: Kind, result: Result<Identity, Rejection>) -> Classified {
        Classified { result, kind }
    }
}

fn payload_ok(p: &str, len: std::ops::RangeInclusive<usize>, ok: impl Fn(char) -> bool) -> bool {
    len.contains(&p.len()) && p.chars().all(ok)
}

/// Whether `t` (already trimmed) looks like an ID-card MRZ: starts with `I`, `A` or `C`,
/// contains a filler `<`, no whitespace inside lines, and is either one line of 85-95
/// characters or 1-3 lines of 28-32 characters. Partial MRZs (1-2 lines) count, so they
/// are rejected as `mrz_shape` rather than `unknown`.
fn looks_like_mrz(t: &str) -> bool {
    if !t.starts_with(['I', 'A', 'C']) || !t.contains('<') {
        return false;
    }
    let lines: Vec<&str> = t
        .split("\r\n")
        .flat_map(|p| p.split(['\r', '\n']))
        .collect();
    if lines
        .iter()
        .any(|l| l.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return false;
    }
    let len = |l: &&str| l.chars().count();
    match lines.as_slice() {
        [one] => (85..=95).contains(&len(one)) || (28..=32).contains(&len(one)),
        _ => lines.len() <= 3 && lines.iter().all(|l| (28..=32).contains(&len(l))),
    }
}

/// Classifies whatever a scanner delivered (surrounding whitespace is ignored).
///
/// - `SENIM-TECH:` + 8-64 of `[A-Za-z0-9_-]` → badge, else `bad_badge`;
/// - `SENIM-ENROL:` + 6-64 of `[A-Z0-9-]`, optionally `;pin=sha256:<base64>` (see
///   `senim_protocol::enrol`) → enrolment (the whole payload), else `bad_enrolment`;
/// - an MRZ-looking text (see above) → parsed as a Kazakh ID-card MRZ;
/// - 1-20 ASCII digits → parsed as an IIN;
/// - 10-14 characters with at least 10 ASCII digits and some non-digits → IIN `not_digits`;
/// - anything else → `unknown`.
pub fn classify(text: &str) -> Classified {
    let t = text.trim();
    if let Some(p) = t.strip_prefix(BADGE_PREFIX) {
        let ok = payload_ok(p, 8..=64, |c| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        });
        return Classified::new(
            Kind::Badge,
            if ok {
                Ok(Identity::Badge(p.to_owned()))
            } else {
                Err(Rejection::BadBadge)
            },
        );
    }
    if let Some(p) = t.strip_prefix(ENROL_PREFIX) {
        // The code and any fields after it (the call-centre's pin): `protocol::enrol` reads them.
        let ok = senim_protocol::enrol::EnrolCode::parse_payload(p).is_ok();
        return Classified::new(
            Kind::Enrolment,
            if ok {
                Ok(Identity::Enrolment(p.to_owned()))
            } else {
                Err(Rejection::BadEnrolment)
            },
        );
    }
    if looks_like_mrz(t) {
        let result = Mrz::parse(t)
            .map(|m| Identity::Citizen {
                iin: m.iin,
                source: Source::Mrz,
            })
            .map_err(Rejection::Mrz);
        return Classified::new(Kind::Mrz, result);
    }
    if (1..=20).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
        let result = Iin::parse(t)
            .map(|iin| Identity::Citizen {
                iin,
                source: Source::Iin,
            })
            .map_err(Rejection::Iin);
        return Classified::new(Kind::Iin, result);
    }
    let chars = t.chars().count();
    if (10..=14).contains(&chars) && t.chars().filter(char::is_ascii_digit).count() >= 10 {
        return Classified::new(Kind::Iin, Err(Rejection::Iin(IinError::NotDigits)));
    }
    Classified::new(Kind::Unknown, Err(Rejection::Unknown))
}

#[cfg(test)]
mod tests {
    use super::mrz::test_support::Td1;
    use super::*;
    use proptest::prelude::*;

    fn code(t: &str) -> (&'static str, Option<&'static str>) {
        let c = classify(t);
        (c.kind.as_str(), c.result.err().map(|r| r.code()))
    }

    #[test]
    fn iins() {
        let c = classify("  880101300010\r\n");
        assert_eq!(c.kind, Kind::Iin);
        match c.result {
            Ok(Identity::Citizen { iin, source }) => {
                assert_eq!(iin.as_str(), "880101300010");
                assert_eq!(source, Source::Iin);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(code("88010130001"), ("iin", Some("wrong_length")));
        assert_eq!(code("1"), ("iin", Some("wrong_length")));
        assert_eq!(code("12345678901234567890"), ("iin", Some("wrong_length")));
        assert_eq!(code("123456789012345678901"), ("unknown", Some("unknown")));
        assert_eq!(code("880101-300010"), ("iin", Some("not_digits")));
        assert_eq!(code("88010130001O"), ("iin", Some("not_digits")));
        assert_eq!(code("880101700010"), ("iin", Some("century_digit")));
        assert_eq!(code("880230300010"), ("iin", Some("impossible_date")));
        assert_eq!(code("880101300011"), ("iin", Some("check_digit")));
        assert_eq!(code("8801 0130 0010"), ("iin", Some("not_digits")));
        assert_eq!(code("8801 0130 0010 99"), ("unknown", Some("unknown")));
        assert_eq!(code("hello"), ("unknown", Some("unknown")));
        assert_eq!(code(""), ("unknown", Some("unknown")));
        assert_eq!(code("https://egov.kz/x"), ("unknown", Some("unknown")));
    }

    #[test]
    fn badges_and_enrolment() {
        let c = classify("SENIM-TECH:tech_01-AB");
        assert_eq!(c.kind, Kind::Badge);
        assert_eq!(c.result, Ok(Identity::Badge("tech_01-AB".into())));
        assert_eq!(code("SENIM-TECH:short"), ("badge", Some("bad_badge")));
        assert_eq!(code("SENIM-TECH:has space1"), ("badge", Some("bad_badge")));
        let long = format!("SENIM-TECH:{}", "a".repeat(65));
        assert_eq!(code(&long), ("badge", Some("bad_badge")));
        let c = classify("SENIM-ENROL:AB12-CD");
        assert_eq!(c.result, Ok(Identity::Enrolment("AB12-CD".into())));
        let pinned = "AB12-CD;pin=sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let c = classify(&format!("SENIM-ENROL:{pinned}"));
        assert_eq!(c.result, Ok(Identity::Enrolment(pinned.into())));
        assert_eq!(
            code("SENIM-ENROL:AB12-CD;pin=sha256:short"),
            ("enrolment", Some("bad_enrolment"))
        );
        assert_eq!(
            code("SENIM-ENROL:ab12-cd"),
            ("enrolment", Some("bad_enrolment"))
        );
        assert_eq!(
            code("SENIM-ENROL:AB1"),
            ("enrolment", Some("bad_enrolment"))
        );
        assert_eq!(
            format!("{:?}", classify("SENIM-TECH:secret_badge_1")),
            "Classified { result: Ok(Badge(<14 chars>)), kind: Badge }"
        );
    }

    #[test]
    fn mrz() {
        let td1 = Td1::kazakh("880101300010");
        for sep in ["\r\n", "\n", "\r", ""] {
            let c = classify(&td1.text(sep));
            assert_eq!(c.kind, Kind::Mrz);
            assert_eq!(
                c.result,
                Ok(Identity::Citizen {
                    iin: Iin::parse("880101300010").unwrap(),
                    source: Source::Mrz
                })
            );
        }
        let l = td1.lines();
        assert_eq!(code(&l[0]), ("mrz", Some("mrz_shape")));
        assert_eq!(code(&l[..2].join("\n")), ("mrz", Some("mrz_shape")));
        let mut bad = l.clone();
        bad[1].replace_range(29..30, if &l[1][29..30] == "0" { "1" } else { "0" });
        assert_eq!(
            code(&bad.join("\n")),
            ("mrz", Some("mrz_check_digit_composite"))
        );
        let mut bad = l.clone();
        bad[2].replace_range(0..1, "z");
        assert_eq!(code(&bad.join("\n")), ("mrz", Some("mrz_character")));
        let no_iin = Td1 {
            optional1: String::new(),
            ..td1.clone()
        };
        assert_eq!(code(&no_iin.text("\n")), ("mrz", Some("mrz_iin")));
        let mismatch = Td1 {
            birth: "880102".into(),
            ..td1
        };
        assert_eq!(code(&mismatch.text("\n")), ("mrz", Some("mrz_iin")));
        assert_eq!(
            code("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"),
            ("mrz", Some("mrz_iin"))
        );
        let dbg = format!("{:?}", classify(&Td1::kazakh("880101300010").text("\n")));
        assert!(
            !dbg.contains("0101300") && !dbg.contains("ZHANGELDIN"),
            "{dbg}"
        );
    }

    #[test]
    fn rejection_messages_are_specific() {
        assert_eq!(
            Rejection::Iin(IinError::WrongLength { found: 11 }).to_string(),
            "an IIN has 12 digits, this has 11"
        );
        let m = Rejection::Mrz(MrzError::CheckDigit {
            field: MrzField::BirthDate,
        })
        .to_string();
        assert!(m.contains("birth date"), "{m}");
    }

    fn arb_iin() -> impl Strategy<Value = String> {
        iin::test_support::arb_valid_iin().prop_map(|(s, _)| s)
    }

    proptest! {
        #[test]
        fn never_panics_on_any_chars(v in prop::collection::vec(any::<char>(), 0..200)) {
            let s: String = v.into_iter().collect();
            let c = classify(&s);
            let _ = c.kind.as_str();
            let _ = c.result.map_err(|r| r.code());
        }

        #[test]
        fn never_panics_on_near_misses(
            s in "[IAC][A-Z0-9<\r\n]{0,100}|[0-9 \\-]{0,24}|SENIM-(TECH|ENROL):\\PC{0,70}|\\s*[0-9]{12}\\s*"
        ) {
            let c = classify(&s);
            let _ = c.result.map_err(|r| r.code());
        }

        #[test]
        fn valid_iins_classify_as_citizens(s in arb_iin()) {
            let c = classify(&s);
            prop_assert_eq!(c.kind, Kind::Iin);
            let ok = matches!(c.result, Ok(Identity::Citizen { source: Source::Iin, .. }));
            prop_assert!(ok);
        }

        #[test]
        fn valid_iins_in_mrz_classify_as_citizens(s in arb_iin()) {
            let c = classify(&Td1::kazakh(&s).text("\r\n"));
            prop_assert_eq!(c.kind, Kind::Mrz);
            let ok = matches!(c.result, Ok(Identity::Citizen { source: Source::Mrz, .. }));
            prop_assert!(ok);
        }
    }
}
