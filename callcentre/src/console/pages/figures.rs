//! The appeal figures page: the range form and CSV link, headline numbers, three bar charts
//! drawn here as inline SVG (appeals per month, share answered within the limit, median time
//! to answer; each with a title, a description, axis labels and every value printed), and the
//! tables by month, site, topic and status.

use chrono::{Datelike, NaiveDate};
use maud::{html, Markup, PreEscaped};

use super::layout;
use crate::db::{SessionRow, STATUSES};
use crate::figures::{Counts, MonthRow, Report};
use crate::i18n::{tr, trc, trf, Lang};
use crate::state::AppState;

/// A number with the language's decimal mark (a comma in Kazakh and Russian).
fn decimal(lang: Lang, x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    if lang == Lang::En {
        s
    } else {
        s.replace('.', ",")
    }
}

fn percent(lang: Lang, p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{}%", decimal(lang, p, 0)),
        None => "—".into(),
    }
}

/// Hours as the page shows a time to answer: hours under two days, days from there.
fn duration(lang: Lang, hours: Option<f64>) -> String {
    match hours {
        None => "—".into(),
        Some(h) if h < 48.0 => trf(lang, "{0} h", &[&decimal(lang, h, 0)]),
        Some(h) => trf(lang, "{0} d", &[&decimal(lang, h / 24.0, 1)]),
    }
}

fn month_abbr(lang: Lang, month: u32) -> &'static str {
    match month {
        1 => trc(lang, "month", "Jan"),
        2 => trc(lang, "month", "Feb"),
        3 => trc(lang, "month", "Mar"),
        4 => trc(lang, "month", "Apr"),
        5 => trc(lang, "month", "May"),
        6 => trc(lang, "month", "Jun"),
        7 => trc(lang, "month", "Jul"),
        8 => trc(lang, "month", "Aug"),
        9 => trc(lang, "month", "Sep"),
        10 => trc(lang, "month", "Oct"),
        11 => trc(lang, "month", "Nov"),
        _ => trc(lang, "month", "Dec"),
    }
}

/// `Mar 2026`, in the page's language.
pub fn month_name(lang: Lang, m: NaiveDate) -> String {
    format!("{} {}", month_abbr(lang, m.month()), m.year())
}

fn topic_name(lang: Lang, topic: &str) -> String {
    match topic {
        "complaint" => trc(lang, "topic", "Complaint").into(),
        "request" => trc(lang, "topic", "Request").into(),
        "gratitude" => trc(lang, "topic", "Gratitude").into(),
        "bribe_report" => trc(lang, "topic", "Report of a bribe demand").into(),
        "other" => trc(lang, "topic", "Other").into(),
        other => other.to_string(),
    }
}

fn status_name(lang: Lang, status: &str) -> &'static str {
    crate::db::status_label(lang, status)
}

/// One bar of a chart: its label under the axis, its height, the value printed above it.
struct Bar {
    label: String,
    value: Option<f64>,
    text: String,
    /// The month is not over: drawn paler with a dashed outline, and said so in its title.
    partial: bool,
}

/// A round number at or above `x` for the top of an axis (1, 2, 2.5 or 5 times a power of 10).
fn nice_top(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|v| *v >= x - 1e-9)
        .unwrap_or(10.0 * power)
}

const W: f64 = 900.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 44.0;

/// A bar chart as inline SVG, accessible on its own: `<title>` and `<desc>` name it and say
/// what it shows, the y axis has a label and gridlines with values, every bar has its value
/// printed above it (a month without a value says "—") and a `<title>` of its own.
struct Chart<'a> {
    id: &'a str,
    title: &'a str,
    desc: String,
    y_label: &'a str,
    /// The axis top; `None`: a round number above the largest value.
    top: Option<f64>,
    colour: &'a str,
    /// Said of a month that is not over.
    partial_note: &'a str,
}

