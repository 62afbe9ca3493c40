//! Live calls: when the consent page offers one and why not, ringing, cancel, the ring timeout,
//! the call and its volume, every way it ends, the appeal it leaves, and that neither the idle
//! reset nor "Finish" drops a live call silently.

use super::*;

const CALL_ID: &str = "c-7f3a";
const OPERATOR: &str = "Aigerim S.";

impl Kiosk {
    /// An online kiosk with an operator available, identified, topic chosen: the consent page.
    fn at_consent() -> Kiosk {
        let mut k = Kiosk::new(Mode::Hospital);
        k.send(Event::Sync {
            online: true,
            pending: 0,
        })
        .send(Event::OperatorsAvailable(true))
        .send(Event::DeviceHealth(Device::Printer, Health::Ok));
        k.scan(VALID_IIN).wait(IDENTIFIED_MS);
        k.send(Event::SelectTopic(Topic::Complaint));
        assert_eq!(k.screen(), &Screen::AppealConsent);
        k.took();
        k
    }

    /// … then "Talk to a specialist now", the app's ringing and an operator's answer.
    fn in_call() -> Kiosk {
        let mut k = Kiosk::at_consent();
        k.send(Event::CallNow)
            .send(Event::CallRinging {
                call_id: CALL_ID.into(),
            })
            .wait(7_000)
            .send(Event::CallAnswered {
                operator: OPERATOR.into(),
            });
        assert!(
            matches!(k.screen(), Screen::InCall { .. }),
            "{:?}",
            k.screen()
        );
        k.took();
        k
    }

