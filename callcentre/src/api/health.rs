//! `GET /api/v1/health`: what a load balancer asks before sending a server kiosks and
//! operators — 200 when this server can reach its store, 503 (with the reason) when not.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db;
use crate::state::AppState;

/// The answer's body (no personal data, nothing secret: load balancers log it).
#[derive(Debug, Serialize)]
struct Health {
    /// `ok` or `unavailable`.
    status: &'static str,
    /// `ok` or `unreachable` (the reason is in this server's log, not in the answer: the
    /// endpoint is public).
    database: &'static str,
    /// This server's version.
    version: &'static str,
}

/// Runs one trivial query on the store; 200 if it answers, 503 if not.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let probe = db::read(&state.db, |c| {
        Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)
    })
    .await;
    let (code, status, database) = match probe {
        Ok(1) => (StatusCode::OK, "ok", "ok"),
        Ok(other) => {
            tracing::warn!(
                answer = other,
                "health check: the store answered SELECT 1 wrongly"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "unreachable",
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "unreachable",
            )
        }
    };
    let body = Health {
        status,
        database,
        version: env!("CARGO_PKG_VERSION"),
    };
    (
        code,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}
