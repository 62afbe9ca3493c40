//! Issue 21's test: two call-centre servers on one PostgreSQL and one S3-protocol object store
//! (as behind a load balancer). A kiosk enrols on server A (a real `senim-callcentre serve`
//! process), says a patient is at it and uploads half a video to A; server B lights the lamp;
//! A is killed (SIGKILL, no goodbye); the kiosk asks B where its upload stands and sends B the
//! rest; the video is whole, byte for byte, and the appeal with it. An operator's session made
//! on B is valid on A. Then the load balancer's view: B's health check is 200 while PostgreSQL
//! answers, 503 while it is down, 200 again. And a server holding other keys is refused.

mod common;
#[path = "common/s3.rs"]
mod s3;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::postgres::TestPostgres;
use common::process::{serve, serve_or_exit, until};
use common::tus::{upload_id, video, Kiosk};
use common::{test_config, TestServer};
use reqwest::StatusCode;
use s3::TestS3;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;
const WITHIN: Duration = Duration::from_secs(20);

/// PATCHes `chunk` at `offset` and expects the new offset.
async fn patch_ok(kiosk: &Kiosk, location: &str, offset: usize, chunk: &[u8]) -> usize {
    let r = kiosk.patch(location, offset, chunk).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "PATCH at {offset}");
    offset + chunk.len()
}

