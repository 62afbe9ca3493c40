//! HTML of the console pages (maud templates: escaped by construction).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use senim_protocol::hours::CallCentreStatus;

use super::Operator;
use crate::db::{AppealEvent, AppealRow, FaultRow, KioskRow};
use crate::guides::{Figures, Report};
use crate::state::AppState;

fn local(state: &AppState, t: DateTime<Utc>) -> String {
    state
        .schedule
        .local(t)
        .format("%-d %b %Y, %H:%M")
        .to_string()
}

fn topic_label(topic: &str) -> &'static str {
    match topic {
        "complaint" => "Complaint",
        "request" => "Request",
        "gratitude" => "Gratitude",
        "bribe_report" => "Report of a bribe demand",
        _ => "Other",
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "new" => "New",
        "in_progress" => "In progress",
        "answered" => "Answered",
        "closed" => "Closed",
        _ => "Unknown",
    }
}

fn language_label(lang: &str) -> &'static str {
    match lang {
        "kk" => "Kazakh",
        "ru" => "Russian",
        "en" => "English",
        _ => "unknown",
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// `••••••••0010`: enough to match a caller, not enough to be the IIN.
pub fn masked_iin(iin: &str) -> String {
    let tail: String = iin
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!(
        "{}{tail}",
        "•".repeat(iin.chars().count().saturating_sub(4))
    )
}

fn open_status(state: &AppState, now: DateTime<Utc>) -> String {
    match state.schedule.status(now) {
        CallCentreStatus::Open => "Working hours: open now".into(),
        CallCentreStatus::Closed { next_open } => {
            format!("Closed — opens {}", next_open.format("%a %-d %b, %H:%M"))
        }
    }
}

fn head(title: &str, live: bool) -> Markup {
    html! {
        (DOCTYPE)
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Senim call-centre" }
            link rel="stylesheet" href="/console/static/console.css";
            @if live {
                script src="/console/static/console.js" defer {}
            }
        }
    }
}

