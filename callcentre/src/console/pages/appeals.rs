//! One appeal's page (video, masked IIN, the deadline, the lifecycle's
//! actions and the answer in the citizen's language, notes, history with who and when).

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::{layout, local, masked_iin, megabytes};
use crate::db::{AppealEvent, AppealRow, Assignable, SessionRow};
use crate::i18n::{tr, trc, trf, Lang};
use crate::state::AppState;

fn clock(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn outcome_label(lang: Lang, outcome: &str) -> &'static str {
    match outcome {
        "resolved" => tr(lang, "Resolved on the call"),
        "follow_up" => tr(lang, "Needs follow-up"),
        _ => tr(lang, "Not recorded"),
    }
}

fn end_label(lang: Lang, end: &str) -> &'static str {
    match end {
        "hung_up" => trc(lang, "call end", "hung up"),
        "lost" => trc(lang, "call end", "connection lost"),
        "error" => trc(lang, "call end", "ended by an error"),
        _ => trc(lang, "call end", "ended"),
    }
}

/// What the appeal page shows.
pub struct AppealView<'a> {
    pub appeal: &'a AppealRow,
    pub events: &'a [AppealEvent],
    /// Operators who may take it (for "assign to").
    pub assignable: &'a [Assignable],
    pub revealed_iin: Option<&'a str>,
    /// Why the last action was refused.
    pub error: Option<&'a str>,
    /// The due date if the deadline were extended, and the extended limit in days.
    pub extended_due: DateTime<Utc>,
    pub extended_days: u32,
    pub due_soon: bool,
}

fn topic_name(lang: Lang, topic: &str) -> &'static str {
    match topic {
        "complaint" => trc(lang, "appeal topic", "Complaint"),
        "request" => trc(lang, "appeal topic", "Request"),
        "gratitude" => trc(lang, "appeal topic", "Gratitude"),
        "bribe_report" => trc(lang, "appeal topic", "Report of a bribe demand"),
        _ => trc(lang, "appeal topic", "Other"),
    }
}

fn language_name(code: &str) -> &'static str {
    Lang::parse(code).map(Lang::name).unwrap_or("—")
}

/// An operator's display name where known, else the username.
fn who(view: &AppealView<'_>, lang: Lang, username: &str) -> String {
    if username == "server" {
        return tr(lang, "Server").into();
    }
    view.assignable
        .iter()
        .find(|o| o.username == username)
        .map(|o| o.display_name.clone())
        .unwrap_or_else(|| username.to_string())
}

fn due_facts(state: &AppState, lang: Lang, view: &AppealView<'_>, now: DateTime<Utc>) -> Markup {
    let a = view.appeal;
    let open = crate::db::OPEN_STATUSES.contains(&a.status.as_str());
    let days = (a.due_at - now).num_hours().div_euclid(24);
    html! {
        span #appeal-due {
            @if open && now > a.due_at {
                span .overdue { (trf(lang, "Overdue by {0} days", &[&(-days).max(1)])) }
                br; small { (trf(lang, "was due {0}", &[&local(state, lang, a.due_at)])) }
            } @else if open {
                span class=[view.due_soon.then_some("due-soon")] { (local(state, lang, a.due_at)) }
                br; small { (trf(lang, "{0} days left", &[&days])) }
            } @else {
                span .muted { (local(state, lang, a.due_at)) }
            }
            @if let Some(reason) = &a.due_extended_reason {
                br; small .muted { (tr(lang, "Extended:")) " " (reason) }
            }
        }
    }
}

