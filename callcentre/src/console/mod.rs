//! The operator console: sign-in with sessions and CSRF tokens, the red lamp and consultant
//! calls over Server-Sent Events, the appeal queue and page (video with range requests, masked
//! IIN with a logged reveal, notes, status history), the fleet view with enrolment codes as QR
//! codes, and the service-guide figures. Server-rendered HTML.
//!
//! This module keeps the router, the error type and the static files; `auth` (sessions,
//! cookies, CSRF, sign-in and out), `appeals`, `fleet`, `guides`, `live` (the SSE feed and
//! consultant calls) and `language` (the operator's language, the switch, error pages in it)
//! hold the handlers, `pages` the HTML. Every text goes through `i18n::tr`.

mod access;
mod admin;
mod appeals;
mod auth;
mod call;
mod figures;
mod fleet;
mod guides;
mod headers;
mod language;
mod live;
mod pages;
mod queue;
mod roles;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::db::DbError;
use crate::i18n::Lang;
use crate::state::AppState;

pub use auth::{forbid, Operator};
pub use roles::{Admin, Need};

/// The console's routes; `hsts` when the server serves TLS itself.
pub fn router(hsts: bool) -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(queue::queue))
        .route("/console/queue/rows", get(queue::rows))
        .route("/console/login", get(auth::login_form).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/events", get(live::events))
        .route("/console/call", get(call::socket))
        .route("/console/calls/{id}/reveal", post(call::reveal))
        .route("/console/calls/{id}/outcome", post(call::save_outcome))
        .route("/console/fleet", get(fleet::fleet))
        .route("/console/fleet/enrol", post(fleet::enrol_code))
        .route("/console/fleet/{id}/revoke", post(fleet::revoke))
        .route("/console/guides", get(guides::guides))
        .route("/console/figures", get(figures::figures))
        .route("/console/figures.csv", get(figures::figures_csv))
        .route(
            "/console/admin/operators",
            get(admin::operators).post(admin::add_operator),
        )
        .route("/console/admin/operators/{name}", get(admin::operator_page))
        .route(
            "/console/admin/operators/{name}/access",
            post(admin::save_access),
        )
        .route(
            "/console/admin/operators/{name}/password",
            post(admin::reset_password),
        )
        .route(
            "/console/admin/operators/{name}/disable",
            post(admin::disable),
        )
        .route(
            "/console/admin/operators/{name}/enable",
            post(admin::enable),
        )
        .route("/console/admin/audit", get(admin::audit))
        .route(
            "/console/consultant/{kiosk}/taken",
            post(live::take_consultant_call),
        )
        .route("/console/appeals/{id}", get(appeals::appeal))
        .route("/console/appeals/{id}/video", get(appeals::video))
        .route("/console/appeals/{id}/assign", post(appeals::assign))
        .route("/console/appeals/{id}/start", post(appeals::start_work))
        .route("/console/appeals/{id}/answer", post(appeals::answer))
        .route("/console/appeals/{id}/close", post(appeals::close))
        .route("/console/appeals/{id}/reopen", post(appeals::reopen))
        .route("/console/appeals/{id}/extend", post(appeals::extend))
        .route("/console/appeals/{id}/note", post(appeals::add_note))
        .route("/console/appeals/{id}/reveal", post(appeals::reveal_iin))
        .route("/console/static/console.css", get(css))
        .route("/console/static/console.js", get(js))
        .route("/console/static/call.js", get(call_js))
        .route("/console/language", post(language::set_language))
        .layer(axum::middleware::from_fn(language::error_pages))
        .layer(axum::middleware::from_fn(move |request, next| {
            headers::secure(hsts, request, next)
        }))
}

/// A text in the operator's language, for errors: `|lang| tr(lang, "…")`.
pub type Localized = fn(Lang) -> &'static str;

/// A console failure, shown to the operator as a page in their language
/// ([`ConsoleError::message`]).
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
    /// Not found (404), saying so in the operator's language.
    #[error("{}", .0(Lang::En))]
    Missing(Localized),
    /// Refused as bad input (400), saying why in the operator's language.
    #[error("{}", .0(Lang::En))]
    Refused(Localized),
    /// Outside the operator's role or sites; logged in the audit by [`auth::forbid`].
    #[error("this is not for your role or your sites; ask an administrator if you need it")]
    Forbidden,
    /// Refused as bad input (400); the text is already in the operator's language.
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
            ConsoleError::NotFound(_) | ConsoleError::Missing(_) => StatusCode::NOT_FOUND,
            ConsoleError::Refused(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Forbidden => StatusCode::FORBIDDEN,
            ConsoleError::Invalid(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Internal(e) => {
                tracing::error!(error = %e, "console request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        // Every language; the `language::error_pages` layer keeps the request's.
        let pages = Lang::ALL.map(|lang| {
            (
                lang,
                pages::error_page(lang, &self.message(lang)).into_string(),
            )
        });
        let fallback = pages
            .iter()
            .find(|(lang, _)| *lang == Lang::default())
            .map(|(_, page)| page.clone())
            .unwrap_or_default();
        let mut response = (status, Html(fallback)).into_response();
        response
            .extensions_mut()
            .insert(language::ErrorPages(Arc::new(pages)));
        response
    }
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

async fn call_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../web/call.js"),
    )
}
