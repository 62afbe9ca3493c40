//! Who may use which part of the console. Administration (operators, kiosks and enrolment
//! codes, the audit) needs the `admin` role; the appeals, calls and figures need `operator` or
//! `anticorruption`; signing out needs only a session. The [`Operator`] extractor applies
//! [`need`] to every request by its path, so a handler that takes an `Operator` is already
//! behind the right role; [`Admin`] and [`Staff`] say it in a handler's signature, and
//! [`Operator::require_admin`] / [`Operator::require_staff`] check inside a handler (e.g. an
//! admin-only action on a page everyone uses). Every refusal is a 403 with a `forbidden` row in
//! the audit ([`super::forbid`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::auth::{forbid, Operator};
use super::ConsoleError;
use crate::state::AppState;

/// What a console path asks of the signed-in operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A session, nothing more (signing out, choosing the console's language).
    SignedIn,
    /// The `operator` or `anticorruption` role: appeals, calls, figures.
    Staff,
    /// The `admin` role: operators, kiosks and enrolment codes, the audit.
    Admin,
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

impl Operator {
    /// Does this operator hold the `admin` role?
    pub fn is_admin(&self) -> bool {
        self.session.roles.admin
    }

    /// Does this operator work appeals and calls (`operator` or `anticorruption` role)?
    pub fn is_staff(&self) -> bool {
        self.session.roles.operator || self.session.roles.anticorruption
    }

    /// Does this operator meet `need`?
    pub fn meets(&self, need: Need) -> bool {
        match need {
            Need::SignedIn => true,
            Need::Staff => self.is_staff(),
            Need::Admin => self.is_admin(),
        }
    }

    /// `Ok` for an admin; otherwise logs the refusal of `what` and returns the 403.
    pub async fn require_admin(
        &self,
        state: &Arc<AppState>,
        what: &str,
    ) -> Result<(), ConsoleError> {
        self.require(state, Need::Admin, what).await
    }

    /// `Ok` for an operator or anti-corruption operator; otherwise logs the refusal of `what`
    /// and returns the 403.
    pub async fn require_staff(
        &self,
        state: &Arc<AppState>,
        what: &str,
    ) -> Result<(), ConsoleError> {
        self.require(state, Need::Staff, what).await
    }

    /// `Ok` if the operator meets `need`; otherwise logs the refusal of `what` and returns
    /// the 403.
    pub async fn require(
        &self,
        state: &Arc<AppState>,
        need: Need,
        what: &str,
    ) -> Result<(), ConsoleError> {
        if self.meets(need) {
            Ok(())
        } else {
            Err(forbid(state, self, what, None).await)
        }
    }
}

/// A signed-in operator with the `admin` role; anyone else gets the 403, logged.
#[derive(Debug, Clone)]
pub struct Admin(pub Operator);

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let operator = Operator::from_request_parts(parts, state).await?;
        operator.require_admin(state, parts.uri.path()).await?;
        Ok(Admin(operator))
    }
}

/// A signed-in operator with the `operator` or `anticorruption` role; anyone else gets the
/// 403, logged.
#[derive(Debug, Clone)]
pub struct Staff(pub Operator);

impl FromRequestParts<Arc<AppState>> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let operator = Operator::from_request_parts(parts, state).await?;
        operator.require_staff(state, parts.uri.path()).await?;
        Ok(Staff(operator))
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
