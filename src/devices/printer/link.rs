//! The wire to the receipt printer: a serial port (RS-232, USB-serial, USB CDC), or a plain device file written like any file (a USB printer-class printer's `/dev/usb/lpN`), chosen by what the configured path is.
//!
//! A USB printer-class printer (the kernel's `usblp` driver, major number 180) is no serial
//! port: it has no baud rate, `tcgetattr` fails on it, and it answers status questions through
//! the `LPGETSTATUS` ioctl (the IEEE 1284 status lines: paper empty, selected, error) rather
//! than `DLE EOT` on the data channel. A FIFO or a regular file is written the same way (a
//! print-to-file for tests and bench set-ups). Everything else is opened as a serial port.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits};

use super::escpos::{PrinterStatus, STATUS_REQUEST};
use super::{PrinterError, PrinterOptions};

/// The character-device major number of USB printer-class devices (`/dev/usb/lp*`).
const USB_MAJOR: u32 = 180;
/// `LPGETSTATUS` from `<linux/lp.h>`: an old-style ioctl number, the status byte as an int.
const LPGETSTATUS: rustix::ioctl::Opcode = 0x060b;
/// `LP_POUTPA`: paper empty.
const LP_POUTPA: i32 = 0x20;
/// `LP_PSELECD`: the printer is selected (on-line).
const LP_PSELECD: i32 = 0x10;
/// `LP_PERRORP`: active low — clear means the printer signals an error.
const LP_PERRORP: i32 = 0x08;

/// How the configured path is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A serial port: baud rate, flow control, status by `DLE EOT`.
    Serial,
    /// A file written as it is: a USB printer-class device (status by `LPGETSTATUS`), a FIFO
    /// or a regular file.
    File,
}

impl LinkKind {
    /// What `path` is now: a USB printer-class device, a FIFO or a regular file is written as
    /// a file; anything else (a tty, or a path that does not exist yet) is a serial port.
    pub fn of(path: &str) -> LinkKind {
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_fifo() || m.file_type().is_file() => LinkKind::File,
            Ok(m) if m.file_type().is_char_device() => {
                use std::os::unix::fs::MetadataExt;
                if rustix::fs::major(m.rdev()) == USB_MAJOR {
                    LinkKind::File
                } else {
                    LinkKind::Serial
                }
            }
            _ => LinkKind::Serial,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Serial => "serial",
            LinkKind::File => "USB printer class",
        }
    }
}

/// An open link to the printer.
pub(super) enum Link {
    Serial(Box<dyn SerialPort>),
    File(File),
}

impl Link {
    pub(super) fn open(options: &PrinterOptions) -> Result<Link, PrinterError> {
        match LinkKind::of(&options.port) {
            LinkKind::Serial => open_serial(options).map(Link::Serial),
            LinkKind::File => OpenOptions::new()
                .write(true)
                // Never wait in `open` (a FIFO without a reader) nor in `write` (a printer
                // that takes nothing): the driver's own timeouts decide.
                .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
                .open(&options.port)
                .map(Link::File)
                .map_err(|e| file_open_error(&options.port, &e)),
        }
    }

    /// Closes a failed link, dropping unsent output first so that closing never waits for a
    /// printer that takes nothing.
    pub(super) fn discard(self) {
        if let Link::Serial(port) = &self {
            let _ = port.clear(ClearBuffer::All);
        }
        drop(self);
    }

    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Link::Serial(port) => port.write(bytes),
            Link::File(file) => file.write(bytes),
        }
    }

    /// Asks the printer how it is. Serial: `DLE EOT 2` and `DLE EOT 4`, waiting up to
    /// `status_timeout` for the two answers. File: `LPGETSTATUS` on a USB printer-class
    /// device. `Ok(None)` when the printer does not answer or cannot tell (many do not, and
    /// a FIFO or file never can): printing goes ahead.
    pub(super) fn query_status(
        &mut self,
        options: &PrinterOptions,
    ) -> io::Result<Option<PrinterStatus>> {
        match self {
            Link::Serial(port) => query_serial_status(port.as_mut(), options),
            Link::File(file) => Ok(usb_status(file)),
        }
    }

    /// Writes a slip and waits (bounded) until it has left the computer.
    pub(super) fn send(
        &mut self,
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
        write_all_with(|b| self.write_some(b), bytes, options.write_timeout).map_err(failed)?;
        let Link::Serial(port) = self else {
            // usblp hands each write to the printer before it returns; a file has it.
            return Ok(());
        };
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
}

