//! Wiring: builds the window, starts the devices, carries out the journey's effects, runs the loop.
//!
//! The UI thread owns the [`Flow`]; device threads hand their news back with
//! `slint::invoke_from_event_loop`, so nothing ever blocks the screen.

mod camera;

pub use camera::recover_interrupted;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use senim_protocol::hours::Schedule;
use senim_protocol::{
    DeviceFaultRecord, DeviceHealth, DeviceStatus, GuideEventKind, GuideEventRecord,
};
use slint::ComponentHandle;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::devices::printer::{Printer, PrinterEvent, PrinterHealth, Slip};
use crate::devices::scanner::{self, ScannerEvent, ScannerHealth};
use crate::flow::{
    AppealDraft, AppealKind, Device, Effect, Event, Flow, FlowConfig, GuideShape, GuideUsage,
    Health, Millis, Rating,
};
use crate::identity;
use crate::store::{NewAppeal, StoreThread};
use crate::sync::{self, SyncHandle};
use crate::ui::{self, AppWindow, CatalogView, KioskInfo};

/// How often timers are checked while a session runs (countdown, recording clock, idle).
const TICK: Duration = Duration::from_millis(250);
/// How often the call-centre's open/closed status is recomputed.
const HOURS_REFRESH: Duration = Duration::from_secs(30);

/// Exit status asking systemd to start the kiosk again (technician "restart").
pub const EXIT_RESTART: i32 = 75;

/// Builds the journey settings from the configuration and the catalogue.
pub fn flow_config(config: &Config, catalog: &Catalog) -> FlowConfig {
    FlowConfig {
        mode: config.kiosk.mode,
        default_language: config.kiosk.default_language,
        idle_warning_ms: config.session.idle_warning_secs * 1000,
        idle_reset_ms: config.session.idle_reset_secs * 1000,
        countdown_ms: config.appeal.countdown_secs * 1000,
        max_recording_ms: config.appeal.max_recording_secs * 1000,
        guides: GuideShape::of(catalog),
        pin_sha256: config.technician.pin_sha256.clone(),
        badges_sha256: config.technician.badges_sha256.clone(),
    }
}

/// The running kiosk on the UI thread.
struct App {
    window: AppWindow,
    flow: RefCell<Flow>,
    guides: RefCell<CatalogView>,
    /// A catalogue from the call-centre, waiting for the kiosk to be at rest.
    pending_catalog: RefCell<Option<Catalog>>,
    /// The installed catalogue version in use or waiting (`None`: the shipped one).
    catalog_version: RefCell<Option<String>>,
    info: RefCell<KioskInfo>,
    started: Instant,
    ticker: slint::Timer,
    restart_requested: RefCell<bool>,
    /// Commits and usage figures go through the store's own thread.
    store: StoreThread,
    /// The sync worker, when a call-centre is configured.
    sync: Option<SyncHandle>,
    schedule: Schedule,
    /// Server clock − kiosk clock (ms), learnt by the sync worker.
    clock_skew_ms: Cell<i64>,
    /// Free space a recording needs (bytes).
    min_free_bytes: u64,
    /// Random id grouping one citizen's service-guide events (nothing personal).
    guide_session: RefCell<Option<String>>,
    /// The consultant call of this session (service, step), to withdraw when the citizen leaves.
    consultant_called: RefCell<Option<(String, u32)>>,
    /// The sync worker's last report (technician screen, enrolment changes).
    sync_state: RefCell<sync::Status>,
    /// The sync settings, for enrolment from the screen.
    config_sync: Result<Option<sync::SyncConfig>, String>,
    /// The configuration, for the technician's checks.
    config: Config,
    /// The receipt printer, when one is configured.
    printer: Option<Printer>,
    /// The camera and microphone, when fitted.
    camera: Option<crate::devices::camera::Camera>,
    /// The live camera pipeline is on / decoding QR codes / playing a take back.
    camera_live: Cell<bool>,
    camera_qr: Cell<bool>,
    playing: Cell<bool>,
    /// The take of the appeal in progress.
    recording: RefCell<Option<camera::Recording>>,
    /// An appeal sent before its take was sealed, saved as soon as it is.
    pending_save: RefCell<Option<AppealDraft>>,
    /// The slip being printed is the technician's test slip.
    printing_test: Cell<bool>,
}

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

