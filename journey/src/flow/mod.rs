//! The citizen's journey as a pure state machine: events in, effects out, no I/O inside.
//!
//! Everything the kiosk shows is a [`Screen`] owned by [`Flow`]. Adapters turn touches, scans,
//! timers and device or sync news into [`Event`]s; `Flow::handle` answers with [`Effect`]s that
//! the app carries out (record, save, print, send presence). Time is passed in as monotonic
//! milliseconds, so every timer (idle warning, countdown, maximum recording length, PIN lock-out)
//! is testable without sleeping. This module imports no Slint, SQL, HTTP or GStreamer.

pub use senim_protocol::hours;
pub use senim_protocol::Lang;

use std::fmt;

use senim_protocol::Topic;
use sha2::{Digest, Sha256};

use crate::identity::{self, Iin};
pub use hours::CallCentreStatus;

/// Monotonic milliseconds since the kiosk started.
pub type Millis = u64;

/// How a site uses the kiosk (hospital: appeals first; front office: service guides first);
/// both modes offer both journeys. The same type the call-centre sends at enrolment.
pub use senim_protocol::SiteMode as Mode;

/// The two journeys a citizen can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    Appeal,
    Guide,
}

/// How an appeal is left, by what the kiosk has working when the appeal starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppealKind {
    /// Camera and microphone.
    #[default]
    Video,
    /// No working camera: the voice alone.
    Audio,
    /// Neither: typed on the on-screen keyboard.
    Typed,
}

/// The citizen's rating at the end of a guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Bad,
    Neutral,
    Good,
}

/// Health of a device as the adapters report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// Not fitted on this kiosk (configuration says so).
    #[default]
    Absent,
    Ok,
    /// Fitted but not answering (unplugged, broken).
    Faulty,
}

/// The devices the journey depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Scanner,
    Camera,
    Microphone,
    Printer,
    /// The data disk: `Faulty` when a recording would not fit (or the store cannot open).
    Storage,
}

impl Device {
    pub const ALL: [Device; 5] = [
        Device::Scanner,
        Device::Camera,
        Device::Microphone,
        Device::Printer,
        Device::Storage,
    ];
}

/// Every screen of the kiosk. `Debug` hides typed digits (IIN, phone, PIN).
#[derive(Clone, PartialEq, Eq)]
pub enum Screen {
    /// A kiosk that is not (or no longer) enrolled: "scan the enrolment code".
    Enrol {
        /// The code is being exchanged with the call-centre.
        busy: bool,
        /// Why the last attempt failed (a stable code the UI translates).
        error: Option<&'static str>,
    },
    Attract,
    Menu,
    /// Hold the ID card to the scanner, or type the IIN on the keypad.
    Identify {
        /// Digits typed so far when the keypad is open.
        manual: Option<String>,
        /// Why the last read was refused (a stable code the UI translates).
        error: Option<&'static str>,
    },
    /// The card was read: masked IIN and a greeting.
    Identified {
        since: Millis,
    },
    /// The service guides' home: one large tile per category, and the search field.
    GuideCategories,
    /// The services of one category.
    GuideCatalog {
        category: usize,
    },
    /// Search over every service; `keyboard` shows the on-screen keyboard.
    GuideSearch {
        query: String,
        keyboard: bool,
    },
    /// A service's page: what it gives, what to bring, "free — never pay anyone".
    GuideService {
        service: usize,
    },
    GuideStep {
        service: usize,
        step: usize,
        consultant_called: bool,
    },
    GuideRating {
        service: usize,
    },
    AppealTopic,
    AppealConsent,
    /// The kiosk has no room for a recording now (disk full, store broken).
    AppealNoRoom,
    /// A typed appeal (no camera or microphone working), on the on-screen keyboard.
    AppealText {
        text: String,
    },
    AppealCountdown {
        until: Millis,
    },
    AppealRecording {
        started: Millis,
    },
    AppealReview,
    AppealPhone {
        digits: String,
        invalid: bool,
    },
    AppealSaving {
        failed: bool,
    },
    AppealReceipt {
        receipt: Receipt,
    },
    TechnicianPin {
        digits: String,
        wrong: bool,
    },
    /// The checks (as `senim-kiosk doctor`), sync queue, versions; doors to the device tests.
    TechnicianHome,
    /// One device test: raw scans, camera preview and microphone level, printer test slip.
    TechnicianTest(TechTest),
}

/// The device tests of technician mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TechTest {
    Scanner,
    Camera,
    Printer,
}

impl Screen {
    /// A stable name for logs and tests; never carries what the citizen typed or scanned.
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Enrol { .. } => "enrol",
            Screen::Attract => "attract",
            Screen::Menu => "menu",
            Screen::Identify {
                manual: None,
                error: None,
            } => "identify",
            Screen::Identify {
                manual: None,
                error: Some(_),
            } => "identify-refused",
            Screen::Identify {
                manual: Some(_), ..
            } => "identify-keypad",
            Screen::Identified { .. } => "identified",
            Screen::GuideCategories => "guide-categories",
            Screen::GuideCatalog { .. } => "guide-catalog",
            Screen::GuideSearch { .. } => "guide-search",
            Screen::GuideService { .. } => "guide-service",
            Screen::GuideStep { .. } => "guide-step",
            Screen::GuideRating { .. } => "guide-rating",
            Screen::AppealTopic => "appeal-topic",
            Screen::AppealConsent => "appeal-consent",
            Screen::AppealNoRoom => "appeal-no-room",
            Screen::AppealText { .. } => "appeal-text",
            Screen::AppealCountdown { .. } => "appeal-countdown",
            Screen::AppealRecording { .. } => "appeal-recording",
            Screen::AppealReview => "appeal-review",
            Screen::AppealPhone { .. } => "appeal-phone",
            Screen::AppealSaving { failed: false } => "appeal-saving",
            Screen::AppealSaving { failed: true } => "appeal-save-failed",
            Screen::AppealReceipt { .. } => "appeal-receipt",
            Screen::TechnicianPin { .. } => "technician-pin",
            Screen::TechnicianHome => "technician-home",
            Screen::TechnicianTest(TechTest::Scanner) => "technician-scanner",
            Screen::TechnicianTest(TechTest::Camera) => "technician-camera",
            Screen::TechnicianTest(TechTest::Printer) => "technician-printer",
        }
    }
}

