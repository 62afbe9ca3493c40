//! The kiosk API under `/api/v1`: enrolment, heartbeat, presence, consultant calls, record
//! batches, catalogue, update bundles (`updates.rs`), tus uploads, and the OpenAPI document generated from these very handlers.

pub mod call;
mod check;
pub mod error;
pub mod health;
pub mod tus;
mod updates;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use senim_protocol::{
    ApiError, CatalogDocument, ConsultantCall, EnrolRequest, EnrolResponse, Heartbeat,
    HeartbeatResponse, KioskState, Presence, RecordBatch, RecordBatchResponse, RecordBody,
    RefusalCode, MAX_BATCH_RECORDS, MAX_CATALOG_PROBLEM_CHARS,
};
use sha2::{Digest, Sha256};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::{self, BatchConflict, CodeProblem, TokenLookup};
use crate::secrets;
use crate::state::{AppState, LiveEvent};
pub use error::ApiFailure;

/// The document's frame; paths and schemas are added from the handlers below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Senim kiosk API",
        description = "What Senim kiosks send to the call-centre backend. Every request but \
            enrolment and OPTIONS carries `Authorization: Bearer <token>` from enrolment. \
            Errors are `ApiError` JSON bodies. A request is refused for good only by an \
            `ApiError` whose `error` is one of `RefusalCode` (a closed list): the kiosk then \
            parks that record or video, keeps it with the reason and sends the next. Any other \
            answer — another code, a 5xx, a body that is not this JSON (a proxy's page) — is \
            transient: the kiosk keeps the item and retries with back-off.",
        license(name = "GPL-3.0-only")
    ),
    components(schemas(ApiError, RefusalCode)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "kiosk_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The kiosk API routes and the OpenAPI document describing exactly them.
pub fn router() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(enrol))
        .routes(routes!(heartbeat))
        .routes(routes!(presence))
        .routes(routes!(consultant))
        .routes(routes!(records))
        .routes(routes!(catalog))
        .routes(routes!(updates::bundle))
        .routes(routes!(tus::options, tus::create))
        .routes(routes!(tus::head, tus::patch, tus::terminate))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    (router, doc)
}

/// The document as served and as checked in at `callcentre/openapi.json`.
pub fn openapi_json() -> String {
    let (_, doc) = router();
    let mut text = doc.to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// JSON body extractor whose refusals are [`ApiFailure`]s with a clear message.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiFailure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not_json",
                "send the body as JSON with Content-Type: application/json",
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiFailure::invalid(
                RefusalCode::InvalidBody,
                format!("the JSON does not match the API: {}", e.body_text()),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiFailure::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            )),
            Err(JsonRejection::BytesRejection(_)) => Err(ApiFailure::refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                RefusalCode::TooLarge,
                "the body is larger than the server accepts; send fewer records per batch",
            )),
            Err(other) => Err(ApiFailure::invalid(
                RefusalCode::InvalidBody,
                other.body_text(),
            )),
        }
    }
}

/// An enrolled, not revoked kiosk, from its bearer token.
#[derive(Debug, Clone)]
pub struct KioskAuth {
    pub kiosk_id: String,
    pub site: String,
}

impl FromRequestParts<Arc<AppState>> for KioskAuth {
    type Rejection = ApiFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(ApiFailure::unauthorized)?;
        let hash = secrets::sha256_hex(token.as_bytes());
        match db::read(&state.db, move |c| db::kiosk_by_token(c, &hash)).await? {
            TokenLookup::Kiosk { kiosk_id, site } => Ok(KioskAuth { kiosk_id, site }),
            TokenLookup::Revoked { kiosk_id } => {
                tracing::info!(kiosk = %kiosk_id, "request from a revoked kiosk refused");
                Err(ApiFailure::new(
                    StatusCode::UNAUTHORIZED,
                    "revoked",
                    "this kiosk's enrolment was revoked; enrol it again with a new code",
                ))
            }
            TokenLookup::Unknown => Err(ApiFailure::unauthorized()),
        }
    }
}

