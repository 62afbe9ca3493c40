//! The load balancer's health check, `GET /api/v1/health`, on the real server: `200` while the
//! store answers, `503` while it cannot (here its kiosks table is renamed away under it), and
//! `200` again once it can. On PostgreSQL: `tests/two_servers.rs`.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use senim_callcentre::db;

async fn health(server: &TestServer) -> (StatusCode, serde_json::Value) {
    let r = reqwest::get(format!("{}/api/v1/health", server.url))
        .await
        .unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "no-store",
        "a balancer must never see a cached answer"
    );
    (r.status(), r.json().await.unwrap())
}

async fn rename(server: &TestServer, from: &'static str, to: &'static str) {
    db::write(&server.state.db, move |tx| {
        tx.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}"))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn health_follows_the_store_and_needs_no_sign_in() {
    let server = TestServer::start().await;
    let (status, body) = health(&server).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    rename(&server, "kiosks", "kiosks_away").await;
    let (status, body) = health(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "unreachable", "no detail goes out");

    rename(&server, "kiosks_away", "kiosks").await;
    assert_eq!(health(&server).await.0, StatusCode::OK);
}
