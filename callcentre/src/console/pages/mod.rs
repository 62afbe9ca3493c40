//! HTML of the console pages (maud templates: escaped by construction): the frame every page
//! shares (with the language switch), sign-in and error pages, and the labels the pages have
//! in common, all in the operator's language (`i18n::tr`); dates in `dates`, the scripts'
//! texts in `script_texts`, the pages of each part of the console in `appeals`, `fleet` and
//! `guides`.

mod admin;
mod appeals;
mod dates;
mod figures;
mod fleet;
mod guides;
mod queue;
mod script_texts;

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use senim_protocol::hours::CallCentreStatus;

use crate::db::SessionRow;
use crate::i18n::{tr, trc, trf, Lang};
use crate::state::AppState;

pub use admin::{audit, operator, operators, revoke_kiosk_form, AddDraft, AuditView};
pub use appeals::{appeal, AppealView};
pub use dates::{day, local, weekday_day};
pub use figures::figures;
pub use fleet::{enrol_code, fleet, EnrolCode};
pub use guides::guides;
pub use queue::{queue, queue_rows, QueueRequest, QueueView};

/// An appeal's topic (`complaint`, `request`, …) in the operator's language.
pub fn topic_label(lang: Lang, topic: &str) -> &'static str {
    match topic {
        "complaint" => tr(lang, "Complaint"),
        "request" => tr(lang, "Request"),
        "gratitude" => tr(lang, "Gratitude"),
        "bribe_report" => tr(lang, "Report of a bribe demand"),
        _ => trc(lang, "topic", "Other"),
    }
}

pub use crate::db::status_label;

/// `12.3 MB` in the operator's language.
pub fn megabytes(lang: Lang, bytes: u64) -> String {
    let n = format!("{:.1}", bytes as f64 / 1_000_000.0);
    trf(lang, "{0} MB", &[&n])
}

/// `••••••••0010`: enough to match a caller, not enough to be the IIN.
pub fn masked_iin(iin: &str) -> String {
    senim_protocol::call::masked_iin(iin)
}

fn open_status(state: &AppState, lang: Lang, now: DateTime<Utc>) -> String {
    match state.schedule.status(now) {
        CallCentreStatus::Open => tr(lang, "Working hours: open now").into(),
        CallCentreStatus::Closed { next_open } => {
            let when = weekday_day(lang, next_open.date());
            let time = next_open.format("%H:%M").to_string();
            trf(lang, "Closed — opens {0}, {1}", &[&when, &time])
        }
    }
}

fn head(lang: Lang, title: &str, live: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (trf(lang, "{0} · Senim call-centre", &[&title])) }
            link rel="stylesheet" href="/console/static/console.css";
            @if live {
                // The scripts' texts in the operator's language (see `script_texts`).
                script type="application/json" #i18n { (PreEscaped(script_texts::json(lang))) }
                script src="/console/static/console.js" defer {}
                script src="/console/static/call.js" defer {}
            }
        }
    }
}

/// The brand line: "Senim" and "call-centre" in the page's language.
fn brand(lang: Lang) -> Markup {
    html! { "Senim" span .sub { " " (tr(lang, "call-centre")) } }
}

/// The frame of every signed-in page: the alerts, the header with the menu, the hours, the
/// call controls, the language switch and sign-out, and the live-call panel. `current` names
/// the menu entry to mark (`queue`, `guides`, `fleet`, or another page's own name).
pub fn layout(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
    title: &str,
    current: &str,
    body: Markup,
) -> Markup {
    let now = Utc::now();
    // The menu shows what the operator may use; live calls only reach appeal staff.
    let roles = session.roles;
    let staff = roles.operator || roles.anticorruption;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title, staff))
            body data-page=(current) data-csrf=(session.csrf) {
                div .alerts {
                    div #ringing .ringing hidden role="alert" aria-live="assertive" {}
                    div #lamp .lamp hidden role="alert" aria-live="assertive" {}
                    div #consultants .consultants hidden role="alert" aria-live="assertive" {}
                }
                div #away .away hidden {}
                header .top {
                    span .brand { (brand(lang)) }
                    nav {
                        @if staff {
                            a href="/console" class=[(current == "queue").then_some("here")] { (tr(lang, "Appeals")) }
                            a href="/console/guides" class=[(current == "guides").then_some("here")] { (tr(lang, "Service guides")) }
                        }
                        @if roles.admin || roles.operator {
                            a href="/console/figures" class=[(current == "figures").then_some("here")] { (tr(lang, "Figures")) }
                        }
                        @if roles.admin {
                            a href="/console/fleet" class=[(current == "fleet").then_some("here")] { (tr(lang, "Kiosks")) }
                        }
                        (admin::admin_nav(session, lang, current))
                    }
                    span .hours { (open_status(state, lang, now)) }
                    // The operator's own controls; a row of their own when the header is
                    // too narrow for one (Kazakh and Russian labels are long).
                    div .tools {
                        span #signal .signal hidden {}
                        @if staff {
                            button #availability type="button" .availability aria-pressed="false"
                                title=(tr(lang, "Available: live calls from the kiosks ring here. Away: they do not.")) { (tr(lang, "Away")) }
                            button #sound type="button" .quiet aria-pressed="true" { (tr(lang, "Sound: on")) }
                        }
                        (language_switch(lang, &session.csrf))
                        span .who { (session.display_name) }
                        form method="post" action="/console/logout" .inline {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button .quiet type="submit" { (tr(lang, "Sign out")) }
                        }
                    }
                }
                main { (body) }
                (call_panel(lang))
            }
        }
    }
}

