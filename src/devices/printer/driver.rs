//! The printer's thread: open the link (serial port or device file), watch its health (path, status queries), print each slip with bounded waits, close and reopen after a failure.
//!
//! The tests play a serial printer on a pty and a USB printer-class one on a FIFO.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::escpos::PrinterStatus;
use super::layout::layout;
use super::link::{describe, Link};
use super::text::Fonts;
use super::{PrinterError, PrinterEvent, PrinterHealth, PrinterOptions, Slip};

/// How long the thread waits for a slip before looking after the port again; bounds how
/// long a stop request waits when idle.
const TICK: Duration = Duration::from_millis(100);
const BACKOFF_START: Duration = Duration::from_secs(1);
/// Short enough that a replugged printer is healthy again within seconds: the kiosk only
/// sends slips to a healthy printer, so recovery must not wait for one.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the device path is checked while the port is open.
const PATH_CHECK: Duration = Duration::from_secs(1);
/// How often an idle printer is asked for its status (when status queries are on), so
/// that loading paper or closing the cover makes it healthy again without a slip.
const STATUS_EVERY: Duration = Duration::from_secs(15);

type Sink<'a> = &'a dyn Fn(PrinterEvent);

/// The thread's state: the open port, if any, and what was last reported.
struct Driver<'a> {
    options: &'a PrinterOptions,
    sink: Sink<'a>,
    port: Option<Link>,
    reported: Option<PrinterHealth>,
    backoff: Duration,
    next_open: Instant,
    path_checked: Instant,
    status_checked: Instant,
}

