//! Appeals: happy paths by video, voice and typing, out of hours, recording limits, re-record,
//! phone number, failed saves and recordings, a full disk.

use super::*;

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
        check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
    });
    let Screen::AppealReceipt { receipt } = k.screen().clone() else {
        panic!("expected the receipt, got {:?}", k.screen());
    };
    assert_eq!(receipt.number, "K7-4F9Q");
    assert_eq!(receipt.check_code.as_str(), "ABCDEFGHIJKLMNOP");
    assert_eq!(receipt.check_code.grouped(), "ABCD EFGH IJKL MNOP");
    assert!(
        !format!("{receipt:?}").contains("ABCD"),
        "the check code is a secret: not in Debug"
    );
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
            check_code: CheckCode("ABCDEFGHIJKLMNOP".into()),
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
