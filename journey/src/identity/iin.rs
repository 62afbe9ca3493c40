//! Kazakh individual identification number (IIN): validation, birth date and masking.
//!
//! An IIN has 12 digits `YYMMDD C NNNN K`: the birth date, a century-and-sex digit
//! (1/2 → 1800s, 3/4 → 1900s, 5/6 → 2000s), a serial and a check digit. The value is
//! personal data: `Debug` and `Display` only ever show the masked form.

use std::fmt;

use chrono::NaiveDate;

/// Number of digits in an IIN.
pub const IIN_LEN: usize = 12;

const BULLET: char = '\u{2022}';

/// Why a text is not a valid IIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    /// The text does not have 12 characters.
    #[error("an IIN has 12 digits, this has {found}")]
    WrongLength {
        /// Number of characters found.
        found: usize,
    },
    /// The text has 12 characters but not all of them are digits 0-9.
    #[error("an IIN has only digits 0-9, this contains other characters")]
    NotDigits,
    /// The 7th digit (century and sex) is not 1-6.
    #[error("the 7th digit of an IIN (century and sex) must be 1-6, this has {digit}")]
    CenturyDigit {
        /// The digit found in position 7.
        digit: u8,
    },
    /// The first 6 digits are not a date that exists.
    #[error(
        "the first 6 digits of an IIN must be a real birth date (YYMMDD), this date does not exist"
    )]
    ImpossibleDate,
    /// Both check-digit passes give 10, so no IIN can have these first 11 digits.
    #[error(
        "no IIN can start with these 11 digits: the check digit is undefined (both passes give 10)"
    )]
    CheckDigitUndefined,
    /// The 12th digit is not the check digit computed from the first 11.
    #[error("the IIN check digit (12th digit) does not match the other 11 digits; the number was mistyped or misread")]
    CheckDigitMismatch,
}

/// A validated IIN. `Debug` and `Display` show the masked form only (`88••••••••10`).
#[derive(Clone, PartialEq, Eq)]
pub struct Iin {
    digits: String,
    birth_date: NaiveDate,
}

impl Iin {
    /// Validates `s` (exactly 12 ASCII digits, no surrounding whitespace) as an IIN.
    pub fn parse(s: &str) -> Result<Iin, IinError> {
        let found = s.chars().count();
        if found != IIN_LEN {
            return Err(IinError::WrongLength { found });
        }
        let bytes = s.as_bytes();
        if bytes.len() != IIN_LEN || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(IinError::NotDigits);
        }
        let mut d = [0u8; IIN_LEN];
        for (slot, b) in d.iter_mut().zip(bytes) {
            *slot = b - b'0';
        }
        let century = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            digit => return Err(IinError::CenturyDigit { digit }),
        };
        let year = century + i32::from(d[0]) * 10 + i32::from(d[1]);
        let month = u32::from(d[2]) * 10 + u32::from(d[3]);
        let day = u32::from(d[4]) * 10 + u32::from(d[5]);
        let birth_date =
            NaiveDate::from_ymd_opt(year, month, day).ok_or(IinError::ImpossibleDate)?;
        let mut first = [0u8; 11];
        first.copy_from_slice(&d[..11]);
        let expected = check_digit(&first).ok_or(IinError::CheckDigitUndefined)?;
        if expected != d[11] {
            return Err(IinError::CheckDigitMismatch);
        }
        Ok(Iin {
            digits: s.to_owned(),
            birth_date,
        })
    }

    /// The full 12 digits. Personal data: never log this.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// First 2 and last 2 digits with eight bullets between, e.g. `88••••••••10`.
    pub fn masked(&self) -> String {
        let mut out = String::with_capacity(2 + 8 * BULLET.len_utf8() + 2);
        out.push_str(self.digits.get(..2).unwrap_or(""));
        out.extend(std::iter::repeat_n(BULLET, 8));
        out.push_str(self.digits.get(10..).unwrap_or(""));
        out
    }

    /// Birth date encoded in digits 1-7.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({})", self.masked())
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Check digit for the first 11 IIN digits (each 0-9), or `None` when it is undefined
/// (both passes give 10: no valid IIN starts with these digits).
pub fn check_digit(first_eleven: &[u8; 11]) -> Option<u8> {
    const PASS1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const PASS2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
    let weighted = |weights: &[u32; 11]| -> u32 {
        first_eleven
            .iter()
            .zip(weights)
            .map(|(&d, &w)| u32::from(d) * w)
            .sum::<u32>()
            % 11
    };
    let mut k = weighted(&PASS1);
    if k == 10 {
        k = weighted(&PASS2);
    }
    u8::try_from(k).ok().filter(|&k| k < 10)
}

