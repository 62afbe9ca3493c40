//! The service-guide figures page: totals, by service, by kiosk and by day.

use maud::{html, Markup};

use super::{day, layout, weekday_day};
use crate::db::SessionRow;
use crate::guides::{Figures, Report};
use crate::i18n::{tr, trf, Lang};
use crate::state::AppState;

fn count_cells(lang: Lang, f: &Figures) -> Markup {
    html! {
        td .n { (f.started) }
        td .n.completed { strong { (f.completed) } }
        td .n { (f.abandoned) }
        td { @match f.most_abandoned_step {
            Some(0) => (tr(lang, "overview page")),
            Some(step) => (trf(lang, "step {0}", &[&step])),
            None => span .muted { "—" },
        } }
        td .n { (f.consultant_calls) }
        td .ratings {
            span .good title=(tr(lang, "Good")) { (f.ratings.good) } " / "
            span .neutral title=(tr(lang, "Neutral")) { (f.ratings.neutral) } " / "
            span .bad title=(tr(lang, "Bad")) { (f.ratings.bad) }
        }
    }
}

/// The figures' column heads after the first.
fn figures_columns(lang: Lang) -> Markup {
    html! {
        th .n { (tr(lang, "Started")) } th .n { (tr(lang, "Completed")) } th .n { (tr(lang, "Abandoned")) }
        th { (tr(lang, "Given up most at")) } th .n { (tr(lang, "Consultant calls")) }
        th { (tr(lang, "Rated good / neutral / bad")) }
    }
}

fn figures_head(lang: Lang, first: &str) -> Markup {
    html! {
        thead { tr { th { (first) } (figures_columns(lang)) } }
    }
}

/// The service-guide figures page.
pub fn guides(
    state: &AppState,
    session: &SessionRow,
    lang: Lang,
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
    let mut services: Vec<(String, String)> = state.service_titles_in(lang).into_iter().collect();
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
            h1 { (tr(lang, "Service guides")) }
            @if let Some(title) = &service_title { span .badge { (title) } }
            @if let Some(kiosk) = &report.filter.kiosk { span .badge { (kiosk) } }
            @if report.filter.service.is_some() || report.filter.kiosk.is_some() {
                a href=(link(None, None)) { (tr(lang, "All services and kiosks")) }
            }
        }
        form .filters method="get" action="/console/guides" {
            label { (tr(lang, "From")) input type="date" name="from" value=(report.from); }
            label { (tr(lang, "To")) input type="date" name="to" value=(report.to); }
            label { (tr(lang, "Service"))
                select name="service" {
                    option value="" { (tr(lang, "All services")) }
                    @for (id, title) in &services {
                        option value=(id) selected[report.filter.service.as_deref() == Some(id.as_str())] { (title) }
                    }
                }
            }
            label { (tr(lang, "Kiosk"))
                select name="kiosk" {
                    option value="" { (tr(lang, "All kiosks")) }
                    @for (id, site) in kiosks {
                        option value=(id) selected[report.filter.kiosk.as_deref() == Some(id.as_str())] { (site) " · " (id) }
                    }
                }
            }
            button type="submit" .primary { (tr(lang, "Show")) }
        }
        section .headline.card {
            div #completed .big { (total.completed) }
            div {
                p .what { (tr(lang, "citizens guided to the end of a service guide")) }
                p .muted { (trf(lang, "The “citizens trained to use e-services” figure, {0} – {1} (days in {2}).",
                    &[&day(lang, report.from), &day(lang, report.to), &report.timezone])) }
            }
            dl .stats {
                dt { (tr(lang, "Started")) } dd #started { (total.started) }
                dt { (tr(lang, "Completion rate")) } dd { @if let Some(p) = total.completion_percent() { (p) "%" } @else { "—" } }
                dt { (tr(lang, "Abandoned")) } dd #abandoned { (total.abandoned) }
                dt { (tr(lang, "Consultant calls")) } dd #calls { (total.consultant_calls) }
                dt { (tr(lang, "Rated good / neutral / bad")) } dd { (total.ratings.good) " / " (total.ratings.neutral) " / " (total.ratings.bad) }
            }
        }
        @if report.by_service.is_empty() {
            p .empty { (tr(lang, "No service-guide records from kiosks in this period.")) }
        } @else {
            h2 { (tr(lang, "By service")) }
            table .figures #by-service {
                (figures_head(lang, tr(lang, "Service")))
                tbody { @for s in &report.by_service {
                    tr data-service=(s.service_id) {
                        td { a href=(link(Some(&s.service_id), report.filter.kiosk.as_deref())) { (s.title) }
                            @if s.title != s.service_id { br; small .muted { (s.service_id) } } }
                        (count_cells(lang, &s.figures))
                    }
                } }
            }
            h2 { (tr(lang, "By kiosk")) }
            table .figures #by-kiosk {
                (figures_head(lang, tr(lang, "Kiosk")))
                tbody { @for k in &report.by_kiosk {
                    tr data-kiosk=(k.kiosk_id) {
                        td { a href=(link(report.filter.service.as_deref(), Some(&k.kiosk_id))) { (k.site) }
                            br; small .muted { (k.kiosk_id) } }
                        (count_cells(lang, &k.figures))
                    }
                } }
            }
            h2 { (tr(lang, "By day")) }
            table .figures #by-day {
                thead { tr {
                    th { (tr(lang, "Day")) } (figures_columns(lang))
                    th .bars { span .key.started {} (tr(lang, "started")) " " span .key.completed {} (tr(lang, "completed")) }
                } }
                tbody { @for d in report.by_day.iter().rev() {
                    tr class=[d.figures.is_empty().then_some("quiet")] {
                        td { (weekday_day(lang, d.date)) }
                        (count_cells(lang, &d.figures))
                        td .bars {
                            span .bar.started data-width=(d.figures.started * 100 / busiest) {}
                            span .bar.completed data-width=(d.figures.completed * 100 / busiest) {}
                        }
                    }
                } }
            }
        }
    };
    layout(
        state,
        session,
        lang,
        tr(lang, "Service guides"),
        "guides",
        body,
    )
}
