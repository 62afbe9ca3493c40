//! QR codes the kiosk shows and prints (a receipt's status link, "continue on your phone"):
//! text → a square of dark and light modules, and that square as pixels. Pure.

/// Why a text could not become a QR code.
#[derive(Debug, thiserror::Error)]
#[error("cannot make a QR code of {len} bytes: {reason} — shorten the link in the configuration")]
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

/// Modules of light margin a reader needs around the code.
pub const QUIET_ZONE: usize = 4;

impl QrMatrix {
    /// Encodes `text` (byte mode, medium error correction: survives a scratched slip).
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
    fn a_link_becomes_a_square_code_with_finder_patterns() {
        let qr = QrMatrix::encode("https://senim.example/a/A-7Q2M9XK3").unwrap();
        assert!(qr.size() >= 21 && (qr.size() - 17).is_multiple_of(4));
        // The three finder patterns: dark 7×7 rings in three corners.
        for (cx, cy) in [(0, 0), (qr.size() - 7, 0), (0, qr.size() - 7)] {
            assert!(qr.dark(cx, cy) && qr.dark(cx + 6, cy + 6) && !qr.dark(cx + 1, cy + 1));
        }
        let (side, px) = qr.to_luma(3);
        assert_eq!(side, (qr.size() + 8) * 3);
        assert_eq!(px.len(), side * side);
        assert_eq!(px[0], 255, "quiet zone is light");
        assert_eq!(
            px[(QUIET_ZONE * 3) * side + QUIET_ZONE * 3],
            0,
            "finder corner is dark"
        );
    }

    #[test]
    fn too_long_a_text_is_refused_clearly() {
        let err = QrMatrix::encode(&"x".repeat(5000)).unwrap_err();
        assert!(err.to_string().contains("5000 bytes"), "{err}");
    }
}
