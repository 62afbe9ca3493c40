//! Checks of a kiosk's configuration, catalogue, store, disk, devices, network and call-centre
//! link, each `ok`, `warn` or `fail` with a hint for the technician: the `senim-kiosk doctor`
//! command and the technician screen run the same list.
//!
//! Over 600 lines: the one list of every check, each with its message and hint, is read top
//! to bottom by whoever adds the next one; splitting it would scatter the wording.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::devices::printer::link::LinkKind;
use crate::flow::Health;
use crate::store::Store;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One check: what was looked at, what was found, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub level: Level,
    /// What was found (technical, never personal data).
    pub detail: String,
    /// What to do, when something is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn ok(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            level: Level::Ok,
            detail: detail.into(),
            hint: None,
        }
    }

    fn warn(check: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Check {
        Check {
            check,
            level: Level::Warn,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }

    fn fail(check: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Check {
        Check {
            check,
            level: Level::Fail,
            detail: detail.into(),
            hint: Some(hint.into()),
        }
    }

    /// `ok    name     detail — hint`, for a terminal.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{:<5} {:<11} {}",
            self.level.as_str(),
            self.check,
            self.detail
        );
        if let Some(hint) = &self.hint {
            line.push_str(" — ");
            line.push_str(hint);
        }
        line
    }
}

/// Whether any check failed (the exit status of `doctor`).
pub fn any_failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.level == Level::Fail)
}

/// Clock skew beyond which "when will it be seen" texts may be wrong.
const SKEW_WARN_MS: i64 = 30_000;
const SKEW_FAIL_MS: i64 = 5 * 60_000;
/// An item still pending this long means delivery is stuck.
const STUCK_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// The devices as the running kiosk sees them (the technician screen), instead of opening
/// ports the kiosk already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveDevices {
    pub scanner: Health,
    pub camera: Health,
    pub microphone: Health,
    pub printer: Health,
}

/// Runs every check (blocking: network checks take up to seconds). Without `live`, device
/// checks open the configured ports (a port the running kiosk holds is a warning, "busy").
pub fn run(config: &Config, config_label: &str, live: Option<&LiveDevices>) -> Vec<Check> {
    let mut checks = vec![Check::ok("config", format!("{config_label} is valid"))];
    checks.push(catalogue(config));
    let store = match Store::open(&config.store.data_dir) {
        Ok(store) => {
            checks.push(match store.integrity_ok() {
                Ok(true) => Check::ok(
                    "store",
                    format!(
                        "{} (schema {}, integrity ok)",
                        config.store.data_dir.display(),
                        crate::store::SCHEMA_VERSION
                    ),
                ),
                Ok(false) | Err(_) => Check::fail(
                    "store",
                    "the kiosk store fails its integrity check",
                    "copy the data folder for the developers, then restore it from backup",
                ),
            });
            Some(store)
        }
        Err(e) => {
            checks.push(Check::fail(
                "store",
                e.to_string(),
                "check the data folder ([store] data_dir or --data) and its disk",
            ));
            None
        }
    };
    if let Some(store) = &store {
        checks.push(disk(config, store));
    }
    checks.extend(backend(config, store.as_ref()));
    if live.is_none() {
        // Not from the running kiosk's technician screen: the call-centre keeps one socket
        // per kiosk, and this one would replace the kiosk's own.
        checks.extend(call(config));
    }
    match live {
        Some(live) => checks.extend(live_devices(config, live)),
        None => {
            checks.push(scanner(config));
            checks.extend(camera(config));
            checks.push(printer(config));
        }
    }
    checks.push(technician(config, store.as_ref()));
    checks.push(updates(config));
    checks.push(Check::ok(
        "versions",
        format!(
            "senim-kiosk {}, store schema {}",
            env!("CARGO_PKG_VERSION"),
            crate::store::SCHEMA_VERSION
        ),
    ));
    checks
}

