//! The status page's HTML (maud, escaped by construction), small enough to read on a phone:
//! the appeal's number, where it stands, its dates and the answer; and the one "not found",
//! "too many requests" and "unavailable" pages. Styles are inline (no other request).
//! Every text is `trc(lang, "status page", …)`: its own context in `status.po`, apart from the
//! console's parts.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::db::AppealStatus;
use crate::i18n::{fill, trc, Lang};

use crate::state::AppState;

const STYLE: &str = r#"
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1b2430;background:#eef2f6}
header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:8px 16px;background:#0b5c8e;color:#fff}
.brand{font-weight:700;font-size:20px;letter-spacing:.5px}
nav.langs{display:flex;gap:6px}
nav.langs a{color:#fff;text-decoration:none;padding:0 10px;border-radius:8px;border:1px solid rgba(255,255,255,.6);font-size:15px;font-weight:600;min-height:44px;min-width:48px;display:inline-flex;align-items:center;justify-content:center}
nav.langs a[aria-current]{background:#fff;color:#0b5c8e}
main{max-width:36rem;margin:0 auto;padding:12px 16px 24px}
h1{font-size:22px;margin:4px 0 12px}
h2{font-size:20px;margin:0}
.card{background:#fff;border-radius:14px;padding:16px 18px;margin-bottom:14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.label{color:#5b6675;font-size:15px;margin:0}
.number{font-size:28px;font-weight:700;letter-spacing:2px;margin:0 0 10px;color:#0b5c8e;word-break:break-all}
.badge{display:inline-block;padding:4px 14px;border-radius:999px;font-weight:700}
.st-new{background:#e4ecf7;color:#1d4f91}.st-progress{background:#fff1d6;color:#8a5300}
.st-answered{background:#dcf3e3;color:#1d6b38}.st-closed{background:#e9ebee;color:#454d57}
.sentence{margin:10px 0 0}
ol.steps{list-style:none;display:flex;gap:6px;padding:0;margin:14px 0 0}
ol.steps li{flex:1;text-align:center;font-size:14px;line-height:1.3;padding:6px 2px 0;border-top:5px solid #d3d9e0;color:#5b6675}
ol.steps li.done{border-color:#0b5c8e;color:#1b2430;font-weight:600}
.answer{white-space:pre-wrap;font-size:19px;margin:8px 0 0}
dl{margin:0}
dt{color:#5b6675;font-size:15px}
dd{margin:0 0 8px;font-weight:600}
dd:last-child{margin-bottom:0}
.note{font-size:15px;color:#5b6675;margin:0 4px}
"#;

/// `23.11.2026`: the date in the call-centre's time zone, written as Kazakhstan writes it.
fn date(state: &AppState, t: DateTime<Utc>) -> String {
    state.schedule.local(t).format("%d.%m.%Y").to_string()
}

/// `23.11.2026, 14:32`.
fn stamp(state: &AppState, t: DateTime<Utc>) -> String {
    state
        .schedule
        .local(t)
        .format("%d.%m.%Y, %H:%M")
        .to_string()
}

/// The frame of every page: head (no indexing, phone viewport), the language switch (links
/// that keep the path and change only `?lang=`), the content.
fn frame(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                meta name="referrer" content="no-referrer";
                title { (title) " · Senim" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    span .brand { "Senim" }
                    nav .langs aria-label=(trc(lang, "status page", "Language")) {
                        @for other in Lang::ALL {
                            a href={ "?lang=" (other.code()) } hreflang=(other.code()) lang=(other.code())
                                title=(other.name()) aria-label=(other.name())
                                aria-current=[(other == lang).then_some("page")] { (short_name(other)) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The switch's label of a language (its full name is the link's title), as the kiosk shows it.
fn short_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => "ҚАЗ",
        Lang::Ru => "РУС",
        Lang::En => "ENG",
    }
}

/// Where an appeal stands, as the citizen is told: received, in progress (assigned counts),
/// answered (also when closed after the answer), or closed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Received,
    InProgress,
    Answered,
    Closed,
}

impl Stage {
    pub fn of(appeal: &AppealStatus) -> Stage {
        if appeal.answer.is_some() {
            return Stage::Answered;
        }
        match appeal.status.as_str() {
            "assigned" | "in_progress" => Stage::InProgress,
            "answered" => Stage::Answered,
            "closed" => Stage::Closed,
            _ => Stage::Received,
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Stage::Received => trc(lang, "status page", "Received"),
            Stage::InProgress => trc(lang, "status page", "In progress"),
            Stage::Answered => trc(lang, "status page", "Answered"),
            Stage::Closed => trc(lang, "status page", "Closed"),
        }
    }

    fn sentence(self, lang: Lang) -> &'static str {
        match self {
            Stage::Received => trc(
                lang,
                "status page",
                "Your appeal has been received. A specialist will take it up soon.",
            ),
            Stage::InProgress => trc(
                lang,
                "status page",
                "A specialist is working on your appeal.",
            ),
            Stage::Answered => trc(
                lang,
                "status page",
                "Your appeal has been answered. The answer is below.",
            ),
            Stage::Closed => trc(lang, "status page", "Your appeal has been closed."),
        }
    }

    fn class(self) -> &'static str {
        match self {
            Stage::Received => "st-new",
            Stage::InProgress => "st-progress",
            Stage::Answered => "st-answered",
            Stage::Closed => "st-closed",
        }
    }
}

/// The page of one appeal.
pub fn appeal(state: &AppState, lang: Lang, appeal: &AppealStatus) -> Markup {
    let stage = Stage::of(appeal);
    let reached = |s: Stage| match s {
        Stage::Received => true,
        Stage::InProgress => matches!(stage, Stage::InProgress | Stage::Answered),
        Stage::Answered => stage == Stage::Answered,
        Stage::Closed => false,
    };
    let title = fill(trc(lang, "status page", "Appeal {0}"), &[&appeal.id]);
    let body = html! {
        h1 { (trc(lang, "status page", "Your appeal")) }
        section .card {
            p .label { (trc(lang, "status page", "Appeal number")) }
            p .number #number { (appeal.id) }
            span #stage class={ "badge " (stage.class()) } { (stage.label(lang)) }
            p .sentence #sentence { (stage.sentence(lang)) }
            @if stage != Stage::Closed {
                ol .steps aria-label=(trc(lang, "status page", "Progress")) {
                    @for s in [Stage::Received, Stage::InProgress, Stage::Answered] {
                        li class=[reached(s).then_some("done")] { (s.label(lang)) }
                    }
                }
            }
        }
        @if let Some((text, at)) = &appeal.answer {
            section .card {
                h2 { (trc(lang, "status page", "The answer")) }
                p .label { (trc(lang, "status page", "Answered on")) " " span #answered-at { (stamp(state, *at)) } }
                p .answer #answer lang=[appeal.answer_language.as_deref()] { (text) }
            }
        }
        section .card {
            dl {
                dt { (trc(lang, "status page", "Submitted")) }
                dd #submitted { (stamp(state, appeal.created_at)) }
                dt { (trc(lang, "status page", "Answer due by")) }
                dd #due { (date(state, appeal.due_at)) }
            }
        }
        p .note { (trc(lang, "status page", "Anyone with this page's link can see the answer: share it only with people you trust.")) }
    };
    frame(lang, &title, body)
}

/// The one page for a wrong code, an unknown number and a malformed link alike.
pub fn not_found(lang: Lang) -> Markup {
    message(
        lang,
        trc(lang, "status page", "Appeal not found"),
        trc(lang, "status page",
            "Check the appeal number and the check code on your receipt, or scan its QR code again.",
        ),
    )
}

/// Over the request limit.
pub fn too_many(lang: Lang) -> Markup {
    message(
        lang,
        trc(lang, "status page", "Too many requests"),
        trc(lang, "status page", "Please wait a minute, then try again."),
    )
}

/// The store failed.
pub fn unavailable(lang: Lang) -> Markup {
    message(
        lang,
        trc(lang, "status page", "The page cannot be shown right now"),
        trc(lang, "status page", "Please try again later."),
    )
}

fn message(lang: Lang, title: &str, text: &str) -> Markup {
    frame(
        lang,
        title,
        html! {
            section .card {
                h1 #title { (title) }
                p { (text) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appeal(status: &str, answered: bool) -> AppealStatus {
        let t = Utc::now();
        AppealStatus {
            id: "A-23456789".into(),
            status: status.into(),
            created_at: t,
            due_at: t,
            answer: answered.then(|| ("Жауап".to_string(), t)),
            answer_language: answered.then(|| "kk".to_string()),
        }
    }

    #[test]
    fn the_citizen_sees_four_stages() {
        assert_eq!(Stage::of(&appeal("new", false)), Stage::Received);
        assert_eq!(Stage::of(&appeal("assigned", false)), Stage::InProgress);
        assert_eq!(Stage::of(&appeal("in_progress", false)), Stage::InProgress);
        assert_eq!(Stage::of(&appeal("answered", true)), Stage::Answered);
        assert_eq!(
            Stage::of(&appeal("closed", true)),
            Stage::Answered,
            "closed after the answer: the answer stays on the page"
        );
        assert_eq!(Stage::of(&appeal("closed", false)), Stage::Closed);
    }

    #[test]
    fn the_not_found_page_is_the_same_for_everyone_in_a_language() {
        for lang in Lang::ALL {
            let page = not_found(lang).into_string();
            assert_eq!(page, not_found(lang).into_string());
            assert!(page.contains(r#"<meta name="robots" content="noindex"#));
            assert!(page.contains(r#"name="viewport""#));
            assert!(
                page.contains(r#"href="?lang=ru""#),
                "the switch keeps the path"
            );
        }
    }
}
