//! Video uploads with the tus 1.0 resumable upload protocol: core (HEAD/PATCH), creation,
//! creation-with-upload, checksum (sha1, sha256), termination and expiration.
//!
//! Bytes go to `<data>/uploads/<id>`, or with `[storage] url` to an object store's multipart
//! upload (`crate::videos::s3`); the durable offset is in the database and only moves after
//! the file is fsynced (or the bytes are in the object store), so a crash never claims bytes
//! that are not stored. A cut connection
//! keeps what arrived (unless the chunk carried a checksum, which then cannot be verified).
//!
//! Chunk checksums may be `crc32` (what the kiosk sends: it catches a damaged chunk at a
//! fraction of the cost), `sha1` (the one tus requires) or `sha256`. Whatever the chunks
//! carried, the finished upload's SHA-256 is what the kiosk compares before deleting its copy;
//! it is computed beside the writes while PATCHes arrive in order, and read back from the file
//! otherwise (after a restart or a discarded chunk).
//!
//! The disk: an appeal has at most one open upload (creating another answers the open one, so
//! a kiosk that lost the `Location` resumes instead of starting a second copy), a kiosk at most
//! `[storage] max_open_uploads_per_kiosk` (429 beyond); creation and PATCH answer 507 when the
//! bytes would leave less than `[storage] reserve_mib` free or the disk is full (the kiosk keeps
//! its video and retries); a completed upload that does not match its appeal is deleted; the
//! file of a new upload is removed again if its row cannot be stored, and `sweep` clears what a
//! kill left behind at start.

mod chunk;
mod headers;
mod room;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use senim_protocol::RefusalCode;

use super::{ApiFailure, KioskAuth};
use crate::db::{self, UploadRow};
use crate::state::AppState;
use crate::uploads::RunningHash;
use chunk::write_chunk;
use headers::*;
use room::{check_room, expire_replaced, new_upload};
use tokio::sync::OwnedMutexGuard;

pub use headers::UPLOAD_SHA256;
pub use sweep::{sweep_at_start, sweep_expired, StartSweep};

/// Loads an upload that belongs to this kiosk, or 404 / 410.
async fn owned_upload(
    state: &Arc<AppState>,
    kiosk: &KioskAuth,
    id: &str,
) -> Result<UploadRow, ApiFailure> {
    let not_found = || {
        tus_failure(
            StatusCode::NOT_FOUND,
            "upload_unknown",
            "no such upload; create a new one with POST /api/v1/uploads/",
        )
    };
    if !valid_upload_id(id) {
        return Err(not_found());
    }
    let key = id.to_string();
    let row = db::read(&state.db, move |c| db::get_upload(c, &key))
        .await?
        .filter(|row| row.kiosk_id == kiosk.kiosk_id)
        .ok_or_else(not_found)?;
    if row.expired {
        return Err(tus_failure(
            StatusCode::GONE,
            "upload_expired",
            "this upload expired before it was finished; create a new one",
        ));
    }
    Ok(row)
}

/// Server capabilities.
#[utoipa::path(
    options, path = "/api/v1/uploads/", tag = "uploads",
    responses((status = 204, description = "tus capabilities in the headers",
        headers(("Tus-Version" = String), ("Tus-Extension" = String), ("Tus-Max-Size" = u64),
                ("Tus-Checksum-Algorithm" = String))))
)]
pub async fn options(State(state): State<Arc<AppState>>) -> Response {
    let max = state.config.uploads.max_mib * 1024 * 1024;
    (
        StatusCode::NO_CONTENT,
        [
            (
                TUS_RESUMABLE,
                HeaderValue::from_static(senim_protocol::TUS_VERSION),
            ),
            (
                HeaderName::from_static("tus-version"),
                HeaderValue::from_static(senim_protocol::TUS_VERSION),
            ),
            (
                HeaderName::from_static("tus-extension"),
                HeaderValue::from_static(EXTENSIONS),
            ),
            (
                HeaderName::from_static("tus-max-size"),
                HeaderValue::from(max),
            ),
            (
                HeaderName::from_static("tus-checksum-algorithm"),
                HeaderValue::from_static(CHECKSUM_ALGORITHMS),
            ),
        ],
    )
        .into_response()
}

