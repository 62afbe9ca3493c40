//! Printer code pages for Cyrillic (CP866, Windows-1251, KZ-1048): which characters a printer can print as text, and their bytes.

use serde::Deserialize;

/// A character table the printer selects with `ESC t n`; bytes 0x20–0x7E are ASCII in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePage {
    /// IBM/DOS 866 ("PC866 Cyrillic #2"): Russian, in nearly every thermal printer. No Kazakh
    /// letters, so Kazakh text is printed as an image.
    Cp866,
    /// Windows-1251 ("WPC1251"): Russian, in most newer printers. No Kazakh letters.
    Cp1251,
    /// KZ-1048, Kazakhstan's standard Windows code page: Russian and all Kazakh letters. Epson
    /// TM printers have it; most cheap printers do not.
    Kz1048,
}

/// Bytes 0x80–0xFF of each table, 32 characters per line; `\0` marks an unassigned byte.
const CP866: [&str; 4] = [
    "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    "абвгдежзийклмноп░▒▓│┤╡╢╖╕╣║╗╝╜╛┐",
    "└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀",
    "рстуфхцчшщъыьэюяЁёЄєЇїЎў°∙·√№¤■\u{a0}",
];
const CP1251: [&str; 4] = [
    "ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—\0™љ›њќћџ",
    "\u{a0}ЎўЈ¤Ґ¦§Ё©Є«¬\u{ad}®Ї°±Ііґµ¶·ё№є»јЅѕї",
    "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    "абвгдежзийклмнопрстуфхцчшщъыьэюя",
];
const KZ1048: [&str; 4] = [
    "ЂЃ‚ѓ„…†‡€‰Љ‹ЊҚҺЏђ‘’“”•–—\0™љ›њқһџ",
    "\u{a0}ҰұӘ¤Ө¦§Ё©Ғ«¬\u{ad}®Ү°±Ііөµ¶·ё№ғ»әҢңү",
    "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    "абвгдежзийклмнопрстуфхцчшщъыьэюя",
];

impl CodePage {
    /// The `ESC t n` number of this table on Epson printers and their many clones; a printer
    /// whose manual says otherwise is configured with `printer.code_page_number`.
    pub fn epson_number(self) -> u8 {
        match self {
            CodePage::Cp866 => 17,
            CodePage::Cp1251 => 46,
            CodePage::Kz1048 => 53,
        }
    }

    /// The name used in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            CodePage::Cp866 => "cp866",
            CodePage::Cp1251 => "cp1251",
            CodePage::Kz1048 => "kz1048",
        }
    }

    fn upper_half(self) -> impl Iterator<Item = char> {
        let table = match self {
            CodePage::Cp866 => CP866,
            CodePage::Cp1251 => CP1251,
            CodePage::Kz1048 => KZ1048,
        };
        table.into_iter().flat_map(str::chars)
    }

    /// The byte of `c`, or `None` if the table has no such character. Control characters have
    /// none: text never carries printer commands.
    pub fn encode_char(self, c: char) -> Option<u8> {
        if (' '..='~').contains(&c) {
            return u8::try_from(c).ok();
        }
        if c == '\0' {
            return None;
        }
        let index = self.upper_half().position(|t| t == c)?;
        u8::try_from(0x80 + index).ok()
    }

    /// The bytes of `text`, or `None` if any character is not in the table.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        text.chars().map(|c| self.encode_char(c)).collect()
    }

    /// The character of a byte (`None` for control and unassigned bytes).
    pub fn decode(self, byte: u8) -> Option<char> {
        match byte {
            0x20..=0x7E => Some(char::from(byte)),
            0x80..=0xFF => self
                .upper_half()
                .nth(usize::from(byte - 0x80))
                .filter(|&c| c != '\0'),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CodePage; 3] = [CodePage::Cp866, CodePage::Cp1251, CodePage::Kz1048];

    #[test]
    fn every_table_has_128_characters() {
        for cp in ALL {
            assert_eq!(cp.upper_half().count(), 128, "{cp:?}");
        }
    }

    #[test]
    fn russian_text_encodes_to_the_known_bytes() {
        // "Привет, Ёж №1" in IBM 866 and Windows-1251, byte for byte.
        assert_eq!(
            CodePage::Cp866.encode("Привет, Ёж №1").unwrap(),
            [0x8F, 0xE0, 0xA8, 0xA2, 0xA5, 0xE2, b',', b' ', 0xF0, 0xA6, b' ', 0xFC, b'1']
        );
        assert_eq!(
            CodePage::Cp1251.encode("Привет, Ёж №1").unwrap(),
            [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, b',', b' ', 0xA8, 0xE6, b' ', 0xB9, b'1']
        );
    }

    #[test]
    fn kazakh_letters_exist_only_in_kz1048() {
        let kazakh = "ӘҒҚҢӨҰҮҺІәғқңөұүһі";
        assert_eq!(CodePage::Cp866.encode(kazakh), None);
        assert_eq!(CodePage::Cp1251.encode("Қ"), None);
        // І/і are in 1251 (Ukrainian), the rest are not.
        assert_eq!(CodePage::Cp1251.encode("І"), Some(vec![0xB2]));
        let bytes = CodePage::Kz1048.encode(kazakh).unwrap();
        assert_eq!(&bytes[..3], [0xA3, 0xAA, 0x8D]);
        let back: String = bytes
            .iter()
            .map(|&b| CodePage::Kz1048.decode(b).unwrap())
            .collect();
        assert_eq!(back, kazakh);
    }

    #[test]
    fn control_characters_and_unassigned_bytes_have_no_mapping() {
        for cp in ALL {
            assert_eq!(cp.encode("a\nb"), None);
            assert_eq!(cp.encode_char('\u{1b}'), None);
            assert_eq!(cp.encode_char('\0'), None);
            assert_eq!(cp.decode(0x1B), None);
        }
        assert_eq!(CodePage::Cp1251.decode(0x98), None);
    }

    #[test]
    fn decode_is_the_inverse_of_encode() {
        for cp in ALL {
            for b in 0x20..=0xFFu8 {
                if let Some(c) = cp.decode(b) {
                    assert_eq!(cp.encode_char(c), Some(b), "{cp:?} {b:#x}");
                }
            }
        }
    }
}
