//! The load balancer's health check, `GET /api/v1/health`, on the embedded store.

mod common;

use common::TestServer;

#[tokio::test]
async fn a_server_whose_store_answers_is_healthy_without_a_sign_in() {
    let server = TestServer::start().await;
    let r = reqwest::get(format!("{}/api/v1/health", server.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "no-store",
        "a balancer must never see a cached answer"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}
