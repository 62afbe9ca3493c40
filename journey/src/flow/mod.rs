//! The citizen's journey as a pure state machine: events in, effects out, no I/O inside.
//!
//! Everything the kiosk shows is a [`Screen`] owned by [`Flow`]. Adapters turn touches, scans,
//! timers and device or sync news into [`Event`]s; `Flow::handle` answers with [`Effect`]s that
//! the app carries out (record, save, print, send presence). Time is passed in as monotonic
//! milliseconds, so every timer (idle warning, countdown, maximum recording length, PIN lock-out)
//! is testable without sleeping. The crate imports no Slint, SQL, HTTP or GStreamer.
//!
//! This module holds the machine itself: its state, the events every screen answers the same
//! way (language, devices, sync, catalogue, idle timers, "Finish"), the attract screen and the
//! menu, and the reset. Each journey's screens answer in their own module, and every
//! transition returns the next screen:
//! - `screen`, `session`, `event`, `config`: the types the journeys share, re-exported here;
//! - `identify`: the card read or the IIN typed, and where it leads;
//! - `guide`: the service guides and their usage figures;
//! - `appeal`: topic, consent, recording or typing, phone, saving, receipt;
//! - `call`: "Talk to a specialist now" — the offer, ringing, the call, how it ended;
//! - `technician`: PIN and badges, checks and device tests;
//! - `enrol`: a kiosk without an accepted token.

pub use senim_protocol::hours;
pub use senim_protocol::Lang;

mod appeal;
mod call;
mod config;
mod enrol;
mod event;
mod guide;
mod identify;
mod screen;
mod session;
mod speech;
mod technician;

#[cfg(test)]
mod tests;

pub use appeal::{is_kazakh_mobile, APPEAL_TEXT_MAX};
pub use call::{CallOffer, CALL_VOLUME_DEFAULT, RING_GRACE_MS};
pub use config::{FlowConfig, GuideInfo, GuideShape, RING_MS_DEFAULT};
pub use event::{
    AppealDraft, CallDraft, Device, Effect, Event, GuideUsage, Health, PinLock, Rating,
};
pub use hours::CallCentreStatus;
pub use identify::IDENTIFIED_MS;
pub use screen::{CallEnd, CheckCode, Receipt, Screen, TechTest};
pub use session::{AppealKind, CallSaved, GuideRun, Journey, Session};
pub use speech::{speakable, Prompt, SPEECH_VOLUME_MIN, SPEECH_VOLUME_STEP};
pub use technician::{PIN_CHECK_TIMEOUT_MS, PIN_FREE_ATTEMPTS, PIN_LOCK_MAX_MS};

/// Monotonic milliseconds since the kiosk started.
pub type Millis = u64;

/// How a site uses the kiosk (hospital: appeals first; front office: service guides first);
/// both modes offer both journeys. The same type the call-centre sends at enrolment.
pub use senim_protocol::SiteMode as Mode;

/// The longest IIN or PIN typed on the keypad.
const KEYPAD_MAX: usize = 12;

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
    /// The call-centre's word that an operator can take a live call now.
    operators_available: bool,
    /// The live call's volume (0..=100), back to the default for each citizen.
    call_volume: u8,
    pin_failures: u32,
    pin_locked_until: Millis,
    /// When the PIN typed last went to the app for checking (`Effect::CheckPin`), until its
    /// answer; further submits wait for it.
    pin_checking_since: Option<Millis>,
    /// What the identify step leads to once the card is read.
    after_identify: Journey,
    /// `false` once the app says this kiosk has no accepted token: between citizens it shows
    /// the enrolment screen instead of the attract screen.
    enrolled: bool,
    /// A new catalogue waiting for the kiosk to be at rest.
    pending_guides: Option<GuideShape>,
    /// The spoken prompts' volume (0..=100), back to `[speech] volume` for each citizen.
    speech_volume: u8,
    /// A prompt was asked for (`Effect::Speak`) and has not ended or been stopped.
    speaking: bool,
    /// Large text and high contrast, as the citizen chose; off again at every reset.
    large_text: bool,
    /// The last touch of any kind (`last_activity` is also moved by the timers on screens
    /// where waiting is not idleness); a large-text mode switched on at the attract screen
    /// and left there is switched off after the idle warning and reset times.
    last_input: Millis,
    /// An installed system update waits, in the quiet hour (`Event::UpdateDue`).
    update_due: bool,
}

