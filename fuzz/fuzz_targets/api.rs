//! Fuzzes the call-centre's kiosk API through its real router, in-process (no socket): the
//! JSON bodies of record batches, heartbeats, presence, consultant calls and enrolment, and
//! the tus headers of an upload's creation (`Upload-Length`, `Upload-Metadata`,
//! `Upload-Checksum`, `Tus-Resumable`), whose parsers are private to the call-centre.
//! Invariant: nothing panics and no answer is a 5xx; a refusal carries the API's JSON error.
//! The first input byte picks the route; for tus, the rest is split on newlines into header
//! values. (`callcentre/tests/fuzz_api.rs` and `callcentre/src/api/tus/proptests.rs` run the
//! same properties with proptest on stable, in CI.)
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use senim_callcentre::config::Config;
use senim_callcentre::db::Db;
use senim_callcentre::state::AppState;
use tower::ServiceExt;

struct Api {
    rt: tokio::runtime::Runtime,
    /// The whole application's router, built once.
    app: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        let schedule = config.schedule().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let state = AppState::new(db, config, schedule, dir.path().to_path_buf());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let code = senim_callcentre::enrolment::new_code();
        state
            .db
            .write(|tx| {
                senim_callcentre::enrolment::store(
                    tx,
                    &code,
                    "Fuzz Hospital",
                    senim_protocol::SiteMode::Hospital,
                    chrono::Utc::now(),
                    1,
                )
            })
            .unwrap();
        let body = serde_json::json!({ "code": code }).to_string();
        let app = senim_callcentre::server::app(state);
        let (_, answer) = rt.block_on(send(&app, "/api/v1/enrol", None, body.into_bytes(), &[]));
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        let token = answer["token"].as_str().unwrap().to_string();
        Api {
            rt,
            app,
            token,
            _dir: dir,
        }
    })
}

async fn send(
    app: &axum::Router,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
    headers: &[(&str, HeaderValue)],
) -> (u16, Vec<u8>) {
    let app = app.clone();
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    let response = app
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let api = api();
    let token = Some(api.token.as_str());
    let (path, token, body, headers) = match selector % 6 {
        0 => ("/api/v1/records", token, rest.to_vec(), Vec::new()),
        1 => ("/api/v1/heartbeat", token, rest.to_vec(), Vec::new()),
        2 => ("/api/v1/presence", token, rest.to_vec(), Vec::new()),
        3 => ("/api/v1/consultant", token, rest.to_vec(), Vec::new()),
        4 => ("/api/v1/enrol", None, rest.to_vec(), Vec::new()),
        _ => {
            let mut values = rest
                .split(|&b| b == b'\n')
                .map(|v| HeaderValue::from_bytes(v).ok());
            let mut headers = Vec::new();
            for name in [
                "upload-length",
                "upload-metadata",
                "upload-checksum",
                "tus-resumable",
            ] {
                if let Some(Some(value)) = values.next() {
                    headers.push((name, value));
                }
            }
            ("/api/v1/uploads/", token, Vec::new(), headers)
        }
    };
    let (status, answer) = api.rt.block_on(send(&api.app, path, token, body, &headers));
    assert!(status < 500, "{path}: {status}");
    if status >= 400 {
        let error: serde_json::Value = serde_json::from_slice(&answer).expect("a JSON error");
        assert!(error["error"].as_str().is_some_and(|c| !c.is_empty()));
    }
});
