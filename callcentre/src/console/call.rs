//! `GET /console/call`: the operator's signalling WebSocket. It needs a signed-in session
//! (the cookie) and an `Origin` naming this very server (another site's page cannot open it
//! with the operator's cookie). Text frames are `protocol::call` messages; the registry in
//! `calls` handles them. See `callcentre/signalling.md`.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{ConsoleError, Operator};
use crate::state::AppState;

/// Frames longer than this close the socket outright; shorter ones over
/// `senim_protocol::call::MAX_MESSAGE_BYTES` are answered with a `too_large` error.
const MAX_FRAME_BYTES: usize = 256 * 1024;

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
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(socket, state, operator))
}

async fn run(mut socket: WebSocket, state: Arc<AppState>, operator: Operator) {
    let (conn, mut outbox) = state
        .calls
        .console_connected(&operator.session.username, &operator.session.display_name);
    tracing::debug!(operator = %operator.session.username, "console signalling socket open");
    loop {
        tokio::select! {
            out = outbox.recv() => {
                // None: the operator signed out.
                let Some(message) = out else { break };
                let Ok(text) = serde_json::to_string(&message) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            frame = socket.recv() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    // Not a text frame: refused as malformed.
                    Some(Ok(Message::Binary(_))) => "".into(),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                state.calls.from_console(conn, text.as_str(), state.open_now());
            }
        }
    }
    state.calls.console_disconnected(conn, state.open_now());
    tracing::debug!(operator = %operator.session.username, "console signalling socket closed");
}
