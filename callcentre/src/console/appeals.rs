//! The appeal queue and one appeal's page: the video (with range requests, so the player can
//! seek), the lifecycle's actions (assign to me or a colleague, start work, answer in the
//! citizen's language, close, reopen, extend the deadline), notes, and the IIN shown once with
//! a logged reveal. Every handler checks the operator may see the appeal (403, logged
//! otherwise) and views, video plays and reveals land in the audit.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;
use tower::ServiceExt;

use super::auth::{forbid, CsrfForm, Operator};
use super::pages;
use super::ConsoleError;
use crate::db::{self, Actor, LifecycleError};
use crate::i18n::{tr, Lang};
use crate::state::{AppState, LiveEvent};

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

/// Loads an appeal the operator may see; a 403 (logged) for one outside their role or sites.
async fn permitted(
    state: &Arc<AppState>,
    operator: &Operator,
    id: &str,
    what: &str,
) -> Result<(db::AppealRow, Vec<db::AppealEvent>), ConsoleError> {
    let (appeal, events) = load_appeal(state, id).await?;
    if !operator.may_see_appeal(&appeal.site, appeal.anticorruption) {
        return Err(forbid(state, operator, what, Some(id)).await);
    }
    Ok((appeal, events))
}

/// Writes an audit row for an operator's look at an appeal (`appeal_view`, `video_play`).
async fn audit_look(
    state: &Arc<AppState>,
    operator: &Operator,
    action: &'static str,
    id: &str,
) -> Result<(), ConsoleError> {
    let (who, key, address) = (
        operator.session.username.clone(),
        id.to_string(),
        operator.address.clone(),
    );
    db::write(&state.db, move |tx| {
        db::audit(
            tx,
            &db::AuditEntry {
                actor: Some(&who),
                action,
                appeal_id: Some(&key),
                address: address.as_deref(),
                ..db::AuditEntry::default()
            },
            Utc::now(),
        )
    })
    .await?;
    Ok(())
}

/// The appeal page, with `error` (a refused action) shown above the actions.
async fn render(
    state: &Arc<AppState>,
    operator: &Operator,
    lang: Lang,
    id: &str,
    revealed_iin: bool,
    error: Option<&str>,
) -> Result<Html<String>, ConsoleError> {
    let (appeal, events) = load_appeal(state, id).await?;
    let (site, flagged) = (appeal.site.clone(), appeal.anticorruption);
    let assignable = db::read(&state.db, move |c| {
        db::assignable_operators(c, &site, flagged)
    })
    .await?;
    let deadlines =
        crate::deadlines::Deadlines::new(state.config.deadlines.clone(), state.schedule.clone());
    let view = pages::AppealView {
        appeal: &appeal,
        events: &events,
        assignable: &assignable,
        revealed_iin: if revealed_iin {
            appeal.iin.as_deref()
        } else {
            None
        },
        error,
        extended_due: deadlines.extended_due_at(&appeal.topic, appeal.created_at),
        extended_days: deadlines.extended_days(),
        due_soon: deadlines.due_soon(appeal.due_at, Utc::now()),
    };
    Ok(Html(
        pages::appeal(state, &operator.session, lang, &view, Utc::now()).into_string(),
    ))
}

pub(super) async fn appeal(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    permitted(&state, &operator, &id, "appeal_view").await?;
    audit_look(&state, &operator, "appeal_view", &id).await?;
    render(&state, &operator, operator.lang, &id, false, None).await
}

/// The appeal's video, with HTTP range requests so the player can seek. The first request of
/// a play (no range, or one from byte 0) is logged as `video_play`.
pub(super) async fn video(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ConsoleError> {
    let (appeal, _) = permitted(&state, &operator, &id, "video_play").await?;
    let upload = appeal
        .video_upload_id
        .ok_or(ConsoleError::NotFound("video for this appeal yet"))?;
    let from_start = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|r| r.trim().starts_with("bytes=0-"));
    if from_start {
        audit_look(&state, &operator, "video_play", &id).await?;
    }
    let s3 = state.videos.object_store().map_err(|e| {
        tracing::error!(appeal = %id, error = %e, "the video storage is not available");
        ConsoleError::NotFound("video (the video storage is not available)")
    })?;
    let mut response = match s3 {
        Some(s3) => object_video(&state, s3, &id, &upload, request.headers()).await?,
        None => folder_video(&state, &id, &upload, request).await?,
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=0"),
    );
    Ok(response)
}

