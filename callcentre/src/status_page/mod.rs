//! The citizen's status page, `GET /s/{number}/{code}`: the target of the receipt's QR code
//! (the kiosk's check code) and of the SMS link (a link code in `status_links`).
//!
//! The appeal is found by its number and the SHA-256 of the code (`db::appeal_status`); a
//! wrong code, an unknown number and a malformed link all get the same 404 page, so numbers
//! cannot be probed. Requests are limited per client ([`limit`]). The page is in Kazakh,
//! Russian or English (`?lang=`, else `Accept-Language`), never indexed, cached or sent on as
//! a referrer, and shows no IIN, name, phone, video or operator. Nothing about the citizen or
//! the code is logged.

pub mod limit;
pub mod page;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use maud::Markup;

use crate::db;
use crate::i18n::Lang;
use crate::state::AppState;
use limit::{ClientKey, Limiter};

/// Requests one client may make per minute.
pub const PER_MINUTE: u32 = 30;

/// The page's routes (outside `/console` and `/api`), with a request limiter of their own.
pub fn router() -> Router<Arc<AppState>> {
    let limiter = Arc::new(Limiter::new(PER_MINUTE, Duration::from_secs(60)));
    Router::new()
        .route("/s/{number}/{code}", get(status))
        .route("/s/{number}", get(no_code))
        .route("/s/{number}/{code}/{*rest}", get(no_code))
        .layer(Extension(limiter))
}

/// The language asked for: `?lang=kk|ru|en`, else the browser's `Accept-Language`.
fn language(request: &Request) -> Lang {
    let asked = request.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.strip_prefix("lang="))
            .find_map(|code| match code {
                "kk" => Some(Lang::Kk),
                "ru" => Some(Lang::Ru),
                "en" => Some(Lang::En),
                _ => None,
            })
    });
    asked.unwrap_or_else(|| {
        Lang::from_accept_language(
            request
                .headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    })
}

/// Who is asking, for the limit: the peer's address; behind a reverse proxy on this host
/// (a loopback peer), the nearest address it added to `X-Forwarded-For`.
fn client(request: &Request) -> ClientKey {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded = || {
        request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
    };
    let addr = if peer.is_loopback() {
        forwarded().unwrap_or(peer)
    } else {
        peer
    };
    ClientKey::of(addr)
}

/// Headers every answer of the page carries.
fn respond(status: StatusCode, lang: Lang, body: Markup) -> Response {
    let mut headers = HeaderMap::new();
    let fixed: [(HeaderName, &'static str); 8] = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
        ),
        (header::VARY, "Accept-Language"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    (status, headers, body.into_string()).into_response()
}

/// `/s/{number}` without a code, or with more after it: the same page as any wrong link.
async fn no_code(
    Extension(limiter): Extension<Arc<Limiter>>,
    Path(_number): Path<String>,
    request: Request,
) -> Response {
    let lang = language(&request);
    if !limiter.allow(client(&request), Instant::now()) {
        return respond(StatusCode::TOO_MANY_REQUESTS, lang, page::too_many(lang));
    }
    respond(StatusCode::NOT_FOUND, lang, page::not_found(lang))
}

async fn status(
    State(state): State<Arc<AppState>>,
    Extension(limiter): Extension<Arc<Limiter>>,
    Path((number, code)): Path<(String, String)>,
    request: Request,
) -> Response {
    let lang = language(&request);
    if !limiter.allow(client(&request), Instant::now()) {
        return respond(StatusCode::TOO_MANY_REQUESTS, lang, page::too_many(lang));
    }
    let number = number.to_ascii_uppercase();
    let code = code.to_ascii_uppercase();
    if !senim_protocol::valid_appeal_id(&number) || !senim_protocol::valid_check_code(&code) {
        return respond(StatusCode::NOT_FOUND, lang, page::not_found(lang));
    }
    let hash = db::code_hash(&code);
    let found = db::read(&state.db, move |conn| {
        db::appeal_status(conn, &number, &hash)
    })
    .await;
    match found {
        Ok(Some(appeal)) => respond(StatusCode::OK, lang, page::appeal(&state, lang, &appeal)),
        Ok(None) => respond(StatusCode::NOT_FOUND, lang, page::not_found(lang)),
        Err(e) => {
            tracing::error!(error = %e, "the status page could not read the store");
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                page::unavailable(lang),
            )
        }
    }
}
