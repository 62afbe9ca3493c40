//! Technician mode: the PIN (checked by the app, counted before the check), its growing
//! lock-out kept across restarts, badges, restart.

use super::*;

/// The technician PIN the harness's app accepts.
const PIN: &str = "4321";

impl Kiosk {
    /// Types `pin`, submits it and answers the flow's `CheckPin` as the app does (right for
    /// [`PIN`]); returns the effects of the submit.
    fn try_pin(&mut self, pin: &str) -> Vec<Effect> {
        for d in pin.chars() {
            self.send(Event::KeypadDigit(d));
        }
        self.took();
        self.send(Event::KeypadSubmit);
        let submitted = self.took();
        let asked = submitted.iter().find_map(|e| match e {
            Effect::CheckPin(p) => Some(p.clone()),
            _ => None,
        });
        if let Some(typed) = asked {
            self.send(Event::PinChecked { ok: typed == PIN });
        }
        submitted
    }
}

fn saved_locks(effects: &[Effect]) -> Vec<PinLock> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SavePinLock(lock) => Some(*lock),
            _ => None,
        })
        .collect()
}

#[test]
fn technician_pin_with_growing_lock_out() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::TechnicianGesture);
    assert!(matches!(k.screen(), Screen::TechnicianPin { .. }));
    for _ in 0..PIN_FREE_ATTEMPTS {
        k.try_pin("0000");
    }
    assert_eq!(k.flow.pin_locked_for(k.now), 30);
    // Even the right PIN is refused while locked: not even sent to be checked.
    let fx = k.try_pin(PIN);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::CheckPin(_))),
        "{fx:?}"
    );
    assert!(matches!(k.screen(), Screen::TechnicianPin { .. }));
    k.wait(30_000);
    assert_eq!(k.flow.pin_locked_for(k.now), 0);
    k.try_pin("1111");
    assert_eq!(k.flow.pin_locked_for(k.now), 60, "the delay doubles");
    k.wait(60_000);
    k.try_pin(PIN);
    assert_eq!(k.screen(), &Screen::TechnicianHome);
    assert_eq!(
        k.flow.pin_lock(k.now),
        PinLock::default(),
        "the right PIN clears it"
    );
    k.send(Event::Restart);
    assert_eq!(k.took().last(), Some(&Effect::Restart));
    k.send(Event::TechnicianExit);
    assert_eq!(k.screen(), &Screen::Attract);
}

#[test]
fn a_pin_is_counted_as_a_failure_before_the_app_checks_it_and_cleared_when_right() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::TechnicianGesture);
    for d in PIN.chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.took();
    k.send(Event::KeypadSubmit);
    // The flow does not check the PIN itself: the store keeps the failure first, then the
    // app checks the PIN off the UI thread.
    assert_eq!(
        k.took(),
        [
            Effect::SavePinLock(PinLock {
                failures: 1,
                locked_for_ms: 0
            }),
            Effect::CheckPin(PIN.into()),
        ]
    );
    assert_eq!(
        k.screen(),
        &Screen::TechnicianPin {
            digits: String::new(),
            wrong: false
        },
        "waiting for the answer"
    );
    // A second submit while the check runs is not a second check.
    k.send(Event::KeypadDigit('1')).send(Event::KeypadSubmit);
    assert!(k.took().is_empty());
    k.send(Event::PinChecked { ok: true });
    assert_eq!(
        k.took(),
        [Effect::SavePinLock(PinLock::default()), Effect::RunChecks]
    );
    assert_eq!(k.screen(), &Screen::TechnicianHome);
}

#[test]
fn a_wrong_pin_answer_shows_wrong_and_keeps_the_failure() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::TechnicianGesture);
    let fx = k.try_pin("9999");
    assert_eq!(
        saved_locks(&fx),
        [PinLock {
            failures: 1,
            locked_for_ms: 0
        }]
    );
    assert_eq!(
        k.screen(),
        &Screen::TechnicianPin {
            digits: String::new(),
            wrong: true
        }
    );
    // The third failure is locked at submit, before the answer is back.
    k.try_pin("9999");
    let fx = k.try_pin("9999");
    assert_eq!(
        saved_locks(&fx),
        [PinLock {
            failures: 3,
            locked_for_ms: 30_000
        }]
    );
}