fn bar_chart(chart: &Chart<'_>, bars: &[Bar], tick: impl Fn(f64) -> String) -> Markup {
    let Chart {
        id,
        title,
        desc,
        y_label,
        top: fixed_top,
        colour,
        partial_note,
    } = chart;
    let max = bars.iter().filter_map(|b| b.value).fold(0.0, f64::max);
    let top = fixed_top.unwrap_or_else(|| nice_top(max));
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.7).max(2.0);
    let y = |v: f64| TOP + plot_h - (v / top).clamp(0.0, 1.0) * plot_h;
    // Labels under every bar while they fit, else every 2nd, 3rd… month.
    let every = ((44.0 / slot).ceil() as usize).max(1);
    let print_values = slot >= 26.0;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure .chart {
            svg #(id) viewBox={ "0 0 " (W) " " (H) } role="img" width="100%"
                aria-labelledby={ (title_id) " " (desc_id) } font-size="12"
                font-family="Noto Sans, DejaVu Sans, sans-serif" {
                title #(title_id) { (title) }
                desc #(desc_id) { (desc) }
                // Gridlines and their values: 0, half, the top.
                @for frac in [0.0, 0.5, 1.0] {
                    @let v = top * frac;
                    line x1=(LEFT) x2=(W - RIGHT) y1=(y(v)) y2=(y(v))
                        stroke=(if frac == 0.0 { "#667085" } else { "#d9dee7" }) stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(y(v) + 4.0) text-anchor="end" fill="#667085" { (tick(v)) }
                }
                text transform={ "translate(14 " (TOP + plot_h / 2.0) ") rotate(-90)" }
                    text-anchor="middle" fill="#1b2430" font-weight="600" { (y_label) }
                @for (i, bar) in bars.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                    @let cx = x + bar_w / 2.0;
                    g .bar data-label=(bar.label) data-value=(bar.text) {
                        title { (bar.label) ": " (bar.text) @if bar.partial { " (" (partial_note) ")" } }
                        @if let Some(v) = bar.value {
                            @if bar.partial {
                                rect x=(x) y=(y(v)) width=(bar_w) height=((y(0.0) - y(v)).max(0.0))
                                    fill=(colour) fill-opacity="0.4" stroke=(colour)
                                    stroke-dasharray="4 3" {}
                            } @else {
                                rect x=(x) y=(y(v)) width=(bar_w) height=((y(0.0) - y(v)).max(0.0))
                                    fill=(colour) {}
                            }
                        }
                        @if print_values {
                            text x=(cx) y=(bar.value.map_or(y(0.0), y) - 5.0) text-anchor="middle"
                                fill="#1b2430" font-weight="600" { (bar.text) }
                        }
                        @if i % every == 0 {
                            text x=(cx) y=(H - BOTTOM + 16.0) text-anchor="middle" fill="#1b2430" {
                                (bar.label)
                            }
                        }
                    }
                }
            }
        }
    }
}

fn count_cells(lang: Lang, c: &Counts, median: Option<f64>) -> Markup {
    html! {
        td .n { (c.appeals) }
        td .n { (c.answered) }
        td .n { (c.within_limit) }
        td .n { (c.overdue_open) }
        td .n { (percent(lang, c.within_percent())) }
        td .n { (duration(lang, median)) }
    }
}

fn count_head(lang: Lang, first: &str) -> Markup {
    html! {
        thead { tr {
            th scope="col" { (first) }
            th scope="col" .n { (tr(lang, "Appeals")) }
            th scope="col" .n { (tr(lang, "Answered")) }
            th scope="col" .n { (tr(lang, "Answered within the limit")) }
            th scope="col" .n { (tr(lang, "Overdue without an answer")) }
            th scope="col" .n { (tr(lang, "Share within the limit")) }
            th scope="col" .n { (tr(lang, "Median time to answer")) }
        } }
    }
}

