//! A small ESC/POS interpreter that draws a byte stream the way a thermal printer would (pure): for looking at slips in tests and on a technician's screen, and for checking that every command the layout emits is well-formed.
//!
//! It knows exactly the commands [`super::escpos::EscPos`] writes and refuses anything else,
//! so a malformed or unknown command is an error, not a silent skip. Text is drawn with the
//! bundled Noto Sans in cells of the printer's font A (12×24 dots), close enough to judge a
//! layout by eye.

use super::codepage::CodePage;
use super::escpos::{Align, Bitmap};
use super::text::Fonts;
use crate::qr::QrMatrix;

/// Where and why a byte stream could not be interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("byte {offset}: unknown or unsupported command starting {found:02x?}")]
    Unknown { offset: usize, found: Vec<u8> },
    #[error("byte {offset}: command runs past the end of the data")]
    Truncated { offset: usize },
    #[error("byte {offset}: {what}")]
    Invalid { offset: usize, what: String },
}

/// What the stream did, besides the picture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Printout {
    /// Text lines printed as text, decoded from the code page.
    pub text_lines: Vec<String>,
    /// Data of every QR code printed with `GS ( k`.
    pub qr_codes: Vec<String>,
    /// Number of `GS v 0` raster bands.
    pub raster_bands: usize,
    /// Whether the stream ended with a cut.
    pub cut: bool,
    /// `ESC t` numbers selected.
    pub code_pages: Vec<u8>,
    /// Real-time status requests seen (`DLE EOT n`).
    pub status_requests: usize,
}

/// Dots of paper per `ESC d` line and the minimum pitch of a text line (3.75 mm).
const LINE_PITCH: usize = 30;
const CELL_W: usize = 12;
const CELL_H: usize = 24;
/// Rows drawn after a cut so the end of the slip is visible.
const CUT_MARGIN: usize = 16;

#[derive(Clone, Copy)]
struct Cell {
    c: char,
    size: u8,
    bold: bool,
}

struct State<'a> {
    fonts: &'a Fonts,
    image: Bitmap,
    y: usize,
    align: Align,
    bold: bool,
    size: u8,
    line: Vec<Cell>,
    qr_module: u8,
    qr_data: Option<Vec<u8>>,
    out: Printout,
}

