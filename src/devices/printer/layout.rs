//! Lays a [`Slip`] out on the paper as ESC/POS bytes (pure): text the code page has as printer text, everything else (Kazakh letters) as raster lines, QR codes native or as raster.

use serde::Deserialize;

use super::codepage::CodePage;
use super::escpos::{Align, Bitmap, EscPos, EscPosError, QrErrorCorrection};
use super::slip::{Block, Size, Slip, Style};
use super::text::Fonts;
use crate::qr::{QrError, QrMatrix};

/// How QR codes are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum QrMode {
    /// The printer's own QR encoder (`GS ( k`): few bytes, sharp. Most printers made since
    /// about 2012 have it.
    #[default]
    Native,
    /// A raster image drawn by the kiosk, for printers without `GS ( k`.
    Raster,
}

/// The paper and the printer's character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paper {
    /// Printable width in dots: 384 on 58 mm paper, 576 on 80 mm (8 dots per mm).
    pub width_dots: u16,
    /// The table used for text.
    pub code_page: CodePage,
    /// Its `ESC t` number on this printer.
    pub code_page_number: u8,
    pub qr: QrMode,
}

/// Why a slip could not be laid out. Not a printer fault: the slip or the settings are wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(transparent)]
    Command(#[from] EscPosError),
    #[error("{0}")]
    Qr(String),
}

impl From<QrError> for LayoutError {
    fn from(e: QrError) -> Self {
        LayoutError::Qr(e.to_string())
    }
}

/// Width of a character of the printer's font A, in dots.
const FONT_A_WIDTH: usize = 12;
/// Height in pixels of the rasterised font for normal-size text, chosen so that Noto Sans
/// capitals stand as tall as font A's (about 17 dots).
const RASTER_PX: f32 = 32.0;
/// White left at each edge of a rasterised paragraph, in dots (1 mm).
const RASTER_MARGIN: usize = 8;
/// Blank paper for [`Block::Space`], in dots.
const SPACE_DOTS: u8 = 14;
/// Largest QR module, in dots (1 mm at 8 dots/mm); smaller codes print smaller modules.
const QR_MODULE_MAX: usize = 8;

/// The ESC/POS bytes of a slip, ready to send: initialise, code page, the blocks, the cut.
pub fn layout(slip: &Slip, paper: &Paper, fonts: &Fonts) -> Result<Vec<u8>, LayoutError> {
    let width = usize::from(paper.width_dots);
    let mut p = EscPos::new();
    p.init().code_page(paper.code_page_number);
    for block in slip.blocks() {
        match block {
            Block::Text { text, style } => text_block(&mut p, text, *style, paper, fonts)?,
            Block::Qr(data) => qr_block(&mut p, data, paper)?,
            Block::Space => {
                p.feed_dots(SPACE_DOTS);
            }
            Block::Rule => {
                let mut rule = Bitmap::new(width, 10);
                for y in 4..6 {
                    for x in 0..width {
                        rule.set(x, y);
                    }
                }
                p.raster(&rule);
            }
            Block::WidthRuler => {
                p.raster(&width_ruler(width));
            }
        }
    }
    p.align(Align::Left).feed(3).cut();
    Ok(p.into_bytes())
}

/// The multipliers (width, height) of a text size for `text` on this paper.
fn multipliers(size: Size, text: &str, width: usize) -> u8 {
    match size {
        Size::Normal => 1,
        Size::Large => 2,
        Size::Largest => {
            let chars = text.chars().count().max(1);
            let fit = width / (FONT_A_WIDTH * chars);
            u8::try_from(fit.clamp(1, 4)).unwrap_or(1)
        }
    }
}

