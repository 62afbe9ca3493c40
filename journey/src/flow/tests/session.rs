//! Session-wide behaviour: the attract screen, language switches, idle warning and reset,
//! "Finish", and `Debug` output that never shows personal data.

use super::*;

#[test]
fn starts_on_attract_in_kazakh() {
    let k = Kiosk::new(Mode::Hospital);
    assert_eq!(k.screen(), &Screen::Attract);
    assert_eq!(k.flow.lang(), Lang::Kk);
    assert!(k.flow.session().is_none());
    assert!(!k.flow.needs_ticks(), "the attract screen needs no clock");
}

#[test]
fn language_switch_mid_journey_keeps_the_place() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(0, 0)
        .send(Event::GuideNext)
        .send(Event::GuideNext);
    let before = k.screen().clone();
    k.took();
    k.send(Event::SetLanguage(Lang::Ru));
    assert_eq!(k.flow.lang(), Lang::Ru);
    assert_eq!(k.screen(), &before);
    assert_eq!(k.took(), vec![Effect::SetLanguage(Lang::Ru)]);
    k.send(Event::SetLanguage(Lang::Ru));
    assert!(k.took().is_empty(), "no switch to the same language");
}

#[test]
fn idle_warning_then_reset_drops_everything() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::SetLanguage(Lang::En));
    k.scan(VALID_IIN).wait(IDENTIFIED_MS);
    k.send(Event::Choose(Journey::Guide))
        .send(Event::SearchOpen)
        .send(Event::SearchText("address".into()))
        .send(Event::Back)
        .send(Event::SelectService(0))
        .send(Event::GuideNext)
        .send(Event::GuideNext);
    k.took();
    k.wait(59_000);
    assert_eq!(k.flow.idle_warning_remaining(k.now), None);
    k.wait(1_000);
    assert_eq!(k.flow.idle_warning_remaining(k.now), Some(20));
    k.wait(19_000);
    assert_eq!(k.flow.idle_warning_remaining(k.now), Some(1));
    k.wait(1_000);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(k.flow.session().is_none());
    assert_eq!(k.flow.lang(), Lang::Kk, "the next citizen starts in Kazakh");
    assert_eq!(k.flow.idle_warning_remaining(k.now), None);
    let fx = k.took();
    assert!(fx.contains(&Effect::Usage(GuideUsage::Abandoned {
        service: 0,
        step: 1
    })));
    assert!(fx.contains(&Effect::SetLanguage(Lang::Kk)));
    assert_eq!(fx.last(), Some(&Effect::ClearSession));
    // The flow after the reset is indistinguishable from a fresh one on screen.
    let fresh = Flow::new(config(Mode::FrontOffice));
    assert_eq!(k.flow.screen(), fresh.screen());
    assert_eq!(
        format!("{:?}", k.flow.session()),
        format!("{:?}", fresh.session())
    );
}

#[test]
fn still_here_dismisses_the_warning_and_keeps_the_session() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start).send(Event::Choose(Journey::Appeal));
    k.wait(61_000);
    assert!(k.flow.idle_warning_remaining(k.now).is_some());
    k.send(Event::StillHere);
    assert_eq!(k.flow.idle_warning_remaining(k.now), None);
    assert!(matches!(k.screen(), Screen::Identify { .. }));
    k.wait(59_000);
    assert!(
        matches!(k.screen(), Screen::Identify { .. }),
        "the quiet time starts again"
    );
}

#[test]
fn idle_during_recording_discards_nothing_until_review() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Complaint))
        .send(Event::ConsentAccept)
        .wait(3_000)
        .send(Event::StopRecording);
    k.took();
    k.wait(80_000);
    assert_eq!(k.screen(), &Screen::Attract);
    let fx = k.took();
    assert!(fx.contains(&Effect::DiscardRecording), "{fx:?}");
    assert!(fx.contains(&Effect::Presence { present: false }));
}

#[test]
fn finish_ends_the_session_from_anywhere() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN).wait(IDENTIFIED_MS);
    k.send(Event::EndSession);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(k.flow.session().is_none());
    k.took();
    k.send(Event::EndSession);
    assert!(k.took().is_empty(), "nothing to end on the attract screen");
}

#[test]
fn debug_output_never_shows_personal_data() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Complaint))
        .send(Event::ConsentAccept)
        .wait(3_000)
        .send(Event::StopRecording)
        .send(Event::Send);
    for d in "7011234567".chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.send(Event::KeypadSubmit);
    let effects = k.took();
    let text = format!("{:?} {:?}", k.flow, effects);
    assert!(!text.contains("300010"), "{text}");
    assert!(!text.contains("1234567"), "{text}");

    // What a citizen searched for is theirs too.
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::Start)
        .send(Event::Choose(Journey::Guide))
        .send(Event::SearchOpen)
        .send(Event::SearchText("алимент".into()))
        .send(Event::SelectService(1));
    let text = format!("{:?}", k.flow);
    assert!(!text.contains("алимент"), "{text}");
}

#[test]
fn an_installed_update_restarts_the_kiosk_only_at_rest_after_two_quiet_minutes() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start);
    k.took();
    // Due while a citizen is here (reading, touching now and then): nothing happens.
    k.send(Event::UpdateDue(true));
    for _ in 0..6 {
        k.wait(50_000).send(Event::Touch);
    }
    assert!(matches!(k.screen(), Screen::Menu), "still with the citizen");
    assert!(!k.took().contains(&Effect::SwitchUpdate), "not mid-session");
    k.send(Event::EndSession);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(
        k.flow.needs_ticks(),
        "the quiet minutes are counted on the attract screen"
    );
    k.wait(UPDATE_QUIET_MS / 2);
    // Someone touches the screen and leaves: the quiet minutes start again.
    k.send(Event::Touch);
    k.wait(UPDATE_QUIET_MS - 1_000);
    assert!(
        !k.took().contains(&Effect::SwitchUpdate),
        "touched 2 minutes ago at most"
    );
    k.wait(2_000);
    assert_eq!(
        k.took()
            .iter()
            .filter(|e| **e == Effect::SwitchUpdate)
            .count(),
        1,
        "asked once"
    );
    k.wait(UPDATE_QUIET_MS);
    assert!(!k.took().contains(&Effect::SwitchUpdate));
    // Not due (outside the quiet hours): never.
    k.send(Event::UpdateDue(false));
    k.wait(UPDATE_QUIET_MS * 2);
    assert!(!k.took().contains(&Effect::SwitchUpdate));
}