impl fmt::Debug for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let typed = |d: &str| format!("<{} digits>", d.len());
        match self {
            Screen::Identify { manual, error } => f
                .debug_struct("Identify")
                .field("manual", &manual.as_deref().map(typed))
                .field("error", error)
                .finish(),
            Screen::AppealPhone { digits, invalid } => f
                .debug_struct("AppealPhone")
                .field("digits", &typed(digits))
                .field("invalid", invalid)
                .finish(),
            Screen::TechnicianPin { digits, wrong } => f
                .debug_struct("TechnicianPin")
                .field("digits", &typed(digits))
                .field("wrong", wrong)
                .finish(),
            Screen::Enrol { busy, error } => f
                .debug_struct("Enrol")
                .field("busy", busy)
                .field("error", error)
                .finish(),
            Screen::Attract => f.write_str("Attract"),
            Screen::Menu => f.write_str("Menu"),
            Screen::Identified { since } => write!(f, "Identified {{ since: {since} }}"),
            Screen::GuideCategories => f.write_str("GuideCategories"),
            Screen::GuideCatalog { category } => write!(f, "GuideCatalog {{ category: {category} }}"),
            Screen::GuideSearch { query, keyboard } => f
                .debug_struct("GuideSearch")
                .field("query", &format_args!("<{} chars>", query.chars().count()))
                .field("keyboard", keyboard)
                .finish(),
            Screen::GuideService { service } => write!(f, "GuideService {{ service: {service} }}"),
            Screen::GuideStep {
                service,
                step,
                consultant_called,
            } => write!(
                f,
                "GuideStep {{ service: {service}, step: {step}, consultant_called: {consultant_called} }}"
            ),
            Screen::GuideRating { service } => write!(f, "GuideRating {{ service: {service} }}"),
            Screen::AppealTopic => f.write_str("AppealTopic"),
            Screen::AppealConsent => f.write_str("AppealConsent"),
            Screen::AppealNoRoom => f.write_str("AppealNoRoom"),
            Screen::AppealText { text } => {
                write!(f, "AppealText {{ <{} chars> }}", text.chars().count())
            }
            Screen::AppealCountdown { until } => write!(f, "AppealCountdown {{ until: {until} }}"),
            Screen::AppealRecording { started } => {
                write!(f, "AppealRecording {{ started: {started} }}")
            }
            Screen::AppealReview => f.write_str("AppealReview"),
            Screen::AppealSaving { failed } => write!(f, "AppealSaving {{ failed: {failed} }}"),
            Screen::AppealReceipt { receipt } => write!(f, "AppealReceipt {{ {receipt:?} }}"),
            Screen::TechnicianHome => f.write_str("TechnicianHome"),
            Screen::TechnicianTest(t) => write!(f, "TechnicianTest({t:?})"),
        }
    }
}

/// What the citizen leaves with, once the appeal is durably stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Short, unambiguous, no personal data.
    pub number: String,
    /// `None`: an operator has it now; otherwise when it will be seen (local time).
    pub seen_at: Option<chrono::NaiveDateTime>,
    /// The backend could not be reached: "safe on this kiosk, on its way".
    pub offline: bool,
}

/// Everything a citizen left in this session; dropped whole on reset.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Session {
    pub journey: Option<Journey>,
    pub identity: Option<Iin>,
    pub topic: Option<Topic>,
    pub phone: Option<String>,
    pub recorded_ms: Option<Millis>,
    /// How this appeal is left (chosen when the citizen consents).
    pub appeal_kind: AppealKind,
    /// A typed appeal's text.
    pub text: Option<String>,
    /// The last recording failed (the device died): said on the consent page.
    pub recording_failed: bool,
    pub presence_sent: bool,
    /// The search a service page was opened from, so "Back" returns to its results.
    pub guide_search: Option<String>,
    /// The guide being followed, for the usage figures.
    pub guide_run: Option<GuideRun>,
}

/// One citizen following one service's guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuideRun {
    pub service: usize,
    /// The step on screen last (0-based).
    pub at: usize,
    /// The furthest step reached (0-based).
    pub furthest: usize,
    pub completed: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("journey", &self.journey)
            .field("identified", &self.identity.is_some())
            .field("topic", &self.topic)
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .field("recorded_ms", &self.recorded_ms)
            .field("appeal_kind", &self.appeal_kind)
            .field("text", &self.text.as_ref().map(|_| "<redacted>"))
            .field(
                "guide_search",
                &self
                    .guide_search
                    .as_ref()
                    .map(|q| format!("<{} chars>", q.chars().count())),
            )
            .field("guide_run", &self.guide_run)
            .finish()
    }
}

/// An appeal ready to be committed by the store.
#[derive(Clone, PartialEq, Eq)]
pub struct AppealDraft {
    pub iin: Option<Iin>,
    pub topic: Topic,
    pub phone: Option<String>,
    pub kind: AppealKind,
    /// Milliseconds recorded (0 for a typed appeal).
    pub recorded_ms: Millis,
    /// A typed appeal's text.
    pub text: Option<String>,
}

impl fmt::Debug for AppealDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppealDraft")
            .field("topic", &self.topic)
            .field("identified", &self.iin.is_some())
            .field("phone", &self.phone.is_some())
            .field("kind", &self.kind)
            .field("recorded_ms", &self.recorded_ms)
            .field("typed", &self.text.is_some())
            .finish()
    }
}

/// Service-guide usage figures ("citizens trained to use e-services"). `service` is the
/// service's position in the catalogue (the app maps it to the id); `step` is 0-based. One run
/// of a guide is `Started`, `StepReached` for each new furthest step, then `Completed` (and
/// `Rated`) or `Abandoned` at the step on screen last; a new `Started` begins a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuideUsage {
    Started { service: usize },
    StepReached { service: usize, step: usize },
    Completed { service: usize },
    Abandoned { service: usize, step: usize },
    ConsultantCalled { service: usize, step: usize },
    Rated { service: usize, rating: Rating },
}

