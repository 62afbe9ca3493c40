//! `senim-callcentre purge [--dry-run]`: erases the personal data of appeals closed more than
//! `[retention] days` ago (the server also does it daily), or only says what it would erase.

use std::io::Write;

use chrono::Utc;

use crate::config::Config;

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Runs the purge once and prints what it erased (or would erase).
pub(super) fn purge(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let data = &config.server.data_dir;
    let db = super::open_db(config)?;
    let days = config.retention.days;
    let videos = crate::videos::Videos::open(&config.storage, data)?;
    let report = crate::retention::purge_videos(&db, &videos, days, Utc::now(), dry_run)?;
    let cutoff = report.cutoff.format("%Y-%m-%d %H:%M UTC");
    let counts = format!(
        "appeals: {}; videos: {} ({})",
        report.appeals,
        report.videos,
        megabytes(report.bytes)
    );
    let mut out = std::io::stdout().lock();
    if dry_run {
        writeln!(
            out,
            "Would erase the personal data of appeals closed before {cutoff} (more than {days} \
             days ago): {counts}. Nothing was changed."
        )?;
    } else {
        writeln!(
            out,
            "Erased the personal data of appeals closed before {cutoff} (more than {days} days \
             ago): {counts}. Their numbers, dates, topics and statuses stay for the figures."
        )?;
    }
    Ok(())
}