/// Feeds an event to the running app from any closure on the UI thread.
fn dispatch(event: Event) {
    let app = APP.with(|a| a.borrow().clone());
    if let Some(app) = app {
        app.dispatch(event);
    }
}

/// Feeds an event from another thread.
fn dispatch_from_thread(event: Event) {
    if slint::invoke_from_event_loop(move || dispatch(event)).is_err() {
        tracing::debug!("event loop gone; event dropped during shutdown");
    }
}

impl App {
    fn now(&self) -> Millis {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn dispatch(&self, event: Event) {
        let now = self.now();
        if let Event::DeviceHealth(device, health) = event {
            self.device_changed(device, health);
        }
        let before = self.flow.borrow().screen().name();
        let effects = self.flow.borrow_mut().handle(now, event);
        let after = self.flow.borrow().screen().name();
        if before != after {
            tracing::info!(from = before, to = after, "screen");
        }
        for effect in effects {
            self.run_effect(effect);
        }
        if before != after {
            self.camera_policy();
        }
        self.refresh(now);
    }

    fn refresh(&self, now: Millis) {
        let flow = self.flow.borrow();
        ui::apply(
            &self.window,
            &flow,
            &self.guides.borrow(),
            &self.info.borrow(),
            now,
        );
        let ticking = self.ticker.running();
        if flow.needs_ticks() && !ticking {
            self.ticker
                .start(slint::TimerMode::Repeated, TICK, || dispatch(Event::Tick));
        } else if !flow.needs_ticks() && ticking {
            // On the attract screen nothing needs a clock: the kiosk sleeps.
            self.ticker.stop();
        }
    }

    fn run_effect(&self, effect: Effect) {
        match effect {
            Effect::SetLanguage(lang) => ui::select_language(lang),
            Effect::Presence { present } => {
                tracing::info!(present, "presence");
                if let Some(sync) = &self.sync {
                    sync.presence(present, present.then_some(senim_protocol::Journey::Appeal));
                }
            }
            // The camera follows the screen (`camera_policy`, after every event).
            Effect::StartPreview | Effect::StopPreview => self.camera_policy(),
            Effect::StartRecording => self.start_recording(),
            Effect::StopRecording => self.stop_recording(),
            Effect::DiscardRecording => self.discard_recording(),
            Effect::PlayTake => self.play_take(),
            Effect::SaveAppeal(draft) => self.save_appeal(draft),
            Effect::PrintReceipt(receipt) => self.print_receipt(&receipt),
            Effect::Usage(usage) => self.record_usage(usage),
            Effect::Enrol(code) => self.enrol(code),
            Effect::RunChecks => self.run_checks(),
            Effect::SwitchCatalog => {
                if let Some(catalog) = self.pending_catalog.borrow_mut().take() {
                    tracing::info!(
                        services = catalog.services.len(),
                        "service catalogue switched"
                    );
                    *self.guides.borrow_mut() = CatalogView::new(catalog);
                }
            }
            Effect::PrintTestSlip => match &self.printer {
                Some(printer) => {
                    self.printing_test.set(true);
                    self.info.borrow_mut().tech.printer = None;
                    let kiosk_id = self.info.borrow().kiosk_id.clone();
                    printer.print(Slip::test(&kiosk_id, self.schedule.local(Utc::now())));
                }
                None => {
                    self.info.borrow_mut().tech.printer = Some(Err(
                        "no receipt printer is configured ([printer] port)".into(),
                    ));
                }
            },
            Effect::ClearSession => {
                self.guide_session.borrow_mut().take();
                // The citizen left: the staff on the floor need not come any more.
                if let (Some(sync), Some((service, step))) =
                    (&self.sync, self.consultant_called.borrow_mut().take())
                {
                    sync.consultant(&service, step, false);
                }
                // Technician mode's test scan and results go with the session.
                let mut info = self.info.borrow_mut();
                info.tech.scan = None;
                info.tech.printer = None;
                info.tech.checks.clear();
                tracing::info!("session ended and wiped");
            }
            Effect::CallConsultant { service_id, step } => {
                tracing::info!(service = %service_id, step, "consultant called");
                if let Some(sync) = &self.sync {
                    let step = u32::try_from(step).unwrap_or(0);
                    sync.consultant(&service_id, step, true);
                    *self.consultant_called.borrow_mut() = Some((service_id, step));
                }
            }
            Effect::Restart => {
                *self.restart_requested.borrow_mut() = true;
                let _ = slint::quit_event_loop();
            }
        }
    }
}

impl App {
    /// Commits the appeal on the store thread; the citizen sees "sent" only once it is durable.
    fn save_appeal(&self, draft: AppealDraft) {
        let mut appeal = new_appeal(&draft, self.flow.borrow().lang().code());
        let mut take_dir = None;
        if draft.kind != AppealKind::Typed {
            let Some((video, recording, interrupted, dir)) = self.take_for_commit() else {
                // The camera is still sealing the take (a second at most): save when it is.
                tracing::debug!("appeal waits for its take to be sealed");
                *self.pending_save.borrow_mut() = Some(draft);
                return;
            };
            appeal.video = Some(video);
            appeal.recording = recording;
            appeal.interrupted = interrupted;
            take_dir = Some(dir);
        }
        let min_free = self.min_free_bytes;
        let waker = self.sync.as_ref().map(SyncHandle::waker);
        self.store.exec(move |store| {
            let result = store.map_err(|e| e.to_string()).and_then(|s| {
                let number = s.commit_appeal(&appeal).map_err(|e| e.to_string())?;
                // Tell the flow whether the next recording still fits.
                let room = s.check_space(min_free).is_ok();
                Ok((number, room))
            });
            match result {
                Ok((number, room)) => {
                    tracing::info!(appeal = %number, "appeal committed");
                    if let Some(dir) = &take_dir {
                        if let Err(e) = crate::devices::camera::remove_take_dir(dir) {
                            tracing::warn!(error = %e, "an empty take folder stayed");
                        }
                    }
                    waker.iter().for_each(sync::Waker::wake);
                    let _ = slint::invoke_from_event_loop(move || {
                        if let Some(app) = APP.with(|a| a.borrow().clone()) {
                            // Committed: the take is the store's now.
                            app.recording.borrow_mut().take();
                            app.dispatch(Event::AppealSaved { number });
                            if !room {
                                app.dispatch(Event::DeviceHealth(Device::Storage, Health::Faulty));
                            }
                        }
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "appeal NOT committed; the citizen is told");
                    dispatch_from_thread(Event::AppealSaveFailed);
                }
            }
        });
    }

    /// Records one service-guide usage event (synced as a record; nothing personal).
    fn record_usage(&self, usage: GuideUsage) {
        let Some(record) = self.usage_record(usage) else {
            return;
        };
        tracing::info!(event = ?record.event, service = %record.service_id, "service-guide usage");
        let waker = self.sync.as_ref().map(SyncHandle::waker);
        self.store.exec(move |store| {
            let result = store
                .map_err(|e| e.to_string())
                .and_then(|s| s.record_guide_event(&record).map_err(|e| e.to_string()));
            match result {
                Err(e) => {
                    tracing::warn!(error = %e, "a service-guide usage event was not recorded")
                }
                Ok(()) => waker.iter().for_each(sync::Waker::wake),
            }
        });
    }

    fn usage_record(&self, usage: GuideUsage) -> Option<GuideEventRecord> {
        let (service, event, step, rating) = match usage {
            GuideUsage::Started { service } => (service, GuideEventKind::Started, None, None),
            GuideUsage::StepReached { service, step } => {
                (service, GuideEventKind::StepReached, Some(step), None)
            }
            GuideUsage::Completed { service } => (service, GuideEventKind::Completed, None, None),
            GuideUsage::Abandoned { service, step } => {
                (service, GuideEventKind::Abandoned, Some(step), None)
            }
            GuideUsage::ConsultantCalled { service, step } => {
                (service, GuideEventKind::ConsultantCalled, Some(step), None)
            }
            GuideUsage::Rated { service, rating } => {
                let score = match rating {
                    Rating::Bad => 1,
                    Rating::Neutral => 2,
                    Rating::Good => 3,
                };
                (service, GuideEventKind::Rated, None, Some(score))
            }
        };
        let service_id = self
            .guides
            .borrow()
            .catalog()
            .services
            .get(service)?
            .id
            .clone();
        if event == GuideEventKind::Started {
            // Each run of a guide is one "citizen guided" in the figures.
            self.guide_session.borrow_mut().take();
        }
        let session_id = self
            .guide_session
            .borrow_mut()
            .get_or_insert_with(crate::store::new_session_id)
            .clone();
        Some(GuideEventRecord {
            session_id,
            service_id,
            event,
            // 1-based on the wire, as people count steps.
            step: step.and_then(|s| u32::try_from(s + 1).ok()),
            rating,
            at: Utc::now(),
        })
    }

    /// A device changed health: record the fault (or its end) for the fleet view and tell the
    /// heartbeat.
    fn device_changed(&self, device: Device, health: Health) {
        let before = self.flow.borrow().health(device);
        if before == health {
            return;
        }
        let (status, detail) = match health {
            Health::Ok => (DeviceStatus::Ok, "working again"),
            Health::Faulty => (DeviceStatus::Fail, device_fault_text(device)),
            Health::Absent => (DeviceStatus::Absent, "not fitted"),
        };
        // A device found working at start is not news; anything else is.
        if !(before == Health::Absent && health == Health::Ok) {
            let fault = DeviceFaultRecord {
                device: device_name(device).into(),
                status,
                detail: detail.into(),
                at: Utc::now(),
            };
            let waker = self.sync.as_ref().map(SyncHandle::waker);
            self.store.exec(move |store| {
                match store
                    .map_err(|e| e.to_string())
                    .and_then(|s| s.record_device_fault(&fault).map_err(|e| e.to_string()))
                {
                    Err(e) => tracing::warn!(error = %e, "a device fault was not recorded"),
                    Ok(()) => waker.iter().for_each(sync::Waker::wake),
                }
            });
        }
        if let Some(sync) = &self.sync {
            let flow = self.flow.borrow();
            let devices = Device::ALL
                .into_iter()
                .map(|d| {
                    let h = if d == device { health } else { flow.health(d) };
                    DeviceHealth {
                        device: device_name(d).into(),
                        status: match h {
                            Health::Ok => DeviceStatus::Ok,
                            Health::Faulty => DeviceStatus::Fail,
                            Health::Absent => DeviceStatus::Absent,
                        },
                        detail: None,
                    }
                })
                .collect();
            sync.devices(devices);
        }
    }

    /// The receipt slip, in the citizen's language (only when the printer is working).
    fn print_receipt(&self, receipt: &crate::flow::Receipt) {
        let Some(printer) = &self.printer else {
            return;
        };
        let status_url = self.config.appeal.status_url(&receipt.number);
        let slip = Slip::appeal(
            self.flow.borrow().lang(),
            &receipt.number,
            self.schedule.local(Utc::now()),
            receipt.seen_at.into(),
            status_url.as_deref(),
            &self.info.borrow().site_name,
        );
        self.printing_test.set(false);
        printer.print(slip);
    }

    fn printer_event(&self, event: PrinterEvent) {
        match event {
            PrinterEvent::Health(PrinterHealth::Ok) => {
                tracing::info!("receipt printer ready");
                self.dispatch(Event::DeviceHealth(Device::Printer, Health::Ok));
            }
            PrinterEvent::Health(PrinterHealth::Faulty { reason }) => {
                tracing::warn!(%reason, "receipt printer not answering");
                self.dispatch(Event::DeviceHealth(Device::Printer, Health::Faulty));
            }
            PrinterEvent::Printed => {
                tracing::info!("slip printed");
                if self.printing_test.replace(false) {
                    self.info.borrow_mut().tech.printer = Some(Ok(()));
                    self.refresh(self.now());
                }
            }
            PrinterEvent::Failed(e) => {
                tracing::warn!(error = %e, "slip not printed");
                if self.printing_test.replace(false) {
                    self.info.borrow_mut().tech.printer = Some(Err(e.to_string()));
                    self.refresh(self.now());
                }
            }
        }
    }

    /// A catalogue version from the call-centre is installed: load it off the UI thread, then
    /// let the flow switch between citizens.
    fn catalog_installed(&self, version: &str) {
        if self.catalog_version.borrow().as_deref() == Some(version) {
            return;
        }
        *self.catalog_version.borrow_mut() = Some(version.to_string());
        let (data_dir, version) = (self.config.store.data_dir.clone(), version.to_string());
        self.store
            .exec(move |_| match sync::catalog::load(&data_dir, &version) {
                Ok(catalog) => {
                    let _ = slint::invoke_from_event_loop(move || {
                        if let Some(app) = APP.with(|a| a.borrow().clone()) {
                            let shape = GuideShape::of(&catalog);
                            *app.pending_catalog.borrow_mut() = Some(catalog);
                            app.dispatch(Event::CatalogReady(shape));
                        }
                    });
                }
                Err(e) => tracing::error!(
                    error = %e,
                    "the installed catalogue does not load; the kiosk keeps the one it has"
                ),
            });
    }

    /// On the technician's scanner test page, what the scanner sent is shown byte by byte.
    fn note_test_scan(&self, read: &scanner::ScanRead) {
        let on_test_page = matches!(
            self.flow.borrow().screen(),
            crate::flow::Screen::TechnicianTest(crate::flow::TechTest::Scanner)
        );
        if !on_test_page {
            return;
        }
        let symbology = read.symbology.clone().unwrap_or_default();
        let bytes: Vec<u8> = symbology.bytes().chain(read.text.0.bytes()).collect();
        self.info.borrow_mut().tech.scan = Some(ui::TestScan {
            kind: read.classified.kind.as_str().to_string(),
            valid: read.classified.result.is_ok(),
            symbology,
            text: read
                .text
                .0
                .chars()
                .map(|c| if c.is_control() { '·' } else { c })
                .collect(),
            hex: bytes
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" "),
        });
    }

