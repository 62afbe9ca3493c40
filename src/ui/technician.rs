//! The technician block (`TechnicianAdapter`): PIN, device states, the checks, the delivery
//! queue, the scanner and printer tests, and the callbacks of those pages.

use slint::{ComponentHandle, ModelRc};

use super::{count, keypad_digit, set_rows, AppWindow, CheckLevel, CheckRow, DeviceHealth};
use super::{KioskInfo, Sink, TechTest, TechnicianAdapter};
use crate::doctor;
use crate::flow::{self, Device, Event, Flow, Health, Millis, Screen as FlowScreen};

/// Technician mode's view: the checks, the delivery queue, the last test scan, the printer test.
#[derive(Debug, Clone, Default)]
pub struct TechView {
    pub checks: Vec<doctor::Check>,
    pub checks_running: bool,
    pub sync_bytes: u64,
    pub sync_last_success: Option<chrono::DateTime<chrono::Utc>>,
    pub sync_last_error: Option<String>,
    /// Records and videos parked (refused for good, or a checksum failing too often).
    pub sync_parked: u64,
    pub microphone: Health,
    pub scan: Option<TestScan>,
    /// The last test slip: printed, or why not.
    pub printer: Option<Result<(), String>>,
}

/// A read on the scanner test page, byte by byte (the technician's own test card).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TestScan {
    pub kind: String,
    pub valid: bool,
    pub symbology: String,
    pub text: String,
    pub hex: String,
}

impl std::fmt::Debug for TestScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestScan")
            .field("kind", &self.kind)
            .field("valid", &self.valid)
            .finish_non_exhaustive()
    }
}

pub(super) fn map_health(h: Health) -> DeviceHealth {
    match h {
        Health::Absent => DeviceHealth::Absent,
        Health::Ok => DeviceHealth::Ok,
        Health::Faulty => DeviceHealth::Faulty,
    }
}

pub(super) fn map_check_level(level: doctor::Level) -> CheckLevel {
    match level {
        doctor::Level::Ok => CheckLevel::Ok,
        doctor::Level::Warn => CheckLevel::Warn,
        doctor::Level::Fail => CheckLevel::Fail,
    }
}

pub(super) fn map_tech_test(test: TechTest) -> flow::TechTest {
    match test {
        TechTest::Scanner => flow::TechTest::Scanner,
        TechTest::Camera => flow::TechTest::Camera,
        TechTest::Printer => flow::TechTest::Printer,
    }
}

pub(super) fn apply(window: &AppWindow, flow: &Flow, info: &KioskInfo, now: Millis) {
    let tech = window.global::<TechnicianAdapter>();
    let (pin_length, wrong) = match flow.screen() {
        FlowScreen::TechnicianPin { digits, wrong } => (digits.len(), *wrong),
        _ => (0, false),
    };
    tech.set_pin_length(count(pin_length));
    tech.set_wrong(wrong);
    tech.set_locked_seconds(i32::try_from(flow.pin_locked_for(now)).unwrap_or(i32::MAX));
    tech.set_kiosk_id(info.kiosk_id.as_str().into());
    tech.set_version(info.version.as_str().into());
    tech.set_scanner(map_health(flow.health(Device::Scanner)));
    tech.set_camera(map_health(flow.health(Device::Camera)));
    tech.set_printer(map_health(flow.health(Device::Printer)));
    apply_view(&tech, &info.tech);
}

fn apply_view(tech: &TechnicianAdapter, view: &TechView) {
    let rows: Vec<CheckRow> = view
        .checks
        .iter()
        .map(|c| CheckRow {
            level: map_check_level(c.level),
            name: c.check.into(),
            detail: c.detail.as_str().into(),
            hint: c.hint.as_deref().unwrap_or_default().into(),
        })
        .collect();
    set_rows(tech.get_checks(), rows, |m: ModelRc<CheckRow>| {
        tech.set_checks(m)
    });
    tech.set_checks_running(view.checks_running);
    tech.set_sync_bytes(format!("{:.1} MB", view.sync_bytes as f64 / 1e6).into());
    tech.set_sync_last_success(
        view.sync_last_success
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
            .into(),
    );
    tech.set_sync_last_error(view.sync_last_error.clone().unwrap_or_default().into());
    tech.set_sync_parked(i32::try_from(view.sync_parked).unwrap_or(i32::MAX));
    tech.set_microphone(map_health(view.microphone));
    let scan = view.scan.clone().unwrap_or_default();
    tech.set_scan_kind(scan.kind.into());
    tech.set_scan_valid(scan.valid);
    tech.set_scan_symbology(scan.symbology.into());
    tech.set_scan_text(scan.text.into());
    tech.set_scan_hex(scan.hex.into());
    let (result, ok) = match &view.printer {
        None => (String::new(), false),
        Some(Ok(())) => ("printed".to_string(), true),
        Some(Err(e)) => (e.clone(), false),
    };
    tech.set_printer_result(result.into());
    tech.set_printer_ok(ok);
}

pub(super) fn connect(window: &AppWindow, send: &Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };
    let tech = window.global::<TechnicianAdapter>();
    tech.on_digit(keypad_digit(send.clone()));
    tech.on_backspace(on(Event::KeypadBackspace));
    tech.on_submit(on(Event::KeypadSubmit));
    tech.on_leave(on(Event::TechnicianExit));
    tech.on_recheck(on(Event::TechnicianRecheck));
    tech.on_print_test(on(Event::TechnicianPrintTest));
    {
        let send = send.clone();
        tech.on_open_test(move |t| send(Event::TechnicianOpen(map_tech_test(t))));
    }
    tech.on_restart(on(Event::Restart));
}
