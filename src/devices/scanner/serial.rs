//! The scanner's serial thread: open the port, read into the framer, classify, report, and reconnect with backoff after an unplug.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serialport::{DataBits, FlowControl, Parity, SerialPort, StopBits};

use super::framer::{Frame, Framer};
use super::{ScanRead, ScannerError, ScannerEvent, ScannerHealth, ScannerOptions};
use crate::identity::classify;

/// Longest blocking read; bounds how long a stop request waits.
const READ_TIMEOUT: Duration = Duration::from_millis(50);
/// Sleep granularity while backing off.
const SLEEP_STEP: Duration = Duration::from_millis(50);
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the device path is checked while connected.
const PATH_CHECK: Duration = Duration::from_secs(1);

type Sink<'a> = &'a mut dyn FnMut(ScannerEvent);

/// Runs until `stop` is set.
pub(super) fn run(configured: &ScannerOptions, stop: &AtomicBool, sink: Sink<'_>) {
    let auto = configured.port == super::discover::AUTO;
    let mut backoff = BACKOFF_START;
    let mut down_reported = false;
    let mut found_before: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        // `auto`: looked for again before every attempt, so a scanner plugged in later is found.
        let mut resolved = configured.clone();
        let opened = if auto {
            match super::discover::find(&configured.exclude) {
                Some(p) => {
                    resolved.port = p.display().to_string();
                    if found_before.as_deref() != Some(resolved.port.as_str()) {
                        tracing::info!(port = %resolved.port, "scanner found (scanner.port = auto)");
                        found_before = Some(resolved.port.clone());
                    }
                    open(&resolved)
                }
                None => Err(ScannerError::NoneFound),
            }
        } else {
            open(&resolved)
        };
        let options = &resolved;
        let port_name = options.port.as_str();
        match opened {
            Ok(port) => {
                tracing::info!(port = port_name, "scanner connected");
                sink(ScannerEvent::Health(ScannerHealth::Connected));
                let since = Instant::now();
                match read_loop(port, options, stop, sink) {
                    Ok(()) => break,
                    Err(err) => {
                        tracing::warn!(port = port_name, error = %err, "scanner disconnected");
                        sink(ScannerEvent::Health(ScannerHealth::Disconnected {
                            reason: err.to_string(),
                        }));
                        down_reported = true;
                    }
                }
                if since.elapsed() >= BACKOFF_MAX {
                    backoff = BACKOFF_START;
                }
            }
            Err(err) => {
                if down_reported {
                    tracing::debug!(port = port_name, error = %err, "scanner still unavailable");
                } else {
                    tracing::warn!(port = port_name, error = %err, "scanner unavailable");
                    sink(ScannerEvent::Health(ScannerHealth::Disconnected {
                        reason: err.to_string(),
                    }));
                    down_reported = true;
                }
            }
        }
        sleep_unless_stopped(backoff, stop);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    tracing::debug!(port = %configured.port, "scanner thread stopped");
}

fn open(options: &ScannerOptions) -> Result<Box<dyn SerialPort>, ScannerError> {
    serialport::new(options.port.as_str(), options.baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None)
        .timeout(READ_TIMEOUT)
        .open()
        .map_err(|e| open_error(&options.port, e))
}

fn open_error(port: &str, e: serialport::Error) -> ScannerError {
    let port = port.to_owned();
    match e.kind {
        serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
            ScannerError::PermissionDenied { port }
        }
        serialport::ErrorKind::Io(io::ErrorKind::NotFound) => ScannerError::NotFound { port },
        serialport::ErrorKind::NoDevice => ScannerError::Busy { port },
        _ => ScannerError::Open {
            port,
            detail: e.description,
        },
    }
}

