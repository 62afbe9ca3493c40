//! `GET /console/call`: the operator's signalling WebSocket. It needs a signed-in session
//! (the cookie) and an `Origin` naming this very server (another site's page cannot open it
//! with the operator's cookie). Text frames are `protocol::call` messages; the registry in
//! `calls` handles them. See `callcentre/signalling.md`.
//!
//! Also the HTTP side of an operator's call (CSRF-checked forms): the logged reveal of the
//! caller's IIN, and saving the call's notes and outcome on the appeal it stands as.

use std::sync::Arc;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::Utc;
use serde::Deserialize;

use super::auth::CsrfForm;
use super::{ConsoleError, Operator};
use crate::calls::{LiveIin, RevealRefused};
use crate::db;
use crate::i18n::tr;
use crate::signalling;
use crate::state::{AppState, LiveEvent};

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
        state.calls.from_console(conn, text, state.open_now());
        state.announce_operators(false);
        signalling::store_calls_soon(&state);
    })
    .await;
    state.calls.console_disconnected(conn, state.open_now());
    state.announce_operators(false);
    signalling::store_calls(&state).await;
    tracing::debug!(operator = %operator.session.username, "console signalling socket closed");
}

/// Shows the caller's IIN of the operator's live call (JSON `{"iin": …}`), logged exactly as
/// an appeal's reveal is: on the appeal the call stands as, with who and when.
pub(super) async fn reveal(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(appeal_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if !senim_protocol::valid_appeal_id(&appeal_id) {
        return Err(ConsoleError::NotFound("call"));
    }
    let who = operator.session.username.clone();
    let address = operator.address.clone();
    let (live_iin, kiosk_id) = state
        .calls
        .caller_iin(&appeal_id, &who)
        .map_err(|refused| match refused {
            RevealRefused::NotLive => ConsoleError::Missing(|lang| {
                tr(lang, "You have no live call with this appeal number; once a call has ended, reveal the IIN on the appeal's page.")
            }),
            RevealRefused::NoIin => ConsoleError::Missing(|lang| {
                tr(lang, "The caller did not identify, so there is no IIN to reveal.")
            }),
        })?;
    let iin = match live_iin {
        LiveIin::Plain(iin) => iin,
        // Sent by the server holding the call, sealed to the key every server shares.
        LiveIin::Sealed(sealed) => match crate::sealing::open_at_rest(Some(sealed)) {
            Some(iin) if iin != crate::sealing::UNREADABLE => iin,
            _ => {
                return Err(ConsoleError::Missing(|lang| {
                    tr(lang, "This server cannot open the IIN the call's server sent (the servers' sealing keys differ); reveal it on the appeal's page once the kiosk's record has arrived.")
                }))
            }
        },
    };
    // The call's appeal row must be stored before its reveal is logged on it (by this server,
    // or by the one holding the call: it stores the row when the call is answered).
    signalling::store_calls(&state).await;
    if !stored_soon(&state, &appeal_id).await {
        tracing::warn!(appeal = %appeal_id, "a live call's appeal row is not stored yet");
    }
    let key = appeal_id.clone();
    let logged = db::write(&state.db, move |tx| {
        // Only on the call's own row (not another kiosk's appeal that had the same number).
        let ours = db::get_appeal(tx, &key)?.is_some_and(|a| a.kiosk_id == kiosk_id);
        if ours {
            let now = Utc::now();
            db::log_appeal_action(tx, &key, &who, "reveal_iin", None, now)?;
            db::audit(
                tx,
                &db::AuditEntry {
                    actor: Some(&who),
                    action: "iin_reveal",
                    appeal_id: Some(&key),
                    address: address.as_deref(),
                    detail: Some("live call"),
                    ..db::AuditEntry::default()
                },
                now,
            )?;
        }
        Ok::<_, db::DbError>(ours)
    })
    .await?;
    if !logged {
        return Err(ConsoleError::Missing(|lang| {
            tr(lang, "The appeal of this call is not stored (see the server log); the IIN was not revealed.")
        }));
    }
    tracing::info!(appeal = %appeal_id, operator = %operator.session.username, "IIN of a live caller revealed to an operator");
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "iin": iin })),
    )
        .into_response())
}

/// Waits, at most 3 s, for the appeal row of a live call: the server holding the call stores
/// it when the call is answered, which may be a moment after its operator elsewhere asks.
async fn stored_soon(state: &AppState, appeal_id: &str) -> bool {
    for _ in 0..20 {
        let key = appeal_id.to_string();
        let found = db::read(&state.db, move |c| db::get_appeal(c, &key)).await;
        if matches!(found, Ok(Some(_))) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    false
}

#[derive(Deserialize)]
pub(super) struct OutcomeForm {
    csrf: String,
    #[serde(default)]
    notes: String,
    /// `resolved`, `follow_up`, or empty (not chosen yet).
    #[serde(default)]
    outcome: String,
}

/// Saves the notes and outcome of the operator's call (during it or after), on the appeal the
/// call stands as.
pub(super) async fn save_outcome(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(appeal_id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Result<StatusCode, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if !senim_protocol::valid_appeal_id(&appeal_id) {
        return Err(ConsoleError::NotFound("call"));
    }
    let notes = form.notes.trim().to_string();
    if notes.chars().count() > 4000 {
        return Err(ConsoleError::Refused(|lang| {
            tr(
                lang,
                "Call notes are at most 4,000 characters; shorten them and save again.",
            )
        }));
    }
    let outcome = match form.outcome.as_str() {
        "" => None,
        o => Some(*db::CALL_OUTCOMES.iter().find(|known| **known == o).ok_or(
            ConsoleError::Refused(|lang| {
                tr(
                    lang,
                    "Choose the outcome: resolved on the call, or needs follow-up.",
                )
            }),
        )?),
    };
    signalling::store_calls(&state).await;
    let (key, who) = (appeal_id.clone(), operator.session.username.clone());
    let saved = db::write(&state.db, move |tx| {
        let notes = (!notes.is_empty()).then_some(notes.as_str());
        db::save_call_outcome(tx, &key, &who, notes, outcome, Utc::now())
    })
    .await?;
    match saved {
        db::OutcomeSaved::Saved => {
            tracing::info!(appeal = %appeal_id, operator = %operator.session.username, outcome = ?outcome, "live call's notes and outcome saved");
            state.notify(LiveEvent::AppealsChanged(vec![appeal_id.clone()]));
            Ok(StatusCode::NO_CONTENT)
        }
        db::OutcomeSaved::NoSuchCall => Err(ConsoleError::Missing(|lang| {
            tr(lang, "There is no answered call with this appeal number.")
        })),
        db::OutcomeSaved::NotYours => Err(ConsoleError::Refused(|lang| {
            tr(
                lang,
                "Another operator took this call; only they can record its outcome.",
            )
        })),
    }
}