    /// Runs the technician's checks on a thread (they wait on the network) and shows them.
    fn run_checks(&self) {
        if self.info.borrow().tech.checks_running {
            return;
        }
        self.info.borrow_mut().tech.checks_running = true;
        let config = self.config.clone();
        let live = {
            let flow = self.flow.borrow();
            crate::doctor::LiveDevices {
                scanner: flow.health(Device::Scanner),
                camera: flow.health(Device::Camera),
                microphone: self.info.borrow().tech.microphone,
                printer: flow.health(Device::Printer),
            }
        };
        let spawned = std::thread::Builder::new()
            .name("senim-checks".into())
            .spawn(move || {
                let checks = crate::doctor::run(&config, "the running configuration", Some(&live));
                let _ = slint::invoke_from_event_loop(move || {
                    if let Some(app) = APP.with(|a| a.borrow().clone()) {
                        let mut info = app.info.borrow_mut();
                        info.tech.checks = checks;
                        info.tech.checks_running = false;
                        drop(info);
                        app.refresh(app.now());
                    }
                });
            });
        if spawned.is_err() {
            self.info.borrow_mut().tech.checks_running = false;
        }
    }

    /// Who this kiosk is (or that it is not enrolled): the title, the technician screen, the
    /// mode, and whether the kiosk rests on the enrolment screen.
    fn enrolment_known(&self, enrolled: Option<sync::EnrolledAs>) {
        {
            let mut info = self.info.borrow_mut();
            match &enrolled {
                Some(e) => {
                    info.kiosk_id = e.kiosk_id.clone();
                    if !e.site.is_empty() {
                        info.site_name = e.site.clone();
                    }
                }
                None => info.kiosk_id = "not enrolled".into(),
            }
        }
        if self.sync.is_some() {
            self.dispatch(Event::Enrolled(enrolled.map(|e| e.mode)));
        } else {
            self.refresh(self.now());
        }
    }