fn text_block(
    p: &mut EscPos,
    text: &str,
    style: Style,
    paper: &Paper,
    fonts: &Fonts,
) -> Result<(), LayoutError> {
    let width = usize::from(paper.width_dots);
    let m = multipliers(style.size, text, width);
    if let Some(encoded) = paper.code_page.encode(text) {
        let columns = (width / (FONT_A_WIDTH * usize::from(m))).max(1);
        p.align(style.align).bold(style.bold).size(m, m)?;
        for line in wrap_columns(&encoded, columns) {
            p.line(line);
        }
        p.size(1, 1)?.bold(false);
    } else {
        let px = RASTER_PX * f32::from(m);
        // A little white at both edges: the paper wanders a dot or two under the head.
        let lines = fonts.wrap(
            text,
            px,
            style.bold,
            width.saturating_sub(2 * RASTER_MARGIN) as f32,
        );
        let image = fonts.render(&lines, px, style.bold, width, style.align);
        p.align(Align::Left).raster(&image);
    }
    Ok(())
}

/// Splits encoded text into lines of at most `columns` bytes at spaces; a longer word is cut.
fn wrap_columns(text: &[u8], columns: usize) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = text;
    while rest.len() > columns {
        let cut = rest[..=columns]
            .iter()
            .rposition(|&b| b == b' ')
            .filter(|&i| i > 0)
            .unwrap_or(columns);
        lines.push(&rest[..cut]);
        rest = &rest[cut..];
        while rest.first() == Some(&b' ') {
            rest = &rest[1..];
        }
    }
    if !rest.is_empty() || lines.is_empty() {
        lines.push(rest);
    }
    lines
}

fn qr_block(p: &mut EscPos, data: &str, paper: &Paper) -> Result<(), LayoutError> {
    let width = usize::from(paper.width_dots);
    let matrix = QrMatrix::encode(data)?;
    // About half the paper wide: big enough for an old phone, leaves margin for the fold.
    let module = (width / 2 / matrix.size()).clamp(3, QR_MODULE_MAX);
    match paper.qr {
        QrMode::Native => {
            p.align(Align::Center).feed_dots(SPACE_DOTS);
            p.qr(
                data.as_bytes(),
                u8::try_from(module).unwrap_or(6),
                QrErrorCorrection::M,
            )?;
            p.feed_dots(SPACE_DOTS).align(Align::Left);
        }
        QrMode::Raster => {
            let (side, luma) = matrix.to_luma(module);
            let left = width.saturating_sub(side) / 2;
            let mut image = Bitmap::new(width, side);
            for (i, &v) in luma.iter().enumerate() {
                if v < 128 {
                    image.set(left + i % side, i / side);
                }
            }
            p.align(Align::Left).raster(&image);
        }
    }
    Ok(())
}

