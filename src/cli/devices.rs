//! The device tools of the command line: `scan` (JSON lines from the serial scanner),
//! `print-test` (a test slip) and the hidden `record` (one take, JSON lines).

use anyhow::Context;

use crate::config::Config;
use crate::devices::camera::{self, CameraConfig, CameraEvent, DeviceState};
use crate::devices::printer::{Printer, PrinterEvent, PrinterHealth, Slip};
use crate::devices::scanner::{self, ScanJson, ScannerEvent, ScannerHealth, ScannerOptions};

use super::kiosk_id;

/// How long `print-test` waits for the printer: the open, a status query and a slip at
/// 9600 baud take well under this.
const PRINT_TEST_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// `senim-kiosk print-test`: prints [`Slip::test`] and waits for the outcome.
pub(super) fn print_test(config: &Config) -> anyhow::Result<i32> {
    let Some(options) = config.printer_options() else {
        anyhow::bail!(
            "no receipt printer is fitted — set [printer] port in the configuration file (or \
             \"auto\", which found no /dev/senim-printer or /dev/usb/lp*)"
        );
    };
    let port = options.port.clone();
    let kiosk_id = kiosk_id(config);
    let now = config
        .callcentre
        .schedule()
        .map(|s| s.local(chrono::Utc::now()))
        .unwrap_or_else(|_| chrono::Local::now().naive_local());
    let (tx, rx) = std::sync::mpsc::channel();
    let printer = Printer::spawn(options, move |event| {
        let _ = tx.send(event);
    })
    .with_context(|| format!("cannot start the printer on {port}"))?;
    printer.print(Slip::test(&kiosk_id, now));
    let deadline = std::time::Instant::now() + PRINT_TEST_WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(PrinterEvent::Printed) => {
                println!("print-test: test slip sent to {port}");
                return Ok(0);
            }
            Ok(PrinterEvent::Failed(e)) => {
                eprintln!("print-test: {e}");
                return Ok(1);
            }
            Ok(PrinterEvent::Health(PrinterHealth::Ok)) => eprintln!("print-test: {port} ready"),
            Ok(PrinterEvent::Health(PrinterHealth::Faulty { reason })) => {
                eprintln!("print-test: {reason}")
            }
            Err(_) => {
                eprintln!(
                    "print-test: no answer from the printer thread within {} s",
                    PRINT_TEST_WAIT.as_secs()
                );
                return Ok(1);
            }
        }
    }
}

/// `senim-kiosk record`: one take, JSON lines on stdout, exit 0 only with a take.
pub(super) fn record(
    cfg: CameraConfig,
    seconds: u64,
    out: &std::path::Path,
) -> anyhow::Result<i32> {
    use serde_json::json;
    use std::time::{Duration, Instant};
    let (tx, rx) = std::sync::mpsc::channel();
    let cam = camera::Camera::open(cfg, move |e| {
        if !matches!(e, CameraEvent::Frame(_)) {
            let _ = tx.send(e);
        }
    })
    .context("cannot open the camera")?;
    cam.start_recording(out);
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let mut give_up = stop_at + Duration::from_secs(30);
    let mut stopping = false;
    let mut last_level = Instant::now() - Duration::from_secs(1);
    loop {
        let now = Instant::now();
        if !stopping && now >= stop_at {
            cam.stop_recording();
            stopping = true;
            give_up = now + Duration::from_secs(30);
        }
        let wait = if stopping { give_up } else { stop_at }.saturating_duration_since(now);
        let line = match rx.recv_timeout(wait) {
            Ok(CameraEvent::Health { device, state }) => {
                let (state, reason) = match state {
                    DeviceState::Ok => ("ok", None),
                    DeviceState::Faulty(r) => ("faulty", Some(r)),
                    DeviceState::Absent => ("absent", None),
                };
                json!({"event": "health", "device": device.as_str(), "state": state, "reason": reason})
            }
            Ok(CameraEvent::Recording { secured }) => {
                json!({"event": "recording", "secured_s": secured.as_secs_f64()})
            }
            Ok(CameraEvent::Level { db }) if last_level.elapsed() >= Duration::from_secs(1) => {
                last_level = Instant::now();
                json!({"event": "level", "db": db})
            }
            Ok(CameraEvent::TakeFinished(result)) => {
                let take = result.context("the take failed")?;
                println!(
                    "{}",
                    json!({"event": "take", "path": take.path, "seconds": take.duration.as_secs_f64(),
                        "bytes": take.bytes, "interrupted": take.interrupted,
                        "video": take.has_video, "audio": take.has_audio})
                );
                return Ok(0);
            }
            Ok(_) => continue,
            Err(_) if stopping => anyhow::bail!("the recorder did not finish within 30 s"),
            Err(_) => continue,
        };
        println!("{line}");
    }
}

/// `senim-kiosk scan`: JSON lines on stdout, flushed one by one; health news on stderr.
pub(super) fn scan(options: ScannerOptions) -> anyhow::Result<i32> {
    use std::io::Write;
    let port = options.port.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let _handle = scanner::spawn(options, move |event| {
        let _ = tx.send(event);
    })
    .with_context(|| format!("cannot read the scanner on {port}"))?;
    let stdout = std::io::stdout();
    for event in rx {
        match &event {
            ScannerEvent::Health(ScannerHealth::Connected) => eprintln!("scan: {port} connected"),
            ScannerEvent::Health(ScannerHealth::Disconnected { reason }) => {
                eprintln!("scan: {port} disconnected ({reason}); retrying")
            }
            ScannerEvent::Read(_) | ScannerEvent::FramingError(_) => {}
        }
        if let Some(json) = ScanJson::from_event(&event) {
            let line = serde_json::to_string(&json).context("encoding a read as JSON")?;
            let mut out = stdout.lock();
            // A closed stdout (e.g. `| head -1`) ends the tool quietly.
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return Ok(0);
            }
        }
    }
    // The driver thread only ends when the handle is dropped, so this is not reached in use.
    Ok(0)
}
