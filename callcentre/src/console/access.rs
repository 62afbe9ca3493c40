//! What each console path asks of the operator ([`need`]: a session, the appeal roles, or
//! the admin role) and the client's address as the listener saw it. Below `auth` (which
//! applies [`need`] to every request) and `roles` (the extractors and checks).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// What a console path asks of the signed-in operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A session, nothing more (signing out, choosing the console's language).
    SignedIn,
    /// The `operator` or `anticorruption` role: appeals, calls, figures.
    Staff,
    /// The `admin` role: operators, kiosks and enrolment codes, the audit.
    Admin,
    /// The `anticorruption` role: the queue of bribe and improper-demand reports (no path
    /// needs it by itself; handlers ask with `Operator::require`).
    AntiCorruption,
}

/// Paths under these prefixes are administration.
const ADMIN_PREFIXES: [&str; 2] = ["/console/admin", "/console/fleet"];

/// Paths under these prefixes need only a session.
const SIGNED_IN_PREFIXES: [&str; 2] = ["/console/logout", "/console/language"];

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What the console path `path` asks of the operator.
pub fn need(path: &str) -> Need {
    if ADMIN_PREFIXES.iter().any(|p| under(path, p)) {
        Need::Admin
    } else if SIGNED_IN_PREFIXES.iter().any(|p| under(path, p)) {
        Need::SignedIn
    } else {
        Need::Staff
    }
}

/// The client's IP address as the server's listener saw it (`None` where the server was not
/// started with connection info, e.g. a router driven directly in a test). Behind a reverse
/// proxy this is the proxy's address; `X-Forwarded-For` is not trusted.
pub fn client_address(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// The client's address as an extractor, for handlers without an [`Operator`] (sign-in).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sorted_into_what_they_need() {
        assert_eq!(need("/console/admin/operators"), Need::Admin);
        assert_eq!(need("/console/admin"), Need::Admin);
        assert_eq!(need("/console/fleet"), Need::Admin);
        assert_eq!(need("/console/fleet/enrol"), Need::Admin);
        assert_eq!(need("/console/fleetwide"), Need::Staff);
        assert_eq!(need("/console"), Need::Staff);
        assert_eq!(need("/console/appeals/A-1"), Need::Staff);
        assert_eq!(need("/console/events"), Need::Staff);
        assert_eq!(need("/console/logout"), Need::SignedIn);
        assert_eq!(need("/console/language"), Need::SignedIn);
    }
}
