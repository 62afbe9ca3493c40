//! Upload housekeeping: every minute the bytes of expired unfinished uploads are deleted; at
//! start, before the first request, the uploads folder (or the object store) is matched against
//! the database — bytes no row needs are deleted, open uploads whose bytes are gone are expired
//! (the kiosk starts a new one), and a full upload a kill left unfinished is finished.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use super::chunk::{finish, remove_bytes, store_failure};
use super::headers::valid_upload_id;
use crate::api::ApiFailure;
use crate::db;
use crate::state::AppState;

/// Deletes the bytes of uploads that expired unfinished, and forgets idle upload locks.
pub async fn sweep_expired(state: &Arc<AppState>) -> Result<usize, ApiFailure> {
    let now = Utc::now();
    let ids = db::write(&state.db, move |tx| db::expire_uploads(tx, now)).await?;
    for id in &ids {
        remove_bytes(state, id).await?;
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
    let report = match state.videos.object_store().map_err(store_failure)? {
        Some(s3) => sweep_object_store(state, s3).await?,
        None => sweep_folder(state).await?,
    };
    if report != StartSweep::default() {
        tracing::info!(
            stray_files = report.stray_files,
            lost_uploads = report.lost_uploads,
            offsets_repaired = report.offsets_repaired,
            finished = report.finished,
            "uploads matched against the store at start"
        );
    }
    if report.missing_videos > 0 {
        tracing::error!(
            count = report.missing_videos,
            "received videos are missing from the video storage; restore them from backup"
        );
    }
    Ok(report)
}

/// How old objects no row needs must be before the sweep deletes them: another server may be
/// making an upload whose row is not stored yet.
const STRAY_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// The start-up sweep of an object store shared by several servers: objects of uploads no
/// row needs (older than an hour) deleted, open uploads whose manifest is gone expired, offsets
/// past the durable bytes set back, and a full upload whose video object is there finished.
async fn sweep_object_store(
    state: &Arc<AppState>,
    s3: &Arc<crate::videos::S3Videos>,
) -> Result<StartSweep, ApiFailure> {
    let rows = db::read(&state.db, db::uploads_to_sweep).await?;
    let needed: HashMap<String, db::SweptUpload> =
        rows.into_iter().map(|u| (u.row.id.clone(), u)).collect();
    let mut report = StartSweep::default();
    let (staging, videos) = s3.list_ids().await.map_err(store_failure)?;
    let old = |meta: &object_store::ObjectMeta| meta.last_modified < Utc::now() - STRAY_AFTER;
    for (id, newest) in &staging {
        let open = needed.get(id).is_some_and(|u| !u.attached);
        if valid_upload_id(id) && !open && old(newest) {
            let with_video = !needed.get(id).is_some_and(|u| u.attached);
            s3.remove_upload(id, with_video)
                .await
                .map_err(store_failure)?;
            report.stray_files += 1;
        }
    }
    let mut present = std::collections::HashSet::new();
    for (id, meta) in &videos {
        if needed.contains_key(id) {
            present.insert(id.clone());
        } else if valid_upload_id(id) && old(meta) {
            s3.remove_video(id).await.map_err(store_failure)?;
            report.stray_files += 1;
        }
    }
    let now = Utc::now();
    for (id, upload) in needed {
        if upload.attached {
            if !present.contains(&id) {
                report.missing_videos += 1;
            }
            continue;
        }
        let row = upload.row;
        if present.contains(&id)
            && s3.video_size(&id).await.map_err(store_failure)? == Some(row.length)
        {
            // Completed in the store, killed before the database said so.
            finish(state, &row, None).await?;
            report.finished += 1;
            continue;
        }
        match s3.durable(&id, row.offset).await.map_err(store_failure)? {
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
            Some(_) => {}
        }
    }
    Ok(report)
}

/// The start-up sweep of the data folder's uploads.
async fn sweep_folder(state: &Arc<AppState>) -> Result<StartSweep, ApiFailure> {
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
    Ok(report)
}

async fn remove_if_there(path: &std::path::Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