    /// Exchanges a scanned enrolment code on a thread of its own (it waits on the network).
    fn enrol(&self, code: String) {
        let Ok(Some(sync_config)) = self.config_sync.clone() else {
            dispatch(Event::EnrolResult(Err("no_backend")));
            return;
        };
        let waker = self.sync.as_ref().map(SyncHandle::waker);
        let spawned = std::thread::Builder::new()
            .name("senim-enrol".into())
            .spawn(move || {
                let result = sync::enrol(
                    &sync_config.data_dir,
                    &sync_config.backend_url,
                    sync_config.ca_pem.as_deref(),
                    &code,
                );
                let answer = match result {
                    Ok(e) => {
                        tracing::info!(kiosk = %e.kiosk_id, "enrolled");
                        waker.iter().for_each(sync::Waker::wake);
                        let enrolled = sync::EnrolledAs {
                            kiosk_id: e.kiosk_id,
                            site: e.site,
                            mode: e.mode,
                        };
                        let _ = slint::invoke_from_event_loop(move || {
                            if let Some(app) = APP.with(|a| a.borrow().clone()) {
                                let mode = enrolled.mode;
                                app.enrolment_known(Some(enrolled));
                                app.dispatch(Event::EnrolResult(Ok(mode)));
                            }
                        });
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "enrolment refused");
                        enrol_error_code(&e)
                    }
                };
                dispatch_from_thread(Event::EnrolResult(Err(answer)));
            });
        if spawned.is_err() {
            dispatch(Event::EnrolResult(Err("enrol_failed")));
        }
    }