fn event_text(view: &AppealView<'_>, lang: Lang, e: &AppealEvent) -> Markup {
    let status = |s: &Option<String>| crate::db::status_label(lang, s.as_deref().unwrap_or(""));
    let note = e.note.as_deref().unwrap_or("");
    html! {
        @match e.action.as_str() {
            "status" => (trf(lang, "changed the status from “{0}” to “{1}”",
                &[&status(&e.from_status), &status(&e.to_status)])),
            "assign" => (trf(lang, "assigned the appeal to {0}", &[&who(view, lang, note)])),
            "answer" => (trf(lang, "answered the citizen in {0}", &[&language_name(note)])),
            "close" => {
                @if note.is_empty() { (tr(lang, "closed the appeal")) }
                @else { (tr(lang, "closed the appeal:")) " " span .note { (note) } }
            },
            "extend" => { (tr(lang, "extended the deadline:")) " " span .note { (note) } },
            "reveal_iin" => (tr(lang, "revealed the IIN")),
            "sms" => {
                @if note == "sent" { (tr(lang, "the SMS to the citizen was sent")) }
                @else { (tr(lang, "an SMS to the citizen was queued")) }
            },
            _ => { (tr(lang, "noted:")) " " span .note { (note) } },
        }
    }
}

/// Assign, start, answer, close, reopen, extend: what the appeal's status allows.
fn actions(state: &AppState, session: &SessionRow, lang: Lang, view: &AppealView<'_>) -> Markup {
    let a = view.appeal;
    let base = format!("/console/appeals/{}", a.id);
    let open = crate::db::OPEN_STATUSES.contains(&a.status.as_str());
    let mine = a.assigned_to.as_deref() == Some(session.username.as_str());
    let citizen = Lang::parse(&a.language);
    let languages: Vec<Lang> = citizen
        .into_iter()
        .chain(Lang::ALL.into_iter().filter(|l| Some(*l) != citizen))
        .collect();
    let others: Vec<&Assignable> = view
        .assignable
        .iter()
        .filter(|o| a.assigned_to.as_deref() != Some(o.username.as_str()))
        .collect();
    html! {
        section #case .case {
            h2 { (tr(lang, "Handling")) }
            @if let Some(answer) = &a.answer {
                div #answer .answer {
                    h3 { (tr(lang, "Answer to the citizen")) }
                    p .muted {
                        (language_name(&answer.language)) " · " (who(view, lang, &answer.by))
                        " · " (local(state, lang, answer.at))
                    }
                    blockquote .typed lang=(answer.language) { (answer.text) }
                }
            }
            @if open {
                div .row {
                    @if !mine {
                        form method="post" action={ (base) "/assign" } .inline #assign-me {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="to" value=(session.username);
                            button type="submit" .primary { (tr(lang, "Assign to me")) }
                        }
                    }
                    @if !others.is_empty() {
                        form method="post" action={ (base) "/assign" } .inline #assign-other {
                            input type="hidden" name="csrf" value=(session.csrf);
                            label { (tr(lang, "Assign to")) " "
                                select name="to" #assign-to {
                                    @for o in &others {
                                        option value=(o.username) { (o.display_name) " (" (o.username) ")" }
                                    }
                                }
                            }
                            " "
                            button type="submit" { (tr(lang, "Assign")) }
                        }
                    }
                    @if a.status == "assigned" && mine {
                        form method="post" action={ (base) "/start" } .inline #start-work {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button type="submit" .primary { (tr(lang, "Start work")) }
                        }
                    }
                }
                @if a.status == "assigned" || a.status == "in_progress" {
                    form method="post" action={ (base) "/answer" } #answer-form .stack {
                        input type="hidden" name="csrf" value=(session.csrf);
                        h3 { (tr(lang, "Write the answer")) }
                        p .muted #citizen-language {
                            (trf(lang, "The citizen's language: {0}. It is offered first.",
                                &[&language_name(&a.language)]))
                        }
                        label { (tr(lang, "Language of the answer")) " "
                            select name="language" #answer-language {
                                @for (i, l) in languages.iter().enumerate() {
                                    option value=(l.code()) selected[i == 0] { (l.name()) }
                                }
                            }
                        }
                        textarea name="text" #answer-text rows="8" maxlength="10000" required
                            lang=[citizen.map(Lang::code)] {}
                        button type="submit" .primary { (tr(lang, "Send the answer")) }
                    }
                }
                form method="post" action={ (base) "/close" } #close-form .stack {
                    input type="hidden" name="csrf" value=(session.csrf);
                    h3 { (tr(lang, "Close without an answer")) }
                    label { (tr(lang, "Reason (required; it stays in the history)"))
                        textarea name="reason" #close-reason rows="2" maxlength="1000" {} }
                    button type="submit" .danger { (tr(lang, "Close the appeal")) }
                }
                @if a.due_extended_reason.is_none() {
                    form method="post" action={ (base) "/extend" } #extend-form .stack {
                        input type="hidden" name="csrf" value=(session.csrf);
                        h3 { (trf(lang, "Extend the deadline to {0} days", &[&view.extended_days])) }
                        p .muted { (trf(lang, "The new due date would be {0}.", &[&local(state, lang, view.extended_due)])) }
                        label { (tr(lang, "Reason (required)"))
                            input name="reason" #extend-reason maxlength="1000"; }
                        button type="submit" { (tr(lang, "Extend the deadline")) }
                    }
                }
            } @else if a.status == "answered" {
                div .row {
                    form method="post" action={ (base) "/close" } .inline #close-form {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" .primary { (tr(lang, "Close the appeal")) }
                    }
                    form method="post" action={ (base) "/reopen" } .inline #reopen-form {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { (tr(lang, "Reopen: more work is needed")) }
                    }
                }
            } @else {
                p #closed-note {
                    @if let Some(at) = a.closed_at { (trf(lang, "Closed on {0}.", &[&local(state, lang, at)])) }
                    @if let Some(reason) = &a.close_reason {
                        " " (tr(lang, "Reason:")) " " span .note { (reason) }
                    }
                }
            }
        }
    }
}

