//! Fuzzing without nightly: the tus header parsers (`headers.rs`) fed arbitrary header
//! values, thousands of cases per run. Properties: no panic; every refusal is a 400 with the
//! parser's own documented code; what is accepted means what the client sent (round trips
//! for `Upload-Metadata`, `Upload-Checksum` and the numbers). A child of `tus`, so the parsers
//! stay private. The same parsers are a cargo-fuzz target for nightly (`fuzz/README.md`).

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use base64::Engine;
use proptest::prelude::*;

use super::headers::{
    check_version, header_u64, parse_checksum, parse_metadata, valid_upload_id, Checksum,
    TUS_RESUMABLE, UPLOAD_CHECKSUM, UPLOAD_LENGTH,
};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A header value made of arbitrary bytes (those HTTP allows in a header at all).
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        any::<String>().prop_map(String::into_bytes),
        "[ -~]{0,80}".prop_map(String::into_bytes),
    ]
    .prop_filter_map("not a header value", |b| HeaderValue::from_bytes(&b).ok())
}

fn with(name: &axum::http::HeaderName, value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name.clone(), value);
    headers
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn upload_metadata_never_panics_and_refuses_with_its_code(raw in any::<String>()) {
        match parse_metadata(&raw) {
            Ok(map) => {
                for key in map.keys() {
                    prop_assert!(!key.is_empty() && !key.contains([',', ' ']), "{key:?}");
                }
            }
            Err(e) => {
                prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
                prop_assert_eq!(e.code, "invalid_metadata");
            }
        }
    }

    #[test]
    fn upload_metadata_reads_back_what_a_client_wrote(
        map in prop::collection::hash_map("[a-zA-Z0-9_.-]{1,16}", any::<String>(), 0..6),
        spaces in any::<bool>(),
    ) {
        let sep = if spaces { " , " } else { "," };
        let raw = map
            .iter()
            .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k} {}", b64(v.as_bytes())) })
            .collect::<Vec<_>>()
            .join(sep);
        let parsed: HashMap<String, String> = parse_metadata(&raw).map_err(|e| {
            TestCaseError::fail(format!("{raw:?}: {}", e.message))
        })?;
        prop_assert_eq!(parsed, map);
    }

    #[test]
    fn upload_checksum_never_panics_and_refuses_with_its_code(value in header_value()) {
        if let Err(e) = parse_checksum(&with(&UPLOAD_CHECKSUM, value)) {
            prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
            prop_assert_eq!(e.code, "invalid_checksum");
        }
    }

    #[test]
    fn upload_checksum_reads_back_the_digest_or_refuses_a_wrong_length(
        algorithm in prop::sample::select(vec!["crc32", "sha1", "sha256", "md5", "SHA1", ""]),
        digest in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let value = HeaderValue::from_str(&format!("{algorithm} {}", b64(&digest))).unwrap();
        let parsed = parse_checksum(&with(&UPLOAD_CHECKSUM, value));
        let expected_len = match algorithm {
            "crc32" => Some(4),
            "sha1" => Some(20),
            "sha256" => Some(32),
            _ => None,
        };
        match (parsed, expected_len) {
            (Ok(Some(Checksum::Crc32(crc))), Some(4)) => {
                prop_assert_eq!(crc.to_be_bytes().to_vec(), digest);
            }
            (Ok(Some(Checksum::Sha1(d) | Checksum::Sha256(d))), Some(n)) => {
                prop_assert_eq!(d.len(), n);
                prop_assert_eq!(d, digest);
            }
            (Err(e), Some(n)) => {
                prop_assert!(digest.len() != n, "a right-length digest refused: {}", e.message);
                prop_assert_eq!(e.code, "invalid_checksum");
            }
            (Err(e), None) => prop_assert_eq!(e.code, "invalid_checksum"),
            (Ok(_), _) => prop_assert!(false, "{algorithm} accepted as another algorithm"),
        }
    }

    #[test]
    fn numbers_are_plain_digits_that_fit(value in header_value()) {
        let text = value.to_str().map(str::to_string).ok();
        match header_u64(&with(&UPLOAD_LENGTH, value), &UPLOAD_LENGTH) {
            Ok(Some(n)) => {
                let text = text.unwrap_or_default();
                prop_assert!(text.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(text.parse::<u64>().ok(), Some(n));
            }
            Ok(None) => prop_assert!(false, "the header was there"),
            Err(e) => {
                prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
                prop_assert_eq!(e.code, "invalid_header");
                if let Some(t) = text {
                    prop_assert!(t.parse::<u64>().is_err() || t.starts_with('+'), "{t:?}");
                }
            }
        }
    }

    #[test]
    fn any_number_reads_back(n in any::<u64>()) {
        let value = HeaderValue::from_str(&n.to_string()).unwrap();
        prop_assert_eq!(header_u64(&with(&UPLOAD_LENGTH, value), &UPLOAD_LENGTH).ok(), Some(Some(n)));
    }

    #[test]
    fn only_tus_1_0_0_is_spoken(value in header_value()) {
        let is_100 = value.as_bytes() == b"1.0.0";
        let answer = check_version(&with(&TUS_RESUMABLE, value));
        prop_assert_eq!(answer.is_ok(), is_100);
        if let Err(e) = answer {
            prop_assert_eq!(e.status, StatusCode::PRECONDITION_FAILED);
            prop_assert_eq!(e.code, "tus_version");
        }
    }

    #[test]
    fn an_upload_id_never_names_another_file(id in prop_oneof![any::<String>(), "[0-9a-f./]{30,34}"]) {
        if valid_upload_id(&id) {
            prop_assert_eq!(id.len(), 32);
            prop_assert!(!id.contains(['/', '.', '\\']));
        }
    }
}