    /// The call-centre's hours by the server's clock where the kiosk has learnt its skew.
    fn update_hours(&self) {
        let now = Utc::now() + chrono::Duration::milliseconds(self.clock_skew_ms.get());
        self.dispatch(Event::CallCentre(self.schedule.status(now)));
    }

    fn sync_status(&self, status: sync::Status) {
        {
            let mut info = self.info.borrow_mut();
            info.tech.sync_bytes = status.pending_bytes;
            info.tech.sync_last_success = status.last_success_at;
            info.tech.sync_last_error = status.last_error.clone();
        }
        let skew_changed = self.clock_skew_ms.replace(status.clock_skew_ms) != status.clock_skew_ms;
        let enrolment_changed = self.sync_state.borrow().enrolled_as != status.enrolled_as;
        *self.sync_state.borrow_mut() = status.clone();
        if enrolment_changed {
            self.enrolment_known(status.enrolled_as.clone());
        }
        if let Some(version) = &status.catalog_version {
            self.catalog_installed(version);
        }
        self.dispatch(Event::Sync {
            online: status.online,
            pending: u32::try_from(status.pending).unwrap_or(u32::MAX),
        });
        if skew_changed {
            self.update_hours();
        }
    }
}

/// A stable code the enrolment screen translates.
fn enrol_error_code(e: &sync::SyncError) -> &'static str {
    match e {
        sync::SyncError::Refused { code, .. } => match code.as_str() {
            "code_used" => "code_used",
            "code_expired" => "code_expired",
            "code_unknown" => "code_unknown",
            _ => "enrol_failed",
        },
        sync::SyncError::Offline { .. } | sync::SyncError::Server { .. } => "offline",
        _ => "enrol_failed",
    }
}

