//! The ESC/POS receipt printer on a serial port or a USB printer-class device: options, events and errors, and the [`Printer`] handle whose own thread lays slips out and sends them.
//!
//! [`Printer::spawn`] starts a thread that opens the port, reports [`PrinterEvent::Health`]
//! (once per change), and prints each [`Slip`] handed to [`Printer::print`]: laid out
//! ([`layout`]), optionally preceded by a status query (paper out, cover open), written with
//! a timeout, then [`PrinterEvent::Printed`] or [`PrinterEvent::Failed`]. A port that fails is
//! closed and reopened in the background with backoff, and at once for the next slip. Slips
//! are never queued for later: a slip that could not print is reported and dropped, because
//! the citizen it was for has gone. Nothing of a slip's content is logged.

pub mod codepage;
mod driver;
pub mod escpos;
pub mod layout;
pub mod link;
pub mod preview;
pub mod slip;
pub mod text;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use codepage::CodePage;
pub use layout::{Paper, QrMode};
pub use slip::{Seen, Slip};

/// Printer configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterOptions {
    /// The printer's device: a serial port (ideally a stable `/dev/serial/by-id/...` link) or a
    /// USB printer-class device (`/dev/usb/lp0`, written as a file; see [`link`]).
    pub port: String,
    /// Baud rate (8N1) of a serial port.
    pub baud: u32,
    /// RTS/CTS hardware flow control: needed by printers that stop taking data while they
    /// print a raster image (most with a real RS-232 port).
    pub hardware_flow_control: bool,
    /// Paper width and character set.
    pub paper: Paper,
    /// Ask the printer for paper and cover status (`DLE EOT`) before each slip.
    pub query_status: bool,
    /// How long to wait for the status answer; a printer that stays silent is printed to
    /// anyway.
    pub status_timeout: Duration,
    /// The longest the printer may refuse data before the slip is given up.
    pub write_timeout: Duration,
}

impl Default for PrinterOptions {
    fn default() -> Self {
        PrinterOptions {
            port: String::new(),
            baud: 9600,
            hardware_flow_control: false,
            paper: Paper {
                width_dots: 576,
                code_page: CodePage::Cp866,
                code_page_number: CodePage::Cp866.epson_number(),
                qr: QrMode::Native,
            },
            query_status: true,
            status_timeout: Duration::from_millis(300),
            write_timeout: Duration::from_secs(5),
        }
    }
}

impl PrinterOptions {
    /// Rejects options that can never work.
    pub fn validate(&self) -> Result<(), PrinterError> {
        if self.port.trim().is_empty() {
            return Err(PrinterError::EmptyPort);
        }
        if self.baud == 0 {
            return Err(PrinterError::ZeroBaud);
        }
        let w = self.paper.width_dots;
        if !(128..=832).contains(&w) || !w.is_multiple_of(8) {
            return Err(PrinterError::PaperWidth(w));
        }
        Ok(())
    }
}

/// Whether the printer can print now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterHealth {
    /// The port is open (and, if it answers status queries, the printer has paper).
    Ok,
    /// It cannot print; the driver keeps retrying.
    Faulty {
        /// Short technical reason with a hint for the technician.
        reason: String,
    },
}

/// Something the printer thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterEvent {
    /// A slip's bytes were all handed to the printer.
    Printed,
    /// A slip was not printed (and is dropped).
    Failed(PrinterError),
    /// The printer's health changed (sent once per change).
    Health(PrinterHealth),
}

