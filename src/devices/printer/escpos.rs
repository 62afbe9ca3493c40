//! ESC/POS command encoder (pure): initialise, code page, alignment, bold and size, text, raster images (GS v 0), native QR codes (GS ( k), feeds and the cut.

/// Horizontal alignment (`ESC a n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// Error correction of a printed QR code (`GS ( k` function 169).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrErrorCorrection {
    /// ~7 % of the code may be damaged.
    L,
    /// ~15 %: survives a scratched or creased slip. The default.
    M,
    /// ~25 %.
    Q,
    /// ~30 %.
    H,
}

/// The most data a QR code may carry here; far more than a status link needs.
pub const QR_MAX_DATA: usize = 1024;

/// What the encoder refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscPosError {
    #[error("QR code data of {len} bytes is outside 1–{QR_MAX_DATA} bytes — shorten the status link in the configuration")]
    QrDataLength { len: usize },
    #[error("QR module size {0} is outside 1–16 dots")]
    QrModuleSize(u8),
    #[error("character size {0}× is outside 1–8")]
    TextSize(u8),
}

/// A 1-bit image, one bit per printer dot, rows packed MSB first (1 = black).
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: usize,
    height: usize,
    bits: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap {{ {}×{} }}", self.width, self.height)
    }
}

impl Bitmap {
    /// A white image; the width is rounded up to whole bytes.
    pub fn new(width: usize, height: usize) -> Bitmap {
        let width = width.div_ceil(8) * 8;
        Bitmap {
            width,
            height,
            bits: vec![0; width / 8 * height],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.width / 8
    }

    /// The packed rows.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Blackens the dot at (`x`, `y`); outside the image nothing happens.
    pub fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.height {
            let i = y * self.row_bytes() + x / 8;
            if let Some(b) = self.bits.get_mut(i) {
                *b |= 0x80 >> (x % 8);
            }
        }
    }

    /// Whether the dot at (`x`, `y`) is black.
    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.height
            && self
                .bits
                .get(y * self.row_bytes() + x / 8)
                .is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    /// Whether any dot is black.
    pub fn is_blank(&self) -> bool {
        self.bits.iter().all(|&b| b == 0)
    }

    /// Makes the image at least `height` rows tall (new rows are white).
    pub fn grow(&mut self, height: usize) {
        if height > self.height {
            self.height = height;
            self.bits.resize(self.row_bytes() * height, 0);
        }
    }
}

/// Tallest raster band sent in one `GS v 0`: small printers buffer little, so a tall image
/// goes in several bands, which prints identically.
pub const RASTER_BAND_ROWS: usize = 256;

/// Blank rows from which a raster image feeds paper instead of sending white dots; shorter
/// gaps stay inside a band, so a line of text is never split into stop-and-go strips.
pub const RASTER_SKIP_ROWS: usize = 8;

/// Builds an ESC/POS byte stream.
#[derive(Debug, Default, Clone)]
pub struct EscPos {
    buf: Vec<u8>,
}

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const LF: u8 = 0x0A;