/// Reads until stopped (`Ok`) or until the port fails (`Err`).
fn read_loop(
    mut port: Box<dyn SerialPort>,
    options: &ScannerOptions,
    stop: &AtomicBool,
    sink: Sink<'_>,
) -> Result<(), ScannerError> {
    let disconnected = |detail: String| ScannerError::Disconnected {
        port: options.port.clone(),
        detail,
    };
    let mut framer = Framer::new(options);
    let mut buf = [0u8; 256];
    let mut current_timeout = READ_TIMEOUT;
    let mut path_checked = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let now = Instant::now();
        let timeout = framer
            .next_deadline()
            .map_or(READ_TIMEOUT, |d| d.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), READ_TIMEOUT);
        if timeout != current_timeout {
            match port.set_timeout(timeout) {
                Ok(()) => current_timeout = timeout,
                Err(e) => tracing::debug!(error = %e, "cannot change scanner read timeout"),
            }
        }
        match port.read(&mut buf) {
            Ok(0) => return Err(disconnected("end of file".into())),
            Ok(n) => {
                let bytes = buf.get(..n).unwrap_or(&[]);
                let now = Instant::now();
                deliver(framer.push(bytes, now), now, sink);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                let now = Instant::now();
                deliver(framer.poll(now), now, sink);
            }
            Err(e) => return Err(disconnected(describe(&e))),
        }
        if path_checked.elapsed() >= PATH_CHECK {
            if !Path::new(&options.port).exists() {
                return Err(disconnected("the device path disappeared".into()));
            }
            path_checked = Instant::now();
        }
    }
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::BrokenPipe => "hang-up, the device went away".into(),
        _ => match e.raw_os_error() {
            Some(code) => format!("{e} (os error {code})"),
            None => e.to_string(),
        },
    }
}

