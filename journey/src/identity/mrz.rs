//! ICAO 9303 TD1 machine-readable zone (ID cards): shape, alphabet and check-digit validation, field parsing and IIN extraction.
//!
//! Nothing is "corrected": a character outside `A-Z0-9<` is an error, not a guess.
//! Kazakh ID cards carry the IIN as the first 12 characters of the line-1 optional data.
//!
//! Over 600 lines only with its tests: the parser is about 365, then the TD1 builder
//! (`test_support`) and the specimen and property tests that use it.

use std::fmt;

use chrono::NaiveDate;

use super::iin::{Iin, IinError};

/// Characters per TD1 line.
pub const TD1_LINE_LEN: usize = 30;
/// Lines in a TD1 MRZ.
pub const TD1_LINES: usize = 3;

/// A field protected by an MRZ check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzField {
    /// Line 1 document number (positions 6-14, possibly continued in optional data).
    DocumentNumber,
    /// Line 2 birth date.
    BirthDate,
    /// Line 2 expiry date.
    ExpiryDate,
    /// Line 2 position 30, over both lines' data.
    Composite,
}

impl MrzField {
    /// Human name of the field.
    pub fn as_str(&self) -> &'static str {
        match self {
            MrzField::DocumentNumber => "document number",
            MrzField::BirthDate => "birth date",
            MrzField::ExpiryDate => "expiry date",
            MrzField::Composite => "composite",
        }
    }
}

impl fmt::Display for MrzField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a valid ID-card MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// Not 3 lines of 30 characters (or one line of 90).
    #[error("an ID-card MRZ has 3 lines of 30 characters (or 90 characters in one line), this has {lines} line(s) and {chars} characters; hold the card still and rescan")]
    Shape {
        /// Number of lines found.
        lines: usize,
        /// Total characters found, line breaks excluded.
        chars: usize,
    },
    /// A character outside `A-Z`, `0-9`, `<` (1-based position).
    #[error("MRZ line {line}, column {column} is not one of A-Z, 0-9, <; the scan is damaged, rescan the card")]
    Character {
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
    },
    /// A check digit does not match its field.
    #[error("the MRZ {field} check digit does not match; the card was misread, rescan it")]
    CheckDigit {
        /// The field whose check digit failed.
        field: MrzField,
    },
    /// The IIN in the line-1 optional data is missing or invalid.
    #[error("the MRZ does not carry a valid IIN in line 1 positions 16-27: {0}")]
    Iin(IinError),
    /// The MRZ birth date differs from the date in the IIN.
    #[error("the MRZ birth date does not match the birth date in the IIN; the card is damaged or not a Kazakh ID card")]
    IinMismatch,
}

/// Sex field of the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// `F`
    Female,
    /// `M`
    Male,
    /// `<`, `X` or anything else.
    Unspecified,
}

/// Check-digit-verified TD1 fields, as printed (fillers removed), without IIN extraction.
/// `Debug` hides document number, dates, optional data and names.
#[derive(Clone, PartialEq, Eq)]
pub struct MrzFields {
    /// Document code, e.g. `I` or `ID`.
    pub document_code: String,
    /// Issuing state, e.g. `KAZ`.
    pub issuing_state: String,
    /// Document number, long numbers joined.
    pub document_number: String,
    /// Line-1 optional data after the document number (fillers kept, 15 chars or fewer).
    pub optional_data_1: String,
    /// Birth date as printed, `YYMMDD`.
    pub birth_date_raw: String,
    /// Sex.
    pub sex: Sex,
    /// Expiry date as printed, `YYMMDD`.
    pub expiry_date_raw: String,
    /// Nationality, e.g. `KAZ`.
    pub nationality: String,
    /// Line-2 optional data (fillers kept, 11 chars).
    pub optional_data_2: String,
    /// Primary identifier (surname), `<` replaced by spaces.
    pub surname: String,
    /// Secondary identifier (given names), `<` replaced by spaces.
    pub given_names: String,
    long_document_number: bool,
}

