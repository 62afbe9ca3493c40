//! The kiosk API against the real server on `127.0.0.1:0`: enrolment, tokens, idempotent
//! record batches, tus uploads (resume after a cut, 409/460/413/412/415, termination,
//! expiry, ownership), the OpenAPI document, and TLS.
//!
//! Over 600 lines: many short scenarios sharing one set of server and request helpers.

mod common;

use std::time::Duration;

use common::{appeal, appeal_id, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;
use tokio::io::AsyncWriteExt;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().unwrap_or("").to_string())
}

fn heartbeat() -> Value {
    json!({
        "state": "idle", "queue_depth": 3,
        "devices": [{"device": "scanner", "status": "ok"}, {"device": "printer", "status": "fail", "detail": "paper out"}],
        "versions": {"app": "0.1.0"},
        "sent_at": chrono::Utc::now() - chrono::Duration::seconds(7),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_code_works_once_and_not_after_it_expires() {
    let server = TestServer::start().await;
    let c = client();
    let code = server.code("City Hospital No. 4", 1);
    let url = format!("{}/api/v1/enrol", server.url);

    // Typed in lower case with spaces, as a technician might: still the same code.
    let typed = code.to_lowercase().replace('-', " ");
    let r = c
        .post(&url)
        .json(&json!({ "code": typed }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["site"], "City Hospital No. 4");
    assert!(body["kiosk_id"].as_str().unwrap().starts_with("K-"));
    assert_eq!(body["token"].as_str().unwrap().len(), 43);

    let again = c
        .post(&url)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(again).await,
        (StatusCode::FORBIDDEN, "code_used".into())
    );

    let expired = server.code("Clinic", -1);
    let r = c
        .post(&url)
        .json(&json!({ "code": expired }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "code_expired".into())
    );

    let r = c
        .post(&url)
        .json(&json!({ "code": "AAAA-BBBB-CCCC-DDDD" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "code_unknown".into())
    );

    let r = c
        .post(&url)
        .json(&json!({ "code": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "invalid_code".into())
    );

    let r = c
        .post(&url)
        .json(&json!({ "cod": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "invalid_body".into())
    );
    server.stop().await;
}

/// `enrol-code --url` (or `[server] public_url`) prints the whole enrolment text first, with
/// the URL in it; without any URL it says how to set one; a bad URL makes no code.
#[test]
fn enrol_code_writes_the_call_centres_url_into_the_enrolment_text() {
    let bin = env!("CARGO_BIN_EXE_senim-callcentre");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], config: Option<&std::path::Path>| {
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("--data").arg(dir.path());
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        let out = cmd.args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(
        &[
            "enrol-code",
            "--site",
            "Ward 5",
            "--url",
            "https://10.0.2.100:8443",
        ],
        None,
    );
    assert!(ok, "{err}");
    let first = out.lines().next().unwrap();
    let read = senim_protocol::enrol::EnrolCode::parse(first).unwrap();
    assert_eq!(read.url.as_deref(), Some("https://10.0.2.100:8443"));
    assert_eq!(read.code.len(), 19);
    // [server] public_url does the same; --url overrides it.
    let config = dir.path().join("cc.toml");
    std::fs::write(
        &config,
        "[server]\npublic_url = \"https://cc.senim.example.kz\"\n",
    )
    .unwrap();
    let (ok, out, err) = run(&["enrol-code", "--site", "Ward 6"], Some(&config));
    assert!(ok, "{err}");
    let read = senim_protocol::enrol::EnrolCode::parse(out.lines().next().unwrap()).unwrap();
    assert_eq!(read.url.as_deref(), Some("https://cc.senim.example.kz"));
    let (ok, out, _) = run(
        &[
            "enrol-code",
            "--site",
            "Ward 6",
            "--url",
            "https://other.example.kz",
        ],
        Some(&config),
    );
    assert!(ok);
    assert!(out
        .lines()
        .next()
        .unwrap()
        .ends_with(";url=https://other.example.kz"));
    // No URL at all: the code alone, and how to set the URL.
    let (ok, out, _) = run(&["enrol-code", "--site", "Ward 7"], None);
    assert!(ok);
    assert!(!out.lines().next().unwrap().contains("SENIM-ENROL"));
    assert!(
        out.contains("[server] public_url") && out.contains("--url"),
        "{out}"
    );
    // A bad URL: refused, says how to fix it.
    let (ok, _, err) = run(
        &[
            "enrol-code",
            "--site",
            "Ward 8",
            "--url",
            "http://cc.example.kz",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("--url") && err.contains("https://"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_makes_codes_and_revokes_kiosks_whose_requests_are_then_refused() {
    let server = TestServer::start().await;
    let c = client();
    let bin = env!("CARGO_BIN_EXE_senim-callcentre");
    let data = server.data();

    let out = std::process::Command::new(bin)
        .arg("--data")
        .arg(&data)
        .args(common::postgres::store_args(&data))
        .args(["enrol-code", "--site", "Trust kiosk, Aktobe"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let code = stdout.lines().next().unwrap();
    assert_eq!(code.len(), 19, "the first line is the code alone: {code:?}");

    let r: Value = c
        .post(format!("{}/api/v1/enrol", server.url))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (kiosk, token) = (
        r["kiosk_id"].as_str().unwrap(),
        r["token"].as_str().unwrap(),
    );
    assert_eq!(r["site"], "Trust kiosk, Aktobe");

    let beat = |token: &str| {
        c.post(format!("{}/api/v1/heartbeat", server.url))
            .bearer_auth(token)
            .json(&heartbeat())
            .send()
    };
    let r = beat(token).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert!(body["server_time"].is_string());
    assert_eq!(body["operators_open"], true);
    let seen = server.state.heartbeats();
    assert_eq!(
        seen[kiosk].beat.queue_depth, 3,
        "the fleet view learns the queue depth"
    );

    let r = beat("not-a-token").await.unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    let r = c
        .post(format!("{}/api/v1/heartbeat", server.url))
        .json(&heartbeat())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );

    let out = std::process::Command::new(bin)
        .arg("--data")
        .arg(&data)
        .args(common::postgres::store_args(&data))
        .args(["kiosk", "revoke", kiosk])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = beat(token).await.unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNAUTHORIZED, "revoked".into())
    );

    let out = std::process::Command::new(bin)
        .arg("--data")
        .arg(&data)
        .args(common::postgres::store_args(&data))
        .args(["kiosk", "revoke", "K-NOSUCH"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no kiosk"));
    server.stop().await;
}

async fn send_batch(
    c: &reqwest::Client,
    server: &TestServer,
    token: &str,
    records: Vec<Value>,
) -> reqwest::Response {
    c.post(format!("{}/api/v1/records", server.url))
        .bearer_auth(token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap()
}

fn appeals_in_store(server: &TestServer) -> Vec<senim_callcentre::db::AppealRow> {
    server
        .state
        .db
        .read(|c| senim_callcentre::db::list_appeals(c, &[]))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_batch_stores_nothing_twice_and_a_reused_key_changes_nothing() {
    let server = TestServer::start().await;
    let c = client();
    let (_, token) = server.enrol(&c, "Hospital").await;
    let fault = json!({"key": "fault-0001", "record": {"kind": "device_fault", "device": "printer",
        "status": "fail", "detail": "paper out", "at": "2026-11-20T10:00:00Z"}});
    let batch = vec![
        appeal("appeal-0001", &appeal_id(1), None),
        appeal("appeal-0002", &appeal_id(2), Some(b"video")),
        fault.clone(),
    ];

    let first: Value = send_batch(&c, &server, &token, batch.clone())
        .await
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["stored", "stored", "stored"]);

    // The kiosk never heard the answer and sends the same batch again.
    let replay = send_batch(&c, &server, &token, batch.clone()).await;
    assert_eq!(replay.status(), StatusCode::OK);
    let replay: Value = replay.json().await.unwrap();
    for (a, b) in first["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(replay["results"].as_array().unwrap())
    {
        assert_eq!(b["outcome"], "duplicate");
        assert_eq!(
            a["stored_at"], b["stored_at"],
            "the original result comes back"
        );
    }
    assert_eq!(appeals_in_store(&server).len(), 2);

    // A new record plus a reused key with another body: refused, and the new one is not kept.
    let mut changed = appeal("appeal-0001", &appeal_id(1), None);
    changed["record"]["topic"] = json!("gratitude");
    let r = send_batch(
        &c,
        &server,
        &token,
        vec![appeal("appeal-0003", &appeal_id(3), None), changed],
    )
    .await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_conflict".into()
        )
    );
    let stored = appeals_in_store(&server);
    assert_eq!(stored.len(), 2, "nothing of the refused batch was stored");
    assert!(stored.iter().all(|a| a.topic == "complaint"));

    // Another kiosk using the same key is a different record (keys are per kiosk), but the
    // same appeal number is refused.
    let (_, other) = server.enrol(&c, "Clinic").await;
    let r = send_batch(
        &c,
        &server,
        &other,
        vec![appeal("appeal-0001", &appeal_id(9), None)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send_batch(
        &c,
        &server,
        &other,
        vec![appeal("appeal-0009", &appeal_id(1), None)],
    )
    .await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "appeal_id_conflict".into()
        )
    );
    assert_eq!(appeals_in_store(&server).len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_are_refused_with_the_reason_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let c = client();
    let (_, token) = server.enrol(&c, "Hospital").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (appeal("short", &appeal_id(1), None), "invalid_key", "8–64"),
        (
            appeal("key-000001", "A-OOOOOOOO", None),
            "invalid_record",
            "appeal_id",
        ),
        (
            {
                let mut a = appeal("key-000002", &appeal_id(2), None);
                a["record"]["callback_phone"] = json!("87011234567");
                a
            },
            "invalid_record",
            "+77XXXXXXXXX",
        ),
        (
            {
                let mut a = appeal("key-000003", &appeal_id(3), None);
                a["record"]["iin"] = json!("88010130001X");
                a
            },
            "invalid_record",
            "12 digits",
        ),
        (
            {
                let mut a = appeal("key-000004", &appeal_id(4), None);
                a["record"]["topic"] = json!("rant");
                a
            },
            "invalid_body",
            "unknown variant `rant`",
        ),
    ];
    for (record, code, words) in cases {
        let r = send_batch(
            &c,
            &server,
            &token,
            vec![appeal("good-0001", &appeal_id(7), None), record],
        )
        .await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], code, "{body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
    let r = send_batch(&c, &server, &token, vec![]).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "invalid_batch".into())
    );
    let twice = vec![
        appeal("same-0001", &appeal_id(5), None),
        appeal("same-0001", &appeal_id(6), None),
    ];
    let r = send_batch(&c, &server, &token, twice).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "duplicate_key".into())
    );

    // Over the body limit (1 MiB by default): 413 before anything is parsed.
    let huge: Vec<Value> = (0..500)
        .map(|i| {
            let mut a = appeal(&format!("huge-{i:06}"), &appeal_id(100 + i), None);
            a["record"]["text"] = json!("я".repeat(1500));
            a
        })
        .collect();
    let r = send_batch(&c, &server, &token, huge).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(appeals_in_store(&server).is_empty());
    server.stop().await;
}

// ------------------------------------------------------------------------------- tus

struct Tus<'a> {
    c: reqwest::Client,
    server: &'a TestServer,
    token: String,
}

impl Tus<'_> {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, format!("{}{path}", self.server.url))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    async fn create(&self, appeal: &str, length: usize) -> reqwest::Response {
        use base64::Engine;
        let meta = base64::engine::general_purpose::STANDARD.encode(appeal);
        self.req(reqwest::Method::POST, "/api/v1/uploads/")
            .header("Upload-Length", length.to_string())
            .header(
                "Upload-Metadata",
                format!("appeal_id {meta},filename dmlkZW8ud2VibQ=="),
            )
            .send()
            .await
            .unwrap()
    }

    async fn create_ok(&self, appeal: &str, length: usize) -> String {
        let r = self.create(appeal, length).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["tus-resumable"], "1.0.0");
        assert!(r.headers().contains_key("upload-expires"));
        r.headers()["location"].to_str().unwrap().to_string()
    }

    async fn patch(
        &self,
        location: &str,
        offset: usize,
        bytes: &[u8],
        checksum: Option<String>,
    ) -> reqwest::Response {
        let mut r = self
            .req(reqwest::Method::PATCH, location)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string());
        if let Some(sum) = checksum {
            r = r.header("Upload-Checksum", sum);
        }
        r.body(bytes.to_vec()).send().await.unwrap()
    }

    /// PATCHes `video` from each of `starts` to the next (the last to the end) with CRC-32s.
    async fn patch_crc32_ok(&self, location: &str, video: &[u8], starts: &[usize]) {
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(video.len());
            let part = &video[start..end];
            let r = self
                .patch(location, start, part, Some(crc32_header(part)))
                .await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
    }

    /// The SHA-256 the server reports for a finished upload.
    async fn finished_sha256(&self, location: &str) -> String {
        let head = self
            .req(reqwest::Method::HEAD, location)
            .send()
            .await
            .unwrap();
        head.headers()["senim-upload-sha256"]
            .to_str()
            .unwrap()
            .to_string()
    }

    async fn offset(&self, location: &str) -> u64 {
        let r = self
            .req(reqwest::Method::HEAD, location)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        r.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn sha1_header(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "sha1 {}",
        base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(bytes))
    )
}

fn crc32_header(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "crc32 {}",
        base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(bytes).to_be_bytes())
    )
}