/// Exchange a one-time enrolment code for a kiosk id and token.
#[utoipa::path(
    post, path = "/api/v1/enrol", tag = "kiosk",
    request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled; keep the token, it is shown once", body = EnrolResponse),
        (status = 400, description = "The body is not an enrolment request", body = ApiError),
        (status = 403, description = "The code is unknown, used or expired (`code_unknown`, `code_used`, `code_expired`)", body = ApiError),
    )
)]
async fn enrol(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiFailure> {
    let code = secrets::normalise_enrol_code(&req.code).ok_or_else(|| {
        ApiFailure::invalid(
            RefusalCode::InvalidCode,
            "an enrolment code is four groups of four letters and digits, e.g. 7Q2M-9XK3-...",
        )
    })?;
    let code_hash = secrets::sha256_hex(code.as_bytes());
    let token = secrets::token();
    let token_hash = secrets::sha256_hex(token.as_bytes());
    // The same machine again (it proves its previous token): it keeps its kiosk id.
    let previous = req
        .previous_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .map(|t| secrets::sha256_hex(t.as_bytes()));
    let now = Utc::now();
    let (kiosk_id, outcome, again) = db::write(&state.db, move |tx| -> Result<_, db::DbError> {
        if let Some(previous) = previous {
            if let Some((id, outcome)) =
                db::reenrol_kiosk(tx, &code_hash, now, &previous, &token_hash)?
            {
                return Ok((id, outcome, true));
            }
        }
        let id = secrets::kiosk_id();
        let outcome = db::redeem_enrol_code(tx, &code_hash, now, &id, &token_hash)?;
        Ok((id, outcome, false))
    })
    .await?;
    match outcome {
        Ok(db::Enrolled { site, mode }) => {
            tracing::info!(kiosk = %kiosk_id, site = %site, mode = mode.as_str(), again, "kiosk enrolled");
            Ok(Json(EnrolResponse {
                kiosk_id,
                token,
                site,
                mode,
                signing_key: state.signing_key.map(|k| k.to_string()),
                seal_recipient: state.seal.as_ref().map(|s| s.current().to_string()),
            }))
        }
        Err(problem) => {
            let (code, message) = match problem {
                CodeProblem::Unknown => (
                    RefusalCode::CodeUnknown,
                    "this enrolment code is not known here; check it, or make a new one with \
                     `senim-callcentre enrol-code`",
                ),
                CodeProblem::Used => (
                    RefusalCode::CodeUsed,
                    "this enrolment code was already used; make a new one with \
                     `senim-callcentre enrol-code`",
                ),
                CodeProblem::Expired => (
                    RefusalCode::CodeExpired,
                    "this enrolment code has expired; make a new one with \
                     `senim-callcentre enrol-code`",
                ),
            };
            Err(ApiFailure::refused(StatusCode::FORBIDDEN, code, message))
        }
    }
}

/// Report the kiosk's state; learn the server's time and what to fetch.
#[utoipa::path(
    post, path = "/api/v1/heartbeat", tag = "kiosk",
    request_body = Heartbeat,
    security(("kiosk_token" = [])),
    responses(
        (status = 200, body = HeartbeatResponse),
        (status = 400, body = ApiError),
        (status = 401, description = "No, wrong or revoked token (`unauthorized`, `revoked`)", body = ApiError),
    )
)]
async fn heartbeat(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    ApiJson(beat): ApiJson<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, ApiFailure> {
    if beat.devices.len() > 32
        || beat
            .devices
            .iter()
            .any(|d| d.device.len() > 32 || d.detail.as_ref().is_some_and(|s| s.len() > 200))
        || beat.versions.app.len() > 64
    {
        return Err(ApiFailure::invalid(
            RefusalCode::InvalidBody,
            "at most 32 devices, names up to 32 and details up to 200 characters",
        ));
    }
    if beat.versions.catalog.as_ref().is_some_and(|v| v.len() > 64) {
        return Err(ApiFailure::invalid(
            RefusalCode::InvalidBody,
            "versions.catalog is the version name from a heartbeat answer: at most 64 characters",
        ));
    }
    if let Some(problem) = &beat.catalog_problem {
        if problem.version.is_empty() || problem.version.len() > 64 {
            return Err(ApiFailure::invalid(
                RefusalCode::InvalidBody,
                "catalog_problem.version is the refused version's name: 1 to 64 characters",
            ));
        }
        let chars = problem.message.chars().count();
        if chars == 0 || chars > MAX_CATALOG_PROBLEM_CHARS {
            return Err(ApiFailure::invalid(
                RefusalCode::InvalidBody,
                format!(
                    "catalog_problem.message must be 1 to {MAX_CATALOG_PROBLEM_CHARS} characters \
                     (found {chars}); cut a long list of problems"
                ),
            ));
        }
    }
    updates::check_fields(&beat)?;
    if let Some(report) = beat.update.as_ref().filter(|u| u.state.is_failure()) {
        // Kept at once, before the kiosk hears "ok" and stops repeating it.
        let (id, kept) = (kiosk.kiosk_id.clone(), report.clone());
        db::write(&state.db, move |tx| db::save_update_failure(tx, &id, &kept)).await?;
        state.note_update_failed(&kiosk.kiosk_id, &report.version);
        tracing::warn!(kiosk = %kiosk.kiosk_id, version = %report.version, state = report.state.as_str(), "a kiosk reports a failed update");
    }
    let now = Utc::now();
    let update = state.update_offer(&kiosk.kiosk_id, &kiosk.site, beat.versions.image.as_deref());
    if beat.state == KioskState::Idle {
        // A kiosk back on its attract screen has nobody at it, whatever was missed.
        state.set_presence(&kiosk.kiosk_id, &kiosk.site, false, None, now);
    }
    state.record_heartbeat(&kiosk.kiosk_id, beat, now);
    Ok(Json(HeartbeatResponse {
        server_time: now,
        catalog_version: state.catalog_version(),
        operators_open: state.schedule.is_open(now),
        operators_available: state.calls.operators_available(state.schedule.is_open(now)),
        signing_key: state.signing_key.map(|k| k.to_string()),
        seal_recipient: state.seal.as_ref().map(|s| s.current().to_string()),
        update,
    }))
}

/// Someone is at the kiosk now, or has left: lights or clears the red lamp.
#[utoipa::path(
    post, path = "/api/v1/presence", tag = "kiosk",
    request_body = Presence,
    security(("kiosk_token" = [])),
    responses(
        (status = 204, description = "Noted; operators see it at once"),
        (status = 400, body = ApiError),
        (status = 401, body = ApiError),
    )
)]
async fn presence(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    ApiJson(p): ApiJson<Presence>,
) -> Result<StatusCode, ApiFailure> {
    state.set_presence(
        &kiosk.kiosk_id,
        &kiosk.site,
        p.present,
        p.journey,
        Utc::now(),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// A citizen in a service guide needs a consultant now, or no longer does. Shown live in the
/// console at any hour (centre staff, not call-centre operators, answer it).
#[utoipa::path(
    post, path = "/api/v1/consultant", tag = "kiosk",
    request_body = ConsultantCall,
    security(("kiosk_token" = [])),
    responses(
        (status = 204, description = "Noted; staff see it at once"),
        (status = 400, description = "The call is malformed (`invalid_body`); nothing changed", body = ApiError),
        (status = 401, body = ApiError),
    )
)]
async fn consultant(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    ApiJson(call): ApiJson<ConsultantCall>,
) -> Result<StatusCode, ApiFailure> {
    if !senim_protocol::valid_service_id(&call.service_id) {
        return Err(ApiFailure::invalid(
            RefusalCode::InvalidBody,
            "service_id must be the guide's id in the catalogue: 1 to 64 of a-z, 0-9 and -",
        ));
    }
    if call.step > 999 {
        return Err(ApiFailure::invalid(
            RefusalCode::InvalidBody,
            format!(
                "step must be 0 (the service's overview page) to 999, the step the citizen is \
                 on; found {}",
                call.step
            ),
        ));
    }
    let changed = state.consultant_call(&kiosk.kiosk_id, &kiosk.site, &call, Utc::now());
    tracing::info!(
        kiosk = %kiosk.kiosk_id,
        service = %call.service_id,
        step = call.step,
        active = call.active,
        changed,
        "consultant call"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Store a batch of records, all or none; replays of a key return the first result.
#[utoipa::path(
    post, path = "/api/v1/records", tag = "kiosk",
    request_body = RecordBatch,
    security(("kiosk_token" = [])),
    responses(
        (status = 200, description = "Every record is stored (now or by an earlier send)", body = RecordBatchResponse),
        (status = 400, description = "A record is malformed; nothing was stored", body = ApiError),
        (status = 401, body = ApiError),
        (status = 413, description = "The batch is too large", body = ApiError),
        (status = 422, description = "A key was reused with a different body, or an appeal number is taken (`idempotency_conflict`, `appeal_id_conflict`); nothing was stored", body = ApiError),
    )
)]
async fn records(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    ApiJson(mut batch): ApiJson<RecordBatch>,
) -> Result<Json<RecordBatchResponse>, ApiFailure> {
    if batch.records.is_empty() || batch.records.len() > MAX_BATCH_RECORDS {
        return Err(ApiFailure::bad_request(
            "invalid_batch",
            format!("a batch carries 1–{MAX_BATCH_RECORDS} records"),
        ));
    }
    let max_video = state.config.uploads.max_mib * 1024 * 1024;
    let mut keys = std::collections::HashSet::new();
    let mut hashes = Vec::with_capacity(batch.records.len());
    for (i, record) in batch.records.iter_mut().enumerate() {
        if !senim_protocol::valid_key(&record.key) {
            return Err(ApiFailure::invalid(
                RefusalCode::InvalidKey,
                format!("record {i}: a key is 8–64 characters of A-Z a-z 0-9 _ -"),
            ));
        }
        if !keys.insert(record.key.clone()) {
            return Err(ApiFailure::bad_request(
                "duplicate_key",
                format!("record {i}: key {} appears twice in this batch", record.key),
            ));
        }
        // The idempotency hash is of the record as sent (a resend carries the same sealed
        // bytes); the sealed fields are then opened and checked like plain ones.
        let canonical = serde_json::to_vec(&record.record).unwrap_or_default();
        hashes.push(hex::encode(Sha256::digest(&canonical)));
        if let RecordBody::Appeal(a) = &mut record.record {
            crate::sealing::open_record(state.seal.as_deref(), a).map_err(|m| {
                ApiFailure::invalid(
                    RefusalCode::InvalidRecord,
                    format!("record {i} ({}): {m}", record.key),
                )
            })?;
        }
        check::check_record(&record.record, max_video).map_err(|m| {
            ApiFailure::invalid(
                RefusalCode::InvalidRecord,
                format!("record {i} ({}): {m}", record.key),
            )
        })?;
        // Kept sealed at rest: the database never holds an IIN, phone or text in the clear.
        if let (RecordBody::Appeal(a), Some(ids)) = (&mut record.record, state.seal.as_deref()) {
            crate::sealing::seal_record_at_rest(ids, a).map_err(|e| {
                ApiFailure::from(std::io::Error::other(format!("cannot seal at rest: {e}")))
            })?;
        }
    }
    let now = Utc::now();
    let deadlines =
        crate::deadlines::Deadlines::new(state.config.deadlines.clone(), state.schedule.clone());
    let kiosk_id = kiosk.kiosk_id.clone();
    let appeal_keys: std::collections::HashMap<String, String> = batch
        .records
        .iter()
        .filter_map(|r| match &r.record {
            RecordBody::Appeal(a) => Some((r.key.clone(), a.appeal_id.clone())),
            _ => None,
        })
        .collect();
    let outcome = db::write(&state.db, move |tx| {
        match db::store_batch(tx, &kiosk_id, &batch.records, &hashes, now, &deadlines)? {
            Ok(results) => Ok(results),
            // Returning an error rolls the whole batch back.
            Err(conflict) => Err(ApiFailure::from(conflict)),
        }
    })
    .await?;
    let stored = outcome
        .iter()
        .filter(|r| r.outcome == senim_protocol::RecordOutcome::Stored)
        .count();
    tracing::debug!(kiosk = %kiosk.kiosk_id, stored, replayed = outcome.len() - stored, "records batch");
    let changed: Vec<String> = outcome
        .iter()
        .filter(|r| r.outcome == senim_protocol::RecordOutcome::Stored)
        .filter_map(|r| appeal_keys.get(&r.key).cloned())
        .collect();
    if !changed.is_empty() {
        state.notify(LiveEvent::AppealsChanged(changed));
    }
    Ok(Json(RecordBatchResponse { results: outcome }))
}

