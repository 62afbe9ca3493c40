//! Technician mode: the PIN with its growing lock-out, badges, restart.

use super::*;

#[test]
fn technician_pin_with_growing_lock_out() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::TechnicianGesture);
    assert!(matches!(k.screen(), Screen::TechnicianPin { .. }));
    let try_pin = |k: &mut Kiosk, pin: &str| {
        for d in pin.chars() {
            k.send(Event::KeypadDigit(d));
        }
        k.send(Event::KeypadSubmit);
    };
    for _ in 0..PIN_FREE_ATTEMPTS {
        try_pin(&mut k, "0000");
    }
    assert_eq!(k.flow.pin_locked_for(k.now), 30);
    // Even the right PIN is refused while locked.
    try_pin(&mut k, "4321");
    assert!(matches!(k.screen(), Screen::TechnicianPin { .. }));
    k.wait(30_000);
    assert_eq!(k.flow.pin_locked_for(k.now), 0);
    try_pin(&mut k, "1111");
    assert_eq!(k.flow.pin_locked_for(k.now), 60, "the delay doubles");
    k.wait(60_000);
    try_pin(&mut k, "4321");
    assert_eq!(k.screen(), &Screen::TechnicianHome);
    k.send(Event::Restart);
    assert_eq!(k.took().last(), Some(&Effect::Restart));
    k.send(Event::TechnicianExit);
    assert_eq!(k.screen(), &Screen::Attract);
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