fn device_name(device: Device) -> &'static str {
    match device {
        Device::Scanner => "scanner",
        Device::Camera => "camera",
        Device::Microphone => "microphone",
        Device::Printer => "printer",
        Device::Storage => "disk",
    }
}

fn device_fault_text(device: Device) -> &'static str {
    match device {
        Device::Scanner => "card scanner not answering (unplugged?)",
        Device::Camera => "camera not answering",
        Device::Microphone => "microphone not answering",
        Device::Printer => "receipt printer not answering",
        Device::Storage => "not enough free space for a recording",
    }
}

/// The store's view of a citizen's appeal.
pub fn new_appeal(draft: &AppealDraft, language: &str) -> NewAppeal {
    NewAppeal {
        topic: draft.topic,
        language: language.to_string(),
        iin: draft.iin.as_ref().map(|i| i.as_str().to_string()),
        callback_phone: draft.phone.clone(),
        text: draft.text.clone(),
        video: None,
        interrupted: false,
        test: false,
        created_at: Utc::now(),
        recording: None,
    }
}

/// Runs the kiosk until the window closes; returns the process exit status.
pub fn run(config: Config, windowed: bool) -> anyhow::Result<i32> {
    let catalog = Catalog::load_dir(&config.kiosk.catalog_dir)
        .context("the kiosk refuses to start with a broken service catalogue")?;
    let schedule = config
        .callcentre
        .schedule()
        .map_err(|e| anyhow::anyhow!("callcentre.{e}"))?;

    // A kiosk is touched, not typed on: the X11 Compose tables (dead keys for physical
    // keyboards) are parsed twice at start-up for nothing, ~16 ms of the first frame here.
    // A technician who wants them sets XCOMPOSEFILE. Still single-threaded at this point.
    if std::env::var_os("XCOMPOSEFILE").is_none() {
        std::env::set_var("XCOMPOSEFILE", "/dev/null");
    }
    slint::BackendSelector::new()
        .backend_name("winit".into())
        .renderer_name(config.display.renderer.slint_name().into())
        .select()
        .with_context(|| {
            format!(
                "cannot open the display with the {} renderer — is DISPLAY or WAYLAND_DISPLAY set? \
                 Without a screen, run it under `xvfb-run`",
                config.display.renderer.slint_name()
            )
        })?;
    let t = Instant::now();
    let window = AppWindow::new().context("cannot create the kiosk window")?;
    tracing::debug!(ms = t.elapsed().as_millis(), "window built");
    if windowed || !config.display.fullscreen {
        window.window().set_size(slint::PhysicalSize::new(
            config.display.width,
            config.display.height,
        ));
    } else {
        window.window().set_fullscreen(true);
    }
    let t = Instant::now();
    ui::select_language(config.kiosk.default_language);
    tracing::debug!(ms = t.elapsed().as_millis(), "language selected");

    let info = KioskInfo {
        site_name: config.kiosk.site_name.clone(),
        kiosk_id: "not enrolled".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        tech: ui::TechView::default(),
        status_url: config.appeal.status_url.clone(),
    };
    let store = StoreThread::spawn(config.store.data_dir.clone())
        .context("cannot start the store thread")?;
    let sync = start_sync(&config);
    let app = Rc::new(App {
        window: window.clone_strong(),
        flow: RefCell::new(Flow::new(flow_config(&config, &catalog))),
        guides: RefCell::new(CatalogView::new(catalog)),
        pending_catalog: RefCell::new(None),
        catalog_version: RefCell::new(None),
        info: RefCell::new(info),
        started: Instant::now(),
        ticker: slint::Timer::default(),
        restart_requested: RefCell::new(false),
        store,
        sync,
        schedule,
        clock_skew_ms: Cell::new(0),
        min_free_bytes: config.store.min_free_mib << 20,
        guide_session: RefCell::new(None),
        consultant_called: RefCell::new(None),
        sync_state: RefCell::new(sync::Status::default()),
        config_sync: config.sync_config().map_err(|e| e.to_string()),
        config: config.clone(),
        printer: start_printer(&config),
        camera: camera::start(&config),
        camera_live: Cell::new(false),
        camera_qr: Cell::new(false),
        playing: Cell::new(false),
        recording: RefCell::new(None),
        pending_save: RefCell::new(None),
        printing_test: Cell::new(false),
    });
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    ui::connect(&window, Rc::new(dispatch));

    // Who this kiosk is (enrolment), whether a recording fits, read off the UI thread.
    let min_free = app.min_free_bytes;
    let waker = app.sync.as_ref().map(SyncHandle::waker);
    app.store.exec(move |store| {
        let (enrolled, room, catalog) = match store {
            Ok(s) => (
                {
                    // First, what a crash or power cut cut short becomes an appeal.
                    if camera::recover_interrupted(s) > 0 {
                        waker.iter().for_each(sync::Waker::wake);
                    }
                    s.enrolment().ok().flatten().map(|e| sync::EnrolledAs {
                        kiosk_id: e.kiosk_id,
                        site: e.site,
                        mode: e.mode,
                    })
                },
                s.check_space(min_free).is_ok(),
                s.catalog_version().ok().flatten(),
            ),
            Err(_) => (None, false, None),
        };
        let _ = slint::invoke_from_event_loop(move || {
            if let Some(app) = APP.with(|a| a.borrow().clone()) {
                app.sync_state.borrow_mut().enrolled_as = enrolled.clone();
                app.enrolment_known(enrolled);
                let health = if room { Health::Ok } else { Health::Faulty };
                app.dispatch(Event::DeviceHealth(Device::Storage, health));
                if let Some(version) = catalog {
                    app.catalog_installed(&version);
                }
            }
        });
    });

    let hours = slint::Timer::default();
    app.update_hours();
    hours.start(slint::TimerMode::Repeated, HOURS_REFRESH, || {
        if let Some(app) = APP.with(|a| a.borrow().clone()) {
            app.update_hours();
        }
    });

    let _scanner = start_scanner(&config);
    app.refresh(app.now());
    tracing::info!(
        mode = ?config.kiosk.mode,
        renderer = config.display.renderer.slint_name(),
        "kiosk started"
    );

    let _watchdog = crate::watchdog::start(); // READY=1 and WATCHDOG=1 under systemd
    window.run().context("the kiosk's event loop failed")?;
    let restart = *app.restart_requested.borrow();
    APP.with(|a| a.borrow_mut().take());
    Ok(if restart { EXIT_RESTART } else { 0 })
}

