//! The kiosk's HTTP client of the call-centre API (`/api/v1`): enrolment, heartbeat, presence,
//! record batches and the tus upload requests. Only `sync` speaks HTTP.

use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode, Url};
use senim_protocol::{
    ApiError, CatalogDocument, ConsultantCall, EnrolRequest, EnrolResponse, Heartbeat,
    HeartbeatResponse, Presence, Record, RecordBatch, RecordBatchResponse, TUS_VERSION,
};

use super::{tls, SyncError};
use crate::store::Enrolment;
use senim_protocol::enrol::SpkiPin;

/// Per-request limits: a stuck network must not hold a request forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// A chunk upload may be slow on a rural link; a stall (no bytes read) ends it sooner.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(180);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest JSON answer read whole (records, heartbeat, enrolment answers are a few KiB).
pub const MAX_ANSWER_BYTES: u64 = 1 << 20;
/// The largest catalogue document (the shipped one with its drawings is about 100 KiB).
pub const MAX_CATALOG_BYTES: u64 = 16 << 20;

/// Why a plain `http://` backend elsewhere than this machine is refused.
pub const PLAIN_HTTP_REFUSED: &str = "plain http:// is allowed only to this machine \
     (127.0.0.1, localhost, [::1]); use https:// so tokens and personal data travel encrypted";

/// An API client for one backend (and, once enrolled, one kiosk token).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

/// What a tus HEAD says about an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// Bytes the server holds.
    At {
        offset: u64,
        length: u64,
        sha256: Option<String>,
    },
    /// Expired or unknown: create a new one.
    Gone,
}

/// What creating an upload answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Location(String),
    /// The server already holds this appeal's video, verified against its SHA-256.
    AlreadyReceived,
}

impl Api {
    /// A client for `backend` (`https://…`, or `http://` to this machine only), trusting
    /// `extra_ca_pem` as well as the public roots when given. Not pinned: for checks and for an
    /// enrolment whose code carries no pin.
    pub fn new(backend: &str, extra_ca_pem: Option<&[u8]>) -> Result<Api, SyncError> {
        Api::pinned(backend, extra_ca_pem, None)
    }

    /// A client of the backend this kiosk enrolled with: its pin (if any) and its token.
    pub fn enrolled(
        backend: &str,
        extra_ca_pem: Option<&[u8]>,
        enrolment: &Enrolment,
    ) -> Result<Api, SyncError> {
        Ok(Api::pinned(backend, extra_ca_pem, enrolment.pin)?.with_token(&enrolment.token))
    }