/// Create an upload for an appeal's video (optionally with its first bytes).
#[utoipa::path(
    post, path = "/api/v1/uploads/", tag = "uploads",
    security(("kiosk_token" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Length" = u64, Header, description = "The video's size in bytes"),
        ("Upload-Metadata" = String, Header, description = "Must carry `appeal_id` (base64) of an appeal this kiosk sent"),
        ("Upload-Checksum" = Option<String>, Header, description = "For bytes sent with the creation: `crc32 <base64 of 4 bytes, big-endian>`, `sha1 <base64>` or `sha256 <base64>`"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "Optional first bytes (creation-with-upload)"),
    responses(
        (status = 201, description = "Created; or, when the appeal already has an unfinished upload, that one (resume it from `Upload-Offset`)", headers(("Location" = String), ("Upload-Offset" = u64), ("Upload-Expires" = String))),
        (status = 400, body = senim_protocol::ApiError),
        (status = 401, body = senim_protocol::ApiError),
        (status = 409, description = "The appeal already has its video (`video_already_received`)", body = senim_protocol::ApiError),
        (status = 412, description = "Unsupported tus version"),
        (status = 413, description = "Upload-Length above Tus-Max-Size", body = senim_protocol::ApiError),
        (status = 422, description = "No such appeal from this kiosk (`appeal_unknown`)", body = senim_protocol::ApiError),
        (status = 429, description = "The kiosk has `[storage] max_open_uploads_per_kiosk` unfinished uploads (`too_many_uploads`); try again later", body = senim_protocol::ApiError),
        (status = 460, description = "Checksum mismatch", body = senim_protocol::ApiError),
        (status = 507, description = "The server's disk is below its free-space reserve (`insufficient_storage`): not a refusal for good, keep the video and try again later", body = senim_protocol::ApiError),
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    check_version(&headers)?;
    if headers.contains_key(&UPLOAD_DEFER_LENGTH) {
        return Err(tus_failure(
            StatusCode::BAD_REQUEST,
            "defer_length",
            "Upload-Defer-Length is not supported; send Upload-Length",
        ));
    }
    let length = header_u64(&headers, &UPLOAD_LENGTH)?.ok_or_else(|| {
        tus_failure(
            StatusCode::BAD_REQUEST,
            "missing_length",
            "send Upload-Length with the video's size in bytes",
        )
    })?;
    let max = state.config.uploads.max_mib * 1024 * 1024;
    if length > max {
        return Err(tus_refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            RefusalCode::TooLarge,
            format!("a video may be at most {max} bytes (Tus-Max-Size)"),
        ));
    }
    let raw_metadata = headers
        .get(&UPLOAD_METADATA)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let metadata = parse_metadata(&raw_metadata)?;
    let appeal_id = metadata
        .get("appeal_id")
        .filter(|id| senim_protocol::valid_appeal_id(id))
        .cloned()
        .ok_or_else(|| {
            tus_refusal(
                StatusCode::BAD_REQUEST,
                RefusalCode::InvalidMetadata,
                "Upload-Metadata must carry appeal_id, the appeal's number (A-XXXXXXXX)",
            )
        })?;
    let checksum = parse_checksum(&headers)?;
    let (kiosk_id, appeal) = (kiosk.kiosk_id.clone(), appeal_id.clone());
    let appeal = db::read(&state.db, move |c| {
        db::appeal_for_upload(c, &appeal, &kiosk_id)
    })
    .await?
    .ok_or_else(|| {
        tus_refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            RefusalCode::AppealUnknown,
            "this kiosk sent no appeal with that number; send the appeal record first",
        )
    })?;
    if appeal.has_video {
        return Err(tus_failure(
            StatusCode::CONFLICT,
            "video_already_received",
            "this appeal's video is already complete on the server",
        ));
    }
    if appeal.expected_bytes.is_some_and(|b| b != length) {
        return Err(tus_refusal(
            StatusCode::BAD_REQUEST,
            RefusalCode::LengthMismatch,
            "Upload-Length differs from the video size in the appeal record",
        ));
    }

    let with_body = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == OFFSET_OCTET_STREAM.as_bytes());

    // The appeal's open upload, if it has one: answered again (the kiosk resumes it).
    let appeal = appeal_id.clone();
    let open = db::read(&state.db, move |c| db::open_upload(c, &appeal)).await?;
    let open = match open {
        // Another size (only when the appeal record declared none), or made under another
        // token of the kiosk (re-enrolled): the old try is replaced.
        Some(row) if row.length != length || row.kiosk_id != kiosk.kiosk_id => {
            expire_replaced(&state, row).await?;
            None
        }
        other => other,
    };
    let (row, new) = match open {
        Some(row) => (row, false),
        None => (
            new_upload(&state, &kiosk, &appeal_id, length, &raw_metadata).await?,
            true,
        ),
    };
    let expires = db::parse_ts(&row.expires_at).unwrap_or_else(Utc::now);
    let mut response = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/api/v1/uploads/{}", row.id))
        .header(TUS_RESUMABLE, senim_protocol::TUS_VERSION)
        .header(UPLOAD_EXPIRES, http_date(expires));
    if !new {
        tracing::info!(kiosk = %kiosk.kiosk_id, upload = %row.id, "open upload answered again");
    }
    if with_body {
        let slot = state.upload_locks().get(&row.id).lock_owned().await;
        let row = owned_upload(&state, &kiosk, &row.id).await?;
        // An open upload that already holds bytes keeps them: its offset says where to go on.
        let offset = if row.offset == 0 && !row.completed {
            write_chunk(&state, row, checksum, body, slot).await?
        } else {
            row.offset
        };
        response = response.header(UPLOAD_OFFSET, offset);
    } else if !new {
        response = response.header(UPLOAD_OFFSET, row.offset);
    }
    Ok(response.body(Body::empty()).unwrap_or_default())
}

