//! `senim-callcentre audit --from D --to D [--json]`: the audit trail for a range of days in
//! the call-centre's time zone (both included), oldest first, one line per row or one JSON
//! array.

use std::io::Write;

use chrono::Utc;

use crate::config::Config;
use crate::db;

/// Rows read per query.
const BATCH: u32 = 1000;

/// Prints the audit rows from `from` to `to` (YYYY-MM-DD, the call-centre's local days).
pub fn run(
    config: &Config,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let schedule = config
        .schedule()
        .map_err(|e| anyhow::anyhow!("hours.{e}"))?;
    let tz = schedule.tz();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let range = crate::guides::Range::parse(from, to, today).map_err(|e| match e {
        crate::guides::RangeError::Date { .. } => anyhow::anyhow!("--{e}"),
        other => anyhow::anyhow!("{other}"),
    })?;
    let (start, end) = range.bounds(tz);
    let db = super::open_db(config)?;
    let mut rows = Vec::new();
    loop {
        let offset = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let batch = db.read(|c| db::list_audit(c, start, end, BATCH, offset))?;
        let done = batch.len() < BATCH as usize;
        rows.extend(batch);
        if done {
            break;
        }
    }
    rows.reverse();
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    for r in rows {
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{}\t{}\t{}\tappeal={}\ttarget={}\taddress={}\t{}",
            r.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S%:z"),
            dash(&r.actor),
            r.action,
            dash(&r.appeal_id),
            dash(&r.target),
            dash(&r.address),
            r.detail.unwrap_or_default()
        )?;
    }
    Ok(())
}
