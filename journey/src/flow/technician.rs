//! Technician mode: the PIN (checked by the app off the UI thread, with a growing lock-out
//! after failures that the store keeps across restarts) or a known badge, the checks, and the
//! device tests.
//!
//! A submitted PIN is counted as a failure *before* it is checked (`Effect::SavePinLock`, then
//! `Effect::CheckPin`), as a smart card counts its PIN tries: cutting the power during the
//! check cannot win a free attempt. The right PIN (`Event::PinChecked { ok: true }`) then
//! clears the count and the lock. An answer nobody asked for opens nothing.

use sha2::{Digest, Sha256};

use super::event::{Effect, Event, PinLock};
use super::screen::{Screen, TechTest};
use super::{Flow, Millis, KEYPAD_MAX};

/// Failed PIN attempts allowed before the lock-out starts.
pub const PIN_FREE_ATTEMPTS: u32 = 3;
const PIN_LOCK_BASE_MS: Millis = 30_000;
/// The longest lock-out; a lock read back from the store is never longer (a clock set back
/// cannot lock the kiosk for days).
pub const PIN_LOCK_MAX_MS: Millis = 15 * 60_000;
/// How long a submitted PIN waits for the app's answer before another may be submitted.
pub const PIN_CHECK_TIMEOUT_MS: Millis = 10_000;

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
            (Screen::TechnicianPin { digits, wrong }, Event::KeypadSubmit) => {
                self.submit_pin(now, digits, wrong, fx)
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

    fn submit_pin(
        &mut self,
        now: Millis,
        digits: String,
        wrong: bool,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        if now < self.pin_locked_until {
            return Screen::TechnicianPin {
                digits: String::new(),
                wrong: false,
            };
        }
        if self
            .pin_checking_since
            .is_some_and(|since| now < since.saturating_add(PIN_CHECK_TIMEOUT_MS))
        {
            // The last PIN is still being checked.
            return Screen::TechnicianPin { digits, wrong };
        }
        self.count_pin_failure(now, fx);
        if !self.config.pin_set || digits.is_empty() {
            return Screen::TechnicianPin {
                digits: String::new(),
                wrong: true,
            };
        }
        self.pin_checking_since = Some(now);
        fx.push(Effect::CheckPin(digits));
        Screen::TechnicianPin {
            digits: String::new(),
            wrong: false,
        }
    }

    /// One more failure, the lock it earns, and both kept by the store.
    fn count_pin_failure(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        self.pin_failures = self.pin_failures.saturating_add(1);
        if self.pin_failures >= PIN_FREE_ATTEMPTS {
            let doublings = (self.pin_failures - PIN_FREE_ATTEMPTS).min(10);
            let lock = (PIN_LOCK_BASE_MS << doublings).min(PIN_LOCK_MAX_MS);
            self.pin_locked_until = now.saturating_add(lock);
        }
        fx.push(Effect::SavePinLock(self.pin_lock(now)));
    }

    /// The app's answer to `Effect::CheckPin`. The failure was counted at submit; the right
    /// PIN clears it. Only technician mode's PIN page opens technician mode.
    pub(super) fn pin_checked(&mut self, screen: Screen, ok: bool, fx: &mut Vec<Effect>) -> Screen {
        if self.pin_checking_since.take().is_none() {
            return screen; // nobody asked
        }
        let on_pin_page = matches!(screen, Screen::TechnicianPin { .. });
        if !ok {
            return if on_pin_page {
                Screen::TechnicianPin {
                    digits: String::new(),
                    wrong: true,
                }
            } else {
                screen
            };
        }
        self.pin_failures = 0;
        self.pin_locked_until = 0;
        fx.push(Effect::SavePinLock(PinLock::default()));
        if on_pin_page {
            fx.push(Effect::RunChecks);
            Screen::TechnicianHome
        } else {
            screen
        }
    }

    /// The lock-out the store kept, as the app read it at start; never shortens the one in
    /// memory, never longer than [`PIN_LOCK_MAX_MS`].
    pub(super) fn restore_pin_lock(&mut self, now: Millis, lock: PinLock) {
        self.pin_failures = self.pin_failures.max(lock.failures);
        let until = now.saturating_add(lock.locked_for_ms.min(PIN_LOCK_MAX_MS));
        self.pin_locked_until = self.pin_locked_until.max(until);
    }

    /// The lock-out now, as the store keeps it.
    pub fn pin_lock(&self, now: Millis) -> PinLock {
        PinLock {
            failures: self.pin_failures,
            locked_for_ms: self.pin_locked_until.saturating_sub(now),
        }
    }
}

/// Lower-case hex SHA-256 of `text`, as the configuration holds the badges.
pub(super) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
