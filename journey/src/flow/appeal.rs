//! Appeals: topic, consent, the way it is left (video, the voice alone, or typed; refused up
//! front on a full disk; or a live call, in `call`), countdown and recording, review, callback
//! phone, saving and receipt.

use senim_protocol::hours::CallCentreStatus;

use super::event::{AppealDraft, CallDraft, Effect, Event, Health};
use super::screen::{CheckCode, Receipt, Screen};
use super::session::{AppealKind, Journey};
use super::{Flow, Millis};

/// The longest typed appeal (the wire allows 4,000; a keyboard on a kiosk fills far less).
pub const APPEAL_TEXT_MAX: usize = 2_000;

impl Flow {
    /// The appeal screens.
    pub(super) fn appeal_event(
        &mut self,
        now: Millis,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match (screen, event) {
            (Screen::AppealTopic, Event::SelectTopic(topic)) => {
                self.session_mut().topic = Some(topic);
                Screen::AppealConsent
            }
            (Screen::AppealTopic, Event::Back) => Screen::Menu,
            (Screen::AppealConsent, Event::ConsentAccept) => self.consent_accept(now, fx),
            (Screen::AppealConsent, Event::CallNow) => self.call_now(now, fx),
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
            (Screen::AppealRecording { started }, Event::StopRecording) => {
                self.stop_recording(now, started, fx)
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
                    self.save(fx)
                } else {
                    Screen::AppealPhone {
                        digits,
                        invalid: true,
                    }
                }
            }
            (Screen::AppealPhone { .. }, Event::SkipPhone) => {
                self.session_mut().phone = None;
                self.save(fx)
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
            (Screen::AppealSaving { .. }, Event::AppealSaved { number, check_code }) => {
                let receipt = self.receipt(number, check_code);
                if self.printer == Health::Ok {
                    fx.push(Effect::PrintReceipt(receipt.clone()));
                }
                Screen::AppealReceipt { receipt }
            }
            (Screen::AppealSaving { .. }, Event::AppealSaveFailed) => {
                Screen::AppealSaving { failed: true }
            }
            (Screen::AppealSaving { failed: true }, Event::Send) => self.save(fx),
            (Screen::AppealReceipt { .. }, Event::Continue) => self.reset(fx),
            (screen, _) => screen,
        }
    }

    /// The citizen consents (or, after a call that ended, asks to record instead): the way
    /// the appeal is left follows what is working now.
    pub(super) fn consent_accept(&mut self, now: Millis, fx: &mut Vec<Effect>) -> Screen {
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

    /// The receipt of the appeal stored as `number`: when it will be seen, whether it is
    /// still on its way.
    pub(super) fn receipt(&self, number: String, check_code: CheckCode) -> Receipt {
        Receipt {
            number,
            check_code,
            seen_at: match self.callcentre {
                CallCentreStatus::Open => None,
                CallCentreStatus::Closed { next_open } => Some(next_open),
            },
            offline: !self.online,
        }
    }

    /// The red lamp: sent once per session when an appeal starts during working hours.
    pub(super) fn start_appeal_journey(&mut self, fx: &mut Vec<Effect>) {
        let open = self.callcentre == CallCentreStatus::Open;
        let session = self.session_mut();
        session.journey = Some(Journey::Appeal);
        if open && !session.presence_sent {
            session.presence_sent = true;
            fx.push(Effect::Presence { present: true });
        }
    }

    /// The take that began at `started` ends now (the citizen's "Stop", or the longest
    /// recording reached): on to the review.
    pub(super) fn stop_recording(
        &mut self,
        now: Millis,
        started: Millis,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        self.session_mut().recorded_ms = Some(now.saturating_sub(started));
        fx.push(Effect::StopRecording);
        Screen::AppealReview
    }

    /// Hands the appeal to the store and waits for it on the saving screen. A session without
    /// a topic or without its take or text (no sequence of screens leads there) goes to the
    /// attract screen instead.
    pub(super) fn save(&mut self, fx: &mut Vec<Effect>) -> Screen {
        match self.draft() {
            Some(draft) => {
                fx.push(Effect::SaveAppeal(draft));
                Screen::AppealSaving { failed: false }
            }
            None => Screen::Attract,
        }
    }

    /// The appeal as the store will commit it, if the session holds all of it: an answered
    /// call that ended, or the recorded or typed appeal.
    pub(super) fn draft(&self) -> Option<AppealDraft> {
        let session = self.session.as_ref()?;
        let topic = session.topic?;
        if let (Some(call_id), Some(duration_ms)) = (&session.call_id, session.call_ms) {
            return Some(AppealDraft {
                iin: session.identity.clone(),
                topic,
                phone: None,
                kind: AppealKind::Video,
                recorded_ms: duration_ms,
                text: None,
                call: Some(CallDraft {
                    call_id: call_id.clone(),
                    duration_ms,
                }),
            });
        }
        let kind = session.appeal_kind;
        let recorded_ms = match kind {
            AppealKind::Typed if session.text.is_some() => 0,
            AppealKind::Typed => return None,
            AppealKind::Video | AppealKind::Audio => session.recorded_ms?,
        };
        Some(AppealDraft {
            iin: session.identity.clone(),
            topic,
            phone: session.phone.clone(),
            kind,
            recorded_ms,
            text: session.text.clone().filter(|_| kind == AppealKind::Typed),
            call: None,
        })
    }

    /// How an appeal can be left now: by what is working.
    pub fn appeal_kind_now(&self) -> AppealKind {
        match (self.camera, self.microphone) {
            (Health::Ok, Health::Ok) => AppealKind::Video,
            (_, Health::Ok) => AppealKind::Audio,
            _ => AppealKind::Typed,
        }
    }
}

/// A Kazakh mobile number after `+7`: ten digits starting with 7 (`7XX XXX XX XX`).
pub fn is_kazakh_mobile(digits: &str) -> bool {
    digits.len() == 10 && digits.starts_with('7') && digits.bytes().all(|b| b.is_ascii_digit())
}
