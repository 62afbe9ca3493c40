//! `GET /api/v1/call`: the kiosk's signalling WebSocket (bearer token as on every kiosk
//! request). Text frames are `protocol::call` messages; the registry in `calls` handles them.
//! See `callcentre/signalling.md`.

use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;

use super::KioskAuth;
use crate::calls::AfterKiosk;
use crate::signalling;
use crate::state::AppState;

/// Upgrades an enrolled kiosk's request to its signalling socket.
pub async fn socket(
    State(state): State<Arc<AppState>>,
    kiosk: KioskAuth,
    ws: WebSocketUpgrade,
) -> Response {
    signalling::limited(ws).on_upgrade(move |socket| run(socket, state, kiosk))
}

async fn run(mut socket: WebSocket, state: Arc<AppState>, kiosk: KioskAuth) {
    let (conn, mut outbox) = state
        .calls
        .kiosk_connected(&kiosk.kiosk_id, state.open_now());
    tracing::debug!(kiosk = %kiosk.kiosk_id, "kiosk signalling socket open");
    signalling::pump(&mut socket, &mut outbox, |text| {
        let after =
            state
                .calls
                .from_kiosk(&kiosk.kiosk_id, &kiosk.site, conn, text, state.open_now());
        state.announce_operators(false);
        signalling::store_calls_soon(&state);
        if let AfterKiosk::StartRingTimer(call_id) = after {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                tokio::time::sleep(state.calls.ring_duration()).await;
                state.calls.ring_timeout(&call_id, state.open_now());
            });
        }
    })
    .await;
    state
        .calls
        .kiosk_disconnected(&kiosk.kiosk_id, conn, state.open_now());
    state.announce_operators(false);
    signalling::store_calls(&state).await;
    tracing::debug!(kiosk = %kiosk.kiosk_id, "kiosk signalling socket closed");
}
