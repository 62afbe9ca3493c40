//! Upload housekeeping: every minute the bytes of expired unfinished uploads are deleted; at
//! start, before the first request, the uploads folder is matched against the store — files no
//! row needs are deleted, open uploads whose file is gone are expired (the kiosk starts a new
//! one), and a full upload a kill left unfinished is finished.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use super::chunk::finish;
use super::headers::valid_upload_id;
use crate::api::ApiFailure;
use crate::db;
use crate::state::AppState;

/// Deletes the bytes of uploads that expired unfinished, and forgets idle upload locks.
pub async fn sweep_expired(state: &Arc<AppState>) -> Result<usize, ApiFailure> {
    let now = Utc::now();
    let ids = db::write(&state.db, move |tx| db::expire_uploads(tx, now)).await?;
    for id in &ids {
        remove_if_there(&state.upload_path(id)).await?;
        state.upload_locks().forget(id);
    }
    state.upload_locks().prune_idle();
    Ok(ids.len())
}

/// What the start-up sweep did (counts only: nothing personal).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StartSweep {
    /// Files in the uploads folder that no open upload or appeal needed, deleted.
    pub stray_files: usize,
    /// Open uploads whose file was gone, expired (their kiosks start new ones).
    pub lost_uploads: usize,
    /// Open uploads whose file was shorter than the stored offset, set back to the file.
    pub offsets_repaired: usize,
    /// Open uploads with every byte stored but not finished, finished now.
    pub finished: usize,
    /// Appeals' received videos whose file is missing (reported; nothing to do).
    pub missing_videos: usize,
}

/// Matches the uploads folder against the store; run at start, before requests are served.
pub async fn sweep_at_start(state: &Arc<AppState>) -> Result<StartSweep, ApiFailure> {
    let dir = state.data_dir.join("uploads");
    tokio::fs::create_dir_all(&dir).await?;
    let rows = db::read(&state.db, db::uploads_to_sweep).await?;
    let mut needed: HashMap<String, db::SweptUpload> =
        rows.into_iter().map(|u| (u.row.id.clone(), u)).collect();
    let mut report = StartSweep::default();

    let mut entries = tokio::fs::read_dir(&dir).await?;
    let mut present = HashMap::new();
    while let Some(entry) = entries.next_entry().await? {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        // Only files named like our uploads are ours to delete.
        if !valid_upload_id(&name) {
            continue;
        }
        if needed.contains_key(&name) {
            present.insert(name, entry.metadata().await?.len());
        } else {
            remove_if_there(&entry.path()).await?;
            report.stray_files += 1;
        }
    }

    let now = Utc::now();
    for (id, upload) in needed.drain() {
        let size = present.get(&id).copied();
        if upload.attached {
            if size.is_none() {
                report.missing_videos += 1;
            }
            continue;
        }
        let row = upload.row;
        match size {
            None => {
                db::write(&state.db, move |tx| db::expire_upload(tx, &id, now)).await?;
                report.lost_uploads += 1;
            }
            Some(len) if len < row.offset => {
                let expires = db::parse_ts(&row.expires_at).unwrap_or(now);
                db::write(&state.db, move |tx| {
                    db::set_upload_offset(tx, &id, len, expires)
                })
                .await?;
                report.offsets_repaired += 1;
            }
            Some(_) if row.offset == row.length => {
                finish(state, &row, None).await?;
                report.finished += 1;
            }
            Some(_) => {}
        }
    }
    if report != StartSweep::default() {
        tracing::info!(
            stray_files = report.stray_files,
            lost_uploads = report.lost_uploads,
            offsets_repaired = report.offsets_repaired,
            finished = report.finished,
            "uploads folder matched against the store at start"
        );
    }
    if report.missing_videos > 0 {
        tracing::error!(
            count = report.missing_videos,
            "received videos are missing from the uploads folder; restore them from backup"
        );
    }
    Ok(report)
}

async fn remove_if_there(path: &std::path::Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
