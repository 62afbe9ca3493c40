//! The appeal figures page (`/console/figures`) and its CSV download
//! (`/console/figures.csv?from=YYYY-MM&to=YYYY-MM`): for admins and operators, narrowed to
//! their sites, anti-corruption reports only with that role (see [`crate::figures`]).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use super::auth::{forbid, Operator};
use super::pages;
use super::ConsoleError;
use crate::db;
use crate::figures::{csv, csv_rows, month_key, report, Months, MonthsError, Viewer, MAX_MONTHS};
use crate::i18n::{tr, trf, Lang};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct FiguresQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The viewer's console language: their choice, else the browser's.
fn language(operator: &Operator, headers: &HeaderMap) -> Lang {
    operator
        .session
        .language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| {
            Lang::from_accept_language(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

/// Admins and operators may see the figures (of their sites; anti-corruption reports only
/// with that role); anyone else is refused and the refusal logged.
async fn viewer(state: &Arc<AppState>, operator: &Operator) -> Result<Viewer, ConsoleError> {
    let roles = operator.session.roles;
    if !(roles.admin || roles.operator) {
        return Err(forbid(state, operator, "figures", None).await);
    }
    Ok(Viewer {
        sites: operator.session.sites.clone(),
        anticorruption: roles.anticorruption,
    })
}

fn months_error(lang: Lang, e: &MonthsError) -> ConsoleError {
    ConsoleError::Invalid(match e {
        MonthsError::Month { field, found } => trf(
            lang,
            "“{0}”: expected a month such as 2026-03, found “{1}”",
            &[
                &if *field == "from" {
                    tr(lang, "First month")
                } else {
                    tr(lang, "Last month")
                },
                found,
            ],
        ),
        MonthsError::Order => tr(lang, "The first month comes after the last; swap them.").into(),
        MonthsError::TooLong => trf(lang, "Choose at most {0} months at once.", &[&MAX_MONTHS]),
    })
}

fn parse_months(state: &AppState, lang: Lang, q: &FiguresQuery) -> Result<Months, ConsoleError> {
    let today = Utc::now().with_timezone(&state.schedule.tz()).date_naive();
    Months::parse(q.from.as_deref(), q.to.as_deref(), today).map_err(|e| months_error(lang, &e))
}

/// The figures page.
pub(super) async fn figures(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    Query(q): Query<FiguresQuery>,
) -> Result<Html<String>, ConsoleError> {
    let lang = language(&operator, &headers);
    let viewer = viewer(&state, &operator).await?;
    let months = parse_months(&state, lang, &q)?;
    let tz = state.schedule.tz();
    let report = db::read(&state.db, move |c| {
        report(c, months, tz, &viewer, Utc::now())
    })
    .await?;
    Ok(Html(
        pages::figures(&state, &operator.session, lang, &report).into_string(),
    ))
}

/// The CSV export: one row per month × site × topic.
pub(super) async fn figures_csv(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    headers: HeaderMap,
    Query(q): Query<FiguresQuery>,
) -> Result<Response, ConsoleError> {
    let lang = language(&operator, &headers);
    let viewer = viewer(&state, &operator).await?;
    let months = parse_months(&state, lang, &q)?;
    let tz = state.schedule.tz();
    let rows = db::read(&state.db, move |c| {
        csv_rows(c, months, tz, &viewer, Utc::now())
    })
    .await?;
    let name = format!(
        "attachment; filename=\"senim-figures-{}-{}.csv\"",
        month_key(months.from),
        month_key(months.to)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv(&rows),
    )
        .into_response())
}
