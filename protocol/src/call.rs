//! Live-call signalling: the typed messages a kiosk and an operator's console exchange with the
//! call-centre over their WebSockets (`GET /api/v1/call`, `GET /console/call`), the ICE servers
//! handed to both ends per call, and the size and shape checks every received message passes.
//! `callcentre/signalling.md` documents the exchange.
//!
//! Over 600 lines: nearly half is the tests (a round trip of every message, every refusal).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Topic;

/// Longest SDP offer or answer accepted, in bytes.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Longest ICE candidate line accepted, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Longest text frame accepted: an SDP at its limit and the JSON around it.
pub const MAX_MESSAGE_BYTES: usize = MAX_SDP_BYTES + 4 * 1024;
/// Longest call id (letters, digits, `-` and `_`).
pub const MAX_CALL_ID_CHARS: usize = 64;
/// Highest media-line index a candidate may name.
pub const MAX_MLINE_INDEX: u32 = 63;

/// A STUN or TURN server for WebRTC (the browser's `RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// One side hung up.
    HungUp,
    /// Nobody answered in time.
    Unanswered,
    /// The other side's connection closed.
    Lost,
    /// A message of the call was refused (see the `error` sent before).
    Error,
}

/// What went wrong with a message; the `code` of an `error` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message, its SDP or its candidate is longer than allowed.
    #[error("too_large")]
    TooLarge,
    /// Not JSON, an unknown type, a missing field, or SDP or a candidate of the wrong shape.
    #[error("malformed")]
    Malformed,
    /// The call id names a call of another kiosk or another operator.
    #[error("not_your_call")]
    NotYourCall,
    /// Another operator answered first.
    #[error("already_taken")]
    AlreadyTaken,
    /// There is no such call (it ended, or never was).
    #[error("no_such_call")]
    NoSuchCall,
    /// The kiosk already has a call.
    #[error("busy")]
    Busy,
    /// No operator can take a call now (none available, or outside working hours).
    #[error("unavailable")]
    Unavailable,
    /// The message needs an answered call (media before an operator took it).
    #[error("not_answered")]
    NotAnswered,
}

/// Kiosk → call-centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KioskMessage {
    /// Ring the operators. `call_id` may be chosen by the kiosk (to tie the call to its appeal
    /// record); otherwise the server makes one. A `test` call (`senim-kiosk call`) rings at any
    /// hour and is marked as a test on the console.
    Ring {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        topic: Topic,
        #[serde(default)]
        test: bool,
        /// The patient's IIN when they identified, shown to the operator masked (as an
        /// appeal's) until revealed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iin: Option<CallerIin>,
    },
    /// The kiosk's WebRTC offer, sent once the call is answered.
    SdpOffer {
        call_id: String,
        sdp: String,
    },
    IceCandidate {
        call_id: String,
        mline_index: u32,
        candidate: String,
    },
    HangUp {
        call_id: String,
        reason: EndReason,
    },
}

/// Call-centre → kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Fields a newer server adds are ignored by older readers: no `deny_unknown_fields` here.
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToKiosk {
    /// The operators' consoles ring; use these ICE servers for the call.
    Ringing {
        call_id: String,
        ice_servers: Vec<IceServer>,
    },
    /// An operator took the call: send the SDP offer now. Only their display name is told.
    Answered {
        call_id: String,
        operator: String,
    },
    SdpAnswer {
        call_id: String,
        sdp: String,
    },
    IceCandidate {
        call_id: String,
        mline_index: u32,
        candidate: String,
    },
    Ended {
        call_id: String,
        reason: EndReason,
    },
    /// Whether a live call can be placed now; sent on connecting and whenever it changes.
    Availability {
        operators_available: bool,
        open_now: bool,
        /// On connecting only: the ICE servers a call would get now, so the kiosk's `doctor`
        /// can check they are reachable without placing a call. Empty otherwise.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
}

/// Operator's console → call-centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsoleMessage {
    /// Take a ringing call; the first operator to answer wins.
    Answer {
        call_id: String,
    },
    SdpAnswer {
        call_id: String,
        sdp: String,
    },
    IceCandidate {
        call_id: String,
        mline_index: u32,
        candidate: String,
    },
    HangUp {
        call_id: String,
        reason: EndReason,
    },
    /// The operator marks themselves available or away.
    SetAvailable {
        available: bool,
    },
}