pub fn appeal(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    view: &AppealView<'_>,
    now: DateTime<Utc>,
) -> Markup {
    let a = view.appeal;
    let body = html! {
        p { a href="/console" { (tr(lang, "← All appeals")) } }
        div .title-row {
            h1 { (tr(lang, "Appeal")) " " span .num { (a.id) } }
            span #appeal-status class={ "status big " (a.status) } { (crate::db::status_label(lang, &a.status)) }
            @if a.test { span .badge.test { (tr(lang, "TEST — left by a technician")) } }
            @if a.anticorruption { span .badge.fail { (tr(lang, "Anti-corruption")) } }
        }
        @if let Some(error) = view.error {
            p #action-error .error role="alert" { (error) }
        }
        div .appeal {
            div .left {
            section .media {
                @if a.video_upload_id.is_some() {
                    video #video controls preload="none" src={ "/console/appeals/" (a.id) "/video" } {}
                } @else if let Some(bytes) = a.expected_video_bytes {
                    div .placeholder { (trf(lang, "The video ({0}) is still on its way from the kiosk. This page shows it once it has arrived.", &[&megabytes(lang, bytes)])) }
                } @else if a.call.as_ref().is_some_and(|c| c.call_only) {
                    div .placeholder { (tr(lang, "This appeal was a live call. Its recording arrives from the kiosk after the call, if the patient agreed to it.")) }
                } @else {
                    div .placeholder { (tr(lang, "This appeal has no video.")) }
                }
                @if let Some(text) = &a.text {
                    blockquote .typed lang=(a.language) { (text) }
                }
                @if a.interrupted {
                    p .warn { (tr(lang, "The recording was cut short at the kiosk (power or software failure); what was recorded up to then is here.")) }
                }
            }
            (actions(state, session, lang, view))
            }
            section .facts {
                @if let Some(call) = &a.call {
                    div #live-call .callfacts {
                        h2 { (tr(lang, "Live call")) }
                        dl {
                            dt { (tr(lang, "Taken by")) }
                            dd { (call.operator_name.as_deref().or(call.operator.as_deref()).unwrap_or("—")) }
                            @if let Some(at) = call.answered_at {
                                dt { (trc(lang, "call", "Answered")) } dd { (local(state, lang, at)) }
                            }
                            dt { (tr(lang, "Length")) }
                            dd #appeal-call-length {
                                @if let Some(secs) = call.secs {
                                    (clock(secs)) " · " (end_label(lang, call.end.as_deref().unwrap_or("")))
                                } @else if state.calls.is_live(&a.id) {
                                    (tr(lang, "on the call now"))
                                } @else {
                                    span .muted { (tr(lang, "unknown (the server stopped during the call)")) }
                                }
                            }
                            dt { (tr(lang, "Outcome")) }
                            dd #appeal-call-outcome class=[call.outcome.as_deref()] { (outcome_label(lang, call.outcome.as_deref().unwrap_or(""))) }
                            dt { (tr(lang, "Call notes")) }
                            dd #appeal-call-notes {
                                @if let Some(notes) = &call.notes { span .note { (notes) } }
                                @else { span .muted { (tr(lang, "none")) } }
                            }
                        }
                        @if call.call_only {
                            p .muted { (tr(lang, "The kiosk's record of the call (language, phone, recording) has not arrived yet.")) }
                        }
                    }
                }
                dl {
                    dt { (tr(lang, "Topic")) } dd { (topic_name(lang, &a.topic)) }
                    dt { @if a.call.is_some() { (tr(lang, "Called at")) } @else { (tr(lang, "Left at")) } }
                    dd { (local(state, lang, a.created_at)) }
                    dt { (tr(lang, "Due")) } dd { (due_facts(state, lang, view, now)) }
                    dt { (tr(lang, "Kiosk")) } dd { (a.site) " · " (a.kiosk_id) }
                    dt { (tr(lang, "Citizen's language")) } dd #appeal-language { (language_name(&a.language)) }
                    dt { (tr(lang, "Assigned to")) }
                    dd #appeal-assignee {
                        @if let Some(to) = &a.assigned_to { (who(view, lang, to)) }
                        @else { span .muted { (tr(lang, "nobody yet")) } }
                    }
                    @if let Some(d) = a.duration_seconds {
                        dt { @if a.call.is_some() { (tr(lang, "Recording")) } @else { (tr(lang, "Length")) } }
                        dd { (clock(d)) }
                    }
                    dt { (tr(lang, "IIN")) }
                    dd {
                        @match (&a.iin, view.revealed_iin) {
                            (None, _) => span .muted { (tr(lang, "not given")) },
                            (Some(_), Some(iin)) => span #iin .revealed { (iin) },
                            (Some(iin), None) => {
                                span #iin { (masked_iin(iin)) }
                                form method="post" action={ "/console/appeals/" (a.id) "/reveal" } .inline {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    button type="submit" .quiet title=(tr(lang, "Your name and the time are logged")) { (tr(lang, "Reveal (logged)")) }
                                }
                            }
                        }
                    }
                    dt { (tr(lang, "Callback phone")) }
                    dd { @if let Some(p) = &a.callback_phone { a href={ "tel:" (p) } { (p) } } @else { span .muted { (tr(lang, "not given")) } } }
                }
                form method="post" action={ "/console/appeals/" (a.id) "/note" } .note-form {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { (tr(lang, "Add a note")) textarea name="note" rows="3" maxlength="4000" required {} }
                    button type="submit" { (tr(lang, "Add note")) }
                }
            }
        }
        section .history {
            h2 { (tr(lang, "History")) }
            ol #history {
                li { span .when { (local(state, lang, a.created_at)) } " " (trf(lang, "Left at {0}", &[&a.site])) }
                @for e in view.events {
                    li {
                        span .when { (crate::db::parse_ts(&e.at).map(|t| local(state, lang, t)).unwrap_or_default()) }
                        " " strong { (who(view, lang, &e.operator)) } " "
                        (event_text(view, lang, e))
                    }
                }
            }
        }
    };
    layout(
        state,
        session,
        lang,
        &format!("{} {}", tr(lang, "Appeal"), a.id),
        "appeal",
        body,
    )
}
