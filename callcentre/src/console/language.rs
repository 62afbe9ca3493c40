//! The console's language for each request: the operator's stored choice
//! (`operators.language`), else the browser's `Accept-Language`; the switch in the header
//! (`POST /console/language`, CSRF-checked) that stores the choice and returns to the same
//! page; and error pages in the language of the request that failed.
//!
//! A [`ConsoleError`] cannot see the request it answers, so it renders its page in every
//! language and marks the response; [`error_pages`] (a layer on the console's routes) keeps
//! the one in the request's language: the operator's, once the session was read
//! ([`LangSlot`], filled by the `Operator` extractor), else the browser's.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::auth::{browser_lang, LangSlot, Operator};
use super::ConsoleError;
use crate::db;
use crate::i18n::{tr, Lang};
use crate::state::AppState;

/// An error page rendered in each language; [`error_pages`] picks one.
#[derive(Clone)]
pub(super) struct ErrorPages(pub(super) Arc<[(Lang, String); 3]>);

/// The layer that gives each error page the request's language.
pub(super) async fn error_pages(mut request: Request, next: Next) -> Response {
    let browser = browser_lang(request.headers());
    let slot = LangSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(ErrorPages(pages)) = response.extensions_mut().remove::<ErrorPages>() {
        let lang = slot.get().unwrap_or(browser);
        if let Some((_, page)) = pages.iter().find(|(l, _)| *l == lang) {
            response.headers_mut().remove(header::CONTENT_LENGTH);
            *response.body_mut() = Body::from(page.clone());
        }
    }
    response
}

impl ConsoleError {
    /// What the operator reads, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ConsoleError::SignIn => tr(lang, "Sign in first.").into(),
            ConsoleError::Csrf => tr(
                lang,
                "This form has expired or did not come from the console; reload the page and try again.",
            )
            .into(),
            ConsoleError::NotFound(what) => not_found(lang, what).into(),
            ConsoleError::Missing(text) | ConsoleError::Refused(text) => text(lang).into(),
            ConsoleError::Forbidden => tr(
                lang,
                "This is not for your role or your sites; ask an administrator if you need it.",
            )
            .into(),
            ConsoleError::Invalid(message) => message.clone(),
            ConsoleError::Internal(_) => {
                tr(lang, "The server could not complete this; it is logged.").into()
            }
        }
    }
}

/// "There is no such …" for the things the console names with [`ConsoleError::NotFound`].
fn not_found(lang: Lang, what: &str) -> &'static str {
    match what {
        "appeal" => tr(lang, "There is no such appeal."),
        "video" | "video for this appeal yet" => tr(lang, "This appeal has no video yet."),
        "call" => tr(lang, "There is no such call."),
        "operator" => tr(lang, "There is no such operator."),
        "kiosk" => tr(lang, "There is no such kiosk."),
        _ => tr(
            lang,
            "What you asked for does not exist, or no longer does.",
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct LanguageForm {
    csrf: String,
    language: String,
}

/// Stores the operator's console language and returns to the page they were on.
pub(super) async fn set_language(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let lang = Lang::parse(&form.language)
        .filter(|l| l.code() == form.language.trim())
        .ok_or(ConsoleError::Refused(|lang| {
            tr(lang, "Choose the console's language: kk, ru or en.")
        }))?;
    let who = operator.session.username.clone();
    db::write(&state.db, move |tx| {
        db::set_operator_language(tx, &who, Some(lang.code()))
    })
    .await?;
    tracing::info!(operator = %operator.session.username, language = lang.code(), "console language chosen");
    Ok(Redirect::to(&back_to(&headers)).into_response())
}

/// The console page the request came from (its `Referer`, on this server), else the queue.
fn back_to(headers: &HeaderMap) -> String {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let path = get(header::REFERER).and_then(|referer| {
        let host = get(header::HOST)?;
        let rest = referer
            .strip_prefix("https://")
            .or_else(|| referer.strip_prefix("http://"))?;
        let path = rest.strip_prefix(host)?;
        Some(path.to_string())
    });
    match path {
        Some(p)
            if p.starts_with("/console")
                && !p.starts_with("/console/language")
                && !p.starts_with("/console/login")
                && !p.contains(['\r', '\n', '\\']) =>
        {
            p
        }
        _ => "/console".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(referer: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(header::REFERER, HeaderValue::from_str(referer).unwrap());
        h
    }

    #[test]
    fn the_switch_returns_to_the_same_console_page_only() {
        assert_eq!(
            back_to(&headers("http://127.0.0.1:8080/console/fleet")),
            "/console/fleet"
        );
        assert_eq!(
            back_to(&headers("http://127.0.0.1:8080/console?show=closed")),
            "/console?show=closed"
        );
        assert_eq!(back_to(&headers("http://evil.example/console")), "/console");
        assert_eq!(
            back_to(&headers("http://127.0.0.1:8080.evil.example/console")),
            "/console"
        );
        assert_eq!(
            back_to(&headers("http://127.0.0.1:8080/s/A-1/X")),
            "/console"
        );
        assert_eq!(back_to(&HeaderMap::new()), "/console");
    }
}