/// Inputs to the journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The attract screen was touched.
    Start,
    /// Any touch anywhere (keeps the session alive).
    Touch,
    SetLanguage(Lang),
    /// "Finish": leave the session now; everything of it is dropped.
    EndSession,
    Back,
    Choose(Journey),
    /// A decoded read from the serial scanner or the camera.
    Scan(identity::Classified),
    ManualOpen,
    KeypadDigit(char),
    KeypadBackspace,
    KeypadSubmit,
    Continue,
    SelectCategory(usize),
    SearchOpen,
    SearchText(String),
    SelectService(usize),
    GuideNext,
    CallConsultant,
    Rate(Rating),
    SelectTopic(Topic),
    ConsentAccept,
    /// The typed appeal's text so far (the UI's keyboard sends the whole text).
    AppealText(String),
    /// Watch the recording again on the review page.
    ReplayTake,
    /// The recorder failed (device gone, nothing recorded): the citizen may try again.
    RecordingFailed,
    StopRecording,
    ReRecord,
    Send,
    SkipPhone,
    /// The store committed the appeal (app → flow).
    AppealSaved {
        number: String,
    },
    /// The store could not commit it (disk full, I/O error).
    AppealSaveFailed,
    StillHere,
    Tick,
    DeviceHealth(Device, Health),
    Sync {
        online: bool,
        pending: u32,
    },
    CallCentre(CallCentreStatus),
    /// Whether this kiosk holds a token the call-centre accepts, and the site's mode it was
    /// enrolled with (app → flow, at start and when the sync worker learns the token was
    /// revoked). Only sent when a call-centre is configured.
    Enrolled(Option<Mode>),
    /// The enrolment code was exchanged (`Ok`, with the site's mode) or refused (a stable code).
    EnrolResult(Result<Mode, &'static str>),
    /// A new service catalogue is loaded (steps per service, in its order); the journey
    /// switches to it between citizens, never in the middle of someone's guide.
    CatalogReady(GuideShape),
    /// The hidden gesture on the attract screen.
    TechnicianGesture,
    /// Open one device test from technician mode.
    TechnicianOpen(TechTest),
    /// Run the checks again.
    TechnicianRecheck,
    TechnicianPrintTest,
    TechnicianExit,
    Restart,
}

/// What the app must do for the journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Switch the UI's translation catalogue.
    SetLanguage(Lang),
    /// "A person is at this kiosk now" / "has left" (the red lamp).
    Presence {
        present: bool,
    },
    StartPreview,
    StopPreview,
    StartRecording,
    StopRecording,
    /// Play the finished take on the review page.
    PlayTake,
    /// Throw away the last take (re-record or session end before sending).
    DiscardRecording,
    SaveAppeal(AppealDraft),
    PrintReceipt(Receipt),
    Usage(GuideUsage),
    /// Exchange a scanned enrolment code for this kiosk's token.
    Enrol(String),
    /// Use the catalogue announced by the last `CatalogReady` from now on.
    SwitchCatalog,
    /// Run the technician's checks (in the background) and show them.
    RunChecks,
    PrintTestSlip,
    /// "Consultant needed at this kiosk": sent to the call-centre and the centre's staff live.
    /// `step` is 1-based, as the citizen sees it ("step 3 of 6").
    CallConsultant {
        service_id: String,
        step: usize,
    },
    /// Forget everything of the session in every adapter.
    ClearSession,
    Restart,
}

/// Settings the journey needs, taken from the configuration at start.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowConfig {
    pub mode: Mode,
    pub default_language: Lang,
    pub idle_warning_ms: Millis,
    pub idle_reset_ms: Millis,
    pub countdown_ms: Millis,
    pub max_recording_ms: Millis,
    /// What the journey knows of the service catalogue.
    pub guides: GuideShape,
    /// SHA-256 hex of the technician PIN; empty disables PIN entry.
    pub pin_sha256: String,
    /// SHA-256 hex of the technician badges (the payload after `SENIM-TECH:`) that open
    /// technician mode without the PIN.
    pub badges_sha256: Vec<String>,
}

impl fmt::Debug for FlowConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowConfig")
            .field("mode", &self.mode)
            .field("default_language", &self.default_language)
            .field("idle_warning_ms", &self.idle_warning_ms)
            .field("guides", &self.guides.services.len())
            .finish_non_exhaustive()
    }
}

/// What the journey needs to know of the catalogue: how many categories, and per service (in
/// catalogue order) its id, category and number of steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuideShape {
    pub categories: usize,
    pub services: Vec<GuideInfo>,
}

/// One service as the journey sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideInfo {
    pub id: String,
    /// Position of its category in the catalogue's category order.
    pub category: usize,
    pub steps: usize,
}

impl GuideShape {
    pub fn of(catalog: &senim_protocol::catalog::Catalog) -> GuideShape {
        GuideShape {
            categories: catalog.categories.len(),
            services: catalog
                .services
                .iter()
                .map(|s| GuideInfo {
                    id: s.id.clone(),
                    category: catalog.category_index(&s.category).unwrap_or(usize::MAX),
                    steps: s.steps.len(),
                })
                .collect(),
        }
    }
}

/// How long the "identified" greeting stays before the journey moves on by itself.
pub const IDENTIFIED_MS: Millis = 2_000;
/// Failed PIN attempts allowed before the lock-out starts.
pub const PIN_FREE_ATTEMPTS: u32 = 3;
const PIN_LOCK_BASE_MS: Millis = 30_000;
const PIN_LOCK_MAX_MS: Millis = 15 * 60_000;
const KEYPAD_MAX: usize = 12;
const SEARCH_MAX: usize = 40;
/// The longest typed appeal (the wire allows 4,000; a keyboard on a kiosk fills far less).
pub const APPEAL_TEXT_MAX: usize = 2_000;

