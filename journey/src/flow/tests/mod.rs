//! Journey tests: happy paths, language switches, idle reset, bad scans, PIN lock-out.

use super::*;
use senim_protocol::Topic;

use super::guide::SEARCH_MAX;
use super::technician::sha256_hex;
use crate::identity::{self, Iin};

const VALID_IIN: &str = "880101300010";

fn config(mode: Mode) -> FlowConfig {
    FlowConfig {
        mode,
        default_language: Lang::Kk,
        idle_warning_ms: 60_000,
        idle_reset_ms: 20_000,
        countdown_ms: 3_000,
        max_recording_ms: 180_000,
        guides: guides(),
        // sha256("4321")
        pin_sha256: "fe2592b42a727e977f055947385b709cc82b16b9a87f88c6abf3900d65d0cdc3".into(),
        // sha256("tech_01-AB")
        badges_sha256: vec![sha256_hex("tech_01-AB")],
    }
}

/// Two categories; "address" (3 steps) in the first, "birth" (5) and "kindergarten" (4) in the
/// second.
fn guides() -> GuideShape {
    let info = |id: &str, category, steps| GuideInfo {
        id: id.into(),
        category,
        steps,
    };
    GuideShape {
        categories: 2,
        services: vec![
            info("address", 0, 3),
            info("birth", 1, 5),
            info("kindergarten", 1, 4),
        ],
    }
}

/// A flow and a clock; each `at` call moves the clock forward.
struct Kiosk {
    flow: Flow,
    now: Millis,
    effects: Vec<Effect>,
}

impl Kiosk {
    fn new(mode: Mode) -> Kiosk {
        let mut flow = Flow::new(config(mode));
        // A kiosk with a working camera and microphone, unless a test says otherwise.
        flow.handle(0, Event::DeviceHealth(Device::Camera, Health::Ok));
        flow.handle(0, Event::DeviceHealth(Device::Microphone, Health::Ok));
        Kiosk {
            flow,
            now: 1_000,
            effects: Vec::new(),
        }
    }

    fn send(&mut self, event: Event) -> &mut Self {
        self.now += 100;
        let fx = self.flow.handle(self.now, event);
        self.effects.extend(fx);
        self
    }

    fn wait(&mut self, ms: Millis) -> &mut Self {
        // Tick as the app does, four times a second.
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + 250).min(end);
            let fx = self.flow.handle(self.now, Event::Tick);
            self.effects.extend(fx);
        }
        self
    }

    fn scan(&mut self, text: &str) -> &mut Self {
        self.send(Event::Scan(identity::classify(text)))
    }

    fn screen(&self) -> &Screen {
        self.flow.screen()
    }

    fn took(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The usage figures among the effects so far, in order (and forgets all effects).
    fn usage(&mut self) -> Vec<GuideUsage> {
        self.took()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Usage(u) => Some(u),
                _ => None,
            })
            .collect()
    }

    /// Start → guides → category → service page.
    fn open_service(&mut self, category: usize, service: usize) -> &mut Self {
        self.send(Event::Start)
            .send(Event::Choose(Journey::Guide))
            .send(Event::SelectCategory(category))
            .send(Event::SelectService(service))
    }
}

#[test]
fn starts_on_attract_in_kazakh() {
    let k = Kiosk::new(Mode::Hospital);
    assert_eq!(k.screen(), &Screen::Attract);
    assert_eq!(k.flow.lang(), Lang::Kk);
    assert!(k.flow.session().is_none());
    assert!(!k.flow.needs_ticks(), "the attract screen needs no clock");
}