/// Interprets `bytes` on paper `width_dots` wide, text in `code_page`.
pub fn render(
    bytes: &[u8],
    width_dots: usize,
    code_page: CodePage,
    fonts: &Fonts,
) -> Result<(Bitmap, Printout), PreviewError> {
    let mut s = State {
        fonts,
        image: Bitmap::new(width_dots, 0),
        y: 0,
        align: Align::Left,
        bold: false,
        size: 1,
        line: Vec::new(),
        qr_module: 3,
        qr_data: None,
        out: Printout::default(),
    };
    let mut i = 0;
    let need = |i: usize, n: usize| {
        if i + n <= bytes.len() {
            Ok(&bytes[i..i + n])
        } else {
            Err(PreviewError::Truncated { offset: i })
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x0A => {
                s.print_line();
                i += 1;
            }
            0x10 => {
                let c = need(i, 3)?;
                if c[1] != 0x04 {
                    return Err(unknown(bytes, i));
                }
                s.out.status_requests += 1;
                i += 3;
            }
            0x1B => {
                let c = need(i, 2)?;
                match c[1] {
                    b'@' => {
                        s.line.clear();
                        s.align = Align::Left;
                        s.bold = false;
                        s.size = 1;
                        i += 2;
                    }
                    b't' => {
                        s.out.code_pages.push(need(i, 3)?[2]);
                        i += 3;
                    }
                    b'a' => {
                        s.align = match need(i, 3)?[2] {
                            0 | b'0' => Align::Left,
                            1 | b'1' => Align::Center,
                            2 | b'2' => Align::Right,
                            n => return Err(invalid(i, format!("ESC a {n}"))),
                        };
                        i += 3;
                    }
                    b'E' => {
                        s.bold = need(i, 3)?[2] & 1 == 1;
                        i += 3;
                    }
                    b'd' => {
                        s.print_line();
                        s.y += LINE_PITCH * usize::from(need(i, 3)?[2]);
                        i += 3;
                    }
                    b'J' => {
                        s.print_line();
                        s.y += usize::from(need(i, 3)?[2]);
                        i += 3;
                    }
                    _ => return Err(unknown(bytes, i)),
                }
            }
            0x1D => {
                let c = need(i, 2)?;
                match c[1] {
                    b'!' => {
                        let n = need(i, 3)?[2];
                        if n >> 4 != n & 0x0F {
                            return Err(invalid(i, "different width and height".into()));
                        }
                        s.size = (n & 0x0F) + 1;
                        i += 3;
                    }
                    b'v' => {
                        let h = need(i, 8)?;
                        if h[2] != b'0' || h[3] != 0 {
                            return Err(unknown(bytes, i));
                        }
                        let xb = usize::from(h[4]) + 256 * usize::from(h[5]);
                        let rows = usize::from(h[6]) + 256 * usize::from(h[7]);
                        let data = need(i + 8, xb * rows)?;
                        if xb * 8 > s.image.width() {
                            return Err(invalid(
                                i,
                                format!(
                                    "raster {} dots wide on {} dot paper",
                                    xb * 8,
                                    s.image.width()
                                ),
                            ));
                        }
                        s.raster(xb, rows, data);
                        i += 8 + xb * rows;
                    }
                    b'(' => {
                        let h = need(i, 5)?;
                        if h[2] != b'k' {
                            return Err(unknown(bytes, i));
                        }
                        let len = usize::from(h[3]) + 256 * usize::from(h[4]);
                        let body = need(i + 5, len)?;
                        s.qr_command(i, body)?;
                        i += 5 + len;
                    }
                    b'V' => {
                        need(i, 4)?;
                        s.print_line();
                        s.out.cut = true;
                        s.y += CUT_MARGIN;
                        s.image.grow(s.y);
                        let y = s.y - 1;
                        for x in (0..s.image.width()).step_by(8) {
                            for dx in 0..4 {
                                s.image.set(x + dx, y);
                            }
                        }
                        i += 4;
                    }
                    _ => return Err(unknown(bytes, i)),
                }
            }
            0x20..=0xFF => {
                let c = code_page.decode(b).ok_or_else(|| {
                    invalid(i, format!("byte {b:#04x} is not in {}", code_page.name()))
                })?;
                s.line.push(Cell {
                    c,
                    size: s.size,
                    bold: s.bold,
                });
                i += 1;
            }
            _ => return Err(unknown(bytes, i)),
        }
    }
    s.print_line();
    s.image.grow(s.y);
    Ok((s.image, s.out))
}

fn unknown(bytes: &[u8], offset: usize) -> PreviewError {
    PreviewError::Unknown {
        offset,
        found: bytes[offset..bytes.len().min(offset + 4)].to_vec(),
    }
}

fn invalid(offset: usize, what: String) -> PreviewError {
    PreviewError::Invalid { offset, what }
}