/// The journey state machine.
#[derive(Debug, Clone)]
pub struct Flow {
    config: FlowConfig,
    lang: Lang,
    screen: Screen,
    session: Option<Session>,
    last_activity: Millis,
    idle_warning_since: Option<Millis>,
    scanner: Health,
    camera: Health,
    microphone: Health,
    printer: Health,
    storage: Health,
    online: bool,
    pending: u32,
    callcentre: CallCentreStatus,
    pin_failures: u32,
    pin_locked_until: Millis,
    /// What the identify step leads to once the card is read.
    after_identify: Journey,
    /// `false` once the app says this kiosk has no accepted token: between citizens it shows
    /// the enrolment screen instead of the attract screen.
    enrolled: bool,
    /// A new catalogue waiting for the kiosk to be at rest.
    pending_guides: Option<GuideShape>,
}

impl Flow {
    pub fn new(config: FlowConfig) -> Flow {
        Flow {
            lang: config.default_language,
            config,
            screen: Screen::Attract,
            session: None,
            last_activity: 0,
            idle_warning_since: None,
            scanner: Health::Absent,
            camera: Health::Absent,
            microphone: Health::Absent,
            printer: Health::Absent,
            storage: Health::Absent,
            online: false,
            pending: 0,
            callcentre: CallCentreStatus::Open,
            pin_failures: 0,
            pin_locked_until: 0,
            after_identify: Journey::Appeal,
            enrolled: true,
            pending_guides: None,
        }
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }
    pub fn lang(&self) -> Lang {
        self.lang
    }
    pub fn mode(&self) -> Mode {
        self.config.mode
    }
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
    pub fn callcentre(&self) -> CallCentreStatus {
        self.callcentre
    }
    pub fn online(&self) -> bool {
        self.online
    }
    pub fn pending(&self) -> u32 {
        self.pending
    }
    pub fn health(&self, device: Device) -> Health {
        match device {
            Device::Scanner => self.scanner,
            Device::Camera => self.camera,
            Device::Microphone => self.microphone,
            Device::Printer => self.printer,
            Device::Storage => self.storage,
        }
    }
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Seconds left before the session is wiped, while "are you still there?" shows.
    pub fn idle_warning_remaining(&self, now: Millis) -> Option<u64> {
        let since = self.idle_warning_since?;
        let left = (since + self.config.idle_reset_ms).saturating_sub(now);
        Some(left.div_ceil(1000))
    }

    /// Whole seconds left on the 3-2-1 countdown.
    pub fn countdown_remaining(&self, now: Millis) -> Option<u64> {
        match self.screen {
            Screen::AppealCountdown { until } => Some(until.saturating_sub(now).div_ceil(1000)),
            _ => None,
        }
    }

    /// Milliseconds recorded so far.
    pub fn recording_elapsed(&self, now: Millis) -> Option<Millis> {
        match self.screen {
            Screen::AppealRecording { started } => Some(now.saturating_sub(started)),
            _ => None,
        }
    }

    /// Seconds until a new PIN attempt is allowed.
    pub fn pin_locked_for(&self, now: Millis) -> u64 {
        self.pin_locked_until.saturating_sub(now).div_ceil(1000)
    }

    /// Whether timers matter right now (the app may stop ticking on the attract screen).
    pub fn needs_ticks(&self) -> bool {
        !matches!(self.screen, Screen::Attract)
    }

    /// Feeds one event; returns what the app must do, in order.
    pub fn handle(&mut self, now: Millis, event: Event) -> Vec<Effect> {
        let mut fx = Vec::new();
        let is_user_input = !matches!(
            event,
            Event::Tick
                | Event::DeviceHealth(..)
                | Event::Sync { .. }
                | Event::CallCentre(_)
                | Event::AppealSaved { .. }
                | Event::AppealSaveFailed
                | Event::Enrolled(_)
                | Event::EnrolResult(_)
                | Event::CatalogReady(_)
        );
        if is_user_input {
            self.last_activity = now;
            if self.idle_warning_since.take().is_some() && event == Event::StillHere {
                return fx;
            }
        }
        match event {
            Event::Tick => self.tick(now, &mut fx),
            Event::Touch | Event::StillHere => {}
            Event::SetLanguage(lang) => {
                if lang != self.lang {
                    self.lang = lang;
                    fx.push(Effect::SetLanguage(lang));
                }
            }
            Event::DeviceHealth(device, health) => match device {
                Device::Scanner => self.scanner = health,
                Device::Camera => self.camera = health,
                Device::Microphone => self.microphone = health,
                Device::Printer => self.printer = health,
                Device::Storage => self.storage = health,
            },
            Event::Sync { online, pending } => {
                self.online = online;
                self.pending = pending;
            }
            Event::CallCentre(status) => self.callcentre = status,
            Event::CatalogReady(steps) => {
                self.pending_guides = Some(steps);
                self.switch_catalog_at_rest(&mut fx);
            }
            Event::Enrolled(enrolled) => {
                self.enrolled = enrolled.is_some();
                if let Some(mode) = enrolled {
                    self.config.mode = mode;
                }
                // Never in the middle of someone's journey: only where the kiosk rests.
                if matches!(self.screen, Screen::Attract | Screen::Enrol { .. }) {
                    self.screen = self.resting_screen();
                }
            }
            Event::EnrolResult(result) => {
                if let Screen::Enrol { .. } = self.screen {
                    match result {
                        Ok(mode) => {
                            self.config.mode = mode;
                            self.enrolled = true;
                            self.screen = Screen::Attract;
                        }
                        Err(code) => {
                            self.screen = Screen::Enrol {
                                busy: false,
                                error: Some(code),
                            }
                        }
                    }
                }
            }
            Event::EndSession => {
                if self.screen != Screen::Attract {
                    self.reset(&mut fx);
                }
            }
            Event::Restart => {
                if matches!(
                    self.screen,
                    Screen::TechnicianHome | Screen::TechnicianTest(_)
                ) {
                    fx.push(Effect::Restart);
                }
            }
            Event::Scan(read) => self.scan(now, read, &mut fx),
            other => self.screen_event(now, other, &mut fx),
        }
        fx
    }