/// How long nobody must have touched the kiosk at rest before it restarts into an update.
pub const UPDATE_QUIET_MS: Millis = 2 * 60 * 1000;

impl Flow {
    pub fn new(config: FlowConfig) -> Flow {
        Flow {
            lang: config.default_language,
            speech_volume: config.speech_volume,
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
            operators_available: false,
            call_volume: CALL_VOLUME_DEFAULT,
            pin_failures: 0,
            pin_locked_until: 0,
            pin_checking_since: None,
            after_identify: Journey::Appeal,
            enrolled: true,
            pending_guides: None,
            speaking: false,
            large_text: false,
            last_input: 0,
            update_due: false,
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
    /// Large text and high contrast on (the display-mode button).
    pub fn large_text(&self) -> bool {
        self.large_text
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

    /// Whether an installed system update waits for the kiosk to be at rest.
    pub fn update_due(&self) -> bool {
        self.update_due
    }

    /// Whether timers matter right now (the app may stop ticking on the attract screen).
    pub fn needs_ticks(&self) -> bool {
        !matches!(self.screen, Screen::Attract) || self.update_due
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
                | Event::UpdateDue(_)
                | Event::OperatorsAvailable(_)
                | Event::CallRinging { .. }
                | Event::CallAnswered { .. }
                | Event::CallEnded(_)
                | Event::PinChecked { .. }
                | Event::PinLockRestored(_)
                | Event::SpeechEnded
        );
        if is_user_input {
            self.last_activity = now;
            self.speech_before(&event, &mut fx);
            self.last_input = now;
            if self.idle_warning_since.take().is_some() && event == Event::StillHere {
                return fx;
            }
        }
        let before = self.prompt_key();
        // A copy: `self.screen` stays the screen showing until the next one is known.
        let screen = self.screen.clone();
        self.screen = self.next_screen(now, screen, event, &mut fx);
        self.speech_after(before, is_user_input, &mut fx);
        fx
    }

    /// The screen after `event` on `screen` (the one showing), pushing effects on the way.
    fn next_screen(
        &mut self,
        now: Millis,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match event {
            Event::Tick => self.tick(now, screen, fx),
            Event::Touch | Event::StillHere => screen,
            Event::Listen | Event::Quieter | Event::Louder => self.speech_event(screen, event, fx),
            Event::SpeechEnded => {
                self.speaking = false;
                screen
            }
            Event::ToggleLargeText => {
                self.large_text = !self.large_text;
                screen
            }
            Event::SetLanguage(lang) => {
                if lang != self.lang {
                    self.lang = lang;
                    fx.push(Effect::SetLanguage(lang));
                }
                screen
            }
            Event::DeviceHealth(device, health) => {
                match device {
                    Device::Scanner => self.scanner = health,
                    Device::Camera => self.camera = health,
                    Device::Microphone => self.microphone = health,
                    Device::Printer => self.printer = health,
                    Device::Storage => self.storage = health,
                }
                screen
            }
            Event::Sync { online, pending } => {
                self.online = online;
                self.pending = pending;
                screen
            }
            Event::CallCentre(status) => {
                self.callcentre = status;
                screen
            }
            Event::OperatorsAvailable(available) => {
                self.operators_available = available;
                screen
            }
            // News of a call the citizen already left (cancelled, or the session ended): it
            // must not go on ringing or stay connected.
            Event::CallRinging { .. }
                if !matches!(screen, Screen::CallRinging { .. } | Screen::InCall { .. }) =>
            {
                fx.push(Effect::CancelCall);
                screen
            }
            Event::CallAnswered { .. }
                if !matches!(screen, Screen::CallRinging { .. } | Screen::InCall { .. }) =>
            {
                fx.push(Effect::HangUpCall);
                screen
            }
            // "Finish" in a call hangs up, and the call is saved as after "Hang up".
            Event::EndSession if matches!(screen, Screen::InCall { .. }) => {
                self.call_event(now, screen, Event::EndSession, fx)
            }
            Event::CatalogReady(steps) => {
                self.pending_guides = Some(steps);
                if self.at_rest(&screen) {
                    self.switch_catalog(fx);
                }
                screen
            }
            Event::UpdateDue(due) => {
                self.update_due = due;
                self.switch_update(now, &screen, fx);
                screen
            }
            Event::PinChecked { ok } => self.pin_checked(screen, ok, fx),
            Event::PinLockRestored(lock) => {
                self.restore_pin_lock(now, lock);
                screen
            }
            Event::Enrolled(enrolled) => self.set_enrolled(enrolled, screen),
            Event::EnrolResult(result) => self.enrol_result(result, screen),
            Event::EndSession if screen != Screen::Attract => self.cut_short(&screen, fx),
            Event::EndSession => screen,
            Event::Restart => {
                if matches!(screen, Screen::TechnicianHome | Screen::TechnicianTest(_)) {
                    fx.push(Effect::Restart);
                }
                screen
            }
            Event::Scan(read) => match screen {
                Screen::Enrol { busy: false, .. } => self.enrol_scan(read, fx),
                Screen::Attract | Screen::Menu | Screen::Identify { .. } => {
                    self.identify_scan(now, screen, read, fx)
                }
                _ => screen,
            },
            other => match screen {
                Screen::Enrol { .. } | Screen::Attract | Screen::Menu => {
                    self.home_event(screen, other, fx)
                }
                Screen::Identify { .. } | Screen::Identified { .. } => {
                    self.identify_event(now, screen, other, fx)
                }
                Screen::GuideCategories
                | Screen::GuideCatalog { .. }
                | Screen::GuideSearch { .. }
                | Screen::GuideService { .. }
                | Screen::GuideStep { .. }
                | Screen::GuideRating { .. } => self.guide_event(screen, other, fx),
                Screen::AppealTopic
                | Screen::AppealConsent
                | Screen::AppealNoRoom
                | Screen::AppealText { .. }
                | Screen::AppealCountdown { .. }
                | Screen::AppealRecording { .. }
                | Screen::AppealReview
                | Screen::AppealPhone { .. }
                | Screen::AppealSaving { .. }
                | Screen::AppealReceipt { .. } => self.appeal_event(now, screen, other, fx),
                Screen::CallRinging { .. } | Screen::InCall { .. } | Screen::CallEnded { .. } => {
                    self.call_event(now, screen, other, fx)
                }
                Screen::TechnicianPin { .. }
                | Screen::TechnicianHome
                | Screen::TechnicianTest(_) => self.technician_event(now, screen, other, fx),
            },
        }
    }

    /// Timers: the countdown, the longest recording, the greeting, the idle warning and reset.
    fn tick(&mut self, now: Millis, screen: Screen, fx: &mut Vec<Effect>) -> Screen {
        self.switch_update(now, &screen, fx);
        match screen {
            Screen::AppealCountdown { until } if now >= until => {
                fx.push(Effect::StartRecording);
                return Screen::AppealRecording { started: now };
            }
            Screen::AppealRecording { started }
                if now.saturating_sub(started) >= self.config.max_recording_ms =>
            {
                return self.stop_recording(now, started, fx);
            }
            Screen::Identified { since } if now.saturating_sub(since) >= IDENTIFIED_MS => {
                return self.after_identified(fx);
            }
            Screen::CallRinging { since } if self.ring_timed_out(now, since) => {
                fx.push(Effect::CancelCall);
                return self.call_event(now, screen, Event::CallEnded(CallEnd::Unanswered), fx);
            }
            _ => {}
        }
        if self.large_text
            && self.session.is_none()
            && matches!(screen, Screen::Attract | Screen::Enrol { .. })
            && now.saturating_sub(self.last_input)
                >= self.config.idle_warning_ms + self.config.idle_reset_ms
        {
            // Switched on at the attract screen by someone who then walked away.
            self.large_text = false;
        }
        if matches!(
            screen,
            Screen::Attract
                | Screen::AppealCountdown { .. }
                | Screen::AppealRecording { .. }
                | Screen::AppealSaving { failed: false }
                | Screen::CallRinging { .. }
                | Screen::InCall { .. }
        ) {
            // Nobody touches the screen while speaking to the camera or waiting for a
            // specialist; that is not idleness.
            self.last_activity = now;
            return screen;
        }
        match self.idle_warning_since {
            None if now.saturating_sub(self.last_activity) >= self.config.idle_warning_ms => {
                self.idle_warning_since = Some(now);
                screen
            }
            Some(since) if now.saturating_sub(since) >= self.config.idle_reset_ms => {
                self.cut_short(&screen, fx)
            }
            _ => screen,
        }
    }

    /// The attract screen, the enrolment screen's hidden gesture, and the menu.
    fn home_event(&mut self, screen: Screen, event: Event, fx: &mut Vec<Effect>) -> Screen {
        match (screen, event) {
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
            (Screen::Menu, Event::Back) => self.reset(fx),
            (screen, _) => screen,
        }
    }

    /// The journey's own end (the menu's "Back", a guide rated, the receipt taken, technician
    /// mode left): drops every trace of the session; returns the resting screen.
    fn reset(&mut self, fx: &mut Vec<Effect>) -> Screen {
        self.abandon_guide(fx);
        self.drop_session(fx)
    }

    /// The session cut short on `screen` (idle timeout, "Finish"): what that screen left
    /// running is stopped and a take thrown away, then as [`Flow::reset`].
    fn cut_short(&mut self, screen: &Screen, fx: &mut Vec<Effect>) -> Screen {
        self.abandon_guide(fx);
        self.end_call_for_reset(screen, fx);
        match screen {
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
        self.drop_session(fx)
    }

    /// Presence off, the session and the idle warning gone, a waiting catalogue taken, the
    /// default language back; returns the resting screen.
    fn drop_session(&mut self, fx: &mut Vec<Effect>) -> Screen {
        if self.session.as_ref().is_some_and(|s| s.presence_sent) {
            fx.push(Effect::Presence { present: false });
        }
        self.session = None;
        self.idle_warning_since = None;
        self.call_volume = CALL_VOLUME_DEFAULT;
        self.speech_reset(fx);
        self.large_text = false;
        let resting = self.resting_screen();
        // The kiosk is at rest now.
        self.switch_catalog(fx);
        if self.lang != self.config.default_language {
            self.lang = self.config.default_language;
            fx.push(Effect::SetLanguage(self.lang));
        }
        fx.push(Effect::ClearSession);
        resting
    }

    /// Nobody is using the kiosk: no session, and `screen` is where it waits.
    fn at_rest(&self, screen: &Screen) -> bool {
        self.session.is_none() && matches!(screen, Screen::Attract | Screen::Enrol { .. })
    }

    /// Takes the waiting catalogue, if any (only when the kiosk is at rest).
    fn switch_catalog(&mut self, fx: &mut Vec<Effect>) {
        if let Some(guides) = self.pending_guides.take() {
            self.config.guides = guides;
            fx.push(Effect::SwitchCatalog);
        }
    }

    /// Asks for the restart into a waiting update when the kiosk is at rest and nobody has
    /// touched it for [`UPDATE_QUIET_MS`] (once; the app says again if it is still due).
    fn switch_update(&mut self, now: Millis, screen: &Screen, fx: &mut Vec<Effect>) {
        if self.update_due
            && self.at_rest(screen)
            && now.saturating_sub(self.last_input) >= UPDATE_QUIET_MS
        {
            self.update_due = false;
            fx.push(Effect::SwitchUpdate);
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
}
