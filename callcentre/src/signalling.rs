//! The plumbing both signalling sockets share (the kiosk's `/api/v1/call` and the operator's
//! `/console/call`): frame limits, and the loop that sends what the call registry queued for
//! the socket and hands what arrives to the registry.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use serde::Serialize;

use crate::calls::Outbox;

/// Frames longer than this close the socket outright; shorter ones over
/// `senim_protocol::call::MAX_MESSAGE_BYTES` are answered with a `too_large` error.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// The upgrade with the frame limits every signalling socket has.
pub fn limited(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

/// Carries one socket until either side ends it: messages queued in `outbox` go out as JSON
/// text frames (the queue closing — a newer socket, a sign-out — ends the socket), text frames
/// coming in go to `on_text` (a binary frame is passed on as empty text, which the registry
/// refuses as malformed).
pub async fn pump<M: Serialize>(
    socket: &mut WebSocket,
    outbox: &mut Outbox<M>,
    mut on_text: impl FnMut(&str),
) {
    loop {
        tokio::select! {
            out = outbox.recv() => {
                let Some(message) = out else { break };
                let Ok(text) = serde_json::to_string(&message) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            frame = socket.recv() => {
                match frame {
                    Some(Ok(Message::Text(text))) => on_text(text.as_str()),
                    Some(Ok(Message::Binary(_))) => on_text(""),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                }
            }
        }
    }
}