impl State<'_> {
    fn print_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let cells = std::mem::take(&mut self.line);
        let tall = cells.iter().map(|c| usize::from(c.size)).max().unwrap_or(1);
        let width: usize = cells.iter().map(|c| CELL_W * usize::from(c.size)).sum();
        let free = self.image.width().saturating_sub(width);
        let mut x = match self.align {
            Align::Left => 0,
            Align::Center => free / 2,
            Align::Right => free,
        };
        let pitch = (CELL_H * tall + 6).max(LINE_PITCH);
        self.image.grow(self.y + pitch);
        for cell in &cells {
            // Font A's capitals are about 17 of its 24 dots; Noto Sans's are 0.52 of the
            // pixel size. Wide letters are condensed into the 12-dot cell, as font A does.
            let m = usize::from(cell.size) as f32;
            let (cell_w, high) = (CELL_W as f32 * m, 31.0 * m);
            let natural = self.fonts.advance(cell.c, high, cell.bold);
            let wide = if natural > cell_w * 0.96 {
                high * cell_w * 0.96 / natural
            } else {
                high
            };
            let advance = natural * wide / high;
            let baseline = (self.y + CELL_H * tall) as f32 - 6.0 * m;
            let cx = x as f32 + (cell_w - advance) / 2.0;
            self.fonts.draw_char(
                &mut self.image,
                cell.c,
                (cx, baseline),
                (wide, high),
                cell.bold,
            );
            x += CELL_W * usize::from(cell.size);
        }
        self.out.text_lines.push(
            cells
                .iter()
                .map(|c| c.c)
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        self.y += pitch;
    }

    fn raster(&mut self, row_bytes: usize, rows: usize, data: &[u8]) {
        self.print_line();
        self.image.grow(self.y + rows);
        for r in 0..rows {
            for xb in 0..row_bytes {
                let byte = data[r * row_bytes + xb];
                for bit in 0..8 {
                    if byte & (0x80 >> bit) != 0 {
                        self.image.set(xb * 8 + bit, self.y + r);
                    }
                }
            }
        }
        self.y += rows;
        self.out.raster_bands += 1;
    }

    fn qr_command(&mut self, offset: usize, body: &[u8]) -> Result<(), PreviewError> {
        if body.len() < 2 || body[0] != 49 {
            return Err(invalid(offset, "GS ( k for a symbol other than QR".into()));
        }
        let params = &body[2..];
        match (body[1], params) {
            (0x41, [50, 0]) | (0x45, [48..=51]) => {}
            (0x43, [n @ 1..=16]) => self.qr_module = *n,
            (0x50, [48, data @ ..]) if !data.is_empty() => self.qr_data = Some(data.to_vec()),
            (0x51, [48]) => {
                let data = self
                    .qr_data
                    .as_ref()
                    .ok_or_else(|| invalid(offset, "QR print before store".into()))?;
                let text = String::from_utf8_lossy(data).into_owned();
                let matrix = QrMatrix::encode(&text).map_err(|e| invalid(offset, e.to_string()))?;
                let module = usize::from(self.qr_module);
                let (side, luma) = matrix.to_luma(module);
                self.print_line();
                let free = self.image.width().saturating_sub(side);
                let left = match self.align {
                    Align::Left => 0,
                    Align::Center => free / 2,
                    Align::Right => free,
                };
                self.image.grow(self.y + side);
                for (i, &v) in luma.iter().enumerate() {
                    if v < 128 {
                        self.image.set(left + i % side, self.y + i / side);
                    }
                }
                self.y += side;
                self.out.qr_codes.push(text);
            }
            (f, p) => {
                return Err(invalid(
                    offset,
                    format!("GS ( k function {f:#x} with {p:?}"),
                ))
            }
        }
        Ok(())
    }
}

/// The image as 8-bit grey (0 black, 255 white), one pixel per dot, for a PNG.
pub fn to_luma(image: &Bitmap) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.width() * image.height());
    for y in 0..image.height() {
        for x in 0..image.width() {
            out.push(if image.get(x, y) { 0 } else { 255 });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::escpos::{EscPos, QrErrorCorrection};
    use super::*;

    #[test]
    fn reads_back_text_qr_raster_and_cut() {
        let fonts = Fonts::bundled().unwrap();
        let mut p = EscPos::new();
        let mut img = Bitmap::new(384, 3);
        img.set(5, 1);
        p.init().code_page(17).align(Align::Center);
        p.line(&CodePage::Cp866.encode("Номер").unwrap());
        p.qr(b"https://x.example/a/1", 4, QrErrorCorrection::M)
            .unwrap();
        p.raster(&img).cut();
        let (image, out) = render(p.bytes(), 384, CodePage::Cp866, &fonts).unwrap();
        assert_eq!(out.text_lines, ["Номер"]);
        assert_eq!(out.qr_codes, ["https://x.example/a/1"]);
        assert_eq!(out.raster_bands, 1);
        assert_eq!(out.code_pages, [17]);
        assert!(out.cut);
        assert!(!image.is_blank());
    }

    #[test]
    fn unknown_and_truncated_commands_are_errors() {
        let fonts = Fonts::bundled().unwrap();
        assert!(matches!(
            render(&[0x1B, b'Z', 0], 384, CodePage::Cp866, &fonts),
            Err(PreviewError::Unknown { offset: 0, .. })
        ));
        assert!(matches!(
            render(
                &[0x1D, b'v', b'0', 0, 48, 0, 2, 0, 1],
                384,
                CodePage::Cp866,
                &fonts
            ),
            Err(PreviewError::Truncated { .. })
        ));
        assert!(matches!(
            render(&[0x07], 384, CodePage::Cp866, &fonts),
            Err(PreviewError::Unknown { .. })
        ));
    }
}
