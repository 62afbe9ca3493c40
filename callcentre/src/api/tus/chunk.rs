//! Writing one PATCH's chunk at the upload's durable offset: in a task of its own holding the
//! upload's lock, checksummed, fsynced before the offset moves, a full disk answered 507 with
//! the chunk discarded, and the finished upload hashed and attached to its appeal (its last
//! offset and completion in one transaction) or, when it does not match, deleted.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use chrono::Utc;
use futures_util::StreamExt;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::OwnedMutexGuard;

use super::headers::*;
use crate::api::ApiFailure;
use crate::db::{self, UploadRow};
use crate::state::{AppState, LiveEvent};
use crate::uploads::{is_disk_full, RunningHash};
use crate::videos::writer::UploadWriter;
use crate::videos::{is_lost, is_store_error, VideoError};

/// How a chunk's body ended.
enum Ending {
    Complete,
    /// The connection broke or went silent.
    Cut,
    /// More bytes than the upload has room for.
    TooLarge,
    /// Writing failed (a full disk, mostly).
    Failed(std::io::Error),
}

/// Writes one chunk at the upload's durable offset; returns the new offset. Runs in its own
/// task, which keeps the upload's lock, so that a client hanging up cannot cancel it half-way
/// nor let another request in before its bytes are settled.
pub(super) async fn write_chunk(
    state: &Arc<AppState>,
    row: UploadRow,
    checksum: Option<Checksum>,
    body: Body,
    mut slot: OwnedMutexGuard<Option<RunningHash>>,
) -> Result<u64, ApiFailure> {
    let state = Arc::clone(state);
    tokio::spawn(async move { write_chunk_inner(&state, row, checksum, body, &mut slot).await })
        .await
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the upload task stopped; HEAD the upload and resume",
            )
        })?
}

