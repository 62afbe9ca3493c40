//! `GET /api/v1/health`: what a load balancer asks before sending a server kiosks and
//! operators — 200 while this server's store answers a query within [`TIMEOUT`], 503 when not
//! (the cause in the log, not in the answer). On PostgreSQL the query runs on a reader, which
//! reconnects by itself once the database is back, so the server returns to the pool without
//! a restart.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db;
use crate::state::AppState;

/// How long the store may take to answer before the server is reported unhealthy.
pub const TIMEOUT: Duration = Duration::from_secs(3);

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

/// Runs one query on a table of the schema (a store that lost it is not healthy); 200 if it
/// answers in time, 503 if not.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let probe = db::read(&state.db, |c| {
        c.query_row("SELECT count(*) FROM kiosks WHERE 1 = 0", [], |r| {
            r.get::<_, i64>(0)
        })
    });
    let healthy = match tokio::time::timeout(TIMEOUT, probe).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store failed");
            false
        }
        Err(_) => {
            tracing::warn!("health check: the store did not answer in time");
            false
        }
    };
    let (code, body) = if healthy {
        (
            StatusCode::OK,
            Health {
                status: "ok",
                database: "ok",
                version: env!("CARGO_PKG_VERSION"),
            },
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "unavailable",
                database: "unreachable",
                version: env!("CARGO_PKG_VERSION"),
            },
        )
    };
    (
        code,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}
