//! The tus protocol's headers: names, the version check, numbers, `Upload-Metadata`,
//! `Upload-Checksum`, HTTP dates, and the failures that carry `Tus-Resumable`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine;
use chrono::Utc;

use crate::api::ApiFailure;

pub(super) const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub(super) const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub(super) const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub(super) const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
pub(super) const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
pub(super) const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");
pub(super) const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
/// Set on HEAD once an upload is complete: the SHA-256 of what the server holds, so the kiosk
/// can compare before deleting its copy.
pub const UPLOAD_SHA256: HeaderName = HeaderName::from_static("senim-upload-sha256");
pub(super) const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
pub(super) const EXTENSIONS: &str = "creation,creation-with-upload,checksum,termination,expiration";
pub(super) const CHECKSUM_ALGORITHMS: &str = "crc32,sha1,sha256";

pub(super) fn resumable() -> (HeaderName, HeaderValue) {
    (
        TUS_RESUMABLE,
        HeaderValue::from_static(senim_protocol::TUS_VERSION),
    )
}

pub(super) fn tus_failure(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> ApiFailure {
    let (name, value) = resumable();
    ApiFailure::new(status, code, message).with_header(name, value)
}

/// A tus answer refusing for good (one of the documented [`senim_protocol::RefusalCode`]s).
pub(super) fn tus_refusal(
    status: StatusCode,
    code: senim_protocol::RefusalCode,
    message: impl Into<String>,
) -> ApiFailure {
    let (name, value) = resumable();
    ApiFailure::refused(status, code, message).with_header(name, value)
}

/// Seconds a kiosk is told to wait (`Retry-After`) when the disk is nearly full.
pub(super) const FULL_DISK_RETRY_SECS: u32 = 600;

/// 507 `insufficient_storage`: the call-centre's disk is (nearly) full. Not a refusal for good:
/// the kiosk keeps its video and tries again later.
pub(super) fn insufficient_storage() -> ApiFailure {
    tus_failure(
        StatusCode::INSUFFICIENT_STORAGE,
        "insufficient_storage",
        "the call-centre's disk is nearly full; keep the video and try again later \
         (the call-centre's administrator must free space or raise the disk)",
    )
    .with_header(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from(FULL_DISK_RETRY_SECS),
    )
}

/// Every tus request but OPTIONS names the protocol version.
pub(super) fn check_version(headers: &HeaderMap) -> Result<(), ApiFailure> {
    match headers.get(&TUS_RESUMABLE).and_then(|v| v.to_str().ok()) {
        Some(senim_protocol::TUS_VERSION) => Ok(()),
        _ => Err(tus_failure(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            "send Tus-Resumable: 1.0.0; this server speaks tus 1.0.0 only",
        )
        .with_header(
            HeaderName::from_static("tus-version"),
            HeaderValue::from_static(senim_protocol::TUS_VERSION),
        )),
    }
}

pub(super) fn header_u64(
    headers: &HeaderMap,
    name: &HeaderName,
) -> Result<Option<u64>, ApiFailure> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                tus_failure(
                    StatusCode::BAD_REQUEST,
                    "invalid_header",
                    format!("{name} must be a non-negative whole number"),
                )
            }),
    }
}

/// Parses `Upload-Metadata` (`key base64,key base64`).
pub(super) fn parse_metadata(raw: &str) -> Result<HashMap<String, String>, ApiFailure> {
    let bad = || {
        tus_refusal(
            StatusCode::BAD_REQUEST,
            senim_protocol::RefusalCode::InvalidMetadata,
            "Upload-Metadata is comma-separated `key base64value` pairs and must carry appeal_id",
        )
    };
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, ' ');
        let key = parts.next().ok_or_else(bad)?;
        let value = match parts.next() {
            Some(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|_| bad())?;
                String::from_utf8(bytes).map_err(|_| bad())?
            }
            None => String::new(),
        };
        if key.is_empty() || out.insert(key.to_string(), value).is_some() {
            return Err(bad());
        }
    }
    Ok(out)
}

/// A chunk checksum from `Upload-Checksum`.
pub(super) enum Checksum {
    /// CRC-32 (IEEE, as in gzip), four bytes big-endian.
    Crc32(u32),
    Sha1(Vec<u8>),
    Sha256(Vec<u8>),
}

pub(super) fn parse_checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiFailure> {
    let Some(raw) = headers.get(&UPLOAD_CHECKSUM) else {
        return Ok(None);
    };
    let bad = |message: &str| tus_failure(StatusCode::BAD_REQUEST, "invalid_checksum", message);
    let raw = raw
        .to_str()
        .map_err(|_| bad("Upload-Checksum is `algorithm base64digest`"))?;
    let (algo, digest) = raw
        .split_once(' ')
        .ok_or_else(|| bad("Upload-Checksum is `algorithm base64digest`"))?;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .map_err(|_| bad("the Upload-Checksum digest is not base64"))?;
    match algo {
        "crc32" => match <[u8; 4]>::try_from(digest.as_slice()) {
            Ok(b) => Ok(Some(Checksum::Crc32(u32::from_be_bytes(b)))),
            Err(_) => Err(bad("the Upload-Checksum digest has the wrong length")),
        },
        "sha1" if digest.len() == 20 => Ok(Some(Checksum::Sha1(digest))),
        "sha256" if digest.len() == 32 => Ok(Some(Checksum::Sha256(digest))),
        "sha1" | "sha256" => Err(bad("the Upload-Checksum digest has the wrong length")),
        _ => Err(bad(
            "unsupported checksum algorithm; use crc32, sha1 or sha256 (see Tus-Checksum-Algorithm)",
        )),
    }
}

pub(super) fn http_date(t: chrono::DateTime<Utc>) -> HeaderValue {
    let system = SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp().max(0) as u64);
    HeaderValue::from_str(&httpdate::fmt_http_date(system))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(super) fn valid_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
