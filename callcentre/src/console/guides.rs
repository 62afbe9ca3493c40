//! The service-guide figures page: a date range in the call-centre's local days, optionally
//! for one service or one kiosk.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Html;
use chrono::Utc;
use serde::Deserialize;

use super::auth::Operator;
use super::pages;
use super::ConsoleError;
use crate::db;
use crate::guides::RangeError;
use crate::i18n::{tr, trf, Lang};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct GuidesQuery {
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    kiosk: Option<String>,
}

/// The service-guide figures for a date range, optionally for one service or kiosk.
pub(super) async fn guides(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Query(q): Query<GuidesQuery>,
) -> Result<Html<String>, ConsoleError> {
    let tz = state.schedule.tz();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let range = crate::guides::Range::parse(q.from.as_deref(), q.to.as_deref(), today)
        .map_err(|e| ConsoleError::Invalid(range_error(operator.lang, &e)))?;
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
        return Err(ConsoleError::Refused(|lang| {
            tr(lang, "The filter names an unknown service.")
        }));
    }
    if filter.kiosk.as_deref().is_some_and(|k| k.len() > 16) {
        return Err(ConsoleError::Refused(|lang| {
            tr(lang, "The filter names an unknown kiosk.")
        }));
    }
    let titles = state.service_titles_in(operator.lang);
    let version = state.catalog_version();
    let (report, kiosks) = db::read(&state.db, move |c| {
        Ok((
            crate::guides::report(c, range, tz, filter, &titles, version)?,
            db::kiosk_sites(c)?,
        ))
    })
    .await?;
    Ok(Html(
        pages::guides(&state, &operator.session, operator.lang, &report, &kiosks).into_string(),
    ))
}

/// Why a date range was refused, in the operator's language.
fn range_error(lang: Lang, e: &RangeError) -> String {
    match e {
        RangeError::Date { key, found } => {
            let field = if *key == "to" {
                tr(lang, "To")
            } else {
                tr(lang, "From")
            };
            trf(
                lang,
                "{0}: write the date as YYYY-MM-DD, e.g. 2026-11-01 (found “{1}”).",
                &[&field, &found.chars().take(40).collect::<String>()],
            )
        }
        RangeError::Backwards { from, to } => trf(
            lang,
            "The first date ({0}) is after the last ({1}); give the earlier date first.",
            &[from, to],
        ),
        RangeError::TooLong { from, to, days } => trf(
            lang,
            "{0} to {1} is {2} days; ask for at most {3} days at a time.",
            &[from, to, days, &crate::guides::MAX_DAYS],
        ),
    }
}
