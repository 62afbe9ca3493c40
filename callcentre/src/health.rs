//! `GET /healthz`, for a load balancer in front of several servers: `200 ok` while this
//! server's store answers a query within [`TIMEOUT`], else `503` (the cause is logged, not
//! sent). On PostgreSQL the query runs on a reader, which reconnects by itself once the
//! database is back, so the server returns to the pool without a restart.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use crate::db;
use crate::state::AppState;

/// How long the store may take to answer before the server is reported unhealthy.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The handler of `GET /healthz`.
pub async fn healthz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    let probe = db::read(&state.db, |c| {
        Ok(
            c.query_row("SELECT count(*) FROM kiosks WHERE 1 = 0", [], |r| {
                r.get::<_, i64>(0)
            })?,
        )
    });
    match tokio::time::timeout(TIMEOUT, probe).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
        Err(_) => {
            tracing::warn!("health check: the store did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