/// Қаз / Рус / Eng: stores the operator's language (`POST /console/language`) and comes back
/// to the same page.
fn language_switch(lang: Lang, csrf: &str) -> Markup {
    html! {
        form method="post" action="/console/language" .inline.langs #language
            aria-label=(tr(lang, "Console language")) {
            input type="hidden" name="csrf" value=(csrf);
            @for l in Lang::ALL {
                button type="submit" name="language" value=(l.code()) lang=(l.code()) title=(l.name())
                    aria-pressed=(if l == lang { "true" } else { "false" })
                    class=[(l == lang).then_some("here")] { (short_name(l)) }
            }
        }
    }
}

/// A language's short name in itself, for the switch.
fn short_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => "Қаз",
        Lang::Ru => "Рус",
        Lang::En => "Eng",
    }
}

/// The operator's side of a live call, filled and shown by `call.js`: the patient large, the
/// operator's own camera small, who is calling, the IIN masked with a logged reveal, notes,
/// the outcome, mute and hang up.
fn call_panel(lang: Lang) -> Markup {
    html! {
        section #call .incall hidden aria-label=(tr(lang, "Live call")) {
            div .stage {
                video #remote-video autoplay playsinline {}
                video #self-video autoplay playsinline muted {}
                div .stage-top {
                    span #call-state .callstate { (tr(lang, "Connecting…")) }
                    span #call-timer .timer { "0:00" }
                }
                p #call-banner .banner hidden role="alert" {}
            }
            aside .callside {
                p .eyebrow { (tr(lang, "Live call")) " " span #call-test .badge.test hidden { (tr(lang, "TEST")) } }
                h2 #call-site { }
                dl .callfacts {
                    dt { (tr(lang, "Kiosk")) } dd #call-kiosk {}
                    dt { (tr(lang, "Topic")) } dd #call-topic {}
                    dt { (tr(lang, "IIN")) }
                    dd {
                        span #call-iin .iin {}
                        button #call-reveal type="button" .quiet hidden
                            title=(tr(lang, "Your name and the time are logged")) { (tr(lang, "Reveal (logged)")) }
                    }
                    dt { (tr(lang, "Appeal")) } dd { a #call-appeal .num target="_blank" {} }
                }
                label .notes { (tr(lang, "Notes")) textarea #call-notes rows="6" maxlength="4000"
                    placeholder=(tr(lang, "What the patient asked, what you told them")) {} }
                fieldset .outcome {
                    legend { (tr(lang, "Outcome")) }
                    label { input type="radio" name="call-outcome" value="resolved"; " " (tr(lang, "Resolved on the call")) }
                    label { input type="radio" name="call-outcome" value="follow_up"; " " (tr(lang, "Needs follow-up")) }
                }
                p #call-error .error hidden role="alert" {}
                p #call-saved .saved hidden {}
                div .callbuttons {
                    button #call-mute type="button" aria-pressed="false" { (tr(lang, "Mute")) }
                    button #call-hangup type="button" .danger { (tr(lang, "Hang up")) }
                    button #call-save type="button" .primary { (tr(lang, "Save notes and outcome")) }
                    button #call-close type="button" hidden { (tr(lang, "Close")) }
                }
            }
        }
    }
}

/// The sign-in page in `lang` (the browser's, or the one picked on the page), with `error`
/// (already in `lang`) when the last try was refused.
pub fn login(lang: Lang, csrf: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, trc(lang, "page title", "Sign in"), false))
            body .login-page {
                main .login {
                    h1 { (brand(lang)) }
                    p .lead { (tr(lang, "Sign in to take appeals from the trust kiosks.")) }
                    @if let Some(error) = error {
                        p .error role="alert" { (error) }
                    }
                    form method="post" action="/console/login" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="lang" value=(lang.code());
                        label { (tr(lang, "Username")) input name="username" autocomplete="username" required autofocus; }
                        label { (tr(lang, "Password")) input name="password" type="password" autocomplete="current-password" required; }
                        button type="submit" .primary { (tr(lang, "Sign in")) }
                    }
                    nav .login-langs aria-label=(tr(lang, "Console language")) {
                        @for l in Lang::ALL {
                            @if l == lang { span lang=(l.code()) .here { (l.name()) } }
                            @else { a href={ "/console/login?lang=" (l.code()) } lang=(l.code()) hreflang=(l.code()) { (l.name()) } }
                        }
                    }
                }
            }
        }
    }
}

/// The page of a refused or failed request; `message` is already in `lang`.
pub fn error_page(lang: Lang, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, tr(lang, "Problem"), false))
            body .login-page {
                main .login {
                    h1 { (tr(lang, "Something is not right")) }
                    p .error role="alert" { (message) }
                    p { a href="/console" { (tr(lang, "Back to the appeals")) } }
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