    fn saved_draft(&mut self) -> AppealDraft {
        let fx = self.took();
        let drafts: Vec<_> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::SaveAppeal(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(drafts.len(), 1, "one save expected: {fx:?}");
        drafts[0].clone()
    }
}

#[test]
fn offered_only_when_open_online_available_and_camera_works() {
    let mut k = Kiosk::at_consent();
    assert_eq!(k.flow.call_offer(), CallOffer::Offered);
    assert!(k.flow.operators_available());

    k.send(Event::OperatorsAvailable(false));
    assert_eq!(k.flow.call_offer(), CallOffer::NobodyAvailable);
    k.send(Event::OperatorsAvailable(true));

    k.send(Event::Sync {
        online: false,
        pending: 0,
    });
    assert_eq!(k.flow.call_offer(), CallOffer::Offline);
    k.send(Event::Sync {
        online: true,
        pending: 0,
    });

    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap();
    k.send(Event::CallCentre(CallCentreStatus::Closed {
        next_open: monday,
    }));
    assert_eq!(k.flow.call_offer(), CallOffer::Closed);
    k.send(Event::CallCentre(CallCentreStatus::Open));

    k.send(Event::DeviceHealth(Device::Camera, Health::Faulty));
    assert_eq!(k.flow.call_offer(), CallOffer::NoCamera);
    k.send(Event::DeviceHealth(Device::Camera, Health::Ok));
    k.send(Event::DeviceHealth(Device::Microphone, Health::Absent));
    assert_eq!(k.flow.call_offer(), CallOffer::NoCamera);
    k.send(Event::DeviceHealth(Device::Microphone, Health::Ok));

    k.send(Event::DeviceHealth(Device::Storage, Health::Faulty));
    assert_eq!(k.flow.call_offer(), CallOffer::NoRoom);
    k.send(Event::DeviceHealth(Device::Storage, Health::Ok));
    assert_eq!(k.flow.call_offer(), CallOffer::Offered);
}

#[test]
fn call_now_when_not_offered_changes_nothing() {
    let mut k = Kiosk::at_consent();
    k.send(Event::OperatorsAvailable(false));
    k.took();
    k.send(Event::CallNow);
    assert_eq!(k.screen(), &Screen::AppealConsent);
    assert!(k.took().is_empty());
}

#[test]
fn call_answered_then_hung_up_is_an_appeal_with_a_receipt() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow);
    let Screen::CallRinging { since } = *k.screen() else {
        panic!("expected ringing, got {:?}", k.screen());
    };
    assert_eq!(
        k.took(),
        vec![
            Effect::PlaceCall {
                topic: Topic::Complaint,
                iin: Some(Iin::parse(VALID_IIN).unwrap()),
            },
            Effect::StartPreview,
        ]
    );
    k.send(Event::CallRinging {
        call_id: CALL_ID.into(),
    });
    assert_eq!(
        k.flow.session().and_then(|s| s.call_id.as_deref()),
        Some(CALL_ID)
    );
    k.wait(12_000);
    assert_eq!(k.flow.call_elapsed(k.now), Some(k.now - since));
    k.send(Event::CallAnswered {
        operator: OPERATOR.into(),
    });
    let answered = k.now;
    assert_eq!(
        k.screen(),
        &Screen::InCall {
            since: answered,
            operator: OPERATOR.into()
        }
    );

    // A long conversation with nobody touching the screen: no warning, no reset.
    k.wait(10 * 60_000);
    assert!(matches!(k.screen(), Screen::InCall { .. }));
    assert_eq!(k.flow.idle_warning_remaining(k.now), None);
    assert_eq!(k.flow.call_elapsed(k.now), Some(10 * 60_000));

    k.took();
    k.send(Event::HangUp);
    let fx = k.took();
    assert_eq!(fx.first(), Some(&Effect::HangUpCall), "{fx:?}");
    let Some(Effect::SaveAppeal(draft)) = fx.get(1) else {
        panic!("expected the call saved, got {fx:?}");
    };
    let length = k.now - answered;
    assert_eq!(
        draft.call,
        Some(CallDraft {
            call_id: CALL_ID.into(),
            duration_ms: length
        })
    );
    assert_eq!(draft.kind, AppealKind::Video);
    assert_eq!(draft.recorded_ms, length);
    assert_eq!(draft.topic, Topic::Complaint);
    assert_eq!(draft.iin.as_ref().map(Iin::as_str), Some(VALID_IIN));
    assert_eq!(draft.phone, None, "no phone step after a call");
    assert_eq!(draft.text, None);
    assert_eq!(k.screen(), &Screen::AppealSaving { failed: false });

    k.send(Event::AppealSaved {
        number: "C4-11".into(),
        check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
    });
    let Screen::AppealReceipt { receipt } = k.screen().clone() else {
        panic!("expected the receipt, got {:?}", k.screen());
    };
    assert_eq!(receipt.number, "C4-11");
    assert!(k.took().contains(&Effect::PrintReceipt(receipt)));
    k.send(Event::Continue);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(k.flow.session().is_none());
}

#[test]
fn a_failed_save_of_a_call_can_be_tried_again() {
    let mut k = Kiosk::in_call();
    k.wait(30_000).send(Event::HangUp);
    let first = k.saved_draft();
    k.send(Event::AppealSaveFailed);
    assert_eq!(k.screen(), &Screen::AppealSaving { failed: true });
    k.send(Event::Send);
    assert_eq!(k.saved_draft(), first, "the same call, saved again");
}

#[test]
fn operator_hanging_up_saves_the_call_like_the_citizen_does() {
    let mut k = Kiosk::in_call();
    k.wait(45_000);
    k.send(Event::CallEnded(CallEnd::HungUpByOperator));
    let fx = k.took();
    assert!(!fx.contains(&Effect::HangUpCall), "already over: {fx:?}");
    let Some(Effect::SaveAppeal(draft)) = fx.first() else {
        panic!("expected the call saved, got {fx:?}");
    };
    assert_eq!(
        draft.call.as_ref().map(|c| c.call_id.as_str()),
        Some(CALL_ID)
    );
    assert!((45_000..46_000).contains(&draft.recorded_ms));
    assert_eq!(k.screen(), &Screen::AppealSaving { failed: false });
    k.send(Event::AppealSaved {
        number: "C4-12".into(),
        check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
    });
    assert!(matches!(k.screen(), Screen::AppealReceipt { .. }));
}