const STYLE: &str = "
figure.chart { margin: 0 0 1.2rem; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 0.6rem 0.8rem; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
.charts h2 { margin-top: 1rem; }
.figure-note { margin: -0.4rem 0 1rem; }
table.figures tbody th { text-transform: none; letter-spacing: normal; font-size: 1rem;
  color: var(--ink); font-weight: 600; }
.wide { overflow-x: auto; }
table.figures th.month { white-space: nowrap; }
table.figures tr.total th, table.figures tr.total td { border-top: 2px solid var(--line); }
";

/// The appeal figures page.
pub fn figures(state: &AppState, session: &SessionRow, lang: Lang, report: &Report) -> Markup {
    let total = &report.total;
    let range = format!(
        "{} – {}",
        month_name(lang, report.months.from),
        month_name(lang, report.months.to)
    );
    let from = report.months.from.format("%Y-%m").to_string();
    let to = report.months.to.format("%Y-%m").to_string();
    let month_bars = |f: &dyn Fn(&MonthRow) -> (Option<f64>, String)| {
        report
            .by_month
            .iter()
            .map(|m| {
                let (value, text) = f(m);
                Bar {
                    label: month_name(lang, m.month),
                    value,
                    text,
                    partial: report.current_month == Some(m.month),
                }
            })
            .collect::<Vec<_>>()
    };
    let appeals_bars =
        month_bars(&|m| (Some(m.counts.appeals as f64), m.counts.appeals.to_string()));
    let share_bars = month_bars(&|m| {
        let p = m.counts.within_percent();
        (p, percent(lang, p))
    });
    let median_bars = month_bars(&|m| {
        (
            m.median_hours.map(|h| h / 24.0),
            duration(lang, m.median_hours),
        )
    });
    let csv = format!("/console/figures.csv?from={from}&to={to}");
    let so_far = tr(lang, "the month is not over: figures so far");
    let body = html! {
        style { (PreEscaped(STYLE)) }
        div .title-row {
            h1 { (tr(lang, "Appeal figures")) }
            span .badge { (range) }
            a #csv href=(csv) download { (tr(lang, "Download CSV")) }
        }
        form .filters method="get" action="/console/figures" {
            label { (tr(lang, "First month")) input type="month" name="from" value=(from) required; }
            label { (tr(lang, "Last month")) input type="month" name="to" value=(to) required; }
            button type="submit" .primary { (tr(lang, "Show")) }
        }
        p .muted.figure-note {
            (trf(lang, "Appeals by the month they were made ({0} time). Test appeals are not counted.", &[&report.timezone]))
            " "
            @if !report.sites.is_empty() {
                (trf(lang, "Your sites only: {0}.", &[&report.sites.join(", ")]))
                " "
            }
            @if !report.anticorruption {
                (tr(lang, "Reports of bribe demands are counted only for operators with the anti-corruption role."))
            }
        }
        section .headline.card {
            div #total-appeals .big { (total.appeals) }
            div { p .what { (tr(lang, "appeals in these months")) } }
            dl .stats {
                dt { (tr(lang, "Answered")) } dd #total-answered { (total.answered) }
                dt { (tr(lang, "Answered within the limit")) } dd #total-within { (total.within_limit) }
                dt { (tr(lang, "Share within the limit")) } dd #total-share { (percent(lang, total.within_percent())) }
                dt { (tr(lang, "Median time to answer")) } dd #total-median { (duration(lang, report.median_hours)) }
                dt { (tr(lang, "Overdue without an answer")) } dd #total-overdue { (total.overdue_open) }
            }
        }
        @if total.appeals == 0 {
            p .empty { (tr(lang, "No appeals were made in these months.")) }
        } @else {
            div .charts {
                @if let Some(m) = report.current_month {
                    p .muted.figure-note #partial-note {
                        (trf(lang, "{0} is not over yet: its bars are paler, with a dashed outline, and show the figures so far.", &[&month_name(lang, m)]))
                    }
                }
                h2 { (tr(lang, "Appeals per month")) }
                (bar_chart(&Chart { id: "chart-appeals", title: tr(lang, "Appeals per month"),
                    desc: trf(lang, "Number of appeals made each month, {0}.", &[&range]),
                    y_label: tr(lang, "Appeals"), top: None, colour: "#1d5fbf", partial_note: so_far }, &appeals_bars,
                    |v| decimal(lang, v, if v.fract() == 0.0 { 0 } else { 1 })))
                h2 { (tr(lang, "Share answered within the legal limit")) }
                p .muted.figure-note { (tr(lang, "Of the appeals answered or past their due date; appeals closed without an answer are left out.")) }
                (bar_chart(&Chart { id: "chart-share", title: tr(lang, "Share answered within the legal limit"),
                    desc: trf(lang, "Percent of each month's appeals answered by their due date, {0}.", &[&range]),
                    y_label: tr(lang, "Percent"), top: Some(100.0), colour: "#1a7f37", partial_note: so_far }, &share_bars,
                    |v| format!("{}%", decimal(lang, v, 0))))
                h2 { (tr(lang, "Median time to answer")) }
                (bar_chart(&Chart { id: "chart-median", title: tr(lang, "Median time to answer"),
                    desc: trf(lang, "Median days from an appeal to its answer, by the month the appeal was made, {0}.", &[&range]),
                    y_label: tr(lang, "Days"), top: None, colour: "#b26a00", partial_note: so_far }, &median_bars,
                    |v| decimal(lang, v, if v.fract() == 0.0 { 0 } else { 1 })))
            }
            h2 { (tr(lang, "By month")) }
            table .figures #by-month {
                (count_head(lang, tr(lang, "Month")))
                tbody { @for m in &report.by_month {
                    tr data-month=(m.month.format("%Y-%m")) class=[(m.counts.appeals == 0).then_some("quiet")] {
                        th scope="row" .month { (month_name(lang, m.month)) }
                        (count_cells(lang, &m.counts, m.median_hours))
                    }
                } }
            }
            h2 { (tr(lang, "By site")) }
            table .figures #by-site {
                (count_head(lang, tr(lang, "Site")))
                tbody { @for s in &report.by_site {
                    tr data-site=(s.key) {
                        th scope="row" { (s.key) }
                        (count_cells(lang, &s.counts, s.median_hours))
                    }
                } }
            }
            h2 { (tr(lang, "Appeals per site and month")) }
            div .wide {
                table .figures #site-months {
                    thead { tr {
                        th scope="col" { (tr(lang, "Site")) }
                        @for m in &report.by_month { th scope="col" .n { (month_name(lang, m.month)) } }
                        th scope="col" .n { (tr(lang, "All months")) }
                    } }
                    tbody { @for s in &report.by_site {
                        tr data-site=(s.key) {
                            th scope="row" { (s.key) }
                            @for n in &s.per_month { td .n { (n) } }
                            td .n { strong { (s.counts.appeals) } }
                        }
                    } }
                }
            }
            h2 { (tr(lang, "By topic")) }
            table .figures #by-topic {
                (count_head(lang, tr(lang, "Topic")))
                tbody { @for t in &report.by_topic {
                    tr data-topic=(t.key) {
                        th scope="row" { (topic_name(lang, &t.key)) }
                        (count_cells(lang, &t.counts, t.median_hours))
                    }
                } }
            }
            h2 { (tr(lang, "By status now")) }
            table .figures #by-status {
                thead { tr {
                    th scope="col" { (tr(lang, "Month")) }
                    @for s in STATUSES { th scope="col" .n { (status_name(lang, s)) } }
                } }
                tbody {
                    @for m in &report.by_month {
                        tr data-month=(m.month.format("%Y-%m")) class=[(m.counts.appeals == 0).then_some("quiet")] {
                            th scope="row" .month { (month_name(lang, m.month)) }
                            @for n in m.statuses { td .n { (n) } }
                        }
                    }
                    tr .total {
                        th scope="row" { (tr(lang, "All months")) }
                        @for (i, n) in report.by_status.iter().enumerate() {
                            td .n data-status=(STATUSES[i]) { strong { (n) } }
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
        tr(lang, "Appeal figures"),
        "figures",
        body,
    )
}
