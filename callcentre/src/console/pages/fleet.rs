//! The fleet page (kiosks, their state, versions and updates, catalogue and faults, "Enrol a
//! kiosk") and the page
//! that shows a fresh enrolment code with its QR code.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped};

use super::{layout, local};
use crate::db::{FaultRow, KioskRow, SessionRow};
use crate::i18n::{tr, trf, Lang};
use crate::state::AppState;

fn mode_label(lang: Lang, mode: senim_protocol::SiteMode) -> &'static str {
    match mode {
        senim_protocol::SiteMode::Hospital => tr(lang, "Hospital (appeals first)"),
        senim_protocol::SiteMode::FrontOffice => tr(lang, "Front office (service guides first)"),
    }
}

/// The "Enrol a kiosk" form; `error` is what was typed and why it was refused (in `lang`).
fn enrol_form(
    session: &SessionRow,
    lang: Lang,
    kiosks: &[KioskRow],
    error: Option<(&str, &str)>,
) -> Markup {
    let mut sites: Vec<&str> = kiosks.iter().map(|k| k.site.as_str()).collect();
    sites.dedup();
    html! {
        details #enrol .card open[error.is_some() || kiosks.is_empty()] {
            summary { (tr(lang, "Enrol a kiosk")) }
            p .muted { (tr(lang, "Makes a one-time code and shows it as a QR code. On a new kiosk's first screen, hold the QR code to its scanner or camera.")) }
            @if let Some((_, message)) = error {
                p .error role="alert" { (message) }
            }
            form method="post" action="/console/fleet/enrol" .enrol-form {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (tr(lang, "Site"))
                    input name="site" required maxlength="200" list="sites"
                        placeholder=(tr(lang, "City Hospital No. 4, Almaty")) value=[error.map(|e| e.0)];
                }
                datalist #sites { @for site in &sites { option value=(site) {} } }
                label { (tr(lang, "Mode"))
                    select name="mode" {
                        @for mode in senim_protocol::SiteMode::ALL {
                            option value=(mode.as_str()) { (mode_label(lang, mode)) }
                        }
                    }
                }
                button type="submit" .primary { (tr(lang, "Make a code")) }
            }
        }
    }
}

/// The catalogue cell of a kiosk: the version it runs against the newest, or what it refused.
fn catalog_cell(
    lang: Lang,
    latest: Option<&str>,
    running: Option<&str>,
    problem: Option<&senim_protocol::CatalogProblem>,
) -> Markup {
    html! {
        @if let Some(p) = problem {
            span .badge.fail title=(p.message) { (trf(lang, "Refused {0}", &[&p.version])) }
            br; small .muted .problem { (p.message.chars().take(160).collect::<String>())
                @if p.message.chars().count() > 160 { "…" } }
            @if let Some(v) = running { br; small { (trf(lang, "Still runs {0}", &[&v])) } }
        } @else if let Some(v) = running {
            @if Some(v) == latest { span .badge.ok title=(v) { (tr(lang, "Newest")) } }
            @else { span .badge.warn { (tr(lang, "Behind")) } }
            br; small .muted { (v) }
        } @else {
            span .muted { (tr(lang, "Built-in")) }
        }
    }
}

fn update_state_label(lang: Lang, state: senim_protocol::UpdateState) -> &'static str {
    use senim_protocol::UpdateState as S;
    match state {
        S::Downloading => tr(lang, "Downloading"),
        S::Downloaded => tr(lang, "Downloaded"),
        S::Installing => tr(lang, "Installing"),
        S::Installed => tr(lang, "Installed"),
        S::Switching => tr(lang, "Restarting into it"),
        S::Failed => tr(lang, "Failed"),
        S::Refused => tr(lang, "Refused"),
    }
}

