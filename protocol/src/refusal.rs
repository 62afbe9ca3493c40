//! The call-centre's documented "refused for good" error codes: the closed list of
//! [`crate::ApiError::error`] codes that mean "this request (this record, this video, this
//! enrolment code) will never be accepted as it is". A kiosk parks an item only on one of
//! these, in a JSON body from the API; any other answer — another code, a 5xx, a proxy's
//! HTML 403 or 404, something that is not JSON — is a transient failure, retried with back-off.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Refused for good: the `error` codes of an `ApiError` with which the call-centre says a
/// request will never be accepted as sent. Retrying it unchanged cannot help, so a kiosk parks
/// the record or video (kept, with the reason, for a technician) and delivers the next one.
/// Any other code, status or body is transient and retried with back-off.
///
/// Enrolment: `invalid_code` (400, not an enrolment code), `code_unknown`, `code_used`,
/// `code_expired` (403). Any JSON body: `invalid_body` (400, a field or value this server does
/// not know), `too_large` (413, the body, one record or the video is too large). Records:
/// `invalid_record`, `invalid_key` (400), `idempotency_conflict` (422, the key was stored with
/// another body), `appeal_id_conflict` (422, the number belongs to another appeal). Uploads:
/// `invalid_metadata`, `length_mismatch` (400), `appeal_unknown` (422, this kiosk sent no
/// appeal with that number), `video_attached` (409, on termination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// `400` on enrolment: the text is not an enrolment code.
    InvalidCode,
    /// `403` on enrolment: the code is not known here.
    CodeUnknown,
    /// `403` on enrolment: the code was already used.
    CodeUsed,
    /// `403` on enrolment: the code has expired.
    CodeExpired,
    /// `400`: the JSON does not match the API (a field or value this server does not know).
    InvalidBody,
    /// `400` on records: a record's fields are wrong (named in the message).
    InvalidRecord,
    /// `400` on records: an idempotency key has the wrong shape.
    InvalidKey,
    /// `422` on records: the key was stored before with a different body.
    IdempotencyConflict,
    /// `422` on records: the appeal number belongs to another appeal.
    AppealIdConflict,
    /// `413`: the body, a single record or the video is larger than the server accepts.
    TooLarge,
    /// `400` on upload creation: `Upload-Metadata` lacks a valid `appeal_id`.
    InvalidMetadata,
    /// `422` on upload creation: this kiosk sent no appeal with that number.
    AppealUnknown,
    /// `400` on upload creation: `Upload-Length` differs from the appeal record's video size.
    LengthMismatch,
    /// `409` on upload termination: the upload is an appeal's received video.
    VideoAttached,
}

impl RefusalCode {
    /// The whole closed list, in the order documented above.
    pub const ALL: [RefusalCode; 14] = [
        RefusalCode::InvalidCode,
        RefusalCode::CodeUnknown,
        RefusalCode::CodeUsed,
        RefusalCode::CodeExpired,
        RefusalCode::InvalidBody,
        RefusalCode::InvalidRecord,
        RefusalCode::InvalidKey,
        RefusalCode::IdempotencyConflict,
        RefusalCode::AppealIdConflict,
        RefusalCode::TooLarge,
        RefusalCode::InvalidMetadata,
        RefusalCode::AppealUnknown,
        RefusalCode::LengthMismatch,
        RefusalCode::VideoAttached,
    ];

    /// The code as it appears in the JSON body's `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::InvalidCode => "invalid_code",
            RefusalCode::CodeUnknown => "code_unknown",
            RefusalCode::CodeUsed => "code_used",
            RefusalCode::CodeExpired => "code_expired",
            RefusalCode::InvalidBody => "invalid_body",
            RefusalCode::InvalidRecord => "invalid_record",
            RefusalCode::InvalidKey => "invalid_key",
            RefusalCode::IdempotencyConflict => "idempotency_conflict",
            RefusalCode::AppealIdConflict => "appeal_id_conflict",
            RefusalCode::TooLarge => "too_large",
            RefusalCode::InvalidMetadata => "invalid_metadata",
            RefusalCode::AppealUnknown => "appeal_unknown",
            RefusalCode::LengthMismatch => "length_mismatch",
            RefusalCode::VideoAttached => "video_attached",
        }
    }

    /// One of the documented codes, or `None` for any other text.
    pub fn parse(code: &str) -> Option<RefusalCode> {
        RefusalCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// Whether `code` (an [`crate::ApiError::error`]) means "refused for good".
pub fn refused_for_good(code: &str) -> bool {
    RefusalCode::parse(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_reads_and_writes_as_documented() {
        for code in RefusalCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(RefusalCode::parse(code.as_str()), Some(code));
            assert!(refused_for_good(code.as_str()));
        }
        // Transient or handled codes are not on it.
        for other in [
            "internal",
            "unauthorized",
            "revoked",
            "offset_mismatch",
            "checksum_mismatch",
            "upload_expired",
            "insufficient_storage",
            "http_403",
            "",
        ] {
            assert!(!refused_for_good(other), "{other}");
        }
    }
}