async fn write_chunk_inner(
    state: &Arc<AppState>,
    row: UploadRow,
    checksum: Option<Checksum>,
    body: Body,
    running: &mut Option<RunningHash>,
) -> Result<u64, ApiFailure> {
    // The running hash is only good if it has seen exactly the durable bytes.
    if running.as_ref().is_some_and(|r| r.hashed != row.offset) {
        *running = None;
    }
    if running.is_none() && row.offset == 0 {
        *running = Some(RunningHash::start());
    }
    let idle = Duration::from_secs(state.config.uploads.idle_timeout_secs);
    let mut sink = match open_sink(state, &row).await {
        Ok(sink) => sink,
        Err(Lost) => {
            // The answer comes before the body was read: read it away first, or the kiosk,
            // still sending, sees a broken pipe instead of `upload_lost`.
            drain(body, row.length - row.offset, idle).await;
            return Err(lost_upload(state, &row).await);
        }
        Err(Failed(e)) => return Err(e),
    };
    let room = row.length - row.offset;
    let mut crc32 = crc32fast::Hasher::new();
    let mut sha1 = Sha1::new();
    let mut sha256 = Sha256::new();
    let mut written: u64 = 0;
    let mut stream = body.into_data_stream();
    let ending = loop {
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(bytes))) => {
                if written + bytes.len() as u64 > room {
                    break Ending::TooLarge;
                }
                match &checksum {
                    Some(Checksum::Crc32(_)) => crc32.update(&bytes),
                    Some(Checksum::Sha1(_)) => sha1.update(&bytes),
                    Some(Checksum::Sha256(_)) => sha256.update(&bytes),
                    None => {}
                }
                if let Err(e) = sink.write(&bytes).await {
                    break Ending::Failed(e);
                }
                written += bytes.len() as u64;
                if let Some(r) = running.as_ref() {
                    if !r.feed(bytes).await {
                        *running = None;
                    }
                }
            }
            Ok(None) => break Ending::Complete,
            Ok(Some(Err(_))) | Err(_) => break Ending::Cut,
        }
    };
    if matches!(ending, Ending::TooLarge | Ending::Failed(_))
        || (matches!(ending, Ending::Cut) && checksum.is_some())
    {
        // These bytes are thrown away, but the hash has seen some of them.
        *running = None;
    }
    if matches!(ending, Ending::TooLarge | Ending::Failed(_)) {
        // Refused half-way: the kiosk is still sending. The rest is read away first (at most
        // the upload's room, or 16 MiB), or it would see a broken pipe instead of the answer.
        let rest = if matches!(ending, Ending::TooLarge) {
            DRAIN_LIMIT
        } else {
            room - written
        };
        drain_stream(&mut stream, rest, idle).await;
    }
    match ending {
        Ending::Failed(e) if is_lost(&e) => return Err(lost_upload(state, &row).await),
        Ending::Failed(e) => {
            sink.discard(row.offset).await?;
            return Err(disk_failure(e));
        }
        Ending::TooLarge => {
            sink.discard(row.offset).await?;
            return Err(tus_refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                senim_protocol::RefusalCode::TooLarge,
                format!("this upload has room for {room} more bytes; the chunk was discarded"),
            ));
        }
        Ending::Cut if checksum.is_some() => {
            sink.discard(row.offset).await?;
            tracing::info!(upload = %row.id, "checksummed chunk cut short; discarded");
            return Err(tus_failure(
                StatusCode::BAD_REQUEST,
                "incomplete_chunk",
                "the chunk ended early, so its checksum cannot be checked; it was discarded",
            ));
        }
        Ending::Complete => {
            let ok = match &checksum {
                None => true,
                Some(Checksum::Crc32(want)) => crc32.clone().finalize() == *want,
                Some(Checksum::Sha1(want)) => sha1.finalize().as_slice() == want.as_slice(),
                Some(Checksum::Sha256(want)) => sha256.finalize().as_slice() == want.as_slice(),
            };
            if !ok {
                *running = None;
                sink.discard(row.offset).await?;
                return Err(tus_failure(
                    StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
                    "checksum_mismatch",
                    "the chunk does not match its Upload-Checksum; it was discarded, send it again",
                ));
            }
        }
        Ending::Cut => {}
    }
    if let Err(e) = sink.sync().await {
        *running = None;
        if is_lost(&e) {
            return Err(lost_upload(state, &row).await);
        }
        sink.discard(row.offset).await?;
        return Err(disk_failure(e));
    }
    let new_offset = row.offset + written;
    if matches!(ending, Ending::Cut) {
        tracing::info!(upload = %row.id, kept = new_offset, "upload connection cut; bytes kept");
    }
    if let Some(r) = running.as_mut() {
        r.hashed = new_offset;
    }
    if new_offset == row.length {
        // The offset moves with the completion, in one transaction.
        finish(state, &row, running.take()).await?;
        return Ok(new_offset);
    }
    let expires =
        Utc::now() + chrono::Duration::hours(i64::from(state.config.uploads.expire_hours));
    let id = row.id.clone();
    let stored = db::write(&state.db, move |tx| {
        db::set_upload_offset(tx, &id, new_offset, expires)
    })
    .await;
    if let Err(e) = stored {
        // The bytes past the stored offset are dropped by the next PATCH; the hash saw them.
        *running = None;
        return Err(e.into());
    }
    sink.tidy().await;
    Ok(new_offset)
}

/// The most of a refused body the server reads away: a kiosk's largest chunk.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads and drops a body the server will not keep, up to `limit` bytes and at most
/// [`DRAIN_LIMIT`] (a body longer than that is cut when the connection closes), while it keeps
/// coming within `idle`.
pub(super) async fn drain(body: Body, limit: u64, idle: Duration) {
    drain_stream(&mut body.into_data_stream(), limit, idle).await;
}

/// [`drain`] for a body already being read.
async fn drain_stream(stream: &mut axum::body::BodyDataStream, limit: u64, idle: Duration) {
    let limit = limit.min(DRAIN_LIMIT);
    let mut read: u64 = 0;
    while read < limit {
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(bytes))) => read += bytes.len() as u64,
            _ => break,
        }
    }
}