fn open_serial(options: &PrinterOptions) -> Result<Box<dyn SerialPort>, PrinterError> {
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
        .map_err(|e| serial_open_error(&options.port, e))
}

fn serial_open_error(port: &str, e: serialport::Error) -> PrinterError {
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

fn file_open_error(port: &str, e: &io::Error) -> PrinterError {
    let port = port.to_owned();
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::PermissionDenied, _) => PrinterError::PermissionDenied { port },
        (io::ErrorKind::NotFound, _) => PrinterError::NotFound { port },
        // ENXIO: a FIFO nobody reads, or a usblp device whose printer went away; ENODEV.
        (_, Some(6 | 19)) => PrinterError::NotFound { port },
        (_, Some(16)) => PrinterError::Busy { port },
        _ => PrinterError::Open {
            port,
            detail: describe(e),
        },
    }
}

/// The printer's state from the USB printer class's port status, or `None` when the file
/// cannot tell (a FIFO, a regular file, a driver without the ioctl).
fn usb_status(file: &File) -> Option<PrinterStatus> {
    // SAFETY: LPGETSTATUS writes one int, which is what `Getter` gives it room for.
    let status: i32 =
        unsafe { rustix::ioctl::ioctl(file, rustix::ioctl::Getter::<LPGETSTATUS, i32>::new()) }
            .ok()?;
    Some(if status & LP_POUTPA != 0 {
        PrinterStatus::PaperOut
    } else if status & LP_PERRORP == 0 || status & LP_PSELECD == 0 {
        // Off-line or signalling an error: the cover, a jam, the head.
        PrinterStatus::Error
    } else {
        PrinterStatus::Ready
    })
}

fn query_serial_status(
    port: &mut dyn SerialPort,
    options: &PrinterOptions,
) -> io::Result<Option<PrinterStatus>> {
    let _ = port.clear(ClearBuffer::Input);
    let mut answer = [0u8; 2];
    let mut got = 0;
    write_all_with(|b| port.write(b), &STATUS_REQUEST, options.write_timeout)?;
    let deadline = Instant::now() + options.status_timeout;
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

/// Writes everything through `write`; gives up when the printer takes nothing for `timeout`.
/// A serial port waits inside `write` (its timeout); a non-blocking file says "would block" at
/// once and is tried again shortly.
fn write_all_with(
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
    mut bytes: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let mut last_progress = Instant::now();
    while !bytes.is_empty() {
        match write(bytes) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "wrote nothing")),
            Ok(n) => {
                bytes = &bytes[n..];
                last_progress = Instant::now();
            }
            Err(e) if is_timeout(&e) && last_progress.elapsed() < timeout => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// An I/O error as a technician should read it.
pub(super) fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        // EIO: a USB adapter unplugged, or the other end of a pseudo-terminal closed.
        Some(5) => "input/output error, the device went away".into(),
        // EPIPE: the reader of a FIFO went away.
        Some(32) => "nobody reads the other end any more".into(),
        Some(code) => format!("{e} (os error {code})"),
        None => e.to_string(),
    }
}

/// The stable name the kiosk image's udev rule gives the receipt printer.
pub const STABLE_PRINTER: &str = "senim-printer";

/// `[printer] port = "auto"`: the printer under `dev` (normally `/dev`): the udev name
/// `senim-printer` first, else the first USB printer-class device `usb/lp*`; `None`: no printer
/// fitted.
pub fn find_in(dev: &std::path::Path) -> Option<std::path::PathBuf> {
    let stable = dev.join(STABLE_PRINTER);
    if stable.exists() {
        return Some(stable);
    }
    crate::devices::nodes_in(&dev.join("usb"), "lp")
        .into_iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("lp"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod find_tests {
    use super::*;

    #[test]
    fn auto_takes_the_udev_name_then_the_first_usb_printer_else_none() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path();
        assert_eq!(find_in(dev), None, "no printer: not fitted");
        std::fs::create_dir_all(dev.join("usb")).unwrap();
        std::fs::write(dev.join("usb/hiddev0"), b"").unwrap();
        assert_eq!(find_in(dev), None, "not a printer");
        std::fs::write(dev.join("usb/lp10"), b"").unwrap();
        std::fs::write(dev.join("usb/lp1"), b"").unwrap();
        assert_eq!(find_in(dev), Some(dev.join("usb/lp1")));
        std::fs::write(dev.join("ttyS0"), b"").unwrap();
        std::os::unix::fs::symlink(dev.join("ttyS0"), dev.join(STABLE_PRINTER)).unwrap();
        assert_eq!(find_in(dev), Some(dev.join(STABLE_PRINTER)));
    }
}
