//! `guides report` without `--json`: the service-guide figures as aligned text tables (total,
//! by service, by kiosk, by day).

/// The report as aligned text tables.
pub(super) fn guides_text(report: &crate::guides::Report) -> String {
    use crate::guides::Figures;
    let header = [
        "STARTED",
        "COMPLETED",
        "ABANDONED",
        "MOST GIVEN UP AT",
        "CONSULTANT CALLS",
        "GOOD",
        "NEUTRAL",
        "BAD",
    ];
    let cells = |f: &Figures| -> Vec<String> {
        vec![
            f.started.to_string(),
            f.completed.to_string(),
            f.abandoned.to_string(),
            f.most_abandoned_step
                .map(|s| {
                    if s == 0 {
                        "overview".into()
                    } else {
                        format!("step {s}")
                    }
                })
                .unwrap_or_else(|| "-".into()),
            f.consultant_calls.to_string(),
            f.ratings.good.to_string(),
            f.ratings.neutral.to_string(),
            f.ratings.bad.to_string(),
        ]
    };
    let table = |first: &str, rows: Vec<(String, &Figures)>| -> String {
        let mut lines: Vec<Vec<String>> = vec![std::iter::once(first.to_string())
            .chain(header.iter().map(|h| h.to_string()))
            .collect()];
        for (name, f) in rows {
            lines.push(std::iter::once(name).chain(cells(f)).collect());
        }
        let widths: Vec<usize> = (0..lines[0].len())
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut text = String::new();
        for line in lines {
            let row: Vec<String> = line
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            text.push_str(row.join("  ").trim_end());
            text.push('\n');
        }
        text
    };
    let total = &report.total;
    let mut text = format!(
        "Service guides, {} to {}, days in {}{}\n\n\
         Citizens guided to the end (trained to use e-services): {}\n\
         Started: {}   Abandoned: {}   Consultant calls: {}   Ratings: {} good, {} neutral, {} bad\n\n",
        report.from,
        report.to,
        report.timezone,
        report
            .catalog_version
            .as_ref()
            .map(|v| format!(", titles from catalogue {v}"))
            .unwrap_or_default(),
        total.completed,
        total.started,
        total.abandoned,
        total.consultant_calls,
        total.ratings.good,
        total.ratings.neutral,
        total.ratings.bad,
    );
    if report.by_service.is_empty() {
        text.push_str("No service-guide records from kiosks in this period.\n");
        return text;
    }
    text.push_str(&table(
        "SERVICE",
        report
            .by_service
            .iter()
            .map(|s| {
                let name = if s.title == s.service_id {
                    s.service_id.clone()
                } else {
                    format!("{} ({})", s.title, s.service_id)
                };
                (name, &s.figures)
            })
            .collect(),
    ));
    text.push('\n');
    text.push_str(&table(
        "KIOSK",
        report
            .by_kiosk
            .iter()
            .map(|k| (format!("{} {}", k.kiosk_id, k.site), &k.figures))
            .collect(),
    ));
    text.push('\n');
    text.push_str(&table(
        "DAY",
        report
            .by_day
            .iter()
            .filter(|d| !d.figures.is_empty())
            .map(|d| (d.date.to_string(), &d.figures))
            .collect(),
    ));
    text
}