    fn tick(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        match self.screen {
            Screen::AppealCountdown { until } if now >= until => {
                self.screen = Screen::AppealRecording { started: now };
                fx.push(Effect::StartRecording);
                return;
            }
            Screen::AppealRecording { started }
                if now.saturating_sub(started) >= self.config.max_recording_ms =>
            {
                self.stop_recording(now, fx);
                return;
            }
            Screen::Identified { since } if now.saturating_sub(since) >= IDENTIFIED_MS => {
                self.after_identified(fx);
                return;
            }
            _ => {}
        }
        if matches!(
            self.screen,
            Screen::Attract
                | Screen::AppealCountdown { .. }
                | Screen::AppealRecording { .. }
                | Screen::AppealSaving { failed: false }
        ) {
            // Nobody touches the screen while speaking to the camera; that is not idleness.
            self.last_activity = now;
            return;
        }
        match self.idle_warning_since {
            None if now.saturating_sub(self.last_activity) >= self.config.idle_warning_ms => {
                self.idle_warning_since = Some(now);
            }
            Some(since) if now.saturating_sub(since) >= self.config.idle_reset_ms => {
                self.reset(fx);
            }
            _ => {}
        }
    }

    /// Drops every trace of the session and returns to attract.
    fn reset(&mut self, fx: &mut Vec<Effect>) {
        self.abandon_guide(fx);
        match self.screen {
            Screen::AppealCountdown { .. } | Screen::AppealRecording { .. } => {
                fx.push(Effect::StopRecording);
                fx.push(Effect::DiscardRecording);
            }
            Screen::AppealReview | Screen::AppealPhone { .. } => {
                fx.push(Effect::DiscardRecording);
            }
            Screen::TechnicianTest(TechTest::Camera) => fx.push(Effect::StopPreview),
            _ => {}
        }
        if self.session.as_ref().is_some_and(|s| s.presence_sent) {
            fx.push(Effect::Presence { present: false });
        }
        self.session = None;
        self.idle_warning_since = None;
        self.screen = self.resting_screen();
        self.switch_catalog_at_rest(fx);
        if self.lang != self.config.default_language {
            self.lang = self.config.default_language;
            fx.push(Effect::SetLanguage(self.lang));
        }
        fx.push(Effect::ClearSession);
    }

    /// Switches to a waiting catalogue if nobody is using the kiosk.
    fn switch_catalog_at_rest(&mut self, fx: &mut Vec<Effect>) {
        let at_rest =
            self.session.is_none() && matches!(self.screen, Screen::Attract | Screen::Enrol { .. });
        if at_rest {
            if let Some(guides) = self.pending_guides.take() {
                self.config.guides = guides;
                fx.push(Effect::SwitchCatalog);
            }
        }
    }

    /// Where the kiosk waits between citizens.
    fn resting_screen(&self) -> Screen {
        if self.enrolled {
            Screen::Attract
        } else {
            Screen::Enrol {
                busy: false,
                error: None,
            }
        }
    }

    fn begin_session(&mut self) {
        if self.session.is_none() {
            self.session = Some(Session::default());
        }
    }

    fn session_mut(&mut self) -> &mut Session {
        self.session.get_or_insert_with(Session::default)
    }

    /// The red lamp: sent once per session when an appeal starts during working hours.
    fn start_appeal_journey(&mut self, fx: &mut Vec<Effect>) {
        let open = self.callcentre == CallCentreStatus::Open;
        let session = self.session_mut();
        session.journey = Some(Journey::Appeal);
        if open && !session.presence_sent {
            session.presence_sent = true;
            fx.push(Effect::Presence { present: true });
        }
    }

    fn scan(&mut self, now: Millis, read: identity::Classified, fx: &mut Vec<Effect>) {
        if let Screen::Enrol { busy, .. } = self.screen {
            if busy {
                return;
            }
            self.screen = match read.result {
                Ok(identity::Identity::Enrolment(code)) => {
                    fx.push(Effect::Enrol(code));
                    Screen::Enrol {
                        busy: true,
                        error: None,
                    }
                }
                Ok(identity::Identity::Badge(badge)) => self.badge_screen(&badge, fx),
                Ok(_) => Screen::Enrol {
                    busy: false,
                    error: Some("not_enrolment_code"),
                },
                Err(rejection) => Screen::Enrol {
                    busy: false,
                    error: Some(rejection.code()),
                },
            };
            return;
        }
        let accepts_scan = matches!(
            self.screen,
            Screen::Attract | Screen::Menu | Screen::Identify { .. }
        );
        if !accepts_scan {
            return;
        }
        match read.result {
            Ok(identity::Identity::Citizen { iin, .. }) => {
                if self.screen == Screen::Attract {
                    self.begin_session();
                    self.after_identify = match self.config.mode {
                        Mode::Hospital => Journey::Appeal,
                        Mode::FrontOffice => Journey::Guide,
                    };
                }
                self.session_mut().identity = Some(iin);
                self.screen = Screen::Identified { since: now };
            }
            Ok(identity::Identity::Badge(badge)) if self.screen == Screen::Attract => {
                self.screen = self.badge_screen(&badge, fx);
            }
            Ok(_) => {}
            Err(rejection) => {
                if self.screen == Screen::Attract {
                    self.begin_session();
                    self.after_identify = match self.config.mode {
                        Mode::Hospital => Journey::Appeal,
                        Mode::FrontOffice => Journey::Guide,
                    };
                }
                self.screen = Screen::Identify {
                    manual: None,
                    error: Some(rejection.code()),
                };
            }
        }
    }

    fn after_identified(&mut self, fx: &mut Vec<Effect>) {
        match self.after_identify {
            Journey::Appeal => {
                self.start_appeal_journey(fx);
                self.screen = Screen::AppealTopic;
            }
            Journey::Guide => self.screen = Screen::Menu,
        }
    }

    fn stop_recording(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        if let Screen::AppealRecording { started } = self.screen {
            self.session_mut().recorded_ms = Some(now.saturating_sub(started));
            self.screen = Screen::AppealReview;
            fx.push(Effect::StopRecording);
        }
    }