/// Call-centre → operator's console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Fields a newer server adds are ignored by older readers: no `deny_unknown_fields` here.
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToConsole {
    /// A kiosk rings (sent to every connected console, also for calls ringing on connecting).
    Incoming {
        call_id: String,
        kiosk_id: String,
        site: String,
        topic: Topic,
        test: bool,
        waiting_since: DateTime<Utc>,
        /// The caller's IIN masked to its last four digits (`••••••••0010`), if they
        /// identified; the whole IIN is only shown through the console's logged reveal.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iin_masked: Option<String>,
    },
    /// This operator's answer won: the ICE servers for the call; the kiosk's offer follows.
    /// `appeal_id` is the appeal the call stands as in the queue (its notes, outcome and the
    /// IIN reveal go there).
    Accepted {
        call_id: String,
        ice_servers: Vec<IceServer>,
        #[serde(default)]
        appeal_id: String,
    },
    /// An operator took the call (sent to every console, the winner included).
    Taken {
        call_id: String,
        by: String,
    },
    SdpOffer {
        call_id: String,
        sdp: String,
    },
    IceCandidate {
        call_id: String,
        mline_index: u32,
        candidate: String,
    },
    Ended {
        call_id: String,
        reason: EndReason,
    },
    /// This operator's availability as the server holds it (after `set_available`, and on
    /// connecting: away).
    Availability {
        available: bool,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
}

/// A refused message: the code and a message saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SignalError {
    pub code: ErrorCode,
    pub message: String,
    /// The call the message was about, when it could be read.
    pub call_id: Option<String>,
}

impl SignalError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SignalError {
            code,
            message: message.into(),
            call_id: None,
        }
    }

    pub fn about(mut self, call_id: &str) -> Self {
        self.call_id = Some(call_id.to_string());
        self
    }
}

/// A caller's IIN on the wire: 12 digits, never shown by `Debug` (messages are logged).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallerIin(pub String);

impl std::fmt::Debug for CallerIin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerIin(<redacted>)")
    }
}

impl CallerIin {
    /// The IIN masked to its last four digits: enough to match a caller, not enough to be the
    /// IIN.
    pub fn masked(&self) -> String {
        masked_iin(&self.0)
    }
}

/// `••••••••0010`: every character but the last four replaced by a bullet.
pub fn masked_iin(iin: &str) -> String {
    let count = iin.chars().count();
    iin.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < count { '•' } else { c })
        .collect()
}

/// Whether `id` is a well-formed call id: 1 to 64 ASCII letters, digits, `-` or `_`.
pub fn valid_call_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CALL_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_call_id(id: &str) -> Result<(), SignalError> {
    if valid_call_id(id) {
        Ok(())
    } else {
        Err(SignalError::new(
            ErrorCode::Malformed,
            format!(
                "call_id must be 1 to {MAX_CALL_ID_CHARS} letters, digits, '-' or '_'; use the \
                 id from `ringing` or `incoming`"
            ),
        ))
    }
}

/// Checks an SDP body: at most [`MAX_SDP_BYTES`], starting with the `v=0` line.
pub fn check_sdp(call_id: &str, sdp: &str) -> Result<(), SignalError> {
    if sdp.len() > MAX_SDP_BYTES {
        return Err(SignalError::new(
            ErrorCode::TooLarge,
            format!(
                "the SDP is {} bytes; at most {MAX_SDP_BYTES} are accepted",
                sdp.len()
            ),
        )
        .about(call_id));
    }
    if !sdp.starts_with("v=0") || sdp.contains('\0') {
        return Err(SignalError::new(
            ErrorCode::Malformed,
            "the SDP must be a session description starting with the line \"v=0\"",
        )
        .about(call_id));
    }
    Ok(())
}