impl EscPos {
    pub fn new() -> EscPos {
        EscPos::default()
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// `ESC @`: clears the printer's settings and buffer.
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'@']);
        self
    }

    /// `ESC t n`: selects the character table for bytes 0x80–0xFF.
    pub fn code_page(&mut self, n: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b't', n]);
        self
    }

    /// `ESC a n`.
    pub fn align(&mut self, align: Align) -> &mut Self {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        };
        self.buf.extend_from_slice(&[ESC, b'a', n]);
        self
    }

    /// `ESC E n`: emphasised (bold) text.
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self
    }

    /// `GS ! n`: character width and height multipliers, 1–8 each.
    pub fn size(&mut self, width: u8, height: u8) -> Result<&mut Self, EscPosError> {
        for m in [width, height] {
            if !(1..=8).contains(&m) {
                return Err(EscPosError::TextSize(m));
            }
        }
        self.buf
            .extend_from_slice(&[GS, b'!', ((width - 1) << 4) | (height - 1)]);
        Ok(self)
    }

    /// Text already encoded in the selected code page, followed by a line feed. Bytes below
    /// 0x20 are dropped: text never smuggles in a command.
    pub fn line(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf
            .extend(encoded.iter().copied().filter(|&b| b >= 0x20));
        self.buf.push(LF);
        self
    }

    /// `ESC d n`: prints the buffer and feeds `n` lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// `ESC J n`: feeds `n` dots (1/203 inch on most thermal printers).
    pub fn feed_dots(&mut self, dots: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'J', dots]);
        self
    }

    /// `GS v 0`: a raster image in normal density, printed from the left margin whatever
    /// the alignment. Sent lean, because a serial line is slow: runs of at least
    /// [`RASTER_SKIP_ROWS`] blank rows become paper feeds (`ESC J`), each band is cut off
    /// after its rightmost black dot, and bands are at most [`RASTER_BAND_ROWS`] rows tall.
    pub fn raster(&mut self, image: &Bitmap) -> &mut Self {
        let rb = image.row_bytes();
        let used = |y: usize| {
            image.bits[y * rb..(y + 1) * rb]
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |i| i + 1)
        };
        let blank_run = |from: usize| (from..image.height()).take_while(|&y| used(y) == 0).count();
        let mut y = 0;
        while y < image.height() {
            let blank = blank_run(y);
            if blank >= RASTER_SKIP_ROWS || y + blank == image.height() {
                self.feed_blank(blank);
                y += blank;
                continue;
            }
            // A band: up to the next long blank run, the end, or the band limit.
            let start = y;
            let mut width = 1;
            while y < image.height() && y - start < RASTER_BAND_ROWS {
                let blank = blank_run(y);
                if blank >= RASTER_SKIP_ROWS || y + blank == image.height() {
                    break;
                }
                let end = (y + blank.max(1)).min(start + RASTER_BAND_ROWS);
                for row in y..end {
                    width = width.max(used(row));
                }
                y = end;
            }
            let [xl, xh] = le16(width);
            let [yl, yh] = le16(y - start);
            self.buf
                .extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
            for row in start..y {
                self.buf
                    .extend_from_slice(&image.bits[row * rb..row * rb + width]);
            }
        }
        self
    }

    /// Blank paper of `dots` rows, in `ESC J` steps.
    fn feed_blank(&mut self, mut dots: usize) {
        while dots > 0 {
            let step = dots.min(255);
            self.feed_dots(u8::try_from(step).unwrap_or(255));
            dots -= step;
        }
    }

    /// A QR code with the printer's own encoder (`GS ( k`, model 2): select the model, the
    /// module size in dots, the error correction, store the data, print it.
    pub fn qr(
        &mut self,
        data: &[u8],
        module_dots: u8,
        ec: QrErrorCorrection,
    ) -> Result<&mut Self, EscPosError> {
        if data.is_empty() || data.len() > QR_MAX_DATA {
            return Err(EscPosError::QrDataLength { len: data.len() });
        }
        if !(1..=16).contains(&module_dots) {
            return Err(EscPosError::QrModuleSize(module_dots));
        }
        let ec = match ec {
            QrErrorCorrection::L => 48,
            QrErrorCorrection::M => 49,
            QrErrorCorrection::Q => 50,
            QrErrorCorrection::H => 51,
        };
        // Function 165: model 2.
        self.gs_k(0x41, &[50, 0]);
        // Function 167: module size.
        self.gs_k(0x43, &[module_dots]);
        // Function 169: error correction level.
        self.gs_k(0x45, &[ec]);
        // Function 180: store the data in the symbol storage area (m = 48).
        let mut store = Vec::with_capacity(data.len() + 1);
        store.push(48);
        store.extend_from_slice(data);
        self.gs_k(0x50, &store);
        // Function 181: print the stored symbol (m = 48).
        self.gs_k(0x51, &[48]);
        Ok(self)
    }

    /// `GS ( k pL pH cn fn params` for the QR code symbol (cn = 49).
    fn gs_k(&mut self, function: u8, params: &[u8]) {
        let [pl, ph] = le16(params.len() + 2);
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', pl, ph, 49, function]);
        self.buf.extend_from_slice(params);
    }

    /// `GS V 66 0`: feeds the paper to the cutter and cuts (partially, so the slip hangs
    /// until taken). Printers without a cutter ignore it.
    pub fn cut(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'V', 66, 0]);
        self
    }
}