#[cfg(test)]
pub(crate) mod test_support {
    use chrono::{Datelike, NaiveDate};
    use proptest::prelude::*;

    /// Any valid IIN (1800-2099, either sex, any serial) with its birth date.
    pub(crate) fn arb_valid_iin() -> impl Strategy<Value = (String, NaiveDate)> {
        (
            1800i32..=2099,
            1u32..=12,
            1u32..=31,
            any::<bool>(),
            0u16..10_000,
        )
            .prop_filter_map(
                "impossible date or undefined check digit",
                |(y, m, d, f, s)| {
                    let date = NaiveDate::from_ymd_opt(y, m, d)?;
                    Some((build_iin(date, f, s)?, date))
                },
            )
    }

    /// Builds an IIN for `date` with the given sex flag and serial, computing the check
    /// digit. `None` when the check digit is undefined for these digits.
    pub(crate) fn build_iin(date: NaiveDate, female: bool, serial: u16) -> Option<String> {
        let year = date.year();
        let century = match year {
            1800..=1899 => 1,
            1900..=1999 => 3,
            2000..=2099 => 5,
            _ => return None,
        } + u8::from(female);
        let first = format!(
            "{:02}{:02}{:02}{}{:04}",
            year % 100,
            date.month(),
            date.day(),
            century,
            serial % 10_000
        );
        let mut d = [0u8; 11];
        for (slot, b) in d.iter_mut().zip(first.bytes()) {
            *slot = b - b'0';
        }
        let k = super::check_digit(&d)?;
        Some(format!("{first}{k}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: [&str; 7] = [
        "880101300010",
        "880101300000",
        "900502400122",
        "000229500018",
        "851231400031",
        "700701400013",
        "880101300111",
    ];

    #[test]
    fn known_valid_values() {
        for s in VALID {
            let iin = Iin::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(iin.as_str(), s);
        }
        assert_eq!(
            Iin::parse("000229500018").unwrap().birth_date(),
            NaiveDate::from_ymd_opt(2000, 2, 29).unwrap()
        );
        assert_eq!(
            Iin::parse("880101300010").unwrap().birth_date(),
            NaiveDate::from_ymd_opt(1988, 1, 1).unwrap()
        );
    }

    /// 010229500016 has a correct (second-pass) check digit, but 2001-02-29 does not exist.
    #[test]
    fn feb_29_of_a_non_leap_year_is_impossible() {
        let mut d = [0u8; 11];
        for (slot, b) in d.iter_mut().zip(b"01022950001") {
            *slot = b - b'0';
        }
        assert_eq!(check_digit(&d), Some(6));
        assert_eq!(Iin::parse("010229500016"), Err(IinError::ImpossibleDate));
    }

    #[test]
    fn second_pass_check_digit() {
        let d = [8, 8, 0, 1, 0, 1, 3, 0, 0, 1, 1];
        let first_pass: u32 = d
            .iter()
            .enumerate()
            .map(|(i, &x)| (i as u32 + 1) * u32::from(x))
            .sum();
        assert_eq!(first_pass % 11, 10, "must need the second pass");
        assert_eq!(check_digit(&d), Some(1));
        assert!(Iin::parse("880101300111").is_ok());
    }

    #[test]
    fn errors() {
        assert_eq!(
            Iin::parse("88010130001"),
            Err(IinError::WrongLength { found: 11 })
        );
        assert_eq!(
            Iin::parse("88010130001٣"),
            Err(IinError::NotDigits),
            "12 chars, one a non-ASCII digit"
        );
        assert_eq!(Iin::parse("88010130001a"), Err(IinError::NotDigits));
        assert_eq!(
            Iin::parse("880101700010"),
            Err(IinError::CenturyDigit { digit: 7 })
        );
        assert_eq!(
            Iin::parse("880101000010"),
            Err(IinError::CenturyDigit { digit: 0 })
        );
        assert_eq!(Iin::parse("880230300010"), Err(IinError::ImpossibleDate));
        assert_eq!(Iin::parse("010229500013"), Err(IinError::ImpossibleDate));
        assert_eq!(Iin::parse("001329500013"), Err(IinError::ImpossibleDate));
        assert_eq!(
            Iin::parse("880101300011"),
            Err(IinError::CheckDigitMismatch)
        );
        assert_eq!(
            IinError::WrongLength { found: 11 }.to_string(),
            "an IIN has 12 digits, this has 11"
        );
    }

    #[test]
    fn undefined_check_digit_is_rejected() {
        // Search the serial space of one date for a prefix whose both passes give 10.
        let mut found = None;
        for serial in 0..10_000u32 {
            let prefix = format!("8801013{serial:04}");
            let mut d = [0u8; 11];
            for (slot, b) in d.iter_mut().zip(prefix.bytes()) {
                *slot = b - b'0';
            }
            if check_digit(&d).is_none() {
                found = Some(prefix);
                break;
            }
        }
        let prefix = found.expect("some prefix has an undefined check digit");
        for k in 0..10 {
            assert_eq!(
                Iin::parse(&format!("{prefix}{k}")),
                Err(IinError::CheckDigitUndefined)
            );
        }
    }

    /// The weight of digit 11 is 11 ≡ 0 (mod 11) in the first pass, so the check digit
    /// does NOT catch every single-digit substitution.
    #[test]
    fn single_digit_substitution_is_not_always_detected() {
        assert!(Iin::parse("880101300010").is_ok());
        assert!(Iin::parse("880101300020").is_ok());
    }

    #[test]
    fn masking() {
        let iin = Iin::parse("880101300010").unwrap();
        assert_eq!(iin.masked(), "88••••••••10");
        assert_eq!(format!("{iin}"), "88••••••••10");
        assert_eq!(format!("{iin:?}"), "Iin(88••••••••10)");
        assert!(!format!("{iin:#?}").contains("0101300"));
    }

    proptest! {
        #[test]
        fn generated_iins_are_valid((s, date) in test_support::arb_valid_iin()) {
            let iin = Iin::parse(&s).unwrap();
            prop_assert_eq!(iin.birth_date(), date);
            prop_assert_eq!(iin.as_str(), s.as_str());
        }

        #[test]
        fn changed_check_digit_is_rejected((s, _) in test_support::arb_valid_iin(), delta in 1u8..10) {
            let mut b = s.into_bytes();
            b[11] = b'0' + (b[11] - b'0' + delta) % 10;
            let t = String::from_utf8(b).unwrap();
            prop_assert_eq!(Iin::parse(&t), Err(IinError::CheckDigitMismatch));
        }

        #[test]
        fn masked_hides_digits_3_to_10((s, _) in test_support::arb_valid_iin()) {
            let iin = Iin::parse(&s).unwrap();
            let m: Vec<char> = iin.masked().chars().collect();
            prop_assert_eq!(m.len(), 12);
            prop_assert!(m[2..10].iter().all(|&c| c == BULLET));
            prop_assert_eq!(&m[..2], &s.chars().take(2).collect::<Vec<_>>()[..]);
            prop_assert_eq!(&m[10..], &s.chars().skip(10).collect::<Vec<_>>()[..]);
            prop_assert_eq!(format!("{iin:?}").matches(char::is_numeric).count(), 4);
        }
    }
}
