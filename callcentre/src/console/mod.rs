//! The operator console: sign-in with sessions and CSRF tokens, the red lamp and consultant
//! calls over Server-Sent Events, the appeal queue and page (video with range requests, masked
//! IIN with a logged reveal, notes, status history), the fleet view with enrolment codes as QR
//! codes, and the service-guide figures. Server-rendered HTML.

mod pages;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use futures_util::Stream;
use serde::Deserialize;
use tower::ServiceExt;

use crate::db::{self, DbError, SessionRow};
use crate::secrets;
use crate::state::{AppState, LiveEvent};

const SESSION_COOKIE: &str = "senim_session";
const LOGIN_CSRF_COOKIE: &str = "senim_login_csrf";

/// The console's routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(queue))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/events", get(events))
        .route("/console/fleet", get(fleet))
        .route("/console/fleet/enrol", post(enrol_code))
        .route("/console/guides", get(guides))
        .route(
            "/console/consultant/{kiosk}/taken",
            post(take_consultant_call),
        )
        .route("/console/appeals/{id}", get(appeal))
        .route("/console/appeals/{id}/video", get(video))
        .route("/console/appeals/{id}/status", post(change_status))
        .route("/console/appeals/{id}/note", post(add_note))
        .route("/console/appeals/{id}/reveal", post(reveal_iin))
        .route("/console/static/console.css", get(css))
        .route("/console/static/console.js", get(js))
}