/// Runs until `stop` is set or the [`super::Printer`] handle is dropped.
pub(super) fn run(
    options: &PrinterOptions,
    fonts: &Fonts,
    jobs: &Receiver<Slip>,
    stop: &AtomicBool,
    sink: Sink<'_>,
) {
    let now = Instant::now();
    let mut d = Driver {
        options,
        sink,
        port: None,
        reported: None,
        backoff: BACKOFF_START,
        next_open: now,
        path_checked: now,
        status_checked: now,
    };
    while !stop.load(Ordering::SeqCst) {
        d.look_after_port();
        match jobs.recv_timeout(TICK) {
            Ok(slip) => d.print(&slip, fonts),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    // A plain close: what was printed last is already sent (`send` waits for that), and
    // flushing here could discard bytes a slow reader has not taken yet.
    drop(d.port.take());
    tracing::debug!(port = options.port, "printer thread stopped");
}

impl Driver<'_> {
    fn report(&mut self, health: PrinterHealth) {
        if self.reported.as_ref() != Some(&health) {
            match &health {
                PrinterHealth::Ok => tracing::info!(port = self.options.port, "printer ready"),
                PrinterHealth::Faulty { reason } => {
                    tracing::warn!(port = self.options.port, reason, "printer faulty")
                }
            }
            self.reported = Some(health.clone());
            (self.sink)(PrinterEvent::Health(health));
        }
    }

    fn faulty(&mut self, error: &PrinterError) {
        self.report(PrinterHealth::Faulty {
            reason: error.to_string(),
        });
    }

    /// Closes a failed port and schedules the next attempt.
    fn close(&mut self, error: &PrinterError) {
        if let Some(port) = self.port.take() {
            port.discard();
        }
        self.faulty(error);
        self.next_open = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Opens the port if it is due, notices a vanished device, asks an idle printer how it is.
    fn look_after_port(&mut self) {
        let now = Instant::now();
        if self.port.is_none() {
            if now >= self.next_open {
                // A failure is reported as health; nobody is waiting for this attempt.
                let _ = self.try_open();
            }
            return;
        }
        if now.duration_since(self.path_checked) >= PATH_CHECK {
            self.path_checked = now;
            if !Path::new(&self.options.port).exists() {
                let e = self.write_error("the device path disappeared");
                self.close(&e);
                return;
            }
        }
        if self.options.query_status && now.duration_since(self.status_checked) >= STATUS_EVERY {
            let _ = self.check_status();
        }
    }

    /// Opens the port and, with status queries on, asks the printer how it is.
    fn try_open(&mut self) -> Result<(), PrinterError> {
        match Link::open(self.options) {
            Ok(port) => {
                self.port = Some(port);
                self.backoff = BACKOFF_START;
                self.path_checked = Instant::now();
                if self.options.query_status {
                    self.check_status()
                } else {
                    self.report(PrinterHealth::Ok);
                    Ok(())
                }
            }
            Err(e) => {
                self.close(&e);
                Err(e)
            }
        }
    }

    /// Queries the status and reports it; `Err` for a status that stops printing, or for a
    /// port that failed (it is then closed).
    fn check_status(&mut self) -> Result<(), PrinterError> {
        self.status_checked = Instant::now();
        let Some(port) = self.port.as_mut() else {
            return Ok(());
        };
        match port.query_status(self.options) {
            Ok(status) => {
                let blocking = match status {
                    Some(PrinterStatus::PaperOut) => Some(PrinterError::PaperOut),
                    Some(PrinterStatus::CoverOpen) => Some(PrinterError::CoverOpen),
                    Some(PrinterStatus::Error) => Some(PrinterError::PrinterError),
                    Some(PrinterStatus::PaperLow) => {
                        tracing::warn!(port = self.options.port, "printer paper is running low");
                        None
                    }
                    Some(PrinterStatus::Ready) | None => None,
                };
                match blocking {
                    Some(e) => {
                        self.faulty(&e);
                        Err(e)
                    }
                    None => {
                        self.report(PrinterHealth::Ok);
                        Ok(())
                    }
                }
            }
            Err(e) => {
                let e = self.write_error(&describe(&e));
                self.close(&e);
                Err(e)
            }
        }
    }

    fn write_error(&self, detail: &str) -> PrinterError {
        PrinterError::Write {
            port: self.options.port.clone(),
            detail: detail.to_string(),
        }
    }

    fn fail(&mut self, error: PrinterError) {
        tracing::warn!(port = self.options.port, error = %error, "slip not printed");
        (self.sink)(PrinterEvent::Failed(error));
    }

    fn print(&mut self, slip: &Slip, fonts: &Fonts) {
        let kind = slip.kind().as_str();
        let bytes = match layout(slip, &self.options.paper, fonts) {
            Ok(bytes) => bytes,
            Err(e) => return self.fail(PrinterError::Layout(e.to_string())),
        };
        let ready = if self.port.is_none() {
            self.try_open()
        } else if self.options.query_status {
            self.check_status()
        } else {
            Ok(())
        };
        if let Err(e) = ready {
            return self.fail(e);
        }
        let Some(port) = self.port.as_mut() else {
            return self.fail(PrinterError::Stopped);
        };
        match port.send(&bytes, self.options) {
            Ok(()) => {
                tracing::info!(kind, bytes = bytes.len(), "slip printed");
                self.report(PrinterHealth::Ok);
                (self.sink)(PrinterEvent::Printed);
            }
            Err(e) => {
                self.close(&e);
                self.fail(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::escpos::STATUS_REQUEST;
    use super::super::preview;
    use super::super::{CodePage, Printer, PrinterOptions, Seen};
    use super::*;
    use crate::flow::Lang;
    use chrono::{NaiveDate, NaiveDateTime};
    use std::fs::File;
    use std::io::{Read, Write};
    use std::sync::mpsc::{self, Receiver};

    const WAIT: Duration = Duration::from_secs(10);
    const CUT: [u8; 4] = [0x1D, b'V', 66, 0];
    const URL: &str = "https://senim.example/a/A-7Q2M9XK3";

    /// A pseudo-terminal pair: the driver opens `path` (the slave); the test plays the
    /// printer on the master, whose bytes a reader thread forwards.
    struct Pty {
        master: File,
        slave: Option<File>,
        path: String,
    }

    fn open_pty() -> Pty {
        let (master, slave, path) = crate::devices::test_pty::open_raw();
        Pty {
            master,
            slave: Some(slave),
            path,
        }
    }

    /// Forwards everything the driver writes to the master.
    fn capture(pty: &Pty) -> Receiver<Vec<u8>> {
        let mut master = pty.master.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// Reads until `done` holds for the bytes so far, or fails after [`WAIT`].
    fn read_until(rx: &Receiver<Vec<u8>>, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => got.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "printer bytes incomplete after {WAIT:?}: {} bytes",
                    got.len()
                ),
            }
        }
        got
    }

    fn options(path: &str, query_status: bool) -> PrinterOptions {
        let mut o = PrinterOptions {
            port: path.into(),
            query_status,
            ..PrinterOptions::default()
        };
        o.paper.width_dots = 384;
        o
    }

    fn start(options: PrinterOptions) -> (Printer, Receiver<PrinterEvent>) {
        let (tx, rx) = mpsc::channel();
        let printer = Printer::spawn(options, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();
        (printer, rx)
    }

    fn next(rx: &Receiver<PrinterEvent>) -> PrinterEvent {
        rx.recv_timeout(WAIT).expect("no printer event in time")
    }

    fn at(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn appeal(lang: Lang) -> Slip {
        Slip::appeal(
            lang,
            "A-7Q2M9XK3",
            "QR7DKXW2M5TBNZ4H",
            at(20, 19),
            Seen::At(at(23, 9)),
            Some(URL),
            "Қарағанды облыстық ауруханасы",
        )
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn appeal_slip_reaches_the_printer_with_number_and_qr_code() {
        let pty = open_pty();
        let bytes_rx = capture(&pty);
        let (printer, rx) = start(options(&pty.path, false));
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        printer.print(appeal(Lang::Ru));
        let bytes = read_until(&bytes_rx, |b| b.ends_with(&CUT));
        assert_eq!(next(&rx), PrinterEvent::Printed);
        assert!(contains(&bytes, b"A-7Q2M9XK3"));
        // GS ( k store (fn 80) with the status link, then print (fn 81).
        let mut store = vec![0x1D, b'(', b'k'];
        store.extend_from_slice(&u16::try_from(URL.len() + 3).unwrap().to_le_bytes());
        store.extend_from_slice(&[49, 0x50, 48]);
        store.extend_from_slice(URL.as_bytes());
        assert!(contains(&bytes, &store));
        assert!(contains(&bytes, &[0x1D, b'(', b'k', 3, 0, 49, 0x51, 48]));
        let fonts = super::super::text::Fonts::bundled().unwrap();
        let (_, out) = preview::render(&bytes, 384, CodePage::Cp866, &fonts).unwrap();
        assert_eq!(out.qr_codes, [URL]);
        assert!(out.text_lines.iter().any(|l| l == "Номер обращения"));
        assert!(out.cut);
    }

    /// A FIFO standing in for a USB printer-class device (`/dev/usb/lp0`): a file that is no
    /// serial port, written as it is; the test reads the other end.
    fn fifo(dir: &Path) -> (String, Receiver<Vec<u8>>) {
        let path = dir.join("lp0");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // Read-write, so opening never waits and the FIFO stays open between slips.
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        (path.to_str().unwrap().to_string(), rx)
    }

    #[test]
    fn a_printer_that_is_no_serial_port_is_written_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes_rx) = fifo(dir.path());
        assert_eq!(
            super::super::link::LinkKind::of(&path),
            super::super::link::LinkKind::File
        );
        // Status queries on: a file that cannot tell its status is printed to (no DLE EOT
        // is sent down the data channel of a printer-class device).
        let (printer, rx) = start(options(&path, true));
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        printer.print(appeal(Lang::Ru));
        let bytes = read_until(&bytes_rx, |b| b.ends_with(&CUT));
        assert_eq!(next(&rx), PrinterEvent::Printed);
        assert!(
            !contains(&bytes, &STATUS_REQUEST),
            "no status query on the data channel"
        );
        let fonts = super::super::text::Fonts::bundled().unwrap();
        let (_, out) = preview::render(&bytes, 384, CodePage::Cp866, &fonts).unwrap();
        assert_eq!(out.qr_codes, [URL]);
        assert!(out.text_lines.iter().any(|l| l == "Номер обращения"));
        assert!(out.cut);
        // A serial port is still a serial port.
        let pty = open_pty();
        assert_eq!(
            super::super::link::LinkKind::of(&pty.path),
            super::super::link::LinkKind::Serial
        );
    }

    #[test]
    fn a_printer_class_device_nobody_takes_from_is_faulty_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lp0");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        // Nobody at the other end: like a printer-class device whose printer is switched off.
        let (_printer, rx) = start(options(path.to_str().unwrap(), false));
        match next(&rx) {
            PrinterEvent::Health(PrinterHealth::Faulty { reason }) => {
                assert!(reason.contains("no such device"), "{reason}")
            }
            other => panic!("expected faulty, got {other:?}"),
        }
        // Someone takes the bytes again: healthy by itself, within the back-off.
        let _reader = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
    }

    #[test]
    fn kazakh_slip_carries_raster_images() {
        let pty = open_pty();
        let bytes_rx = capture(&pty);
        let (printer, rx) = start(options(&pty.path, false));
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        printer.print(appeal(Lang::Kk));
        let bytes = read_until(&bytes_rx, |b| b.ends_with(&CUT));
        assert_eq!(next(&rx), PrinterEvent::Printed);
        let fonts = super::super::text::Fonts::bundled().unwrap();
        let (_, out) = preview::render(&bytes, 384, CodePage::Cp866, &fonts).unwrap();
        // Rules and the Kazakh lines; "Өтініш нөмірі" has no text line, the number does.
        assert!(out.raster_bands >= 8, "{}", out.raster_bands);
        assert!(!out.text_lines.iter().any(|l| l.contains("нөмірі")));
        assert!(out.text_lines.iter().any(|l| l == "A-7Q2M9XK3"));
    }

    #[test]
    fn paper_out_answer_stops_the_slip_and_loaded_paper_lets_it_through() {
        let mut pty = open_pty();
        let bytes_rx = capture(&pty);
        let (printer, rx) = start(options(&pty.path, true));
        // The status query at open: answer "ready".
        read_until(&bytes_rx, |b| b == STATUS_REQUEST);
        pty.master.write_all(&[0x12, 0x12]).unwrap();
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        // Now the paper runs out.
        printer.print(appeal(Lang::En));
        read_until(&bytes_rx, |b| b == STATUS_REQUEST);
        pty.master.write_all(&[0x12, 0x72]).unwrap();
        match next(&rx) {
            PrinterEvent::Health(PrinterHealth::Faulty { reason }) => {
                assert!(reason.contains("out of paper"), "{reason}")
            }
            other => panic!("expected Faulty, got {other:?}"),
        }
        assert_eq!(next(&rx), PrinterEvent::Failed(PrinterError::PaperOut));
        // Paper loaded: the next slip prints, and nothing of the refused one was sent.
        printer.print(appeal(Lang::En));
        read_until(&bytes_rx, |b| b == STATUS_REQUEST);
        pty.master.write_all(&[0x12, 0x12]).unwrap();
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        let bytes = read_until(&bytes_rx, |b| b.ends_with(&CUT));
        assert_eq!(next(&rx), PrinterEvent::Printed);
        assert_eq!(
            bytes.windows(CUT.len()).filter(|w| *w == CUT).count(),
            1,
            "one slip only"
        );
        assert!(bytes.starts_with(&[0x1B, b'@']));
    }

    #[test]
    fn a_printer_that_never_answers_the_status_query_is_printed_to() {
        let pty = open_pty();
        let bytes_rx = capture(&pty);
        let (printer, rx) = start(options(&pty.path, true));
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        printer.print(appeal(Lang::En));
        let bytes = read_until(&bytes_rx, |b| b.ends_with(&CUT));
        assert_eq!(next(&rx), PrinterEvent::Printed);
        assert!(contains(&bytes, b"A-7Q2M9XK3"));
    }

    #[test]
    fn closed_peer_reports_faulty_and_the_slip_fails_without_panic() {
        let mut pty = open_pty();
        let (printer, rx) = start(options(&pty.path, false));
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        // The far end goes away (a USB adapter pulled out).
        pty.slave.take();
        drop(pty);
        printer.print(appeal(Lang::En));
        let mut faulty = None;
        let mut failed = None;
        while faulty.is_none() || failed.is_none() {
            match next(&rx) {
                PrinterEvent::Health(PrinterHealth::Faulty { reason }) => faulty = Some(reason),
                PrinterEvent::Failed(e) => failed = Some(e),
                other => panic!("unexpected {other:?}"),
            }
        }
        let reason = faulty.unwrap();
        assert!(reason.contains("/dev/pts/"), "{reason}");
        assert!(failed.unwrap().is_device_fault());
        assert!(printer.is_running());
    }

    #[test]
    fn vanished_path_is_faulty_and_the_printer_comes_back_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("printer");
        let link_str = link.to_str().unwrap().to_owned();
        let (printer, rx) = start(options(&link_str, false));
        match next(&rx) {
            PrinterEvent::Health(PrinterHealth::Faulty { reason }) => {
                assert!(reason.contains("no such device"), "{reason}")
            }
            other => panic!("expected Faulty, got {other:?}"),
        }
        printer.print(appeal(Lang::En));
        assert!(matches!(
            next(&rx),
            PrinterEvent::Failed(PrinterError::NotFound { .. })
        ));
        // Plugged in: the driver reopens it in the background, without a slip.
        let pty = open_pty();
        std::os::unix::fs::symlink(&pty.path, &link).unwrap();
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        // Unplugged again: the link disappears.
        std::fs::remove_file(&link).unwrap();
        match next(&rx) {
            PrinterEvent::Health(PrinterHealth::Faulty { reason }) => {
                assert!(reason.contains("disappeared"), "{reason}")
            }
            other => panic!("expected Faulty, got {other:?}"),
        }
        drop(printer);
    }

    #[test]
    fn dropping_the_handle_stops_the_thread() {
        let pty = open_pty();
        let (printer, rx) = start(options(&pty.path, false));
        assert_eq!(next(&rx), PrinterEvent::Health(PrinterHealth::Ok));
        drop(printer);
        // The sink (and its sender) went with the thread.
        assert!(rx.recv_timeout(WAIT).is_err());
    }
}
