//! Identity documents (interim): IIN validation and classification of scanner reads (pure).

use std::fmt;

/// A validated IIN; `Debug` and `Display` show only the masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct Iin(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("an IIN has 12 digits, found {found}")]
    WrongLength { found: usize },
    #[error("an IIN has digits only")]
    NotDigits,
    #[error("century digit {digit} is not 1-6")]
    CenturyDigit { digit: u8 },
    #[error("the birth date does not exist")]
    ImpossibleDate,
    #[error("the check digit cannot be computed for this number")]
    CheckDigitUndefined,
    #[error("the check digit does not match")]
    CheckDigitMismatch,
}

impl Iin {
    pub fn parse(s: &str) -> Result<Iin, IinError> {
        let n = s.chars().count();
        if n != 12 {
            return Err(IinError::WrongLength { found: n });
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IinError::NotDigits);
        }
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let century = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            other => return Err(IinError::CenturyDigit { digit: other as u8 }),
        };
        let year = century + d[0] * 10 + d[1];
        let month = d[2] * 10 + d[3];
        let day = d[4] * 10 + d[5];
        if chrono::NaiveDate::from_ymd_opt(year as i32, month, day).is_none() {
            return Err(IinError::ImpossibleDate);
        }
        let sum = |w: &[u32]| d[..11].iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11;
        let mut c = sum(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        if c == 10 {
            c = sum(&[3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
            if c == 10 {
                return Err(IinError::CheckDigitUndefined);
            }
        }
        if c != d[11] {
            return Err(IinError::CheckDigitMismatch);
        }
        Ok(Iin(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn masked(&self) -> String {
        format!("{}••••••••{}", &self.0[..2], &self.0[10..])
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Iin(IinError),
    Unknown,
}

impl From<IinError> for Rejection {
    fn from(e: IinError) -> Self {
        Rejection::Iin(e)
    }
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Iin(IinError::WrongLength { .. }) => "wrong_length",
            Rejection::Iin(IinError::NotDigits) => "not_digits",
            Rejection::Iin(IinError::CenturyDigit { .. }) => "century_digit",
            Rejection::Iin(IinError::ImpossibleDate) => "impossible_date",
            Rejection::Iin(_) => "check_digit",
            Rejection::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Citizen { iin: Iin },
    Badge(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub result: Result<Identity, Rejection>,
}

pub fn classify(text: &str) -> Classified {
    let t = text.trim();
    if let Some(b) = t.strip_prefix("SENIM-TECH:") {
        return Classified { result: Ok(Identity::Badge(b.to_string())) };
    }
    if t.len() >= 10 && t.len() <= 14 && t.bytes().filter(u8::is_ascii_digit).count() >= 10 {
        return Classified { result: Iin::parse(t).map(|iin| Identity::Citizen { iin }).map_err(Rejection::from) };
    }
    Classified { result: Err(Rejection::Unknown) }
}
