//! "Talk to a specialist now": whether the consent page offers a live call ([`CallOffer`]),
//! ringing, the call itself, and how it ends (`CallEnd`); an answered call is saved as a
//! video appeal (`CallDraft`) with its receipt, like a recorded one.
//!
//! The flow only decides; the app places, cancels and hangs up the call (`Effect::PlaceCall`,
//! `CancelCall`, `HangUpCall`) and reports what happened (`Event::CallRinging`, `CallAnswered`,
//! `CallEnded`). Neither the idle warning nor "Finish" ever drops a live call silently.

use senim_protocol::hours::CallCentreStatus;

use super::event::{Effect, Event, Health};
use super::screen::{CallEnd, CheckCode, Screen};
use super::session::{AppealKind, CallSaved, Journey};
use super::{Flow, Millis};

/// How long past `ring_ms` the flow waits for the app's own "unanswered" before it gives up
/// on a ringing call itself.
pub const RING_GRACE_MS: Millis = 5_000;

/// The call volume a session starts with (0..=100).
pub const CALL_VOLUME_DEFAULT: u8 = 80;

/// Whether the consent page offers "Talk to a specialist now", or why not (said in one line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOffer {
    Offered,
    /// Outside working hours (the page says when a specialist will see a recorded appeal).
    Closed,
    /// Working hours, but no operator is available to take a call now.
    NobodyAvailable,
    /// The call-centre cannot be reached.
    Offline,
    /// The camera or the microphone is not working.
    NoCamera,
    /// This kiosk cannot keep a recording now (storage full or broken).
    NoRoom,
}

impl Flow {
    /// Whether "Talk to a specialist now" is offered on the consent page, or why not.
    pub fn call_offer(&self) -> CallOffer {
        if let CallCentreStatus::Closed { .. } = self.callcentre {
            CallOffer::Closed
        } else if !self.online {
            CallOffer::Offline
        } else if self.appeal_kind_now() != AppealKind::Video {
            CallOffer::NoCamera
        } else if self.storage == Health::Faulty {
            CallOffer::NoRoom
        } else if !self.operators_available {
            CallOffer::NobodyAvailable
        } else {
            CallOffer::Offered
        }
    }

    /// Whether the call-centre says an operator can take a live call now.
    pub fn operators_available(&self) -> bool {
        self.operators_available
    }

    /// The call's volume (0..=100).
    pub fn call_volume(&self) -> u8 {
        self.call_volume
    }

    /// Milliseconds since the call began ringing, or since it was answered.
    pub fn call_elapsed(&self, now: Millis) -> Option<Millis> {
        match self.screen {
            Screen::CallRinging { since } | Screen::InCall { since, .. } => {
                Some(now.saturating_sub(since))
            }
            _ => None,
        }
    }

    /// "Talk to a specialist now" on the consent page: rings the call-centre.
    pub(super) fn call_now(&mut self, now: Millis, fx: &mut Vec<Effect>) -> Screen {
        let is_appeal = self
            .session
            .as_ref()
            .is_some_and(|s| s.journey == Some(Journey::Appeal));
        let topic = self.session.as_ref().and_then(|s| s.topic);
        let (true, CallOffer::Offered, Some(topic)) = (is_appeal, self.call_offer(), topic) else {
            return Screen::AppealConsent;
        };
        let session = self.session_mut();
        session.appeal_kind = AppealKind::Video;
        session.recording_failed = false;
        session.recorded_ms = None;
        session.call_id = None;
        session.call_ms = None;
        session.call_saved = None;
        let iin = session.identity.clone();
        fx.push(Effect::PlaceCall { topic, iin });
        fx.push(Effect::StartPreview);
        Screen::CallRinging { since: now }
    }