/// A video in the data folder: sealed ones decrypted on the fly, range by range.
async fn folder_video(
    state: &Arc<AppState>,
    id: &str,
    upload: &str,
    request: Request,
) -> Result<Response, ConsoleError> {
    let path = state.upload_path(upload);
    let sealed = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || crate::sealing::is_sealed_file(&path))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false)
    };
    Ok(match (sealed, state.seal.clone()) {
        // Sealed at rest: decrypted on the fly, range by range.
        (true, Some(ids)) => crate::sealing::serve_sealed(ids, path, request.headers())
            .await
            .map_err(|e| {
                tracing::error!(appeal = %id, error = %e, "cannot open a sealed video");
                ConsoleError::NotFound("video (its key is not in [storage] key_file)")
            })?,
        (true, None) => {
            return Err(ConsoleError::NotFound(
                "video (no sealing keys: see [storage] key_file)",
            ))
        }
        (false, _) => {
            let webm: mime::Mime = "video/webm"
                .parse()
                .map_err(|_| ConsoleError::NotFound("video"))?;
            let service = tower_http::services::ServeFile::new_with_mime(path, &webm);
            match service.oneshot(request).await {
                Ok(r) => r.map(axum::body::Body::new),
                Err(never) => match never {},
            }
        }
    })
}

/// A video in the object store, served from ranged GETs of its one object (sealed ones
/// decrypted on the fly, a window at a time).
async fn object_video(
    state: &Arc<AppState>,
    s3: &Arc<crate::videos::S3Videos>,
    id: &str,
    upload: &str,
    headers: &axum::http::HeaderMap,
) -> Result<Response, ConsoleError> {
    let missing = |e: crate::videos::VideoError| {
        tracing::error!(appeal = %id, error = %e, "cannot read a video from the object store");
        ConsoleError::NotFound("video (the video storage did not give it)")
    };
    let magic = senim_common::seal::AGE_MAGIC.len() as u64;
    let head = s3.head_bytes(upload, magic).await.map_err(missing)?;
    let sealed = senim_common::seal::is_sealed(&head);
    Ok(match (sealed, state.seal.clone()) {
        (true, Some(ids)) => {
            crate::sealing::serve_sealed_object(ids, s3.store(), s3.video_key(upload), headers)
                .await
                .map_err(|e| {
                    tracing::error!(appeal = %id, error = %e, "cannot open a sealed video");
                    ConsoleError::NotFound("video (its key is not in [storage] key_file)")
                })?
        }
        (true, None) => {
            return Err(ConsoleError::NotFound(
                "video (no sealing keys: see [storage] key_file)",
            ))
        }
        (false, _) => s3.serve_plain(upload, headers).await.map_err(missing)?,
    })
}

/// What a lifecycle action posted from the appeal page asks for.
enum Change {
    Assign(String),
    Start,
    Answer { text: String, language: String },
    Close(String),
    Reopen,
    Extend(String),
}