/// Classifies and hands on frames completed at `received`.
fn deliver(frames: Vec<Frame>, received: Instant, sink: Sink<'_>) {
    for frame in frames {
        match frame {
            Frame::Text(ft) => {
                let classified = classify(&ft.text);
                // Content is personal data: log only its kind, validity and length.
                tracing::debug!(
                    kind = classified.kind.as_str(),
                    valid = classified.result.is_ok(),
                    error = classified.result.as_ref().err().map(|r| r.code()),
                    len = ft.raw_len,
                    "scan"
                );
                sink(ScannerEvent::Read(ScanRead {
                    classified,
                    text: super::ScanText(ft.text),
                    symbology: ft.symbology,
                    raw_len: ft.raw_len,
                    received,
                }));
            }
            Frame::Error(e) => {
                tracing::warn!(error = e.code(), "scanner framing error");
                sink(ScannerEvent::FramingError(e));
            }
        }
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(SLEEP_STEP));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{spawn, FramingError, ScanRead, ScannerHandle, Suffix};
    use super::*;
    use crate::identity::mrz::test_support::Td1;
    use crate::identity::{Identity, Kind, Source};
    use std::fs::File;
    use std::io::Write;
    use std::path::PathBuf;
    use std::sync::mpsc::{self, Receiver};

    const WAIT: Duration = Duration::from_secs(5);

    /// A pseudo-terminal pair; the driver opens `path` (the slave), tests write to `master`.
    struct Pty {
        master: File,
        _slave: File,
        path: String,
    }

    fn open_pty() -> Pty {
        let (master, slave, path) = crate::devices::test_pty::open_raw();
        Pty {
            master,
            _slave: slave,
            path,
        }
    }

    fn start(path: &str) -> (ScannerHandle, Receiver<ScannerEvent>) {
        let (tx, rx) = mpsc::channel();
        let options = ScannerOptions {
            port: path.into(),
            ..ScannerOptions::default()
        };
        let handle = spawn(options, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();
        (handle, rx)
    }

    fn next(rx: &Receiver<ScannerEvent>) -> ScannerEvent {
        rx.recv_timeout(WAIT).expect("no scanner event within 5 s")
    }

    fn expect_connected(rx: &Receiver<ScannerEvent>) {
        assert_eq!(next(rx), ScannerEvent::Health(ScannerHealth::Connected));
    }

    fn expect_read(rx: &Receiver<ScannerEvent>) -> ScanRead {
        match next(rx) {
            ScannerEvent::Read(r) => r,
            other => panic!("expected a read, got {other:?}"),
        }
    }

    fn expect_citizen(rx: &Receiver<ScannerEvent>, iin: &str, source: Source) -> ScanRead {
        let r = expect_read(rx);
        match &r.classified.result {
            Ok(Identity::Citizen {
                iin: got,
                source: s,
            }) => {
                assert_eq!(got.as_str(), iin);
                assert_eq!(*s, source);
            }
            other => panic!("expected citizen, got {other:?}"),
        }
        r
    }

    #[test]
    fn iin_with_crlf() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        pty.master.write_all(b"880101300010\r\n").unwrap();
        let r = expect_citizen(&rx, "880101300010", Source::Iin);
        assert_eq!(r.classified.kind, Kind::Iin);
        assert_eq!(r.symbology, None);
        assert_eq!(r.raw_len, 12);
    }

    #[test]
    fn several_lines_in_one_write_and_one_line_over_several_writes() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        pty.master
            .write_all(b"880101300010\r\n900502400122\r\n")
            .unwrap();
        expect_citizen(&rx, "880101300010", Source::Iin);
        expect_citizen(&rx, "900502400122", Source::Iin);
        for part in [&b"8512"[..], b"3140", b"0031\r", b"\n"] {
            pty.master.write_all(part).unwrap();
            pty.master.flush().unwrap();
        }
        expect_citizen(&rx, "851231400031", Source::Iin);
    }

    #[test]
    fn aim_prefix() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        pty.master.write_all(b"]C0880101300010\r\n").unwrap();
        let r = expect_citizen(&rx, "880101300010", Source::Iin);
        assert_eq!(r.symbology.as_deref(), Some("]C0"));
    }

    #[test]
    fn mrz_lines_written_separately() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        for line in Td1::kazakh("900502400122").lines() {
            pty.master
                .write_all(format!("{line}\r\n").as_bytes())
                .unwrap();
            // Pacing only (a real reader sends line by line); nothing is asserted on time.
            std::thread::sleep(Duration::from_millis(5));
        }
        let r = expect_citizen(&rx, "900502400122", Source::Mrz);
        assert_eq!(r.classified.kind, Kind::Mrz);
        assert_eq!(r.raw_len, 90);
    }

    #[test]
    fn not_utf8_then_good_line() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        pty.master
            .write_all(b"\xff\xfe\r\n880101300010\r\n")
            .unwrap();
        assert_eq!(
            next(&rx),
            ScannerEvent::FramingError(FramingError::NotUtf8 { bytes: 2 })
        );
        expect_citizen(&rx, "880101300010", Source::Iin);
    }

    #[test]
    fn too_long_then_good_line() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        let mut data = vec![b'7'; 700];
        data.extend_from_slice(b"\r\n880101300010\r\n");
        pty.master.write_all(&data).unwrap();
        assert_eq!(
            next(&rx),
            ScannerEvent::FramingError(FramingError::TooLong { limit: 512 })
        );
        expect_citizen(&rx, "880101300010", Source::Iin);
    }

    #[test]
    fn duplicate_collapsed() {
        let mut pty = open_pty();
        let (_h, rx) = start(&pty.path);
        expect_connected(&rx);
        pty.master
            .write_all(b"880101300010\r\n880101300010\r\n900502400122\r\n")
            .unwrap();
        expect_citizen(&rx, "880101300010", Source::Iin);
        // The next event is the different code: the duplicate was dropped.
        expect_citizen(&rx, "900502400122", Source::Iin);
    }

    #[test]
    fn unplug_reports_disconnected() {
        let mut pty = open_pty();
        let (handle, rx) = start(&pty.path);
        expect_connected(&rx);
        pty.master.write_all(b"880101300010\r\n").unwrap();
        expect_citizen(&rx, "880101300010", Source::Iin);
        drop(pty);
        match next(&rx) {
            ScannerEvent::Health(ScannerHealth::Disconnected { reason }) => {
                assert!(reason.contains("/dev/pts/"), "{reason}");
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
        let t = Instant::now();
        handle.stop();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "stop took {:?}",
            t.elapsed()
        );
    }

    #[test]
    fn reconnects_when_port_appears() {
        let dir = std::env::temp_dir().join(format!(
            "senim-scanner-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let link: PathBuf = dir.join("scanner");
        let (handle, rx) = start(link.to_str().unwrap());
        match next(&rx) {
            ScannerEvent::Health(ScannerHealth::Disconnected { reason }) => {
                assert!(reason.contains("no such device"), "{reason}");
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
        let mut pty = open_pty();
        std::os::unix::fs::symlink(&pty.path, &link).unwrap();
        expect_connected(&rx);
        pty.master.write_all(b"SENIM-TECH:tech-0001\r\n").unwrap();
        let r = expect_read(&rx);
        assert_eq!(r.classified.kind, Kind::Badge);
        assert!(r.classified.result.is_ok());
        handle.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn options_suffix_none_over_pty() {
        let mut pty = open_pty();
        let (tx, rx) = mpsc::channel();
        let options = ScannerOptions {
            port: pty.path.clone(),
            suffix: Suffix::None,
            ..ScannerOptions::default()
        };
        let _h = spawn(options, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();
        expect_connected(&rx);
        pty.master.write_all(b"880101300010").unwrap();
        expect_citizen(&rx, "880101300010", Source::Iin);
    }
}
