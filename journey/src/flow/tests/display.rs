//! Large text and high contrast: one touch on any screen switches it, the place in the journey
//! stays, and the idle reset, "Finish" and the journey's own end switch it off for the next
//! citizen (also when it was switched on at the attract screen and left there).

use super::*;

#[test]
fn one_touch_switches_it_on_and_off_and_keeps_the_place() {
    let mut k = Kiosk::new(Mode::Hospital);
    assert!(!k.flow.large_text(), "off by default");
    k.open_service(1, 0).send(Event::GuideNext);
    let step = k.screen().clone();
    k.send(Event::ToggleLargeText);
    assert!(k.flow.large_text());
    assert_eq!(k.screen(), &step, "the citizen stays where they were");
    assert!(k.took().iter().all(|e| !matches!(e, Effect::ClearSession)));
    k.send(Event::ToggleLargeText);
    assert!(!k.flow.large_text());
}

#[test]
fn the_idle_reset_switches_it_off() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start).send(Event::ToggleLargeText);
    assert!(k.flow.large_text());
    k.wait(60_000 + 19_000);
    assert!(k.flow.large_text(), "still on during the warning");
    k.wait(2_000);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(
        !k.flow.large_text(),
        "the next citizen starts with the normal look"
    );
}

#[test]
fn finish_and_the_journeys_end_switch_it_off() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.open_service(0, 0).send(Event::ToggleLargeText);
    k.send(Event::EndSession);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(!k.flow.large_text());

    k.send(Event::Start).send(Event::ToggleLargeText);
    k.send(Event::Back);
    assert_eq!(
        k.screen(),
        &Screen::Attract,
        "the menu's Back ends the session"
    );
    assert!(!k.flow.large_text());
}

#[test]
fn switched_on_at_the_attract_screen_it_lasts_into_the_session() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::ToggleLargeText);
    assert_eq!(k.screen(), &Screen::Attract);
    k.wait(5_000).send(Event::Start);
    assert_eq!(k.screen(), &Screen::Menu);
    assert!(
        k.flow.large_text(),
        "the citizen who switched it on keeps it"
    );
}

#[test]
fn switched_on_at_the_attract_screen_and_left_it_goes_off() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::ToggleLargeText);
    k.wait(60_000 + 20_000 - 1_000);
    assert!(k.flow.large_text(), "not before the idle times have passed");
    k.wait(2_000);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(!k.flow.large_text());
}
