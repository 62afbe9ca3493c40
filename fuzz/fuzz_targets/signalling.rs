//! Fuzzes the live-call signalling messages (`senim_protocol::call`) as the call-centre reads
//! them from kiosks and consoles, and as kiosks and consoles read the server's. Invariants:
//! nothing panics; a refusal is `too_large` or `malformed`; what is accepted passes `check()`
//! and reads back the same after serialising. (`protocol/tests/fuzz_signalling.rs` runs the
//! same properties with proptest on stable, in CI.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use senim_protocol::call::{ConsoleMessage, ErrorCode, KioskMessage, ToConsole, ToKiosk};

fn shape(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::TooLarge | ErrorCode::Malformed)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match KioskMessage::parse(&text) {
        Ok(m) => {
            assert!(m.check().is_ok());
            let again = serde_json::to_string(&m).unwrap();
            assert_eq!(KioskMessage::parse(&again).ok(), Some(m));
        }
        Err(e) => assert!(shape(e.code), "{e:?}"),
    }
    match ConsoleMessage::parse(&text) {
        Ok(m) => {
            assert!(m.check().is_ok());
            let again = serde_json::to_string(&m).unwrap();
            assert_eq!(ConsoleMessage::parse(&again).ok(), Some(m));
        }
        Err(e) => assert!(shape(e.code), "{e:?}"),
    }
    if let Ok(m) = serde_json::from_str::<ToKiosk>(&text) {
        let again = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<ToKiosk>(&again).ok(), Some(m));
    }
    if let Ok(m) = serde_json::from_str::<ToConsole>(&text) {
        let again = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<ToConsole>(&again).ok(), Some(m));
    }
});
