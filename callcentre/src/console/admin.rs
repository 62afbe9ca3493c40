//! Administration in the console (the `admin` role): operator accounts — add, name, roles,
//! sites, a new password, disable and enable (both of the last two sign the operator out: their
//! sessions are deleted and their call sockets closed) — and the audit trail by date range.
//! Every change is one transaction with its audit row.

use std::sync::Arc;

use crate::db::sql::Transaction;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::auth::Operator;
use super::pages::{self, AddDraft, AuditView};
use super::roles::Admin;
use super::ConsoleError;
use crate::db::{self, By, Change, OperatorError, Roles};
use crate::i18n::{tr, trf, Lang};
use crate::state::AppState;

/// Audit rows per page.
const AUDIT_PAGE: u32 = 50;

/// The language of the admin pages: the operator's choice, else the browser's.
fn lang(operator: &Operator, headers: &HeaderMap) -> Lang {
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

/// A posted form as name–value pairs (checkboxes and multi-selects repeat a name).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn roles(&self) -> Option<Roles> {
        Roles::from_names(self.all("role"))
    }

    /// The chosen sites, each once, sorted; `None` if one is not a site name.
    fn sites(&self) -> Option<Vec<String>> {
        let mut sites = Vec::new();
        for s in self.all("site") {
            let site = crate::enrolment::site_name(s)?;
            if !sites.contains(&site) {
                sites.push(site);
            }
        }
        sites.sort();
        Some(sites)
    }
}

fn by(operator: &Operator) -> (String, Option<String>) {
    (operator.session.username.clone(), operator.address.clone())
}

/// The operator's words for a refused change.
fn refusal(lang: Lang, e: &OperatorError) -> String {
    match e {
        OperatorError::Unknown(_) => tr(lang, "There is no such operator.").into(),
        OperatorError::Taken(name) => trf(
            lang,
            "There is already an operator {0}; choose another username.",
            &[name],
        ),
        OperatorError::LastAdmin => tr(
            lang,
            "This would leave no enabled administrator. Give another operator the Administrator role first.",
        )
        .into(),
        OperatorError::Db(_) => String::new(),
    }
}

/// Runs `f` (changes made with [`db::change_operator`]) in one transaction as `operator`; a
/// refusal comes back as the message to show, and changes nothing.
async fn run_change(
    state: &Arc<AppState>,
    operator: &Operator,
    lang: Lang,
    f: impl FnOnce(&Transaction<'_>, By<'_>, DateTime<Utc>) -> Result<(), OperatorError>
        + Send
        + 'static,
) -> Result<Result<(), String>, ConsoleError> {
    let (actor, address) = by(operator);
    // A refusal is an error of the transaction, so whatever came before it is rolled back.
    let result = db::write(&state.db, move |tx| {
        let by = By {
            actor: Some(&actor),
            address: address.as_deref(),
        };
        f(tx, by, Utc::now())
    })
    .await;
    match result {
        Ok(()) => Ok(Ok(())),
        Err(OperatorError::Db(e)) => Err(ConsoleError::Internal(e)),
        Err(e) => Ok(Err(refusal(lang, &e))),
    }
}

pub(super) async fn operators(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    headers: HeaderMap,
) -> Result<Html<String>, ConsoleError> {
    operators_page(&state, &operator, lang(&operator, &headers), None).await
}

async fn operators_page(
    state: &Arc<AppState>,
    operator: &Operator,
    lang: Lang,
    add: Option<(&AddDraft, &str)>,
) -> Result<Html<String>, ConsoleError> {
    let (list, sites) = db::read(&state.db, |c| {
        Ok((db::list_operators(c)?, db::known_sites(c)?))
    })
    .await?;
    Ok(Html(
        pages::operators(state, &operator.session, lang, &list, &sites, add).into_string(),
    ))
}