/// An open upload whose bytes are gone (a file deleted by hand, a multipart upload aborted
/// behind our back): expired, so the next HEAD says 410 and the kiosk starts a new upload.
/// Answered as a passing failure, not a refusal.
async fn lost_upload(state: &AppState, row: &UploadRow) -> ApiFailure {
    let id = row.id.clone();
    if let Err(e) = db::write(&state.db, move |tx| db::expire_upload(tx, &id, Utc::now())).await {
        return e.into();
    }
    tracing::warn!(upload = %row.id, "an open upload's bytes are gone; upload expired");
    tus_failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "upload_lost",
        "the server lost this upload's bytes; HEAD it (410) and create a new one",
    )
}

/// Where a chunk's bytes go: the upload's file, or the object store's writer.
enum Sink {
    File(tokio::fs::File),
    Object(Box<UploadWriter>),
}

/// Why a chunk has nowhere to go.
enum NoSink {
    /// The upload's bytes are gone.
    Lost,
    Failed(ApiFailure),
}
use NoSink::{Failed, Lost};

/// Opens the upload at its stored offset: the file cut back to it (anything past it is a torn
/// write from before a crash), or the object store's writer (which ignores what no stored
/// offset covers).
async fn open_sink(state: &AppState, row: &UploadRow) -> Result<Sink, NoSink> {
    let failed = |e: std::io::Error| Failed(e.into());
    match state.videos.object_store() {
        Err(e) => Err(Failed(store_failure(e))),
        Ok(Some(s3)) => match s3.writer(&row.id, row.offset, row.length).await {
            Ok(w) => Ok(Sink::Object(Box::new(w))),
            Err(VideoError::Lost | VideoError::Manifest(_)) => Err(Lost),
            Err(e) => Err(Failed(store_failure(e))),
        },
        Ok(None) => {
            let path = state.upload_path(&row.id);
            let mut file = match tokio::fs::OpenOptions::new().write(true).open(&path).await {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Lost),
                Err(e) => return Err(failed(e)),
            };
            file.set_len(row.offset).await.map_err(failed)?;
            file.seek(std::io::SeekFrom::Start(row.offset))
                .await
                .map_err(failed)?;
            Ok(Sink::File(file))
        }
    }
}

impl Sink {
    async fn write(&mut self, bytes: &axum::body::Bytes) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.write_all(bytes).await,
            Sink::Object(w) => w.write(bytes.clone()).await.map_err(VideoError::into_io),
        }
    }

    /// Drops what this chunk wrote (a file is cut back to `offset`; the object store's parts
    /// and staged objects past the stored offset are ignored and replaced by the next chunk).
    async fn discard(&mut self, offset: u64) -> std::io::Result<()> {
        match self {
            Sink::File(file) => {
                file.set_len(offset).await?;
                file.sync_all().await
            }
            Sink::Object(_) => Ok(()),
        }
    }

    /// Makes what was written durable (fsync; or the object store's commit).
    async fn sync(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.sync_all().await,
            Sink::Object(w) => w.commit().await.map(|_| ()).map_err(VideoError::into_io),
        }
    }

    /// After the stored offset moved: what is no longer needed is deleted.
    async fn tidy(&self) {
        if let Sink::Object(w) = self {
            w.tidy().await;
        }
    }
}

/// An object-store failure: 503, the kiosk keeps its video and tries again.
pub(super) fn store_failure(e: VideoError) -> ApiFailure {
    tracing::error!(error = %e, "the video store failed");
    ApiFailure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "the server cannot reach its video storage now; keep the video and try again later",
    )
}

