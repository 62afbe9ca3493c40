//! Who is signed in: operator sessions (the cookie holds a random token, the store its
//! SHA-256), cookies, CSRF tokens (one per session in every form; a double-submit cookie on the
//! sign-in form), and signing in and out with argon2id passwords.

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;

use super::access::{self, ClientAddress};
use super::pages;
use super::ConsoleError;
use crate::db::{self, SessionRow};
use crate::i18n::{tr, trf, Lang};
use crate::secrets;
use crate::state::AppState;

const SESSION_COOKIE: &str = "senim_session";
const LOGIN_CSRF_COOKIE: &str = "senim_login_csrf";

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

/// The browser's language from its `Accept-Language` header.
pub(super) fn browser_lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Where the `Operator` extractor leaves the signed-in operator's language for
/// `language::error_pages`.
#[derive(Clone, Default)]
pub(super) struct LangSlot(Arc<OnceLock<Lang>>);

impl LangSlot {
    pub(super) fn set(&self, lang: Lang) {
        let _ = self.0.set(lang);
    }

    pub(super) fn get(&self) -> Option<Lang> {
        self.0.get().copied()
    }
}

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    pub session: SessionRow,
    /// The console's language for them: their stored choice, else their browser's.
    pub lang: Lang,
    /// The client's IP address (see [`access::client_address`]).
    pub address: Option<String>,
}

