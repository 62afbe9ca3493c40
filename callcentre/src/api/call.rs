//! `GET /api/v1/call`: the kiosk's signalling WebSocket (bearer token as on every kiosk
//! request). Text frames are `protocol::call` messages; the registry in `calls` handles them.
//! See `callcentre/signalling.md`.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;

use super::KioskAuth;
use crate::calls::AfterKiosk;
use crate::state::AppState;

/// Frames longer than this close the socket outright; shorter ones over
/// `senim_protocol::call::MAX_MESSAGE_BYTES` are answered with a `too_large` error.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Upgrades an enrolled kiosk's request to its signalling socket.
pub async fn socket(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(socket, state, kiosk))
}

async fn run(mut socket: WebSocket, state: Arc<AppState>, kiosk: KioskAuth) {
    let (conn, mut outbox) = state
        .calls
        .kiosk_connected(&kiosk.kiosk_id, state.open_now());
    tracing::debug!(kiosk = %kiosk.kiosk_id, "kiosk signalling socket open");
    loop {
        tokio::select! {
            out = outbox.recv() => {
                // None: a newer socket of this kiosk replaced this one.
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
                let after = state.calls.from_kiosk(
                    &kiosk.kiosk_id,
                    &kiosk.site,
                    conn,
                    text.as_str(),
                    state.open_now(),
                );
                if let AfterKiosk::StartRingTimer(call_id) = after {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        tokio::time::sleep(state.calls.ring_duration()).await;
                        state.calls.ring_timeout(&call_id, state.open_now());
                    });
                }
            }
        }
    }
    state
        .calls
        .kiosk_disconnected(&kiosk.kiosk_id, conn, state.open_now());
    tracing::debug!(kiosk = %kiosk.kiosk_id, "kiosk signalling socket closed");
}