    /// The ringing, in-call and call-ended pages.
    pub(super) fn call_event(
        &mut self,
        now: Millis,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match (screen, event) {
            (Screen::CallRinging { since }, Event::CallRinging { call_id }) => {
                self.session_mut().call_id = Some(call_id);
                Screen::CallRinging { since }
            }
            (Screen::CallRinging { since }, Event::CallAnswered { operator }) => {
                if self.session.as_ref().is_some_and(|s| s.call_id.is_some()) {
                    Screen::InCall {
                        since: now,
                        operator,
                    }
                } else {
                    // The app must say which call rings before it is answered; without an id
                    // the call cannot become an appeal. The ring timeout ends it.
                    Screen::CallRinging { since }
                }
            }
            (Screen::CallRinging { .. }, Event::Back) => {
                fx.push(Effect::CancelCall);
                self.forget_call();
                Screen::AppealConsent
            }
            (Screen::CallRinging { .. }, Event::CallEnded(end)) => {
                self.forget_call();
                let why = match end {
                    CallEnd::Unanswered => CallEnd::Unanswered,
                    // Refused before anyone answered (or an operator gave up at once).
                    CallEnd::Unavailable | CallEnd::HungUpByOperator => CallEnd::Unavailable,
                    CallEnd::Lost | CallEnd::Failed => CallEnd::Failed,
                };
                Screen::CallEnded { why }
            }
            (Screen::InCall { since, .. }, Event::HangUp | Event::EndSession) => {
                fx.push(Effect::HangUpCall);
                self.end_answered_call(now, since);
                self.save(fx)
            }
            (Screen::InCall { since, .. }, Event::CallEnded(CallEnd::HungUpByOperator)) => {
                self.end_answered_call(now, since);
                self.save(fx)
            }
            (Screen::InCall { since, .. }, Event::CallEnded(_)) => {
                // Whatever was said so far is an appeal: saved at once.
                self.end_answered_call(now, since);
                match self.draft() {
                    Some(draft) => {
                        fx.push(Effect::SaveAppeal(draft));
                        self.session_mut().call_saved = Some(CallSaved::Saving);
                    }
                    None => self.session_mut().call_saved = Some(CallSaved::Failed),
                }
                Screen::CallEnded { why: CallEnd::Lost }
            }
            (screen @ Screen::InCall { .. }, Event::CallVolume(level)) => {
                self.call_volume = level.min(100);
                fx.push(Effect::SetCallVolume(self.call_volume));
                screen
            }
            (Screen::CallEnded { why }, Event::AppealSaved { number, check_code }) => {
                if self.call_saved() == Some(&CallSaved::Saving) {
                    self.call_saved_as(number, check_code, fx);
                }
                Screen::CallEnded { why }
            }
            (Screen::CallEnded { why }, Event::AppealSaveFailed) => {
                if self.call_saved() == Some(&CallSaved::Saving) {
                    self.session_mut().call_saved = Some(CallSaved::Failed);
                }
                Screen::CallEnded { why }
            }
            (Screen::CallEnded { why }, Event::Send) => {
                // "Try again" after the lost call's appeal could not be stored.
                if self.call_saved() == Some(&CallSaved::Failed) {
                    if let Some(draft) = self.draft() {
                        fx.push(Effect::SaveAppeal(draft));
                        self.session_mut().call_saved = Some(CallSaved::Saving);
                    }
                }
                Screen::CallEnded { why }
            }
            (Screen::CallEnded { why }, Event::ConsentAccept) => {
                // "Record an appeal": a new appeal, same identity and topic, consent given.
                // Not while the lost call's appeal is still being stored (its take is sealed
                // and committed first).
                if self.call_saved() == Some(&CallSaved::Saving) {
                    return Screen::CallEnded { why };
                }
                self.forget_call();
                self.consent_accept(now, fx)
            }
            (screen, _) => screen,
        }
    }

    /// A ringing call with no news for `ring_ms` + grace: ended here as unanswered.
    pub(super) fn ring_timed_out(&self, now: Millis, since: Millis) -> bool {
        now.saturating_sub(since) >= self.config.ring_ms + RING_GRACE_MS
    }

    /// The call the app may still hold, ended before the session goes: cancelled while
    /// ringing, hung up while answered.
    pub(super) fn end_call_for_reset(&mut self, screen: &Screen, fx: &mut Vec<Effect>) {
        match screen {
            Screen::CallRinging { .. } => fx.push(Effect::CancelCall),
            Screen::InCall { .. } => fx.push(Effect::HangUpCall),
            _ => {}
        }
    }

    /// An answered call that began at `since` is over: its length is what the appeal holds.
    fn end_answered_call(&mut self, now: Millis, since: Millis) {
        let session = self.session_mut();
        session.call_ms = Some(now.saturating_sub(since));
        session.recorded_ms = session.call_ms;
    }

    /// The lost call's appeal is stored: its number shown, and printed as after any appeal.
    fn call_saved_as(&mut self, number: String, check_code: CheckCode, fx: &mut Vec<Effect>) {
        let receipt = self.receipt(number.clone(), check_code.clone());
        if self.printer == Health::Ok {
            fx.push(Effect::PrintReceipt(receipt));
        }
        let session = self.session_mut();
        session.call_ms = None;
        session.call_saved = Some(CallSaved::Saved(number, check_code));
    }

    fn call_saved(&self) -> Option<&CallSaved> {
        self.session.as_ref().and_then(|s| s.call_saved.as_ref())
    }

    /// The last call is no longer this session's appeal (cancelled, unanswered, or a new
    /// recording begins); a lost call's stored number stays to be shown.
    fn forget_call(&mut self) {
        let session = self.session_mut();
        session.call_id = None;
        session.call_ms = None;
        session.recorded_ms = None;
    }
}
