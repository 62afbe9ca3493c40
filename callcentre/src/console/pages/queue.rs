//! The queue's HTML: view tabs (the anti-corruption tab with its "flagged on arrival" badge),
//! the filter form, the table with its marks (overdue, due soon, assignee, live call), page
//! links, and the bare rows a live update fetches.

use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};

use super::{layout, local, megabytes, status_label, topic_label};
use crate::db::{Count, Cursor, QueueFilter, QueuePage, QueueRow, SessionRow, View};
use crate::i18n::{tr, trc, trf, Lang};
use crate::state::AppState;

/// What the page shows, read from the URL.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRequest {
    pub view: View,
    pub filter: QueueFilter,
    /// The number as typed, shown back in the search box.
    pub typed_number: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub cursor: Cursor,
    /// The first row's position, from 1.
    pub at: u64,
}

impl QueueRequest {
    /// The URL parameters of the view and filters (no cursor), `&`-joined and encoded.
    pub fn params(&self) -> String {
        let mut p = vec![format!("view={}", self.view.key())];
        let from = self.from.map(|d| d.to_string());
        let to = self.to.map(|d| d.to_string());
        for (k, v) in [
            ("q", self.typed_number.as_deref()),
            ("kiosk", self.filter.kiosk.as_deref()),
            ("site", self.filter.site.as_deref()),
            ("topic", self.filter.topic.as_deref()),
            ("status", self.filter.status.as_deref()),
            ("from", from.as_deref()),
            ("to", to.as_deref()),
        ] {
            if let Some(v) = v {
                p.push(format!("{k}={}", encode(v)));
            }
        }
        p.join("&")
    }
}

/// Percent-encodes a URL parameter's value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Everything the queue page draws.
pub struct QueueView<'a> {
    pub request: &'a QueueRequest,
    pub page: &'a QueuePage,
    /// New flagged appeals (the anti-corruption tab's badge).
    pub flagged_new: u64,
    /// Sites for the site filter.
    pub sites: &'a [String],
}

fn view_label(lang: Lang, view: View) -> &'static str {
    match view {
        View::Open => trc(lang, "queue view", "Open"),
        View::Mine => trc(lang, "queue view", "My appeals"),
        View::Anticorruption => trc(lang, "queue view", "Anti-corruption"),
        View::Answered => trc(lang, "queue view", "Answered"),
        View::Closed => trc(lang, "queue view", "Closed"),
        View::All => trc(lang, "queue view", "All"),
    }
}

fn open(status: &str) -> bool {
    crate::db::OPEN_STATUSES.contains(&status)
}

/// Whole days until `due` (negative once past), as the queue counts them.
fn days_left(due: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (due - now).num_hours().div_euclid(24)
}

/// `overdue`, `due-soon` or nothing, for the row's mark.
fn urgency(state: &AppState, row: &QueueRow, now: DateTime<Utc>) -> Option<&'static str> {
    let a = &row.appeal;
    if !open(&a.status) {
        None
    } else if now > a.due_at {
        Some("overdue")
    } else if a.due_at - now
        <= chrono::Duration::days(i64::from(state.config.deadlines.due_soon_days))
    {
        // As `deadlines::Deadlines::due_soon` has it (the appeal page's mark).
        Some("due-soon")
    } else {
        None
    }
}

fn due_cell(state: &AppState, lang: Lang, row: &QueueRow, now: DateTime<Utc>) -> Markup {
    let a = &row.appeal;
    let days = days_left(a.due_at, now);
    html! {
        @match urgency(state, row, now) {
            Some("overdue") => {
                @let late = (-days).max(1);
                span .overdue {
                    @if late == 1 { (tr(lang, "Overdue by 1 day")) }
                    @else { (trf(lang, "Overdue by {0} days", &[&late])) }
                }
                br; small { (trf(lang, "was due {0}", &[&local(state, lang, a.due_at)])) }
            },
            urgent => {
                @if open(&a.status) {
                    span { (local(state, lang, a.due_at)) }
                    br;
                    small class=[urgent.map(|_| "soon")] {
                        @if days == 0 { (tr(lang, "due today")) }
                        @else if days == 1 { (tr(lang, "1 day left")) }
                        @else { (trf(lang, "{0} days left", &[&days])) }
                    }
                } @else {
                    span .muted { (local(state, lang, a.due_at)) }
                }
            },
        }
    }
}

