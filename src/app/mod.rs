//! Wiring: builds the window, starts the devices, carries out the journey's effects, runs the loop.
//!
//! The UI thread owns the [`Flow`]; device threads hand their news back with [`post`], so
//! nothing ever blocks the screen. The app's state is grouped by concern, each part with the
//! module that carries out its effects: [`camera`] (previews, takes, review), [`records`] (what
//! the kiosk commits: appeals, usage figures, device faults), [`printer`] (slips and the
//! printer's health), [`technician`] (checks and the scanner test), [`enrolment`] (who the
//! kiosk is to the call-centre, the sync worker's reports, the call-centre's hours) and
//! [`catalog`] (the service guides in use and one waiting), [`speech`] (the spoken prompts).

mod call;
mod camera;
mod catalog;
mod enrolment;
mod printer;
mod records;
mod speech;
mod technician;

pub use camera::recover_interrupted;

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use senim_protocol::hours::Schedule;
use slint::ComponentHandle;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::devices::scanner::{self, ScannerEvent, ScannerHealth};
use crate::flow::{Device, Effect, Event, Flow, FlowConfig, GuideShape, Health, Millis};
use crate::identity;
use crate::store::StoreThread;
use crate::sync::{self, SyncHandle};
use crate::ui::{self, AppWindow, KioskInfo};

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
        // The call-centre's `[call] ring_seconds` default; wired by the call runtime.
        ring_ms: crate::flow::RING_MS_DEFAULT,
        guides: GuideShape::of(catalog),
        pin_set: config.technician.pin_set(),
        badges_sha256: config.technician.badges_sha256.clone(),
        speech_auto_play: config.speech.auto_play,
        speech_volume: config.speech.volume,
    }
}

/// The running kiosk on the UI thread.
struct App {
    window: AppWindow,
    flow: RefCell<Flow>,
    /// What the screens show beyond the flow: who the kiosk is, the technician's view.
    info: RefCell<KioskInfo>,
    config: Config,
    schedule: Schedule,
    started: Instant,
    ticker: slint::Timer,
    restart_requested: Cell<bool>,
    /// Commits and usage figures go through the store's own thread.
    store: StoreThread,
    /// The sync worker, once a call-centre is known: configured, learnt at an earlier
    /// enrolment, or from the enrolment code scanned on a blank kiosk.
    sync: OnceCell<SyncHandle>,
    /// The serving mark (with `[updates] enabled`), handed to a sync worker started later by
    /// an enrolment from the screen too.
    serving: Option<crate::update::serving::Serving>,
    catalogs: catalog::Catalogs,
    link: enrolment::Link,
    traces: records::CitizenTraces,
    printer: printer::PrinterSide,
    camera: camera::CameraSide,
    call: call::CallSide,
    speech: speech::SpeechSide,
}

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

/// Runs `f` with the running app, if there is one (on the UI thread).
fn with_app(f: impl FnOnce(&App)) {
    let app = APP.with(|a| a.borrow().clone());
    if let Some(app) = app {
        f(&app);
    }
}

/// Runs `f` with the app on the UI thread, from any thread: how device threads, the store
/// thread and the sync worker hand their news back. Dropped quietly during shutdown.
fn post(f: impl FnOnce(&App) + Send + 'static) {
    if slint::invoke_from_event_loop(move || with_app(f)).is_err() {
        tracing::debug!("event loop gone; news dropped during shutdown");
    }
}

/// Feeds an event to the running app from any closure on the UI thread.
fn dispatch(event: Event) {
    with_app(|app| app.dispatch(event));
}

/// Feeds an event from another thread.
fn dispatch_from_thread(event: Event) {
    post(move |app| app.dispatch(event));
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
            &self.catalogs.view.borrow(),
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
                if let Some(sync) = self.sync.get() {
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
            Effect::SwitchCatalog => self.switch_catalog(),
            Effect::SwitchUpdate => {
                tracing::info!("at rest in the quiet hour: restarting into the installed update");
                if let Some(sync) = self.sync.get() {
                    sync.switch_update();
                }
            }
            Effect::PrintTestSlip => self.print_test_slip(),
            Effect::ClearSession => {
                self.forget_citizen();
                // Technician mode's test scan and results go with the session.
                let mut info = self.info.borrow_mut();
                info.tech.scan = None;
                info.tech.printer = None;
                info.tech.checks.clear();
                tracing::info!("session ended and wiped");
            }
            Effect::CallConsultant { service_id, step } => self.call_consultant(service_id, step),
            Effect::Restart => {
                self.restart_requested.set(true);
                let _ = slint::quit_event_loop();
            }
            Effect::PlaceCall { topic, iin } => self.place_call(topic, iin),
            Effect::CancelCall | Effect::HangUpCall => self.hang_up_call(),
            Effect::SetCallVolume(volume) => self.set_call_volume(volume),
            Effect::CheckPin(pin) => self.check_pin(pin),
            Effect::SavePinLock(lock) => self.save_pin_lock(lock),
            Effect::Speak(prompt) => self.speak(prompt),
            Effect::StopSpeaking => self.stop_speaking(),
            Effect::SetSpeechVolume(volume) => self.set_speech_volume(volume),
        }
    }
}