    /// A client whose TLS connections must present the public key `pin` names (HTTPS only;
    /// a loopback `http://` backend has nothing to pin).
    pub fn pinned(
        backend: &str,
        extra_ca_pem: Option<&[u8]>,
        pin: Option<SpkiPin>,
    ) -> Result<Api, SyncError> {
        let mut base = Url::parse(backend).map_err(|e| SyncError::BadBackendUrl {
            url: backend.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(SyncError::BadBackendUrl {
                url: backend.to_string(),
                reason: "expected https://HOST[:PORT]".into(),
            });
        }
        if base.scheme() == "http" && !tls::loopback_host(&base) {
            return Err(SyncError::BadBackendUrl {
                url: backend.to_string(),
                reason: PLAIN_HTTP_REFUSED.into(),
            });
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let tls = tls::client_config(extra_ca_pem, pin)
            .map_err(|e| SyncError::BadCa { reason: e.reason })?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("senim-kiosk/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead the token elsewhere; the API never answers with one.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SyncError::BadCa {
                reason: e.to_string(),
            })?;
        Ok(Api {
            http,
            base,
            token: None,
        })
    }

    pub fn with_token(mut self, token: &str) -> Api {
        self.token = Some(token.to_string());
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `path` under the backend. A URL on another origin (scheme, host, port) — an absolute
    /// tus `Location` pointing elsewhere — is refused: nothing is sent there.
    fn url(&self, path: &str) -> Result<Url, SyncError> {
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| SyncError::Protocol(format!("bad URL {path}: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(SyncError::Protocol(format!(
                "the call-centre named {} for an upload, not its own origin {}; nothing is \
                 sent there (check a proxy in front of the call-centre)",
                url.origin().ascii_serialization(),
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    fn request(&self, method: Method, path: &str) -> Result<reqwest::RequestBuilder, SyncError> {
        let mut r = self
            .http
            .request(method, self.url(path)?)
            .timeout(REQUEST_TIMEOUT);
        if let Some(token) = &self.token {
            r = r.bearer_auth(token);
        }
        Ok(r)
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> Result<reqwest::Response, SyncError> {
        r.send().await.map_err(|e| self.offline(e))
    }

    pub(super) fn offline(&self, e: reqwest::Error) -> SyncError {
        SyncError::Offline {
            url: self.base.to_string(),
            reason: describe(&e),
        }
    }

    /// Exchanges a one-time code for this kiosk's id and token; `previous_token` (the token
    /// this machine held before, if any) keeps its kiosk id at the call-centre.
    pub async fn enrol(
        &self,
        code: &str,
        previous_token: Option<&str>,
    ) -> Result<EnrolResponse, SyncError> {
        let r = self
            .request(Method::POST, "api/v1/enrol")?
            .json(&EnrolRequest {
                code: code.to_string(),
                previous_token: previous_token.map(str::to_string),
            });
        let response = self.send(r).await?;
        json(self, response).await
    }

    pub async fn heartbeat(&self, beat: &Heartbeat) -> Result<HeartbeatResponse, SyncError> {
        let r = self.request(Method::POST, "api/v1/heartbeat")?.json(beat);
        let response = self.send(r).await?;
        json(self, response).await
    }

    pub async fn presence(&self, presence: &Presence) -> Result<(), SyncError> {
        let r = self
            .request(Method::POST, "api/v1/presence")?
            .json(presence);
        let response = self.send(r).await?;
        ok(response).await.map(|_| ())
    }

    /// The newest published catalogue (at most [`MAX_CATALOG_BYTES`]).
    pub async fn catalog(&self) -> Result<CatalogDocument, SyncError> {
        let response = self
            .send(self.request(Method::GET, "api/v1/catalog")?)
            .await?;
        json_capped(self, response, "the catalogue", MAX_CATALOG_BYTES).await
    }

    /// Starts fetching an update bundle (`url` from the offer, on this backend only) at byte
    /// `from` with `Range`. Returns the answer and where its body starts: `from` (206), or 0
    /// when the server sent the whole file (200). No overall timeout: a bundle is large; a
    /// stalled read still ends the request ([`READ_TIMEOUT`]).
    pub async fn bundle(
        &self,
        url: &str,
        from: u64,
    ) -> Result<(reqwest::Response, u64), SyncError> {
        let mut r = self.http.get(self.url(url)?);
        if let Some(token) = &self.token {
            r = r.bearer_auth(token);
        }
        if from > 0 {
            r = r.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let response = ok(self.send(r).await?).await?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let start = response
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(from) {
                    return Err(SyncError::Protocol(format!(
                        "asked for the update from byte {from}, the call-centre sent a range \
                         starting at {start:?}"
                    )));
                }
                Ok((response, from))
            }
            _ => Ok((response, 0)),
        }
    }

    pub async fn consultant(&self, call: &ConsultantCall) -> Result<(), SyncError> {
        let r = self.request(Method::POST, "api/v1/consultant")?.json(call);
        let response = self.send(r).await?;
        ok(response).await.map(|_| ())
    }

    pub async fn records(&self, records: Vec<Record>) -> Result<RecordBatchResponse, SyncError> {
        let r = self
            .request(Method::POST, "api/v1/records")?
            .json(&RecordBatch { records });
        let response = self.send(r).await?;
        json(self, response).await
    }

    fn tus(&self, method: Method, path: &str) -> Result<reqwest::RequestBuilder, SyncError> {
        Ok(self
            .request(method, path)?
            .header("Tus-Resumable", TUS_VERSION))
    }

    /// `POST /api/v1/uploads/` for an appeal's video of `length` bytes.
    pub async fn create_upload(&self, appeal_id: &str, length: u64) -> Result<Created, SyncError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let r = self
            .tus(Method::POST, "api/v1/uploads/")?
            .header("Upload-Length", length)
            .header(
                "Upload-Metadata",
                format!("appeal_id {}", b64.encode(appeal_id)),
            );
        let response = self.send(r).await?;
        let response = match ok(response).await {
            Err(SyncError::Declined {
                status: 409, code, ..
            }) if code == "video_already_received" => {
                return Ok(Created::AlreadyReceived);
            }
            other => other?,
        };
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SyncError::Protocol("upload created without a Location".into()))?;
        // Checked before it is kept: a Location on another origin is never stored nor used.
        self.url(location)?;
        Ok(Created::Location(location.to_string()))
    }

    /// `HEAD` an upload: how far the server has it.
    pub async fn upload_state(&self, location: &str) -> Result<UploadState, SyncError> {
        let response = self.send(self.tus(Method::HEAD, location)?).await?;
        // A HEAD answer has no body: the call-centre's own 404/410 carries `Tus-Resumable`,
        // a proxy's does not (and is transient, like any other proxy answer).
        let from_tus = response.headers().contains_key("Tus-Resumable");
        if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::GONE) && from_tus {
            return Ok(UploadState::Gone);
        }
        let response = ok(response).await?;
        let h = response.headers();
        let num = |name: &str| -> Result<u64, SyncError> {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| SyncError::Protocol(format!("HEAD without a valid {name}")))
        };
        Ok(UploadState::At {
            offset: num("Upload-Offset")?,
            length: num("Upload-Length")?,
            sha256: h
                .get("Senim-Upload-Sha256")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        })
    }

    /// `PATCH` one chunk at `offset` with its CRC-32; the server's new offset.
    pub async fn patch(
        &self,
        location: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<u64, SyncError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        // CRC-32 catches a damaged chunk at a fraction of SHA-1's cost; the whole video's
        // SHA-256 is compared once the upload is complete.
        let checksum = format!(
            "crc32 {}",
            b64.encode(crc32fast::hash(&chunk).to_be_bytes())
        );
        let r = self
            .tus(Method::PATCH, location)?
            .timeout(CHUNK_TIMEOUT)
            .header("Upload-Offset", offset)
            .header("Upload-Checksum", checksum)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/offset+octet-stream",
            )
            .body(chunk);
        let response = self.send(r).await?;
        let response = ok(response).await?;
        response
            .headers()
            .get("Upload-Offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| SyncError::Protocol("PATCH answered without Upload-Offset".into()))
    }
}

/// A short, personal-data-free description of a transport error.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "connection broke during the answer"
    } else {
        "connection failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

/// The API's own `{"error", "message"}` JSON body, if that is what the answer carries (a
/// proxy's HTML page, an empty body or any other JSON is not).
/// An error body larger than this is not the API's (its errors are a sentence long) and is not
/// read further.
const MAX_ERROR_BYTES: usize = 64 * 1024;

async fn api_error(mut response: reqwest::Response) -> Option<ApiError> {
    let json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return None;
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ERROR_BYTES as u64)
    {
        return None;
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if bytes.len() + chunk.len() > MAX_ERROR_BYTES {
            return None;
        }
        bytes.extend_from_slice(&chunk);
    }
    serde_json::from_slice::<ApiError>(&bytes)
        .ok()
        .filter(|e| !e.error.is_empty())
}