/// A frame exactly as wide as the configured paper with a tick every 64 dots (8 mm).
fn width_ruler(width: usize) -> Bitmap {
    let height = 40;
    let mut img = Bitmap::new(width, height);
    for x in 0..width {
        for y in [0, 1, height - 2, height - 1] {
            img.set(x, y);
        }
    }
    for y in 0..height {
        for x in [0, 1, width - 2, width - 1] {
            img.set(x, y);
        }
        if y < height / 2 {
            for x in (64..width).step_by(64) {
                img.set(x, y);
            }
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Lang;
    use chrono::NaiveDate;

    fn paper(code_page: CodePage) -> Paper {
        Paper {
            width_dots: 384,
            code_page,
            code_page_number: code_page.epson_number(),
            qr: QrMode::Native,
        }
    }

    fn at(d: u32, h: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Every `GS v 0` in a stream: (bytes per row, rows).
    fn rasters(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 8 <= bytes.len() {
            if bytes[i..i + 4] == [0x1D, b'v', b'0', 0] {
                let x = usize::from(bytes[i + 4]) + 256 * usize::from(bytes[i + 5]);
                let y = usize::from(bytes[i + 6]) + 256 * usize::from(bytes[i + 7]);
                out.push((x, y));
                i += 8 + x * y;
            } else {
                i += 1;
            }
        }
        out
    }

    #[test]
    fn russian_slip_prints_text_in_the_code_page_and_ends_with_a_cut() {
        let slip = Slip::appeal(
            Lang::Ru,
            "A-7Q2M9XK3",
            "QR7DKXW2M5TBNZ4H",
            at(20, 19),
            super::super::Seen::At(at(23, 9)),
            Some("https://senim.example/a/A-7Q2M9XK3"),
            "Городская больница",
        );
        let bytes = layout(&slip, &paper(CodePage::Cp866), &Fonts::bundled().unwrap()).unwrap();
        assert_eq!(&bytes[..5], [0x1B, b'@', 0x1B, b't', 17]);
        assert!(contains(
            &bytes,
            &CodePage::Cp866.encode("Номер обращения").unwrap()
        ));
        assert!(contains(&bytes, b"A-7Q2M9XK3"));
        // The number at triple size: 10 characters × 12 dots × 3 = 360 ≤ 384.
        assert!(contains(&bytes, &[0x1D, b'!', 0x22, b'A', b'-', b'7']));
        assert!(bytes.ends_with(&[0x1D, b'V', 66, 0]));
        // Only rules are raster: a full-width line, sent as the 6 rows down to its ink.
        assert!(
            rasters(&bytes).iter().all(|&r| r == (48, 6)),
            "{:?}",
            rasters(&bytes)
        );
    }

    #[test]
    fn kazakh_line_becomes_a_raster_block_of_the_paper_width() {
        let slip = Slip::appeal(
            Lang::Kk,
            "A-7Q2M9XK3",
            "QR7DKXW2M5TBNZ4H",
            at(20, 19),
            super::super::Seen::Now,
            None,
            "Site",
        );
        for (width, row_bytes) in [(384u16, 48usize), (576, 72)] {
            let paper = Paper {
                width_dots: width,
                ..paper(CodePage::Cp866)
            };
            let bytes = layout(&slip, &paper, &Fonts::bundled().unwrap()).unwrap();
            let text_rasters: Vec<_> = rasters(&bytes)
                .into_iter()
                .filter(|&r| r != (row_bytes, 6))
                .collect();
            // Title, "appeal number", "accepted", "has it now", "keep this slip".
            assert!(text_rasters.len() >= 5, "{text_rasters:?}");
            // Never wider than the paper; the wrapped title fills most of it.
            assert!(text_rasters.iter().all(|&(x, _)| x <= row_bytes));
            let widest = text_rasters.iter().map(|r| r.0).max().unwrap();
            assert!(widest * 4 >= row_bytes * 3, "{text_rasters:?}");
            // The number is still printer text.
            assert!(contains(&bytes, b"A-7Q2M9XK3"));
        }
    }

    #[test]
    fn kz1048_prints_kazakh_as_text() {
        let slip = Slip::appeal(
            Lang::Kk,
            "A-7Q2M9XK3",
            "QR7DKXW2M5TBNZ4H",
            at(20, 19),
            super::super::Seen::Now,
            None,
            "Site",
        );
        let bytes = layout(&slip, &paper(CodePage::Kz1048), &Fonts::bundled().unwrap()).unwrap();
        assert!(contains(
            &bytes,
            &CodePage::Kz1048.encode("Өтініш нөмірі").unwrap()
        ));
        assert!(rasters(&bytes).iter().all(|&r| r == (48, 6)));
    }

    #[test]
    fn raster_qr_mode_draws_the_code() {
        let slip = Slip::test("K-1", at(23, 10));
        let paper = Paper {
            qr: QrMode::Raster,
            ..paper(CodePage::Cp866)
        };
        let bytes = layout(&slip, &paper, &Fonts::bundled().unwrap()).unwrap();
        assert!(!contains(&bytes, &[0x1D, b'(', b'k']));
        let qr = QrMatrix::encode("SENIM printer test K-1").unwrap();
        let module = (384 / 2 / qr.size()).clamp(3, 8);
        // The quiet zone is fed as blank paper; the code itself is one band.
        assert!(rasters(&bytes)
            .iter()
            .any(|&(_, rows)| rows == qr.size() * module));
    }

    #[test]
    fn columns_wrap_at_spaces() {
        assert_eq!(
            wrap_columns(b"aaa bbb ccc", 7),
            vec![&b"aaa bbb"[..], &b"ccc"[..]]
        );
        assert_eq!(
            wrap_columns(b"abcdefghij", 4),
            vec![&b"abcd"[..], b"efgh", b"ij"]
        );
        assert_eq!(wrap_columns(b"", 4), vec![&b""[..]]);
    }
}
