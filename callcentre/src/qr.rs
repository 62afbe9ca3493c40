//! QR codes of enrolment codes (`SENIM-ENROL:<code>`, what the kiosk's scanner classifier
//! expects): drawn in a terminal with Unicode half blocks and written as PNG images. The matrix
//! itself is `senim_common::qr`, the kiosk's too.

use senim_common::qr::QrMatrix;

pub use senim_common::qr::QUIET_ZONE;

/// Pixels per module in PNG files: a 29-module code becomes a 296-pixel square, sharp on paper
/// and on a phone screen held to a kiosk camera.
pub const PNG_SCALE: usize = 8;

/// The text of an enrolment QR code.
pub fn enrol_payload(code: &str) -> String {
    format!("{}{code}", senim_protocol::ENROL_PREFIX)
}

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error(transparent)]
    Encode(#[from] senim_common::qr::QrError),
    #[error("cannot encode the QR code as PNG: {0}")]
    Png(#[from] png::EncodingError),
}

/// A QR code as a square of modules, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr(QrMatrix);

impl Qr {
    /// Encodes `text` with medium error correction (survives a smudged screen or print).
    pub fn encode(text: &str) -> Result<Qr, QrError> {
        Ok(Qr(QrMatrix::encode(text)?))
    }

    /// Modules per side, without the quiet zone.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// The code for a terminal, two module rows per line with `▀ ▄ █`, quiet zone included.
    /// With `ansi`, the lines are drawn black on white whatever the terminal's colours (a code
    /// shown light-on-dark is not read by every scanner); without, dark modules are the
    /// blocks, for a light background (a file, a printout).
    pub fn to_terminal(&self, ansi: bool) -> String {
        let side = self.size() + 2 * QUIET_ZONE;
        let mut out = String::new();
        for y in (0..side).step_by(2) {
            if ansi {
                out.push_str("\x1b[30;107m");
            }
            for x in 0..side {
                let top = self.0.dark_with_margin(x, y);
                let bottom = y + 1 < side && self.0.dark_with_margin(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            if ansi {
                out.push_str("\x1b[0m");
            }
            out.push('\n');
        }
        out
    }

    /// An 8-bit greyscale PNG, `scale` pixels per module, quiet zone included.
    pub fn to_png(&self, scale: usize) -> Result<Vec<u8>, QrError> {
        let (side, pixels) = self.0.to_luma(scale);
        let mut bytes = Vec::new();
        {
            let side = u32::try_from(side).unwrap_or(u32::MAX);
            let mut encoder = png::Encoder::new(&mut bytes, side, side);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(&pixels)?;
            writer.finish()?;
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enrolment_code_fits_a_small_code_and_draws_in_half_blocks() {
        let qr = Qr::encode(&enrol_payload("7Q2M-9XK3-RT5W-H8NB")).unwrap();
        assert!(
            qr.size() <= 29,
            "a version 3 code or smaller: {}",
            qr.size()
        );
        let text = qr.to_terminal(false);
        let side = qr.size() + 2 * QUIET_ZONE;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == side));
        assert!(lines[0].trim().is_empty(), "the quiet zone is light");
        // The top-left finder pattern starts at the quiet zone's edge: a full dark row pair.
        let row = lines[QUIET_ZONE / 2];
        assert_eq!(row.chars().nth(QUIET_ZONE), Some('█'));
        let coloured = qr.to_terminal(true);
        assert!(coloured.starts_with("\x1b[30;107m") && coloured.contains("\x1b[0m\n"));
    }

    #[test]
    fn the_png_has_the_expected_size() {
        let qr = Qr::encode("SENIM-ENROL:AAAA-BBBB-CCCC-DDDD").unwrap();
        let png = qr.to_png(PNG_SCALE).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let side = ((qr.size() + 2 * QUIET_ZONE) * PNG_SCALE) as u32;
        assert_eq!((reader.info().width, reader.info().height), (side, side));
    }
}