fn layout(
    state: &AppState,
    operator: &Operator,
    title: &str,
    current: &str,
    body: Markup,
) -> Markup {
    let now = Utc::now();
    html! {
        html lang="en" {
            (head(title, true))
            body data-page=(current) data-csrf=(operator.session.csrf) {
                div .alerts {
                    div #lamp .lamp hidden role="alert" aria-live="assertive" {}
                    div #consultants .consultants hidden role="alert" aria-live="assertive" {}
                }
                div #away .away hidden {}
                header .top {
                    span .brand { "Senim" span .sub { " call-centre" } }
                    nav {
                        a href="/console" class=[(current == "queue").then_some("here")] { "Appeals" }
                        a href="/console/guides" class=[(current == "guides").then_some("here")] { "Service guides" }
                        a href="/console/fleet" class=[(current == "fleet").then_some("here")] { "Kiosks" }
                    }
                    span .hours { (open_status(state, now)) }
                    span .spacer {}
                    button #sound type="button" .quiet aria-pressed="true" { "Sound: on" }
                    span .who { (operator.session.display_name) }
                    form method="post" action="/console/logout" .inline {
                        input type="hidden" name="csrf" value=(operator.session.csrf);
                        button .quiet type="submit" { "Sign out" }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn login(csrf: &str, error: Option<&str>) -> Markup {
    html! {
        html lang="en" {
            (head("Sign in", false))
            body .login-page {
                main .login {
                    h1 { "Senim" span .sub { " call-centre" } }
                    p .lead { "Sign in to take appeals from the trust kiosks." }
                    @if let Some(error) = error {
                        p .error role="alert" { (error) }
                    }
                    form method="post" action="/console/login" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Username" input name="username" autocomplete="username" required autofocus; }
                        label { "Password" input name="password" type="password" autocomplete="current-password" required; }
                        button type="submit" .primary { "Sign in" }
                    }
                }
            }
        }
    }
}

pub fn error_page(message: &str) -> Markup {
    html! {
        html lang="en" {
            (head("Problem", false))
            body .login-page {
                main .login {
                    h1 { "Something is not right" }
                    p .error role="alert" { (message) }
                    p { a href="/console" { "Back to the appeals" } }
                }
            }
        }
    }
}

fn due_cell(appeal: &AppealRow, now: DateTime<Utc>, state: &AppState) -> Markup {
    let open = appeal.status == "new" || appeal.status == "in_progress";
    let days = (appeal.due_at - now).num_hours().div_euclid(24);
    html! {
        @if open && now > appeal.due_at {
            span .overdue { "Overdue by " ((-days).max(1)) " day" @if (-days).max(1) != 1 { "s" } }
            br; small { "was due " (local(state, appeal.due_at)) }
        } @else if open {
            span { (local(state, appeal.due_at)) }
            br; small { (days) " day" @if days != 1 { "s" } " left" }
        } @else {
            span .muted { (local(state, appeal.due_at)) }
        }
    }
}

fn video_cell(appeal: &AppealRow) -> Markup {
    html! {
        @if let Some(bytes) = appeal.video_bytes {
            span .ok { "Video " (megabytes(bytes)) }
        } @else if appeal.expected_video_bytes.is_some() {
            span .pending { "Video uploading…" }
        } @else if appeal.text.is_some() {
            span { "Typed" }
        } @else {
            span .muted { "No video" }
        }
    }
}

pub fn queue(
    state: &AppState,
    operator: &Operator,
    show: &str,
    appeals: &[AppealRow],
    now: DateTime<Utc>,
) -> Markup {
    let tabs = [
        ("open", "Open"),
        ("answered", "Answered"),
        ("closed", "Closed"),
        ("all", "All"),
    ];
    let body = html! {
        div .title-row {
            h1 { "Appeals" }
            nav .tabs {
                @for (key, label) in tabs {
                    a href={ "/console?show=" (key) } class=[(key == show).then_some("here")] { (label) }
                }
            }
        }
        p #fresh .fresh hidden { "New appeals arrived — the list below is up to date." }
        div #queue {
            @if appeals.is_empty() {
                p .empty { "No appeals here." }
            } @else {
                table .queue {
                    thead { tr {
                        th { "Number" } th { "Left at" } th { "Topic" } th { "Kiosk" }
                        th { "Status" } th { "Due" } th { "Video" }
                    } }
                    tbody {
                        @for a in appeals {
                            tr class=[(a.status == "new").then_some("new")] {
                                td { a href={ "/console/appeals/" (a.id) } .num { (a.id) }
                                    @if a.test { " " span .badge.test { "TEST" } } }
                                td { (local(state, a.created_at)) }
                                td { (topic_label(&a.topic)) }
                                td { (a.site) br; small .muted { (a.kiosk_id) } }
                                td { span class={ "status " (a.status) } { (status_label(&a.status)) } }
                                td { (due_cell(a, now, state)) }
                                td { (video_cell(a)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(state, operator, "Appeals", "queue", body)
}

pub fn appeal(
    state: &AppState,
    operator: &Operator,
    a: &AppealRow,
    events: &[AppealEvent],
    revealed_iin: Option<&str>,
    now: DateTime<Utc>,
) -> Markup {
    let body = html! {
        p { a href="/console" { "← All appeals" } }
        div .title-row {
            h1 { "Appeal " span .num { (a.id) } }
            span class={ "status big " (a.status) } { (status_label(&a.status)) }
            @if a.test { span .badge.test { "TEST — left by a technician" } }
        }
        div .appeal {
            section .media {
                @if a.video_upload_id.is_some() {
                    video #video controls preload="metadata" src={ "/console/appeals/" (a.id) "/video" } {}
                } @else if let Some(bytes) = a.expected_video_bytes {
                    div .placeholder { "The video (" (megabytes(bytes)) ") is still on its way from the kiosk. "
                        "This page shows it once it has arrived." }
                } @else {
                    div .placeholder { "This appeal has no video." }
                }
                @if let Some(text) = &a.text {
                    blockquote .typed { (text) }
                }
                @if a.interrupted {
                    p .warn { "The recording was cut short at the kiosk (power or software failure); "
                        "what was recorded up to then is here." }
                }
            }
            section .facts {
                dl {
                    dt { "Topic" } dd { (topic_label(&a.topic)) }
                    dt { "Left at" } dd { (local(state, a.created_at)) }
                    dt { "Due" } dd { (due_cell(a, now, state)) }
                    dt { "Kiosk" } dd { (a.site) " · " (a.kiosk_id) }
                    dt { "Language" } dd { (language_label(&a.language)) }
                    @if let Some(d) = a.duration_seconds {
                        dt { "Length" } dd { (d / 60) ":" (format!("{:02}", d % 60)) }
                    }
                    dt { "IIN" }
                    dd {
                        @match (&a.iin, revealed_iin) {
                            (None, _) => span .muted { "not given" },
                            (Some(_), Some(iin)) => span #iin .revealed { (iin) },
                            (Some(iin), None) => {
                                span #iin { (masked_iin(iin)) }
                                form method="post" action={ "/console/appeals/" (a.id) "/reveal" } .inline {
                                    input type="hidden" name="csrf" value=(operator.session.csrf);
                                    button type="submit" .quiet title="Your name and the time are logged" { "Reveal (logged)" }
                                }
                            }
                        }
                    }
                    dt { "Callback phone" }
                    dd { @if let Some(p) = &a.callback_phone { a href={ "tel:" (p) } { (p) } } @else { span .muted { "not given" } } }
                }
                form method="post" action={ "/console/appeals/" (a.id) "/status" } .status-form {
                    input type="hidden" name="csrf" value=(operator.session.csrf);
                    label { "Status "
                        select name="status" #status {
                            @for s in crate::db::STATUSES {
                                option value=(s) selected[s == a.status] { (status_label(s)) }
                            }
                        }
                    }
                    button type="submit" .primary { "Save status" }
                }
                form method="post" action={ "/console/appeals/" (a.id) "/note" } .note-form {
                    input type="hidden" name="csrf" value=(operator.session.csrf);
                    label { "Add a note" textarea name="note" rows="3" maxlength="4000" required {} }
                    button type="submit" { "Add note" }
                }
            }
        }
        section .history {
            h2 { "History" }
            ol #history {
                li { span .when { (local(state, a.created_at)) } " Left at " (a.site) }
                @for e in events {
                    li {
                        span .when { (crate::db::parse_ts(&e.at).map(|t| local(state, t)).unwrap_or_default()) }
                        " " strong { (e.operator) } " "
                        @match e.action.as_str() {
                            "status" => {
                                "changed the status from " (status_label(e.from_status.as_deref().unwrap_or("")))
                                " to " (status_label(e.to_status.as_deref().unwrap_or("")))
                            },
                            "reveal_iin" => "revealed the IIN",
                            _ => { "noted: " span .note { (e.note.as_deref().unwrap_or("")) } },
                        }
                    }
                }
            }
        }
    };
    layout(state, operator, &format!("Appeal {}", a.id), "appeal", body)
}

fn mode_label(mode: senim_protocol::SiteMode) -> &'static str {
    match mode {
        senim_protocol::SiteMode::Hospital => "Hospital (appeals first)",
        senim_protocol::SiteMode::FrontOffice => "Front office (service guides first)",
    }
}

/// The "Enrol a kiosk" form; `error` is what was typed and why it was refused.
fn enrol_form(operator: &Operator, kiosks: &[KioskRow], error: Option<(&str, &str)>) -> Markup {
    let mut sites: Vec<&str> = kiosks.iter().map(|k| k.site.as_str()).collect();
    sites.dedup();
    html! {
        details #enrol .card open[error.is_some() || kiosks.is_empty()] {
            summary { "Enrol a kiosk" }
            p .muted { "Makes a one-time code and shows it as a QR code. On a new kiosk's first "
                "screen, hold the QR code to its scanner or camera." }
            @if let Some((_, message)) = error {
                p .error role="alert" { (message) }
            }
            form method="post" action="/console/fleet/enrol" .enrol-form {
                input type="hidden" name="csrf" value=(operator.session.csrf);
                label { "Site"
                    input name="site" required maxlength="200" list="sites"
                        placeholder="City Hospital No. 4, Almaty" value=[error.map(|e| e.0)];
                }
                datalist #sites { @for site in &sites { option value=(site) {} } }
                label { "Mode"
                    select name="mode" {
                        @for mode in senim_protocol::SiteMode::ALL {
                            option value=(mode.as_str()) { (mode_label(mode)) }
                        }
                    }
                }
                button type="submit" .primary { "Make a code" }
            }
        }
    }
}

/// The catalogue cell of a kiosk: the version it runs against the newest, or what it refused.
fn catalog_cell(
    latest: Option<&str>,
    running: Option<&str>,
    problem: Option<&senim_protocol::CatalogProblem>,
) -> Markup {
    html! {
        @if let Some(p) = problem {
            span .badge.fail title=(p.message) { "Refused " (p.version) }
            br; small .muted .problem { (p.message.chars().take(160).collect::<String>())
                @if p.message.chars().count() > 160 { "…" } }
            @if let Some(v) = running { br; small { "Still runs " (v) } }
        } @else if let Some(v) = running {
            @if Some(v) == latest { span .badge.ok title=(v) { "Newest" } }
            @else { span .badge.warn { "Behind" } }
            br; small .muted { (v) }
        } @else {
            span .muted { "Built-in" }
        }
    }
}

pub fn fleet(
    state: &AppState,
    operator: &Operator,
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
            h1 { "Kiosks" }
            span .muted { "Newest catalogue: " @if let Some(v) = &latest { code { (v) } } @else { "none published" } }
        }
        (enrol_form(operator, kiosks, enrol_error))
        @if kiosks.is_empty() {
            p .empty { "No kiosk is enrolled yet. Make a code above, or with "
                code { "senim-callcentre enrol-code --site NAME --qr" } ", and scan it on the kiosk." }
        } @else {
            table .fleet {
                thead { tr {
                    th { "Kiosk" } th { "Link" } th { "Last heartbeat" } th { "State" }
                    th { "Queue" } th { "Devices" } th { "Version" } th { "Catalogue" } th { "Recent faults" }
                } }
                tbody {
                    @for k in kiosks {
                        @let seen = live.get(&k.id);
                        @let last = seen.map(|s| s.received).or(k.last_heartbeat);
                        @let online = !k.revoked && last.is_some_and(|t| (now - t).num_seconds() <= offline_after);
                        tr data-kiosk=(k.id) {
                            td { strong { (k.site) } br; small .muted { (k.id) " · " (mode_label(k.mode)) } }
                            td {
                                @if k.revoked { span .badge.fail { "Revoked" } }
                                @else if online { span .dot.on {} "Online" }
                                @else { span .dot.off {} "Offline" }
                            }
                            td { @if let Some(t) = last { (ago(now, t)) } @else { span .muted { "never" } } }
                            td {
                                @if let Some(s) = seen { (state_label(&serde_json::to_value(s.beat.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())) }
                                @else if let Some(s) = &k.state { (state_label(s)) }
                            }
                            td { @if let Some(s) = seen { (s.beat.queue_depth) } @else if let Some(q) = k.queue_depth { (q) } }
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
                            td { @if let Some(s) = seen { (s.beat.versions.app) } @else if let Some(v) = &k.app_version { (v) } }
                            td .catalog {
                                @if let Some(s) = seen {
                                    (catalog_cell(latest.as_deref(), s.beat.versions.catalog.as_deref(), s.beat.catalog_problem.as_ref()))
                                } @else {
                                    (catalog_cell(latest.as_deref(), k.catalog_version.as_deref(), k.catalog_problem.as_ref()))
                                }
                            }
                            td {
                                @for f in faults.get(&k.id).map(Vec::as_slice).unwrap_or(&[]) {
                                    div .fault { span class={ "badge " (f.status) } { (f.device) } " " (f.detail) " "
                                        small .muted { (crate::db::parse_ts(&f.at).map(|t| local(state, t)).unwrap_or_default()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        (PreEscaped(""))
    };
    layout(state, operator, "Kiosks", "fleet", body)
}

/// The page that shows a fresh enrolment code and its QR code.
pub fn enrol_code(
    state: &AppState,
    operator: &Operator,
    site: &str,
    mode: senim_protocol::SiteMode,
    code: &str,
    png: &[u8],
    expires: DateTime<Utc>,
) -> Markup {
    use base64::Engine;
    let image = base64::engine::general_purpose::STANDARD.encode(png);
    let body = html! {
        p { a href="/console/fleet" { "← Kiosks" } }
        h1 { "Enrolment code" }
        div .enrol-code.card {
            img #enrol-qr src={ "data:image/png;base64," (image) }
                alt={ "QR code of the enrolment code " (code) };
            div {
                p #code .code { (code) }
                dl {
                    dt { "Site" } dd #enrol-site { (site) }
                    dt { "Mode" } dd { (mode_label(mode)) }
                    dt { "Valid until" } dd { (local(state, expires)) }
                }
                p { "On the new kiosk's first screen (\"scan the enrolment code\"), hold this QR "
                    "code to the scanner or the camera: the kiosk enrols itself and takes the site "
                    "and the mode from here. Over SSH: " code { "senim-kiosk enrol " (code) } }
                p .muted { "The code works once, for one kiosk. It is not shown again once you "
                    "leave this page; make another for the next kiosk." }
            }
        }
    };
    layout(state, operator, "Enrolment code", "fleet", body)
}

fn count_cells(f: &Figures) -> Markup {
    html! {
        td .n { (f.started) }
        td .n.completed { strong { (f.completed) } }
        td .n { (f.abandoned) }
        td { @match f.most_abandoned_step {
            Some(0) => "overview page",
            Some(step) => { "step " (step) },
            None => span .muted { "—" },
        } }
        td .n { (f.consultant_calls) }
        td .ratings {
            span .good title="Good" { (f.ratings.good) } " / "
            span .neutral title="Neutral" { (f.ratings.neutral) } " / "
            span .bad title="Bad" { (f.ratings.bad) }
        }
    }
}

fn figures_head(first: &str) -> Markup {
    html! {
        thead { tr {
            th { (first) } th .n { "Started" } th .n { "Completed" } th .n { "Abandoned" }
            th { "Given up most at" } th .n { "Consultant calls" } th { "Rated good / neutral / bad" }
        } }
    }
}

/// The service-guide figures page.
pub fn guides(
    state: &AppState,
    operator: &Operator,
    report: &Report,
    kiosks: &[(String, String)],
) -> Markup {
    let total = &report.total;
    let link = |service: Option<&str>, kiosk: Option<&str>| {
        let mut url = format!("/console/guides?from={}&to={}", report.from, report.to);
        if let Some(s) = service {
            url.push_str("&service=");
            url.push_str(s);
        }
        if let Some(k) = kiosk {
            url.push_str("&kiosk=");
            url.push_str(k);
        }
        url
    };
    let mut services: Vec<(String, String)> = state.service_titles().into_iter().collect();
    for s in &report.by_service {
        if !services.iter().any(|(id, _)| *id == s.service_id) {
            services.push((s.service_id.clone(), s.title.clone()));
        }
    }
    services.sort_by(|a, b| a.1.cmp(&b.1));
    let busiest = report
        .by_day
        .iter()
        .map(|d| d.figures.started.max(d.figures.completed))
        .max()
        .unwrap_or(0)
        .max(1);
    let service_title = report.filter.service.as_deref().map(|id| {
        services
            .iter()
            .find(|(s, _)| s == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| id.to_string())
    });
    let body = html! {
        div .title-row {
            h1 { "Service guides" }
            @if let Some(title) = &service_title { span .badge { (title) } }
            @if let Some(kiosk) = &report.filter.kiosk { span .badge { (kiosk) } }
            @if report.filter.service.is_some() || report.filter.kiosk.is_some() {
                a href=(link(None, None)) { "All services and kiosks" }
            }
        }
        form .filters method="get" action="/console/guides" {
            label { "From" input type="date" name="from" value=(report.from); }
            label { "To" input type="date" name="to" value=(report.to); }
            label { "Service"
                select name="service" {
                    option value="" { "All services" }
                    @for (id, title) in &services {
                        option value=(id) selected[report.filter.service.as_deref() == Some(id.as_str())] { (title) }
                    }
                }
            }
            label { "Kiosk"
                select name="kiosk" {
                    option value="" { "All kiosks" }
                    @for (id, site) in kiosks {
                        option value=(id) selected[report.filter.kiosk.as_deref() == Some(id.as_str())] { (site) " · " (id) }
                    }
                }
            }
            button type="submit" .primary { "Show" }
        }
        section .headline.card {
            div #completed .big { (total.completed) }
            div {
                p .what { "citizens guided to the end of a service guide" }
                p .muted { "The “citizens trained to use e-services” figure, "
                    (report.from.format("%-d %b %Y")) " – " (report.to.format("%-d %b %Y"))
                    " (" (report.timezone) " days)." }
            }
            dl .stats {
                dt { "Started" } dd #started { (total.started) }
                dt { "Completion rate" } dd { @if let Some(p) = total.completion_percent() { (p) "%" } @else { "—" } }
                dt { "Abandoned" } dd #abandoned { (total.abandoned) }
                dt { "Consultant calls" } dd #calls { (total.consultant_calls) }
                dt { "Rated good / neutral / bad" } dd { (total.ratings.good) " / " (total.ratings.neutral) " / " (total.ratings.bad) }
            }
        }
        @if report.by_service.is_empty() {
            p .empty { "No service-guide records from kiosks in this period." }
        } @else {
            h2 { "By service" }
            table .figures #by-service {
                (figures_head("Service"))
                tbody { @for s in &report.by_service {
                    tr data-service=(s.service_id) {
                        td { a href=(link(Some(&s.service_id), report.filter.kiosk.as_deref())) { (s.title) }
                            @if s.title != s.service_id { br; small .muted { (s.service_id) } } }
                        (count_cells(&s.figures))
                    }
                } }
            }
            h2 { "By kiosk" }
            table .figures #by-kiosk {
                (figures_head("Kiosk"))
                tbody { @for k in &report.by_kiosk {
                    tr data-kiosk=(k.kiosk_id) {
                        td { a href=(link(report.filter.service.as_deref(), Some(&k.kiosk_id))) { (k.site) }
                            br; small .muted { (k.kiosk_id) } }
                        (count_cells(&k.figures))
                    }
                } }
            }
            h2 { "By day" }
            table .figures #by-day {
                thead { tr {
                    th { "Day" } th .n { "Started" } th .n { "Completed" } th .n { "Abandoned" }
                    th { "Given up most at" } th .n { "Consultant calls" } th { "Rated good / neutral / bad" }
                    th .bars { span .key.started {} "started " span .key.completed {} "completed" }
                } }
                tbody { @for d in report.by_day.iter().rev() {
                    tr class=[d.figures.is_empty().then_some("quiet")] {
                        td { (d.date.format("%a %-d %b")) }
                        (count_cells(&d.figures))
                        td .bars {
                            span .bar.started style={ "width:" (d.figures.started * 100 / busiest) "%" } {}
                            span .bar.completed style={ "width:" (d.figures.completed * 100 / busiest) "%" } {}
                        }
                    }
                } }
            }
        }
    };
    layout(state, operator, "Service guides", "guides", body)
}

fn state_label(state: &str) -> &'static str {
    match state {
        "starting" => "Starting",
        "idle" => "Waiting",
        "in_use" => "In use",
        "technician" => "Technician",
        _ => "",
    }
}

fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86399 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iin_is_masked_to_its_last_four_digits() {
        assert_eq!(masked_iin("880101300010"), "••••••••0010");
        assert!(!masked_iin("880101300010").contains("880101"));
    }
}
