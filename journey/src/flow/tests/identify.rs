//! Identification: card reads on the attract, menu and identify screens, refused reads and
//! the IIN typed on the keypad.

use super::*;

#[test]
fn invalid_scan_shows_the_reason_and_stores_nothing() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan("880101300011");
    assert_eq!(
        k.screen(),
        &Screen::Identify {
            manual: None,
            error: Some("check_digit")
        }
    );
    assert!(k.flow.session().is_some_and(|s| s.identity.is_none()));
    assert!(k.took().is_empty());
    // A second chance: the right card goes through.
    k.scan(VALID_IIN);
    assert!(matches!(k.screen(), Screen::Identified { .. }));
}

#[test]
fn manual_entry_refuses_a_wrong_iin() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start)
        .send(Event::Choose(Journey::Appeal))
        .send(Event::ManualOpen);
    for d in "880101300011".chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.send(Event::KeypadDigit('9'));
    k.send(Event::KeypadSubmit);
    assert_eq!(
        k.screen(),
        &Screen::Identify {
            manual: Some("880101300011".into()),
            error: Some("check_digit")
        }
    );
    k.send(Event::KeypadBackspace).send(Event::KeypadDigit('0'));
    k.send(Event::KeypadSubmit);
    assert!(matches!(k.screen(), Screen::Identified { .. }));
}

#[test]
fn scans_during_a_guide_are_ignored() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(0, 0);
    let before = k.screen().clone();
    k.scan(VALID_IIN);
    assert_eq!(k.screen(), &before);
    assert!(k.flow.session().is_some_and(|s| s.identity.is_none()));
}

#[test]
fn front_office_scan_on_attract_leads_to_the_menu() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.scan(VALID_IIN).wait(IDENTIFIED_MS);
    assert_eq!(k.screen(), &Screen::Menu);
    k.send(Event::Choose(Journey::Appeal));
    assert_eq!(
        k.screen(),
        &Screen::AppealTopic,
        "identified once is enough"
    );
}
