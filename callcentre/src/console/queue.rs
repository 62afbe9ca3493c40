//! The appeal queue: its views (the anti-corruption one only for that role; anyone else gets a
//! logged 403), the GET filter form (number, kiosk, site, topic, status, dates), keyset page
//! links, and `/console/queue/rows`, which renders just the rows a live update named.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::auth::{forbid, Operator};
use super::pages::{self, QueueRequest};
use super::ConsoleError;
use crate::db::{self, Cursor, QueueFilter, QueueKey, View, Viewer};
use crate::state::AppState;

/// The queue's URL parameters (empty fields of the GET form count as absent).
#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    view: Option<String>,
    /// The old name of `view` (`/console?show=answered`).
    show: Option<String>,
    /// An appeal number.
    q: Option<String>,
    kiosk: Option<String>,
    site: Option<String>,
    topic: Option<String>,
    status: Option<String>,
    /// `YYYY-MM-DD`, the call-centre's local dates, both included.
    from: Option<String>,
    to: Option<String>,
    /// Keyset cursors ([`QueueKey::encode`]); `last=1` for the last page.
    after: Option<String>,
    before: Option<String>,
    last: Option<String>,
    /// The first row's position (for "51–100 of …"; links carry it).
    at: Option<u64>,
    /// For `/console/queue/rows`: appeal numbers, comma-separated.
    ids: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn date(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>, ConsoleError> {
    given(v)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                ConsoleError::Invalid(format!(
                    "the {field} date is a day as YYYY-MM-DD, for example 2026-11-20"
                ))
            })
        })
        .transpose()
}

fn cursor(q: &QueueQuery) -> Result<Cursor, ConsoleError> {
    let bad = || ConsoleError::Invalid("this page link is damaged; open the queue again".into());
    Ok(match (given(&q.after), given(&q.before), given(&q.last)) {
        (Some(k), None, None) => Cursor::After(QueueKey::decode(k).ok_or_else(bad)?),
        (None, Some(k), None) => Cursor::Before(QueueKey::decode(k).ok_or_else(bad)?),
        (None, None, Some(_)) => Cursor::Last,
        (None, None, None) => Cursor::First,
        _ => return Err(bad()),
    })
}

/// Reads the URL into a request; `Err` says which field is wrong. The default view is the
/// open queue, or the anti-corruption one for someone with only that role.
pub(super) fn parse(
    state: &AppState,
    operator: &Operator,
    q: &QueueQuery,
) -> Result<QueueRequest, ConsoleError> {
    let roles = operator.session.roles;
    let view = match given(&q.view).or(given(&q.show)) {
        Some(key) => View::parse(key)
            .ok_or_else(|| ConsoleError::Invalid(format!("there is no queue view {key:?}")))?,
        None if View::Open.allowed(roles) => View::Open,
        None if View::Anticorruption.allowed(roles) => View::Anticorruption,
        None => View::Open,
    };
    if let Some(topic) = given(&q.topic) {
        if !db::TOPICS.contains(&topic) {
            return Err(ConsoleError::Invalid(format!(
                "there is no topic {topic:?}"
            )));
        }
    }
    if let Some(status) = given(&q.status) {
        if !db::STATUSES.contains(&status) {
            return Err(ConsoleError::Invalid(format!(
                "there is no status {status:?}"
            )));
        }
    }
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    let tz = state.schedule.tz();
    let midnight = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let typed_number = given(&q.q).map(str::to_owned);
    // A number that cannot exist finds nothing (rather than everything).
    let number = typed_number
        .as_deref()
        .map(|typed| db::normalise_number(typed).unwrap_or_else(|| "-".into()));
    Ok(QueueRequest {
        view,
        filter: QueueFilter {
            number,
            kiosk: given(&q.kiosk).map(str::to_owned),
            site: given(&q.site).map(str::to_owned),
            topic: given(&q.topic).map(str::to_owned),
            status: given(&q.status).map(str::to_owned),
            from: from.and_then(midnight),
            until: to.and_then(|d| d.succ_opt()).and_then(midnight),
        },
        typed_number,
        from,
        to,
        cursor: cursor(q)?,
        at: q.at.unwrap_or(1).max(1),
    })
}

/// Refuses (403, in the audit) a view outside the operator's roles.
async fn check_view(
    state: &Arc<AppState>,
    operator: &Operator,
    view: View,
) -> Result<(), ConsoleError> {
    if view.allowed(operator.session.roles) {
        Ok(())
    } else {
        Err(forbid(state, operator, &format!("queue view {}", view.key()), None).await)
    }
}

/// `GET /console`: the queue.
pub(super) async fn queue(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, ConsoleError> {
    let request = parse(&state, &operator, &q)?;
    check_view(&state, &operator, request.view).await?;
    let session = operator.session.clone();
    let r = request.clone();
    let (page, flagged, sites) = db::read(&state.db, move |c| {
        let viewer = Viewer::of(&session);
        Ok((
            db::queue_page(c, r.view, &r.filter, viewer, &r.cursor)?,
            db::flagged_new(c, viewer)?,
            db::queue_sites(c, viewer)?,
        ))
    })
    .await?;
    let view = pages::QueueView {
        request: &request,
        page: &page,
        flagged_new: flagged,
        sites: &sites,
    };
    Ok(Html(
        pages::queue(&state, &operator.session, operator.lang, &view, Utc::now()).into_string(),
    ))
}

/// `GET /console/queue/rows?ids=…&<the page's filters>`: the rows of these appeals as the
/// viewer's page would show them (`<tr>`s in a `<tbody>`); an appeal the viewer may not see
/// or that left the view comes back as an empty `<tr data-gone>` so the page drops it.
pub(super) async fn rows(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ConsoleError> {
    let request = parse(&state, &operator, &q)?;
    check_view(&state, &operator, request.view).await?;
    let ids: Vec<String> = given(&q.ids)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|id| senim_protocol::valid_appeal_id(id))
        .take(200)
        .map(str::to_owned)
        .collect();
    let session = operator.session.clone();
    let (r, asked) = (request.clone(), ids.clone());
    let (rows, flagged) = db::read(&state.db, move |c| {
        let viewer = Viewer::of(&session);
        Ok((
            db::queue_rows(c, r.view, &r.filter, viewer, &asked)?,
            db::flagged_new(c, viewer)?,
        ))
    })
    .await?;
    let gone: Vec<&str> = ids
        .iter()
        .filter(|id| !rows.iter().any(|r| &r.appeal.id == *id))
        .map(String::as_str)
        .collect();
    let html = pages::queue_rows(&state, operator.lang, &rows, &gone, flagged, Utc::now());
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Html(html.into_string()),
    )
        .into_response())
}