async fn health(server: &TestServer) -> StatusCode {
    reqwest::get(format!("{}/api/v1/health", server.url))
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_moves_to_the_other_server_when_the_first_dies_and_nothing_is_lost() {
    let pg = TestPostgres::start();
    let database = pg.migrated_url();
    let s3 = TestS3::start().await;

    // Server B, in this process (the test reads its live picture).
    let mut config = test_config();
    config.database.url = Some(database.clone());
    s3.configure(&mut config, "cc");
    let b = TestServer::start_with(config.clone(), None).await;
    b.operator("aigerim", "demo-password-1", "Aigerim Sadykova");

    // Server A: the same database, bucket and sealing keys (every server holds the same ones:
    // docs/several-servers.md), its own data folder.
    let dir_a = tempfile::tempdir().unwrap();
    let keys = b.data().join("seal.keys");
    let toml = format!(
        "[server]\ndata_dir = {data:?}\n\
         [database]\nurl = {database:?}\n\
         [storage]\nreserve_mib = 16\nkey_file = {keys:?}\nurl = {url:?}\nendpoint = {endpoint:?}\n\
         access_key_id = \"test-key-id\"\nsecret_access_key_file = {secret:?}\n\
         [hours]\nopens = \"00:00\"\ncloses = \"23:59\"\n\
         working_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
         holidays = []\n",
        data = dir_a.path().join("data"),
        url = config.storage.url.as_deref().unwrap(),
        endpoint = config.storage.endpoint.as_deref().unwrap(),
        secret = config.storage.secret_access_key_file.as_ref().unwrap(),
    );
    let config_a = dir_a.path().join("callcentre.toml");
    std::fs::write(&config_a, toml).unwrap();
    // The signing key too (kiosks trust catalogues signed by it): copied, as the docs say.
    std::fs::create_dir_all(dir_a.path().join("data")).unwrap();
    std::fs::copy(
        b.data().join(senim_callcentre::secrets::SIGNING_KEY_FILE),
        dir_a
            .path()
            .join("data")
            .join(senim_callcentre::secrets::SIGNING_KEY_FILE),
    )
    .unwrap();
    // Server A: the real binary, so it can be killed as a machine dies.
    let a = serve(&["--config".as_ref(), config_a.as_os_str()]);

    // The kiosk enrols on A with a code the administrator made (on B: one store).
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (kiosk_id, token) = b.enrol_at(&c, "City Hospital No. 4", &a.url).await;
    let mut kiosk = Kiosk {
        c: c.clone(),
        url: a.url.clone(),
        token,
    };

    // A patient is at the kiosk: told to A, lit on B.
    let r = c
        .post(format!("{}/api/v1/presence", a.url))
        .bearer_auth(&kiosk.token)
        .json(&serde_json::json!({"present": true, "journey": "appeal", "at": chrono::Utc::now()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let state = std::sync::Arc::clone(&b.state);
    let lit = kiosk_id.clone();
    until(
        "B lights the lamp for the kiosk that talks to A",
        WITHIN,
        move || state.present().iter().any(|p| p.kiosk_id == lit),
    )
    .await;

    // An operator signed in on B is signed in on A too (sessions live in the shared store).
    let cookie = common::http_sign_in(&b, "demo-password-1")
        .await
        .expect("signed in on B");
    let on_a = common::no_redirects()
        .get(format!("{}/console", a.url))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(on_a.status(), StatusCode::OK, "B's session is valid on A");
    let signed_out = common::no_redirects()
        .get(format!("{}/console", a.url))
        .send()
        .await
        .unwrap();
    assert!(
        signed_out.status().is_redirection(),
        "without it, A sends to the sign-in page"
    );

    // The appeal and half of its video go to A.
    let plain = video(21, 11 * MIB + 4321);
    let appeal = kiosk.appeal(1, &plain).await;
    let location = kiosk.create_ok(&appeal, plain.len()).await;
    let mut offset = patch_ok(&kiosk, &location, 0, &plain[..3 * MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..offset + 3 * MIB]).await;
    assert!(offset > plain.len() / 2);

    // A dies.
    drop(a);

    // The kiosk's next try goes to B (the balancer sends it there): the same upload, where it
    // stood, and the rest.
    kiosk.url = b.url.clone();
    let (status, at, _) = kiosk.state(&location).await;
    assert_eq!(
        (status, at),
        (StatusCode::OK, offset as u64),
        "B knows A's offset"
    );
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..offset + 2 * MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..]).await;
    assert_eq!(offset, plain.len());
    let (_, _, sha) = kiosk.state(&location).await;
    assert_eq!(
        sha.as_deref(),
        Some(hex::encode(Sha256::digest(&plain)).as_str()),
        "the whole video, hashed again by B"
    );

    // Nothing lost: the object opens to the very bytes, and the appeal carries it.
    let id = upload_id(&location);
    let object = s3.object(&format!("cc/videos/{id}")).await;
    let opened = if senim_common::seal::is_sealed(&object) {
        b.state.seal.as_ref().unwrap().open(&object).unwrap()
    } else {
        object
    };
    assert!(opened == plain, "the video in the bucket is the kiosk's");
    assert_eq!(s3.open_multipart_uploads().await, 0);
    let row = b
        .state
        .db
        .read({
            let appeal = appeal.clone();
            move |c| senim_callcentre::db::get_appeal(c, &appeal)
        })
        .unwrap()
        .expect("the appeal is stored once");
    assert_eq!(row.kiosk_id, kiosk_id);
    assert_eq!(row.video_upload_id.as_deref(), Some(id.as_str()));
    assert_eq!(row.video_bytes, Some(plain.len() as u64));

    // The balancer's health check follows PostgreSQL.
    assert_eq!(health(&b).await, StatusCode::OK);
    pg.stop();
    assert_eq!(health(&b).await, StatusCode::SERVICE_UNAVAILABLE);
    pg.start_again();
    let deadline = tokio::time::Instant::now() + WITHIN;
    while health(&b).await != StatusCode::OK {
        assert!(
            tokio::time::Instant::now() < deadline,
            "healthy again after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.stop().await;
}

/// `senim-callcentre serve` on `database` with a fresh data folder (so fresh keys): its exit
/// status and what it printed on stderr, or `None` if it is still serving after it printed
/// its address (then it is killed).
fn serve_fresh(database: &str) -> (tempfile::TempDir, Option<(bool, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let served = serve_or_exit(&[
        "--data".as_ref(),
        dir.path().as_os_str(),
        "--database-url".as_ref(),
        database.as_ref(),
    ]);
    let outcome = served.err().map(|out| {
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    });
    (dir, outcome)
}

#[test]
fn a_server_holding_other_keys_than_the_first_is_refused_and_told_what_to_copy() {
    let pg = TestPostgres::start();
    let database = pg.migrated_url();
    // The first server records its keys.
    let (first, outcome) = serve_fresh(&database);
    assert!(outcome.is_none(), "the first server serves: {outcome:?}");
    // A second machine started with an empty data folder made keys of its own: refused.
    let (_second, outcome) = serve_fresh(&database);
    let (ok, stderr) = outcome.expect("the second server must not serve");
    assert!(!ok);
    assert!(stderr.contains("copy signing.key"), "{stderr}");
    // With the first one's signing key, the sealing key is still missing: refused, saying so.
    let third = tempfile::tempdir().unwrap();
    std::fs::copy(
        first
            .path()
            .join(senim_callcentre::secrets::SIGNING_KEY_FILE),
        third
            .path()
            .join(senim_callcentre::secrets::SIGNING_KEY_FILE),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg("--data")
        .arg(third.path())
        .args(["--database-url", &database])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SENIM_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[storage] key_file"), "{stderr}");
}