#[test]
fn volume_is_kept_bounded_and_forgotten_with_the_session() {
    let mut k = Kiosk::in_call();
    assert_eq!(k.flow.call_volume(), CALL_VOLUME_DEFAULT);
    k.send(Event::CallVolume(35));
    assert_eq!(k.flow.call_volume(), 35);
    assert_eq!(k.took(), vec![Effect::SetCallVolume(35)]);
    k.send(Event::CallVolume(250));
    assert_eq!(k.flow.call_volume(), 100);
    assert_eq!(k.took(), vec![Effect::SetCallVolume(100)]);
    k.send(Event::HangUp)
        .send(Event::AppealSaved {
            number: "N".into(),
            check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
        })
        .send(Event::Continue);
    assert_eq!(k.flow.call_volume(), CALL_VOLUME_DEFAULT);
}

#[test]
fn cancel_while_ringing_goes_back_to_consent() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow).send(Event::CallRinging {
        call_id: CALL_ID.into(),
    });
    k.took();
    k.send(Event::Back);
    assert_eq!(k.screen(), &Screen::AppealConsent);
    assert_eq!(k.took(), vec![Effect::CancelCall]);
    assert_eq!(k.flow.session().and_then(|s| s.call_id.clone()), None);
    assert_eq!(
        k.flow.session().and_then(|s| s.topic),
        Some(Topic::Complaint)
    );

    // The operator's answer comes too late: that call is hung up, the page stays.
    k.send(Event::CallAnswered {
        operator: OPERATOR.into(),
    });
    assert_eq!(k.screen(), &Screen::AppealConsent);
    assert_eq!(k.took(), vec![Effect::HangUpCall]);
}

#[test]
fn nobody_answering_ends_the_ring_and_offers_recording_with_the_same_identity() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow).send(Event::CallRinging {
        call_id: CALL_ID.into(),
    });
    k.took();
    // The app says "unanswered" after ring_ms; the flow waits 5 s more before it gives up.
    k.wait(60_000 + 4_500);
    assert!(matches!(k.screen(), Screen::CallRinging { .. }));
    assert_eq!(
        k.flow.idle_warning_remaining(k.now),
        None,
        "ringing is not idleness"
    );
    assert!(k.took().is_empty());
    k.wait(500);
    assert_eq!(
        k.screen(),
        &Screen::CallEnded {
            why: CallEnd::Unanswered
        }
    );
    assert_eq!(k.screen().name(), "call-ended-unanswered");
    assert_eq!(k.took(), vec![Effect::CancelCall]);

    // "Record an appeal": the countdown, no new consent, identity and topic kept.
    k.send(Event::ConsentAccept);
    assert!(matches!(k.screen(), Screen::AppealCountdown { .. }));
    assert_eq!(k.took(), vec![Effect::StartPreview]);
    k.wait(3_000).wait(20_000).send(Event::StopRecording);
    k.send(Event::Send).send(Event::SkipPhone);
    let draft = k.saved_draft();
    assert_eq!(draft.call, None, "a recording, not a call");
    assert_eq!(draft.topic, Topic::Complaint);
    assert_eq!(draft.iin.as_ref().map(Iin::as_str), Some(VALID_IIN));
    assert!((20_000..21_000).contains(&draft.recorded_ms));
}

