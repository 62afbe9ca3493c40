//! The administration pages: operator accounts (the list, adding one, one account's roles,
//! sites, password and status) and the audit trail; and the menu entries for them.

use maud::{html, Markup};

use super::{layout, local};
use crate::db::{AuditRow, OperatorRow, Roles, SessionRow};
use crate::i18n::{tr, trc, trf, Lang};
use crate::state::AppState;

/// The administration entries of the menu, for an administrator.
pub fn admin_nav(session: &SessionRow, lang: Lang, current: &str) -> Markup {
    html! {
        @if session.roles.admin {
            a href="/console/admin/operators" class=[(current == "operators").then_some("here")] { (trc(lang, "admin", "Operators")) }
            a href="/console/admin/audit" class=[(current == "audit").then_some("here")] { (trc(lang, "admin", "Audit")) }
        }
    }
}

/// "Revoke…" on a kiosk's row of the fleet page, for an administrator: the kiosk's token stops
/// working and it must be enrolled again.
pub fn revoke_kiosk_form(session: &SessionRow, lang: Lang, kiosk_id: &str) -> Markup {
    html! {
        @if session.roles.admin {
            details .revoke {
                summary { (tr(lang, "Revoke…")) }
                form method="post" action={ "/console/fleet/" (kiosk_id) "/revoke" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    p .muted { (tr(lang, "The kiosk can send nothing until it is enrolled again.")) }
                    button type="submit" .danger { (tr(lang, "Revoke the kiosk")) }
                }
            }
        }
    }
}

fn role_label(lang: Lang, role: &str) -> &'static str {
    match role {
        "admin" => trc(lang, "admin", "Administrator"),
        "operator" => trc(lang, "admin", "Operator"),
        "anticorruption" => trc(lang, "admin", "Anti-corruption"),
        _ => "",
    }
}

fn role_hint(lang: Lang, role: &str) -> &'static str {
    match role {
        "admin" => tr(lang, "operators, kiosks, enrolment codes, the audit"),
        "operator" => tr(lang, "the appeal queue and live calls"),
        "anticorruption" => tr(lang, "reports of bribes and improper demands"),
        _ => "",
    }
}

const ROLES: [&str; 3] = ["operator", "anticorruption", "admin"];

fn has(roles: Roles, role: &str) -> bool {
    roles.names().contains(&role)
}

fn roles_cell(lang: Lang, roles: Roles) -> Markup {
    html! {
        @for r in roles.names() { span .badge class=[(r == "admin").then_some("warn")] { (role_label(lang, r)) } " " }
        @if roles.names().is_empty() { span .badge.fail { (tr(lang, "No role")) } }
    }
}

fn sites_cell(lang: Lang, sites: &[String]) -> Markup {
    html! {
        @if sites.is_empty() { span .muted { (tr(lang, "Every site")) } }
        @else { @for (i, s) in sites.iter().enumerate() { @if i > 0 { br; } (s) } }
    }
}

/// Role checkboxes, `checked` ticked.
fn role_boxes(lang: Lang, checked: Roles) -> Markup {
    html! {
        fieldset .roles {
            legend { (trc(lang, "admin", "Roles")) }
            @for r in ROLES {
                label .check {
                    input type="checkbox" name="role" value=(r) checked[has(checked, r)];
                    " " strong { (role_label(lang, r)) } " " small .muted { "— " (role_hint(lang, r)) }
                }
            }
        }
    }
}

/// The sites multi-select: known sites plus any the operator already has.
fn site_select(lang: Lang, known: &[String], chosen: &[String]) -> Markup {
    let mut all: Vec<&String> = known.iter().chain(chosen).collect();
    all.sort();
    all.dedup();
    html! {
        label .sites {
            (trc(lang, "admin", "Sites"))
            select name="site" multiple size=(all.len().clamp(3, 8)) {
                @for s in all { option value=(s) selected[chosen.contains(s)] { (s) } }
            }
            small .muted { (tr(lang, "None chosen: every site. Hold Ctrl to choose several.")) }
        }
    }
}

/// What was typed into the add form, to show it again with the error.
#[derive(Debug, Clone, Default)]
pub struct AddDraft {
    pub username: String,
    pub display_name: String,
    pub roles: Roles,
    pub sites: Vec<String>,
}