/// Checks an ICE candidate: at most [`MAX_CANDIDATE_BYTES`], one line, empty (end of
/// candidates) or starting with `candidate:`, and a media-line index up to 63.
pub fn check_candidate(
    call_id: &str,
    mline_index: u32,
    candidate: &str,
) -> Result<(), SignalError> {
    if candidate.len() > MAX_CANDIDATE_BYTES {
        return Err(SignalError::new(
            ErrorCode::TooLarge,
            format!(
                "the candidate is {} bytes; at most {MAX_CANDIDATE_BYTES} are accepted",
                candidate.len()
            ),
        )
        .about(call_id));
    }
    let shaped = candidate.is_empty()
        || (candidate.starts_with("candidate:") && !candidate.contains(['\r', '\n', '\0']));
    if !shaped || mline_index > MAX_MLINE_INDEX {
        return Err(SignalError::new(
            ErrorCode::Malformed,
            format!(
                "a candidate is one line starting with \"candidate:\" (or empty for the end of \
                 candidates) with an mline_index of at most {MAX_MLINE_INDEX}"
            ),
        )
        .about(call_id));
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, SignalError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(SignalError::new(
            ErrorCode::TooLarge,
            format!(
                "the message is {} bytes; at most {MAX_MESSAGE_BYTES} are accepted",
                text.len()
            ),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        SignalError::new(
            ErrorCode::Malformed,
            format!("the message is not a signalling message ({e}); see callcentre/signalling.md"),
        )
    })
}

impl KioskMessage {
    /// Reads and checks a text frame from a kiosk.
    pub fn parse(text: &str) -> Result<KioskMessage, SignalError> {
        let message: KioskMessage = parse(text)?;
        message.check()?;
        Ok(message)
    }

    /// Checks the sizes and shapes of the fields.
    pub fn check(&self) -> Result<(), SignalError> {
        match self {
            KioskMessage::Ring { call_id, iin, .. } => {
                call_id.as_deref().map_or(Ok(()), check_call_id)?;
                match iin {
                    Some(CallerIin(iin))
                        if iin.len() != 12 || !iin.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        Err(SignalError::new(
                            ErrorCode::Malformed,
                            "iin must be the caller's 12-digit IIN, or left out",
                        ))
                    }
                    _ => Ok(()),
                }
            }
            KioskMessage::SdpOffer { call_id, sdp } => {
                check_call_id(call_id)?;
                check_sdp(call_id, sdp)
            }
            KioskMessage::IceCandidate {
                call_id,
                mline_index,
                candidate,
            } => {
                check_call_id(call_id)?;
                check_candidate(call_id, *mline_index, candidate)
            }
            KioskMessage::HangUp { call_id, .. } => check_call_id(call_id),
        }
    }
}

impl ConsoleMessage {
    /// Reads and checks a text frame from a console.
    pub fn parse(text: &str) -> Result<ConsoleMessage, SignalError> {
        let message: ConsoleMessage = parse(text)?;
        message.check()?;
        Ok(message)
    }

