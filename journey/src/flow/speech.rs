//! Spoken guidance in the journey: "listen" plays the screen's prompt, quieter and louder
//! change its volume (and play it again at the new level), `[speech] auto_play` plays each
//! screen's prompt as it opens, and the prompt stops when the citizen acts, at "Finish" and at
//! the idle reset. Nothing is spoken while a take is recorded or a call is live (the prompt
//! would be in the video or the operator's ear), nor on a screen nobody stands at.

use super::{Effect, Event, Flow, Lang, Screen};

/// See [`Flow::prompt_key`].
pub(super) type PromptKey = (&'static str, Lang, Option<(usize, usize)>);

/// How much one touch of quieter or louder changes the prompts' volume (0..=100).
pub const SPEECH_VOLUME_STEP: u8 = 20;
/// The quietest the prompts go with "quieter": never silent by mistake.
pub const SPEECH_VOLUME_MIN: u8 = 20;

/// Which prompt to play: a screen's, in a language, and for a guide step also the step's own
/// text (the app finds it in the catalogue by service id and 0-based step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The screen's stable name ([`Screen::name`]).
    pub screen: &'static str,
    pub lang: Lang,
    pub step: Option<(String, usize)>,
}

impl Flow {
    /// The prompts' volume now (0..=100), back to the configured one for each citizen.
    pub fn speech_volume(&self) -> u8 {
        self.speech_volume
    }

    /// Whether a prompt is playing (as far as the journey knows: `Event::SpeechEnded` clears it).
    pub fn speaking(&self) -> bool {
        self.speaking
    }

    /// Before a citizen's event: their act (other than the speech controls themselves) stops
    /// the prompt.
    pub(super) fn speech_before(&mut self, event: &Event, fx: &mut Vec<Effect>) {
        if !matches!(event, Event::Listen | Event::Quieter | Event::Louder) {
            self.stop_speaking(fx);
        }
    }

    /// The speech controls on `screen` (the one showing).
    pub(super) fn speech_event(
        &mut self,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match event {
            Event::Quieter | Event::Louder => {
                let level = if event == Event::Louder {
                    self.speech_volume
                        .saturating_add(SPEECH_VOLUME_STEP)
                        .min(100)
                } else {
                    self.speech_volume
                        .saturating_sub(SPEECH_VOLUME_STEP)
                        .max(SPEECH_VOLUME_MIN)
                };
                if level != self.speech_volume {
                    self.speech_volume = level;
                    fx.push(Effect::SetSpeechVolume(level));
                }
                // Heard at the new level at once: the citizen knows what the touch did.
                self.speak(&screen, fx);
            }
            Event::Listen => self.speak(&screen, fx),
            _ => {}
        }
        screen
    }

    /// What tells one prompt from another on the screen showing: its name, the language, and
    /// on a guide step which step.
    pub(super) fn prompt_key(&self) -> PromptKey {
        let step = match self.screen {
            Screen::GuideStep { service, step, .. } => Some((service, step)),
            _ => None,
        };
        (self.screen.name(), self.lang, step)
    }

    /// After an event that moved from the prompt `before` to another screen or step (or
    /// changed the language): the new screen's prompt when `[speech] auto_play` is on; silence when the
    /// new screen must not speak.
    pub(super) fn speech_after(
        &mut self,
        before: PromptKey,
        citizen_acted: bool,
        fx: &mut Vec<Effect>,
    ) {
        if before == self.prompt_key() {
            return;
        }
        if !speakable(&self.screen) {
            self.stop_speaking(fx);
            return;
        }
        // A screen reached by a timer alone (the greeting's end) speaks too, but not the
        // resting screen after the idle reset: nobody is there.
        let someone_here = self.session.is_some() || citizen_acted;
        if self.config.speech_auto_play && someone_here && !self.at_rest_now() {
            let screen = self.screen.clone();
            self.speak(&screen, fx);
        }
    }

    /// The session is over ("Finish", idle reset, the journey's end): silence, and the
    /// configured volume for the next citizen.
    pub(super) fn speech_reset(&mut self, fx: &mut Vec<Effect>) {
        self.stop_speaking(fx);
        if self.speech_volume != self.config.speech_volume {
            self.speech_volume = self.config.speech_volume;
            fx.push(Effect::SetSpeechVolume(self.speech_volume));
        }
    }

    fn speak(&mut self, screen: &Screen, fx: &mut Vec<Effect>) {
        if !speakable(screen) {
            return;
        }
        let step = match screen {
            Screen::GuideStep { service, step, .. } => self
                .config
                .guides
                .services
                .get(*service)
                .map(|s| (s.id.clone(), *step)),
            _ => None,
        };
        self.speaking = true;
        fx.push(Effect::Speak(Prompt {
            screen: screen.name(),
            lang: self.lang,
            step,
        }));
    }

    fn stop_speaking(&mut self, fx: &mut Vec<Effect>) {
        if self.speaking {
            self.speaking = false;
            fx.push(Effect::StopSpeaking);
        }
    }

    fn at_rest_now(&self) -> bool {
        self.at_rest(&self.screen)
    }
}

/// Whether `screen` may speak: not while the camera and microphone record the citizen.
pub fn speakable(screen: &Screen) -> bool {
    !matches!(
        screen,
        Screen::AppealRecording { .. } | Screen::InCall { .. }
    )
}