/// Learn how many bytes the server holds (resume from there).
#[utoipa::path(
    head, path = "/api/v1/uploads/{id}", tag = "uploads",
    security(("kiosk_token" = [])),
    params(("id" = String, Path), ("Tus-Resumable" = String, Header)),
    responses(
        (status = 200, description = "Upload state in the headers", headers(("Upload-Offset" = u64), ("Upload-Length" = u64), ("Upload-Expires" = String), ("Senim-Upload-Sha256" = String, description = "Once complete"))),
        (status = 404, description = "No such upload for this kiosk"),
        (status = 410, description = "Expired"),
    )
)]
pub async fn head(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    check_version(&headers)?;
    owned_upload(&state, &kiosk, &id).await?;
    let lock = state.upload_locks().get(&id);
    let _guard = lock.lock().await;
    let row = owned_upload(&state, &kiosk, &id).await?;
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(TUS_RESUMABLE, senim_protocol::TUS_VERSION)
        .header(UPLOAD_OFFSET, row.offset)
        .header(UPLOAD_LENGTH, row.length)
        .header(header::CACHE_CONTROL, "no-store");
    if !row.metadata.is_empty() {
        response = response.header(UPLOAD_METADATA, row.metadata.as_str());
    }
    if let Some(sha) = &row.sha256 {
        response = response.header(UPLOAD_SHA256, sha.as_str());
    } else if let Some(expires) = db::parse_ts(&row.expires_at) {
        response = response.header(UPLOAD_EXPIRES, http_date(expires));
    }
    Ok(response.body(Body::empty()).unwrap_or_default())
}

/// Append bytes at `Upload-Offset`.
#[utoipa::path(
    patch, path = "/api/v1/uploads/{id}", tag = "uploads",
    security(("kiosk_token" = [])),
    params(
        ("id" = String, Path),
        ("Tus-Resumable" = String, Header),
        ("Upload-Offset" = u64, Header, description = "Must equal the server's offset"),
        ("Upload-Checksum" = Option<String>, Header, description = "`crc32 <base64 of 4 bytes, big-endian>`, `sha1 <base64>` or `sha256 <base64>` of this chunk"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored", headers(("Upload-Offset" = u64), ("Upload-Expires" = String))),
        (status = 400, body = senim_protocol::ApiError),
        (status = 404, description = "No such upload for this kiosk"),
        (status = 409, description = "Upload-Offset differs from the server's (`offset_mismatch`)", body = senim_protocol::ApiError),
        (status = 410, description = "Expired"),
        (status = 413, description = "More bytes than Upload-Length", body = senim_protocol::ApiError),
        (status = 415, description = "Content-Type is not application/offset+octet-stream"),
        (status = 460, description = "Checksum mismatch; the chunk was discarded", body = senim_protocol::ApiError),
        (status = 503, description = "The server lost this upload's bytes (`upload_lost`); it is expired now: HEAD answers 410, create a new one", body = senim_protocol::ApiError),
        (status = 507, description = "The server's disk is below its free-space reserve or full (`insufficient_storage`); nothing of the chunk was kept: keep the video and try again later", body = senim_protocol::ApiError),
    )
)]
pub async fn patch(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiFailure> {
    // A refusal may come before the body was read, or half way through it: that connection
    // cannot carry another request, so the answer says `Connection: close` and the kiosk's
    // client opens a new one instead of reusing one the server is closing (which the client
    // would see as an incomplete message). A refusal before the body was read reads it away
    // first (a kiosk's chunk, at most 16 MiB), or the kiosk, still sending, would see a broken
    // pipe instead of the answer.
    let close =
        |f: ApiFailure| f.with_header(header::CONNECTION, HeaderValue::from_static("close"));
    let (row, checksum, slot) = match check_chunk(&state, &kiosk, &id, &headers).await {
        Ok(checked) => checked,
        Err(refusal) => {
            let sent = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let idle = Duration::from_secs(state.config.uploads.idle_timeout_secs);
            chunk::drain(body, sent, idle).await;
            return Err(close(refusal));
        }
    };
    let new_offset = write_chunk(&state, row, checksum, body, slot)
        .await
        .map_err(close)?;
    let expires =
        Utc::now() + chrono::Duration::hours(i64::from(state.config.uploads.expire_hours));
    Ok((
        StatusCode::NO_CONTENT,
        [
            (
                TUS_RESUMABLE,
                HeaderValue::from_static(senim_protocol::TUS_VERSION),
            ),
            (UPLOAD_OFFSET, HeaderValue::from(new_offset)),
            (UPLOAD_EXPIRES, http_date(expires)),
        ],
    )
        .into_response())
}

/// Everything a chunk is checked for before its bytes are read: the upload (locked for this
/// chunk), its checksum, and the offset and room it must fit.
async fn check_chunk(
    state: &Arc<AppState>,
    kiosk: &KioskAuth,
    id: &str,
    headers: &HeaderMap,
) -> Result<
    (
        UploadRow,
        Option<Checksum>,
        OwnedMutexGuard<Option<RunningHash>>,
    ),
    ApiFailure,
> {
    check_version(headers)?;
    let content_type_ok = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == OFFSET_OCTET_STREAM.as_bytes());
    if !content_type_ok {
        return Err(tus_failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "send PATCH bodies with Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = header_u64(headers, &UPLOAD_OFFSET)?.ok_or_else(|| {
        tus_failure(
            StatusCode::BAD_REQUEST,
            "missing_offset",
            "send Upload-Offset (learn it with HEAD)",
        )
    })?;
    let checksum = parse_checksum(headers)?;
    owned_upload(state, kiosk, id).await?;
    let slot = state.upload_locks().get(id).lock_owned().await;
    let row = owned_upload(state, kiosk, id).await?;
    if offset != row.offset {
        return Err(tus_failure(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!(
                "the server holds {} bytes of this upload, not {offset}; resume from there",
                row.offset
            ),
        )
        .with_header(UPLOAD_OFFSET, HeaderValue::from(row.offset)));
    }
    // A streamed body (no Content-Length) is checked against the reserve alone; a disk that
    // fills under it fails the write, which answers 507 as well.
    let incoming = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        .min(row.length - row.offset);
    check_room(state, incoming)?;
    Ok((row, checksum, slot))
}

