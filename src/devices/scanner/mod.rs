//! Serial barcode/MRZ scanner driver: options, events, the background reader thread and the technician JSON view of a read.
//!
//! [`spawn`] starts a thread that opens the port, frames the byte stream
//! ([`framer::Framer`]), classifies each read ([`crate::identity::classify`]) and hands
//! [`ScannerEvent`]s to a sink. It reconnects by itself after an unplug. Scanned content is
//! never logged: only its kind and length.

pub mod discover;
pub mod framer;
mod serial;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::identity::{Classified, Identity};

pub use framer::{Frame, FrameText, Framer, FramingError};

/// Bytes that end one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suffix {
    /// Carriage return.
    Cr,
    /// Line feed.
    Lf,
    /// CR LF (a lone LF is accepted too).
    CrLf,
    /// No suffix: a read ends after `inter_byte_timeout` of silence.
    None,
}

/// Scanner configuration.
#[derive(Debug, Clone)]
pub struct ScannerOptions {
    /// Serial device path, ideally a stable `/dev/serial/by-id/...` link, or `auto`
    /// ([`discover`]: looked for before every attempt to open).
    pub port: String,
    /// Ports that belong to another device (the receipt printer), never taken by `auto`.
    pub exclude: Vec<std::path::PathBuf>,
    /// Baud rate (8N1, no flow control).
    pub baud: u32,
    /// What ends a read.
    pub suffix: Suffix,
    /// Silence that ends a read with [`Suffix::None`] (and a lone CR with [`Suffix::CrLf`]).
    pub inter_byte_timeout: Duration,
    /// Longest accepted read in bytes.
    pub max_line_bytes: usize,
    /// An identical read within this time of the previous one is dropped.
    pub duplicate_window: Duration,
    /// How long to wait for the next MRZ line.
    pub mrz_assembly_window: Duration,
}

impl Default for ScannerOptions {
    fn default() -> Self {
        ScannerOptions {
            port: String::new(),
            exclude: Vec::new(),
            baud: 9600,
            suffix: Suffix::CrLf,
            inter_byte_timeout: Duration::from_millis(50),
            max_line_bytes: 512,
            duplicate_window: Duration::from_millis(1000),
            mrz_assembly_window: Duration::from_millis(300),
        }
    }
}

impl ScannerOptions {
    /// Rejects options that can never work.
    pub fn validate(&self) -> Result<(), ScannerError> {
        if self.port.trim().is_empty() {
            return Err(ScannerError::EmptyPort);
        }
        if self.baud == 0 {
            return Err(ScannerError::ZeroBaud);
        }
        if self.max_line_bytes == 0 {
            return Err(ScannerError::ZeroMaxLineBytes);
        }
        if self.suffix == Suffix::None && self.inter_byte_timeout.is_zero() {
            return Err(ScannerError::ZeroInterByteTimeout);
        }
        Ok(())
    }
}

/// The decoded text of a read, for the technician's scanner test only: `Debug` shows its
/// length, never the text (it is usually a citizen's IIN).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ScanText(pub String);

impl std::fmt::Debug for ScanText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScanText(<{} chars>)", self.0.chars().count())
    }
}

/// One classified read. `Debug` of the classification and of the text is masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRead {
    /// What was read.
    pub classified: Classified,
    /// The decoded text (AIM identifier and terminator removed).
    pub text: ScanText,
    /// AIM symbology identifier (e.g. `]C0`), if the scanner sent one.
    pub symbology: Option<String>,
    /// Bytes received for this read, terminators excluded.
    pub raw_len: usize,
    /// When the read's last byte (or the silence that ended it) was seen.
    pub received: std::time::Instant,
}

/// Connection state of the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerHealth {
    /// The port is open.
    Connected,
    /// The port is closed; the driver keeps retrying.
    Disconnected {
        /// Why, with a hint for the technician.
        reason: String,
    },
}

/// Something the scanner thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// A read.
    Read(ScanRead),
    /// A connection change (sent once per change).
    Health(ScannerHealth),
    /// A discarded line.
    FramingError(FramingError),
}

