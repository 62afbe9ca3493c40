//! System updates in the kiosk API: the bounds of a heartbeat's image version and update
//! report, and `GET /api/v1/updates/{sha256}` serving a published bundle with `Range`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use senim_protocol::{ApiError, Heartbeat, RefusalCode, MAX_UPDATE_MESSAGE_CHARS};

use super::{ApiFailure, KioskAuth};
use crate::state::AppState;
use crate::videos::VideoError;

/// The image version and update report of a heartbeat, within the documented bounds.
pub(super) fn check_fields(beat: &Heartbeat) -> Result<(), ApiFailure> {
    if beat
        .versions
        .image
        .as_deref()
        .is_some_and(|v| !senim_protocol::valid_image_version(v))
    {
        return Err(ApiFailure::invalid(
            RefusalCode::InvalidBody,
            "versions.image is IMAGE_VERSION from /etc/os-release: 1 to 64 of letters, digits \
             and . - _ + ~",
        ));
    }
    if let Some(report) = &beat.update {
        let chars = report.message.as_ref().map_or(0, |m| m.chars().count());
        if !senim_protocol::valid_image_version(&report.version)
            || report.progress_percent.is_some_and(|p| p > 100)
            || chars > MAX_UPDATE_MESSAGE_CHARS
        {
            return Err(ApiFailure::invalid(
                RefusalCode::InvalidBody,
                format!(
                    "update: version as offered, progress_percent 0 to 100, message at most \
                     {MAX_UPDATE_MESSAGE_CHARS} characters"
                ),
            ));
        }
    }
    Ok(())
}

/// A published system-update bundle, as offered in a heartbeat answer. Supports `Range`
/// (`206 Partial Content`), so a download cut off resumes where it stopped.
#[utoipa::path(
    get, path = "/api/v1/updates/{sha256}", tag = "kiosk",
    params(("sha256" = String, Path, description = "The bundle's SHA-256, as in the offer")),
    security(("kiosk_token" = [])),
    responses(
        (status = 200, description = "The whole bundle (`application/octet-stream`)"),
        (status = 206, description = "The requested range of it"),
        (status = 401, body = ApiError),
        (status = 404, description = "No such bundle for this kiosk's site (`no_update`)", body = ApiError),
        (status = 416, description = "The range is outside the bundle"),
        (status = 503, description = "The object store holding the bundle does not answer now (`storage_unavailable`); try again later", body = ApiError),
    )
)]
pub(super) async fn bundle(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    axum::extract::Path(sha256): axum::extract::Path<String>,
    request: Request,
) -> Result<Response, ApiFailure> {
    use tower::ServiceExt;
    let not_found = || {
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            "no_update",
            "no such update is published for this kiosk's site; the heartbeat answer names \
             the one to fetch",
        )
    };
    if !crate::updates::valid_sha256(&sha256) || state.bundle_for(&sha256, &kiosk.site).is_none() {
        return Err(not_found());
    }
    let path = crate::updates::bundle_path(&state.data_dir, &sha256);
    // Published on another server: the object store has it (`update publish` sent it there).
    if !path.is_file() {
        if let Ok(Some(s3)) = state.videos.object_store() {
            let key = s3.bundle_key(&sha256);
            let served = s3
                .serve_object(&key, "application/octet-stream", request.headers())
                .await;
            return match served {
                Ok(r) => Ok(r),
                Err(VideoError::Store(object_store::Error::NotFound { .. })) => Err(not_found()),
                Err(e) => {
                    tracing::warn!(error = %e, "an update bundle cannot be read from the object store");
                    Err(ApiFailure::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_unavailable",
                        "the update cannot be read now; try again later",
                    ))
                }
            };
        }
    }
    let service =
        tower_http::services::ServeFile::new_with_mime(path, &mime::APPLICATION_OCTET_STREAM);
    match service.oneshot(request).await {
        Ok(r) if r.status() == StatusCode::NOT_FOUND => Err(not_found()),
        Ok(r) => Ok(r.map(axum::body::Body::new)),
        Err(never) => match never {},
    }
}
