//! Pure byte-stream framer for serial barcode scanners: suffix/timeout framing, AIM symbology stripping, MRZ line assembly and duplicate collapse.
//!
//! No I/O and no clock: callers pass `now` to [`Framer::push`] and [`Framer::poll`] and
//! wake up at [`Framer::next_deadline`].
//!
//! Over 600 lines because of its tests (from line ~340): the framer itself is ~330 lines.

use std::fmt;
use std::time::{Duration, Instant};

use super::{ScannerOptions, Suffix};
use crate::identity::mrz::{is_mrz_char, TD1_LINES, TD1_LINE_LEN};

/// A framing problem; the offending line is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The line was not valid UTF-8.
    #[error("the scanner sent a {bytes}-byte line that is not UTF-8 text; set the scanner to ASCII/UTF-8 output (no keyboard-layout or code-page mode)")]
    NotUtf8 {
        /// Length of the discarded line in bytes.
        bytes: usize,
    },
    /// The line exceeded `max_line_bytes`; bytes are discarded up to the next terminator.
    #[error("the scanner sent a line longer than {limit} bytes; check that the scanner's suffix matches the kiosk's scanner.suffix setting, or raise max_line_bytes")]
    TooLong {
        /// The configured `max_line_bytes`.
        limit: usize,
    },
}

impl FramingError {
    /// Stable snake_case code: `not_utf8` or `too_long`.
    pub fn code(&self) -> &'static str {
        match self {
            FramingError::NotUtf8 { .. } => "not_utf8",
            FramingError::TooLong { .. } => "too_long",
        }
    }
}

/// One decoded read. `Debug` shows lengths only, never the text.
#[derive(Clone, PartialEq, Eq)]
pub struct FrameText {
    /// Decoded text without terminator and AIM identifier; MRZ lines joined with `\n`.
    pub text: String,
    /// AIM symbology identifier, e.g. `]C0`, if the scanner sent one.
    pub symbology: Option<String>,
    /// Bytes received for this read, terminators excluded.
    pub raw_len: usize,
}

impl fmt::Debug for FrameText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameText")
            .field("text_chars", &self.text.chars().count())
            .field("symbology", &self.symbology)
            .field("raw_len", &self.raw_len)
            .finish()
    }
}

/// Output of the framer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete read.
    Text(FrameText),
    /// A discarded line.
    Error(FramingError),
}

/// Splits a scanner byte stream into reads.
///
/// - `Cr` / `Lf` / `CrLf` suffix: a line ends at the terminator. `CrLf` also accepts a lone
///   LF, and a lone CR followed by `inter_byte_timeout` of silence; `Lf` drops a CR just
///   before the LF; `Cr` skips an LF right after the CR.
/// - `None`: a read ends after `inter_byte_timeout` of silence (trailing CR/LF dropped).
/// - Lines over `max_line_bytes` give [`FramingError::TooLong`] once and are discarded to the
///   next terminator; non-UTF-8 lines give [`FramingError::NotUtf8`]; blank lines are ignored.
/// - A leading AIM identifier (`]` + letter + letter/digit) is stripped into `symbology`.
/// - A 30-character MRZ-alphabet line starting with `I`, `A` or `C` is held; each following
///   30-character MRZ line within `mrz_assembly_window` of the previous one is added, and
///   three lines are emitted as one read joined by `\n`. When the window elapses, or a
///   non-MRZ line arrives, what is held is emitted as it is.
/// - A read whose text equals the last emitted read within `duplicate_window` is dropped.
pub struct Framer {
    suffix: Suffix,
    inter_byte_timeout: Duration,
    max_line_bytes: usize,
    duplicate_window: Duration,
    mrz_window: Duration,
    buf: Vec<u8>,
    discarding: bool,
    pending_cr: bool,
    skip_lf: bool,
    last_byte: Option<Instant>,
    held: Vec<FrameText>,
    held_deadline: Option<Instant>,
    last_read: Option<(String, Instant)>,
}

