//! Fuzzing without nightly: the live-call signalling messages (`protocol::call`) fed arbitrary
//! bytes, JSON-shaped noise and well-formed messages with arbitrary fields, thousands of
//! cases per run. Properties: parsing never panics; a refusal is one of the two shape codes
//! (`too_large`, `malformed`); what is accepted passes `check()` and survives a round trip;
//! and for SDP offers, ICE candidates and rings the verdict is exactly the documented rule.
//! The same parsers are cargo-fuzz targets for a nightly toolchain (`fuzz/README.md`).

use proptest::prelude::*;
use senim_protocol::call::{
    valid_call_id, ConsoleMessage, ErrorCode, KioskMessage, ToConsole, ToKiosk,
    MAX_CANDIDATE_BYTES, MAX_MESSAGE_BYTES, MAX_MLINE_INDEX, MAX_SDP_BYTES,
};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 4000,
        // Failures are printed with their input; no file is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Arbitrary text: raw bytes read as UTF-8 (lossy), or any string.
fn noise() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any::<String>(),
    ]
}

/// JSON objects that look like messages: a known or unknown `type` and fields of any kind.
fn json_shaped() -> impl Strategy<Value = String> {
    let kinds = prop::sample::select(vec![
        "ring",
        "sdp_offer",
        "sdp_answer",
        "ice_candidate",
        "hang_up",
        "answer",
        "set_available",
        "ringing",
        "error",
        "incoming",
        "nonsense",
    ]);
    let names = prop::sample::select(vec![
        "call_id",
        "topic",
        "test",
        "iin",
        "sdp",
        "mline_index",
        "candidate",
        "reason",
        "available",
        "extra",
    ]);
    let values = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| serde_json::json!(n).to_string()),
        any::<String>().prop_map(|s| serde_json::json!(s).to_string()),
        "[a-zA-Z0-9_-]{0,70}".prop_map(|s| serde_json::json!(s).to_string()),
        prop::sample::select(vec![
            "\"complaint\"",
            "\"request\"",
            "\"gratitude\"",
            "\"cancelled\"",
            "\"hung_up\"",
            "\"880101300010\"",
            "\"v=0\\r\\n\"",
            "\"candidate:1 1 UDP 1 192.0.2.1 1 typ host\"",
            "{}",
            "[]",
        ])
        .prop_map(str::to_string),
    ];
    (
        kinds,
        prop::collection::vec((names, values), 0..6),
        any::<bool>(),
    )
        .prop_map(|(kind, fields, type_first)| {
            let mut parts: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            let kind = format!("\"type\":\"{kind}\"");
            if type_first {
                parts.insert(0, kind);
            } else {
                parts.push(kind);
            }
            format!("{{{}}}", parts.join(","))
        })
}

/// A call id: usually well-formed, sometimes anything.
fn call_id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9_-]{1,64}",
        1 => "[a-zA-Z0-9_-]{60,70}",
        1 => any::<String>(),
    ]
}

fn sdp() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "v=0\r\n[ -~\r\n]{0,200}",
        1 => any::<String>(),
        1 => (MAX_SDP_BYTES - 8..MAX_SDP_BYTES + 8)
            .prop_map(|n| format!("v=0{}", "a".repeat(n - 3))),
    ]
}

fn candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "candidate:[ -~]{0,100}",
        1 => Just(String::new()),
        1 => any::<String>(),
        1 => (MAX_CANDIDATE_BYTES - 4..MAX_CANDIDATE_BYTES + 4)
            .prop_map(|n| format!("candidate:{}", "1".repeat(n - 10))),
    ]
}

fn shape_code(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::TooLarge | ErrorCode::Malformed)
}

/// The kiosk's messages: any text is parsed or refused with a shape code, never a panic.
fn kiosk_holds(text: &str) -> Result<(), TestCaseError> {
    match KioskMessage::parse(text) {
        Ok(message) => {
            prop_assert!(message.check().is_ok());
            let again = serde_json::to_string(&message).unwrap();
            prop_assert_eq!(KioskMessage::parse(&again).ok(), Some(message));
        }
        Err(e) => prop_assert!(shape_code(e.code), "{:?}", e),
    }
    Ok(())
}

fn console_holds(text: &str) -> Result<(), TestCaseError> {
    match ConsoleMessage::parse(text) {
        Ok(message) => {
            prop_assert!(message.check().is_ok());
            let again = serde_json::to_string(&message).unwrap();
            prop_assert_eq!(ConsoleMessage::parse(&again).ok(), Some(message));
        }
        Err(e) => prop_assert!(shape_code(e.code), "{:?}", e),
    }
    Ok(())
}

