//! A small tus client for the upload tests: a kiosk's token, create / PATCH / HEAD, and the
//! files the server keeps in `<data>/uploads/`.

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::{appeal, appeal_id, TestServer};

pub struct Kiosk {
    pub c: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Kiosk {
    /// Enrols a kiosk at `server`.
    pub async fn enrol(server: &TestServer) -> Kiosk {
        let c = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        let (_, token) = server.enrol(&c, "Hospital").await;
        Kiosk {
            c,
            url: server.url.clone(),
            token,
        }
    }

    /// Sends the record of appeal `n` declaring `video` (size and SHA-256); its number.
    pub async fn appeal(&self, n: u32, video: &[u8]) -> String {
        let id = appeal_id(n);
        let r = self
            .c
            .post(format!("{}/api/v1/records", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "records": [appeal(&format!("appeal-{n:06}"), &id, Some(video))] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        id
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    pub async fn create(&self, appeal: &str, length: usize) -> Response {
        let meta = base64::engine::general_purpose::STANDARD.encode(appeal);
        self.req(Method::POST, "/api/v1/uploads/")
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", format!("appeal_id {meta}"))
            .send()
            .await
            .unwrap()
    }

    /// Creates an upload (201) and returns its `Location`.
    pub async fn create_ok(&self, appeal: &str, length: usize) -> String {
        let r = self.create(appeal, length).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.headers()["location"].to_str().unwrap().to_string()
    }

    pub async fn patch(&self, location: &str, offset: usize, bytes: &[u8]) -> Response {
        self.req(Method::PATCH, location)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// HEAD: the offset and, once complete, the SHA-256 the server got.
    pub async fn state(&self, location: &str) -> (StatusCode, u64, Option<String>) {
        let r = self.req(Method::HEAD, location).send().await.unwrap();
        let h = r.headers();
        let offset = h
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let sha = h
            .get("senim-upload-sha256")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), offset, sha)
    }
}

/// The status and JSON `error` code of a failed request.
pub async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().unwrap_or("").to_string())
}

/// Pseudo-video bytes number `seed`.
pub fn video(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i * 7 + i / 251) as u8 ^ seed.wrapping_mul(31))
        .collect()
}

/// The upload id in a `Location`.
pub fn upload_id(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_string()
}

/// The names of the files in `<data>/uploads/`.
pub fn upload_files(data: &Path) -> BTreeSet<String> {
    std::fs::read_dir(data.join("uploads"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