/// Errors of the scanner driver. Messages tell the technician what to do.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    /// `port` is empty.
    #[error("no scanner port configured — set scanner.port (e.g. /dev/ttyACM0 or a /dev/serial/by-id/ link)")]
    EmptyPort,
    /// `port = "auto"` and no serial port is attached.
    #[error("no scanner found (scanner.port = \"auto\": /dev/senim-scanner, /dev/serial/by-id/*, ttyACM*, ttyUSB*) — plug the scanner in (it is found within seconds), or name its port in scanner.port")]
    NoneFound,
    /// `baud` is 0.
    #[error(
        "scanner baud rate is 0 — set scanner.baud to the scanner's rate (usually 9600 or 115200)"
    )]
    ZeroBaud,
    /// `max_line_bytes` is 0.
    #[error("scanner max_line_bytes is 0 — set it to at least 128 (default 512)")]
    ZeroMaxLineBytes,
    /// `suffix = none` with a zero `inter_byte_timeout`.
    #[error("scanner suffix is none but inter_byte_timeout is 0 — set inter_byte_timeout (e.g. 50 ms) or configure a suffix")]
    ZeroInterByteTimeout,
    /// The reader thread could not be started.
    #[error("cannot start the scanner thread: {0}")]
    Thread(#[source] std::io::Error),
    /// Permission denied opening the port.
    #[error("cannot open scanner port {port}: permission denied — add the kiosk user to the dialout group or check the udev rule")]
    PermissionDenied {
        /// Port path.
        port: String,
    },
    /// The port path does not exist.
    #[error("cannot open scanner port {port}: no such device — check that the scanner is plugged in and the path is right (prefer a /dev/serial/by-id/ link)")]
    NotFound {
        /// Port path.
        port: String,
    },
    /// Another process holds the port.
    #[error("cannot open scanner port {port}: it is in use by another program — stop it (ModemManager, a serial console, a second kiosk instance)")]
    Busy {
        /// Port path.
        port: String,
    },
    /// Any other open failure.
    #[error("cannot open scanner port {port}: {detail} — check that the path is the scanner's serial device and that the cable is plugged in")]
    Open {
        /// Port path.
        port: String,
        /// OS error description.
        detail: String,
    },
    /// The port failed while reading (unplugged, or the path disappeared).
    #[error("scanner on {port} stopped responding ({detail}) — it was probably unplugged; reconnecting automatically, check the USB cable if this repeats")]
    Disconnected {
        /// Port path.
        port: String,
        /// OS error description.
        detail: String,
    },
}

/// Running scanner thread. Dropping it (or [`ScannerHandle::stop`]) stops the thread and
/// waits for it, which takes at most about 100 ms.
#[derive(Debug)]
pub struct ScannerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScannerHandle {
    /// Stops the thread and waits for it to finish.
    pub fn stop(self) {
        drop(self);
    }

    /// Whether the thread is still running (false after it panicked in the sink).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for ScannerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // Never join ourselves (a sink that owns the handle and drops it).
            if t.thread().id() != thread::current().id() && t.join().is_err() {
                tracing::warn!("scanner thread ended with a panic (in the event sink)");
            }
        }
    }
}

/// Starts the scanner thread; `sink` is called on that thread for every event.
///
/// Succeeds even if the port is absent (a `Health(Disconnected)` event follows and the
/// thread keeps retrying with backoff); fails only for invalid options or if the thread
/// cannot be created. Never blocks.
pub fn spawn(
    options: ScannerOptions,
    sink: impl FnMut(ScannerEvent) + Send + 'static,
) -> Result<ScannerHandle, ScannerError> {
    options.validate()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name("senim-scanner".into())
        .spawn(move || {
            let mut sink = sink;
            serial::run(&options, &flag, &mut sink);
        })
        .map_err(ScannerError::Thread)?;
    Ok(ScannerHandle {
        stop,
        thread: Some(thread),
    })
}

/// One line of `senim-kiosk scan` output. Serializes in field order
/// `kind, valid, iin, symbology, error`. Holds the full IIN (technician's terminal only):
/// `Debug` masks it.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanJson {
    /// `iin`, `mrz`, `badge`, `enrolment` or `unknown`.
    pub kind: &'static str,
    /// Whether the read was accepted.
    pub valid: bool,
    /// Full 12-digit IIN of a valid citizen read.
    pub iin: Option<String>,
    /// AIM symbology identifier.
    pub symbology: Option<String>,
    /// Rejection or framing error code.
    pub error: Option<&'static str>,
}

impl std::fmt::Debug for ScanJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanJson")
            .field("kind", &self.kind)
            .field("valid", &self.valid)
            .field("iin", &self.iin.as_ref().map(|_| "<masked>"))
            .field("symbology", &self.symbology)
            .field("error", &self.error)
            .finish()
    }
}

impl ScanJson {
    /// The view of a read.
    pub fn from_read(read: &ScanRead) -> ScanJson {
        let c = &read.classified;
        let iin = match &c.result {
            Ok(Identity::Citizen { iin, .. }) => Some(iin.as_str().to_owned()),
            _ => None,
        };
        ScanJson {
            kind: c.kind.as_str(),
            valid: c.result.is_ok(),
            iin,
            symbology: read.symbology.clone(),
            error: c.result.as_ref().err().map(|r| r.code()),
        }
    }

