//! Service guides: usage figures of each run, back and forth, search, abandonment, the
//! consultant call, and a new catalogue taken only between citizens.

use super::*;

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