/// Starts the sync worker when a call-centre is configured; its status comes back as events.
fn start_sync(config: &Config) -> Option<SyncHandle> {
    let sync_config = match config.sync_config() {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::info!("no call-centre configured; everything stays on this kiosk");
            return None;
        }
        Err(e) => {
            tracing::error!(error = %e, "sync not started; everything stays on this kiosk");
            return None;
        }
    };
    let sink = |status: sync::Status| {
        let shown = slint::invoke_from_event_loop(move || {
            if let Some(app) = APP.with(|a| a.borrow().clone()) {
                app.sync_status(status);
            }
        });
        if shown.is_err() {
            tracing::debug!("event loop gone; sync status dropped during shutdown");
        }
    };
    match sync::spawn(sync_config, sink) {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::error!(error = %e, "sync not started; everything stays on this kiosk");
            None
        }
    }
}

/// Starts the receipt printer's thread when one is configured; its news comes back as events.
fn start_printer(config: &Config) -> Option<Printer> {
    let options = config.printer.options()?;
    let sink = |event: PrinterEvent| {
        let _ = slint::invoke_from_event_loop(move || {
            if let Some(app) = APP.with(|a| a.borrow().clone()) {
                app.printer_event(event);
            }
        });
    };
    match Printer::spawn(options, sink) {
        Ok(printer) => Some(printer),
        Err(e) => {
            tracing::error!(error = %e, "receipt printer unavailable; the QR code is the receipt");
            None
        }
    }
}

