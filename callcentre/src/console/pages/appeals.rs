//! The appeal queue and one appeal's page (video, masked IIN, status, notes, history).

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::{language_label, layout, local, masked_iin, megabytes, status_label, topic_label};
use crate::db::{AppealEvent, AppealRow, SessionRow};
use crate::i18n::Lang;
use crate::state::AppState;

fn due_cell(appeal: &AppealRow, now: DateTime<Utc>, state: &AppState, lang: Lang) -> Markup {
    let open = appeal.status == "new" || appeal.status == "in_progress";
    let days = (appeal.due_at - now).num_hours().div_euclid(24);
    html! {
        @if open && now > appeal.due_at {
            span .overdue { "Overdue by " ((-days).max(1)) " day" @if (-days).max(1) != 1 { "s" } }
            br; small { "was due " (local(state, lang, appeal.due_at)) }
        } @else if open {
            span { (local(state, lang, appeal.due_at)) }
            br; small { (days) " day" @if days != 1 { "s" } " left" }
        } @else {
            span .muted { (local(state, lang, appeal.due_at)) }
        }
    }
}

fn clock(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "resolved" => "Resolved on the call",
        "follow_up" => "Needs follow-up",
        _ => "Not recorded",
    }
}

fn end_label(end: &str) -> &'static str {
    match end {
        "hung_up" => "hung up",
        "lost" => "connection lost",
        "error" => "ended by an error",
        _ => "ended",
    }
}

/// "Live call 4:05" (or "on the call now") for the queue.
fn call_badge(state: &AppState, appeal: &AppealRow) -> Markup {
    html! {
        @if let Some(call) = &appeal.call {
            span .badge.call {
                "Live call"
                @if let Some(secs) = call.secs { " " (clock(secs)) }
                @else if state.calls.is_live(&appeal.id) { " — on the call now" }
            }
            br;
        }
    }
}

