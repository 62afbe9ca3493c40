//! Spoken guidance: "listen", quieter/louder, auto-play as a screen opens, silence when the
//! citizen acts, while recording, at "Finish" and at the idle reset.

use super::*;

fn speaking_kiosk() -> Kiosk {
    let mut config = config(Mode::Hospital);
    config.speech_auto_play = true;
    let mut k = Kiosk::new(Mode::Hospital);
    k.flow = Flow::new(config);
    k.flow
        .handle(0, Event::DeviceHealth(Device::Camera, Health::Ok));
    k.flow
        .handle(0, Event::DeviceHealth(Device::Microphone, Health::Ok));
    k
}

fn spoken(effects: &[Effect]) -> Vec<(&'static str, Lang)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Speak(p) => Some((p.screen, p.lang)),
            _ => None,
        })
        .collect()
}

#[test]
fn listen_plays_the_screen_prompt_in_the_current_language() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start).send(Event::SetLanguage(Lang::Ru));
    k.took();
    k.send(Event::Listen);
    assert_eq!(
        k.took(),
        vec![Effect::Speak(Prompt {
            screen: "menu",
            lang: Lang::Ru,
            step: None
        })]
    );
    assert!(k.flow.speaking());
}

#[test]
fn without_auto_play_nothing_speaks_by_itself() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.open_service(0, 0);
    assert!(spoken(&k.took()).is_empty());
}

#[test]
fn any_touch_stops_the_prompt_and_the_next_screen_speaks_with_auto_play() {
    let mut k = speaking_kiosk();
    k.send(Event::Start);
    assert_eq!(spoken(&k.took()), vec![("menu", Lang::Kk)]);
    k.send(Event::Touch);
    assert_eq!(k.took(), vec![Effect::StopSpeaking]);
    k.send(Event::Touch);
    assert!(k.took().is_empty(), "nothing to stop twice");
    k.send(Event::Listen).took();
    k.send(Event::Choose(Journey::Guide));
    let fx = k.took();
    assert_eq!(fx.first(), Some(&Effect::StopSpeaking), "{fx:?}");
    assert_eq!(spoken(&fx), vec![("guide-categories", Lang::Kk)]);
}

#[test]
fn a_guide_step_names_its_service_and_step() {
    let mut k = speaking_kiosk();
    k.open_service(1, 1)
        .send(Event::GuideNext)
        .send(Event::GuideNext);
    let steps: Vec<_> = k
        .took()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Speak(p) if p.screen == "guide-step" => p.step,
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![("birth".into(), 0), ("birth".into(), 1)]);
}

#[test]
fn changing_the_language_speaks_the_screen_again_in_the_new_one() {
    let mut k = speaking_kiosk();
    k.send(Event::Start).took();
    k.send(Event::SetLanguage(Lang::En));
    assert_eq!(spoken(&k.took()), vec![("menu", Lang::En)]);
}

#[test]
fn quieter_and_louder_change_the_volume_within_bounds_and_replay() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start).took();
    k.send(Event::Louder);
    let fx = k.took();
    assert_eq!(fx.first(), Some(&Effect::SetSpeechVolume(80)));
    assert_eq!(spoken(&fx), vec![("menu", Lang::Kk)]);
    k.send(Event::Louder).send(Event::Louder);
    assert_eq!(k.flow.speech_volume(), 100);
    for _ in 0..10 {
        k.send(Event::Quieter);
    }
    assert_eq!(k.flow.speech_volume(), SPEECH_VOLUME_MIN);
    assert!(
        !k.took().contains(&Effect::StopSpeaking),
        "the volume buttons do not silence the prompt they change"
    );
}

#[test]
fn nothing_speaks_while_recording_and_the_prompt_stops_as_recording_starts() {
    let mut k = speaking_kiosk();
    k.scan(VALID_IIN).wait(IDENTIFIED_MS);
    k.send(Event::SelectTopic(Topic::Complaint))
        .send(Event::ConsentAccept);
    assert!(k.flow.speaking(), "the countdown speaks");
    k.took();
    k.wait(3_000);
    assert!(matches!(k.screen(), Screen::AppealRecording { .. }));
    let fx = k.took();
    assert!(fx.contains(&Effect::StopSpeaking), "{fx:?}");
    assert!(spoken(&fx).is_empty());
    k.send(Event::Listen);
    assert!(
        spoken(&k.took()).is_empty(),
        "listen is refused while recording"
    );
}

#[test]
fn finish_and_the_idle_reset_stop_the_prompt_and_restore_the_volume() {
    let mut k = speaking_kiosk();
    k.send(Event::Start).send(Event::Louder);
    k.took();
    k.send(Event::EndSession);
    let fx = k.took();
    assert!(fx.contains(&Effect::StopSpeaking), "{fx:?}");
    assert!(fx.contains(&Effect::SetSpeechVolume(60)), "{fx:?}");
    assert!(
        spoken(&fx).is_empty(),
        "the attract screen waits in silence"
    );

    k.send(Event::Start).took();
    assert!(k.flow.speaking());
    k.wait(60_000 + 20_000);
    assert_eq!(k.screen(), &Screen::Attract);
    let fx = k.took();
    assert!(fx.contains(&Effect::StopSpeaking), "{fx:?}");
    assert!(spoken(&fx).is_empty());
}

#[test]
fn the_app_reports_the_prompt_over() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Start).send(Event::Listen).took();
    k.send(Event::SpeechEnded);
    assert!(!k.flow.speaking());
    k.send(Event::Touch);
    assert!(k.took().is_empty());
}
