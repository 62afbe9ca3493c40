//! `GET /console/call`: the operator's signalling WebSocket. It needs a signed-in session
//! (the cookie) and an `Origin` naming this very server (another site's page cannot open it
//! with the operator's cookie). Text frames are `protocol::call` messages; the registry in
//! `calls` handles them. See `callcentre/signalling.md`.

use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{ConsoleError, Operator};
use crate::signalling;
use crate::state::AppState;

/// Whether the request's `Origin` is this server (scheme aside, it must equal `Host`).
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (get(header::ORIGIN), get(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// Upgrades a signed-in operator's same-origin request to their signalling socket.
pub(super) async fn socket(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    operator: Result<Operator, ConsoleError>,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        tracing::warn!("console call socket from another origin refused");
        return (
            StatusCode::FORBIDDEN,
            "open the call socket from the console's own pages",
        )
            .into_response();
    }
    let operator = match operator {
        Ok(operator) => operator,
        Err(ConsoleError::SignIn) => {
            return (StatusCode::UNAUTHORIZED, "sign in to the console first").into_response()
        }
        Err(other) => return other.into_response(),
    };
    signalling::limited(ws).on_upgrade(move |socket| run(socket, state, operator))
}

async fn run(mut socket: WebSocket, state: Arc<AppState>, operator: Operator) {
    let (conn, mut outbox) = state
        .calls
        .console_connected(&operator.session.username, &operator.session.display_name);
    tracing::debug!(operator = %operator.session.username, "console signalling socket open");
    signalling::pump(&mut socket, &mut outbox, |text| {
        state.calls.from_console(conn, text, state.open_now())
    })
    .await;
    state.calls.console_disconnected(conn, state.open_now());
    tracing::debug!(operator = %operator.session.username, "console signalling socket closed");
}
