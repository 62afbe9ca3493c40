//! The texts `console.js` and `call.js` show, in the operator's language: the layout puts them
//! in the page as `<script type="application/json" id="i18n">`, and the scripts read them by
//! key (`{0}`, `{1}` filled in by the script). The scripts hold no text of their own.

use serde_json::{Map, Value};

use super::topic_label;
use crate::i18n::{tr, Lang};

fn texts(lang: Lang) -> Value {
    let topics: Map<String, Value> = ["complaint", "request", "gratitude", "bribe_report", "other"]
        .into_iter()
        .map(|t| (t.to_string(), Value::from(topic_label(lang, t))))
        .collect();
    let plain: &[(&str, &str)] = &[
        // console.js: the sound switch, the red lamp, consultant calls.
        ("sound_on", tr(lang, "Sound: on")),
        ("sound_off", tr(lang, "Sound: off")),
        ("journey_appeal", tr(lang, "leaving an appeal")),
        ("journey_guide", tr(lang, "following a service guide")),
        ("journey_other", tr(lang, "at the terminal")),
        ("lamp_one", tr(lang, "A patient is at a kiosk now")),
        ("lamp_many", tr(lang, "Patients at kiosks now: {0}")),
        ("for_time", tr(lang, "for {0}")),
        ("away", tr(lang, "Outside working hours: someone is at {0}. Their appeal will wait in the queue.")),
        ("step_overview", tr(lang, "on the overview page")),
        ("step_n", tr(lang, "step {0}")),
        ("on_my_way", tr(lang, "On my way")),
        ("telling_others", tr(lang, "Telling the others…")),
        ("reload_then_go", tr(lang, "Reload the page, then: On my way")),
        ("not_sent", tr(lang, "Not sent — try again")),
        ("consultant", tr(lang, "Consultant needed at kiosk {0} ({1}), service {2}, {3},")),
        // call.js: availability, ringing calls, the call panel.
        ("ended_hung_up", tr(lang, "The patient hung up.")),
        ("ended_unanswered", tr(lang, "Nobody answered in time.")),
        ("ended_lost", tr(lang, "Call lost — the kiosk's connection dropped.")),
        ("ended_error", tr(lang, "The call ended because of an error.")),
        ("available", tr(lang, "Available")),
        ("away_button", tr(lang, "Away")),
        ("not_connected", tr(lang, "Not connected to the call service; trying again…")),
        ("call_from", tr(lang, "Live call from {0}")),
        ("kiosk_n", tr(lang, "Kiosk {0}")),
        ("iin_n", tr(lang, "IIN {0}")),
        ("not_identified", tr(lang, "not identified")),
        ("test_call", tr(lang, "TEST call from a technician")),
        ("waiting", tr(lang, "waiting {0}")),
        ("answer", tr(lang, "Answer")),
        ("mark_available", tr(lang, "Mark yourself Available to answer")),
        ("close_call_first", tr(lang, "Close your call first")),
        ("answering", tr(lang, "Answering…")),
        ("not_connected_retry", tr(lang, "Not connected — try again")),
        ("you_are_away", tr(lang, "You are away")),
        ("you_are_on_a_call", tr(lang, "You are on a call")),
        ("not_given", tr(lang, "not given")),
        ("connecting_kiosk", tr(lang, "Connecting to the kiosk…")),
        ("mute", tr(lang, "Mute")),
        ("unmute", tr(lang, "Unmute")),
        ("on_the_call", tr(lang, "On the call")),
        ("on_the_call_muted", tr(lang, "On the call — you are muted")),
        ("unsteady", tr(lang, "Connection unsteady…")),
        ("lost_network", tr(lang, "Call lost — the network between you and the kiosk failed.")),
        ("lost_server", tr(lang, "Call lost — this console's connection to the call-centre server dropped.")),
        ("camera_failed", tr(lang, "Your camera or microphone could not be opened ({0}): the patient cannot see or hear you. Allow them in the browser's site settings.")),
        ("offer_failed", tr(lang, "The kiosk's video offer could not be used ({0}); the call has ended. The patient can record an appeal instead.")),
        ("call_lost", tr(lang, "Call lost")),
        ("call_ended", tr(lang, "Call ended")),
        ("you_hung_up", tr(lang, "You hung up.")),
        ("saving", tr(lang, "Saving the notes and outcome")),
        ("revealing", tr(lang, "Revealing the IIN")),
        ("failed_offline", tr(lang, "{0}: failed, no connection to the server. Try again.")),
        ("failed_csrf", tr(lang, "{0}: failed, this page's form token expired. Copy your notes, reload the page, and save them on the appeal's page.")),
        ("failed_signin", tr(lang, "{0}: failed, sign in again.")),
        ("failed_status", tr(lang, "{0}: failed ({1}). Try again; if it keeps failing, note it on the appeal's page.")),
        ("saved_on", tr(lang, "Saved on appeal {0} at {1}.")),
        ("reveal_after", tr(lang, "The IIN can be revealed only during your call; after it, reveal it on the appeal's page once the kiosk's record has arrived.")),
        ("unsaved_close", tr(lang, "Your notes or outcome are not saved yet. Close anyway?")),
        ("taken_by", tr(lang, "Taken by {0}")),
        ("answered_first", tr(lang, "Another operator answered first")),
        ("reconnecting", tr(lang, "Calls: reconnecting…")),
    ];
    // The call service's refusals, by their code (`protocol::call::ErrorCode`).
    let signal_errors: &[(&str, &str)] = &[
        (
            "too_large",
            tr(
                lang,
                "The call service refused a message that was too large.",
            ),
        ),
        (
            "malformed",
            tr(
                lang,
                "The call service could not read a message from this console; reload the page.",
            ),
        ),
        (
            "not_your_call",
            tr(lang, "This call belongs to another operator."),
        ),
        ("already_taken", tr(lang, "Another operator answered first")),
        ("no_such_call", tr(lang, "This call has already ended.")),
        ("busy", tr(lang, "The kiosk is already on another call.")),
        ("unavailable", tr(lang, "No operator can take calls now.")),
        (
            "not_answered",
            tr(lang, "The call has not been answered yet."),
        ),
    ];
    let map = |pairs: &[(&str, &str)]| -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect()
    };
    let mut texts = map(plain);
    texts.insert("topics".into(), Value::Object(topics));
    texts.insert("signal_errors".into(), Value::Object(map(signal_errors)));
    Value::Object(texts)
}

/// The texts as JSON that is safe inside a `<script>` element (no `<`, so no `</script>`).
pub fn json(lang: Lang) -> String {
    texts(lang).to_string().replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("key")` in the scripts has its text here (else the script would show the key).
    #[test]
    fn every_key_the_scripts_use_has_a_text() {
        let texts = texts(Lang::Kk);
        for (name, script) in [
            ("console.js", include_str!("../../../web/console.js")),
            ("call.js", include_str!("../../../web/call.js")),
        ] {
            // `t("key"`, not `split("…"`.
            let keys: Vec<&str> = script
                .match_indices("t(\"")
                .filter(|(at, _)| {
                    !script[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
                })
                .filter_map(|(at, _)| script[at + 3..].split('"').next())
                .collect();
            assert!(!keys.is_empty(), "{name} reads no texts");
            for key in keys {
                assert!(
                    texts.get(key).is_some_and(Value::is_string),
                    "web/{name} shows t(\"{key}\"), which pages/script_texts.rs does not give"
                );
            }
        }
        assert!(texts["topics"]["bribe_report"].is_string());
        assert!(texts["signal_errors"]["already_taken"].is_string());
    }
}