/// Errors of the printer driver. Messages tell the technician what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterError {
    #[error("no printer port configured — set printer.port (e.g. /dev/ttyUSB0 or a /dev/serial/by-id/ link), or leave it empty when no printer is fitted")]
    EmptyPort,
    #[error("printer baud rate is 0 — set printer.baud to the printer's rate (usually 9600, 19200 or 115200)")]
    ZeroBaud,
    #[error("printer paper width {0} dots is not possible — set printer.width_dots to 384 (58 mm paper) or 576 (80 mm), a multiple of 8")]
    PaperWidth(u16),
    #[error("cannot start the printer thread: {0}")]
    Thread(String),
    #[error("the printer thread has stopped — restart the kiosk")]
    Stopped,
    #[error("cannot open printer port {port}: permission denied — add the kiosk user to the dialout group (serial) or the lp group (USB printer class), or check the udev rule")]
    PermissionDenied { port: String },
    #[error("cannot open printer port {port}: no such device — check that the printer is switched on and plugged in and that the path is right (prefer a /dev/serial/by-id/ link, or /dev/senim-printer on the kiosk image)")]
    NotFound { port: String },
    #[error("cannot open printer port {port}: it is in use by another program — stop it (ModemManager, a serial console, a second kiosk instance)")]
    Busy { port: String },
    #[error("cannot open printer port {port}: {detail} — check that the path is the printer's serial port or USB printer device (/dev/usb/lp0)")]
    Open { port: String, detail: String },
    #[error("printer on {port} stopped taking data ({detail}) — it was probably unplugged or switched off; check the cable and the power")]
    Write { port: String, detail: String },
    #[error("printer on {port} took no data for {secs} s — check paper and cover, and that printer.baud and printer.hardware_flow_control match the printer's settings")]
    Timeout { port: String, secs: u64 },
    #[error("the printer is out of paper — load a new roll")]
    PaperOut,
    #[error("the printer's cover is open — close it")]
    CoverOpen,
    #[error("the printer reports an error (cutter jam or overheated head) — open and close the cover, or switch it off and on")]
    PrinterError,
    #[error("the slip cannot be laid out: {0}")]
    Layout(String),
}

impl PrinterError {
    /// Whether this error means the printer (not the slip) is at fault.
    pub fn is_device_fault(&self) -> bool {
        !matches!(
            self,
            PrinterError::Layout(_)
                | PrinterError::EmptyPort
                | PrinterError::ZeroBaud
                | PrinterError::PaperWidth(_)
        )
    }
}

/// Running printer thread. Dropping it stops the thread and waits for it (at most the
/// slip being written, bounded by `write_timeout`).
#[derive(Debug)]
pub struct Printer {
    jobs: Option<Sender<Slip>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Printer {
    /// Starts the printer thread; `sink` is called on that thread for every event.
    ///
    /// Succeeds even if the port is absent (a `Health(Faulty)` event follows and the
    /// thread keeps retrying); fails only for invalid options, unreadable bundled fonts, or
    /// if the thread cannot be created. Never blocks.
    pub fn spawn(
        options: PrinterOptions,
        sink: impl Fn(PrinterEvent) + Send + 'static,
    ) -> Result<Printer, PrinterError> {
        options.validate()?;
        let fonts = text::Fonts::bundled().map_err(|e| PrinterError::Layout(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("senim-printer".into())
            .spawn(move || driver::run(&options, &fonts, &rx, &flag, &sink))
            .map_err(|e| PrinterError::Thread(e.to_string()))?;
        Ok(Printer {
            jobs: Some(tx),
            stop,
            thread: Some(thread),
        })
    }

    /// Queues a slip; the outcome arrives as [`PrinterEvent::Printed`] or
    /// [`PrinterEvent::Failed`]. Never blocks.
    pub fn print(&self, slip: Slip) {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(slip).is_ok());
        if !sent {
            tracing::warn!("printer thread is not running; slip dropped");
        }
    }

    /// Whether the thread is still running (false after it panicked in the sink).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            if t.thread().id() != thread::current().id() && t.join().is_err() {
                tracing::warn!("printer thread ended with a panic (in the event sink)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_options_are_rejected() {
        let ok = PrinterOptions {
            port: "/dev/ttyUSB0".into(),
            ..PrinterOptions::default()
        };
        assert!(ok.validate().is_ok());
        let mut narrow = ok.clone();
        narrow.paper.width_dots = 380;
        for (o, want) in [
            (
                PrinterOptions {
                    port: "".into(),
                    ..ok.clone()
                },
                PrinterError::EmptyPort,
            ),
            (
                PrinterOptions {
                    baud: 0,
                    ..ok.clone()
                },
                PrinterError::ZeroBaud,
            ),
            (narrow, PrinterError::PaperWidth(380)),
        ] {
            assert_eq!(Printer::spawn(o, |_| {}).err(), Some(want));
        }
    }

    #[test]
    fn only_device_errors_count_as_faults() {
        assert!(PrinterError::PaperOut.is_device_fault());
        assert!(PrinterError::NotFound { port: "p".into() }.is_device_fault());
        assert!(!PrinterError::Layout("x".into()).is_device_fault());
        assert!(!PrinterError::PaperWidth(1).is_device_fault());
    }
}