    /// Checks the sizes and shapes of the fields.
    pub fn check(&self) -> Result<(), SignalError> {
        match self {
            ConsoleMessage::Answer { call_id } | ConsoleMessage::HangUp { call_id, .. } => {
                check_call_id(call_id)
            }
            ConsoleMessage::SdpAnswer { call_id, sdp } => {
                check_call_id(call_id)?;
                check_sdp(call_id, sdp)
            }
            ConsoleMessage::IceCandidate {
                call_id,
                mline_index,
                candidate,
            } => {
                check_call_id(call_id)?;
                check_candidate(call_id, *mline_index, candidate)
            }
            ConsoleMessage::SetAvailable { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    const CANDIDATE: &str = "candidate:1 1 UDP 2122252543 192.0.2.1 54321 typ host";

    fn round_trip<T>(value: T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let text = serde_json::to_string(&value).unwrap();
        let back: T = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
    }

    #[test]
    fn every_message_survives_a_round_trip() {
        let ice = vec![
            IceServer {
                urls: vec!["stun:stun.example.kz:3478".into()],
                username: None,
                credential: None,
            },
            IceServer {
                urls: vec!["turn:turn.example.kz:3478?transport=udp".into()],
                username: Some("1767225600:K-1".into()),
                credential: Some("c2VjcmV0".into()),
            },
        ];
        let id = || "c-1".to_string();
        for m in [
            KioskMessage::Ring {
                call_id: None,
                topic: Topic::Complaint,
                test: true,
                iin: None,
            },
            KioskMessage::Ring {
                call_id: Some(id()),
                topic: Topic::Other,
                test: false,
                iin: Some(CallerIin("880101300010".into())),
            },
            KioskMessage::SdpOffer {
                call_id: id(),
                sdp: SDP.into(),
            },
            KioskMessage::IceCandidate {
                call_id: id(),
                mline_index: 1,
                candidate: CANDIDATE.into(),
            },
            KioskMessage::HangUp {
                call_id: id(),
                reason: EndReason::Unanswered,
            },
        ] {
            m.check().unwrap();
            round_trip(m);
        }
        for m in [
            ToKiosk::Ringing {
                call_id: id(),
                ice_servers: ice.clone(),
            },
            ToKiosk::Answered {
                call_id: id(),
                operator: "Aigerim".into(),
            },
            ToKiosk::SdpAnswer {
                call_id: id(),
                sdp: SDP.into(),
            },
            ToKiosk::Ended {
                call_id: id(),
                reason: EndReason::Lost,
            },
            ToKiosk::Availability {
                operators_available: true,
                open_now: false,
                ice_servers: ice.clone(),
            },
            ToKiosk::Error {
                code: ErrorCode::Busy,
                message: "m".into(),
                call_id: None,
            },
        ] {
            round_trip(m);
        }
        for m in [
            ConsoleMessage::Answer { call_id: id() },
            ConsoleMessage::SdpAnswer {
                call_id: id(),
                sdp: SDP.into(),
            },
            ConsoleMessage::IceCandidate {
                call_id: id(),
                mline_index: 0,
                candidate: String::new(),
            },
            ConsoleMessage::HangUp {
                call_id: id(),
                reason: EndReason::HungUp,
            },
            ConsoleMessage::SetAvailable { available: true },
        ] {
            m.check().unwrap();
            round_trip(m);
        }
        for m in [
            ToConsole::Incoming {
                call_id: id(),
                kiosk_id: "K-1".into(),
                site: "Almaty".into(),
                topic: Topic::BribeReport,
                test: false,
                waiting_since: Utc::now(),
                iin_masked: Some(CallerIin("880101300010".into()).masked()),
            },
            ToConsole::Accepted {
                call_id: id(),
                ice_servers: ice.clone(),
                appeal_id: "A-7Q2M9XK3".into(),
            },
            ToConsole::Taken {
                call_id: id(),
                by: "Aigerim".into(),
            },
            ToConsole::Error {
                code: ErrorCode::AlreadyTaken,
                message: "m".into(),
                call_id: Some(id()),
            },
        ] {
            round_trip(m);
        }
    }

    #[test]
    fn the_wire_names_are_snake_case_with_a_type_tag() {
        let text = serde_json::to_string(&ToKiosk::Availability {
            operators_available: true,
            open_now: true,
            ice_servers: Vec::new(),
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"type":"availability","operators_available":true,"open_now":true}"#
        );
        let m = KioskMessage::parse(r#"{"type":"ring","topic":"bribe_report"}"#).unwrap();
        assert_eq!(
            m,
            KioskMessage::Ring {
                call_id: None,
                topic: Topic::BribeReport,
                test: false,
                iin: None,
            }
        );
        let m = KioskMessage::parse(r#"{"type":"ring","topic":"complaint","iin":"880101300010"}"#)
            .unwrap();
        assert!(!format!("{m:?}").contains("880101300010"), "{m:?}");
        for bad in ["88010130001", "8801013000x0", "8801013000100"] {
            let text = format!(r#"{{"type":"ring","topic":"complaint","iin":"{bad}"}}"#);
            let err = KioskMessage::parse(&text).unwrap_err();
            assert_eq!(err.code, ErrorCode::Malformed, "{bad}");
        }
        let m = ConsoleMessage::parse(r#"{"type":"set_available","available":false}"#).unwrap();
        assert_eq!(m, ConsoleMessage::SetAvailable { available: false });
    }

    #[test]
    fn messages_from_a_newer_server_with_more_fields_still_parse() {
        let m: ToKiosk =
            serde_json::from_str(r#"{"type":"answered","call_id":"c","operator":"A","photo":"x"}"#)
                .unwrap();
        assert_eq!(
            m,
            ToKiosk::Answered {
                call_id: "c".into(),
                operator: "A".into()
            }
        );
        let answer: crate::HeartbeatResponse = serde_json::from_str(
            r#"{"server_time":"2026-12-04T05:00:00Z","catalog_version":null,"operators_open":true}"#,
        )
        .unwrap();
        assert!(
            !answer.operators_available,
            "an older server's answer reads as false"
        );
    }

    #[test]
    fn oversized_messages_are_refused_as_too_large() {
        let big_sdp = format!("v=0\r\n{}", "a".repeat(MAX_SDP_BYTES));
        let text = serde_json::to_string(&KioskMessage::SdpOffer {
            call_id: "c".into(),
            sdp: big_sdp,
        })
        .unwrap();
        assert_eq!(
            KioskMessage::parse(&text).unwrap_err().code,
            ErrorCode::TooLarge
        );
        let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(
            ConsoleMessage::parse(&big).unwrap_err().code,
            ErrorCode::TooLarge
        );
        let text = serde_json::to_string(&ConsoleMessage::IceCandidate {
            call_id: "c".into(),
            mline_index: 0,
            candidate: format!("candidate:{}", "1".repeat(MAX_CANDIDATE_BYTES)),
        })
        .unwrap();
        let e = ConsoleMessage::parse(&text).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        assert_eq!(e.call_id.as_deref(), Some("c"));
    }

    #[test]
    fn malformed_messages_are_refused_with_the_reason() {
        for text in [
            "not json",
            "{}",
            r#"{"type":"dance"}"#,
            r#"{"type":"ring"}"#,
            r#"{"type":"ring","topic":"complaint","extra":1}"#,
            r#"{"type":"ring","topic":"complaint","call_id":"../etc"}"#,
            r#"{"type":"sdp_offer","call_id":"c","sdp":"hello"}"#,
            r#"{"type":"ice_candidate","call_id":"c","mline_index":0,"candidate":"junk"}"#,
            r#"{"type":"ice_candidate","call_id":"c","mline_index":99,"candidate":""}"#,
            r#"{"type":"ice_candidate","call_id":"c","mline_index":0,"candidate":"candidate:1\r\na=x"}"#,
            r#"{"type":"hang_up","call_id":"","reason":"hung_up"}"#,
            r#"{"type":"hang_up","call_id":"c","reason":"bored"}"#,
        ] {
            let e = KioskMessage::parse(text).unwrap_err();
            assert_eq!(e.code, ErrorCode::Malformed, "{text}");
            assert!(!e.message.is_empty());
        }
        // A console message is not a kiosk message, and the other way round.
        assert!(KioskMessage::parse(r#"{"type":"answer","call_id":"c"}"#).is_err());
        assert!(ConsoleMessage::parse(r#"{"type":"ring","topic":"other"}"#).is_err());
    }

    #[test]
    fn a_masked_iin_keeps_only_its_last_four_digits() {
        let masked = CallerIin("880101300010".into()).masked();
        assert_eq!(masked, "••••••••0010");
        assert_eq!(masked_iin("12"), "12");
    }
}
