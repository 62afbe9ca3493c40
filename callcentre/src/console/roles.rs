//! Who may use which part of the console. Administration (operators, kiosks and enrolment
//! codes, the audit) needs the `admin` role; the appeals, calls and figures need `operator` or
//! `anticorruption`; signing out needs only a session. The [`Operator`] extractor applies
//! [`super::access::need`] to every request by its path, so a handler that takes an
//! `Operator` is already behind the right role; [`Admin`] and [`Staff`] say it in a handler's signature, and
//! [`Operator::require_admin`] / [`Operator::require_staff`] check inside a handler (e.g. an
//! admin-only action on a page everyone uses). Every refusal is a 403 with a `forbidden` row in
//! the audit ([`super::forbid`]).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use super::access::Need;
use super::auth::{forbid, Operator};
use super::ConsoleError;
use crate::state::AppState;

impl Operator {
    /// Does this operator hold the `admin` role?
    pub fn is_admin(&self) -> bool {
        self.session.roles.admin
    }

    /// Does this operator work appeals and calls (`operator` or `anticorruption` role)?
    pub fn is_staff(&self) -> bool {
        self.session.roles.operator || self.session.roles.anticorruption
    }

    /// Does this operator hold the `anticorruption` role?
    pub fn is_anticorruption(&self) -> bool {
        self.session.roles.anticorruption
    }

    /// Does this operator meet `need`?
    pub fn meets(&self, need: Need) -> bool {
        match need {
            Need::SignedIn => true,
            Need::Staff => self.is_staff(),
            Need::Admin => self.is_admin(),
            Need::AntiCorruption => self.is_anticorruption(),
        }
    }

    /// `Ok` for an anti-corruption operator; otherwise logs the refusal of `what` and returns
    /// the 403.
    pub async fn require_anticorruption(
        &self,
        state: &Arc<AppState>,
        what: &str,
    ) -> Result<(), ConsoleError> {
        self.require(state, Need::AntiCorruption, what).await
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