/// A validated Kazakh ID-card MRZ. `Debug` shows no names, IIN digits, dates or document number.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    /// Document code, e.g. `I` or `ID`.
    pub document_code: String,
    /// Issuing state, e.g. `KAZ`.
    pub issuing_state: String,
    /// Document number.
    pub document_number: String,
    /// Birth date (century taken from the IIN).
    pub birth_date: NaiveDate,
    /// Expiry date (20YY), `None` when the printed value is not a calendar date.
    pub expiry_date: Option<NaiveDate>,
    /// Sex.
    pub sex: Sex,
    /// Nationality, e.g. `KAZ`.
    pub nationality: String,
    /// IIN from the line-1 optional data.
    pub iin: Iin,
    /// Surname.
    pub surname: String,
    /// Given names, space separated.
    pub given_names: String,
}

impl fmt::Debug for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("document_code", &self.document_code)
            .field("issuing_state", &self.issuing_state)
            .field("nationality", &self.nationality)
            .field("iin", &self.iin)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MrzFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MrzFields")
            .field("document_code", &self.document_code)
            .field("issuing_state", &self.issuing_state)
            .field("nationality", &self.nationality)
            .finish_non_exhaustive()
    }
}

/// Whether `c` belongs to the MRZ alphabet `A-Z0-9<`.
pub fn is_mrz_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'
}

fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// ICAO 9303 check digit (weights 7,3,1; `<` = 0, A-Z = 10-35) of `field`,
/// or `None` if it holds a character outside the MRZ alphabet.
pub fn check_digit(field: &str) -> Option<u8> {
    check_digit_bytes(field.as_bytes())
}

fn check_digit_bytes(field: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (&c, &w) in field.iter().zip(WEIGHTS.iter().cycle()) {
        sum += char_value(c)? * w;
    }
    u8::try_from(sum % 10).ok()
}

fn verify(field: &[u8], check: u8, which: MrzField) -> Result<(), MrzError> {
    let ok = if check == b'<' {
        // ICAO allows a filler check digit for an all-filler (absent) field.
        field.iter().all(|&c| c == b'<')
    } else {
        check.is_ascii_digit() && check_digit_bytes(field) == Some(check - b'0')
    };
    if ok {
        Ok(())
    } else {
        Err(MrzError::CheckDigit { field: which })
    }
}

/// Splits `text` (3 lines separated by CR, LF or CRLF, or one line of 90) into 3 lines of
/// 30 MRZ-alphabet bytes.
fn split_lines(text: &str) -> Result<[[u8; TD1_LINE_LEN]; TD1_LINES], MrzError> {
    let text = text.trim();
    let lines: Vec<&str> = text
        .split("\r\n")
        .flat_map(|part| part.split(['\r', '\n']))
        .collect();
    let chars: usize = lines.iter().map(|l| l.chars().count()).sum();
    let shape = MrzError::Shape {
        lines: lines.len(),
        chars,
    };
    let pieces: Vec<String> = match lines.as_slice() {
        [one] if chars == TD1_LINE_LEN * TD1_LINES => {
            let all: Vec<char> = one.chars().collect();
            all.chunks(TD1_LINE_LEN)
                .map(|c| c.iter().collect())
                .collect()
        }
        [a, b, c] if [a, b, c].iter().all(|l| l.chars().count() == TD1_LINE_LEN) => {
            vec![a.to_string(), b.to_string(), c.to_string()]
        }
        _ => return Err(shape),
    };
    let mut out = [[b'<'; TD1_LINE_LEN]; TD1_LINES];
    for (li, (piece, slot)) in pieces.iter().zip(out.iter_mut()).enumerate() {
        for (ci, c) in piece.chars().enumerate() {
            if !is_mrz_char(c) {
                return Err(MrzError::Character {
                    line: li + 1,
                    column: ci + 1,
                });
            }
        }
        *slot = piece.as_bytes().try_into().map_err(|_| shape)?;
    }
    Ok(out)
}