/// Runs a lifecycle action: back to the appeal page, or the page again with why it was
/// refused (nothing changed then).
async fn change(
    state: Arc<AppState>,
    operator: Operator,
    id: String,
    csrf: &str,
    what: &'static str,
    change: Change,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(csrf)?;
    let (appeal, _) = permitted(&state, &operator, &id, what).await?;
    let lang = operator.lang;
    let deadlines =
        crate::deadlines::Deadlines::new(state.config.deadlines.clone(), state.schedule.clone());
    let extended_due = deadlines.extended_due_at(&appeal.topic, appeal.created_at);
    let (key, who, address) = (
        id.clone(),
        operator.session.username.clone(),
        operator.address.clone(),
    );
    let st = Arc::clone(&state);
    let result = db::write(&state.db, move |tx| {
        let actor = Actor {
            name: &who,
            address: address.as_deref(),
        };
        let now = Utc::now();
        match change {
            Change::Assign(to) => db::assign(tx, &key, actor, &to, now).map(|()| false),
            Change::Start => db::start_work(tx, &key, actor, now).map(|()| false),
            Change::Answer { text, language } => {
                crate::sms::answer(tx, &st.config, &key, actor, &text, &language, now)
            }
            Change::Close(reason) => db::close(tx, &key, actor, Some(&reason), now).map(|()| false),
            Change::Reopen => db::reopen(tx, &key, actor, now).map(|()| false),
            Change::Extend(reason) => {
                db::extend(tx, &key, actor, &reason, extended_due, now).map(|()| false)
            }
        }
    })
    .await;
    match result {
        Ok(sms_queued) => {
            tracing::info!(appeal = %id, operator = %operator.session.username, action = what, "appeal changed");
            if sms_queued {
                state.sms.wake();
            }
            state.notify(LiveEvent::AppealsChanged(vec![id.clone()]));
            Ok(Redirect::to(&format!("/console/appeals/{id}")).into_response())
        }
        Err(LifecycleError::Db(e)) => Err(ConsoleError::Internal(e)),
        Err(LifecycleError::NoSuchAppeal) => Err(ConsoleError::NotFound("appeal")),
        Err(refused) => {
            let status = match refused {
                LifecycleError::NotAllowed { .. }
                | LifecycleError::AlreadyAssigned { .. }
                | LifecycleError::NotAssignee { .. }
                | LifecycleError::AlreadyExtended => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            let message = refused.message(lang);
            let page = render(&state, &operator, lang, &id, false, Some(&message)).await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    csrf: String,
    to: String,
}

pub(super) async fn assign(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, ConsoleError> {
    let to = form.to.trim().to_string();
    change(
        state,
        operator,
        id,
        &form.csrf,
        "assign",
        Change::Assign(to),
    )
    .await
}

pub(super) async fn start_work(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    change(state, operator, id, &form.csrf, "status", Change::Start).await
}

pub(super) async fn reopen(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    change(state, operator, id, &form.csrf, "status", Change::Reopen).await
}

#[derive(Deserialize)]
pub(super) struct AnswerForm {
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    language: String,
}

pub(super) async fn answer(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, ConsoleError> {
    let change_to = Change::Answer {
        text: form.text,
        language: form.language,
    };
    change(state, operator, id, &form.csrf, "answer", change_to).await
}

#[derive(Deserialize)]
pub(super) struct ReasonForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn close(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, ConsoleError> {
    change(
        state,
        operator,
        id,
        &form.csrf,
        "close",
        Change::Close(form.reason),
    )
    .await
}

pub(super) async fn extend(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, ConsoleError> {
    change(
        state,
        operator,
        id,
        &form.csrf,
        "extend",
        Change::Extend(form.reason),
    )
    .await
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
    permitted(&state, &operator, &id, "note").await?;
    let note = form.note.trim().to_string();
    if note.is_empty() || note.chars().count() > 4000 {
        let lang = operator.lang;
        let message = tr(lang, "A note is 1 to 4,000 characters.");
        return Err(ConsoleError::Invalid(message.into()));
    }
    let (key, who) = (id.clone(), operator.session.username.clone());
    db::write(&state.db, move |tx| {
        db::log_appeal_action(tx, &key, &who, "note", Some(&note), Utc::now())
    })
    .await?;
    Ok(Redirect::to(&format!("/console/appeals/{id}")).into_response())
}

/// Shows the IIN once, and logs who looked and when (history and audit).
pub(super) async fn reveal_iin(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    permitted(&state, &operator, &id, "iin_reveal").await?;
    let (key, who, address) = (
        id.clone(),
        operator.session.username.clone(),
        operator.address.clone(),
    );
    db::write(&state.db, move |tx| {
        let now = Utc::now();
        db::log_appeal_action(tx, &key, &who, "reveal_iin", None, now)?;
        db::audit(
            tx,
            &db::AuditEntry {
                actor: Some(&who),
                action: "iin_reveal",
                appeal_id: Some(&key),
                address: address.as_deref(),
                ..db::AuditEntry::default()
            },
            now,
        )
    })
    .await?;
    tracing::info!(appeal = %id, operator = %operator.session.username, "IIN revealed to an operator");
    render(&state, &operator, operator.lang, &id, true, None).await
}