impl fmt::Debug for Framer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framer")
            .field("suffix", &self.suffix)
            .field("buffered_bytes", &self.buf.len())
            .field("discarding", &self.discarding)
            .field("held_mrz_lines", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl Framer {
    /// A framer configured from `options` (port and baud are ignored).
    pub fn new(options: &ScannerOptions) -> Framer {
        Framer {
            suffix: options.suffix,
            inter_byte_timeout: options.inter_byte_timeout,
            max_line_bytes: options.max_line_bytes,
            duplicate_window: options.duplicate_window,
            mrz_window: options.mrz_assembly_window,
            buf: Vec::new(),
            discarding: false,
            pending_cr: false,
            skip_lf: false,
            last_byte: None,
            held: Vec::new(),
            held_deadline: None,
            last_read: None,
        }
    }

    /// Feeds bytes received at `now`; returns the reads completed (including any whose
    /// timeout had already elapsed before these bytes arrived).
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Frame> {
        let mut out = self.poll(now);
        for &b in bytes {
            self.push_byte(b, now, &mut out);
        }
        if !bytes.is_empty() {
            self.last_byte = Some(now);
        }
        out
    }

    /// Completes reads whose timeout (inter-byte silence or MRZ assembly window) has elapsed.
    pub fn poll(&mut self, now: Instant) -> Vec<Frame> {
        let mut out = Vec::new();
        let line_due = self.line_deadline().filter(|&d| d <= now);
        if let Some(held) = self.held_deadline.filter(|&d| d <= now) {
            if line_due.is_none_or(|l| held <= l) {
                self.flush_held(held, &mut out);
            }
        }
        if let Some(at) = line_due {
            self.pending_cr = false;
            self.end_line(at, &mut out);
        }
        if let Some(held) = self.held_deadline.filter(|&d| d <= now) {
            self.flush_held(held, &mut out);
        }
        out
    }

    /// The earliest instant at which [`Framer::poll`] may produce something, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.line_deadline(), self.held_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn line_deadline(&self) -> Option<Instant> {
        let waiting = match self.suffix {
            Suffix::None => !self.buf.is_empty() || self.discarding,
            Suffix::CrLf => self.pending_cr,
            Suffix::Cr | Suffix::Lf => false,
        };
        if waiting {
            self.last_byte
                .and_then(|t| t.checked_add(self.inter_byte_timeout))
        } else {
            None
        }
    }

    fn push_byte(&mut self, b: u8, now: Instant, out: &mut Vec<Frame>) {
        match self.suffix {
            Suffix::Cr => {
                let skip = std::mem::take(&mut self.skip_lf);
                if b == b'\r' {
                    self.end_line(now, out);
                    self.skip_lf = true;
                } else if !(skip && b == b'\n') {
                    self.append(b, out);
                }
            }
            Suffix::Lf => {
                if b == b'\n' {
                    if !self.discarding && self.buf.last() == Some(&b'\r') {
                        self.buf.pop();
                    }
                    self.end_line(now, out);
                } else {
                    self.append(b, out);
                }
            }
            Suffix::CrLf => {
                if std::mem::take(&mut self.pending_cr) {
                    if b == b'\n' {
                        self.end_line(now, out);
                        return;
                    }
                    self.append(b'\r', out);
                }
                match b {
                    b'\r' => self.pending_cr = true,
                    b'\n' => self.end_line(now, out),
                    _ => self.append(b, out),
                }
            }
            Suffix::None => self.append(b, out),
        }
    }

    fn append(&mut self, b: u8, out: &mut Vec<Frame>) {
        if self.discarding {
            return;
        }
        if self.buf.len() >= self.max_line_bytes {
            self.buf.clear();
            self.discarding = true;
            out.push(Frame::Error(FramingError::TooLong {
                limit: self.max_line_bytes,
            }));
            return;
        }
        self.buf.push(b);
    }

    fn end_line(&mut self, at: Instant, out: &mut Vec<Frame>) {
        let bytes = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.discarding) || bytes.is_empty() {
            return;
        }
        let raw_len = bytes.len();
        let mut text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                out.push(Frame::Error(FramingError::NotUtf8 { bytes: raw_len }));
                return;
            }
        };
        if self.suffix == Suffix::None {
            let keep = text.trim_end_matches(['\r', '\n']).len();
            text.truncate(keep);
        }
        let (text, symbology) = strip_aim(text);
        if text.trim().is_empty() {
            return;
        }
        self.accept(
            FrameText {
                text,
                symbology,
                raw_len,
            },
            at,
            out,
        );
    }

    fn accept(&mut self, frame: FrameText, at: Instant, out: &mut Vec<Frame>) {
        let mrz_line = frame.text.len() == TD1_LINE_LEN && frame.text.chars().all(is_mrz_char);
        if !self.held.is_empty() {
            if mrz_line {
                self.held.push(frame);
                self.held_deadline = at.checked_add(self.mrz_window);
                if self.held.len() >= TD1_LINES {
                    self.flush_held(at, out);
                }
                return;
            }
            self.flush_held(at, out);
        }
        if mrz_line && frame.text.starts_with(['I', 'A', 'C']) {
            self.held.push(frame);
            self.held_deadline = at.checked_add(self.mrz_window);
            // A zero window (or an unrepresentable deadline) means: do not assemble.
            if self.held_deadline.is_none_or(|d| d <= at) {
                self.flush_held(at, out);
            }
            return;
        }
        self.emit(frame, at, out);
    }

    fn flush_held(&mut self, at: Instant, out: &mut Vec<Frame>) {
        self.held_deadline = None;
        let held = std::mem::take(&mut self.held);
        let Some(first) = held.first() else {
            return;
        };
        let frame = FrameText {
            text: held
                .iter()
                .map(|f| f.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            symbology: first.symbology.clone(),
            raw_len: held.iter().map(|f| f.raw_len).sum(),
        };
        self.emit(frame, at, out);
    }

    fn emit(&mut self, frame: FrameText, at: Instant, out: &mut Vec<Frame>) {
        if let Some((text, when)) = &self.last_read {
            if *text == frame.text && at.saturating_duration_since(*when) < self.duplicate_window {
                return;
            }
        }
        self.last_read = Some((frame.text.clone(), at));
        out.push(Frame::Text(frame));
    }
}

