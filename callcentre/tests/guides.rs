//! Service guides and enrolment against the real server on `127.0.0.1:0` and the real
//! `senim-callcentre` binary: consultant calls (auth, bad input, the live feed, how a call
//! ends), catalogue publishing (valid, identical, broken, rolled back) and the heartbeat's
//! catalogue problem, enrolment codes as QR codes (terminal and PNG, decoded with rqrr) and the
//! site mode in the enrolment answer, and the guide figures from records sent through the API.
//!
//! Over 600 lines: scenarios needing the real binary and server together, and helpers.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use chrono::Utc;
use common::{decode_png, decode_qr, http_sign_in, wait_for_event, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg("--data")
        .arg(data)
        .args(common::postgres::store_args(data))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "the command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or("").to_string(),
        body["message"].as_str().unwrap_or("").to_string(),
    )
}

/// The shipped catalogue (services, categories and drawings), copied so a test can change it.
fn catalogue_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let dest = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &dest);
            } else {
                std::fs::copy(&path, dest).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services"),
        dir.path(),
    );
    dir
}

fn first_service(dir: &Path) -> (PathBuf, String, String) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "categories.toml"))
        .collect();
    files.sort();
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let id = table["id"].as_str().unwrap().to_string();
    let title = table["title"]["en"].as_str().unwrap().to_string();
    (files[0].clone(), id, title)
}