fn video_cell(appeal: &AppealRow, lang: Lang) -> Markup {
    html! {
        @if let Some(bytes) = appeal.video_bytes {
            span .ok { "Video " (megabytes(lang, bytes)) }
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
    session: &SessionRow,
    lang: Lang,
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
                                td { (local(state, lang, a.created_at)) }
                                td { (topic_label(lang, &a.topic)) }
                                td { (a.site) br; small .muted { (a.kiosk_id) } }
                                td { span class={ "status " (a.status) } { (status_label(lang, &a.status)) } }
                                td { (due_cell(a, now, state, lang)) }
                                td { (call_badge(state, a)) (video_cell(a, lang)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(state, session, lang, "Appeals", "queue", body)
}

pub fn appeal(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    a: &AppealRow,
    events: &[AppealEvent],
    revealed_iin: Option<&str>,
    now: DateTime<Utc>,
) -> Markup {
    let body = html! {
        p { a href="/console" { "← All appeals" } }
        div .title-row {
            h1 { "Appeal " span .num { (a.id) } }
            span class={ "status big " (a.status) } { (status_label(lang, &a.status)) }
            @if a.test { span .badge.test { "TEST — left by a technician" } }
        }
        div .appeal {
            section .media {
                @if a.video_upload_id.is_some() {
                    video #video controls preload="metadata" src={ "/console/appeals/" (a.id) "/video" } {}
                } @else if let Some(bytes) = a.expected_video_bytes {
                    div .placeholder { "The video (" (megabytes(lang, bytes)) ") is still on its way from the kiosk. "
                        "This page shows it once it has arrived." }
                } @else if a.call.as_ref().is_some_and(|c| c.call_only) {
                    div .placeholder { "This appeal was a live call. Its recording arrives from the kiosk "
                        "after the call, if the patient agreed to it." }
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
                @if let Some(call) = &a.call {
                    div #live-call .callfacts {
                        h2 { "Live call" }
                        dl {
                            dt { "Taken by" }
                            dd { (call.operator_name.as_deref().or(call.operator.as_deref()).unwrap_or("—")) }
                            @if let Some(at) = call.answered_at {
                                dt { "Answered" } dd { (local(state, lang, at)) }
                            }
                            dt { "Length" }
                            dd #appeal-call-length {
                                @if let Some(secs) = call.secs {
                                    (clock(secs)) " · " (end_label(call.end.as_deref().unwrap_or("")))
                                } @else if state.calls.is_live(&a.id) {
                                    "on the call now"
                                } @else {
                                    span .muted { "unknown (the server stopped during the call)" }
                                }
                            }
                            dt { "Outcome" }
                            dd #appeal-call-outcome class=[call.outcome.as_deref()] { (outcome_label(call.outcome.as_deref().unwrap_or(""))) }
                            dt { "Call notes" }
                            dd #appeal-call-notes {
                                @if let Some(notes) = &call.notes { span .note { (notes) } }
                                @else { span .muted { "none" } }
                            }
                        }
                        @if call.call_only {
                            p .muted { "The kiosk's record of the call (language, phone, recording) has not arrived yet." }
                        }
                    }
                }
                dl {
                    dt { "Topic" } dd { (topic_label(lang, &a.topic)) }
                    dt { @if a.call.is_some() { "Called at" } @else { "Left at" } } dd { (local(state, lang, a.created_at)) }
                    dt { "Due" } dd { (due_cell(a, now, state, lang)) }
                    dt { "Kiosk" } dd { (a.site) " · " (a.kiosk_id) }
                    @if !a.language.is_empty() {
                        dt { "Language" } dd { (language_label(lang, &a.language)) }
                    }
                    @if let Some(d) = a.duration_seconds {
                        dt { @if a.call.is_some() { "Recording" } @else { "Length" } } dd { (d / 60) ":" (format!("{:02}", d % 60)) }
                    }
                    dt { "IIN" }
                    dd {
                        @match (&a.iin, revealed_iin) {
                            (None, _) => span .muted { "not given" },
                            (Some(_), Some(iin)) => span #iin .revealed { (iin) },
                            (Some(iin), None) => {
                                span #iin { (masked_iin(iin)) }
                                form method="post" action={ "/console/appeals/" (a.id) "/reveal" } .inline {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    button type="submit" .quiet title="Your name and the time are logged" { "Reveal (logged)" }
                                }
                            }
                        }
                    }
                    dt { "Callback phone" }
                    dd { @if let Some(p) = &a.callback_phone { a href={ "tel:" (p) } { (p) } } @else { span .muted { "not given" } } }
                }
                form method="post" action={ "/console/appeals/" (a.id) "/status" } .status-form {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "Status "
                        select name="status" #status {
                            @for s in crate::db::STATUSES {
                                option value=(s) selected[s == a.status] { (status_label(lang, s)) }
                            }
                        }
                    }
                    button type="submit" .primary { "Save status" }
                }
                form method="post" action={ "/console/appeals/" (a.id) "/note" } .note-form {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "Add a note" textarea name="note" rows="3" maxlength="4000" required {} }
                    button type="submit" { "Add note" }
                }
            }
        }
        section .history {
            h2 { "History" }
            ol #history {
                li { span .when { (local(state, lang, a.created_at)) } " Left at " (a.site) }
                @for e in events {
                    li {
                        span .when { (crate::db::parse_ts(&e.at).map(|t| local(state, lang, t)).unwrap_or_default()) }
                        " " strong { (e.operator) } " "
                        @match e.action.as_str() {
                            "status" => {
                                "changed the status from " (status_label(lang, e.from_status.as_deref().unwrap_or("")))
                                " to " (status_label(lang, e.to_status.as_deref().unwrap_or("")))
                            },
                            "reveal_iin" => "revealed the IIN",
                            _ => { "noted: " span .note { (e.note.as_deref().unwrap_or("")) } },
                        }
                    }
                }
            }
        }
    };
    layout(
        state,
        session,
        lang,
        &format!("Appeal {}", a.id),
        "appeal",
        body,
    )
}