/// Splits a leading AIM symbology identifier (`]` + ASCII letter + ASCII letter/digit).
fn strip_aim(text: String) -> (String, Option<String>) {
    let b = text.as_bytes();
    let is_aim =
        b.len() >= 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphanumeric();
    match (is_aim, text.get(..3), text.get(3..)) {
        (true, Some(id), Some(rest)) => (rest.to_owned(), Some(id.to_owned())),
        _ => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::mrz::test_support::Td1;
    use crate::identity::{classify, Kind};

    const MS: Duration = Duration::from_millis(1);

    fn opts(suffix: Suffix) -> ScannerOptions {
        ScannerOptions {
            port: "/dev/null".into(),
            suffix,
            ..ScannerOptions::default()
        }
    }

    fn texts(frames: &[Frame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                Frame::Text(t) => t.text.clone(),
                Frame::Error(e) => format!("!{}", e.code()),
            })
            .collect()
    }

    #[test]
    fn crlf_and_lone_lf() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        let out = f.push(b"880101300010\r\n900502400122\nabc", t);
        assert_eq!(texts(&out), ["880101300010", "900502400122"]);
        assert_eq!(texts(&f.push(b"\r", t)), Vec::<String>::new());
        assert_eq!(f.next_deadline(), Some(t + 50 * MS));
        assert!(f.poll(t + 49 * MS).is_empty());
        // A lone CR followed by silence also ends the line.
        assert_eq!(texts(&f.poll(t + 50 * MS)), ["abc"]);
        assert_eq!(f.next_deadline(), None);
        // A CR not followed by LF or silence stays in the text.
        let out = f.push(b"a\rb\r\n", t + 100 * MS);
        assert_eq!(texts(&out), ["a\rb"]);
    }

    #[test]
    fn byte_at_a_time() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        let mut all = Vec::new();
        for (i, b) in b"880101300010\r\n".iter().enumerate() {
            all.extend(f.push(&[*b], t + i as u32 * MS));
        }
        assert_eq!(texts(&all), ["880101300010"]);
        match &all[0] {
            Frame::Text(ft) => assert_eq!(ft.raw_len, 12),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cr_and_lf_suffixes() {
        let t = Instant::now();
        let mut f = Framer::new(&opts(Suffix::Cr));
        assert_eq!(
            texts(&f.push(b"one\rtwo\r\nthree\r", t)),
            ["one", "two", "three"]
        );
        let mut f = Framer::new(&opts(Suffix::Lf));
        assert_eq!(texts(&f.push(b"one\ntwo\r\n\n\nx\r", t)), ["one", "two"]);
        assert_eq!(f.next_deadline(), None);
    }

    #[test]
    fn timeout_framing() {
        let mut f = Framer::new(&opts(Suffix::None));
        let t = Instant::now();
        assert!(f.push(b"8801013", t).is_empty());
        assert!(f.push(b"00010", t + 20 * MS).is_empty());
        assert_eq!(f.next_deadline(), Some(t + 70 * MS));
        assert!(f.poll(t + 69 * MS).is_empty());
        assert_eq!(texts(&f.poll(t + 70 * MS)), ["880101300010"]);
        // A late push first completes the previous read.
        assert!(f.push(b"abc\r\n", t + 200 * MS).is_empty());
        assert_eq!(texts(&f.push(b"def", t + 300 * MS)), ["abc"]);
        assert_eq!(texts(&f.poll(t + 400 * MS)), ["def"]);
    }

    #[test]
    fn empty_lines_ignored() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        assert!(f
            .push(b"\r\n\r\n  \r\n\n]C0\r\n", Instant::now())
            .is_empty());
    }

    #[test]
    fn too_long_then_recovers() {
        let mut o = opts(Suffix::CrLf);
        o.max_line_bytes = 16;
        let mut f = Framer::new(&o);
        let t = Instant::now();
        let mut long = vec![b'A'; 40];
        long.extend_from_slice(b"\r\n880101300010\r\n");
        assert_eq!(texts(&f.push(&long, t)), ["!too_long", "880101300010"]);
        // Exactly at the limit is fine.
        assert_eq!(
            texts(&f.push(b"1234567890123456\r\n", t)),
            ["1234567890123456"]
        );
        let mut o = opts(Suffix::None);
        o.max_line_bytes = 4;
        let mut f = Framer::new(&o);
        assert_eq!(texts(&f.push(b"123456789", t)), ["!too_long"]);
        assert!(f.poll(t + 100 * MS).is_empty());
        assert_eq!(texts(&f.push(b"1234", t + 200 * MS)), Vec::<String>::new());
        assert_eq!(texts(&f.poll(t + 300 * MS)), ["1234"]);
    }

    #[test]
    fn not_utf8_then_recovers() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let out = f.push(b"\xff\xfe\r\n880101300010\r\n", Instant::now());
        assert_eq!(out[0], Frame::Error(FramingError::NotUtf8 { bytes: 2 }));
        assert_eq!(texts(&out), ["!not_utf8", "880101300010"]);
    }

    #[test]
    fn aim_identifiers() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        for (input, id, text) in [
            ("]C0880101300010", "]C0", "880101300010"),
            ("]E04006381333931", "]E0", "4006381333931"),
            ("]Q1SENIM-TECH:abcdefgh", "]Q1", "SENIM-TECH:abcdefgh"),
            ("]L2pdf", "]L2", "pdf"),
            ("]d2dm", "]d2", "dm"),
            ("]A0CODE39", "]A0", "CODE39"),
            ("]I012345678", "]I0", "12345678"),
        ] {
            let out = f.push(format!("{input}\r\n").as_bytes(), t);
            match out.as_slice() {
                [Frame::Text(ft)] => {
                    assert_eq!(ft.text, text);
                    assert_eq!(ft.symbology.as_deref(), Some(id));
                    assert_eq!(ft.raw_len, input.len());
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        let out = f.push(b"]9x\r\n]\r\n", t);
        assert_eq!(texts(&out), ["]9x", "]"]);
    }

    #[test]
    fn mrz_assembly() {
        let lines = Td1::kazakh("880101300010").lines();
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        assert!(f
            .push(format!("]L2{}\r\n", lines[0]).as_bytes(), t)
            .is_empty());
        assert_eq!(f.next_deadline(), Some(t + 300 * MS));
        assert!(f
            .push(format!("{}\r\n", lines[1]).as_bytes(), t + 200 * MS)
            .is_empty());
        assert!(f.poll(t + 450 * MS).is_empty(), "window restarts per line");
        let out = f.push(format!("{}\r\n", lines[2]).as_bytes(), t + 450 * MS);
        match out.as_slice() {
            [Frame::Text(ft)] => {
                assert_eq!(ft.text, lines.join("\n"));
                assert_eq!(ft.symbology.as_deref(), Some("]L2"));
                assert_eq!(ft.raw_len, 93);
                let c = classify(&ft.text);
                assert_eq!(c.kind, Kind::Mrz);
                assert!(c.result.is_ok());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.next_deadline(), None);
    }

    #[test]
    fn mrz_window_elapses() {
        let lines = Td1::kazakh("880101300010").lines();
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        assert!(f.push(format!("{}\r\n", lines[0]).as_bytes(), t).is_empty());
        assert!(f
            .push(format!("{}\r\n", lines[1]).as_bytes(), t + 10 * MS)
            .is_empty());
        assert!(f.poll(t + 309 * MS).is_empty());
        let out = f.poll(t + 310 * MS);
        assert_eq!(texts(&out), [lines[..2].join("\n")]);
        let Frame::Text(ft) = &out[0] else {
            panic!("{out:?}")
        };
        let c = classify(&ft.text);
        assert_eq!(c.kind, Kind::Mrz);
        assert_eq!(c.result.err().map(|r| r.code()), Some("mrz_shape"));
    }

    #[test]
    fn mrz_interrupted_by_other_line() {
        let lines = Td1::kazakh("880101300010").lines();
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        assert!(f.push(format!("{}\r\n", lines[0]).as_bytes(), t).is_empty());
        let out = f.push(b"880101300010\r\n", t);
        assert_eq!(texts(&out), [lines[0].clone(), "880101300010".into()]);
        // A 30-char MRZ line not starting with I/A/C is not held.
        let out = f.push(format!("{}\r\n", lines[1]).as_bytes(), t);
        assert_eq!(texts(&out), [lines[1].clone()]);
    }

    #[test]
    fn duplicates_collapse() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let t = Instant::now();
        assert_eq!(
            texts(&f.push(b"880101300010\r\n880101300010\r\n", t)),
            ["880101300010"]
        );
        assert!(f.push(b"880101300010\r\n", t + 999 * MS).is_empty());
        assert_eq!(
            texts(&f.push(b"880101300010\r\n", t + 1000 * MS)),
            ["880101300010"]
        );
        // A different read in between resets the comparison.
        assert_eq!(
            texts(&f.push(b"900502400122\r\n880101300010\r\n", t + 1001 * MS)),
            ["900502400122", "880101300010"]
        );
        // Errors are never collapsed.
        assert_eq!(
            texts(&f.push(b"\xff\r\n\xff\r\n", t + 1002 * MS)),
            ["!not_utf8", "!not_utf8"]
        );
    }

    #[test]
    fn debug_hides_text() {
        let mut f = Framer::new(&opts(Suffix::CrLf));
        let out = f.push(b"]C0880101300010\r\n", Instant::now());
        let dbg = format!("{out:?} {f:?}");
        assert!(!dbg.contains("0101300"), "{dbg}");
    }

    proptest::proptest! {
        /// Whatever bytes arrive, in whatever pieces: no panic, no frame over the limit, and
        /// the same bytes framed in one piece or many give the same reads (Suffix::Lf).
        #[test]
        fn any_bytes_any_chunking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            chunk in 1usize..40,
        ) {
            let options = ScannerOptions { max_line_bytes: 64, ..opts(Suffix::Lf) };
            let t0 = Instant::now();
            let mut whole = Framer::new(&options);
            let mut all = whole.push(&bytes, t0);
            all.extend(whole.poll(t0 + Duration::from_secs(60)));
            let mut pieces = Framer::new(&options);
            let mut parts = Vec::new();
            for part in bytes.chunks(chunk) {
                parts.extend(pieces.push(part, t0));
            }
            parts.extend(pieces.poll(t0 + Duration::from_secs(60)));
            proptest::prop_assert_eq!(texts(&all), texts(&parts));
            for frame in &all {
                if let Frame::Text(t) = frame {
                    proptest::prop_assert!(t.raw_len <= 64 * 3 + 2);
                    let _ = classify(&t.text);
                }
            }
        }
    }
}