    fn save(&mut self, fx: &mut Vec<Effect>) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let Some(topic) = session.topic else {
            return;
        };
        let kind = session.appeal_kind;
        let recorded_ms = match kind {
            AppealKind::Typed if session.text.is_some() => 0,
            AppealKind::Typed => return,
            AppealKind::Video | AppealKind::Audio => match session.recorded_ms {
                Some(ms) => ms,
                None => return,
            },
        };
        fx.push(Effect::SaveAppeal(AppealDraft {
            iin: session.identity.clone(),
            topic,
            phone: session.phone.clone(),
            kind,
            recorded_ms,
            text: session.text.clone().filter(|_| kind == AppealKind::Typed),
        }));
        self.screen = Screen::AppealSaving { failed: false };
    }

    /// How an appeal can be left now: by what is working.
    pub fn appeal_kind_now(&self) -> AppealKind {
        match (self.camera, self.microphone) {
            (Health::Ok, Health::Ok) => AppealKind::Video,
            (_, Health::Ok) => AppealKind::Audio,
            _ => AppealKind::Typed,
        }
    }

    fn guide_steps(&self, service: usize) -> usize {
        self.config
            .guides
            .services
            .get(service)
            .map_or(0, |g| g.steps)
    }

    /// A guide left unfinished (another guide started, the session ended) is recorded as
    /// abandoned at the step the citizen saw last.
    fn abandon_guide(&mut self, fx: &mut Vec<Effect>) {
        let run = self.session.as_mut().and_then(|s| s.guide_run.take());
        if let Some(run) = run.filter(|r| !r.completed) {
            fx.push(Effect::Usage(GuideUsage::Abandoned {
                service: run.service,
                step: run.at,
            }));
        }
    }

    /// "Show me the steps": starts a run of this guide, or goes on with the one under way.
    fn start_guide(&mut self, service: usize, fx: &mut Vec<Effect>) {
        let current = self.session.as_ref().and_then(|s| s.guide_run);
        match current {
            Some(run) if run.service == service && !run.completed => {
                self.note_step(service, 0, fx);
            }
            _ => {
                self.abandon_guide(fx);
                fx.push(Effect::Usage(GuideUsage::Started { service }));
                fx.push(Effect::Usage(GuideUsage::StepReached { service, step: 0 }));
                self.session_mut().guide_run = Some(GuideRun {
                    service,
                    at: 0,
                    furthest: 0,
                    completed: false,
                });
            }
        }
    }

    /// The citizen now sees `step`; a step never reached before is a usage figure.
    fn note_step(&mut self, service: usize, step: usize, fx: &mut Vec<Effect>) {
        let Some(run) = self.session.as_mut().and_then(|s| s.guide_run.as_mut()) else {
            return;
        };
        if run.service != service {
            return;
        }
        run.at = step;
        if step > run.furthest {
            run.furthest = step;
            fx.push(Effect::Usage(GuideUsage::StepReached { service, step }));
        }
    }

    /// Where "Back" from a service's page leads: the search it came from, or its category.
    fn back_from_service(&self, service: usize) -> Screen {
        match self.session.as_ref().and_then(|s| s.guide_search.clone()) {
            Some(query) => Screen::GuideSearch {
                query,
                keyboard: false,
            },
            None => match self.config.guides.services.get(service) {
                Some(g) if g.category < self.config.guides.categories => Screen::GuideCatalog {
                    category: g.category,
                },
                _ => Screen::GuideCategories,
            },
        }
    }

    fn screen_event(&mut self, now: Millis, event: Event, fx: &mut Vec<Effect>) {
        let screen = std::mem::replace(&mut self.screen, Screen::Attract);
        self.screen = match (screen, event) {
            // Attract.
            (Screen::Attract, Event::Start) => {
                self.begin_session();
                Screen::Menu
            }
            (Screen::Attract | Screen::Enrol { .. }, Event::TechnicianGesture) => {
                Screen::TechnicianPin {
                    digits: String::new(),
                    wrong: false,
                }
            }
            (Screen::Attract, _) => Screen::Attract,

            // Menu.
            (Screen::Menu, Event::Choose(Journey::Appeal)) => {
                if self.session.as_ref().is_some_and(|s| s.identity.is_some()) {
                    self.start_appeal_journey(fx);
                    Screen::AppealTopic
                } else {
                    self.after_identify = Journey::Appeal;
                    Screen::Identify {
                        manual: None,
                        error: None,
                    }
                }
            }
            (Screen::Menu, Event::Choose(Journey::Guide)) => {
                self.session_mut().journey = Some(Journey::Guide);
                Screen::GuideCategories
            }
            (Screen::Menu, Event::Back) => {
                self.reset(fx);
                self.resting_screen()
            }

            // Identification.
            (Screen::Identify { error, .. }, Event::ManualOpen) => Screen::Identify {
                manual: Some(String::new()),
                error,
            },
            (
                Screen::Identify {
                    manual: Some(mut d),
                    error,
                },
                Event::KeypadDigit(c),
            ) => {
                if c.is_ascii_digit() && d.len() < KEYPAD_MAX {
                    d.push(c);
                }
                Screen::Identify {
                    manual: Some(d),
                    error,
                }
            }
            (
                Screen::Identify {
                    manual: Some(mut d),
                    error,
                },
                Event::KeypadBackspace,
            ) => {
                d.pop();
                Screen::Identify {
                    manual: Some(d),
                    error,
                }
            }
            (
                Screen::Identify {
                    manual: Some(d), ..
                },
                Event::KeypadSubmit,
            ) => match Iin::parse(&d) {
                Ok(iin) => {
                    self.session_mut().identity = Some(iin);
                    Screen::Identified { since: now }
                }
                Err(e) => Screen::Identify {
                    manual: Some(d),
                    error: Some(identity::Rejection::Iin(e).code()),
                },
            },
            (
                Screen::Identify {
                    manual: Some(_),
                    error,
                },
                Event::Back,
            ) => Screen::Identify {
                manual: None,
                error,
            },
            (Screen::Identify { manual: None, .. }, Event::Back) => Screen::Menu,
            (Screen::Identified { .. }, Event::Continue) => {
                self.after_identified(fx);
                std::mem::replace(&mut self.screen, Screen::Attract)
            }

            // Service guides.
            (Screen::GuideCategories, Event::SelectCategory(category)) => {
                if category < self.config.guides.categories {
                    self.session_mut().guide_search = None;
                    Screen::GuideCatalog { category }
                } else {
                    Screen::GuideCategories
                }
            }
            (Screen::GuideCategories, Event::SearchOpen) => Screen::GuideSearch {
                query: String::new(),
                keyboard: true,
            },
            (Screen::GuideCategories, Event::Back) => Screen::Menu,
            (Screen::GuideCatalog { .. }, Event::Back) => Screen::GuideCategories,
            (Screen::GuideSearch { query, .. }, Event::SearchOpen) => Screen::GuideSearch {
                query,
                keyboard: true,
            },
            (Screen::GuideSearch { keyboard, .. }, Event::SearchText(text)) => {
                Screen::GuideSearch {
                    query: text.chars().take(SEARCH_MAX).collect(),
                    keyboard,
                }
            }
            (
                Screen::GuideSearch {
                    query,
                    keyboard: true,
                },
                Event::Back,
            ) => Screen::GuideSearch {
                query,
                keyboard: false,
            },
            (
                Screen::GuideSearch {
                    keyboard: false, ..
                },
                Event::Back,
            ) => Screen::GuideCategories,
            (
                screen @ (Screen::GuideCatalog { .. } | Screen::GuideSearch { .. }),
                Event::SelectService(service),
            ) => {
                if self.guide_steps(service) == 0 {
                    screen
                } else {
                    self.session_mut().guide_search = match screen {
                        Screen::GuideSearch { query, .. } => Some(query),
                        _ => None,
                    };
                    Screen::GuideService { service }
                }
            }
            (Screen::GuideService { service }, Event::Back) => self.back_from_service(service),
            (Screen::GuideService { service }, Event::GuideNext) => {
                self.start_guide(service, fx);
                Screen::GuideStep {
                    service,
                    step: 0,
                    consultant_called: false,
                }
            }
            (
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called,
                },
                Event::GuideNext,
            ) => {
                if step + 1 >= self.guide_steps(service) {
                    fx.push(Effect::Usage(GuideUsage::Completed { service }));
                    if let Some(run) = self.session.as_mut().and_then(|s| s.guide_run.as_mut()) {
                        run.completed = true;
                    }
                    Screen::GuideRating { service }
                } else {
                    self.note_step(service, step + 1, fx);
                    Screen::GuideStep {
                        service,
                        step: step + 1,
                        consultant_called,
                    }
                }
            }
            (
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called,
                },
                Event::Back,
            ) => {
                if step == 0 {
                    Screen::GuideService { service }
                } else {
                    self.note_step(service, step - 1, fx);
                    Screen::GuideStep {
                        service,
                        step: step - 1,
                        consultant_called,
                    }
                }
            }
            (
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called: false,
                },
                Event::CallConsultant,
            ) => {
                fx.push(Effect::Usage(GuideUsage::ConsultantCalled {
                    service,
                    step,
                }));
                if let Some(guide) = self.config.guides.services.get(service) {
                    fx.push(Effect::CallConsultant {
                        service_id: guide.id.clone(),
                        step: step + 1,
                    });
                }
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called: true,
                }
            }
            (Screen::GuideRating { service }, Event::Rate(rating)) => {
                fx.push(Effect::Usage(GuideUsage::Rated { service, rating }));
                self.reset(fx);
                self.resting_screen()
            }

            // Appeals.
            (Screen::AppealTopic, Event::SelectTopic(topic)) => {
                self.session_mut().topic = Some(topic);
                Screen::AppealConsent
            }
            (Screen::AppealTopic, Event::Back) => Screen::Menu,
            (Screen::AppealConsent, Event::ConsentAccept) => {
                let kind = self.appeal_kind_now();
                let session = self.session_mut();
                session.appeal_kind = kind;
                session.recording_failed = false;
                if self.storage == Health::Faulty {
                    // Refused up front: better than a recording that cannot be kept.
                    Screen::AppealNoRoom
                } else if kind == AppealKind::Typed {
                    Screen::AppealText {
                        text: self
                            .session
                            .as_ref()
                            .and_then(|s| s.text.clone())
                            .unwrap_or_default(),
                    }
                } else {
                    fx.push(Effect::StartPreview);
                    Screen::AppealCountdown {
                        until: now + self.config.countdown_ms,
                    }
                }
            }
            (Screen::AppealText { .. }, Event::AppealText(text)) => {
                let text: String = text.chars().take(APPEAL_TEXT_MAX).collect();
                Screen::AppealText { text }
            }
            (Screen::AppealText { text }, Event::Send) => {
                if text.trim().is_empty() {
                    Screen::AppealText { text }
                } else {
                    self.session_mut().text = Some(text);
                    Screen::AppealPhone {
                        digits: String::new(),
                        invalid: false,
                    }
                }
            }
            (Screen::AppealText { text }, Event::Back) => {
                self.session_mut().text = Some(text).filter(|t| !t.is_empty());
                Screen::AppealConsent
            }
            (Screen::AppealReview, Event::ReplayTake) => {
                fx.push(Effect::PlayTake);
                Screen::AppealReview
            }
            (
                Screen::AppealCountdown { .. }
                | Screen::AppealRecording { .. }
                | Screen::AppealReview,
                Event::RecordingFailed,
            ) => {
                fx.push(Effect::DiscardRecording);
                let session = self.session_mut();
                session.recorded_ms = None;
                session.recording_failed = true;
                Screen::AppealConsent
            }
            (Screen::AppealNoRoom, Event::Back) => Screen::AppealConsent,
            (Screen::AppealConsent, Event::Back) => Screen::AppealTopic,
            (Screen::AppealCountdown { .. }, Event::Back) => {
                fx.push(Effect::StopRecording);
                Screen::AppealConsent
            }
            (screen @ Screen::AppealRecording { .. }, Event::StopRecording) => {
                self.screen = screen;
                self.stop_recording(now, fx);
                std::mem::replace(&mut self.screen, Screen::Attract)
            }
            (Screen::AppealReview, Event::ReRecord) => {
                fx.push(Effect::DiscardRecording);
                fx.push(Effect::StartPreview);
                self.session_mut().recorded_ms = None;
                Screen::AppealCountdown {
                    until: now + self.config.countdown_ms,
                }
            }
            (Screen::AppealReview, Event::Send) => Screen::AppealPhone {
                digits: String::new(),
                invalid: false,
            },
            (Screen::AppealPhone { mut digits, .. }, Event::KeypadDigit(c)) => {
                if c.is_ascii_digit() && digits.len() < 10 {
                    digits.push(c);
                }
                Screen::AppealPhone {
                    digits,
                    invalid: false,
                }
            }
            (Screen::AppealPhone { mut digits, .. }, Event::KeypadBackspace) => {
                digits.pop();
                Screen::AppealPhone {
                    digits,
                    invalid: false,
                }
            }
            (Screen::AppealPhone { digits, .. }, Event::KeypadSubmit) => {
                if is_kazakh_mobile(&digits) {
                    self.session_mut().phone = Some(format!("+7{digits}"));
                    self.save(fx);
                    std::mem::replace(&mut self.screen, Screen::Attract)
                } else {
                    Screen::AppealPhone {
                        digits,
                        invalid: true,
                    }
                }
            }
            (Screen::AppealPhone { .. }, Event::SkipPhone) => {
                self.session_mut().phone = None;
                self.save(fx);
                std::mem::replace(&mut self.screen, Screen::Attract)
            }
            (Screen::AppealPhone { .. }, Event::Back) => {
                if self.session.as_ref().map(|s| s.appeal_kind) == Some(AppealKind::Typed) {
                    Screen::AppealText {
                        text: self
                            .session
                            .as_ref()
                            .and_then(|s| s.text.clone())
                            .unwrap_or_default(),
                    }
                } else {
                    Screen::AppealReview
                }
            }
            (Screen::AppealSaving { .. }, Event::AppealSaved { number }) => {
                let receipt = Receipt {
                    number,
                    seen_at: match self.callcentre {
                        CallCentreStatus::Open => None,
                        CallCentreStatus::Closed { next_open } => Some(next_open),
                    },
                    offline: !self.online,
                };
                if self.printer == Health::Ok {
                    fx.push(Effect::PrintReceipt(receipt.clone()));
                }
                Screen::AppealReceipt { receipt }
            }
            (Screen::AppealSaving { .. }, Event::AppealSaveFailed) => {
                Screen::AppealSaving { failed: true }
            }
            (Screen::AppealSaving { failed: true }, Event::Send) => {
                self.save(fx);
                std::mem::replace(&mut self.screen, Screen::Attract)
            }
            (Screen::AppealReceipt { .. }, Event::Continue) => {
                self.reset(fx);
                self.resting_screen()
            }

            // Technician mode.
            (Screen::TechnicianPin { mut digits, wrong }, Event::KeypadDigit(c)) => {
                if c.is_ascii_digit() && digits.len() < KEYPAD_MAX {
                    digits.push(c);
                }
                Screen::TechnicianPin { digits, wrong }
            }
            (Screen::TechnicianPin { mut digits, wrong }, Event::KeypadBackspace) => {
                digits.pop();
                Screen::TechnicianPin { digits, wrong }
            }
            (Screen::TechnicianPin { digits, .. }, Event::KeypadSubmit) => {
                if now < self.pin_locked_until {
                    Screen::TechnicianPin {
                        digits: String::new(),
                        wrong: false,
                    }
                } else if self.pin_matches(&digits) {
                    self.pin_failures = 0;
                    fx.push(Effect::RunChecks);
                    Screen::TechnicianHome
                } else {
                    self.pin_failures += 1;
                    if self.pin_failures >= PIN_FREE_ATTEMPTS {
                        let doublings = (self.pin_failures - PIN_FREE_ATTEMPTS).min(10);
                        let lock = (PIN_LOCK_BASE_MS << doublings).min(PIN_LOCK_MAX_MS);
                        self.pin_locked_until = now + lock;
                    }
                    Screen::TechnicianPin {
                        digits: String::new(),
                        wrong: true,
                    }
                }
            }
            (Screen::TechnicianHome, Event::TechnicianOpen(test)) => {
                if test == TechTest::Camera {
                    fx.push(Effect::StartPreview);
                }
                Screen::TechnicianTest(test)
            }
            (Screen::TechnicianHome, Event::TechnicianRecheck) => {
                fx.push(Effect::RunChecks);
                Screen::TechnicianHome
            }
            (Screen::TechnicianTest(TechTest::Printer), Event::TechnicianPrintTest) => {
                fx.push(Effect::PrintTestSlip);
                Screen::TechnicianTest(TechTest::Printer)
            }
            (Screen::TechnicianTest(test), Event::Back) => {
                if test == TechTest::Camera {
                    fx.push(Effect::StopPreview);
                }
                fx.push(Effect::RunChecks);
                Screen::TechnicianHome
            }
            (Screen::TechnicianPin { .. }, Event::Back | Event::TechnicianExit)
            | (Screen::TechnicianHome | Screen::TechnicianTest(_), Event::TechnicianExit) => {
                self.reset(fx);
                std::mem::replace(&mut self.screen, Screen::Attract)
            }

            (screen, _) => screen,
        };
    }

    /// A technician badge opens technician mode if it is one of the configured badges;
    /// any other badge still needs the PIN.
    fn badge_screen(&self, badge: &str, fx: &mut Vec<Effect>) -> Screen {
        let known = self
            .config
            .badges_sha256
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&sha256_hex(badge)));
        if known {
            fx.push(Effect::RunChecks);
            Screen::TechnicianHome
        } else {
            Screen::TechnicianPin {
                digits: String::new(),
                wrong: false,
            }
        }
    }

    fn pin_matches(&self, digits: &str) -> bool {
        if self.config.pin_sha256.is_empty() || digits.is_empty() {
            return false;
        }
        sha256_hex(digits).eq_ignore_ascii_case(&self.config.pin_sha256)
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Kazakh mobile number after `+7`: ten digits starting with 7 (`7XX XXX XX XX`).
pub fn is_kazakh_mobile(digits: &str) -> bool {
    digits.len() == 10 && digits.starts_with('7') && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