/// `n` as the two little-endian bytes ESC/POS uses for lengths (callers keep `n` < 65536).
fn le16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes()
}

/// `DLE EOT 2` (offline cause) and `DLE EOT 4` (paper sensor): real-time status requests a
/// printer answers with one byte each, even while busy.
pub const STATUS_REQUEST: [u8; 6] = [0x10, 0x04, 2, 0x10, 0x04, 4];

/// What the printer said about itself in answer to [`STATUS_REQUEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterStatus {
    Ready,
    /// Paper is low but printing still works.
    PaperLow,
    PaperOut,
    CoverOpen,
    /// The printer reports an error it cannot recover from by itself (cutter jam, head
    /// overheat).
    Error,
}

impl PrinterStatus {
    /// Reads the two answer bytes; `None` if they are not status bytes (a printer that
    /// does not speak DLE EOT, or line noise).
    pub fn parse(offline_cause: u8, paper: u8) -> Option<PrinterStatus> {
        // Every status byte has bits 1 and 4 set and bits 0 and 7 clear.
        let valid = |b: u8| b & 0b1001_0011 == 0b0001_0010;
        if !(valid(offline_cause) && valid(paper)) {
            return None;
        }
        Some(if paper & 0x60 != 0 || offline_cause & 0x20 != 0 {
            PrinterStatus::PaperOut
        } else if offline_cause & 0x04 != 0 {
            PrinterStatus::CoverOpen
        } else if offline_cause & 0x40 != 0 {
            PrinterStatus::Error
        } else if paper & 0x0C != 0 {
            PrinterStatus::PaperLow
        } else {
            PrinterStatus::Ready
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a `GS ( k` stream into (cn, fn, params), checking every length field.
    fn gs_k_commands(mut bytes: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert_eq!(&bytes[..3], [GS, b'(', b'k'], "not GS ( k: {bytes:?}");
            let len = usize::from(bytes[3]) + 256 * usize::from(bytes[4]);
            assert!(len >= 2, "length covers cn and fn");
            assert!(bytes.len() >= 5 + len, "length runs past the end");
            out.push((bytes[5], bytes[6], bytes[7..5 + len].to_vec()));
            bytes = &bytes[5 + len..];
        }
        out
    }

    #[test]
    fn qr_command_is_well_formed() {
        let url = b"https://senim.example/a/A-7Q2M9XK3";
        let mut p = EscPos::new();
        p.qr(url, 6, QrErrorCorrection::M).unwrap();
        let cmds = gs_k_commands(p.bytes());
        assert_eq!(
            cmds,
            vec![
                (49, 0x41, vec![50, 0]),
                (49, 0x43, vec![6]),
                (49, 0x45, vec![49]),
                (49, 0x50, [&[48][..], url].concat()),
                (49, 0x51, vec![48]),
            ]
        );
    }

    #[test]
    fn qr_store_length_uses_the_high_byte_for_long_data() {
        let data = vec![b'x'; 300];
        let mut p = EscPos::new();
        p.qr(&data, 4, QrErrorCorrection::L).unwrap();
        let store = gs_k_commands(p.bytes())
            .into_iter()
            .find(|c| c.1 == 0x50)
            .unwrap();
        assert_eq!(store.2.len(), 301);
        // pL pH = 303 = 0x012F.
        let at = p
            .bytes()
            .windows(7)
            .position(|w| w[5..] == [49, 0x50])
            .unwrap();
        assert_eq!(p.bytes()[at + 3..at + 5], [0x2F, 0x01]);
    }

    #[test]
    fn qr_refuses_empty_or_huge_data_and_bad_sizes() {
        let mut p = EscPos::new();
        assert_eq!(
            p.qr(b"", 6, QrErrorCorrection::M).err(),
            Some(EscPosError::QrDataLength { len: 0 })
        );
        assert!(p.qr(&[b'x'; 2000], 6, QrErrorCorrection::M).is_err());
        assert!(p.qr(b"x", 0, QrErrorCorrection::M).is_err());
        assert!(p.qr(b"x", 17, QrErrorCorrection::M).is_err());
        assert!(p.bytes().is_empty(), "a refused QR code writes nothing");
    }

    #[test]
    fn raster_header_matches_the_image_and_tall_images_are_banded() {
        let mut img = Bitmap::new(384, 300);
        for y in 0..300 {
            img.set(0, y);
            img.set(383, y);
        }
        let mut p = EscPos::new();
        p.raster(&img);
        let b = p.bytes();
        assert_eq!(
            &b[..8],
            [GS, b'v', b'0', 0, 48, 0, 0, 1],
            "48 bytes × 256 rows"
        );
        assert_eq!((b[8], b[8 + 47]), (0x80, 0x01), "first row: both edges");
        let second = 8 + 48 * 256;
        assert_eq!(&b[second..second + 8], [GS, b'v', b'0', 0, 48, 0, 44, 0]);
        assert_eq!(b.len(), 2 * 8 + 48 * 300);
    }

    #[test]
    fn raster_feeds_blank_rows_and_trims_white_on_the_right() {
        // A dot near the left at row 2, blank rows 3..40, a dot at x=100 on row 40, then 5
        // blank rows at the bottom.
        let mut img = Bitmap::new(384, 46);
        img.set(3, 2);
        img.set(100, 40);
        let mut p = EscPos::new();
        p.raster(&img);
        let mut want = vec![GS, b'v', b'0', 0, 1, 0, 3, 0, 0, 0, 0x10];
        want.extend_from_slice(&[ESC, b'J', 37]);
        want.extend_from_slice(&[GS, b'v', b'0', 0, 13, 0, 1, 0]);
        want.extend_from_slice(&[0; 12]);
        want.push(0x08);
        want.extend_from_slice(&[ESC, b'J', 5]);
        assert_eq!(p.bytes(), want);
        // A blank image is all feed, in steps of at most 255 dots.
        let mut p = EscPos::new();
        p.raster(&Bitmap::new(384, 300));
        assert_eq!(p.bytes(), [ESC, b'J', 255, ESC, b'J', 45]);
    }

    #[test]
    fn bitmap_width_rounds_up_to_bytes() {
        let mut img = Bitmap::new(10, 2);
        assert_eq!((img.width(), img.row_bytes()), (16, 2));
        assert!(img.is_blank());
        img.set(9, 1);
        img.set(100, 100);
        assert!(img.get(9, 1) && !img.get(8, 1));
        assert_eq!(img.bits(), [0, 0, 0, 0x40]);
    }

    #[test]
    fn text_styles_and_cut() {
        let mut p = EscPos::new();
        p.init()
            .code_page(17)
            .align(Align::Center)
            .bold(true)
            .size(2, 3)
            .unwrap()
            .line(b"A\x1b@B")
            .feed(3)
            .cut();
        assert_eq!(
            p.bytes(),
            [
                ESC, b'@', ESC, b't', 17, ESC, b'a', 1, ESC, b'E', 1, GS, b'!', 0x12, b'A', b'@',
                b'B', LF, ESC, b'd', 3, GS, b'V', 66, 0
            ]
        );
        assert_eq!(p.size(9, 1).err(), Some(EscPosError::TextSize(9)));
    }

    #[test]
    fn status_bytes() {
        assert_eq!(PrinterStatus::parse(0x12, 0x12), Some(PrinterStatus::Ready));
        assert_eq!(
            PrinterStatus::parse(0x12, 0x72),
            Some(PrinterStatus::PaperOut)
        );
        assert_eq!(
            PrinterStatus::parse(0x32, 0x12),
            Some(PrinterStatus::PaperOut)
        );
        assert_eq!(
            PrinterStatus::parse(0x16, 0x12),
            Some(PrinterStatus::CoverOpen)
        );
        assert_eq!(PrinterStatus::parse(0x52, 0x12), Some(PrinterStatus::Error));
        assert_eq!(
            PrinterStatus::parse(0x12, 0x1E),
            Some(PrinterStatus::PaperLow)
        );
        assert_eq!(PrinterStatus::parse(0x00, 0x12), None);
        assert_eq!(PrinterStatus::parse(b'A', b'B'), None);
    }
}