/// System updates: the running image, the update under way, the last result the call-centre
/// heard (a failure is a warning).
fn updates(config: &Config) -> Check {
    let Some(cfg) = config
        .updates
        .config(&config.store.data_dir, config.store.min_free_mib)
    else {
        return Check::ok("updates", "off ([updates] enabled = false)");
    };
    let Some(image) = crate::update::image_version(&cfg.os_release) else {
        return Check::ok(
            "updates",
            format!(
                "{} names no IMAGE_VERSION: not a kiosk image, so no update is offered",
                cfg.os_release.display()
            ),
        );
    };
    let ledger = crate::update::Ledger::read(&cfg.dir);
    let mut detail = format!(
        "image {image}; restarts for updates in {}",
        config.updates.quiet_hours
    );
    if let Some(r) = &ledger.report {
        detail.push_str(&format!("; update {} {}", r.version, r.state.as_str()));
        if let Some(p) = r.progress_percent {
            detail.push_str(&format!(" {p}%"));
        }
    }
    match ledger.said.filter(|s| s.state.is_failure()) {
        Some(s) => Check::warn(
            "updates",
            format!(
                "{detail}; update {} {}: {}",
                s.version,
                s.state.as_str(),
                s.message.as_deref().unwrap_or("")
            ),
            "this version is not taken again; the call-centre's `update status` shows it too",
        ),
        None => Check::ok("updates", detail),
    }
}

/// The technician PIN: set, none, deprecated (unsalted SHA-256) or locked now.
fn technician(config: &Config, store: Option<&Store>) -> Check {
    let lock = store.and_then(|s| s.pin_lock().ok());
    let lock = lock.map(|l| l.to_flow(chrono::Utc::now()));
    match config.technician.pin_check(lock.unwrap_or_default()) {
        Ok(detail) => Check::ok("technician", detail),
        Err((detail, hint)) => Check::warn("technician", detail, hint),
    }
}

fn catalogue(config: &Config) -> Check {
    match crate::catalog::Catalog::load_dir(&config.kiosk.catalog_dir) {
        Ok(c) => Check::ok(
            "catalogue",
            format!(
                "{} services in {}",
                c.services.len(),
                config.kiosk.catalog_dir.display()
            ),
        ),
        Err(e) => Check::fail(
            "catalogue",
            e.to_string().lines().next().unwrap_or_default().to_string(),
            format!(
                "run `senim-kiosk catalog check {}` for the list",
                config.kiosk.catalog_dir.display()
            ),
        ),
    }
}

fn disk(config: &Config, store: &Store) -> Check {
    let need = config.store.min_free_mib << 20;
    match store.free_bytes() {
        Ok(free) if free < need => Check::fail(
            "disk",
            format!(
                "{} MiB free, a recording needs {} MiB",
                free >> 20,
                need >> 20
            ),
            "video appeals are refused until space is freed: let the kiosk deliver its queue, \
             or free space on the data disk",
        ),
        Ok(free) if free < need * 4 => Check::warn(
            "disk",
            format!(
                "{} MiB free (recordings need {} MiB)",
                free >> 20,
                need >> 20
            ),
            "the data disk is nearly full",
        ),
        Ok(free) => Check::ok("disk", format!("{} MiB free", free >> 20)),
        Err(e) => Check::fail("disk", e.to_string(), "check the data disk"),
    }
}

