//! A kiosk without a token the call-centre accepts: it rests on the enrolment screen (switched
//! to only between citizens) and enrols by scanning an enrolment code.

use super::event::Effect;
use super::screen::Screen;
use super::{Flow, Mode};
use crate::identity::{self, Identity};

impl Flow {
    /// A read on the (idle) enrolment screen: an enrolment code, or a technician's badge.
    pub(super) fn enrol_scan(
        &mut self,
        read: identity::Classified,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match read.result {
            Ok(Identity::Enrolment(code)) => {
                fx.push(Effect::Enrol(code));
                Screen::Enrol {
                    busy: true,
                    error: None,
                }
            }
            Ok(Identity::Badge(badge)) => self.badge_screen(&badge, fx),
            Ok(_) => Screen::Enrol {
                busy: false,
                error: Some("not_enrolment_code"),
            },
            Err(rejection) => Screen::Enrol {
                busy: false,
                error: Some(rejection.code()),
            },
        }
    }

    /// The app says whether this kiosk holds an accepted token, and the site's mode.
    pub(super) fn set_enrolled(&mut self, enrolled: Option<Mode>, screen: Screen) -> Screen {
        self.enrolled = enrolled.is_some();
        if let Some(mode) = enrolled {
            self.config.mode = mode;
        }
        // Never in the middle of someone's journey: only where the kiosk rests.
        if matches!(screen, Screen::Attract | Screen::Enrol { .. }) {
            self.resting_screen()
        } else {
            screen
        }
    }

    /// The enrolment code was exchanged (with the site's mode) or refused.
    pub(super) fn enrol_result(
        &mut self,
        result: Result<Mode, &'static str>,
        screen: Screen,
    ) -> Screen {
        if !matches!(screen, Screen::Enrol { .. }) {
            return screen;
        }
        match result {
            Ok(mode) => {
                self.config.mode = mode;
                self.enrolled = true;
                Screen::Attract
            }
            Err(code) => Screen::Enrol {
                busy: false,
                error: Some(code),
            },
        }
    }
}