    /// The view of a discarded line.
    pub fn from_framing_error(error: &FramingError) -> ScanJson {
        ScanJson {
            kind: "unknown",
            valid: false,
            iin: None,
            symbology: None,
            error: Some(error.code()),
        }
    }

    /// The view of an event, `None` for health changes.
    pub fn from_event(event: &ScannerEvent) -> Option<ScanJson> {
        match event {
            ScannerEvent::Read(r) => Some(ScanJson::from_read(r)),
            ScannerEvent::FramingError(e) => Some(ScanJson::from_framing_error(e)),
            ScannerEvent::Health(_) => None,
        }
    }

    /// As a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "valid": self.valid,
            "iin": self.iin,
            "symbology": self.symbology,
            "error": self.error,
        })
    }
}

/// `{"kind", "valid", "iin", "symbology", "error"}` for a read (full IIN: technician CLI only).
pub fn scan_json(read: &ScanRead) -> serde_json::Value {
    ScanJson::from_read(read).to_value()
}

/// `{"kind":"unknown","valid":false,"iin":null,"symbology":null,"error":"not_utf8"|"too_long"}`.
pub fn framing_error_json(error: &FramingError) -> serde_json::Value {
    ScanJson::from_framing_error(error).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::classify;
    use serde_json::json;

    fn read(text: &str, symbology: Option<&str>) -> ScanRead {
        ScanRead {
            classified: classify(text),
            text: ScanText(text.into()),
            symbology: symbology.map(String::from),
            raw_len: text.len(),
            received: std::time::Instant::now(),
        }
    }

    #[test]
    fn json_views() {
        assert_eq!(
            scan_json(&read("880101300010", Some("]C0"))),
            json!({"kind":"iin","valid":true,"iin":"880101300010","symbology":"]C0","error":null})
        );
        assert_eq!(
            scan_json(&read("880101300011", None)),
            json!({"kind":"iin","valid":false,"iin":null,"symbology":null,"error":"check_digit"})
        );
        assert_eq!(
            scan_json(&read("SENIM-TECH:abcdefgh", None)),
            json!({"kind":"badge","valid":true,"iin":null,"symbology":null,"error":null})
        );
        assert_eq!(
            scan_json(&read("hello", None)),
            json!({"kind":"unknown","valid":false,"iin":null,"symbology":null,"error":"unknown"})
        );
        assert_eq!(
            framing_error_json(&FramingError::TooLong { limit: 512 }),
            json!({"kind":"unknown","valid":false,"iin":null,"symbology":null,"error":"too_long"})
        );
        assert_eq!(
            framing_error_json(&FramingError::NotUtf8 { bytes: 2 }),
            json!({"kind":"unknown","valid":false,"iin":null,"symbology":null,"error":"not_utf8"})
        );
        let line =
            serde_json::to_string(&ScanJson::from_read(&read("880101300010", None))).unwrap();
        assert_eq!(
            line,
            r#"{"kind":"iin","valid":true,"iin":"880101300010","symbology":null,"error":null}"#
        );
        let dbg = format!("{:?}", ScanJson::from_read(&read("880101300010", None)));
        assert!(!dbg.contains("0101300"), "{dbg}");
        let dbg = format!("{:?}", read("880101300010", None));
        assert!(!dbg.contains("0101300"), "{dbg}");
    }

    #[test]
    fn suffix_deserializes() {
        let s: Vec<Suffix> = serde_json::from_str(r#"["cr","lf","crlf","none"]"#).unwrap();
        assert_eq!(s, [Suffix::Cr, Suffix::Lf, Suffix::CrLf, Suffix::None]);
    }

    #[test]
    fn invalid_options_are_rejected() {
        let ok = ScannerOptions {
            port: "/dev/ttyACM0".into(),
            ..ScannerOptions::default()
        };
        let cases = [
            ScannerOptions {
                port: " ".into(),
                ..ok.clone()
            },
            ScannerOptions {
                baud: 0,
                ..ok.clone()
            },
            ScannerOptions {
                max_line_bytes: 0,
                ..ok.clone()
            },
            ScannerOptions {
                suffix: Suffix::None,
                inter_byte_timeout: Duration::ZERO,
                ..ok.clone()
            },
        ];
        for o in cases {
            let err = spawn(o, |_| {}).err().unwrap();
            assert!(!err.to_string().is_empty());
        }
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn error_messages_guide_the_technician() {
        let e = ScannerError::PermissionDenied {
            port: "/dev/ttyACM0".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot open scanner port /dev/ttyACM0: permission denied — add the kiosk user to the dialout group or check the udev rule"
        );
    }
}
