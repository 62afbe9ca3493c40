//! Technician mode: the PIN (hashed, with a growing lock-out after failures) or a known badge,
//! the checks, and the device tests.

use sha2::{Digest, Sha256};

use super::event::{Effect, Event};
use super::screen::{Screen, TechTest};
use super::{Flow, Millis, KEYPAD_MAX};

/// Failed PIN attempts allowed before the lock-out starts.
pub const PIN_FREE_ATTEMPTS: u32 = 3;
const PIN_LOCK_BASE_MS: Millis = 30_000;
const PIN_LOCK_MAX_MS: Millis = 15 * 60_000;

impl Flow {
    /// The technician screens.
    pub(super) fn technician_event(
        &mut self,
        now: Millis,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match (screen, event) {
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
                // No `StopPreview` from the camera test: the app's camera follows the screen.
                self.reset(fx)
            }
            (screen, _) => screen,
        }
    }

    /// A technician badge opens technician mode if it is one of the configured badges;
    /// any other badge still needs the PIN.
    pub(super) fn badge_screen(&self, badge: &str, fx: &mut Vec<Effect>) -> Screen {
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

/// Lower-case hex SHA-256 of `text`, as the configuration holds the PIN and the badges.
pub(super) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