impl From<BatchConflict> for ApiFailure {
    fn from(conflict: BatchConflict) -> Self {
        match conflict {
            BatchConflict::KeyReused { key } => ApiFailure::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                RefusalCode::IdempotencyConflict,
                format!(
                    "key {key} was stored before with a different body; a key names one record \
                     forever, so give a new record a new key. Nothing in this batch was stored"
                ),
            ),
            BatchConflict::AppealIdTaken { key, appeal_id } => ApiFailure::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                RefusalCode::AppealIdConflict,
                format!(
                    "record {key}: appeal number {appeal_id} already belongs to another appeal; \
                     nothing in this batch was stored"
                ),
            ),
        }
    }
}

/// The newest published catalogue of service guides.
#[utoipa::path(
    get, path = "/api/v1/catalog", tag = "kiosk",
    security(("kiosk_token" = [])),
    responses(
        (status = 200, body = CatalogDocument),
        (status = 401, body = ApiError),
        (status = 404, description = "Nothing has been published yet (`no_catalog`)", body = ApiError),
    )
)]
async fn catalog(
    State(state): State<Arc<AppState>>,
    _kiosk: KioskAuth,
) -> Result<Json<CatalogDocument>, ApiFailure> {
    match db::read(&state.db, db::latest_catalog).await? {
        Some(doc) => Ok(Json(doc)),
        None => Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "no_catalog",
            "no catalogue has been published yet; kiosks keep the one they were built with",
        )),
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_document() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
        .into_response()
}
