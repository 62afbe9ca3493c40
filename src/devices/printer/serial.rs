//! The printer's serial thread: open the port, watch its health (path, status queries), print each slip with bounded waits, close and reopen after a failure.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits};

use super::escpos::{PrinterStatus, STATUS_REQUEST};
use super::layout::layout;
use super::text::Fonts;
use super::{PrinterError, PrinterEvent, PrinterHealth, PrinterOptions, Slip};

/// How long the thread waits for a slip before looking after the port again; bounds how
/// long a stop request waits when idle.
const TICK: Duration = Duration::from_millis(100);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
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
    port: Option<Box<dyn SerialPort>>,
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
    if let Some(port) = d.port.take() {
        discard(port);
    }
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
            discard(port);
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
        match open(self.options) {
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
        match query_status(port.as_mut(), self.options) {
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
        match send(port.as_mut(), &bytes, self.options) {
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

fn open(options: &PrinterOptions) -> Result<Box<dyn SerialPort>, PrinterError> {
    let flow = if options.hardware_flow_control {
        FlowControl::Hardware
    } else {
        FlowControl::None
    };
    serialport::new(options.port.as_str(), options.baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(flow)
        .timeout(options.write_timeout)
        .open()
        .map_err(|e| open_error(&options.port, e))
}

fn open_error(port: &str, e: serialport::Error) -> PrinterError {
    let port = port.to_owned();
    match e.kind {
        serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
            PrinterError::PermissionDenied { port }
        }
        serialport::ErrorKind::Io(io::ErrorKind::NotFound) => PrinterError::NotFound { port },
        serialport::ErrorKind::NoDevice => PrinterError::Busy { port },
        _ => PrinterError::Open {
            port,
            detail: e.description,
        },
    }
}

/// Drops unsent output first, so closing never waits for a printer that takes nothing.
fn discard(port: Box<dyn SerialPort>) {
    let _ = port.clear(ClearBuffer::All);
    drop(port);
}

/// Sends `DLE EOT 2` and `DLE EOT 4` and waits up to `status_timeout` for the two answers;
/// `Ok(None)` when the printer does not answer (many do not): printing goes ahead.
fn query_status(
    port: &mut dyn SerialPort,
    options: &PrinterOptions,
) -> io::Result<Option<PrinterStatus>> {
    let _ = port.clear(ClearBuffer::Input);
    write_all(port, &STATUS_REQUEST, options.write_timeout)?;
    let deadline = Instant::now() + options.status_timeout;
    let mut answer = [0u8; 2];
    let mut got = 0;
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || got == answer.len() {
            break Ok(());
        }
        port.set_timeout(left)?;
        match port.read(&mut answer[got..]) {
            Ok(0) => break Err(io::Error::new(io::ErrorKind::BrokenPipe, "end of file")),
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) => {}
            Err(e) => break Err(e),
        }
    };
    port.set_timeout(options.write_timeout)?;
    result?;
    Ok((got == 2)
        .then(|| PrinterStatus::parse(answer[0], answer[1]))
        .flatten())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Writes everything; gives up when the port takes nothing for `timeout`.
fn write_all(port: &mut dyn SerialPort, mut bytes: &[u8], timeout: Duration) -> io::Result<()> {
    let mut last_progress = Instant::now();
    while !bytes.is_empty() {
        match port.write(bytes) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "wrote nothing")),
            Ok(n) => {
                bytes = &bytes[n..];
                last_progress = Instant::now();
            }
            Err(e) if is_timeout(&e) && last_progress.elapsed() < timeout => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes a slip and waits (bounded) until the serial driver has sent it to the printer.
fn send(
    port: &mut dyn SerialPort,
    bytes: &[u8],
    options: &PrinterOptions,
) -> Result<(), PrinterError> {
    let port_name = options.port.clone();
    let failed = |e: io::Error| {
        if is_timeout(&e) {
            PrinterError::Timeout {
                port: port_name.clone(),
                secs: options.write_timeout.as_secs().max(1),
            }
        } else {
            PrinterError::Write {
                port: port_name.clone(),
                detail: describe(&e),
            }
        }
    };
    write_all(port, bytes, options.write_timeout).map_err(failed)?;
    // 10 bits a byte on the wire (8N1), plus the write timeout for a printer pausing us.
    let wire = Duration::from_millis(
        u64::try_from(bytes.len())
            .unwrap_or(u64::MAX)
            .saturating_mul(10_000)
            / u64::from(options.baud.max(1)),
    );
    let deadline = Instant::now() + wire + options.write_timeout;
    loop {
        match port.bytes_to_write() {
            Ok(0) => return Ok(()),
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(_) => return Err(failed(io::Error::from(io::ErrorKind::TimedOut))),
            // A driver that cannot tell: the bytes were accepted, that is all we can know.
            Err(_) => return Ok(()),
        }
    }
}

fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        // EIO: a USB adapter unplugged, or the other end of a pseudo-terminal closed.
        Some(5) => "input/output error, the device went away".into(),
        Some(code) => format!("{e} (os error {code})"),
        None => e.to_string(),
    }
}
