//! `GET /healthz` on the real server: `200 ok` while the store answers, `503` while it cannot
//! (here its kiosks table is renamed away under it), and `200` again once it can.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use senim_callcentre::db::{self, DbError};

async fn health(server: &TestServer) -> (StatusCode, String) {
    let r = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn rename(server: &TestServer, from: &'static str, to: &'static str) {
    db::write(&server.state.db, move |tx| {
        tx.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}"))
            .map_err(DbError::from)
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn health_follows_the_store() {
    let server = TestServer::start().await;
    assert_eq!(health(&server).await, (StatusCode::OK, "ok\n".into()));

    rename(&server, "kiosks", "kiosks_away").await;
    let (status, body) = health(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "database unavailable\n", "no detail goes out");

    rename(&server, "kiosks_away", "kiosks").await;
    assert_eq!(health(&server).await, (StatusCode::OK, "ok\n".into()));
}
