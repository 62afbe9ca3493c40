//! The appeal queue and one appeal's page: the video (with range requests, so the player can
//! seek), status changes, notes, and the IIN shown once with a logged reveal.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;
use tower::ServiceExt;

use super::auth::{CsrfForm, Operator};
use super::pages;
use super::ConsoleError;
use crate::db;
use crate::state::{AppState, LiveEvent};

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    #[serde(default)]
    show: Option<String>,
}

pub(super) async fn queue(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, ConsoleError> {
    let show = q.show.unwrap_or_else(|| "open".into());
    let statuses: Vec<&'static str> = match show.as_str() {
        "open" => vec!["new", "in_progress"],
        "answered" => vec!["answered"],
        "closed" => vec!["closed"],
        "all" => vec![],
        _ => return Err(ConsoleError::Invalid("unknown queue filter".into())),
    };
    let appeals = db::read(&state.db, move |c| db::list_appeals(c, &statuses)).await?;
    Ok(Html(
        pages::queue(
            &state,
            &operator.session,
            operator.lang,
            &show,
            &appeals,
            Utc::now(),
        )
        .into_string(),
    ))
}

pub(super) async fn appeal(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    let (appeal, events) = load_appeal(&state, &id).await?;
    Ok(Html(
        pages::appeal(
            &state,
            &operator.session,
            operator.lang,
            &appeal,
            &events,
            None,
            Utc::now(),
        )
        .into_string(),
    ))
}

async fn load_appeal(
    state: &Arc<AppState>,
    id: &str,
) -> Result<(db::AppealRow, Vec<db::AppealEvent>), ConsoleError> {
    if !senim_protocol::valid_appeal_id(id) {
        return Err(ConsoleError::NotFound("appeal"));
    }
    let key = id.to_string();
    db::read(&state.db, move |c| {
        Ok(match db::get_appeal(c, &key)? {
            Some(a) => Some((a, db::appeal_events(c, &key)?)),
            None => None,
        })
    })
    .await?
    .ok_or(ConsoleError::NotFound("appeal"))
}

/// The appeal's video, with HTTP range requests so the player can seek.
pub(super) async fn video(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ConsoleError> {
    let (appeal, _) = load_appeal(&state, &id).await?;
    let upload = appeal
        .video_upload_id
        .ok_or(ConsoleError::NotFound("video for this appeal yet"))?;
    let webm: mime::Mime = "video/webm"
        .parse()
        .map_err(|_| ConsoleError::NotFound("video"))?;
    let service = tower_http::services::ServeFile::new_with_mime(state.upload_path(&upload), &webm);
    let mut response = match service.oneshot(request).await {
        Ok(r) => r.map(axum::body::Body::new),
        Err(never) => match never {},
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=0"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    csrf: String,
    status: String,
}

pub(super) async fn change_status(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let to = db::STATUSES
        .iter()
        .find(|s| **s == form.status)
        .ok_or_else(|| ConsoleError::Invalid("unknown status".into()))?;
    load_appeal(&state, &id).await?;
    let (key, who) = (id.clone(), operator.session.username.clone());
    db::write(&state.db, move |tx| {
        db::change_status(tx, &key, &who, to, Utc::now())
    })
    .await?;
    tracing::info!(appeal = %id, operator = %operator.session.username, status = to, "appeal status changed");
    state.notify(LiveEvent::Appeals);
    Ok(Redirect::to(&format!("/console/appeals/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    csrf: String,
    note: String,
}

pub(super) async fn add_note(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let note = form.note.trim().to_string();
    if note.is_empty() || note.chars().count() > 4000 {
        return Err(ConsoleError::Invalid(
            "a note is 1 to 4,000 characters".into(),
        ));
    }
    load_appeal(&state, &id).await?;
    let (key, who) = (id.clone(), operator.session.username.clone());
    db::write(&state.db, move |tx| {
        db::log_appeal_action(tx, &key, &who, "note", Some(&note), Utc::now())
    })
    .await?;
    Ok(Redirect::to(&format!("/console/appeals/{id}")).into_response())
}

/// Shows the IIN once, and logs who looked and when.
pub(super) async fn reveal_iin(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    load_appeal(&state, &id).await?;
    let (key, who) = (id.clone(), operator.session.username.clone());
    db::write(&state.db, move |tx| {
        db::log_appeal_action(tx, &key, &who, "reveal_iin", None, Utc::now())
    })
    .await?;
    tracing::info!(appeal = %id, operator = %operator.session.username, "IIN revealed to an operator");
    let (appeal, events) = load_appeal(&state, &id).await?;
    Ok(Html(
        pages::appeal(
            &state,
            &operator.session,
            operator.lang,
            &appeal,
            &events,
            appeal.iin.as_deref(),
            Utc::now(),
        )
        .into_string(),
    ))
}
