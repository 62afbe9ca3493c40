//! Who may use which part of the console. Administration (operators, kiosks and enrolment
//! codes, the audit) needs the `admin` role; the appeals, calls and figures need `operator` or
//! `anticorruption`; signing out needs only a session. The [`Operator`] extractor applies
//! [`super::access::need`] to every request by its path, so a handler that takes an
//! `Operator` is already behind the right role; [`Admin`] says it in a handler's signature,
//! and [`Operator::require`] checks inside a handler. Every refusal is a 403 with a
//! `forbidden` row in the audit ([`super::forbid`]).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use super::access::Need;
use super::auth::{forbid, Operator};
use super::ConsoleError;
use crate::state::AppState;

impl Operator {
    /// Does this operator meet `need`?
    pub fn meets(&self, need: Need) -> bool {
        let roles = self.session.roles;
        match need {
            Need::SignedIn => true,
            Need::Staff => roles.operator || roles.anticorruption,
            Need::Admin => roles.admin,
            Need::AntiCorruption => roles.anticorruption,
        }
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
        operator
            .require(state, Need::Admin, parts.uri.path())
            .await?;
        Ok(Admin(operator))
    }
}
