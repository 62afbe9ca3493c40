//! Enrolment: a kiosk without a token rests on the enrolment screen; a revoked one asks
//! for enrolment once the citizen is done.

use super::*;

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
