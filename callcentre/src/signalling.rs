//! The plumbing both signalling sockets share (the kiosk's `/api/v1/call` and the operator's
//! `/console/call`): frame limits, the loop that sends what the call registry queued for
//! the socket and hands what arrives to the registry, and the writing of answered calls into
//! the store as appeals. Also what the live bus (`crate::live`) needs of a server, with the
//! carrying of live calls' messages between servers.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use serde::Serialize;

use crate::calls::{CallFact, Outbox};
use crate::db;
use crate::state::{AppState, LiveEvent};

/// Writes what the registry learnt about answered calls (taken, ended) into the store: each
/// answered call is an appeal. Whoever calls this after the registry changed sees the change
/// stored when it returns (the registry's store lock orders the writers).
pub async fn store_calls(state: &Arc<AppState>) {
    let _order = state.calls.store_lock().lock().await;
    let facts = state.calls.take_facts();
    if facts.is_empty() {
        return;
    }
    let deadlines =
        crate::deadlines::Deadlines::new(state.config.deadlines.clone(), state.schedule.clone());
    let changed: Vec<String> = facts
        .iter()
        .map(|fact| match fact {
            CallFact::Answered(call) => call.appeal_id.clone(),
            CallFact::Ended { appeal_id, .. } => appeal_id.clone(),
        })
        .collect();
    let written = db::write(&state.db, move |tx| {
        for fact in &facts {
            match fact {
                CallFact::Answered(call) => {
                    if !db::store_call_answered(tx, call, &deadlines)? {
                        tracing::warn!(call_appeal = %call.appeal_id, kiosk = %call.kiosk_id,
                            "a live call's appeal number is another kiosk's appeal; the call is not stored");
                    }
                }
                CallFact::Ended {
                    appeal_id,
                    kiosk_id,
                    secs,
                    reason,
                } => {
                    let reason = serde_json::to_value(reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    db::store_call_ended(tx, appeal_id, kiosk_id, *secs, &reason)?;
                }
            }
        }
        Ok::<_, db::DbError>(())
    })
    .await;
    match written {
        Ok(()) => state.notify(LiveEvent::AppealsChanged(changed)),
        Err(e) => tracing::error!(error = %e, "live calls could not be stored as appeals"),
    }
}

/// Stores answered calls' facts in the background, if the registry has any.
pub fn store_calls_soon(state: &Arc<AppState>) {
    if state.calls.has_facts() {
        let state = Arc::clone(state);
        tokio::spawn(async move { store_calls(&state).await });
    }
}

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

impl crate::live::Node for AppState {
    fn bus(&self) -> &crate::live::Bus {
        self.live_bus()
    }

    fn apply(&self, envelope: &crate::live::Envelope) {
        AppState::apply(self, envelope);
    }

    fn announce_operators(&self, always: bool) {
        AppState::announce_operators(self, always);
    }

    /// Carries the registry's messages for other servers onto the bus, and stores the calls
    /// other servers' consoles answered here.
    fn route_calls(node: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let mut elsewhere = node.calls.route_elsewhere();
        let wake = node.calls.store_wakeup();
        let weak = Arc::downgrade(node);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    remote = elsewhere.recv() => {
                        let (Some(remote), Some(state)) = (remote, weak.upgrade()) else {
                            return;
                        };
                        let fact = crate::live::Fact::from_remote(remote, state.seal.as_deref());
                        if let Some(fact) = fact {
                            state.publish(fact);
                        }
                    }
                    _ = wake.notified() => {
                        let Some(state) = weak.upgrade() else { return };
                        store_calls(&state).await;
                    }
                }
            }
        })
    }
}