fn start_scanner(config: &Config) -> Option<scanner::ScannerHandle> {
    let options = config.scanner.options()?;
    // No health is claimed until the scanner thread's first report (at once: connected, or
    // not there), so a scanner found working at start is not recorded as a fault.
    let sink = |event: ScannerEvent| match event {
        ScannerEvent::Read(read) => {
            let received = read.received;
            let shown = slint::invoke_from_event_loop(move || {
                if let Some(app) = APP.with(|a| a.borrow().clone()) {
                    app.note_test_scan(&read);
                }
                dispatch(Event::Scan(read.classified));
                // Measured by `make bench`: serial line received -> screen state updated.
                tracing::debug!(latency_us = received.elapsed().as_micros(), "scan applied");
            });
            if shown.is_err() {
                tracing::debug!("event loop gone; scan dropped during shutdown");
            }
        }
        ScannerEvent::Health(ScannerHealth::Connected) => {
            tracing::info!("card scanner connected");
            dispatch_from_thread(Event::DeviceHealth(Device::Scanner, Health::Ok));
        }
        ScannerEvent::Health(ScannerHealth::Disconnected { reason }) => {
            tracing::warn!(%reason, "card scanner disconnected");
            dispatch_from_thread(Event::DeviceHealth(Device::Scanner, Health::Faulty));
        }
        ScannerEvent::FramingError(error) => {
            tracing::info!(error = error.code(), "unreadable scan");
            dispatch_from_thread(Event::Scan(identity::Classified {
                result: Err(identity::Rejection::Unreadable),
                kind: identity::Kind::Unknown,
            }));
        }
    };
    match scanner::spawn(options, sink) {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::error!(error = %e, "card scanner unavailable; manual entry only");
            None
        }
    }
}
