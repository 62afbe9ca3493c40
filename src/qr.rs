//! QR codes the kiosk shows and prints (a receipt's status link, "continue on your phone"):
//! text → a square of dark and light modules, and that square as pixels. Pure. The matrix is
//! `senim_common::qr`, which the call-centre draws its enrolment codes with too.

pub use senim_common::qr::{QrError, QrMatrix, QUIET_ZONE};

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