/// The operators page: every account and the "Add an operator" form.
pub fn operators(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    list: &[OperatorRow],
    known_sites: &[String],
    add: Option<(&AddDraft, &str)>,
) -> Markup {
    let default_draft = AddDraft {
        roles: Roles {
            operator: true,
            ..Roles::default()
        },
        ..AddDraft::default()
    };
    let (draft, error) = match add {
        Some((d, e)) => (d, Some(e)),
        None => (&default_draft, None),
    };
    let body = html! {
        div .title-row {
            h1 { (trc(lang, "admin", "Operators")) }
            span .muted { (trf(lang, "Accounts: {0}", &[&list.len()])) }
        }
        details #add-operator .card open[error.is_some()] {
            summary { (tr(lang, "Add an operator")) }
            @if let Some(e) = error { p .error role="alert" { (e) } }
            form method="post" action="/console/admin/operators" .admin-form {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (trc(lang, "admin", "Username"))
                    input name="username" required minlength="2" maxlength="64" pattern="[A-Za-z0-9._-]+"
                        autocomplete="off" value=(draft.username);
                    small .muted { (tr(lang, "2 to 64 characters: Latin letters, digits, '.', '_' or '-'.")) }
                }
                label { (tr(lang, "Name shown in the console"))
                    input name="display_name" required maxlength="100" value=(draft.display_name);
                }
                label { (tr(lang, "Initial password"))
                    input name="password" type="password" required minlength="10" maxlength="256" autocomplete="new-password";
                    small .muted { (tr(lang, "At least 10 characters. Tell it to the operator in person.")) }
                }
                (role_boxes(lang, draft.roles))
                (site_select(lang, known_sites, &draft.sites))
                button type="submit" .primary { (tr(lang, "Add the operator")) }
            }
        }
        table .operators {
            thead { tr {
                th { (trc(lang, "admin", "Operator")) } th { (trc(lang, "admin", "Roles")) } th { (trc(lang, "admin", "Sites")) }
                th { (trc(lang, "admin", "Status")) } th {}
            } }
            tbody {
                @for o in list {
                    tr data-operator=(o.username) class=[o.disabled_at.is_some().then_some("disabled")] {
                        td { strong { (o.display_name) } br; small .muted { (o.username) } }
                        td { (roles_cell(lang, o.roles)) }
                        td { (sites_cell(lang, &o.sites)) }
                        td { (status_cell(state, lang, o)) }
                        td { a href={ "/console/admin/operators/" (o.username) } { (trc(lang, "admin", "Manage")) } }
                    }
                }
            }
        }
    };
    layout(
        state,
        session,
        lang,
        trc(lang, "admin", "Operators"),
        "operators",
        body,
    )
}

fn status_cell(state: &AppState, lang: Lang, o: &OperatorRow) -> Markup {
    html! {
        @if let Some(t) = o.disabled_at {
            span .badge.fail { (trc(lang, "admin", "Disabled")) } br;
            small .muted { (trf(lang, "since {0}", &[&local(state, lang, t)])) }
        } @else {
            span .badge.ok { (trc(lang, "admin", "Enabled")) }
        }
    }
}

/// One account's page: name, roles and sites; a new password; disable or enable.
pub fn operator(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    o: &OperatorRow,
    known_sites: &[String],
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let base = format!("/console/admin/operators/{}", o.username);
    let body = html! {
        p { a href="/console/admin/operators" { "← " (trc(lang, "admin", "Operators")) } }
        div .title-row {
            h1 { (o.display_name) " " small .muted { (o.username) } }
            (status_cell(state, lang, o))
        }
        @if let Some(n) = notice { p .saved role="status" { (n) } }
        @if let Some(e) = error { p .error role="alert" { (e) } }
        section .card {
            h2 { (trc(lang, "admin", "Access")) }
            form method="post" action={ (base) "/access" } .admin-form #access {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (tr(lang, "Name shown in the console"))
                    input name="display_name" required maxlength="100" value=(o.display_name);
                }
                (role_boxes(lang, o.roles))
                (site_select(lang, known_sites, &o.sites))
                button type="submit" .primary { (trc(lang, "admin", "Save")) }
            }
        }
        section .card {
            h2 { (trc(lang, "admin", "Password")) }
            p .muted { (tr(lang, "Sets a new password. The operator is signed out everywhere and signs in with the new one.")) }
            form method="post" action={ (base) "/password" } .admin-form #password {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (tr(lang, "New password"))
                    input name="password" type="password" required minlength="10" maxlength="256" autocomplete="new-password";
                }
                button type="submit" { (tr(lang, "Set the new password")) }
            }
        }
        section .card {
            h2 { (trc(lang, "admin", "Status")) }
            @if o.disabled_at.is_some() {
                p .muted { (tr(lang, "This account cannot sign in.")) }
                form method="post" action={ (base) "/enable" } #status {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button type="submit" .primary { (tr(lang, "Enable the account")) }
                }
            } @else {
                p .muted { (tr(lang, "Disabling signs the operator out at once, ends their calls and stops them signing in. Their appeals and history stay.")) }
                form method="post" action={ (base) "/disable" } #status {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button type="submit" .danger { (tr(lang, "Disable the account")) }
                }
            }
        }
    };
    layout(state, session, lang, &o.display_name, "operators", body)
}