/// What the server sends is read by the kiosk and the console without panicking, and what
/// they read survives a round trip.
fn outgoing_holds(text: &str) -> Result<(), TestCaseError> {
    if let Ok(m) = serde_json::from_str::<ToKiosk>(text) {
        let again = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<ToKiosk>(&again).ok(), Some(m));
    }
    if let Ok(m) = serde_json::from_str::<ToConsole>(text) {
        let again = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<ToConsole>(&again).ok(), Some(m));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_parsed_or_refused_with_a_shape_code(text in noise()) {
        kiosk_holds(&text)?;
        console_holds(&text)?;
        outgoing_holds(&text)?;
    }

    #[test]
    fn json_shaped_noise_is_parsed_or_refused_with_a_shape_code(text in json_shaped()) {
        kiosk_holds(&text)?;
        console_holds(&text)?;
        outgoing_holds(&text)?;
    }

    #[test]
    fn a_mangled_message_is_parsed_or_refused_with_a_shape_code(
        id in call_id(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let good = serde_json::json!({"type": "hang_up", "call_id": id, "reason": "hung_up"})
            .to_string();
        let mut bytes = good.into_bytes();
        let at = flip.index(bytes.len());
        bytes[at] = byte;
        bytes.truncate(cut.index(bytes.len() + 1));
        let text = String::from_utf8_lossy(&bytes);
        kiosk_holds(&text)?;
        console_holds(&text)?;
    }

    #[test]
    fn an_sdp_offer_is_accepted_exactly_by_the_documented_rule(id in call_id(), sdp in sdp()) {
        let text = serde_json::json!({"type": "sdp_offer", "call_id": id, "sdp": sdp})
            .to_string();
        let well_formed = valid_call_id(&id)
            && sdp.len() <= MAX_SDP_BYTES
            && sdp.starts_with("v=0")
            && !sdp.contains('\0');
        let parsed = KioskMessage::parse(&text);
        prop_assert_eq!(
            parsed.is_ok(),
            text.len() <= MAX_MESSAGE_BYTES && well_formed,
            "{:?}",
            parsed.as_ref().err()
        );
        if let Err(e) = parsed {
            let too_long = text.len() > MAX_MESSAGE_BYTES
                || (valid_call_id(&id) && sdp.len() > MAX_SDP_BYTES);
            prop_assert_eq!(e.code == ErrorCode::TooLarge, too_long, "{:?}", e);
        }
        // The console's answer follows the same rule.
        let answer = serde_json::json!({"type": "sdp_answer", "call_id": id, "sdp": sdp})
            .to_string();
        prop_assert_eq!(
            ConsoleMessage::parse(&answer).is_ok(),
            answer.len() <= MAX_MESSAGE_BYTES && well_formed
        );
    }

    #[test]
    fn an_ice_candidate_is_accepted_exactly_by_the_documented_rule(
        id in call_id(),
        mline in prop_oneof![0..=MAX_MLINE_INDEX + 2, any::<u32>()],
        candidate in candidate(),
    ) {
        let text = serde_json::json!({
            "type": "ice_candidate", "call_id": id, "mline_index": mline, "candidate": candidate
        })
        .to_string();
        let shaped = candidate.is_empty()
            || (candidate.starts_with("candidate:") && !candidate.contains(['\r', '\n', '\0']));
        let expected = valid_call_id(&id)
            && candidate.len() <= MAX_CANDIDATE_BYTES
            && shaped
            && mline <= MAX_MLINE_INDEX;
        prop_assert_eq!(KioskMessage::parse(&text).is_ok(), expected);
        prop_assert_eq!(ConsoleMessage::parse(&text).is_ok(), expected);
    }

    #[test]
    fn a_ring_carries_a_twelve_digit_iin_or_none(
        id in prop::option::of(call_id()),
        iin in prop::option::of(prop_oneof!["[0-9]{12}", "[0-9]{0,14}", any::<String>()]),
        test in any::<bool>(),
    ) {
        let mut ring = serde_json::json!({"type": "ring", "topic": "complaint", "test": test});
        if let Some(id) = &id {
            ring["call_id"] = id.clone().into();
        }
        if let Some(iin) = &iin {
            ring["iin"] = iin.clone().into();
        }
        let expected = id.as_deref().is_none_or(valid_call_id)
            && iin
                .as_deref()
                .is_none_or(|i| i.len() == 12 && i.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(KioskMessage::parse(&ring.to_string()).is_ok(), expected);
        kiosk_holds(&ring.to_string())?;
    }
}