#[test]
fn appeal_happy_path_by_scanning_on_attract() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN);
    assert!(matches!(k.screen(), Screen::Identified { .. }));
    assert_eq!(
        k.flow
            .session()
            .and_then(|s| s.identity.as_ref())
            .map(Iin::masked),
        Some("88••••••••10".to_string())
    );
    k.wait(IDENTIFIED_MS);
    assert_eq!(k.screen(), &Screen::AppealTopic);
    assert!(
        k.took().contains(&Effect::Presence { present: true }),
        "red lamp"
    );

    k.send(Event::SelectTopic(Topic::BribeReport));
    assert_eq!(k.screen(), &Screen::AppealConsent);
    k.send(Event::ConsentAccept);
    assert!(matches!(k.screen(), Screen::AppealCountdown { .. }));
    assert_eq!(k.flow.countdown_remaining(k.now), Some(3));
    assert_eq!(k.took(), vec![Effect::StartPreview]);

    k.wait(3_000);
    assert!(matches!(k.screen(), Screen::AppealRecording { .. }));
    assert_eq!(k.took(), vec![Effect::StartRecording]);
    k.wait(42_000);
    assert_eq!(
        k.flow.idle_warning_remaining(k.now),
        None,
        "talking is not idleness"
    );
    k.send(Event::StopRecording);
    assert_eq!(k.screen(), &Screen::AppealReview);
    assert_eq!(k.took(), vec![Effect::StopRecording]);

    k.send(Event::Send);
    for d in "7011234567".chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.send(Event::KeypadSubmit);
    assert_eq!(k.screen(), &Screen::AppealSaving { failed: false });
    let fx = k.took();
    let Some(Effect::SaveAppeal(draft)) = fx.first() else {
        panic!("expected a save, got {fx:?}");
    };
    assert_eq!(draft.topic, Topic::BribeReport);
    assert_eq!(draft.phone.as_deref(), Some("+77011234567"));
    assert_eq!(draft.iin.as_ref().map(Iin::as_str), Some(VALID_IIN));
    assert!((42_000..43_000).contains(&draft.recorded_ms));

    k.send(Event::AppealSaved {
        number: "K7-4F9Q".into(),
    });
    let Screen::AppealReceipt { receipt } = k.screen().clone() else {
        panic!("expected the receipt, got {:?}", k.screen());
    };
    assert_eq!(receipt.number, "K7-4F9Q");
    assert_eq!(receipt.seen_at, None, "open now: an operator has it");
    k.send(Event::Continue);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(k.flow.session().is_none());
    let fx = k.took();
    assert!(
        fx.contains(&Effect::Presence { present: false }),
        "lamp off: {fx:?}"
    );
    assert!(fx.contains(&Effect::ClearSession));
}

#[test]
fn appeal_out_of_hours_sends_no_presence_and_says_when() {
    let mut k = Kiosk::new(Mode::Hospital);
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap();
    k.send(Event::CallCentre(CallCentreStatus::Closed {
        next_open: monday,
    }));
    k.send(Event::Start)
        .send(Event::Choose(Journey::Appeal))
        .send(Event::ManualOpen);
    for d in VALID_IIN.chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.send(Event::KeypadSubmit).send(Event::Continue);
    assert_eq!(k.screen(), &Screen::AppealTopic);
    k.send(Event::SelectTopic(Topic::Gratitude))
        .send(Event::ConsentAccept)
        .wait(3_000)
        .wait(5_000)
        .send(Event::StopRecording)
        .send(Event::Send)
        .send(Event::SkipPhone)
        .send(Event::AppealSaved {
            number: "A1".into(),
        });
    let fx = k.took();
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Presence { .. })),
        "{fx:?}"
    );
    let Screen::AppealReceipt { receipt } = k.screen() else {
        panic!("{:?}", k.screen());
    };
    assert_eq!(receipt.seen_at, Some(monday));
    assert!(
        receipt.offline,
        "no sync news yet means offline, said honestly"
    );
}

#[test]
fn recording_stops_by_itself_at_the_maximum_length() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Complaint))
        .send(Event::ConsentAccept)
        .wait(3_000);
    k.took();
    k.wait(180_000);
    assert_eq!(k.screen(), &Screen::AppealReview);
    assert_eq!(k.took(), vec![Effect::StopRecording]);
}

#[test]
fn re_record_discards_the_take() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Request))
        .send(Event::ConsentAccept)
        .wait(3_000)
        .send(Event::StopRecording);
    k.took();
    k.send(Event::ReRecord);
    assert!(matches!(k.screen(), Screen::AppealCountdown { .. }));
    assert_eq!(
        k.took(),
        vec![Effect::DiscardRecording, Effect::StartPreview]
    );
    assert_eq!(k.flow.session().and_then(|s| s.recorded_ms), None);
}

#[test]
fn wrong_phone_number_is_refused_and_kept_for_correction() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Request))
        .send(Event::ConsentAccept)
        .wait(3_000)
        .send(Event::StopRecording)
        .send(Event::Send);
    for d in "6011234567".chars() {
        k.send(Event::KeypadDigit(d));
    }
    k.took();
    k.send(Event::KeypadSubmit);
    assert_eq!(
        k.screen(),
        &Screen::AppealPhone {
            digits: "6011234567".into(),
            invalid: true
        }
    );
    assert!(k.took().is_empty(), "nothing saved");
    assert!(!is_kazakh_mobile("701123456"), "nine digits");
    assert!(is_kazakh_mobile("7771234567"));
}