fn video(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn kiosk_with_appeal(
    server: &TestServer,
    c: &reqwest::Client,
    n: u32,
    bytes: &[u8],
) -> (String, String) {
    let (_, token) = server.enrol(c, "Hospital").await;
    let id = appeal_id(n);
    let r = send_batch(
        c,
        server,
        &token,
        vec![appeal(&format!("appeal-{n:06}"), &id, Some(bytes))],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    (token, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_upload_resumes_after_a_cut_connection_from_the_servers_offset() {
    let server = TestServer::start().await;
    let c = client();
    let bytes = video(1000);
    let (token, id) = kiosk_with_appeal(&server, &c, 1, &bytes).await;
    let tus = Tus {
        c: c.clone(),
        server: &server,
        token: token.clone(),
    };
    let location = tus.create_ok(&id, bytes.len()).await;

    // A PATCH announcing 1000 bytes that dies after 400 (no checksum: the server keeps them).
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: kiosk\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&bytes[..400]).await.unwrap();
    stream.flush().await.unwrap();
    drop(stream);

    // HEAD waits for the PATCH in progress, so it reports 0 (not started yet) or 400.
    let mut offset = 0;
    for _ in 0..200 {
        offset = tus.offset(&location).await;
        assert!(offset == 0 || offset == 400, "offset {offset}");
        if offset == 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(offset, 400, "the bytes that arrived are kept");

    // Resuming from the wrong place is refused and says where to resume.
    let r = tus.patch(&location, 0, &bytes, None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.headers()["upload-offset"], "400");

    let r = tus
        .patch(
            &location,
            400,
            &bytes[400..],
            Some(sha1_header(&bytes[400..])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["upload-offset"], "1000");

    let head = tus
        .req(reqwest::Method::HEAD, &location)
        .send()
        .await
        .unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    assert_eq!(head.headers()["senim-upload-sha256"].to_str().unwrap(), sha);
    let stored = appeals_in_store(&server);
    assert_eq!(stored[0].video_bytes, Some(1000));
    assert_eq!(stored[0].video_sha256.as_deref(), Some(sha.as_str()));
    let upload = stored[0].video_upload_id.clone().unwrap();
    // Kept sealed at rest (issue 19): opened with the call-centre's keys, it is the upload.
    let stored = std::fs::read(server.data().join("uploads").join(upload)).unwrap();
    assert!(senim_common::seal::is_sealed(&stored));
    assert_eq!(
        server.state.seal.as_ref().unwrap().open(&stored).unwrap(),
        bytes
    );

    // The appeal has its video: a second upload is refused.
    let r = tus.create(&id, bytes.len()).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "video_already_received".into())
    );
    // And the received video cannot be deleted by the kiosk.
    let r = tus
        .req(reqwest::Method::DELETE, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "video_attached".into())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_keeps_what_arrived_after_the_idle_timeout() {
    let mut config = common::test_config();
    config.uploads.idle_timeout_secs = 1;
    let server = TestServer::start_with(config, None).await;
    let c = client();
    let bytes = video(900);
    let (token, id) = kiosk_with_appeal(&server, &c, 2, &bytes).await;
    let tus = Tus {
        c: c.clone(),
        server: &server,
        token: token.clone(),
    };
    let location = tus.create_ok(&id, bytes.len()).await;

    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: kiosk\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: 900\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&bytes[..300]).await.unwrap();
    stream.flush().await.unwrap();
    // The connection stays open and silent.
    let mut offset = 0;
    for _ in 0..200 {
        offset = tus.offset(&location).await;
        if offset == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(offset, 300);
    drop(stream);
    let r = tus.patch(&location, 300, &bytes[300..], None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(appeals_in_store(&server)[0].video_bytes, Some(900));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_refuses_bad_chunks_and_changes_nothing() {
    let mut config = common::test_config();
    config.uploads.max_mib = 1;
    let server = TestServer::start_with(config, None).await;
    let c = client();
    let bytes = video(3000);
    let (token, id) = kiosk_with_appeal(&server, &c, 3, &bytes).await;
    let tus = Tus {
        c: c.clone(),
        server: &server,
        token: token.clone(),
    };

    // Capabilities.
    let r = c
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/uploads/", server.url),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let ext = r.headers()["tus-extension"].to_str().unwrap();
    for e in [
        "creation",
        "creation-with-upload",
        "checksum",
        "termination",
        "expiration",
    ] {
        assert!(ext.split(',').any(|x| x == e), "{e} missing from {ext}");
    }
    assert_eq!(r.headers()["tus-max-size"], "1048576");
    assert!(r.headers()["tus-checksum-algorithm"]
        .to_str()
        .unwrap()
        .contains("sha1"));

    // 413: longer than the server accepts.
    let r = tus.create(&id, 2 * 1024 * 1024).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The declared size must match the appeal.
    let r = tus.create(&id, 2999).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "length_mismatch".into())
    );
    // An appeal this kiosk never sent.
    let r = tus.create(&appeal_id(77), 10).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "appeal_unknown".into())
    );
    // 412: another protocol version.
    let r = c
        .post(format!("{}/api/v1/uploads/", server.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "0.2.2")
        .header("Upload-Length", "3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.headers()["tus-version"], "1.0.0");

    let location = tus.create_ok(&id, bytes.len()).await;
    // 460: checksum mismatch; the chunk is discarded.
    let r = tus
        .patch(
            &location,
            0,
            &bytes[..1000],
            Some(sha1_header(b"something else")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 460);
    assert_eq!(tus.offset(&location).await, 0);
    // Unsupported algorithm: 400.
    let r = tus
        .patch(&location, 0, &bytes[..1000], Some("md5 AAAA".into()))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // 415: wrong content type.
    let r = tus
        .req(reqwest::Method::PATCH, &location)
        .header("Upload-Offset", "0")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Good chunk with sha256.
    let sum = {
        use base64::Engine;
        format!(
            "sha256 {}",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes[..1000]))
        )
    };
    let r = tus.patch(&location, 0, &bytes[..1000], Some(sum)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // 409: wrong offset.
    let r = tus.patch(&location, 999, &bytes[999..], None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // 413: more bytes than the upload has room for; discarded.
    let mut too_much = bytes[1000..].to_vec();
    too_much.extend_from_slice(b"extra");
    let r = tus.patch(&location, 1000, &too_much, None).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(tus.offset(&location).await, 1000);

    // Another kiosk cannot see, write or delete this upload.
    let (_, stranger) = server.enrol(&c, "Elsewhere").await;
    let other = Tus {
        c: c.clone(),
        server: &server,
        token: stranger,
    };
    let r = other
        .req(reqwest::Method::HEAD, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = other.patch(&location, 1000, &bytes[1000..], None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = other
        .req(reqwest::Method::DELETE, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // No path from a request to another file.
    let r = tus
        .req(
            reqwest::Method::HEAD,
            "/api/v1/uploads/..%2F..%2Fsenim.sqlite3",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Termination deletes the bytes.
    let r = tus
        .req(reqwest::Method::DELETE, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = tus
        .req(reqwest::Method::HEAD, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let upload = location.rsplit('/').next().unwrap();
    assert!(!server.data().join("uploads").join(upload).exists());
    assert_eq!(appeals_in_store(&server)[0].video_bytes, None);
    server.stop().await;
}

/// The SHA-256 the server reports for a finished upload is what the kiosk compares before it
/// deletes its copy: it must be right whether the chunks came in cleanly (hashed as they
/// arrive) or one was damaged and sent again (hashed by reading the file back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crc32_chunks_are_checked_and_the_finished_sha256_is_right_either_way() {
    let server = TestServer::start().await;
    let c = client();
    let (_, token) = server.enrol(&c, "Hospital").await;
    let clean = video(300_000);
    let damaged: Vec<u8> = clean.iter().rev().copied().collect();
    let (a, b) = (appeal_id(11), appeal_id(12));
    let r = send_batch(
        &c,
        &server,
        &token,
        vec![
            appeal("appeal-000011", &a, Some(&clean)),
            appeal("appeal-000012", &b, Some(&damaged)),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tus = Tus {
        c: c.clone(),
        server: &server,
        token,
    };
    assert!(tus
        .c
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/uploads/", server.url)
        )
        .send()
        .await
        .unwrap()
        .headers()["tus-checksum-algorithm"]
        .to_str()
        .unwrap()
        .split(',')
        .any(|a| a == "crc32"));

    // Three clean chunks.
    let location = tus.create_ok(&a, clean.len()).await;
    tus.patch_crc32_ok(&location, &clean, &[0, 100_000, 200_000])
        .await;
    assert_eq!(
        tus.finished_sha256(&location).await,
        hex::encode(sha2::Sha256::digest(&clean))
    );

    // A chunk whose CRC-32 does not match is refused (460) and discarded; sent again, it is
    // taken, and the finished upload's SHA-256 still covers exactly the right bytes.
    let location = tus.create_ok(&b, damaged.len()).await;
    tus.patch_crc32_ok(&location, &damaged[..100_000], &[0])
        .await;
    let mut corrupted = damaged[100_000..200_000].to_vec();
    corrupted[5_000] ^= 0x01;
    let r = tus
        .patch(
            &location,
            100_000,
            &corrupted,
            Some(crc32_header(&damaged[100_000..200_000])),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::from_u16(460).unwrap(),
            "checksum_mismatch".into()
        )
    );
    assert_eq!(tus.offset(&location).await, 100_000);
    // A CRC-32 digest must be four bytes.
    let r = tus
        .patch(
            &location,
            100_000,
            &damaged[100_000..200_000],
            Some("crc32 AAAA".into()),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "invalid_checksum".into())
    );
    tus.patch_crc32_ok(&location, &damaged, &[100_000, 200_000])
        .await;
    assert_eq!(
        tus.finished_sha256(&location).await,
        hex::encode(sha2::Sha256::digest(&damaged))
    );
    let stored = appeals_in_store(&server);
    assert!(stored.iter().all(|s| s.video_bytes == Some(300_000)));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_with_upload_and_expiry_of_unfinished_uploads() {
    let server = TestServer::start().await;
    let c = client();
    let bytes = video(500);
    let (token, id) = kiosk_with_appeal(&server, &c, 4, &bytes).await;
    let tus = Tus {
        c: c.clone(),
        server: &server,
        token,
    };
    use base64::Engine;
    let meta = base64::engine::general_purpose::STANDARD.encode(&id);
    let r = tus
        .req(reqwest::Method::POST, "/api/v1/uploads/")
        .header("Upload-Length", "500")
        .header("Upload-Metadata", format!("appeal_id {meta}"))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", sha1_header(&bytes[..200]))
        .body(bytes[..200].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["upload-offset"], "200");
    let location = r.headers()["location"].to_str().unwrap().to_string();

    // Its expiry passes unfinished: the sweep deletes the bytes and the upload is gone.
    let upload = location.rsplit('/').next().unwrap().to_string();
    let up = upload.clone();
    server
        .state
        .db
        .write(move |tx| {
            tx.execute(
                "UPDATE uploads SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?1",
                [&up],
            )
        })
        .unwrap();
    let swept = senim_callcentre::api::tus::sweep_expired(&server.state)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let r = tus
        .req(reqwest::Method::HEAD, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(!server.data().join("uploads").join(&upload).exists());
    // The kiosk starts again with a new upload.
    let again = tus.create_ok(&id, 500).await;
    let r = tus.patch(&again, 0, &bytes, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_lights_and_clears_the_lamp_and_an_idle_heartbeat_clears_it_too() {
    let server = TestServer::start().await;
    let c = client();
    let (kiosk, token) = server.enrol(&c, "Hospital").await;
    let presence = |present: bool| {
        c.post(format!("{}/api/v1/presence", server.url))
            .bearer_auth(&token)
            .json(&json!({"present": present, "journey": "appeal", "at": chrono::Utc::now()}))
            .send()
    };
    let mut live = server.state.subscribe();
    assert_eq!(
        presence(true).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        live.recv().await.unwrap(),
        senim_callcentre::state::LiveEvent::Presence
    );
    assert_eq!(server.state.present()[0].kiosk_id, kiosk);
    presence(false).await.unwrap();
    assert!(server.state.present().is_empty());
    presence(true).await.unwrap();
    let r = c
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(&heartbeat())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        server.state.present().is_empty(),
        "an idle kiosk has nobody at it"
    );
    server.stop().await;
}

#[test]
fn the_checked_in_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let generated = senim_callcentre::api::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "callcentre/openapi.json differs from the API the code serves; if the change is \
         intended, run `UPDATE_OPENAPI=1 cargo test -p senim-callcentre --test api` and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    // The closed list of "refused for good" codes is in the document, exactly.
    let codes: Vec<&str> = doc["components"]["schemas"]["RefusalCode"]["enum"]
        .as_array()
        .expect("RefusalCode in the document")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let documented: Vec<&str> = senim_protocol::RefusalCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(codes, documented);
    assert!(doc["info"]["description"]
        .as_str()
        .unwrap()
        .contains("refused for good"));
    for path in [
        "/api/v1/enrol",
        "/api/v1/heartbeat",
        "/api/v1/presence",
        "/api/v1/records",
        "/api/v1/catalog",
        "/api/v1/uploads/",
        "/api/v1/uploads/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_its_openapi_document_and_speaks_tls_itself() {
    let plain = TestServer::start().await;
    let served = client()
        .get(format!("{}/api/v1/openapi.json", plain.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, senim_callcentre::api::openapi_json());
    plain.stop().await;

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let tls = senim_callcentre::server::tls_from_pem(
        cert.cert.pem().into_bytes(),
        cert.key_pair.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let server = TestServer::start_with(common::test_config(), Some(tls)).await;
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let code = server.code("TLS site", 1);
    let r = https
        .post(format!(
            "https://localhost:{}/api/v1/enrol",
            server.addr.port()
        ))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Plain HTTP to the TLS port gets nowhere.
    let plain = client()
        .get(format!("http://{}/api/v1/openapi.json", server.addr))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    server.stop().await;
}