fn clock(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// "Live call 4:05" (or "on the call now").
fn call_badge(state: &AppState, lang: Lang, row: &QueueRow) -> Markup {
    let a = &row.appeal;
    html! {
        @if let Some(call) = &a.call {
            span .badge.call {
                (tr(lang, "Live call"))
                @if let Some(secs) = call.secs { " " (clock(secs)) }
                @else if state.calls.is_live(&a.id) { " — " (tr(lang, "on the call now")) }
            }
            br;
        }
    }
}

fn video_cell(lang: Lang, row: &QueueRow) -> Markup {
    let a = &row.appeal;
    html! {
        @if let Some(bytes) = a.video_bytes {
            span .ok { (tr(lang, "Video")) " " (megabytes(lang, bytes)) }
        } @else if a.expected_video_bytes.is_some() {
            span .pending { (tr(lang, "Video uploading…")) }
        } @else if a.text.is_some() {
            span { (tr(lang, "Typed")) }
        } @else {
            span .muted { (tr(lang, "No video")) }
        }
    }
}

/// One row; `data-key` is its place in the order, for live updates.
fn row(state: &AppState, lang: Lang, r: &QueueRow, now: DateTime<Utc>) -> Markup {
    let a = &r.appeal;
    let mut class = Vec::new();
    if a.status == "new" {
        class.push("new");
    }
    match urgency(state, r, now) {
        Some("overdue") => class.push("mark-overdue"),
        Some(_) => class.push("mark-due-soon"),
        None => {}
    }
    html! {
        tr data-id=(a.id) data-key=(r.key.encode()) class=[(!class.is_empty()).then(|| class.join(" "))] {
            td {
                a href={ "/console/appeals/" (a.id) } .num { (a.id) }
                @if a.test { " " span .badge.test { (tr(lang, "TEST")) } }
                @if a.anticorruption { br; span .badge.flag { (tr(lang, "Flagged on arrival")) } }
            }
            td { (local(state, lang, a.created_at)) }
            td { (topic_label(lang, &a.topic)) }
            td { (a.site) br; small .muted { (a.kiosk_id) } }
            td { span class={ "status " (a.status) } { (status_label(lang, &a.status)) } }
            td .assignee {
                @if let Some(name) = &r.assignee { (name) }
                @else { span .muted { (tr(lang, "nobody yet")) } }
            }
            td .due { (due_cell(state, lang, r, now)) }
            td { (call_badge(state, lang, r)) (video_cell(lang, r)) }
        }
    }
}

fn filters(lang: Lang, v: &QueueView<'_>) -> Markup {
    let r = v.request;
    let f = &r.filter;
    let statuses: Vec<&str> = match r.view {
        View::Open | View::Mine => crate::db::OPEN_STATUSES.to_vec(),
        View::Answered => vec!["answered"],
        View::Closed => vec!["closed"],
        View::Anticorruption | View::All => crate::db::STATUSES.to_vec(),
    };
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    html! {
        form #filters .filters method="get" action="/console" role="search" {
            input type="hidden" name="view" value=(r.view.key());
            label .number { (tr(lang, "Appeal number"))
                input type="search" name="q" value=[r.typed_number.as_deref()] placeholder="A-7K2M9Q4P"
                    autocomplete="off" spellcheck="false";
            }
            label { (tr(lang, "Site"))
                select name="site" {
                    option value="" { (tr(lang, "every site")) }
                    @for site in v.sites {
                        option value=(site) selected[f.site.as_deref() == Some(site.as_str())] { (site) }
                    }
                }
            }
            label { (tr(lang, "Kiosk"))
                input name="kiosk" value=[f.kiosk.as_deref()] placeholder="K-…" size="10" autocomplete="off";
            }
            label { (tr(lang, "Topic"))
                select name="topic" {
                    option value="" { (tr(lang, "every topic")) }
                    @for t in crate::db::TOPICS {
                        @if t != "bribe_report" || r.view == View::Anticorruption {
                            option value=(t) selected[f.topic.as_deref() == Some(t)] { (topic_label(lang, t)) }
                        }
                    }
                }
            }
            label { (tr(lang, "Status"))
                select name="status" {
                    option value="" { (tr(lang, "any status")) }
                    @for s in statuses {
                        option value=(s) selected[f.status.as_deref() == Some(s)] { (status_label(lang, s)) }
                    }
                }
            }
            label { (tr(lang, "Left from")) input type="date" name="from" value=(date(r.from)); }
            label { (tr(lang, "Left until")) input type="date" name="to" value=(date(r.to)); }
            span .actions {
                button type="submit" .primary { (tr(lang, "Show")) }
                a .clear href={ "/console?view=" (r.view.key()) } { (tr(lang, "Clear")) }
            }
        }
    }
}