/// A write or fsync that failed: 507 when the disk is full (the kiosk keeps its video and
/// retries later), else the file failure.
pub(super) fn disk_failure(e: std::io::Error) -> ApiFailure {
    if is_store_error(&e) {
        tracing::error!(error = %e, "the video store failed");
        ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the server cannot reach its video storage now; keep the video and try again later",
        )
    } else if is_disk_full(&e) {
        tracing::warn!("an upload chunk did not fit on the disk; discarded, answered 507");
        insufficient_storage()
    } else {
        e.into()
    }
}

/// A complete upload (every byte fsynced): hash it (with the running hash if it saw every byte,
/// else by reading the file), store its full offset and completion in one transaction, attach
/// it to its appeal and tell the console — or, when it does not match the appeal (or the appeal
/// already has its video), delete its bytes: the row stays, so HEAD still tells the kiosk the
/// SHA-256 the server got.
pub(super) async fn finish(
    state: &Arc<AppState>,
    row: &UploadRow,
    running: Option<RunningHash>,
) -> Result<(), ApiFailure> {
    let running = match running.filter(|r| r.hashed == row.length) {
        Some(r) => r.finish().await,
        None => None,
    };
    let s3 = state.videos.object_store().map_err(store_failure)?.cloned();
    let sha = match (running, &s3) {
        (Some(sha), _) => sha,
        // Another server took the upload over, or this one restarted: read the video back.
        (None, Some(s3)) => s3.sha256(&row.id).await.map_err(store_failure)?,
        (None, None) => {
            let path = state.upload_path(&row.id);
            tokio::task::spawn_blocking(move || -> std::io::Result<String> {
                let mut file = std::fs::File::open(path)?;
                let mut hasher = Sha256::new();
                std::io::copy(&mut file, &mut hasher)?;
                Ok(hex::encode(hasher.finalize()))
            })
            .await
            .map_err(|_| std::io::Error::other("hashing task stopped"))??
        }
    };
    let (id, hash, length) = (row.id.clone(), sha.clone(), row.length);
    let attached = db::write(&state.db, move |tx| {
        db::finish_upload(tx, &id, length, &hash, Utc::now())
    })
    .await?;
    if let Some(s3) = &s3 {
        // The multipart upload is complete: its staged objects and manifest go.
        if let Err(e) = s3.remove_staging(&row.id).await {
            tracing::warn!(upload = %row.id, error = %e, "could not delete a finished upload's staged objects; the start-up sweep does");
        }
    }
    if attached {
        // A video a kiosk did not seal (one older than sealing) is sealed here, so the data
        // folder (or the bucket) keeps no WebM; the SHA-256 kept is the one the kiosk sent.
        if let Some(ids) = state.seal.clone() {
            let sealed = match &s3 {
                Some(s3) => {
                    let (store, key) = (s3.store(), s3.video_key(&row.id));
                    tokio::task::spawn_blocking(move || {
                        crate::sealing::seal_object_in_place(&ids, store, key)
                    })
                    .await
                }
                None => {
                    let path = state.upload_path(&row.id);
                    tokio::task::spawn_blocking(move || crate::sealing::seal_in_place(&ids, &path))
                        .await
                }
            };
            if !matches!(sealed, Ok(Ok(()))) {
                tracing::error!(upload = %row.id, "could not seal a received video at rest; it stays unsealed");
            }
        }
        tracing::info!(upload = %row.id, bytes = row.length, "video received");
        state.notify(LiveEvent::AppealsChanged(vec![row.appeal_id.clone()]));
    } else {
        tracing::warn!(
            upload = %row.id,
            "completed upload does not match the appeal's declared SHA-256; not attached, deleted"
        );
        remove_bytes(state, &row.id).await?;
    }
    Ok(())
}

/// Deletes an upload's bytes wherever they are (a file; or the multipart upload, staged
/// objects, manifest and video object), if they are there.
pub(super) async fn remove_bytes(state: &AppState, id: &str) -> Result<(), ApiFailure> {
    match state.videos.object_store().map_err(store_failure)? {
        Some(s3) => s3.remove_upload(id, true).await.map_err(store_failure),
        None => match tokio::fs::remove_file(state.upload_path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        },
    }
}
