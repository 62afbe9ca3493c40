//! Fuzzes the enrolment code a kiosk reads from a QR code, a barcode or `senim-kiosk enrol`
//! (`senim_protocol::enrol`). Invariants: nothing panics; what is accepted writes back to a
//! text that reads as the same code and pin. (The property test in `protocol/src/enrol.rs`
//! runs the same on stable, in CI.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use senim_protocol::enrol::EnrolCode;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = EnrolCode::parse(&text) {
        let again = EnrolCode::parse(&code.to_string()).expect("a written code reads back");
        assert!(again == code);
    }
    if let Ok(code) = EnrolCode::parse_payload(&text) {
        assert!(EnrolCode::parse_payload(&code.payload()).ok() == Some(code));
    }
});