/// A console failure, shown to the operator as a page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("sign in first")]
    SignIn,
    #[error(
        "this form has expired or did not come from the console; reload the page and try again"
    )]
    Csrf,
    #[error("there is no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("the server could not complete this; it is logged")]
    Internal(#[from] DbError),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::SignIn => return Redirect::to("/console/login").into_response(),
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Invalid(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Internal(e) => {
                tracing::error!(error = %e, "console request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Html(pages::error_page(&self.to_string()).into_string()),
        )
            .into_response()
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    pub session: SessionRow,
}

impl Operator {
    /// Refuses a form whose CSRF token is not this session's.
    fn check_csrf(&self, sent: &str) -> Result<(), ConsoleError> {
        if secrets::constant_time_eq(sent.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Operator {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| t.len() <= 128)
            .ok_or(ConsoleError::SignIn)?;
        let hash = secrets::sha256_hex(token.as_bytes());
        let now = Utc::now();
        let session = db::read(&state.db, move |c| db::session(c, &hash, now))
            .await?
            .ok_or(ConsoleError::SignIn)?;
        Ok(Operator { session })
    }
}

fn session_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: i64) -> String {
    let secure = if state.config.console.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

async fn login_form(State(state): State<Arc<AppState>>) -> Response {
    login_page(&state, None, StatusCode::OK)
}

fn login_page(state: &AppState, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = secrets::token();
    let cookie = session_cookie(state, LOGIN_CSRF_COOKIE, &csrf, "/console/login", 3600);
    (
        status,
        [(header::SET_COOKIE, cookie)],
        Html(pages::login(&csrf, error).into_string()),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !secrets::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes())
    {
        return Ok(login_page(
            &state,
            Some("The sign-in form expired. Please try again."),
            StatusCode::FORBIDDEN,
        ));
    }
    let username = form.username.trim().to_string();
    if username.len() > 64 || form.password.len() > 256 {
        return Ok(login_page(
            &state,
            Some("Wrong username or password."),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let user = username.clone();
    let stored = db::read(&state.db, move |c| db::operator_login(c, &user)).await?;
    let password = form.password;
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some((hash, _)) => secrets::verify_password(&password, &hash),
        None => {
            // Spend the same time as a real check so usernames cannot be probed.
            let _ = secrets::verify_password(&password, DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false);
    if !ok {
        tracing::info!("console sign-in refused");
        return Ok(login_page(
            &state,
            Some("Wrong username or password."),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let token = secrets::token();
    let csrf = secrets::token();
    let hash = secrets::sha256_hex(token.as_bytes());
    let now = Utc::now();
    let hours = i64::from(state.config.console.session_hours);
    let expires = now + chrono::Duration::hours(hours);
    let user = username.clone();
    db::write(&state.db, move |tx| {
        db::insert_session(tx, &hash, &user, &csrf, now, expires)
    })
    .await?;
    tracing::info!(operator = %username, "operator signed in");
    let mut response = Redirect::to("/console").into_response();
    let headers = response.headers_mut();
    for c in [
        session_cookie(&state, SESSION_COOKIE, &token, "/", hours * 3600),
        session_cookie(&state, LOGIN_CSRF_COOKIE, "", "/console/login", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// A valid argon2id hash of a random password, to verify against for unknown usernames.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2VuaW1kdW1teXNhbHQ$J1fk0bBSGp4zKHOaZ4XkU5r0Ai6pX2OsqcZQk1dBdy8";

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let hash = secrets::sha256_hex(token.as_bytes());
        db::write(&state.db, move |tx| db::delete_session(tx, &hash)).await?;
    }
    let mut response = Redirect::to("/console/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&state, SESSION_COOKIE, "", "/", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct QueueQuery {
    #[serde(default)]
    show: Option<String>,
}

async fn queue(
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
        pages::queue(&state, &operator, &show, &appeals, Utc::now()).into_string(),
    ))
}

async fn appeal(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    let (appeal, events) = load_appeal(&state, &id).await?;
    Ok(Html(
        pages::appeal(&state, &operator, &appeal, &events, None, Utc::now()).into_string(),
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
async fn video(
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
struct StatusForm {
    csrf: String,
    status: String,
}

async fn change_status(
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
struct NoteForm {
    csrf: String,
    note: String,
}

async fn add_note(
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
async fn reveal_iin(
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
            &operator,
            &appeal,
            &events,
            appeal.iin.as_deref(),
            Utc::now(),
        )
        .into_string(),
    ))
}

async fn fleet(
    State(state): State<Arc<AppState>>,
    operator: Operator,
) -> Result<Html<String>, ConsoleError> {
    fleet_page(&state, &operator, None).await
}

async fn fleet_page(
    state: &Arc<AppState>,
    operator: &Operator,
    enrol_error: Option<(&str, &str)>,
) -> Result<Html<String>, ConsoleError> {
    let (kiosks, faults) = db::read(&state.db, |c| {
        Ok((db::list_kiosks(c)?, db::recent_faults(c, 3)?))
    })
    .await?;
    Ok(Html(
        pages::fleet(state, operator, &kiosks, &faults, enrol_error, Utc::now()).into_string(),
    ))
}

#[derive(Deserialize)]
struct EnrolForm {
    csrf: String,
    site: String,
    mode: String,
}

/// Makes a one-time enrolment code and shows it with its QR code, for a technician at a kiosk
/// with no terminal at hand. The page is not cached; the code is not logged.
async fn enrol_code(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Form(form): Form<EnrolForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let mode = senim_protocol::SiteMode::parse(&form.mode).ok_or_else(|| {
        ConsoleError::Invalid("choose the site's mode: hospital or front office".into())
    })?;
    let Some(site) = crate::cli::site_name(&form.site) else {
        let page = fleet_page(
            &state,
            &operator,
            Some((
                &form.site,
                "Give the site's name: 1 to 200 characters, on one line.",
            )),
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let code = secrets::enrol_code();
    let qr = crate::qr::Qr::encode(&crate::qr::enrol_payload(&code))
        .and_then(|qr| qr.to_png(crate::qr::PNG_SCALE))
        .map_err(|e| ConsoleError::Invalid(e.to_string()))?;
    let hash = secrets::sha256_hex(code.as_bytes());
    let now = Utc::now();
    let expires = now + chrono::Duration::hours(i64::from(state.config.enrolment.code_ttl_hours));
    let stored_site = site.clone();
    db::write(&state.db, move |tx| {
        db::insert_enrol_code(tx, &hash, &stored_site, mode, now, expires)
    })
    .await?;
    tracing::info!(operator = %operator.session.username, site = %site, mode = mode.as_str(), "enrolment code made in the console");
    let html = pages::enrol_code(&state, &operator, &site, mode, &code, &qr, expires).into_string();
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

#[derive(Deserialize)]
struct GuidesQuery {
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    kiosk: Option<String>,
}

/// The service-guide figures for a date range, optionally for one service or kiosk.
async fn guides(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Query(q): Query<GuidesQuery>,
) -> Result<Html<String>, ConsoleError> {
    let tz = state.schedule.tz();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let range = crate::guides::Range::parse(q.from.as_deref(), q.to.as_deref(), today)
        .map_err(|e| ConsoleError::Invalid(e.to_string()))?;
    let pick = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = crate::guides::Filter {
        service: pick(q.service),
        kiosk: pick(q.kiosk),
    };
    if filter
        .service
        .as_deref()
        .is_some_and(|s| !senim_protocol::valid_service_id(s))
    {
        return Err(ConsoleError::Invalid(
            "unknown service in the filter".into(),
        ));
    }
    if filter.kiosk.as_deref().is_some_and(|k| k.len() > 16) {
        return Err(ConsoleError::Invalid("unknown kiosk in the filter".into()));
    }
    let titles = state.service_titles();
    let version = state.catalog_version();
    let (report, kiosks) = db::read(&state.db, move |c| {
        Ok((
            crate::guides::report(c, range, tz, filter, &titles, version)?,
            db::kiosk_sites(c)?,
        ))
    })
    .await?;
    Ok(Html(
        pages::guides(&state, &operator, &report, &kiosks).into_string(),
    ))
}

/// A staff member goes to the kiosk: the consultant call is cleared for everyone.
async fn take_consultant_call(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Path(kiosk): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<StatusCode, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if kiosk.len() > 16 {
        return Err(ConsoleError::NotFound("consultant call"));
    }
    let call = state
        .take_consultant_call(&kiosk)
        .ok_or(ConsoleError::NotFound(
            "consultant call: someone took it already, or the citizen left",
        ))?;
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

/// Live updates: `lamp` whenever presence changes (and every 15 s, as hours pass),
/// `consultant` whenever a consultant call comes, moves or ends (and every 15 s), `appeals`
/// when the queue changed.
async fn events(
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
                    Ok(LiveEvent::Appeals) => {
                        feed.pending.push_back(Event::default().event("appeals").data("changed"));
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Missed some: send the whole picture again.
                        feed.pending.push_back(lamp_event(&feed.state));
                        feed.pending.push_back(consultant_event(&feed.state));
                        feed.pending.push_back(Event::default().event("appeals").data("changed"));
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

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../web/console.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../web/console.js"),
    )
}
