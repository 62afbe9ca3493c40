//! The fleet view (kiosks, their state, catalogue and recent faults) and "Enrol a kiosk": a
//! one-time code shown with its QR code, for a technician at a kiosk with no terminal at hand.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;

use super::auth::{CsrfForm, Operator};
use super::pages;
use super::roles::Admin;
use super::ConsoleError;
use crate::db;
use crate::enrolment;
use crate::i18n::tr;
use crate::state::AppState;

pub(super) async fn fleet(
    State(state): State<Arc<AppState>>,
    operator: Operator,
) -> Result<Html<String>, ConsoleError> {
    fleet_page(&state, &operator, None).await
}

async fn fleet_page(
    state: &Arc<AppState>,
    operator: &Operator,
    enrol_error: Option<(&str, &str)>,
) -> Result<Html<String>, ConsoleError> {
    let (kiosks, faults) = db::read(&state.db, |c| {
        Ok((db::list_kiosks(c)?, db::recent_faults(c, 3)?))
    })
    .await?;
    Ok(Html(
        pages::fleet(
            state,
            &operator.session,
            operator.lang,
            &kiosks,
            &faults,
            enrol_error,
            Utc::now(),
        )
        .into_string(),
    ))
}

#[derive(Deserialize)]
pub(super) struct EnrolForm {
    csrf: String,
    site: String,
    mode: String,
}

/// Makes a one-time enrolment code and shows it with its QR code, for a technician at a kiosk
/// with no terminal at hand. The page is not cached; the code is not logged.
pub(super) async fn enrol_code(
    State(state): State<Arc<AppState>>,
    operator: Operator,
    Form(form): Form<EnrolForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let mode =
        senim_protocol::SiteMode::parse(&form.mode).ok_or(ConsoleError::Refused(|lang| {
            tr(lang, "Choose the site's mode: hospital or front office.")
        }))?;
    let Some(site) = enrolment::site_name(&form.site) else {
        let page = fleet_page(
            &state,
            &operator,
            Some((
                &form.site,
                tr(
                    operator.lang,
                    "Give the site's name: 1 to 200 characters, on one line.",
                ),
            )),
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let code = enrolment::new_code();
    // `[server] public_url` was checked at start; a QR code without it still enrols a kiosk
    // that has `[sync] backend_url`, and the page says how to make one a blank kiosk takes.
    let url = enrolment::public_url(&state.config.server.public_url, None)
        .ok()
        .flatten();
    let text = enrolment::text(&code, state.tls_pin, url.as_deref());
    let qr = enrolment::qr(&code, state.tls_pin, url.as_deref())
        .and_then(|qr| qr.to_png(crate::qr::PNG_SCALE))
        .map_err(|e| {
            tracing::error!(error = %e, "the enrolment code's QR code could not be drawn");
            ConsoleError::Refused(|lang| {
                tr(lang, "The QR code could not be drawn; make the code in a terminal on the server instead.")
            })
        })?;
    let ttl = state.config.enrolment.code_ttl_hours;
    let (stored_code, stored_site) = (code.clone(), site.clone());
    let (who, address) = (operator.session.username.clone(), operator.address.clone());
    let expires = db::write(&state.db, move |tx| {
        let now = Utc::now();
        let expires = enrolment::store(tx, &stored_code, &stored_site, mode, now, ttl)?;
        // The code itself is not kept in the audit: it would let a reader enrol a kiosk.
        db::audit(
            tx,
            &db::AuditEntry {
                actor: Some(&who),
                action: "enrol_code",
                target: Some(&stored_site),
                address: address.as_deref(),
                detail: Some(mode.as_str()),
                ..db::AuditEntry::default()
            },
            now,
        )?;
        Ok::<_, db::DbError>(expires)
    })
    .await?;
    tracing::info!(operator = %operator.session.username, site = %site, mode = mode.as_str(), "enrolment code made in the console");
    let html = pages::enrol_code(
        &state,
        &operator.session,
        operator.lang,
        &pages::EnrolCode {
            site: &site,
            mode,
            code: &code,
            text: &text,
            has_url: url.is_some(),
            png: &qr,
            expires,
        },
    )
    .into_string();
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// Revokes a kiosk's token: it can send nothing until enrolled again. Logged in the audit.
pub(super) async fn revoke(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let (who, address, kiosk) = (
        operator.session.username.clone(),
        operator.address.clone(),
        id.clone(),
    );
    let found = db::write(&state.db, move |tx| {
        let now = Utc::now();
        let found = db::revoke_kiosk(tx, &kiosk, now)?;
        if found {
            db::audit(
                tx,
                &db::AuditEntry {
                    actor: Some(&who),
                    action: "kiosk_revoke",
                    target: Some(&kiosk),
                    address: address.as_deref(),
                    ..db::AuditEntry::default()
                },
                now,
            )?;
        }
        Ok::<_, db::DbError>(found)
    })
    .await?;
    if !found {
        return Err(ConsoleError::NotFound("kiosk"));
    }
    tracing::info!(operator = %operator.session.username, kiosk = %id, "kiosk revoked in the console");
    Ok(Redirect::to("/console/fleet").into_response())
}