/// Adds an operator with an initial password, roles and sites.
pub(super) async fn add_operator(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let fields = Fields(fields);
    operator.check_csrf(fields.one("csrf"))?;
    let lang = lang(&operator, &headers);
    let username = fields.one("username").trim().to_string();
    let display = fields.one("display_name").trim().to_string();
    let password = fields.one("password").to_string();
    let mut draft = AddDraft {
        username: username.clone(),
        display_name: display.clone(),
        roles: fields.roles().unwrap_or_default(),
        sites: fields.sites().unwrap_or_default(),
    };
    let problem = if !db::valid_username(&username) {
        Some(tr(
            lang,
            "A username is 2 to 64 characters: Latin letters, digits, '.', '_' or '-'.",
        ))
    } else if !db::valid_display_name(&display) {
        Some(tr(
            lang,
            "Give the name shown in the console: 1 to 100 characters.",
        ))
    } else if password.chars().count() < db::MIN_PASSWORD_CHARS || password.len() > 256 {
        Some(tr(lang, "The password must be 10 to 256 characters."))
    } else if fields.roles().is_none() || fields.sites().is_none() {
        Some(tr(lang, "Choose roles and sites from the lists."))
    } else {
        None
    };
    if let Some(problem) = problem {
        let page = operators_page(&state, &operator, lang, Some((&draft, problem))).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let hash = state
        .passwords
        .hash(password)
        .await
        .ok_or(ConsoleError::Internal(db::DbError::Task))?;
    let (roles, sites, user) = (draft.roles, draft.sites.clone(), username.clone());
    let done = run_change(&state, &operator, lang, move |tx, by, now| {
        let add = Change::Add {
            display_name: &display,
            password_hash: &hash,
            roles,
            sites: &sites,
        };
        db::change_operator(tx, &user, &add, by, now)
    })
    .await?;
    match done {
        Ok(()) => {
            tracing::info!(admin = %operator.session.username, operator = %username, "operator added in the console");
            Ok(
                Redirect::to(&format!("/console/admin/operators/{username}?done=added"))
                    .into_response(),
            )
        }
        Err(message) => {
            draft.username = username;
            let page = operators_page(&state, &operator, lang, Some((&draft, &message))).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

fn notice(lang: Lang, done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => tr(
            lang,
            "The operator is added. Tell them their username and password.",
        ),
        "saved" => tr(lang, "Saved."),
        "password" => tr(
            lang,
            "The new password is set; the operator was signed out everywhere.",
        ),
        "disabled" => tr(
            lang,
            "The account is disabled; the operator was signed out.",
        ),
        "enabled" => tr(
            lang,
            "The account is enabled; the operator may sign in again.",
        ),
        _ => return None,
    })
}

/// One account's page.
pub(super) async fn operator_page(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Path(username): Path<String>,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Result<Html<String>, ConsoleError> {
    let lang = lang(&operator, &headers);
    show_operator(
        &state,
        &operator,
        lang,
        &username,
        notice(lang, done.done.as_deref()),
        None,
    )
    .await
}

async fn show_operator(
    state: &Arc<AppState>,
    operator: &Operator,
    lang: Lang,
    username: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Html<String>, ConsoleError> {
    let user = username.to_string();
    let (row, sites) = db::read(&state.db, move |c| {
        Ok((db::get_operator(c, &user)?, db::known_sites(c)?))
    })
    .await?;
    let row = row.ok_or(ConsoleError::NotFound("operator"))?;
    Ok(Html(
        pages::operator(state, &operator.session, lang, &row, &sites, notice, error).into_string(),
    ))
}

fn saved(username: &str, what: &str) -> Response {
    Redirect::to(&format!("/console/admin/operators/{username}?done={what}")).into_response()
}

async fn refused(
    state: &Arc<AppState>,
    operator: &Operator,
    lang: Lang,
    username: &str,
    message: &str,
) -> Result<Response, ConsoleError> {
    let page = show_operator(state, operator, lang, username, None, Some(message)).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

/// Saves an account's name, roles and sites (an audit row for each that changed).
pub(super) async fn save_access(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Path(username): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let fields = Fields(fields);
    operator.check_csrf(fields.one("csrf"))?;
    let lang = lang(&operator, &headers);
    let display = fields.one("display_name").trim().to_string();
    let (Some(roles), Some(sites)) = (fields.roles(), fields.sites()) else {
        return refused(
            &state,
            &operator,
            lang,
            &username,
            tr(lang, "Choose roles and sites from the lists."),
        )
        .await;
    };
    if !db::valid_display_name(&display) {
        return refused(
            &state,
            &operator,
            lang,
            &username,
            tr(
                lang,
                "Give the name shown in the console: 1 to 100 characters.",
            ),
        )
        .await;
    }
    let user = username.clone();
    let done = run_change(&state, &operator, lang, move |tx, by, now| {
        let current =
            db::get_operator(tx, &user)?.ok_or_else(|| OperatorError::Unknown(user.clone()))?;
        if current.display_name != display {
            db::change_operator(tx, &user, &Change::DisplayName(&display), by, now)?;
        }
        if current.roles != roles {
            db::change_operator(tx, &user, &Change::Roles(roles), by, now)?;
        }
        if current.sites != sites {
            db::change_operator(tx, &user, &Change::Sites(&sites), by, now)?;
        }
        Ok(())
    })
    .await?;
    match done {
        Ok(()) => Ok(saved(&username, "saved")),
        Err(message) => refused(&state, &operator, lang, &username, &message).await,
    }
}

/// Sets a new password; the operator's sessions end and their call sockets close.
pub(super) async fn reset_password(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Path(username): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let fields = Fields(fields);
    operator.check_csrf(fields.one("csrf"))?;
    let lang = lang(&operator, &headers);
    let password = fields.one("password").to_string();
    if password.chars().count() < db::MIN_PASSWORD_CHARS || password.len() > 256 {
        return refused(
            &state,
            &operator,
            lang,
            &username,
            tr(lang, "The password must be 10 to 256 characters."),
        )
        .await;
    }
    let hash = state
        .passwords
        .hash(password)
        .await
        .ok_or(ConsoleError::Internal(db::DbError::Task))?;
    let user = username.clone();
    let done = run_change(&state, &operator, lang, move |tx, by, now| {
        db::change_operator(tx, &user, &Change::Password(&hash), by, now)
    })
    .await?;
    match done {
        Ok(()) => {
            state.calls.signed_out(&username, state.open_now());
            Ok(saved(&username, "password"))
        }
        Err(message) => refused(&state, &operator, lang, &username, &message).await,
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

/// Disables an account: its sessions end and its call sockets close at once.
pub(super) async fn disable(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Path(username): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    set_enabled(state, operator, username, headers, form, false).await
}

/// Lets a disabled account sign in again.
pub(super) async fn enable(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Path(username): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    set_enabled(state, operator, username, headers, form, true).await
}

async fn set_enabled(
    state: Arc<AppState>,
    operator: Operator,
    username: String,
    headers: HeaderMap,
    form: CsrfOnly,
    enabled: bool,
) -> Result<Response, ConsoleError> {
    operator.check_csrf(&form.csrf)?;
    let lang = lang(&operator, &headers);
    let user = username.clone();
    let done = run_change(&state, &operator, lang, move |tx, by, now| {
        let change = if enabled {
            Change::Enable
        } else {
            Change::Disable
        };
        db::change_operator(tx, &user, &change, by, now)
    })
    .await?;
    match done {
        Ok(()) if enabled => Ok(saved(&username, "enabled")),
        Ok(()) => {
            state.calls.signed_out(&username, state.open_now());
            tracing::info!(admin = %operator.session.username, operator = %username, "operator disabled in the console");
            Ok(saved(&username, "disabled"))
        }
        Err(message) => refused(&state, &operator, lang, &username, &message).await,
    }
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<u32>,
}

/// The audit trail for a range of the call-centre's days, newest first, a page at a time.
pub(super) async fn audit(
    State(state): State<Arc<AppState>>,
    Admin(operator): Admin,
    Query(q): Query<AuditQuery>,
    headers: HeaderMap,
) -> Result<Html<String>, ConsoleError> {
    let lang = lang(&operator, &headers);
    let tz = state.schedule.tz();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let (range, error) = match crate::guides::Range::parse(q.from.as_deref(), q.to.as_deref(), today) {
        Ok(r) => (r, None),
        Err(_) => (
            crate::guides::Range::parse(None, None, today)
                .map_err(|e| ConsoleError::Invalid(e.to_string()))?,
            Some(trf(
                lang,
                "Give the dates as YYYY-MM-DD, the first not after the last, at most {0} days apart. Showing the last 30 days.",
                &[&crate::guides::MAX_DAYS],
            )),
        ),
    };
    let (start, end) = range.bounds(tz);
    let page = q.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(AUDIT_PAGE);
    let (rows, total) = db::read(&state.db, move |c| {
        Ok((
            db::list_audit(c, start, end, AUDIT_PAGE, offset)?,
            db::count_audit(c, start, end)?,
        ))
    })
    .await?;
    let (from, to) = (range.from.to_string(), range.to.to_string());
    let view = AuditView {
        from: &from,
        to: &to,
        page,
        pages: u32::try_from(total.div_ceil(u64::from(AUDIT_PAGE)))
            .unwrap_or(u32::MAX)
            .max(1),
        total,
        error: error.as_deref(),
    };
    Ok(Html(
        pages::audit(&state, &operator.session, lang, &view, &rows).into_string(),
    ))
}