#[test]
fn failed_save_offers_a_retry() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Other))
        .send(Event::ConsentAccept)
        .wait(3_000)
        .send(Event::StopRecording)
        .send(Event::Send)
        .send(Event::SkipPhone)
        .send(Event::AppealSaveFailed);
    assert_eq!(k.screen(), &Screen::AppealSaving { failed: true });
    k.took();
    k.send(Event::Send);
    assert!(matches!(k.took().as_slice(), [Effect::SaveAppeal(_)]));
}

#[test]
fn whole_guide_records_usage_in_order() {
    use GuideUsage::*;
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::Start).send(Event::Choose(Journey::Guide));
    assert_eq!(k.screen(), &Screen::GuideCategories);
    k.send(Event::SelectCategory(1));
    assert_eq!(k.screen(), &Screen::GuideCatalog { category: 1 });
    k.send(Event::SelectService(1));
    assert_eq!(k.screen(), &Screen::GuideService { service: 1 });
    assert!(
        k.usage().is_empty(),
        "reading a service's page is not a start"
    );
    k.send(Event::GuideNext);
    assert_eq!(
        k.screen(),
        &Screen::GuideStep {
            service: 1,
            step: 0,
            consultant_called: false
        }
    );
    for _ in 0..5 {
        k.send(Event::GuideNext);
    }
    assert_eq!(k.screen(), &Screen::GuideRating { service: 1 });
    k.send(Event::Rate(Rating::Good));
    assert_eq!(k.screen(), &Screen::Attract);
    let s = 1;
    assert_eq!(
        k.usage(),
        vec![
            Started { service: s },
            StepReached {
                service: s,
                step: 0
            },
            StepReached {
                service: s,
                step: 1
            },
            StepReached {
                service: s,
                step: 2
            },
            StepReached {
                service: s,
                step: 3
            },
            StepReached {
                service: s,
                step: 4
            },
            Completed { service: s },
            Rated {
                service: s,
                rating: Rating::Good
            },
        ]
    );
}

#[test]
fn going_back_counts_each_step_once_and_returns_to_the_category() {
    use GuideUsage::*;
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(1, 2).send(Event::GuideNext);
    k.send(Event::GuideNext).send(Event::GuideNext);
    assert!(matches!(k.screen(), Screen::GuideStep { step: 2, .. }));
    k.send(Event::Back);
    assert!(matches!(k.screen(), Screen::GuideStep { step: 1, .. }));
    k.send(Event::Back);
    assert!(matches!(k.screen(), Screen::GuideStep { step: 0, .. }));
    k.send(Event::Back);
    assert_eq!(k.screen(), &Screen::GuideService { service: 2 });
    k.send(Event::Back);
    assert_eq!(k.screen(), &Screen::GuideCatalog { category: 1 });
    // The same guide again: the run goes on, only a new furthest step counts.
    k.send(Event::SelectService(2)).send(Event::GuideNext);
    for _ in 0..3 {
        k.send(Event::GuideNext);
    }
    assert_eq!(
        k.usage(),
        vec![
            Started { service: 2 },
            StepReached {
                service: 2,
                step: 0
            },
            StepReached {
                service: 2,
                step: 1
            },
            StepReached {
                service: 2,
                step: 2
            },
            StepReached {
                service: 2,
                step: 3
            },
        ]
    );
    k.send(Event::Back).send(Event::Back);
    assert!(k.usage().is_empty(), "going back is not progress");
}

#[test]
fn back_from_a_service_found_by_search_returns_to_the_results() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::Start)
        .send(Event::Choose(Journey::Guide))
        .send(Event::SearchOpen);
    assert_eq!(
        k.screen(),
        &Screen::GuideSearch {
            query: String::new(),
            keyboard: true
        }
    );
    k.send(Event::SearchText("бала".into())).send(Event::Back);
    assert_eq!(
        k.screen(),
        &Screen::GuideSearch {
            query: "бала".into(),
            keyboard: false
        },
        "the keyboard closes, the results stay"
    );
    k.send(Event::SelectService(2));
    assert_eq!(k.screen(), &Screen::GuideService { service: 2 });
    k.send(Event::Back);
    assert_eq!(
        k.screen(),
        &Screen::GuideSearch {
            query: "бала".into(),
            keyboard: false
        }
    );
    k.send(Event::Back);
    assert_eq!(k.screen(), &Screen::GuideCategories);
    // A service chosen from a category afterwards goes back to the category, not the search.
    k.send(Event::SelectCategory(0))
        .send(Event::SelectService(0))
        .send(Event::Back);
    assert_eq!(k.screen(), &Screen::GuideCatalog { category: 0 });
    k.send(Event::Back).send(Event::Back);
    assert_eq!(k.screen(), &Screen::Menu);
}

