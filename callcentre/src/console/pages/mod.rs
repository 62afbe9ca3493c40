//! HTML of the console pages (maud templates: escaped by construction): the frame every page
//! shares, sign-in and error pages, and the labels the pages have in common; the pages of each
//! part of the console in `appeals`, `fleet` and `guides`.

mod admin;
mod appeals;
mod fleet;
mod guides;

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use senim_protocol::hours::CallCentreStatus;

use crate::db::SessionRow;
use crate::state::AppState;

pub use admin::{audit, operator, operators, revoke_kiosk_form, AddDraft, AuditView};
pub use appeals::{appeal, queue};
pub use fleet::{enrol_code, fleet};
pub use guides::guides;

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
    senim_protocol::call::masked_iin(iin)
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
                script src="/console/static/call.js" defer {}
            }
        }
    }
}

fn layout(
    state: &AppState,
    session: &SessionRow,
    title: &str,
    current: &str,
    body: Markup,
) -> Markup {
    let now = Utc::now();
    // The menu shows what the operator may use; live calls only reach appeal staff.
    let roles = session.roles;
    let staff = roles.operator || roles.anticorruption;
    let lang = admin::session_lang(session);
    html! {
        html lang="en" {
            (head(title, staff))
            body data-page=(current) data-csrf=(session.csrf) {
                div .alerts {
                    div #ringing .ringing hidden role="alert" aria-live="assertive" {}
                    div #lamp .lamp hidden role="alert" aria-live="assertive" {}
                    div #consultants .consultants hidden role="alert" aria-live="assertive" {}
                }
                div #away .away hidden {}
                header .top {
                    span .brand { "Senim" span .sub { " call-centre" } }
                    nav {
                        @if staff {
                            a href="/console" class=[(current == "queue").then_some("here")] { "Appeals" }
                            a href="/console/guides" class=[(current == "guides").then_some("here")] { "Service guides" }
                        }
                        @if roles.admin {
                            a href="/console/fleet" class=[(current == "fleet").then_some("here")] { "Kiosks" }
                        }
                        (admin::admin_nav(session, lang, current))
                    }
                    span .hours { (open_status(state, now)) }
                    span .spacer {}
                    span #signal .signal hidden {}
                    @if staff {
                        button #availability type="button" .availability aria-pressed="false"
                            title="Available: live calls from the kiosks ring here. Away: they do not." { "Away" }
                        button #sound type="button" .quiet aria-pressed="true" { "Sound: on" }
                    }
                    span .who { (session.display_name) }
                    form method="post" action="/console/logout" .inline {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button .quiet type="submit" { "Sign out" }
                    }
                }
                main { (body) }
                (call_panel())
            }
        }
    }
}

/// The operator's side of a live call, filled and shown by `call.js`: the patient large, the
/// operator's own camera small, who is calling, the IIN masked with a logged reveal, notes,
/// the outcome, mute and hang up.
fn call_panel() -> Markup {
    html! {
        section #call .incall hidden aria-label="Live call" {
            div .stage {
                video #remote-video autoplay playsinline {}
                video #self-video autoplay playsinline muted {}
                div .stage-top {
                    span #call-state .callstate { "Connecting…" }
                    span #call-timer .timer { "0:00" }
                }
                p #call-banner .banner hidden role="alert" {}
            }
            aside .callside {
                p .eyebrow { "Live call" span #call-test .badge.test hidden { "TEST" } }
                h2 #call-site { }
                dl .callfacts {
                    dt { "Kiosk" } dd #call-kiosk {}
                    dt { "Topic" } dd #call-topic {}
                    dt { "IIN" }
                    dd {
                        span #call-iin .iin {}
                        button #call-reveal type="button" .quiet hidden
                            title="Your name and the time are logged" { "Reveal (logged)" }
                    }
                    dt { "Appeal" } dd { a #call-appeal .num target="_blank" {} }
                }
                label .notes { "Notes" textarea #call-notes rows="6" maxlength="4000"
                    placeholder="What the patient asked, what you told them" {} }
                fieldset .outcome {
                    legend { "Outcome" }
                    label { input type="radio" name="call-outcome" value="resolved"; " Resolved on the call" }
                    label { input type="radio" name="call-outcome" value="follow_up"; " Needs follow-up" }
                }
                p #call-error .error hidden role="alert" {}
                p #call-saved .saved hidden {}
                div .callbuttons {
                    button #call-mute type="button" aria-pressed="false" { "Mute" }
                    button #call-hangup type="button" .danger { "Hang up" }
                    button #call-save type="button" .primary { "Save notes and outcome" }
                    button #call-close type="button" hidden { "Close" }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iin_is_masked_to_its_last_four_digits() {
        assert_eq!(masked_iin("880101300010"), "••••••••0010");
        assert!(!masked_iin("880101300010").contains("880101"));
    }
}
