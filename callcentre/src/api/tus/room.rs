//! Room for uploads on the call-centre's disk: the free-space reserve (507; not with an object
//! store), a new upload's file (or multipart upload) and row made together (the bytes removed
//! again if the row is not stored; at most one open upload per appeal and a bounded number per
//! kiosk, 429), and an open upload replaced.

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use chrono::Utc;

use super::chunk;
use super::headers::{insufficient_storage, tus_failure};
use crate::api::{ApiFailure, KioskAuth};
use crate::db::{self, UploadRow};
use crate::secrets;
use crate::state::AppState;
use crate::uploads::free_bytes;

/// Refuses with 507 when `bytes` more would leave less than `[storage] reserve_mib` free on the
/// uploads folder's disk.
pub(super) fn check_room(state: &AppState, bytes: u64) -> Result<(), ApiFailure> {
    // Videos in an object store do not touch this disk: the store answers for its space.
    if !matches!(state.videos, crate::videos::Videos::Folder(_)) {
        return Ok(());
    }
    // The uploads folder may be a mount of its own; it is made before the first check.
    let free = free_bytes(&state.data_dir.join("uploads"))?;
    let reserve = state.config.storage.reserve_bytes();
    if free < bytes.saturating_add(reserve) {
        tracing::warn!(
            free_mib = free / (1024 * 1024),
            reserve_mib = state.config.storage.reserve_mib,
            "upload refused: the disk is below its free-space reserve"
        );
        return Err(insufficient_storage());
    }
    Ok(())
}

/// Makes a new upload: room checked, the empty file made (and fsynced), then the row — in one
/// transaction with the per-appeal and per-kiosk checks. The file goes again if the row does
/// not get stored.
pub(super) async fn new_upload(
    state: &Arc<AppState>,
    kiosk: &KioskAuth,
    appeal_id: &str,
    length: u64,
    metadata: &str,
) -> Result<UploadRow, ApiFailure> {
    let s3 = state
        .videos
        .object_store()
        .map_err(chunk::store_failure)?
        .cloned();
    let id = secrets::upload_id();
    match &s3 {
        // The multipart upload and its manifest, before the row.
        Some(s3) => s3.create(&id).await.map_err(chunk::store_failure)?,
        None => {
            let dir = state.data_dir.join("uploads");
            tokio::fs::create_dir_all(&dir).await?;
            check_room(state, length)?;
            let path = state.upload_path(&id);
            let made = async {
                tokio::fs::File::create_new(&path).await?.sync_all().await?;
                tokio::fs::File::open(&dir).await?.sync_all().await
            };
            if let Err(e) = made.await {
                let _ = tokio::fs::remove_file(&path).await;
                return Err(chunk::disk_failure(e));
            }
        }
    }
    let now = Utc::now();
    let expires = now + chrono::Duration::hours(i64::from(state.config.uploads.expire_hours));
    let max_open = state.config.storage.max_open_uploads_per_kiosk;
    let (row_id, kiosk_id, appeal, meta) = (
        id.clone(),
        kiosk.kiosk_id.clone(),
        appeal_id.to_string(),
        metadata.to_string(),
    );
    let stored = db::write(&state.db, move |tx| {
        db::create_upload(
            tx, &row_id, &kiosk_id, &appeal, length, &meta, now, expires, max_open,
        )
    })
    .await;
    let outcome = match stored {
        Ok(outcome) => outcome,
        Err(e) => {
            remove_quietly(state, &id).await;
            return Err(e.into());
        }
    };
    match outcome {
        db::NewUpload::Created => {
            tracing::info!(kiosk = %kiosk.kiosk_id, upload = %id, length, "upload created");
            let key = id.clone();
            db::read(&state.db, move |c| db::get_upload(c, &key))
                .await?
                .ok_or_else(|| ApiFailure::not_found("upload"))
        }
        db::NewUpload::Existing(row) => {
            // Another creation for the same appeal got there first.
            remove_quietly(state, &id).await;
            Ok(row)
        }
        db::NewUpload::TooMany(open) => {
            remove_quietly(state, &id).await;
            tracing::warn!(kiosk = %kiosk.kiosk_id, open, "upload refused: too many open uploads");
            Err(tus_failure(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_uploads",
                format!(
                    "this kiosk has {open} unfinished uploads; finish or delete one, or wait \
                     for them to expire, then try again"
                ),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(60u32)))
        }
    }
}

/// An open upload a new creation replaces (its size differs, or another token of the kiosk
/// made it): expired and its bytes deleted.
pub(super) async fn expire_replaced(
    state: &Arc<AppState>,
    row: UploadRow,
) -> Result<(), ApiFailure> {
    let _guard = state.upload_locks().get(&row.id).lock_owned().await;
    let key = row.id.clone();
    db::write(&state.db, move |tx| db::expire_upload(tx, &key, Utc::now())).await?;
    remove_quietly(state, &row.id).await;
    state.upload_locks().forget(&row.id);
    Ok(())
}

/// Removes the bytes of an upload we made, if they are there; a failure only leaves work for
/// the start-up sweep.
async fn remove_quietly(state: &AppState, id: &str) {
    if let Err(e) = chunk::remove_bytes(state, id).await {
        tracing::warn!(status = %e.status, "could not delete an upload's bytes");
    }
}