impl Operator {
    /// Refuses a form whose CSRF token is not this session's.
    pub(super) fn check_csrf(&self, sent: &str) -> Result<(), ConsoleError> {
        if secrets::constant_time_eq(sent.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

impl Operator {
    /// May this operator open an appeal of a kiosk at `site` (flagged for the anti-corruption
    /// queue or not)?
    pub fn may_see_appeal(&self, site: &str, anticorruption: bool) -> bool {
        let roles = self.session.roles;
        let queue = if anticorruption {
            roles.anticorruption
        } else {
            roles.operator || roles.admin
        };
        queue && self.session.may_see_site(site)
    }
}

/// Records a refusal (403) in the audit — who, what they tried, from where — and returns the
/// error to show. Use it wherever an operator reaches past their role or sites.
pub async fn forbid(
    state: &Arc<AppState>,
    operator: &Operator,
    what: &str,
    appeal_id: Option<&str>,
) -> ConsoleError {
    let (who, what, appeal, address) = (
        operator.session.username.clone(),
        what.to_string(),
        appeal_id.map(str::to_owned),
        operator.address.clone(),
    );
    tracing::warn!(operator = %who, what = %what, "console request outside the operator's role or sites");
    let logged = db::write(&state.db, move |tx| {
        db::audit(
            tx,
            &db::AuditEntry {
                actor: Some(&who),
                action: "forbidden",
                appeal_id: appeal.as_deref(),
                address: address.as_deref(),
                detail: Some(&what),
                ..db::AuditEntry::default()
            },
            Utc::now(),
        )
    })
    .await;
    match logged {
        Ok(()) => ConsoleError::Forbidden,
        Err(e) => ConsoleError::Internal(e),
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
        let lang = session
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_else(|| browser_lang(&parts.headers));
        if let Some(slot) = parts.extensions.get::<LangSlot>() {
            slot.set(lang);
        }
        let operator = Operator {
            session,
            lang,
            address: access::client_address(parts),
        };
        // Every console path is behind its role (see `roles`).
        operator
            .require(state, access::need(parts.uri.path()), parts.uri.path())
            .await?;
        Ok(operator)
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

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    /// A language picked on the sign-in page (`kk`, `ru`, `en`) over the browser's.
    #[serde(default)]
    lang: Option<String>,
}

/// The sign-in page's language: one picked on the page, else the browser's.
fn login_lang(picked: Option<&str>, headers: &HeaderMap) -> Lang {
    picked
        .and_then(Lang::parse)
        .unwrap_or_else(|| browser_lang(headers))
}

pub(super) async fn login_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let lang = login_lang(q.lang.as_deref(), &headers);
    login_page(&state, lang, None, StatusCode::OK)
}

fn login_page(state: &AppState, lang: Lang, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = secrets::token();
    let cookie = session_cookie(state, LOGIN_CSRF_COOKIE, &csrf, "/console/login", 3600);
    (
        status,
        [(header::SET_COOKIE, cookie)],
        Html(pages::login(lang, &csrf, error).into_string()),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    /// The sign-in page's language, to answer a refusal in it.
    #[serde(default)]
    lang: Option<String>,
}

pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let lang = login_lang(form.lang.as_deref(), &headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !secrets::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes())
    {
        return Ok(login_page(
            &state,
            lang,
            Some(tr(lang, "The sign-in form expired. Please try again.")),
            StatusCode::FORBIDDEN,
        ));
    }
    let username = form.username.trim().to_string();
    let ip = address.as_deref().and_then(|a| a.parse().ok());
    let attempt = match state
        .signin
        .attempt(&username, ip, std::time::Instant::now())
    {
        Ok(attempt) => attempt,
        Err(refused) => return Ok(throttled(&state, lang, refused.retry_after)),
    };
    let ok = username.len() <= 64
        && form.password.len() <= 256
        && check_password(&state, &username, form.password).await?;
    if !ok {
        tracing::info!("console sign-in refused");
        sign_in_failed(&state, &username, address, &attempt).await?;
        return Ok(login_page(
            &state,
            lang,
            Some(tr(lang, "Wrong username or password.")),
            StatusCode::UNAUTHORIZED,
        ));
    }
    state.signin.succeeded(&attempt);
    let token = secrets::token();
    let csrf = secrets::token();
    let hash = secrets::sha256_hex(token.as_bytes());
    let now = Utc::now();
    let hours = i64::from(state.config.console.session_hours);
    let expires = now + chrono::Duration::hours(hours);
    let user = username.clone();
    let roles = db::write(&state.db, move |tx| {
        db::insert_session(tx, &hash, &user, &csrf, now, expires)?;
        db::audit(
            tx,
            &db::AuditEntry {
                actor: Some(&user),
                action: "sign_in",
                address: address.as_deref(),
                ..db::AuditEntry::default()
            },
            now,
        )?;
        db::operator_roles(tx, &user)
    })
    .await?;
    tracing::info!(operator = %username, "operator signed in");
    // An administrator without the appeal roles starts at the operators page.
    let home = if roles.operator || roles.anticorruption {
        "/console"
    } else {
        "/console/admin/operators"
    };
    let mut response = Redirect::to(home).into_response();
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

/// Whether `password` is `username`'s, checked on the password threads (an unknown name costs
/// the same time as a known one, so names cannot be probed).
async fn check_password(
    state: &Arc<AppState>,
    username: &str,
    password: String,
) -> Result<bool, ConsoleError> {
    let user = username.to_string();
    let stored = db::read(&state.db, move |c| db::operator_login(c, &user)).await?;
    Ok(match stored {
        Some((hash, _)) => state.passwords.verify(password, hash).await,
        None => {
            let _ = state.passwords.verify(password, DUMMY_HASH.into()).await;
            false
        }
    })
}

/// The sign-in page refused with `429 Too Many Requests` and `Retry-After`, the password not
/// checked.
fn throttled(state: &AppState, lang: Lang, retry_after: u64) -> Response {
    let message = if retry_after >= 60 {
        trf(
            lang,
            "Too many failed sign-ins. Sign-in is locked; try again in {0} min.",
            &[&retry_after.div_ceil(60)],
        )
    } else {
        trf(
            lang,
            "Too many failed sign-ins. Try again in {0} s.",
            &[&retry_after],
        )
    };
    let mut response = login_page(state, lang, Some(&message), StatusCode::TOO_MANY_REQUESTS);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// Records a refused sign-in: the name tried (at most 64 characters) and the address; and,
/// when this failure locks the name or the address, that too.
async fn sign_in_failed(
    state: &Arc<AppState>,
    tried: &str,
    address: Option<String>,
    attempt: &crate::signin_throttle::Attempt,
) -> Result<(), ConsoleError> {
    let tried: String = tried.chars().take(64).collect();
    let locked = match (attempt.locks_name, attempt.locks_address) {
        (true, true) => Some("name, address"),
        (true, false) => Some("name"),
        (false, true) => Some("address"),
        (false, false) => None,
    };
    if let Some(what) = locked {
        tracing::warn!(name = %tried, address = ?address, locked = what, "console sign-in locked");
    }
    db::write(&state.db, move |tx| {
        let now = Utc::now();
        let entry = db::AuditEntry {
            actor: Some(&tried),
            action: "sign_in_failed",
            address: address.as_deref(),
            ..db::AuditEntry::default()
        };
        db::audit(tx, &entry, now)?;
        if let Some(what) = locked {
            db::audit(
                tx,
                &db::AuditEntry {
                    action: "sign_in_locked",
                    detail: Some(what),
                    ..entry
                },
                now,
            )?;
        }
        Ok::<(), db::DbError>(())
    })
    .await?;
    Ok(())
}

/// A valid argon2id hash of a random password, to verify against for unknown usernames.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2VuaW1kdW1teXNhbHQ$J1fk0bBSGp4zKHOaZ4XkU5r0Ai6pX2OsqcZQk1dBdy8";

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let hash = secrets::sha256_hex(token.as_bytes());
        let (who, address) = (operator.session.username.clone(), operator.address.clone());
        db::write(&state.db, move |tx| {
            db::delete_session(tx, &hash)?;
            db::audit(
                tx,
                &db::AuditEntry {
                    actor: Some(&who),
                    action: "sign_out",
                    address: address.as_deref(),
                    ..db::AuditEntry::default()
                },
                Utc::now(),
            )
        })
        .await?;
    }
    // Signing out makes the operator away: their call sockets close.
    state
        .calls
        .signed_out(&operator.session.username, state.open_now());
    // The sign-in page in the language the operator was using.
    let login = format!("/console/login?lang={}", operator.lang.code());
    let mut response = Redirect::to(&login).into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&state, SESSION_COOKIE, "", "/", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}
