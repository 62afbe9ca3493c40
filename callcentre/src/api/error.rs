//! The one place API failures become HTTP responses: a status, a stable code and a sentence
//! saying how to fix it. Internal errors are logged here and never sent to the kiosk. A
//! permanent refusal ("refused for good": the kiosk parks the item) is made only with
//! [`ApiFailure::refused`] and one of the documented [`RefusalCode`]s; every other code is
//! transient for the kiosk.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use senim_protocol::{ApiError, RefusalCode};

use crate::db::DbError;

/// A refused or failed API request.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiFailure {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiFailure {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Refused for good: the request will never be accepted as sent, and the kiosk parks it.
    pub fn refused(status: StatusCode, code: RefusalCode, message: impl Into<String>) -> Self {
        Self::new(status, code.as_str(), message)
    }

    /// `400` refused for good (see [`ApiFailure::refused`]).
    pub fn invalid(code: RefusalCode, message: impl Into<String>) -> Self {
        Self::refused(StatusCode::BAD_REQUEST, code, message)
    }

    /// Whether the kiosk will read this as "refused for good".
    pub fn is_refusal(&self) -> bool {
        RefusalCode::parse(self.code).is_some()
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with the token the kiosk got at enrolment",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// Adds a response header (tus answers carry their own).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl From<DbError> for ApiFailure {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "database failure while serving a kiosk");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete this; it is logged there. Retry later",
        )
    }
}

impl From<std::io::Error> for ApiFailure {
    fn from(e: std::io::Error) -> Self {
        tracing::error!(error = %e, "file failure while serving a kiosk");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete this; it is logged there. Retry later",
        )
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ApiError {
                error: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal for good is made only through [`ApiFailure::refused`] with a
    /// [`RefusalCode`]: no handler writes one of those codes as a plain string (where it
    /// could drift from the documented list), and no other code reads as a refusal.
    #[test]
    fn refusal_codes_are_written_only_through_the_documented_list() {
        let sources = [
            ("api/mod.rs", include_str!("mod.rs")),
            ("api/call.rs", include_str!("call.rs")),
            ("api/error.rs", include_str!("error.rs")),
            ("api/tus/mod.rs", include_str!("tus/mod.rs")),
            ("api/tus/chunk.rs", include_str!("tus/chunk.rs")),
            ("api/tus/headers.rs", include_str!("tus/headers.rs")),
        ];
        for (file, text) in sources {
            for code in RefusalCode::ALL {
                let literal = format!("\"{}\"", code.as_str());
                assert!(
                    !text.contains(&literal),
                    "{file} writes the refusal code {literal} as a plain string; use \
                     ApiFailure::refused(status, RefusalCode::{code:?}, …)"
                );
            }
        }
        let refused = ApiFailure::invalid(RefusalCode::InvalidRecord, "m");
        assert!(refused.is_refusal());
        assert_eq!(refused.code, RefusalCode::InvalidRecord.as_str());
        assert!(!ApiFailure::unauthorized().is_refusal());
        assert!(!ApiFailure::bad_request("invalid_batch", "m").is_refusal());
    }
}