#[test]
fn refused_or_failed_ringing_says_why_and_finish_ends_the_session() {
    for (end, why, name) in [
        (
            CallEnd::Unavailable,
            CallEnd::Unavailable,
            "call-ended-unavailable",
        ),
        (CallEnd::Failed, CallEnd::Failed, "call-ended-failed"),
        (
            CallEnd::Unanswered,
            CallEnd::Unanswered,
            "call-ended-unanswered",
        ),
        (CallEnd::Lost, CallEnd::Failed, "call-ended-failed"),
    ] {
        let mut k = Kiosk::at_consent();
        k.send(Event::CallNow).send(Event::CallRinging {
            call_id: CALL_ID.into(),
        });
        k.took();
        k.send(Event::CallEnded(end));
        assert_eq!(k.screen(), &Screen::CallEnded { why }, "{end:?}");
        assert_eq!(k.screen().name(), name);
        assert!(k.took().is_empty(), "the app ended it: {end:?}");
        k.send(Event::EndSession);
        assert_eq!(k.screen(), &Screen::Attract);
        let fx = k.took();
        assert!(fx.contains(&Effect::ClearSession), "{fx:?}");
        assert!(!fx.iter().any(|e| matches!(e, Effect::SaveAppeal(_))));
        assert!(!fx.contains(&Effect::CancelCall));
    }
}

#[test]
fn call_ended_page_times_out_like_any_other() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow)
        .send(Event::CallEnded(CallEnd::Unavailable));
    k.wait(60_000 + 20_000);
    assert_eq!(k.screen(), &Screen::Attract);
    assert!(k.flow.session().is_none());
}

#[test]
fn lost_call_is_saved_at_once_and_the_rest_can_be_recorded() {
    let mut k = Kiosk::in_call();
    k.wait(95_000);
    k.send(Event::CallEnded(CallEnd::Lost));
    assert_eq!(k.screen(), &Screen::CallEnded { why: CallEnd::Lost });
    assert_eq!(k.screen().name(), "call-ended-lost");
    let draft = k.saved_draft();
    assert_eq!(
        draft.call.as_ref().map(|c| c.call_id.as_str()),
        Some(CALL_ID)
    );
    assert!((95_000..96_000).contains(&draft.recorded_ms));
    let saved = |k: &Kiosk| k.flow.session().and_then(|s| s.call_saved.clone());
    assert_eq!(saved(&k), Some(CallSaved::Saving));

    // Not a new recording while the call's take is still being stored.
    k.send(Event::ConsentAccept);
    assert_eq!(k.screen(), &Screen::CallEnded { why: CallEnd::Lost });
    assert!(k.took().is_empty());

    k.send(Event::AppealSaved {
        number: "C9-01".into(),
        check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
    });
    assert_eq!(
        saved(&k),
        Some(CallSaved::Saved(
            "C9-01".into(),
            CheckCode("ABCDEFGHIJKLMNOP".into())
        ))
    );
    assert_eq!(k.screen(), &Screen::CallEnded { why: CallEnd::Lost });
    let fx = k.took();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::PrintReceipt(r) if r.number == "C9-01")),
        "{fx:?}"
    );

    // The rest, recorded: a new appeal with its own receipt.
    k.send(Event::ConsentAccept);
    assert!(matches!(k.screen(), Screen::AppealCountdown { .. }));
    k.wait(3_000).wait(10_000).send(Event::StopRecording);
    k.send(Event::Send).send(Event::SkipPhone);
    let rest = k.saved_draft();
    assert_eq!(rest.call, None);
    assert!((10_000..11_000).contains(&rest.recorded_ms));
    k.send(Event::AppealSaved {
        number: "C9-02".into(),
        check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
    });
    let Screen::AppealReceipt { receipt } = k.screen().clone() else {
        panic!("expected the receipt, got {:?}", k.screen());
    };
    assert_eq!(receipt.number, "C9-02");
}

#[test]
fn failed_media_after_answer_is_a_lost_call() {
    let mut k = Kiosk::in_call();
    k.wait(5_000).send(Event::CallEnded(CallEnd::Failed));
    assert_eq!(k.screen(), &Screen::CallEnded { why: CallEnd::Lost });
    assert!(k.saved_draft().call.is_some());
}