#[test]
fn search_text_is_limited_and_kept_while_typing() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::Start)
        .send(Event::Choose(Journey::Guide))
        .send(Event::SearchOpen)
        .send(Event::SearchText("ә".repeat(100)));
    let Screen::GuideSearch { query, keyboard } = k.screen() else {
        panic!("{:?}", k.screen());
    };
    assert_eq!(query.chars().count(), SEARCH_MAX);
    assert!(*keyboard);
}

#[test]
fn idle_timeout_abandons_at_the_step_on_screen() {
    use GuideUsage::*;
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::SetLanguage(Lang::Ru));
    k.open_service(1, 1).send(Event::GuideNext);
    k.send(Event::GuideNext)
        .send(Event::GuideNext)
        .send(Event::Back);
    assert!(matches!(k.screen(), Screen::GuideStep { step: 1, .. }));
    k.took();
    k.wait(60_000);
    assert_eq!(k.flow.idle_warning_remaining(k.now), Some(20));
    k.wait(20_000);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(k.flow.session().is_none());
    let fx = k.took();
    assert_eq!(
        fx.first(),
        Some(&Effect::Usage(Abandoned {
            service: 1,
            step: 1
        })),
        "abandoned at the step on screen, not the furthest: {fx:?}"
    );
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::Usage(Completed { .. }))));
    assert_eq!(fx.last(), Some(&Effect::ClearSession));
}

#[test]
fn finish_mid_guide_is_abandoned_once() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(0, 0)
        .send(Event::GuideNext)
        .send(Event::GuideNext);
    k.took();
    k.send(Event::EndSession);
    assert_eq!(
        k.usage(),
        vec![GuideUsage::Abandoned {
            service: 0,
            step: 1
        }]
    );
    k.wait(200_000);
    assert!(k.usage().is_empty(), "nothing more after the session ended");
}

#[test]
fn starting_another_guide_abandons_the_first() {
    use GuideUsage::*;
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(1, 1)
        .send(Event::GuideNext)
        .send(Event::GuideNext)
        .send(Event::GuideNext);
    k.took();
    // Back to the service page (through steps 1 and 0), to the category, another service.
    for _ in 0..4 {
        k.send(Event::Back);
    }
    assert_eq!(k.screen(), &Screen::GuideCatalog { category: 1 });
    k.send(Event::SelectService(2)).send(Event::GuideNext);
    assert_eq!(
        k.usage(),
        vec![
            Abandoned {
                service: 1,
                step: 0
            },
            Started { service: 2 },
            StepReached {
                service: 2,
                step: 0
            },
        ]
    );
}

#[test]
fn completed_guide_left_without_a_rating_is_not_abandoned() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(0, 0);
    for _ in 0..4 {
        k.send(Event::GuideNext);
    }
    assert_eq!(k.screen(), &Screen::GuideRating { service: 0 });
    k.wait(90_000);
    assert_eq!(k.screen(), &Screen::Attract);
    let usage = k.usage();
    assert_eq!(usage.last(), Some(&GuideUsage::Completed { service: 0 }));
    assert!(!usage
        .iter()
        .any(|u| matches!(u, GuideUsage::Abandoned { .. })));
}

#[test]
fn consultant_call_is_sent_once_with_the_service_id_and_the_step_as_shown() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(1, 1)
        .send(Event::GuideNext)
        .send(Event::GuideNext)
        .send(Event::GuideNext);
    k.took();
    k.send(Event::CallConsultant);
    assert_eq!(
        k.took(),
        vec![
            Effect::Usage(GuideUsage::ConsultantCalled {
                service: 1,
                step: 2
            }),
            Effect::CallConsultant {
                service_id: "birth".into(),
                step: 3
            },
        ]
    );
    assert_eq!(
        k.screen(),
        &Screen::GuideStep {
            service: 1,
            step: 2,
            consultant_called: true
        }
    );
    k.send(Event::CallConsultant);
    assert!(k.took().is_empty(), "a second press calls nobody twice");
    k.send(Event::GuideNext);
    assert!(matches!(
        k.screen(),
        Screen::GuideStep {
            step: 3,
            consultant_called: true,
            ..
        }
    ));
}