#[test]
fn an_answer_nobody_asked_for_opens_nothing() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::TechnicianGesture);
    k.send(Event::PinChecked { ok: true });
    assert!(matches!(k.screen(), Screen::TechnicianPin { .. }));
    assert!(k.took().is_empty());

    // The right PIN's answer after the technician left the PIN page opens nothing either.
    for d in PIN.chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.send(Event::KeypadSubmit).send(Event::Back);
    assert_eq!(k.screen(), &Screen::Attract);
    k.took();
    k.send(Event::PinChecked { ok: true });
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(!k.took().contains(&Effect::RunChecks));
}

#[test]
fn a_lost_answer_lets_a_new_pin_be_submitted_after_the_timeout() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::TechnicianGesture);
    k.send(Event::KeypadDigit('1')).send(Event::KeypadSubmit);
    k.took();
    k.wait(PIN_CHECK_TIMEOUT_MS);
    k.send(Event::KeypadDigit('2')).send(Event::KeypadSubmit);
    assert!(k.took().contains(&Effect::CheckPin("2".into())));
}

#[test]
fn without_a_configured_pin_every_attempt_is_a_failure_and_nothing_is_checked() {
    let mut config = config(Mode::Hospital);
    config.pin_set = false;
    let mut k = Kiosk::new(Mode::Hospital);
    k.flow = Flow::new(config);
    k.send(Event::TechnicianGesture);
    let fx = k.try_pin(PIN);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::CheckPin(_))),
        "{fx:?}"
    );
    assert_eq!(saved_locks(&fx).len(), 1);
    assert!(matches!(
        k.screen(),
        Screen::TechnicianPin { wrong: true, .. }
    ));
}

#[test]
fn a_lock_read_back_from_the_store_holds_and_keeps_growing() {
    let mut k = Kiosk::new(Mode::Hospital);
    // What the store kept before a restart: three failures, 20 s of the lock left.
    k.send(Event::PinLockRestored(PinLock {
        failures: 3,
        locked_for_ms: 20_000,
    }));
    assert_eq!(k.flow.pin_locked_for(k.now), 20);
    k.send(Event::TechnicianGesture);
    let fx = k.try_pin(PIN);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::CheckPin(_))),
        "locked"
    );
    k.wait(20_000);
    k.try_pin("0000");
    assert_eq!(
        k.flow.pin_locked_for(k.now),
        60,
        "the fourth failure doubles"
    );

    // A lock from a clock set far back is cut to the longest lock; restoring never
    // shortens the lock in memory.
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::PinLockRestored(PinLock {
        failures: 40,
        locked_for_ms: 30 * 24 * 3_600_000,
    }));
    assert_eq!(k.flow.pin_locked_for(k.now), PIN_LOCK_MAX_MS / 1000);
    k.send(Event::PinLockRestored(PinLock::default()));
    assert_eq!(k.flow.pin_locked_for(k.now), PIN_LOCK_MAX_MS / 1000);
}

#[test]
fn the_pin_never_shows_in_debug() {
    let text = format!("{:?}", Effect::CheckPin(PIN.into()));
    assert!(!text.contains(PIN), "{text}");
}

#[test]
fn restart_only_from_technician_mode() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start).send(Event::Restart);
    assert!(!k.took().contains(&Effect::Restart));
}

#[test]
fn a_known_technician_badge_opens_technician_mode_and_others_ask_for_the_pin() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan("SENIM-TECH:tech_01-AB");
    assert_eq!(k.screen(), &Screen::TechnicianHome);
    k.send(Event::TechnicianExit);
    k.scan("SENIM-TECH:tech_99-ZZ");
    assert!(matches!(k.screen(), Screen::TechnicianPin { .. }));
}