/// Abandon an upload and delete its bytes.
#[utoipa::path(
    delete, path = "/api/v1/uploads/{id}", tag = "uploads",
    security(("kiosk_token" = [])),
    params(("id" = String, Path), ("Tus-Resumable" = String, Header)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such upload for this kiosk"),
        (status = 409, description = "This upload is an appeal's received video (`video_attached`)", body = senim_protocol::ApiError),
    )
)]
pub async fn terminate(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    check_version(&headers)?;
    owned_upload(&state, &kiosk, &id).await?;
    let lock = state.upload_locks().get(&id);
    let _guard = lock.lock().await;
    let row = owned_upload(&state, &kiosk, &id).await?;
    let key = row.id.clone();
    let attached = db::read(&state.db, move |c| db::upload_attached(c, &key)).await?;
    if attached {
        return Err(tus_refusal(
            StatusCode::CONFLICT,
            RefusalCode::VideoAttached,
            "this upload is the received video of its appeal and cannot be deleted by a kiosk",
        ));
    }
    let key = row.id.clone();
    db::write(&state.db, move |tx| db::delete_upload(tx, &key)).await?;
    chunk::remove_bytes(&state, &row.id).await?;
    state.upload_locks().forget(&row.id);
    tracing::info!(kiosk = %kiosk.kiosk_id, upload = %row.id, "upload terminated");
    Ok((
        StatusCode::NO_CONTENT,
        [(
            TUS_RESUMABLE,
            HeaderValue::from_static(senim_protocol::TUS_VERSION),
        )],
    )
        .into_response())
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets;

    #[test]
    fn metadata_pairs_are_decoded_and_bad_ones_refused() {
        let m =
            parse_metadata("appeal_id QS03UTJNOVhLMw==,filename dmlkZW8ud2VibQ==,flag").unwrap();
        assert_eq!(m["appeal_id"], "A-7Q2M9XK3");
        assert_eq!(m["filename"], "video.webm");
        assert_eq!(m["flag"], "");
        assert!(parse_metadata("appeal_id not*base64").is_err());
        assert!(parse_metadata("a YQ==,a YQ==").is_err(), "duplicate keys");
    }

    #[test]
    fn upload_ids_cannot_name_other_files() {
        assert!(valid_upload_id(&secrets::upload_id()));
        assert!(!valid_upload_id("../../senim.sqlite3"));
        assert!(!valid_upload_id("0123456789abcdef0123456789abcdeF"));
    }
}