fn versions_stored(data: &Path) -> i64 {
    common::postgres::open_store(data)
        .read(|c| c.query_row("SELECT COUNT(*) FROM catalog_versions", [], |r| r.get(0)))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consultant_call_reaches_the_console_live_and_ends_every_way_it_should() {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    let c = client();
    let (kiosk, token) = server
        .enrol(&c, "Public Service Centre No. 2, Astana")
        .await;
    let (_, token_b) = server.enrol(&c, "Another centre").await;

    // The title comes from the newest published catalogue.
    let catalogue = catalogue_copy();
    let (_, service, title) = first_service(catalogue.path());
    senim_callcentre::catalog::publish(&server.state.db, catalogue.path(), Utc::now()).unwrap();
    server.state.refresh_catalog_version().unwrap();

    // An operator's live feed, as the console's script reads it.
    let cookie = http_sign_in(&server, "demo-password-1").await.unwrap();
    let feed = c
        .get(format!("{}/console/events", server.url))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    let mut feed = Box::pin(feed.bytes_stream());
    let mut buffer = String::new();
    let calls = |v: &Value| v["calls"].as_array().unwrap().len();
    wait_for_event(
        &mut feed,
        &mut buffer,
        "consultant",
        Duration::from_secs(5),
        |v| calls(v) == 0,
    )
    .await;

    let url = format!("{}/api/v1/consultant", server.url);
    let at = Utc::now();
    let call = |token: &str, body: Value| c.post(&url).bearer_auth(token).json(&body).send();
    let body = |service: &str, step: u32, active: bool| json!({"service_id": service, "step": step, "at": at, "active": active});

    // Without a valid token nothing is noted.
    let r = c
        .post(&url)
        .json(&body(&service, 3, true))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "unauthorized");
    let r = call("not-a-token", body(&service, 3, true)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Bad input: a clear 400, and nothing changes.
    for (bad, needle) in [
        (body("Address Certificate", 3, true), "service_id"),
        (body(&"x".repeat(65), 3, true), "service_id"),
        (body(&service, 1000, true), "step must be 0"),
        (
            json!({"service_id": service, "step": 3, "active": true}),
            "missing field `at`",
        ),
        (
            json!({"service_id": service, "step": -1, "at": at, "active": true}),
            "step",
        ),
        (
            json!({"service_id": service, "step": 3, "at": at, "active": true, "iin": "1"}),
            "unknown field",
        ),
    ] {
        let (status, code, message) = error_of(call(&token, bad.clone()).await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_body"),
            "{bad}"
        );
        assert!(message.contains(needle), "{bad}: {message}");
    }
    assert!(server.state.consultant_calls().is_empty());

    // A real call: staff see kiosk, site, service title and step at once.
    let r = call(&token, body(&service, 3, true)).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let event = wait_for_event(
        &mut feed,
        &mut buffer,
        "consultant",
        Duration::from_secs(5),
        |v| calls(v) == 1,
    )
    .await;
    let shown = &event["calls"][0];
    assert_eq!(shown["kiosk_id"], kiosk.as_str());
    assert_eq!(shown["site"], "Public Service Centre No. 2, Astana");
    assert_eq!(shown["title"], title.as_str());
    assert_eq!(shown["step"], 3);

    // Resending the same call changes nothing; the citizen moving on moves the call.
    assert_eq!(
        call(&token, body(&service, 3, true))
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(server.state.consultant_calls().len(), 1);
    call(&token, body(&service, 4, true)).await.unwrap();
    wait_for_event(
        &mut feed,
        &mut buffer,
        "consultant",
        Duration::from_secs(5),
        |v| v["calls"][0]["step"] == 4,
    )
    .await;

    // The kiosk ends it (the citizen pressed "thanks, solved" or finished).
    call(&token, body(&service, 4, false)).await.unwrap();
    wait_for_event(
        &mut feed,
        &mut buffer,
        "consultant",
        Duration::from_secs(5),
        |v| calls(v) == 0,
    )
    .await;

    // The person leaving ends it: by presence, or by an idle heartbeat.
    let presence = |present: bool| {
        c.post(format!("{}/api/v1/presence", server.url))
            .bearer_auth(&token)
            .json(&json!({"present": present, "journey": "guide", "at": Utc::now()}))
            .send()
    };
    presence(true).await.unwrap();
    call(&token, body(&service, 2, true)).await.unwrap();
    assert_eq!(server.state.consultant_calls().len(), 1);
    presence(false).await.unwrap();
    assert!(
        server.state.consultant_calls().is_empty(),
        "left: the call ends"
    );
    call(&token, body(&service, 2, true)).await.unwrap();
    let idle = json!({"state": "idle", "queue_depth": 0, "versions": {"app": "0.1.0"},
        "sent_at": Utc::now()});
    let r = c
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(&idle)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        server.state.consultant_calls().is_empty(),
        "back on the attract screen"
    );

    // A kiosk that goes silent: the call ends once the kiosk counts as offline.
    call(&token, body(&service, 2, true)).await.unwrap();
    let offline = server.state.config.fleet.offline_after_secs as i64;
    server
        .state
        .drop_silent_presence(Utc::now() + chrono::Duration::seconds(offline / 2));
    assert_eq!(server.state.consultant_calls().len(), 1, "not silent yet");
    server
        .state
        .drop_silent_presence(Utc::now() + chrono::Duration::seconds(offline + 5));
    assert!(server.state.consultant_calls().is_empty(), "silent: gone");

    // Staff take it: a forged form changes nothing; the right one clears it for everyone, and
    // a resend of the same call does not bring it back, but a new press does.
    call(&token, body(&service, 2, true)).await.unwrap();
    call(&token_b, body(&service, 1, true)).await.unwrap();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = common::console_csrf(&server, &cookie).await;
    let take = |csrf: &str| {
        plain
            .post(format!("{}/console/consultant/{kiosk}/taken", server.url))
            .header("Cookie", &cookie)
            .form(&[("csrf", csrf)])
            .send()
    };
    assert_eq!(
        take("forged").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(server.state.consultant_calls().len(), 2);
    assert_eq!(take(&csrf).await.unwrap().status(), StatusCode::NO_CONTENT);
    let left = server.state.consultant_calls();
    assert_eq!(left.len(), 1, "only the other kiosk's call is left");
    assert_ne!(left[0].kiosk_id, kiosk);
    assert_eq!(
        take(&csrf).await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "already taken"
    );
    call(&token, body(&service, 2, true)).await.unwrap();
    assert_eq!(
        server.state.consultant_calls().len(),
        1,
        "a resend stays taken"
    );
    let again = json!({"service_id": service, "step": 2, "at": Utc::now() + chrono::Duration::seconds(1), "active": true});
    call(&token, again).await.unwrap();
    assert_eq!(
        server.state.consultant_calls().len(),
        2,
        "a new press is a new call"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_is_published_once_per_content_and_a_broken_one_is_refused_whole() {
    let server = TestServer::start().await;
    let c = client();
    let (_, token) = server
        .enrol(&c, "Public Service Centre No. 2, Astana")
        .await;
    let data = server.data();
    let good = catalogue_copy();
    let dir = good.path().to_str().unwrap();

    // Nothing published yet.
    let listed = stdout(&cli(&data, &["catalog", "list"]));
    assert!(listed.contains("No catalogue is published yet"), "{listed}");

    let out = stdout(&cli(&data, &["catalog", "publish", dir]));
    let version = out.lines().next().unwrap().to_string();
    assert!(
        version.len() == 24 && version.as_bytes()[8] == b'-' && version.as_bytes()[15] == b'-',
        "the first line is the version alone: {out}"
    );
    assert!(out.contains("Published"), "{out}");
    assert_eq!(versions_stored(&data), 1);

    // The same content again: the same version, nothing new stored.
    let out = stdout(&cli(&data, &["catalog", "publish", dir]));
    assert_eq!(out.lines().next().unwrap(), version);
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(versions_stored(&data), 1);

    // Kiosks learn it from their heartbeat and download exactly the folder's files.
    server.state.refresh_catalog_version().unwrap();
    let beat = json!({"state": "idle", "queue_depth": 0, "versions": {"app": "0.1.0"},
        "sent_at": Utc::now()});
    let answer: Value = c
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(&beat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["catalog_version"], version.as_str());
    let doc: Value = c
        .get(format!("{}/api/v1/catalog", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["version"], version.as_str());
    let files = senim_protocol::catalog::read_dir(good.path()).unwrap();
    assert_eq!(doc["files"], serde_json::to_value(&files).unwrap());

    // A broken copy: every problem listed with its file, exit non-zero, nothing stored.
    let broken = catalogue_copy();
    let (file, id, _) = first_service(broken.path());
    let text = std::fs::read_to_string(&file).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let ru = table["title"]["ru"].as_str().unwrap();
    let damaged = text.replacen(&format!("\"{ru}\""), "\"\"", 1);
    assert_ne!(damaged, text, "the test must damage the file");
    std::fs::write(&file, damaged).unwrap();
    std::fs::write(broken.path().join("99-copy.toml"), &text).unwrap();
    std::fs::write(broken.path().join("98-nonsense.toml"), "id = [").unwrap();
    let out = cli(
        &data,
        &["catalog", "publish", broken.path().to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no version is printed");
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "nothing was published",
        "problem(s)",
        "`title` has no `ru` text",
        &format!("service `{id}`: duplicate id"),
        "99-copy.toml",
        "98-nonsense.toml",
        file.file_name().unwrap().to_str().unwrap(),
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    assert_eq!(versions_stored(&data), 1);
    // Refused before the store is even opened: a fresh data folder stays empty.
    let fresh = tempfile::tempdir().unwrap();
    let out = cli(
        fresh.path(),
        &["catalog", "publish", broken.path().to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(!fresh.path().join("senim.sqlite3").exists());
    let out = cli(
        &data,
        &["catalog", "publish", "/nonexistent/senim-catalogue"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("cannot read the catalogue folder"),
        "{err}"
    );

    // A changed catalogue is a new version; publishing the old content again rolls back to
    // the old version's name instead of making a third.
    let (file, _, _) = first_service(good.path());
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n# reviewed\n")).unwrap();
    let second = stdout(&cli(&data, &["catalog", "publish", dir]));
    let second = second.lines().next().unwrap().to_string();
    assert_ne!(second, version);
    std::fs::write(&file, text).unwrap();
    let out = stdout(&cli(&data, &["catalog", "publish", dir]));
    assert_eq!(out.lines().next().unwrap(), version);
    assert!(out.contains("newest"), "{out}");
    assert_eq!(versions_stored(&data), 2);
    server.state.refresh_catalog_version().unwrap();
    assert_eq!(
        server.state.catalog_version().as_deref(),
        Some(version.as_str())
    );
    let listed = stdout(&cli(&data, &["catalog", "list"]));
    let first = listed.lines().next().unwrap();
    assert!(
        first.starts_with(&version) && first.ends_with("NEWEST"),
        "{listed}"
    );
    assert!(listed.contains(&second), "{listed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_that_refuses_a_catalogue_says_so_in_its_heartbeat() {
    let server = TestServer::start().await;
    let c = client();
    let (kiosk, token) = server.enrol(&c, "Centre").await;
    let beat = |problem: Value| {
        let mut beat = json!({"state": "idle", "queue_depth": 0,
            "versions": {"app": "0.1.0", "catalog": "20261101-090000-0a1b2c3d"},
            "sent_at": Utc::now()});
        if !problem.is_null() {
            beat["catalog_problem"] = problem;
        }
        c.post(format!("{}/api/v1/heartbeat", server.url))
            .bearer_auth(&token)
            .json(&beat)
            .send()
    };
    let problem = json!({"version": "20261120-101500-3f2a9c1e",
        "message": "02-no-criminal-record.toml: service `no-criminal-record`: step 2 has no `kk` translation"});
    assert_eq!(
        beat(problem.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    for bad in [
        json!({"version": "", "message": "x"}),
        json!({"version": "v", "message": ""}),
        json!({"version": "v", "message": "x".repeat(4001)}),
        json!({"version": "v"}),
    ] {
        let (status, code, message) = error_of(beat(bad.clone()).await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_body"),
            "{bad}"
        );
        assert!(
            message.contains("catalog_problem") || message.contains("message"),
            "{message}"
        );
    }
    // The refused heartbeats changed nothing: the stored picture is the good one's.
    server.state.flush_heartbeats().unwrap();
    let kiosks = server
        .state
        .db
        .read(senim_callcentre::db::list_kiosks)
        .unwrap();
    let row = kiosks.iter().find(|k| k.id == kiosk).unwrap();
    assert_eq!(
        serde_json::to_value(row.catalog_problem.as_ref().unwrap()).unwrap(),
        problem
    );
    assert_eq!(
        row.catalog_version.as_deref(),
        Some("20261101-090000-0a1b2c3d")
    );
    // Once it runs a good version, the complaint is gone.
    beat(Value::Null).await.unwrap();
    server.state.flush_heartbeats().unwrap();
    let kiosks = server
        .state
        .db
        .read(senim_callcentre::db::list_kiosks)
        .unwrap();
    assert_eq!(kiosks[0].catalog_problem, None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_code_comes_as_a_qr_code_and_the_kiosk_learns_its_site_and_mode() {
    let server = TestServer::start().await;
    let c = client();
    let data = server.data();
    let here = tempfile::tempdir().unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .current_dir(here.path())
        .arg("--data")
        .arg(&data)
        .args(common::postgres::store_args(&data))
        .args([
            "enrol-code",
            "--site",
            "Public Service Centre No. 2, Astana",
            "--mode",
            "front-office",
            "--qr",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    let code = text.lines().next().unwrap();
    assert!(
        code.len() == 19
            && code.split('-').count() == 4
            && code
                .bytes()
                .all(|b| b == b'-' || senim_protocol::APPEAL_ID_ALPHABET.contains(&b)),
        "the first line is the code alone: {code:?}"
    );
    let payload = format!("SENIM-ENROL:{code}");

    // The PNG, by default enrol-<code>.png in the current folder, is a QR code of the payload.
    let png = std::fs::read(here.path().join(format!("enrol-{code}.png"))).unwrap();
    assert_eq!(decode_png(&png), payload);

    // So is the picture in the terminal (half blocks, two module rows per line).
    let rows: Vec<Vec<char>> = text
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| " ▀▄█".contains(c)))
        .map(|l| l.chars().collect())
        .collect();
    assert!(rows.len() > 10, "a QR code is drawn: {text}");
    let (w, h) = (rows[0].len(), rows.len() * 2);
    let scale = 4; // rqrr wants a few pixels per module
    let decoded = decode_qr(w * scale, h * scale, |x, y| {
        let (x, y) = (x / scale, y / scale);
        match rows[y / 2][x] {
            '█' => true,
            '▀' => y % 2 == 0,
            '▄' => y % 2 == 1,
            _ => false,
        }
    });
    assert_eq!(decoded, payload);

    // Enrolling with the scanned text: the answer carries the site and its mode.
    let r: Value = c
        .post(format!("{}/api/v1/enrol", server.url))
        .json(&json!({ "code": decoded }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["site"], "Public Service Centre No. 2, Astana");
    assert_eq!(r["mode"], "front-office");
    let kiosks = server
        .state
        .db
        .read(senim_callcentre::db::list_kiosks)
        .unwrap();
    assert_eq!(kiosks[0].mode, senim_protocol::SiteMode::FrontOffice);

    // --png names the file; without --mode the site is a hospital.
    let file = here.path().join("for-the-technician.png");
    let text = stdout(&cli(
        &data,
        &[
            "enrol-code",
            "--site",
            "City Hospital No. 4",
            "--png",
            file.to_str().unwrap(),
        ],
    ));
    let code = text.lines().next().unwrap();
    assert_eq!(
        decode_png(&std::fs::read(&file).unwrap()),
        format!("SENIM-ENROL:{code}")
    );
    let r: Value = c
        .post(format!("{}/api/v1/enrol", server.url))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["mode"], "hospital");

    // A PNG that cannot be written: a clear error and no code stored.
    let count = || -> i64 {
        common::postgres::open_store(&data)
            .read(|c| c.query_row("SELECT COUNT(*) FROM enrol_codes", [], |r| r.get(0)))
            .unwrap()
    };
    let before = count();
    let out = cli(
        &data,
        &[
            "enrol-code",
            "--site",
            "X",
            "--qr",
            "--png",
            "/nonexistent/dir/code.png",
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no code is printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/dir/code.png") && err.contains("No code was made"),
        "{err}"
    );
    assert_eq!(count(), before);
    // A wrong mode is refused by name.
    let out = cli(&data, &["enrol-code", "--site", "X", "--mode", "clinic"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("front-office"));
    assert_eq!(count(), before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_report_counts_what_kiosks_sent() {
    let server = TestServer::start().await;
    let c = client();
    let (kiosk, token) = server.enrol(&c, "Centre").await;
    let now = Utc::now();
    let event = |n: u32,
                 session: &str,
                 service: &str,
                 kind: &str,
                 step: Option<u32>,
                 rating: Option<u8>| {
        let mut record = json!({"kind": "guide_event", "session_id": session, "service_id": service,
            "event": kind, "at": now - chrono::Duration::minutes(60 - i64::from(n))});
        if let Some(step) = step {
            record["step"] = json!(step);
        }
        if let Some(rating) = rating {
            record["rating"] = json!(rating);
        }
        json!({"key": format!("guide-{n:04}"), "record": record})
    };
    let records = vec![
        event(1, "s-1", "no-criminal-record", "started", None, None),
        event(2, "s-1", "no-criminal-record", "completed", None, None),
        event(3, "s-1", "no-criminal-record", "rated", None, Some(3)),
        event(4, "s-2", "no-criminal-record", "started", None, None),
        event(
            5,
            "s-2",
            "no-criminal-record",
            "consultant_called",
            Some(2),
            None,
        ),
        event(6, "s-2", "no-criminal-record", "abandoned", Some(2), None),
        event(7, "s-3", "no-criminal-record", "started", None, None),
        event(8, "s-3", "no-criminal-record", "completed", None, None),
    ];
    let r = c
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A replay stores nothing twice, so the figures do not move.
    c.post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap();
    let catalogue = catalogue_copy();
    stdout(&cli(
        &server.data(),
        &["catalog", "publish", catalogue.path().to_str().unwrap()],
    ));

    let report: Value = serde_json::from_str(&stdout(&cli(
        &server.data(),
        &["guides", "report", "--json"],
    )))
    .unwrap();
    assert_eq!(report["total"]["completed"], 2);
    assert_eq!(report["total"]["started"], 3);
    assert_eq!(report["total"]["abandoned"], 1);
    assert_eq!(report["total"]["consultant_calls"], 1);
    assert_eq!(report["total"]["ratings"]["good"], 1);
    let address = report["by_service"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_id"] == "no-criminal-record")
        .unwrap();
    assert_eq!(address["most_abandoned_step"], 2);
    assert_ne!(
        address["title"], "no-criminal-record",
        "titled from the catalogue"
    );
    assert_eq!(report["by_kiosk"][0]["kiosk_id"], kiosk.as_str());
    assert_eq!(
        report["by_day"].as_array().unwrap().len(),
        30,
        "the last 30 days by default"
    );

    let text = stdout(&cli(&server.data(), &["guides", "report"]));
    assert!(
        text.contains("Citizens guided to the end (trained to use e-services): 2"),
        "{text}"
    );
    // A range without the events: zero.
    let text = stdout(&cli(
        &server.data(),
        &[
            "guides",
            "report",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-31",
            "--json",
        ],
    ));
    let empty: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(empty["total"]["started"], 0);
    let out = cli(&server.data(), &["guides", "report", "--from", "yesterday"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--from: expected a date"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop().await;
}