/// The version cell of a kiosk: its application and system image versions, the update in
/// progress (with how far the download is) and the last failed update with why.
fn version_cell(
    lang: Lang,
    app: Option<&str>,
    image: Option<&str>,
    update: Option<&senim_protocol::UpdateReport>,
    failure: Option<&senim_protocol::UpdateReport>,
) -> Markup {
    html! {
        @if let Some(v) = app { (v) }
        @if let Some(v) = image { br; small .image { (trf(lang, "Image {0}", &[&v])) } }
        @if let Some(u) = update.filter(|u| !u.state.is_failure() && Some(u.version.as_str()) != image) {
            br; span .badge.warn .update {
                (trf(lang, "Update {0}", &[&u.version])) ": " (update_state_label(lang, u.state))
                @if let (senim_protocol::UpdateState::Downloading, Some(p)) = (u.state, u.progress_percent) { " " (p) "%" }
            }
        }
        @if let Some(f) = failure {
            br; span .badge.fail .update-failed title=[f.message.as_deref()] {
                (trf(lang, "Update {0}", &[&f.version])) ": " (update_state_label(lang, f.state))
            }
            @if let Some(m) = &f.message { br; small .muted .problem { (m.chars().take(160).collect::<String>()) } }
        }
    }
}

pub fn fleet(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    kiosks: &[KioskRow],
    faults: &HashMap<String, Vec<FaultRow>>,
    enrol_error: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Markup {
    let live = state.heartbeats();
    let latest = state.catalog_version();
    let offline_after = state.config.fleet.offline_after_secs as i64;
    let body = html! {
        div .title-row {
            h1 { (tr(lang, "Kiosks")) }
            span .muted { (tr(lang, "Newest catalogue:")) " " @if let Some(v) = &latest { code { (v) } } @else { (tr(lang, "none published")) } }
        }
        (enrol_form(session, lang, kiosks, enrol_error))
        @if kiosks.is_empty() {
            p .empty { (tr(lang, "No kiosk is enrolled yet. Make a code above, or in a terminal on the server, and scan it on the kiosk:")) " "
                code { "senim-callcentre enrol-code --site NAME --qr" } }
        } @else {
            table .fleet {
                thead { tr {
                    th { (tr(lang, "Kiosk")) } th { (tr(lang, "Link")) } th { (tr(lang, "Last heartbeat")) } th { (tr(lang, "State")) }
                    th { (tr(lang, "Queue")) } th { (tr(lang, "Devices")) } th { (tr(lang, "Version")) } th { (tr(lang, "Catalogue")) } th { (tr(lang, "Recent faults")) }
                } }
                tbody {
                    @for k in kiosks {
                        @let seen = live.get(&k.id);
                        @let last = seen.map(|s| s.received).or(k.last_heartbeat);
                        @let online = !k.revoked && last.is_some_and(|t| (now - t).num_seconds() <= offline_after);
                        tr data-kiosk=(k.id) {
                            td { strong { (k.site) } br; small .muted { (k.id) " · " (mode_label(lang, k.mode)) } }
                            td {
                                @if k.revoked { span .badge.fail { (tr(lang, "Revoked")) } }
                                @else if online { span .dot.on {} (tr(lang, "Online")) }
                                @else { span .dot.off {} (tr(lang, "Offline")) }
                                @if !k.revoked { (super::revoke_kiosk_form(session, lang, &k.id)) }
                            }
                            td { @if let Some(t) = last { (ago(lang, now, t)) } @else { span .muted { (tr(lang, "never")) } } }
                            td {
                                @if let Some(s) = seen { (state_label(lang, &serde_json::to_value(s.beat.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())) }
                                @else if let Some(s) = &k.state { (state_label(lang, s)) }
                            }
                            td {
                                @if let Some(s) = seen { (s.beat.queue_depth) } @else if let Some(q) = k.queue_depth { (q) }
                                @if let Some(s) = seen.filter(|s| s.beat.parked > 0) {
                                    br; span .badge.warn title=(tr(lang, "Records or videos this call-centre refused for good (or whose checksum kept failing): the kiosk keeps them and delivers the rest. Its technician screen says why.")) {
                                        (trf(lang, "{0} parked", &[&s.beat.parked]))
                                    }
                                }
                            }
                            td .devices {
                                @if let Some(s) = seen {
                                    @for d in &s.beat.devices {
                                        @let status = serde_json::to_value(d.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                                        span class={ "badge " (status) } title=[d.detail.as_deref()] { (d.device) }
                                        @if status == "warn" || status == "fail" {
                                            @if let Some(detail) = &d.detail { small .muted { (detail) " " } }
                                        }
                                    }
                                }
                            }
                            td .versions {
                                @if let Some(s) = seen {
                                    (version_cell(lang, Some(&s.beat.versions.app), s.beat.versions.image.as_deref(), s.beat.update.as_ref().or(k.update.as_ref()), k.update_failure.as_ref()))
                                } @else {
                                    (version_cell(lang, k.app_version.as_deref(), k.image_version.as_deref(), k.update.as_ref(), k.update_failure.as_ref()))
                                }
                            }
                            td .catalog {
                                @if let Some(s) = seen {
                                    (catalog_cell(lang, latest.as_deref(), s.beat.versions.catalog.as_deref(), s.beat.catalog_problem.as_ref()))
                                } @else {
                                    (catalog_cell(lang, latest.as_deref(), k.catalog_version.as_deref(), k.catalog_problem.as_ref()))
                                }
                            }
                            td {
                                @for f in faults.get(&k.id).map(Vec::as_slice).unwrap_or(&[]) {
                                    div .fault { span class={ "badge " (f.status) } { (f.device) } " " (f.detail) " "
                                        small .muted { (crate::db::parse_ts(&f.at).map(|t| local(state, lang, t)).unwrap_or_default()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        (PreEscaped(""))
    };
    layout(state, session, lang, tr(lang, "Kiosks"), "fleet", body)
}

/// The page that shows a fresh enrolment code and its QR code.
/// A fresh enrolment code as its page shows it.
pub struct EnrolCode<'a> {
    pub site: &'a str,
    pub mode: senim_protocol::SiteMode,
    pub code: &'a str,
    /// The whole enrolment text the QR code carries (`SENIM-ENROL:…`).
    pub text: &'a str,
    /// Whether the text carries the call-centre's address (`[server] public_url`).
    pub has_url: bool,
    /// The code's QR code.
    pub png: &'a [u8],
    pub expires: DateTime<Utc>,
}

pub fn enrol_code(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    fresh: &EnrolCode<'_>,
) -> Markup {
    use base64::Engine;
    let EnrolCode {
        site,
        mode,
        code,
        text,
        has_url,
        png,
        expires,
    } = *fresh;
    // Over SSH the kiosk takes the whole text when it carries the address.
    let ssh = if has_url {
        format!("'{text}'")
    } else {
        code.to_string()
    };
    let image = base64::engine::general_purpose::STANDARD.encode(png);
    let body = html! {
        p { a href="/console/fleet" { "← " (tr(lang, "Kiosks")) } }
        h1 { (tr(lang, "Enrolment code")) }
        div .enrol-code.card {
            img #enrol-qr src={ "data:image/png;base64," (image) }
                alt=(trf(lang, "QR code of the enrolment code {0}", &[&code]));
            div {
                p #code .code { (code) }
                dl {
                    dt { (tr(lang, "Site")) } dd #enrol-site { (site) }
                    dt { (tr(lang, "Mode")) } dd { (mode_label(lang, mode)) }
                    dt { (tr(lang, "Valid until")) } dd { (local(state, lang, expires)) }
                }
                p { (tr(lang, "On the new kiosk's first screen (“scan the enrolment code”), hold this QR code to the scanner or the camera: the kiosk enrols itself and takes the site and the mode from here. Over SSH:"))
                    " " code #enrol-ssh { "senim-kiosk enrol " (ssh) } }
                p { code #enrol-text { (text) } }
                @if !has_url {
                    p .warn #enrol-no-url { (tr(lang, "This call-centre has no public address, so this QR code does not tell a blank kiosk where to connect: only a kiosk configured with the address can take it. Set the address in the configuration and make a new code:")) " " code { "[server] public_url" } }
                }
                p .muted { (tr(lang, "The code works once, for one kiosk. It is not shown again once you leave this page; make another for the next kiosk.")) }
            }
        }
    };
    layout(
        state,
        session,
        lang,
        tr(lang, "Enrolment code"),
        "fleet",
        body,
    )
}

fn state_label(lang: Lang, state: &str) -> &'static str {
    match state {
        "starting" => tr(lang, "Starting"),
        "idle" => tr(lang, "Waiting"),
        "in_use" => tr(lang, "In use"),
        "technician" => tr(lang, "Technician"),
        _ => "",
    }
}

/// "5 min ago" (written so that no plural forms are needed).
fn ago(lang: Lang, now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..=59 => trf(lang, "{0} s ago", &[&s]),
        60..=3599 => trf(lang, "{0} min ago", &[&(s / 60)]),
        3600..=86399 => trf(lang, "{0} h ago", &[&(s / 3600)]),
        _ => trf(lang, "{0} d ago", &[&(s / 86400)]),
    }
}