fn action_label(lang: Lang, action: &str) -> &'static str {
    match action {
        "sign_in" => tr(lang, "Signed in"),
        "sign_in_failed" => tr(lang, "Sign-in refused"),
        "sign_in_locked" => tr(lang, "Sign-in locked after failures"),
        "sign_out" => tr(lang, "Signed out"),
        "forbidden" => tr(lang, "Refused: outside role or sites"),
        "enrol_code" => tr(lang, "Enrolment code made"),
        "kiosk_revoke" => tr(lang, "Kiosk revoked"),
        "operator_add" => tr(lang, "Operator added"),
        "operator_disable" => tr(lang, "Operator disabled"),
        "operator_enable" => tr(lang, "Operator enabled"),
        "password_reset" => tr(lang, "Password reset"),
        "operator_roles" => tr(lang, "Roles changed"),
        "operator_sites" => tr(lang, "Sites changed"),
        "operator_name" => tr(lang, "Name changed"),
        "appeal_view" => tr(lang, "Appeal opened"),
        "video_play" => tr(lang, "Video played"),
        "iin_reveal" => tr(lang, "IIN revealed"),
        "assign" => tr(lang, "Appeal assigned"),
        "answer" => tr(lang, "Appeal answered"),
        "close" => tr(lang, "Appeal closed"),
        "status" => tr(lang, "Status changed"),
        "extend" => tr(lang, "Deadline extended"),
        "purge" => tr(lang, "Personal data erased"),
        _ => "",
    }
}

/// The audit page's query, as typed.
#[derive(Debug, Clone, Default)]
pub struct AuditView<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// 1-based.
    pub page: u32,
    pub pages: u32,
    pub total: u64,
    pub error: Option<&'a str>,
}

/// The audit trail for a range of days, newest first, a page at a time.
pub fn audit(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    view: &AuditView<'_>,
    rows: &[AuditRow],
) -> Markup {
    let link = |page: u32| {
        format!(
            "/console/admin/audit?from={}&to={}&page={page}",
            view.from, view.to
        )
    };
    let body = html! {
        div .title-row {
            h1 { (trc(lang, "admin", "Audit")) }
            span .muted { (trf(lang, "Entries: {0}", &[&view.total])) }
        }
        form method="get" action="/console/admin/audit" .filters #audit-range {
            label { (trc(lang, "admin", "From")) input type="date" name="from" value=(view.from); }
            label { (trc(lang, "admin", "To")) input type="date" name="to" value=(view.to); }
            button type="submit" { (trc(lang, "admin", "Show")) }
        }
        @if let Some(e) = view.error { p .error role="alert" { (e) } }
        @if rows.is_empty() {
            p .empty { (tr(lang, "Nothing was recorded on these days.")) }
        } @else {
            table .audit {
                thead { tr {
                    th { (trc(lang, "admin", "When")) } th { (trc(lang, "admin", "Who")) } th { (trc(lang, "admin", "What")) }
                    th { (trc(lang, "admin", "Appeal")) } th { (tr(lang, "Concerning")) } th { (trc(lang, "admin", "Address")) }
                    th { (trc(lang, "admin", "Detail")) }
                } }
                tbody {
                    @for r in rows {
                        tr data-action=(r.action) {
                            td .when { (state.schedule.local(r.at).format("%Y-%m-%d %H:%M:%S")) }
                            td { (r.actor.as_deref().unwrap_or("—")) }
                            td {
                                @let label = action_label(lang, &r.action);
                                @if label.is_empty() { (r.action) } @else { (label) br; small .muted { code { (r.action) } } }
                            }
                            td { @if let Some(a) = &r.appeal_id { a .num href={ "/console/appeals/" (a) } { (a) } } }
                            td { (r.target.as_deref().unwrap_or("")) }
                            td { code { (r.address.as_deref().unwrap_or("")) } }
                            td { (r.detail.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
            @if view.pages > 1 {
                nav .pager {
                    @if view.page > 1 { a href=(link(view.page - 1)) rel="prev" { "← " (trc(lang, "admin", "Newer")) } }
                    span .muted { (trf(lang, "Page {0} of {1}", &[&view.page, &view.pages])) }
                    @if view.page < view.pages { a href=(link(view.page + 1)) rel="next" { (trc(lang, "admin", "Older")) " →" } }
                }
            }
        }
    };
    layout(
        state,
        session,
        lang,
        trc(lang, "admin", "Audit"),
        "audit",
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::trc;

    #[test]
    fn the_admin_texts_are_in_kazakh_and_russian() {
        assert_eq!(trc(Lang::Ru, "admin", "Operators"), "Операторы");
        assert_eq!(tr(Lang::Kk, "Enable the account"), "Есептік жазбаны қосу");
        assert_eq!(action_label(Lang::Ru, "sign_in_failed"), "Вход отклонён");
        assert_eq!(role_label(Lang::Kk, "admin"), "Әкімші");
    }
}