/// What a non-2xx answer means for the kiosk. Refused for good only when the body is the
/// API's JSON with one of the documented codes ([`senim_protocol::RefusalCode`]); a revoked
/// or unknown token only when the API says so in JSON; everything else — another code, any
/// 5xx, a proxy's HTML 403 or 404, a body that is not the API's JSON — is transient.
pub fn classify(status: StatusCode, body: Option<ApiError>) -> SyncError {
    let status_text = || {
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_string()
    };
    match body {
        Some(e) if status == StatusCode::UNAUTHORIZED && e.error == "revoked" => SyncError::Revoked,
        Some(e) if status == StatusCode::UNAUTHORIZED && e.error == "unauthorized" => {
            SyncError::Unauthorized
        }
        Some(e) if status.is_client_error() && senim_protocol::refused_for_good(&e.error) => {
            SyncError::Refused {
                status: status.as_u16(),
                code: e.error,
                message: e.message,
            }
        }
        Some(e) => SyncError::Declined {
            status: status.as_u16(),
            code: e.error,
            message: e.message,
        },
        None => SyncError::Server {
            status: status.as_u16(),
            message: format!("{} (not an answer of the call-centre's API)", status_text()),
        },
    }
}

/// Passes a 2xx answer; turns anything else into the matching error ([`classify`]).
async fn ok(response: reqwest::Response) -> Result<reqwest::Response, SyncError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    Err(classify(status, api_error(response).await))
}

async fn json<T: serde::de::DeserializeOwned>(
    api: &Api,
    response: reqwest::Response,
) -> Result<T, SyncError> {
    json_capped(api, response, "an answer", MAX_ANSWER_BYTES).await
}

async fn json_capped<T: serde::de::DeserializeOwned>(
    api: &Api,
    response: reqwest::Response,
    what: &'static str,
    limit: u64,
) -> Result<T, SyncError> {
    let response = ok(response).await?;
    let bytes = read_capped(api, response, what, limit).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| SyncError::Protocol(format!("unexpected answer from the call-centre: {e}")))
}

/// A whole body, refused as soon as it would pass `limit` bytes (by its `Content-Length` or
/// while it streams): a broken or hostile server cannot fill the kiosk's memory.
pub(super) async fn read_capped(
    api: &Api,
    mut response: reqwest::Response,
    what: &'static str,
    limit: u64,
) -> Result<Vec<u8>, SyncError> {
    let too_large = || SyncError::TooLarge { what, limit };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| api.offline(e))? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
