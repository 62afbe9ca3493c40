//! Wiring: builds the window, starts the devices, carries out the journey's effects, runs the loop.
//!
//! The UI thread owns the [`Flow`]; device threads hand their news back with
//! `slint::invoke_from_event_loop`, so nothing ever blocks the screen.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use slint::ComponentHandle;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::devices::scanner::{self, ScannerEvent, ScannerHealth};
use crate::flow::{Device, Effect, Event, Flow, FlowConfig, Health, Millis};
use crate::identity;
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
        guide_steps: catalog.step_counts(),
        pin_sha256: config.technician.pin_sha256.clone(),
    }
}

/// The running kiosk on the UI thread.
struct App {
    window: AppWindow,
    flow: RefCell<Flow>,
    catalog: Catalog,
    info: KioskInfo,
    started: Instant,
    ticker: slint::Timer,
    restart_requested: RefCell<bool>,
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
        let before = self.flow.borrow().screen().name();
        let effects = self.flow.borrow_mut().handle(now, event);
        let after = self.flow.borrow().screen().name();
        if before != after {
            tracing::info!(from = before, to = after, "screen");
        }
        for effect in effects {
            self.run_effect(effect);
        }
        self.refresh(now);
    }

    fn refresh(&self, now: Millis) {
        let flow = self.flow.borrow();
        ui::apply(&self.window, &flow, &self.catalog, &self.info, now);
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
                tracing::info!(present, "presence changed (sent once the sync issue lands)");
            }
            Effect::StartPreview
            | Effect::StartRecording
            | Effect::StopRecording
            | Effect::DiscardRecording => {
                tracing::debug!(?effect, "camera effect (no recorder configured)");
            }
            Effect::SaveAppeal(draft) => {
                tracing::warn!(
                    ?draft,
                    "no appeal store on this build yet; the citizen is told it was not saved"
                );
                slint::Timer::single_shot(Duration::ZERO, || dispatch(Event::AppealSaveFailed));
            }
            Effect::PrintReceipt(_) => tracing::debug!("no printer configured"),
            Effect::Usage(usage) => tracing::info!(?usage, "service-guide usage"),
            Effect::ClearSession => tracing::info!("session ended and wiped"),
            Effect::Restart => {
                *self.restart_requested.borrow_mut() = true;
                let _ = slint::quit_event_loop();
            }
        }
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
    };
    let app = Rc::new(App {
        window: window.clone_strong(),
        flow: RefCell::new(Flow::new(flow_config(&config, &catalog))),
        catalog,
        info,
        started: Instant::now(),
        ticker: slint::Timer::default(),
        restart_requested: RefCell::new(false),
    });
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    ui::connect(&window, Rc::new(dispatch));

    let hours = slint::Timer::default();
    let update_hours = move || dispatch(Event::CallCentre(schedule.status(chrono::Utc::now())));
    update_hours();
    hours.start(slint::TimerMode::Repeated, HOURS_REFRESH, update_hours);

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

fn start_scanner(config: &Config) -> Option<scanner::ScannerHandle> {
    let options = config.scanner.options()?;
    dispatch(Event::DeviceHealth(Device::Scanner, Health::Faulty));
    let sink = |event: ScannerEvent| match event {
        ScannerEvent::Read(read) => {
            let received = read.received;
            let shown = slint::invoke_from_event_loop(move || {
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