#[test]
fn unknown_category_or_service_changes_nothing() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.send(Event::Start).send(Event::Choose(Journey::Guide));
    k.send(Event::SelectCategory(2));
    assert_eq!(k.screen(), &Screen::GuideCategories);
    k.send(Event::SelectCategory(0))
        .send(Event::SelectService(99));
    assert_eq!(k.screen(), &Screen::GuideCatalog { category: 0 });
    assert!(k.usage().is_empty());
}

#[test]
fn a_new_catalogue_is_taken_only_between_citizens() {
    let mut k = Kiosk::new(Mode::FrontOffice);
    k.open_service(1, 1).send(Event::GuideNext);
    k.took();
    let mut newer = guides();
    newer.services.truncate(1);
    // The update arrives mid-guide: nothing changes for this citizen.
    k.send(Event::CatalogReady(newer.clone()));
    assert!(
        !k.took().contains(&Effect::SwitchCatalog),
        "not in the middle of a guide"
    );
    k.send(Event::GuideNext);
    assert!(matches!(k.screen(), Screen::GuideStep { step: 1, .. }));
    assert_eq!(k.flow.config().guides, guides());
    // The session ends: the kiosk switches at once, and the old service is gone.
    k.send(Event::EndSession);
    assert!(k.took().contains(&Effect::SwitchCatalog));
    assert_eq!(k.flow.config().guides, newer);
    k.send(Event::Start)
        .send(Event::Choose(Journey::Guide))
        .send(Event::SelectCategory(1))
        .send(Event::SelectService(1));
    assert_eq!(k.screen(), &Screen::GuideCatalog { category: 1 }, "gone");
    // At rest, an update switches at once.
    k.send(Event::EndSession);
    k.took();
    k.send(Event::CatalogReady(guides()));
    assert_eq!(k.took(), [Effect::SwitchCatalog]);
}

#[test]
fn guide_shape_follows_the_catalogue() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services");
    let catalog = senim_protocol::catalog::Catalog::load_dir(&dir).expect("shipped catalogue");
    let shape = GuideShape::of(&catalog);
    assert_eq!(shape.categories, catalog.categories.len());
    for (info, service) in shape.services.iter().zip(&catalog.services) {
        assert_eq!(info.id, service.id);
        assert_eq!(info.steps, service.steps.len());
        assert_eq!(
            catalog.categories[info.category].id, service.category,
            "{}",
            service.id
        );
    }
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
fn a_full_disk_refuses_the_recording_before_anything_is_recorded() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::DeviceHealth(Device::Storage, Health::Faulty));
    k.scan(VALID_IIN).wait(IDENTIFIED_MS);
    k.send(Event::SelectTopic(Topic::Complaint));
    k.took();
    k.send(Event::ConsentAccept);
    assert_eq!(k.screen(), &Screen::AppealNoRoom);
    assert!(
        !k.took()
            .iter()
            .any(|e| matches!(e, Effect::StartPreview | Effect::StartRecording)),
        "the camera is not even started"
    );
    // Room again (a technician freed space): the same citizen can go on.
    k.send(Event::DeviceHealth(Device::Storage, Health::Ok));
    k.send(Event::Back).send(Event::ConsentAccept);
    assert!(matches!(k.screen(), Screen::AppealCountdown { .. }));
}

#[test]
fn a_kiosk_without_a_token_rests_on_the_enrolment_screen_and_enrols_by_scanning() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::Enrolled(None));
    assert_eq!(
        k.screen(),
        &Screen::Enrol {
            busy: false,
            error: None
        }
    );
    // A citizen's card is not an enrolment code: said so, and no session starts.
    k.scan(VALID_IIN);
    assert_eq!(
        k.screen(),
        &Screen::Enrol {
            busy: false,
            error: Some("not_enrolment_code")
        }
    );
    assert!(k.flow.session().is_none());
    k.took();
    k.scan("SENIM-ENROL:AB12-CD34-EF56-GH78");
    assert_eq!(
        k.screen(),
        &Screen::Enrol {
            busy: true,
            error: None
        }
    );
    assert_eq!(k.took(), [Effect::Enrol("AB12-CD34-EF56-GH78".into())]);
    // A second scan while the first is on its way changes nothing.
    k.scan("SENIM-ENROL:ZZ12-CD34-EF56-GH78");
    assert!(k.took().is_empty());
    k.send(Event::EnrolResult(Err("code_used")));
    assert_eq!(
        k.screen(),
        &Screen::Enrol {
            busy: false,
            error: Some("code_used")
        }
    );
    k.scan("SENIM-ENROL:AB12-CD34-EF56-GH79");
    k.send(Event::EnrolResult(Ok(Mode::FrontOffice)));
    assert_eq!(k.screen(), &Screen::Attract);
    assert_eq!(
        k.flow.mode(),
        Mode::FrontOffice,
        "the site's mode from the call-centre"
    );
}