/// Runs the kiosk until the window closes; returns the process exit status.
pub fn run(mut config: Config, windowed: bool) -> anyhow::Result<i32> {
    // `video = "auto"` / `audio = "auto"`: what is attached now, once, before anything uses it.
    let devices = crate::devices::camera::discover::resolve(&config.camera);
    for note in &devices.notes {
        tracing::info!("{note}");
    }
    config.camera = devices.config;
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
    ui::set_screen_diagonal(&window, config.display.diagonal_inches);
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
        status_url: config.status_url_template(),
    };
    let store = StoreThread::spawn(config.store.data_dir.clone())
        .context("cannot start the store thread")?;
    // The serving mark (UI up, watchdog fed, call-centre heard) where updates are taken.
    let serving = config
        .updates
        .enabled
        .then(|| crate::update::serving::Serving::new(config.updates.run_dir.clone()));
    let app = Rc::new(App {
        window: window.clone_strong(),
        flow: RefCell::new(Flow::new(flow_config(&config, &catalog))),
        info: RefCell::new(info),
        schedule,
        started: Instant::now(),
        ticker: slint::Timer::default(),
        restart_requested: Cell::new(false),
        store,
        sync: start_sync(&config, serving.clone())
            .map(OnceCell::from)
            .unwrap_or_default(),
        serving: serving.clone(),
        catalogs: catalog::Catalogs::new(catalog),
        link: enrolment::Link::new(&config),
        traces: records::CitizenTraces::default(),
        printer: printer::PrinterSide::start(&config),
        camera: camera::CameraSide::start(&config),
        call: call::CallSide::default(),
        speech: speech::SpeechSide::new(&config),
        config,
    });
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    ui::connect(&window, Rc::new(dispatch));

    if app.config.technician.pin_deprecated() {
        tracing::warn!(
            "[technician] pin_sha256 is an unsalted SHA-256 and is deprecated: run \
             `senim-kiosk hash-pin` and replace it with the pin_hash line it prints"
        );
    }
    app.restore_from_store();
    let hours = slint::Timer::default();
    app.update_hours();
    hours.start(slint::TimerMode::Repeated, HOURS_REFRESH, || {
        with_app(App::update_hours)
    });

    let _scanner = start_scanner(&app.config);
    app.refresh(app.now());
    tracing::info!(
        mode = ?app.config.kiosk.mode,
        renderer = app.config.display.renderer.slint_name(),
        "kiosk started"
    );

    // READY=1 and WATCHDOG=1 under systemd; they count towards the serving mark.
    let _watchdog = crate::watchdog::start(serving);
    window.run().context("the kiosk's event loop failed")?;
    let restart = app.restart_requested.get();
    APP.with(|a| a.borrow_mut().take());
    Ok(if restart { EXIT_RESTART } else { 0 })
}

impl App {
    /// At start, off the UI thread: what a crash cut short becomes an appeal, then who this
    /// kiosk is (enrolment), whether a recording fits, the installed catalogue version and the
    /// technician PIN's lock-out.
    fn restore_from_store(&self) {
        let min_free = self.min_free_bytes();
        let waker = self.sync.get().map(SyncHandle::waker);
        self.store.exec(move |store| {
            let pin_lock = match &store {
                Ok(s) => s.pin_lock().map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let (enrolled, room, catalog) = match store {
                Ok(s) => (
                    {
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
            post(move |app| {
                app.link.state.borrow_mut().enrolled_as = enrolled.clone();
                app.enrolment_known(enrolled);
                let health = if room { Health::Ok } else { Health::Faulty };
                app.dispatch(Event::DeviceHealth(Device::Storage, health));
                if let Some(version) = catalog {
                    app.catalog_installed(&version);
                }
                app.pin_lock_read(pin_lock);
            });
        });
    }
}

/// Starts the sync worker when a call-centre is configured; its status comes back as events.
fn start_sync(
    config: &Config,
    serving: Option<crate::update::serving::Serving>,
) -> Option<SyncHandle> {
    let sync_config = match config.sync_config() {
        Ok(Some(c)) => sync::SyncConfig { serving, ..c },
        Ok(None) if config.sync.standalone => {
            tracing::info!(
                "a stand-alone kiosk ([sync] standalone); everything stays on this kiosk"
            );
            return None;
        }
        Ok(None) => {
            tracing::info!(
                "no call-centre yet; resting on the enrolment screen until a code is scanned"
            );
            return None;
        }
        Err(e) => {
            tracing::error!(error = %e, "sync not started; everything stays on this kiosk");
            return None;
        }
    };
    spawn_sync(sync_config)
}

/// Starts the sync worker with these settings.
fn spawn_sync(sync_config: sync::SyncConfig) -> Option<SyncHandle> {
    let sink = |status: sync::Status| post(move |app| app.sync_status(status));
    match sync::spawn(sync_config, sink) {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::error!(error = %e, "sync not started; everything stays on this kiosk");
            None
        }
    }
}

fn start_scanner(config: &Config) -> Option<scanner::ScannerHandle> {
    let options = config.scanner_options()?;
    // No health is claimed until the scanner thread's first report (at once: connected, or
    // not there), so a scanner found working at start is not recorded as a fault.
    let sink = |event: ScannerEvent| match event {
        ScannerEvent::Read(read) => {
            let received = read.received;
            post(move |app| {
                app.note_test_scan(&read);
                app.dispatch(Event::Scan(read.classified));
                // Measured by `make bench`: serial line received -> screen state updated.
                tracing::debug!(latency_us = received.elapsed().as_micros(), "scan applied");
            });
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
