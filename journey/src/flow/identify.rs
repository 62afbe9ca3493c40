//! Who the citizen is: an ID card read (IIN or MRZ) or the IIN typed on the keypad, the
//! greeting, and the journey it leads to.

use super::event::{Effect, Event};
use super::screen::Screen;
use super::session::Journey;
use super::{Flow, Millis, Mode, KEYPAD_MAX};
use crate::identity::{self, Identity, Iin};

/// How long the "identified" greeting stays before the journey moves on by itself.
pub const IDENTIFIED_MS: Millis = 2_000;

impl Flow {
    /// A read from the scanner or the camera on the attract, menu or identify screen.
    pub(super) fn identify_scan(
        &mut self,
        now: Millis,
        screen: Screen,
        read: identity::Classified,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match read.result {
            Ok(Identity::Citizen { iin, .. }) => {
                if screen == Screen::Attract {
                    self.begin_from_attract();
                }
                self.session_mut().identity = Some(iin);
                Screen::Identified { since: now }
            }
            Ok(Identity::Badge(badge)) if screen == Screen::Attract => {
                self.badge_screen(&badge, fx)
            }
            Ok(_) => screen,
            Err(rejection) => {
                if screen == Screen::Attract {
                    self.begin_from_attract();
                }
                Screen::Identify {
                    manual: None,
                    error: Some(rejection.code()),
                }
            }
        }
    }

    /// A card held up on the attract screen starts a session bound for the site's first
    /// journey: appeals at a hospital, service guides at a front office.
    fn begin_from_attract(&mut self) {
        self.begin_session();
        self.after_identify = match self.config.mode {
            Mode::Hospital => Journey::Appeal,
            Mode::FrontOffice => Journey::Guide,
        };
    }

    /// The identify screen (keypad) and the greeting.
    pub(super) fn identify_event(
        &mut self,
        now: Millis,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match (screen, event) {
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
            (Screen::Identified { .. }, Event::Continue) => self.after_identified(fx),
            (screen, _) => screen,
        }
    }

    /// Where the greeting leads: the appeal's topics, or the menu.
    pub(super) fn after_identified(&mut self, fx: &mut Vec<Effect>) -> Screen {
        match self.after_identify {
            Journey::Appeal => {
                self.start_appeal_journey(fx);
                Screen::AppealTopic
            }
            Journey::Guide => Screen::Menu,
        }
    }
}