fn summary(lang: Lang, v: &QueueView<'_>) -> Markup {
    let r = v.request;
    let shown = v.page.rows.len() as u64;
    html! {
        p #queue-summary .summary {
            @if r.filter.number.is_some() {
                @if shown == 0 {
                    (trf(lang, "No appeal numbered {0} that you may see.", &[&r.typed_number.as_deref().unwrap_or("")]))
                } @else {
                    (tr(lang, "Found by its number (in every view)."))
                }
            } @else if shown == 0 {
                (tr(lang, "No appeals here."))
            } @else {
                @let (first, last) = match r.cursor {
                    Cursor::Last => match v.page.total {
                        Count::Exact(n) => (n + 1 - shown, n),
                        Count::AtLeast(_) => (r.at, r.at + shown - 1),
                    },
                    _ => (r.at, r.at + shown - 1),
                };
                @match v.page.total {
                    Count::Exact(n) => (trf(lang, "Appeals {0}–{1} of {2}", &[&first, &last, &n])),
                    Count::AtLeast(n) => (trf(lang, "Appeals {0}–{1} of more than {2}", &[&first, &last, &n])),
                }
            }
        }
    }
}

fn pager(lang: Lang, v: &QueueView<'_>) -> Markup {
    let r = v.request;
    let base = format!("/console?{}", r.params());
    let shown = v.page.rows.len() as u64;
    let at = match (r.cursor.clone(), v.page.total) {
        (Cursor::Last, Count::Exact(n)) => n + 1 - shown.min(n),
        _ => r.at,
    };
    let size = crate::db::PAGE_SIZE as u64;
    html! {
        @if v.page.prev.is_some() || v.page.next.is_some() {
            nav .pager aria-label=(tr(lang, "Pages")) {
                @if let Some(k) = &v.page.prev {
                    a href=(base) rel="first" { "« " (tr(lang, "First")) }
                    a href={ (base) "&before=" (encode(&k.encode())) "&at=" (at.saturating_sub(size).max(1)) } rel="prev" { "‹ " (tr(lang, "Previous")) }
                }
                @if let Some(k) = &v.page.next {
                    a href={ (base) "&after=" (encode(&k.encode())) "&at=" (at + shown) } rel="next" { (tr(lang, "Next")) " ›" }
                    a href={ (base) "&last=1" } rel="last" { (tr(lang, "Last")) " »" }
                }
            }
        }
    }
}

/// The queue page.
pub fn queue(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    v: &QueueView<'_>,
    now: DateTime<Utc>,
) -> Markup {
    let r = v.request;
    let body = html! {
        div .title-row {
            h1 { (tr(lang, "Appeals")) }
            nav .tabs {
                @for view in View::ALL {
                    @if view.allowed(session.roles) {
                        a href={ "/console?view=" (view.key()) } #{ "tab-" (view.key()) }
                            class=[(view == r.view).then_some("here")] {
                            (view_label(lang, view))
                            @if view == View::Anticorruption && v.flagged_new > 0 {
                                " " span #flagged-new .count title=(tr(lang, "New reports flagged on arrival")) { (v.flagged_new) }
                            }
                        }
                    }
                }
            }
        }
        (filters(lang, v))
        (summary(lang, v))
        div #queue data-view=(r.view.key()) data-params=(r.params())
            data-order=(if r.view.urgent() { "asc" } else { "desc" })
            data-prev=(v.page.prev.is_some()) data-next=(v.page.next.is_some()) {
            @if v.page.rows.is_empty() {
                p .empty { (tr(lang, "No appeals here.")) }
            } @else {
                table .queue {
                    thead { tr {
                        th { (tr(lang, "Number")) } th { (tr(lang, "Left at")) } th { (tr(lang, "Topic")) }
                        th { (tr(lang, "Site · kiosk")) } th { (tr(lang, "Status")) } th { (tr(lang, "Assigned to")) }
                        th { (tr(lang, "Due")) } th { (tr(lang, "Video")) }
                    } }
                    tbody #queue-rows {
                        @for q in &v.page.rows { (row(state, lang, q, now)) }
                    }
                }
            }
        }
        (pager(lang, v))
    };
    layout(state, session, lang, tr(lang, "Appeals"), "queue", body)
}

/// The rows a live update asked for, in a table so a browser parses them: the rows the viewer
/// sees, empty `<tr data-gone>`s for the others, and the flagged-on-arrival count.
pub fn queue_rows(
    state: &AppState,
    lang: Lang,
    rows: &[QueueRow],
    gone: &[&str],
    flagged_new: u64,
    now: DateTime<Utc>,
) -> Markup {
    html! {
        table { tbody data-flagged-new=(flagged_new) {
            @for r in rows { (row(state, lang, r, now)) }
            @for id in gone { tr data-id=(id) data-gone {} }
        } }
    }
}
