//! The kiosk API's side of system updates over real HTTP: the heartbeat answer offers the
//! newest bundle for the kiosk's site (staged by site, not what it runs, not what it reported
//! failed), the bundle is served with `Range` to enrolled kiosks of those sites only, a failed
//! report is kept at once, and the fleet view shows versions, progress and failures.
//! (Bundles are recorded here straight in the store; `tests/updates.rs` at the workspace root
//! publishes real signed ones through `rauc info`.)

mod common;

use common::TestServer;
use serde_json::json;

const WARD5: &str = "Ward 5";
const WARD6: &str = "Ward 6";

/// Records `bytes` as bundle `version` for `sites` (empty: every site), as `update publish`
/// does after its checks.
fn record_bundle(server: &TestServer, version: &str, bytes: &[u8], sites: &[&str]) -> String {
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let path = senim_callcentre::updates::bundle_path(&server.data(), &sha);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let sites: Vec<String> = sites.iter().map(|s| s.to_string()).collect();
    server
        .state
        .db
        .write(|tx| {
            senim_callcentre::db::publish_bundle(
                tx,
                &sha,
                version,
                bytes.len() as u64,
                &sites,
                chrono::Utc::now(),
            )
        })
        .unwrap();
    server.state.refresh_updates().unwrap();
    sha
}

async fn beat(
    http: &reqwest::Client,
    server: &TestServer,
    token: &str,
    image: &str,
    update: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut body = json!({"state": "idle", "queue_depth": 0,
        "versions": {"app": "0.1.0", "image": image}, "sent_at": chrono::Utc::now()});
    if let Some(u) = update {
        body["update"] = u;
    }
    let r = http
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn offers_are_staged_by_site_and_bundles_served_with_range() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (_, t5) = server.enrol(&http, WARD5).await;
    let (_, t6) = server.enrol(&http, WARD6).await;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = record_bundle(&server, "2.0.0", &bytes, &[WARD5]);

    let a = beat(&http, &server, &t5, "1.0.0", None).await;
    assert_eq!(a["update"]["version"], "2.0.0");
    assert_eq!(a["update"]["sha256"], sha.as_str());
    assert_eq!(a["update"]["size"], 100_000);
    let url = a["update"]["url"].as_str().unwrap().to_string();
    assert!(
        beat(&http, &server, &t6, "1.0.0", None)
            .await
            .get("update")
            .is_none(),
        "Ward 6 waits"
    );
    assert!(
        beat(&http, &server, &t5, "2.0.0", None)
            .await
            .get("update")
            .is_none(),
        "runs it"
    );

    // Resumable: a range from the middle.
    let r = http
        .get(format!("{}{url}", server.url))
        .bearer_auth(&t5)
        .header("Range", "bytes=60000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 60000-99999/100000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[60_000..]);
    let whole = http
        .get(format!("{}{url}", server.url))
        .bearer_auth(&t5)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &bytes[..]);
    // Not for another site's kiosk, nor without a token, nor a path outside the folder.
    let other = http
        .get(format!("{}{url}", server.url))
        .bearer_auth(&t6)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let anonymous = http
        .get(format!("{}{url}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let odd = http
        .get(format!("{}/api/v1/updates/..%2Fsenim.db", server.url))
        .bearer_auth(&t5)
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 404);

    // Rolled out to every site: Ward 6 gets it too.
    record_bundle(&server, "2.0.0", &bytes, &[]);
    assert_eq!(
        beat(&http, &server, &t6, "1.0.0", None).await["update"]["version"],
        "2.0.0"
    );
}

#[tokio::test]
async fn a_failure_is_kept_at_once_never_offered_again_and_shown_in_the_fleet() {
    let server = TestServer::start().await;
    server.admin("admin1", "demo-password-1", "Admin One");
    let http = reqwest::Client::new();
    let (kiosk, token) = server.enrol(&http, WARD5).await;
    record_bundle(&server, "3.0.0", b"a bundle that will not come up", &[]);
    let a = beat(
        &http,
        &server,
        &token,
        "2.0.0",
        Some(json!({"version": "3.0.0",
        "state": "downloading", "progress_percent": 40})),
    )
    .await;
    assert_eq!(a["update"]["version"], "3.0.0");
    // A report out of bounds is refused.
    let r = http
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(
            &json!({"state": "idle", "queue_depth": 0, "versions": {"app": "0.1.0"},
            "sent_at": chrono::Utc::now(),
            "update": {"version": "3.0.0", "state": "downloading", "progress_percent": 140}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let failed = json!({"version": "3.0.0", "state": "failed",
        "message": "rolled back: 3.0.0 did not reach serving after the restart; 2.0.0 runs again"});
    let a = beat(&http, &server, &token, "2.0.0", Some(failed)).await;
    assert!(a.get("update").is_none(), "not offered again");
    // Kept before the answer (no heartbeat flush happened).
    let kept = server
        .state
        .db
        .read(senim_callcentre::db::update_failures)
        .unwrap();
    assert_eq!(kept[&kiosk].version, "3.0.0");
    let a = beat(&http, &server, &token, "2.0.0", None).await;
    assert!(a.get("update").is_none());

    let cookie = common::http_sign_in_as(&server, "admin1", "demo-password-1")
        .await
        .expect("signs in");
    let page = common::console_page(&server, &cookie, "/console/fleet", "en").await;
    assert!(page.contains("Image 2.0.0"), "{page}");
    assert!(page.contains("Update 3.0.0: Failed"), "{page}");
    assert!(
        page.contains("rolled back: 3.0.0 did not reach serving"),
        "{page}"
    );
}
