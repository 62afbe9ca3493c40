//! Text → a QR code's square of dark and light modules (`qrcode`, byte mode, medium error
//! correction), and that square as greyscale pixels with the quiet zone. Pure.

/// Modules of light margin a reader needs around the code.
pub const QUIET_ZONE: usize = 4;

/// Why a text could not become a QR code.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot make a QR code of {len} bytes: {reason} — shorten the text to encode (a link in the \
     configuration, for instance)"
)]
pub struct QrError {
    len: usize,
    reason: String,
}

/// A QR code as a square of modules (`true` = dark), without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` (byte mode, medium error correction: survives a scratched slip or a
    /// smudged screen).
    pub fn encode(text: &str) -> Result<QrMatrix, QrError> {
        let code =
            qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).map_err(|e| {
                QrError {
                    len: text.len(),
                    reason: e.to_string(),
                }
            })?;
        Ok(QrMatrix {
            size: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the module at column `x`, row `y` is dark (outside the code: light).
    pub fn dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    /// Like [`QrMatrix::dark`], with coordinates that include the quiet zone (light).
    pub fn dark_with_margin(&self, x: usize, y: usize) -> bool {
        match (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) {
            (Some(x), Some(y)) => self.dark(x, y),
            _ => false,
        }
    }

    /// Greyscale pixels (0 = black, 255 = white), `scale` pixels per module, with the quiet
    /// zone; returns the side length and the pixels, row by row.
    pub fn to_luma(&self, scale: usize) -> (usize, Vec<u8>) {
        let scale = scale.max(1);
        let side = (self.size + 2 * QUIET_ZONE) * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..self.size {
            for x in 0..self.size {
                if !self.dark(x, y) {
                    continue;
                }
                for dy in 0..scale {
                    let row = (y + QUIET_ZONE) * scale + dy;
                    let start = row * side + (x + QUIET_ZONE) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
        (side, pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_light_and_the_finder_corner_dark() {
        let qr = QrMatrix::encode("SENIM-ENROL:AAAA-BBBB-CCCC-DDDD").unwrap();
        let side = qr.size() + 2 * QUIET_ZONE;
        for i in 0..side {
            assert!(!qr.dark_with_margin(i, 0) && !qr.dark_with_margin(0, i));
            assert!(!qr.dark_with_margin(i, side - 1) && !qr.dark_with_margin(side - 1, i));
        }
        assert!(qr.dark_with_margin(QUIET_ZONE, QUIET_ZONE));
        let (luma_side, px) = qr.to_luma(1);
        assert_eq!(luma_side, side);
        for y in 0..side {
            for x in 0..side {
                assert_eq!(
                    px[y * side + x] == 0,
                    qr.dark_with_margin(x, y),
                    "({x}, {y})"
                );
            }
        }
    }
}