fn ascii(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn unfill(b: &[u8]) -> String {
    ascii(b).trim_end_matches('<').to_owned()
}

fn words(s: &str) -> String {
    s.split('<')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl MrzFields {
    /// Parses and check-digit-verifies a TD1 MRZ, without looking for an IIN.
    pub fn parse(text: &str) -> Result<MrzFields, MrzError> {
        let [l1, l2, l3] = split_lines(text)?;

        let long_document_number = l1[14] == b'<';
        let (document_number, optional_data_1) = if long_document_number {
            // Long number: 9 chars in 5-13, the rest in optional data up to its check digit.
            let opt = &l1[15..];
            let end = opt.iter().position(|&c| c == b'<').unwrap_or(opt.len());
            let Some(check_at) = end.checked_sub(1) else {
                return Err(MrzError::CheckDigit {
                    field: MrzField::DocumentNumber,
                });
            };
            let mut number = l1[5..14].to_vec();
            number.extend_from_slice(&opt[..check_at]);
            verify(&number, opt[check_at], MrzField::DocumentNumber)?;
            (ascii(&number), ascii(&opt[end..]))
        } else {
            verify(&l1[5..14], l1[14], MrzField::DocumentNumber)?;
            (unfill(&l1[5..14]), ascii(&l1[15..]))
        };
        verify(&l2[0..6], l2[6], MrzField::BirthDate)?;
        verify(&l2[8..14], l2[14], MrzField::ExpiryDate)?;
        let mut composite = Vec::with_capacity(25 + 7 + 7 + 11);
        composite.extend_from_slice(&l1[5..30]);
        composite.extend_from_slice(&l2[0..7]);
        composite.extend_from_slice(&l2[8..15]);
        composite.extend_from_slice(&l2[18..29]);
        verify(&composite, l2[29], MrzField::Composite)?;

        let name = ascii(&l3);
        let name = name.trim_end_matches('<');
        let (surname, given) = name.split_once("<<").unwrap_or((name, ""));

        Ok(MrzFields {
            document_code: unfill(&l1[0..2]),
            issuing_state: unfill(&l1[2..5]),
            document_number,
            optional_data_1,
            birth_date_raw: ascii(&l2[0..6]),
            sex: match l2[7] {
                b'F' => Sex::Female,
                b'M' => Sex::Male,
                _ => Sex::Unspecified,
            },
            expiry_date_raw: ascii(&l2[8..14]),
            nationality: unfill(&l2[15..18]),
            optional_data_2: ascii(&l2[18..29]),
            surname: words(surname),
            given_names: words(given),
            long_document_number,
        })
    }

    /// The 12 characters where the IIN is expected (line 1 positions 16-27 for a normal
    /// document number), fillers trimmed.
    fn iin_area(&self) -> String {
        let opt = if self.long_document_number {
            self.optional_data_1.trim_start_matches('<')
        } else {
            self.optional_data_1.as_str()
        };
        opt.chars()
            .take(12)
            .collect::<String>()
            .trim_end_matches('<')
            .to_owned()
    }
}

fn yymmdd(raw: &str, century: i32) -> Option<NaiveDate> {
    let n = |r: std::ops::Range<usize>| raw.get(r)?.parse::<u32>().ok();
    let yy = i32::try_from(n(0..2)?).ok()?;
    NaiveDate::from_ymd_opt(century + yy, n(2..4)?, n(4..6)?)
}

impl Mrz {
    /// Parses a Kazakh ID-card MRZ: 3 lines of 30 (CR, LF or CRLF separated) or one line
    /// of 90. Verifies all check digits, extracts the IIN and checks it against the birth date.
    pub fn parse(text: &str) -> Result<Mrz, MrzError> {
        let fields = MrzFields::parse(text)?;
        let iin = Iin::parse(&fields.iin_area()).map_err(MrzError::Iin)?;
        if iin.as_str().get(..6) != Some(fields.birth_date_raw.as_str()) {
            return Err(MrzError::IinMismatch);
        }
        Ok(Mrz {
            birth_date: iin.birth_date(),
            expiry_date: yymmdd(&fields.expiry_date_raw, 2000),
            iin,
            document_code: fields.document_code,
            issuing_state: fields.issuing_state,
            document_number: fields.document_number,
            sex: fields.sex,
            nationality: fields.nationality,
            surname: fields.surname,
            given_names: fields.given_names,
        })
    }
}

/// Builds valid TD1 MRZs for tests (here and, with the `test-support` feature, the kiosk's
/// scanner tests).
#[cfg(any(test, feature = "test-support"))]
pub mod test_support {
    /// Description of a TD1 MRZ to build; check digits are computed.
    #[derive(Clone)]
    pub struct Td1 {
        pub doc_code: String,
        pub state: String,
        pub doc_number: String,
        pub optional1: String,
        pub birth: String,
        pub sex: char,
        pub expiry: String,
        pub nationality: String,
        pub optional2: String,
        pub surname: String,
        pub given: String,
    }

    impl Td1 {
        /// A Kazakh ID card with this IIN (birth date taken from the IIN).
        pub fn kazakh(iin: &str) -> Td1 {
            Td1 {
                doc_code: "ID".into(),
                state: "KAZ".into(),
                doc_number: "041234567".into(),
                optional1: iin.into(),
                birth: iin.get(..6).unwrap_or("").into(),
                sex: 'M',
                expiry: "340101".into(),
                nationality: "KAZ".into(),
                optional2: String::new(),
                surname: "ZHANGELDIN".into(),
                given: "ARMAN<SERIKULY".into(),
            }
        }

        /// The three lines, each padded with `<` to 30.
        pub fn lines(&self) -> [String; 3] {
            fn pad(s: &str, n: usize) -> String {
                format!("{s:<<n$}")
            }
            fn cd(s: &str) -> char {
                char::from(b'0' + super::check_digit(s).unwrap())
            }
            let number = pad(&self.doc_number, 9);
            let l1 = if number.len() > 9 {
                let (head, tail) = number.split_at(9);
                let opt = format!("{tail}{}{}", cd(&number), self.optional1);
                format!(
                    "{}{}{head}<{}",
                    pad(&self.doc_code, 2),
                    self.state,
                    pad(&opt, 15)
                )
            } else {
                format!(
                    "{}{}{number}{}{}",
                    pad(&self.doc_code, 2),
                    self.state,
                    cd(&number),
                    pad(&self.optional1, 15)
                )
            };
            let l2_head = format!(
                "{b}{}{}{e}{}{}{}",
                cd(&self.birth),
                self.sex,
                cd(&self.expiry),
                pad(&self.nationality, 3),
                pad(&self.optional2, 11),
                b = self.birth,
                e = self.expiry,
            );
            let composite = format!(
                "{}{}{}{}",
                &l1[5..30],
                &l2_head[0..7],
                &l2_head[8..15],
                &l2_head[18..29]
            );
            let l2 = format!("{l2_head}{}", cd(&composite));
            let l3 = pad(&format!("{}<<{}", self.surname, self.given), 30);
            assert_eq!((l1.len(), l2.len(), l3.len()), (30, 30, 30));
            [l1, l2, l3]
        }

        pub fn text(&self, sep: &str) -> String {
            self.lines().join(sep)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::Td1;
    use super::*;
    use proptest::prelude::*;

    const ICAO: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];

    #[test]
    fn icao_specimen_check_digits() {
        assert_eq!(check_digit("D23145890"), Some(7));
        assert_eq!(check_digit("740812"), Some(2));
        assert_eq!(check_digit("120415"), Some(9));
        assert_eq!(check_digit("abc"), None);
    }

    #[test]
    fn icao_specimen_fields() {
        for sep in ["\n", "\r\n", "\r", ""] {
            let f = MrzFields::parse(&ICAO.join(sep)).unwrap();
            assert_eq!(f.document_code, "I");
            assert_eq!(f.issuing_state, "UTO");
            assert_eq!(f.document_number, "D23145890");
            assert_eq!(f.birth_date_raw, "740812");
            assert_eq!(f.sex, Sex::Female);
            assert_eq!(f.expiry_date_raw, "120415");
            assert_eq!(f.nationality, "UTO");
            assert_eq!(f.surname, "ERIKSSON");
            assert_eq!(f.given_names, "ANNA MARIA");
        }
        // The specimen carries no IIN.
        assert_eq!(
            Mrz::parse(&ICAO.join("\n")),
            Err(MrzError::Iin(IinError::WrongLength { found: 0 }))
        );
    }

    #[test]
    fn builder_matches_icao_specimen() {
        let spec = Td1 {
            doc_code: "I".into(),
            state: "UTO".into(),
            doc_number: "D23145890".into(),
            optional1: String::new(),
            birth: "740812".into(),
            sex: 'F',
            expiry: "120415".into(),
            nationality: "UTO".into(),
            optional2: String::new(),
            surname: "ERIKSSON".into(),
            given: "ANNA<MARIA".into(),
        };
        assert_eq!(spec.lines(), ICAO.map(String::from));
    }

    #[test]
    fn kazakh_card() {
        let td1 = Td1::kazakh("880101300010");
        let m = Mrz::parse(&td1.text("\r\n")).unwrap();
        assert_eq!(m.iin.as_str(), "880101300010");
        assert_eq!(m.birth_date, NaiveDate::from_ymd_opt(1988, 1, 1).unwrap());
        assert_eq!(m.expiry_date, NaiveDate::from_ymd_opt(2034, 1, 1));
        assert_eq!(m.document_code, "ID");
        assert_eq!(m.issuing_state, "KAZ");
        assert_eq!(m.document_number, "041234567");
        assert_eq!(m.sex, Sex::Male);
        assert_eq!(m.surname, "ZHANGELDIN");
        assert_eq!(m.given_names, "ARMAN SERIKULY");
        let dbg = format!("{m:?} {:?}", MrzFields::parse(&td1.text("")).unwrap());
        for secret in [
            "880101",
            "0101300",
            "ZHANGELDIN",
            "ARMAN",
            "041234567",
            "1988",
            "340101",
        ] {
            assert!(!dbg.contains(secret), "{dbg} leaks {secret}");
        }
    }

    #[test]
    fn long_document_number() {
        let mut td1 = Td1::kazakh("880101300010");
        td1.doc_number = "AB12345678".into();
        td1.optional1 = "<880101300010".into();
        let lines = td1.lines();
        assert_eq!(&lines[0][14..15], "<");
        let m = Mrz::parse(&td1.text("\n")).unwrap();
        assert_eq!(m.document_number, "AB12345678");
        assert_eq!(m.iin.as_str(), "880101300010");
        // Corrupt the long number's check digit (after the one continued character).
        let mut bad = lines.clone();
        let new = if &bad[0][16..17] == "0" { "1" } else { "0" };
        bad[0].replace_range(16..17, new);
        assert_eq!(
            MrzFields::parse(&bad.join("\n")),
            Err(MrzError::CheckDigit {
                field: MrzField::DocumentNumber
            })
        );
        // A 13-character number leaves no room for an IIN.
        td1.doc_number = "AB12345678901".into();
        td1.optional1 = String::new();
        let f = MrzFields::parse(&td1.text("\n")).unwrap();
        assert_eq!(f.document_number, "AB12345678901");
        assert_eq!(
            Mrz::parse(&td1.text("\n")),
            Err(MrzError::Iin(IinError::WrongLength { found: 0 }))
        );
    }

    #[test]
    fn shape_errors() {
        let l = Td1::kazakh("880101300010").lines();
        assert_eq!(
            Mrz::parse(&l[..2].join("\n")),
            Err(MrzError::Shape {
                lines: 2,
                chars: 60
            })
        );
        assert_eq!(
            Mrz::parse(&l[0]),
            Err(MrzError::Shape {
                lines: 1,
                chars: 30
            })
        );
        assert_eq!(
            Mrz::parse(&format!("{}\n{}\n{}<", l[0], l[1], l[2])),
            Err(MrzError::Shape {
                lines: 3,
                chars: 91
            })
        );
        assert_eq!(Mrz::parse(""), Err(MrzError::Shape { lines: 1, chars: 0 }));
    }

    #[test]
    fn no_ocr_correction() {
        let mut l = Td1::kazakh("880101300010").lines();
        // Letter O instead of digit 0 inside the IIN area: in-alphabet, caught by the composite.
        l[0].replace_range(16..17, "O");
        assert!(matches!(
            Mrz::parse(&l.join("\n")),
            Err(MrzError::CheckDigit { .. })
        ));
        // Lowercase is outside the alphabet.
        let mut l = Td1::kazakh("880101300010").lines();
        l[2].replace_range(4..5, "n");
        assert_eq!(
            Mrz::parse(&l.join("\n")),
            Err(MrzError::Character { line: 3, column: 5 })
        );
        let mut l = Td1::kazakh("880101300010").lines();
        l[1].replace_range(29..30, " ");
        assert_eq!(
            Mrz::parse(&l.join("\n")),
            Err(MrzError::Character {
                line: 2,
                column: 30
            })
        );
    }

    #[test]
    fn check_digit_fields() {
        let base = Td1::kazakh("880101300010").lines();
        let cases = [
            (0, 14, MrzField::DocumentNumber),
            (1, 6, MrzField::BirthDate),
            (1, 14, MrzField::ExpiryDate),
            (1, 29, MrzField::Composite),
        ];
        for (line, col, field) in cases {
            let mut l = base.clone();
            let old = l[line].as_bytes()[col];
            let new = if old == b'9' { "0" } else { "9" };
            l[line].replace_range(col..col + 1, new);
            assert_eq!(
                Mrz::parse(&l.join("\n")),
                Err(MrzError::CheckDigit { field }),
                "{field}"
            );
        }
        assert_eq!(MrzField::Composite.to_string(), "composite");
        assert_eq!(MrzField::DocumentNumber.to_string(), "document number");
    }

    #[test]
    fn iin_errors() {
        let mut td1 = Td1::kazakh("880101300011");
        assert_eq!(
            Mrz::parse(&td1.text("\n")),
            Err(MrzError::Iin(IinError::CheckDigitMismatch))
        );
        td1.optional1 = String::new();
        assert_eq!(
            Mrz::parse(&td1.text("\n")),
            Err(MrzError::Iin(IinError::WrongLength { found: 0 }))
        );
        let mut td1 = Td1::kazakh("880101300010");
        td1.birth = "880102".into();
        assert_eq!(Mrz::parse(&td1.text("\n")), Err(MrzError::IinMismatch));
    }

    proptest! {
        #[test]
        fn built_mrz_round_trips(
            num in "[A-Z0-9]{1,9}",
            sur in "[A-Z]{1,12}",
            given in "[A-Z]{1,8}",
            opt2 in "[A-Z0-9<]{0,11}",
            sex in prop::sample::select(vec!['M', 'F', '<']),
        ) {
            let mut td1 = Td1::kazakh("900502400122");
            td1.doc_number = num.clone();
            td1.surname = sur.clone();
            td1.given = given.clone();
            td1.optional2 = opt2;
            td1.sex = sex;
            let m = Mrz::parse(&td1.text("\n")).unwrap();
            prop_assert_eq!(m.document_number, num);
            prop_assert_eq!(m.surname, sur);
            prop_assert_eq!(m.given_names, given);
            prop_assert_eq!(m.iin.as_str(), "900502400122");
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,120}|[A-Z0-9<\r\n]{80,100}") {
            let _ = Mrz::parse(&s);
        }
    }
}