#[test]
fn a_revoked_kiosk_finishes_the_citizen_then_asks_for_enrolment() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN).wait(IDENTIFIED_MS);
    assert_eq!(k.screen(), &Screen::AppealTopic);
    k.send(Event::Enrolled(None));
    assert_eq!(
        k.screen(),
        &Screen::AppealTopic,
        "never in the middle of someone's journey"
    );
    k.send(Event::EndSession);
    assert_eq!(
        k.screen(),
        &Screen::Enrol {
            busy: false,
            error: None
        }
    );
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

#[test]
fn without_a_camera_the_voice_alone_is_recorded() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::DeviceHealth(Device::Camera, Health::Faulty));
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Request))
        .send(Event::ConsentAccept)
        .wait(3_000);
    assert!(matches!(k.screen(), Screen::AppealRecording { .. }));
    k.wait(10_000)
        .send(Event::StopRecording)
        .send(Event::Send)
        .send(Event::SkipPhone);
    let saved = k.took().into_iter().find_map(|e| match e {
        Effect::SaveAppeal(d) => Some(d),
        _ => None,
    });
    let draft = saved.expect("saved");
    assert_eq!(draft.kind, AppealKind::Audio);
    assert!(draft.recorded_ms >= 10_000 && draft.text.is_none());
}

#[test]
fn without_camera_and_microphone_the_appeal_is_typed() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.send(Event::DeviceHealth(Device::Camera, Health::Absent))
        .send(Event::DeviceHealth(Device::Microphone, Health::Faulty));
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Complaint))
        .send(Event::ConsentAccept);
    assert_eq!(
        k.screen(),
        &Screen::AppealText {
            text: String::new()
        }
    );
    assert!(
        !k.took()
            .iter()
            .any(|e| matches!(e, Effect::StartPreview | Effect::StartRecording)),
        "no recorder for a typed appeal"
    );
    // Nothing typed: "send" does nothing.
    k.send(Event::Send);
    assert!(matches!(k.screen(), Screen::AppealText { .. }));
    let long = "ә".repeat(APPEAL_TEXT_MAX + 50);
    k.send(Event::AppealText(long));
    let Screen::AppealText { text } = k.screen() else {
        panic!("{:?}", k.screen())
    };
    assert_eq!(text.chars().count(), APPEAL_TEXT_MAX, "bounded");
    k.send(Event::AppealText("Дәрігер ақша сұрады".into()))
        .send(Event::Send);
    assert!(matches!(k.screen(), Screen::AppealPhone { .. }));
    // Back keeps the text for correction.
    k.send(Event::Back);
    assert_eq!(
        k.screen(),
        &Screen::AppealText {
            text: "Дәрігер ақша сұрады".into()
        }
    );
    k.send(Event::Send).send(Event::SkipPhone);
    let draft = k
        .took()
        .into_iter()
        .find_map(|e| match e {
            Effect::SaveAppeal(d) => Some(d),
            _ => None,
        })
        .expect("saved");
    assert_eq!(draft.kind, AppealKind::Typed);
    assert_eq!(draft.text.as_deref(), Some("Дәрігер ақша сұрады"));
    assert!(!format!("{draft:?}").contains("ақша"), "no text in Debug");
}

#[test]
fn a_failed_recording_returns_to_consent_and_can_be_tried_again() {
    let mut k = Kiosk::new(Mode::Hospital);
    k.scan(VALID_IIN)
        .wait(IDENTIFIED_MS)
        .send(Event::SelectTopic(Topic::Other))
        .send(Event::ConsentAccept)
        .wait(4_000);
    k.took();
    k.send(Event::RecordingFailed);
    assert_eq!(k.screen(), &Screen::AppealConsent);
    assert!(k.flow.session().is_some_and(|s| s.recording_failed));
    assert_eq!(k.took(), [Effect::DiscardRecording]);
    k.send(Event::ConsentAccept);
    assert!(matches!(k.screen(), Screen::AppealCountdown { .. }));
    assert!(!k.flow.session().is_some_and(|s| s.recording_failed));
}
