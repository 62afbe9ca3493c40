//! Security headers on every console response: a Content-Security-Policy that allows scripts,
//! styles, media and connections (SSE, the call WebSocket) only from the console's own origin
//! and no inline script or style, no framing, `nosniff`, `Referrer-Policy: same-origin`, HSTS
//! when the server itself serves TLS; and `Cache-Control: no-store` on everything but the
//! static files, since pages, rows, the SSE feed and the videos carry citizens' data.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The console's Content-Security-Policy. `'self'` covers `ws:`/`wss:` to the same host
/// (CSP Level 3) for `/console/call`; `data:` images are the enrolment QR code; a call's
/// media come as `MediaStream`s, which no source list governs.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// HSTS for a server that serves TLS itself: a year.
pub const HSTS: &str = "max-age=31536000";

/// The layer's function; `hsts` when the server serves TLS itself.
pub async fn secure(hsts: bool, request: Request, next: Next) -> Response {
    let cacheable = request.uri().path().starts_with("/console/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
