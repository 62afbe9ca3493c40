//! Fuzzing without nightly: the kiosk API's JSON bodies (record batches, heartbeats, presence,
//! consultant calls, enrolment) fed arbitrary bytes and mangled versions of real requests,
//! thousands per run, through the real router in-process (`tower::ServiceExt::oneshot`, no
//! socket). Properties: no panic, never a 5xx; every refusal is a status the OpenAPI document
//! lists for that route, with the API's JSON error body (`error`, `message`). The same
//! parsers are cargo-fuzz targets for a nightly toolchain (`fuzz/README.md`).

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use tower::ServiceExt;

use common::TestServer;

const CASES: u32 = 1500;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The statuses the OpenAPI document lists for `POST path`.
fn documented(path: &str) -> BTreeSet<u16> {
    let doc: Value = serde_json::from_str(&senim_callcentre::api::openapi_json()).unwrap();
    doc["paths"][path]["post"]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{path} is not documented"))
        .keys()
        .map(|k| k.parse().unwrap())
        .collect()
}

/// A JSON value of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `v` (object keys and array indexes).
fn leaves(v: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            let mut p = at.clone();
            p.push(k.clone());
            leaves(x, p, out);
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| {
            let mut p = at.clone();
            p.push(i.to_string());
            leaves(x, p, out);
        }),
        _ => {}
    }
}

fn slot<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        other => &mut other[k.as_str()],
    })
}

/// `good` with one value somewhere replaced by any JSON (or removed from its object).
fn mangled(good: Value) -> impl Strategy<Value = Vec<u8>> {
    let mut paths = Vec::new();
    leaves(&good, Vec::new(), &mut paths);
    (prop::sample::select(paths), any_json(), any::<bool>()).prop_map(
        move |(path, value, remove)| {
            let mut body = good.clone();
            match (remove, path.split_last()) {
                (true, Some((last, parent))) => {
                    if let Value::Object(m) = slot(&mut body, parent) {
                        m.remove(last);
                    }
                }
                _ => *slot(&mut body, &path) = value,
            }
            serde_json::to_vec(&body).unwrap()
        },
    )
}

/// Raw bytes: anything, or text that starts like JSON.
fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        "[{}\\[\\]\",:0-9a-z_ -]{0,200}".prop_map(String::into_bytes),
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]
}

struct Api {
    rt: tokio::runtime::Runtime,
    /// Keeps the server (and its data folder) for the router below.
    _server: TestServer,
    /// The whole application's router, built once (building it builds the OpenAPI document).
    app: axum::Router,
    token: String,
}

impl Api {
    fn start() -> Api {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (server, token) = rt.block_on(async {
            let server = TestServer::start().await;
            let (_, token) = server.enrol(&reqwest::Client::new(), "Fuzz Hospital").await;
            (server, token)
        });
        let app = senim_callcentre::server::app(server.state.clone());
        Api {
            rt,
            _server: server,
            app,
            token,
        }
    }

    /// `POST path` with `body` as JSON, through the router in-process: status and body.
    fn post(&self, path: &str, body: Vec<u8>, auth: bool) -> (StatusCode, Vec<u8>) {
        let app = self.app.clone();
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if auth {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let request = request.body(Body::from(body)).unwrap();
        self.rt.block_on(async {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, bytes.to_vec())
        })
    }

    /// The property every answer must have.
    fn holds(
        &self,
        path: &str,
        allowed: &BTreeSet<u16>,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let (status, answer) = self.post(path, body, path != "/api/v1/enrol");
        prop_assert!(!status.is_server_error(), "{path}: {status}");
        prop_assert!(
            allowed.contains(&status.as_u16()),
            "{path}: {status} is not in the OpenAPI document ({allowed:?})"
        );
        if !status.is_success() {
            let error: Value = serde_json::from_slice(&answer).map_err(|e| {
                TestCaseError::fail(format!("{path}: {status} without a JSON body: {e}"))
            })?;
            let code = error["error"].as_str().unwrap_or("");
            prop_assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{path}: {error}"
            );
            prop_assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        Ok(())
    }

    fn fuzz(&self, path: &str, good: Value) {
        let allowed = documented(path);
        // The real request is accepted as it is.
        let (status, _) = self.post(
            path,
            serde_json::to_vec(&good).unwrap(),
            path != "/api/v1/enrol",
        );
        assert!(
            status.is_success() || path == "/api/v1/enrol",
            "{path}: the good request got {status}"
        );
        runner()
            .run(&raw_bytes(), |body| self.holds(path, &allowed, body))
            .unwrap_or_else(|e| panic!("{path}, arbitrary bytes: {e}"));
        runner()
            .run(&mangled(good), |body| self.holds(path, &allowed, body))
            .unwrap_or_else(|e| panic!("{path}, a mangled request: {e}"));
    }
}

fn record_batch() -> Value {
    let record = common::appeal("appeal-0001", &common::appeal_id(1), Some(b"video bytes"));
    json!({ "records": [record] })
}

fn heartbeat() -> Value {
    json!({
        "state": "idle", "queue_depth": 3,
        "devices": [{"device": "scanner", "status": "ok"}, {"device": "printer", "status": "fail", "detail": "paper out"}],
        "versions": {"app": "0.1.0"},
        "sent_at": chrono::Utc::now(),
    })
}

#[test]
fn record_batches_of_any_bytes_get_a_documented_answer_never_a_5xx() {
    Api::start().fuzz("/api/v1/records", record_batch());
}

#[test]
fn heartbeats_of_any_bytes_get_a_documented_answer_never_a_5xx() {
    Api::start().fuzz("/api/v1/heartbeat", heartbeat());
}

#[test]
fn presence_consultant_and_enrolment_of_any_bytes_get_a_documented_answer_never_a_5xx() {
    let api = Api::start();
    let now = chrono::Utc::now();
    api.fuzz(
        "/api/v1/presence",
        json!({ "present": true, "journey": "appeal", "at": now }),
    );
    api.fuzz(
        "/api/v1/consultant",
        json!({ "service_id": "address", "step": 2, "at": now, "active": true }),
    );
    api.fuzz("/api/v1/enrol", json!({ "code": "AAAA-BBBB-CCCC-DDDD" }));
}
