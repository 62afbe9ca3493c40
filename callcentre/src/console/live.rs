//! What the console is told live: the red lamp (someone at a kiosk in working hours) and the
//! consultant calls over Server-Sent Events, and "On my way", which takes a consultant call.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Form;
use chrono::Utc;
use futures_util::Stream;

use super::auth::{CsrfForm, Operator};
use super::ConsoleError;
use crate::i18n::{tr, Lang};
use crate::state::{AppState, LiveEvent};

fn consultant_call_gone(lang: Lang) -> &'static str {
    tr(
        lang,
        "This consultant call is gone: someone took it already, or the citizen left.",
    )
}

/// A staff member goes to the kiosk: the consultant call is cleared for everyone.
pub(super) async fn take_consultant_call(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(kiosk): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<StatusCode, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if kiosk.len() > 16 {
        return Err(ConsoleError::Missing(consultant_call_gone));
    }
    let call = state
        .take_consultant_call(&kiosk)
        .ok_or(ConsoleError::Missing(consultant_call_gone))?;
    tracing::info!(
        kiosk = %call.kiosk_id,
        service = %call.service_id,
        operator = %operator.session.username,
        waited_secs = (Utc::now() - call.since).num_seconds(),
        "consultant call taken"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// The lamp as the console's script draws it.
#[derive(serde::Serialize)]
struct LampState {
    /// Operators' working hours now.
    open: bool,
    present: Vec<LampKiosk>,
}

#[derive(serde::Serialize)]
struct LampKiosk {
    kiosk_id: String,
    site: String,
    journey: Option<senim_protocol::Journey>,
    /// Seconds since the person arrived, by the server's clock.
    elapsed_secs: i64,
}

/// The open consultant calls as the console's script draws them.
#[derive(serde::Serialize)]
struct ConsultantState {
    calls: Vec<ConsultantView>,
}

#[derive(serde::Serialize)]
struct ConsultantView {
    kiosk_id: String,
    site: String,
    service_id: String,
    /// From the newest published catalogue, else the id.
    title: String,
    /// The title in each console language (`kk`, `ru`, `en`); the page picks its own.
    titles: HashMap<&'static str, String>,
    step: u32,
    /// Seconds since the call arrived, by the server's clock.
    elapsed_secs: i64,
}

fn consultant_event(state: &AppState) -> Event {
    let now = Utc::now();
    let calls = ConsultantState {
        calls: state
            .consultant_calls()
            .into_iter()
            .map(|c| ConsultantView {
                title: state.service_title(&c.service_id),
                titles: Lang::ALL
                    .into_iter()
                    .map(|l| {
                        let title = state.service_titles_in(l).remove(&c.service_id);
                        (l.code(), title.unwrap_or_else(|| c.service_id.clone()))
                    })
                    .collect(),
                kiosk_id: c.kiosk_id,
                site: c.site,
                service_id: c.service_id,
                step: c.step,
                elapsed_secs: (now - c.since).num_seconds().max(0),
            })
            .collect(),
    };
    Event::default()
        .event("consultant")
        .json_data(calls)
        .unwrap_or_else(|_| Event::default().comment("consultant calls unavailable"))
}

fn lamp_event(state: &AppState) -> Event {
    let now = Utc::now();
    let lamp = LampState {
        open: state.schedule.is_open(now),
        present: state
            .present()
            .into_iter()
            .map(|p| LampKiosk {
                kiosk_id: p.kiosk_id,
                site: p.site,
                journey: p.journey,
                elapsed_secs: (now - p.since).num_seconds().max(0),
            })
            .collect(),
    };
    Event::default()
        .event("lamp")
        .json_data(lamp)
        .unwrap_or_else(|_| Event::default().comment("lamp unavailable"))
}

/// `appeals` names the appeals that changed (`{"ids": [...]}`; the page fetches their rows
/// from `/console/queue/rows`), or `{"ids": null}` when it is not known which (reload).
fn appeals_event(ids: Option<Vec<String>>) -> Event {
    Event::default()
        .event("appeals")
        .json_data(serde_json::json!({ "ids": ids }))
        .unwrap_or_else(|_| Event::default().comment("appeals unavailable"))
}

/// Live updates: `lamp` whenever presence changes (and every 15 s, as hours pass),
/// `consultant` whenever a consultant call comes, moves or ends (and every 15 s), `appeals`
/// when appeals in the queue changed (which ones).
pub(super) async fn events(
    State(state): State<Arc<AppState>>,
    operator: Result<Operator, ConsoleError>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, StatusCode> {
    // A stream cannot follow a redirect to the sign-in page: say 401 and let the script
    // reload the page.
    if operator.is_err() {
        return Err(StatusCode::UNAUTHORIZED);
    }
    struct Feed {
        state: Arc<AppState>,
        rx: tokio::sync::broadcast::Receiver<LiveEvent>,
        tick: tokio::time::Interval,
        /// Events due before waiting again.
        pending: std::collections::VecDeque<Event>,
    }
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    tick.reset();
    let feed = Feed {
        rx: state.subscribe(),
        pending: [lamp_event(&state), consultant_event(&state)].into(),
        state,
        tick,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        use tokio::sync::broadcast::error::RecvError;
        while feed.pending.is_empty() {
            tokio::select! {
                received = feed.rx.recv() => match received {
                    Ok(LiveEvent::Presence) => feed.pending.push_back(lamp_event(&feed.state)),
                    Ok(LiveEvent::Consultant) => {
                        feed.pending.push_back(consultant_event(&feed.state));
                    }
                    Ok(LiveEvent::Appeals) => feed.pending.push_back(appeals_event(None)),
                    Ok(LiveEvent::AppealsChanged(ids)) => {
                        feed.pending.push_back(appeals_event(Some(ids)));
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Missed some: send the whole picture again.
                        feed.pending.push_back(lamp_event(&feed.state));
                        feed.pending.push_back(consultant_event(&feed.state));
                        feed.pending.push_back(appeals_event(None));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = feed.tick.tick() => {
                    feed.pending.push_back(lamp_event(&feed.state));
                    feed.pending.push_back(consultant_event(&feed.state));
                }
            }
        }
        let event = feed.pending.pop_front()?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