fn backend(config: &Config, store: Option<&Store>) -> Vec<Check> {
    let mut checks = Vec::new();
    let enrolment = store.and_then(|s| s.enrolment().ok().flatten());
    checks.push(match &enrolment {
        Some(e) => Check::ok(
            "enrolment",
            format!("kiosk {} at \"{}\"", e.kiosk_id, e.site),
        ),
        None => Check::fail(
            "enrolment",
            "this kiosk is not enrolled",
            "scan the enrolment QR code from the console (or of `senim-callcentre enrol-code \
             --url URL`), or run `senim-kiosk enrol CODE` with the text it prints",
        ),
    });
    if let (Some(store), Some(_)) = (store, &enrolment) {
        checks.push(match store.signing_key() {
            Ok(Some(key)) => Check::ok(
                "signing",
                format!("catalogues are checked with the call-centre's key {key}"),
            ),
            Ok(None) => Check::warn(
                "signing",
                "no signing key of the call-centre yet: new catalogues are refused",
                "an up-to-date call-centre hands it over with its next heartbeat answer; \
                 otherwise enrol the kiosk again",
            ),
            Err(e) => Check::fail("signing", e.to_string(), "check the data disk"),
        });
    }
    if let Some(store) = store {
        checks.push(queue(store));
    }
    let sync = match config.sync_config() {
        Ok(Some(sync)) => sync,
        Ok(None) if config.sync.standalone => {
            checks.push(Check::warn(
                "network",
                "a stand-alone kiosk ([sync] standalone = true): everything stays on this kiosk",
                "to send appeals to a call-centre, remove standalone and enrol the kiosk",
            ));
            return checks;
        }
        Ok(None) => {
            checks.push(Check::warn(
                "network",
                "no call-centre yet: the kiosk waits on the enrolment screen",
                "scan the enrolment QR code (it carries the call-centre's address), or set \
                 [sync] backend_url",
            ));
            return checks;
        }
        Err(e) => {
            checks.push(Check::fail(
                "network",
                e.to_string(),
                "fix [sync] in the configuration",
            ));
            return checks;
        }
    };
    let depth = store
        .and_then(|s| s.queue().ok())
        .map_or(0, |q| u32::try_from(q.pending()).unwrap_or(u32::MAX));
    let probe = match crate::sync::probe(&sync, depth) {
        Ok(p) => p,
        Err(e) => {
            checks.push(Check::fail(
                "network",
                e.to_string(),
                "fix [sync] in the configuration",
            ));
            return checks;
        }
    };
    checks.push(match &probe.connect {
        Ok(t) => Check::ok(
            "network",
            format!("{} answers in {}", sync.backend_url, ms(*t)),
        ),
        Err(e) => Check::fail(
            "network",
            format!("cannot connect to {}: {e}", sync.backend_url),
            "check the cable or Wi-Fi, the kiosk's address and any firewall; everything stays \
             safe on the kiosk meanwhile",
        ),
    });
    checks.push(match (probe.https, probe.loopback, &probe.api) {
        (true, _, Ok(_)) if probe.pinned => Check::ok(
            "tls",
            "HTTPS, certificate verified, key pinned at enrolment",
        ),
        (true, _, Ok(_)) => Check::warn(
            "tls",
            "HTTPS, certificate verified, but the call-centre's key is not pinned",
            "enrol again with a QR code from a call-centre with [tls] cert (it carries the pin)",
        ),
        (true, _, Err(crate::sync::SyncError::Offline { reason, .. }))
            if reason.contains("pinned at enrolment") =>
        {
            Check::fail(
                "tls",
                reason.clone(),
                "see the message: another server answered",
            )
        }
        (true, _, Err(crate::sync::SyncError::Offline { reason, .. }))
            if reason.contains("certificate") || reason.contains("tls") =>
        {
            Check::fail(
                "tls",
                format!("the call-centre's certificate is not trusted: {reason}"),
                "for a private CA set [sync] ca_file; otherwise check the kiosk's date",
            )
        }
        (true, _, Err(_)) => Check::warn("tls", "HTTPS, not verified (no answer)", "see network"),
        (false, true, _) => Check::ok("tls", "plain HTTP to this machine (a local test set-up)"),
        (false, false, _) => Check::fail(
            "tls",
            "plain HTTP over the network is refused: personal data would travel unencrypted",
            "use an https:// backend_url",
        ),
    });
    match &probe.api {
        Ok((rtt, skew)) => {
            checks.push(Check::ok(
                "backend",
                format!("token accepted, API answers in {}", ms(*rtt)),
            ));
            let secs = skew / 1000;
            checks.push(if skew.abs() >= SKEW_FAIL_MS {
                Check::fail(
                    "clock",
                    format!("this kiosk's clock is {secs} s off the call-centre's"),
                    "enable NTP (timedatectl set-ntp true); times on receipts are wrong",
                )
            } else if skew.abs() >= SKEW_WARN_MS {
                Check::warn(
                    "clock",
                    format!("this kiosk's clock is {secs} s off the call-centre's"),
                    "enable NTP (timedatectl set-ntp true)",
                )
            } else {
                Check::ok(
                    "clock",
                    format!("within {} ms of the call-centre", skew.abs()),
                )
            });
        }
        Err(crate::sync::SyncError::NotEnrolled) => {}
        Err(e @ (crate::sync::SyncError::Unauthorized | crate::sync::SyncError::Revoked)) => {
            checks.push(Check::fail(
                "backend",
                "the call-centre does not accept this kiosk's token",
                e.to_string(),
            ));
        }
        Err(e) => checks.push(Check::fail(
            "backend",
            e.to_string(),
            "see the network check; the call-centre may be down",
        )),
    }
    checks
}