#[test]
fn lost_call_that_could_not_be_stored_can_be_tried_again() {
    let mut k = Kiosk::in_call();
    k.wait(5_000).send(Event::CallEnded(CallEnd::Lost));
    let first = k.saved_draft();
    k.send(Event::AppealSaveFailed);
    assert_eq!(
        k.flow.session().and_then(|s| s.call_saved.clone()),
        Some(CallSaved::Failed)
    );
    k.send(Event::Send);
    assert_eq!(k.saved_draft(), first);
    assert_eq!(
        k.flow.session().and_then(|s| s.call_saved.clone()),
        Some(CallSaved::Saving)
    );
}

#[test]
fn finish_in_a_call_hangs_up_and_keeps_the_appeal() {
    let mut k = Kiosk::in_call();
    k.wait(20_000).send(Event::EndSession);
    let fx = k.took();
    assert_eq!(fx.first(), Some(&Effect::HangUpCall), "{fx:?}");
    assert!(matches!(fx.get(1), Some(Effect::SaveAppeal(d)) if d.call.is_some()));
    assert_eq!(k.screen(), &Screen::AppealSaving { failed: false });
}

#[test]
fn finish_while_ringing_cancels_the_call_first() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow);
    k.took();
    k.send(Event::EndSession);
    let fx = k.took();
    assert_eq!(fx.first(), Some(&Effect::CancelCall), "{fx:?}");
    assert!(fx.contains(&Effect::ClearSession));
    assert_eq!(k.screen(), &Screen::Attract);
}

#[test]
fn language_change_in_a_call_keeps_the_call() {
    let mut k = Kiosk::in_call();
    let before = k.screen().clone();
    k.send(Event::SetLanguage(Lang::Ru));
    assert_eq!(k.screen(), &before);
    assert_eq!(k.took(), vec![Effect::SetLanguage(Lang::Ru)]);
    // Nor does "Back" (there is none on this page) end it.
    k.send(Event::Back);
    assert_eq!(k.screen(), &before);
    assert!(k.took().is_empty());
}

#[test]
fn an_answer_without_a_call_id_is_not_taken_and_the_ring_times_out() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow).send(Event::CallAnswered {
        operator: OPERATOR.into(),
    });
    assert!(matches!(k.screen(), Screen::CallRinging { .. }));
    k.wait(66_000);
    assert_eq!(
        k.screen(),
        &Screen::CallEnded {
            why: CallEnd::Unanswered
        }
    );
}

#[test]
fn news_of_a_call_on_other_screens_ends_that_call() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallRinging {
        call_id: CALL_ID.into(),
    });
    assert_eq!(k.took(), vec![Effect::CancelCall]);
    assert_eq!(k.screen(), &Screen::AppealConsent);
}

#[test]
fn debug_shows_neither_the_iin_nor_the_operator() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow);
    let place = format!("{:?}", k.took());
    k.send(Event::CallRinging {
        call_id: CALL_ID.into(),
    })
    .send(Event::CallAnswered {
        operator: OPERATOR.into(),
    });
    let screen = format!("{:?}", k.screen());
    k.send(Event::HangUp);
    let saved = format!("{:?} {:?}", k.took(), k.flow.session());
    for text in [&place, &screen, &saved] {
        assert!(!text.contains(VALID_IIN), "{text}");
        assert!(!text.contains("88••"), "{text}");
        assert!(!text.contains("Aigerim"), "{text}");
    }
    assert!(place.contains("PlaceCall"), "{place}");
    assert!(screen.contains("InCall"), "{screen}");
}

#[test]
fn ringing_and_in_call_screen_names() {
    let mut k = Kiosk::at_consent();
    k.send(Event::CallNow);
    assert_eq!(k.screen().name(), "call-ringing");
    k.send(Event::CallRinging {
        call_id: CALL_ID.into(),
    })
    .send(Event::CallAnswered {
        operator: OPERATOR.into(),
    });
    assert_eq!(k.screen().name(), "in-call");
}
