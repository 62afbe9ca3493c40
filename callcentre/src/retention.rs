//! Retention: the personal data of appeals closed more than `[retention] days` ago is erased
//! (IIN, phone, text, answer, call notes, history notes, SMS, status links, the video file);
//! numbers, dates, topic, site, status and durations stay for the figures. Run by
//! `senim-callcentre purge [--dry-run]` and daily by the server ([`run_daily`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::{self, Db, DbError};
use crate::state::AppState;

/// How long after start the server's first purge runs (then every 24 hours).
pub const FIRST_RUN_AFTER: Duration = Duration::from_secs(10 * 60);
const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// What a purge erased, or would erase (`dry_run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub dry_run: bool,
    /// Appeals closed at or before this time are erased.
    pub cutoff: DateTime<Utc>,
    /// Appeals whose personal data was (would be) erased.
    pub appeals: usize,
    /// Video files deleted (that would be deleted).
    pub videos: usize,
    /// Their size in bytes.
    pub bytes: u64,
}

/// Why a purge failed.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the personal data is erased in the database, but the video {path} could not be \
         deleted: {source}. Check the permissions of the uploads folder; the next purge tries \
         again"
    )]
    DeleteVideo {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The size of a file, `None` if it does not exist (or cannot be read).
fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Erases (or with `dry_run` only counts) the personal data of appeals closed more than
/// `days` days before `now`, in one transaction, with one `purge` row in the audit when any
/// appeal was erased; then deletes their video files from `uploads_dir` (a missing file is
/// fine). Video files of appeals erased earlier that are still there (a deletion that failed,
/// a crash after commit) are deleted too. Running it again erases nothing more.
pub fn purge(
    db: &Db,
    uploads_dir: &Path,
    days: u32,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PurgeReport, PurgeError> {
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let (appeals, upload_ids) = if dry_run {
        db.read(|c| {
            let due = db::due_erasures(c, cutoff)?;
            let mut ids = db::erased_upload_ids(c)?;
            ids.extend(due.iter().flat_map(|d| d.upload_ids.iter().cloned()));
            Ok((due.len(), ids))
        })?
    } else {
        db.write(|tx| {
            let due = db::due_erasures(tx, cutoff)?;
            let mut erased = 0;
            for d in &due {
                if db::erase_appeal(tx, &d.appeal_id, now)? {
                    erased += 1;
                }
            }
            if erased > 0 {
                let detail = format!(
                    "erased the personal data of {erased} appeals closed before {} \
                     ({days} days)",
                    db::ts(cutoff)
                );
                db::audit(
                    tx,
                    &db::AuditEntry {
                        actor: Some(db::RETENTION_ACTOR),
                        action: "purge",
                        detail: Some(&detail),
                        ..db::AuditEntry::default()
                    },
                    now,
                )?;
            }
            // Every upload of an erased appeal, those just erased included.
            Ok::<_, DbError>((erased, db::erased_upload_ids(tx)?))
        })?
    };
    let mut report = PurgeReport {
        dry_run,
        cutoff,
        appeals,
        videos: 0,
        bytes: 0,
    };
    let mut first_error = None;
    for id in upload_ids {
        let path = uploads_dir.join(&id);
        let Some(size) = file_size(&path) else {
            continue;
        };
        if !dry_run {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    tracing::error!(upload = %id, error = %source, "retention could not delete a video");
                    first_error.get_or_insert(PurgeError::DeleteVideo { path, source });
                    continue;
                }
            }
        }
        report.videos += 1;
        report.bytes += size;
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The server's purge, off the async threads, with its outcome logged (counts only).
pub async fn purge_now(state: &Arc<AppState>) -> Result<PurgeReport, PurgeError> {
    let db = Arc::clone(&state.db);
    let uploads = state.data_dir.join("uploads");
    let days = state.config.retention.days;
    let report = tokio::task::spawn_blocking(move || purge(&db, &uploads, days, Utc::now(), false))
        .await
        .map_err(|_| PurgeError::Db(DbError::Task))??;
    if report.appeals > 0 || report.videos > 0 {
        tracing::info!(
            appeals = report.appeals,
            videos = report.videos,
            bytes = report.bytes,
            "retention erased the personal data of closed appeals"
        );
    }
    Ok(report)
}

/// The server's daily purge: first [`FIRST_RUN_AFTER`] start, then every 24 hours. Errors are
/// logged and the next run tries again.
pub async fn run_daily(state: Arc<AppState>) {
    tokio::time::sleep(FIRST_RUN_AFTER).await;
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = purge_now(&state).await {
            tracing::error!(error = %e, "retention purge failed; it runs again in 24 hours");
        }
    }
}