/// How long `doctor` waits for the signalling socket's first word, and for each ICE server.
const CALL_WAIT: Duration = Duration::from_secs(5);
const ICE_WAIT: Duration = Duration::from_secs(2);

/// The live-call link: the signalling socket opens with the token and says whether a call can
/// be placed; the STUN/TURN servers the call-centre hands out answer.
fn call(config: &Config) -> Vec<Check> {
    use crate::sync::call::{availability, Endpoint, SignallingError};
    let Ok(Some(sync)) = config.sync_config() else {
        return Vec::new();
    };
    let hint = "check that the call-centre is reachable (see network) and that a proxy in \
                between passes WebSocket upgrades on /api/v1/call";
    let found = Endpoint::from_sync(&sync).and_then(|e| availability(&e, CALL_WAIT));
    let found = match found {
        Ok(found) => found,
        // The enrolment and backend checks already say what to do.
        Err(
            SignallingError::NotEnrolled | SignallingError::Unauthorized | SignallingError::Revoked,
        ) => return Vec::new(),
        Err(e) => return vec![Check::fail("call", e.to_string(), hint)],
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut checks = vec![Check::ok(
        "call",
        format!(
            "signalling socket open; call-centre open now: {}, operators available now: {}",
            yes_no(found.open_now),
            yes_no(found.operators_available)
        ),
    )];
    for url in found.ice_servers.iter().flat_map(|s| &s.urls) {
        checks.push(match crate::call::ice::probe(url, ICE_WAIT) {
            Ok(t) => Check::ok("ice", format!("{url} answers in {}", ms(t))),
            Err(e) => Check::fail(
                "ice",
                format!("{url}: {e}"),
                "calls from behind NAT need it: check the firewall (UDP and TCP 3478, 5349 for \
                 turns:) and [call] stun_urls / turn_urls at the call-centre",
            ),
        });
    }
    checks
}

fn queue(store: &Store) -> Check {
    let report = match store.queue() {
        Ok(r) => r,
        Err(e) => return Check::fail("sync", e.to_string(), "check the store"),
    };
    let pending = report.pending();
    let detail = format!(
        "{pending} item(s) waiting, {:.1} MB of video{}",
        report.pending_video_bytes as f64 / 1e6,
        report
            .last_success_at
            .map(|t| format!(", last delivery {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default()
    );
    let stuck = pending > 0
        && report
            .last_success_at
            .is_none_or(|t| chrono::Utc::now() - t > STUCK_AFTER);
    let refused = report.parked_count();
    if stuck {
        Check::warn(
            "sync",
            detail,
            format!(
                "nothing delivered for over an hour; last error: {}",
                report.last_error.as_deref().unwrap_or("none")
            ),
        )
    } else if refused > 0 {
        // The newest parked item's reason says what happened; the others are in the queue.
        let last = report
            .parked
            .last()
            .map(|p| format!("; latest: {} {}: {}", p.kind, p.id, p.reason))
            .unwrap_or_default();
        Check::warn(
            "sync",
            format!(
                "{detail}; {refused} parked (refused for good or failing their checksum){last}"
            ),
            "the rest of the queue is delivered past them; `senim-kiosk queue` lists them with \
             their reasons — send that and the kiosk's log to the developers; once the cause \
             is fixed, `senim-kiosk queue --retry-parked` sends them again",
        )
    } else {
        Check::ok("sync", detail)
    }
}

fn live_devices(config: &Config, live: &LiveDevices) -> Vec<Check> {
    let one = |name: &'static str, health: Health, fitted: &str| match health {
        Health::Ok => Check::ok(name, format!("{fitted}: working")),
        Health::Absent => Check::ok(name, "not fitted"),
        Health::Faulty => Check::fail(
            name,
            format!("{fitted}: not answering"),
            "check its cable and power; its test page shows more",
        ),
    };
    vec![
        one("scanner", live.scanner, &config.scanner.port),
        one("camera", live.camera, "camera"),
        one("microphone", live.microphone, "microphone"),
        one("printer", live.printer, "receipt printer"),
    ]
}

fn scanner(config: &Config) -> Check {
    let Some(options) = config.scanner_options() else {
        return Check::ok(
            "scanner",
            "no serial scanner fitted (manual entry, camera QR)",
        );
    };
    let auto = options.port == crate::devices::scanner::discover::AUTO;
    let port = if auto {
        match crate::devices::scanner::discover::find(&options.exclude) {
            Some(p) => p.display().to_string(),
            None => {
                return Check::warn(
                    "scanner",
                    "none found (port = \"auto\": /dev/senim-scanner, /dev/serial/by-id/*, \
                     ttyACM*, ttyUSB*); the kiosk keeps looking and offers manual entry",
                    "plug the scanner in; `ls -l /dev/serial/by-id/` lists what the kiosk sees",
                );
            }
        }
    } else {
        options.port.clone()
    };
    serial_port(
        "scanner",
        &port,
        options.baud,
        &SerialHints {
            opens: if auto {
                " (found by port = \"auto\")"
            } else {
                ""
            },
            missing: "plug the scanner in and check its cable; `ls -l /dev/serial/by-id/` lists \
                      what the kiosk sees (the image's udev rule names it /dev/senim-scanner)",
            busy: "test it from the technician screen, or stop the kiosk service first",
            failed: "check the scanner's cable and that the port exists (ls -l /dev/serial/by-id/)",
        },
    )
}

fn camera(config: &Config) -> Vec<Check> {
    use crate::devices::camera::{probe_devices, AvDevice, DeviceState};
    // What `auto` finds now, said in the check's detail.
    let resolved = crate::devices::camera::discover::resolve(&config.camera);
    let cfg = &resolved.config;
    let note = |device: &str| resolved.notes.iter().find(|n| n.contains(device)).cloned();
    if !cfg.has_video() && !cfg.has_audio() {
        return vec![
            Check::ok(
                "camera",
                note("camera").unwrap_or_else(|| "not fitted (appeals are typed)".into()),
            ),
            Check::ok(
                "microphone",
                note("microphone").unwrap_or_else(|| "not fitted".into()),
            ),
        ];
    }
    let states = match probe_devices(cfg) {
        Ok(s) => s,
        Err(e) => {
            return vec![Check::fail(
                "camera",
                e.to_string(),
                "install the GStreamer packages (scripts/setup.sh) and check [camera]",
            )]
        }
    };
    states
        .into_iter()
        .map(|(device, state)| {
            let name = match device {
                AvDevice::Camera => "camera",
                AvDevice::Microphone => "microphone",
            };
            let what = note(name).unwrap_or_else(|| match device {
                AvDevice::Camera => format!("{:?} {}", cfg.video, cfg.video_device.display()),
                AvDevice::Microphone => format!("{:?} {}", cfg.audio, cfg.audio_device),
            });
            match state {
                DeviceState::Ok => Check::ok(name, format!("{}: working", what.trim())),
                DeviceState::Absent => {
                    Check::ok(name, note(name).unwrap_or_else(|| "not fitted".into()))
                }
                DeviceState::Faulty(reason) => Check::fail(
                    name,
                    format!("{}: {reason}", what.trim()),
                    match device {
                        AvDevice::Camera => {
                            "check the camera's USB cable and [camera] video_device \
                             (ls -l /dev/v4l/by-id/); the technician screen shows its picture"
                        }
                        AvDevice::Microphone => {
                            "check the microphone's cable and [camera] audio_device \
                             (arecord -L / pactl list short sources)"
                        }
                    },
                ),
            }
        })
        .collect()
}

fn printer(config: &Config) -> Check {
    let Some(options) = config.printer_options() else {
        let detail = if config.printer.port.trim() == crate::devices::scanner::discover::AUTO {
            "not fitted (port = \"auto\" found no /dev/senim-printer or /dev/usb/lp*; the QR \
             code on screen is the receipt)"
        } else {
            "not fitted (the QR code on screen is the receipt)"
        };
        return Check::ok("printer", detail);
    };
    if LinkKind::of(&options.port) == LinkKind::File {
        return printer_file(&options.port);
    }
    serial_port(
        "printer",
        &options.port,
        options.baud,
        &SerialHints {
            opens: " (print a test slip: senim-kiosk print-test)",
            missing: "plug the printer in, switch it on and check its cable; then \
                      `senim-kiosk print-test`",
            busy: "print a test slip from the technician screen",
            failed: "check the printer's cable and that the port exists",
        },
    )
}

/// A printer that is no serial port (a USB printer-class device, `/dev/usb/lpN`): it opens for
/// writing, and what the path leads to.
fn printer_file(port: &str) -> Check {
    use std::os::unix::fs::OpenOptionsExt;
    let target = std::fs::canonicalize(port)
        .ok()
        .filter(|t| t != Path::new(port))
        .map(|t| format!(" → {}", t.display()))
        .unwrap_or_default();
    match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(port)
    {
        Ok(_) => Check::ok(
            "printer",
            format!(
                "{port}{target} opens ({}, written as a file; print a test slip: \
                 senim-kiosk print-test)",
                LinkKind::File.as_str()
            ),
        ),
        Err(e) if e.raw_os_error() == Some(16) => Check::warn(
            "printer",
            format!("{port}{target} is in use (by the running kiosk?)"),
            "print a test slip from the technician screen",
        ),
        Err(e) => Check::fail(
            "printer",
            format!("{port}{target}: {e}"),
            "switch the printer on and check its USB cable; the kiosk user needs the lp \
             group (the image's udev rule gives it)",
        ),
    }
}

/// What a serial device's check says besides the port: a note when it opens, and the hint
/// when it is missing, held by another process, or fails to open.
struct SerialHints {
    opens: &'static str,
    missing: &'static str,
    busy: &'static str,
    failed: &'static str,
}

/// A serial device's check: the port exists and opens (another process holding it is a
/// warning, "busy": the running kiosk).
fn serial_port(check: &'static str, port: &str, baud: u32, hints: &SerialHints) -> Check {
    if !Path::new(port).exists() {
        return Check::fail(check, format!("{port} does not exist"), hints.missing);
    }
    match serialport::new(port, baud)
        .timeout(Duration::from_millis(100))
        .open()
    {
        Ok(_) => Check::ok(check, format!("{port} opens{}", hints.opens)),
        Err(e) if is_busy(&e) => Check::warn(
            check,
            format!("{port} is in use (by the running kiosk?)"),
            hints.busy,
        ),
        Err(e) => Check::fail(check, format!("{port}: {e}"), hints.failed),
    }
}

/// The port exists but another process holds it (serialport opens ports exclusively).
fn is_busy(e: &serialport::Error) -> bool {
    e.kind() == serialport::ErrorKind::NoDevice
        || e.description.contains("busy")
        || e.description.contains("temporarily unavailable")
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
