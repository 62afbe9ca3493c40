//! The worker's video uploads with tus: create or resume at the server's offset, chunks with
//! presence sent between them, and deletion only after the server's SHA-256 of the whole file
//! matches the one sealed at commit.

use std::io::{Read, Seek, SeekFrom};

use chrono::Utc;

use super::super::client::{Api, Created, UploadState};
use super::super::SyncError;
use super::Worker;
use crate::store::PendingVideo;

impl Worker {
    /// Delivers one video, or parks it so the next one goes: refused for good by the
    /// call-centre (a documented refusal code), unreadable here, or failing its checksum
    /// `[sync] max_video_attempts` times. Every other failure is transient.
    pub(super) async fn upload(&mut self, api: &Api, video: PendingVideo) -> Result<(), SyncError> {
        let reason = if video.attempts >= self.cfg.max_video_attempts {
            // Counted before a restart, or the limit was lowered since.
            mismatch_reason(video.attempts)
        } else {
            match self.try_upload(api, &video).await {
                Err(SyncError::Refused {
                    status,
                    code,
                    message,
                }) => format!("{status} {code}: {message}"),
                Err(SyncError::VideoUnreadable { source, .. }) => {
                    format!("the video file cannot be read on this kiosk: {source}")
                }
                Err(SyncError::Mismatch { attempts, .. })
                    if attempts >= self.cfg.max_video_attempts =>
                {
                    mismatch_reason(attempts)
                }
                other => return other,
            }
        };
        tracing::error!(appeal = %video.appeal_id, %reason, "sync: video parked; the next one goes");
        self.store
            .park_video(&video.appeal_id, &reason, Utc::now())?;
        Ok(())
    }

    /// Uploads one video to the end, resuming from the server's offset, sending presence
    /// between chunks so the red lamp never waits behind a video.
    async fn try_upload(&mut self, api: &Api, video: &PendingVideo) -> Result<(), SyncError> {
        let location = match &video.upload_url {
            Some(url) => url.clone(),
            None => match api.create_upload(&video.appeal_id, video.bytes).await? {
                Created::AlreadyReceived => {
                    return self.confirmed(video);
                }
                Created::Location(url) => {
                    self.store.set_upload_url(&video.appeal_id, Some(&url))?;
                    url
                }
            },
        };
        let (mut offset, length, sha) = match api.upload_state(&location).await? {
            UploadState::Gone => {
                tracing::info!(appeal = %video.appeal_id, "sync: upload expired; starting a new one");
                self.store.set_upload_url(&video.appeal_id, None)?;
                return Ok(());
            }
            UploadState::At {
                offset,
                length,
                sha256,
            } => (offset, length, sha256),
        };
        if length != video.bytes || offset > length {
            self.store.set_upload_url(&video.appeal_id, None)?;
            return Err(SyncError::Protocol(format!(
                "upload of appeal {} has length {length}, the video {}; starting again",
                video.appeal_id, video.bytes
            )));
        }
        let mut file =
            std::fs::File::open(&video.path).map_err(|source| SyncError::VideoUnreadable {
                appeal_id: video.appeal_id.clone(),
                source,
            })?;
        let unreadable = |source| SyncError::VideoUnreadable {
            appeal_id: video.appeal_id.clone(),
            source,
        };
        let mut sha = sha;
        while offset < length {
            if self.stopped() {
                return Ok(());
            }
            self.send_presence(api).await?;
            let n = (length - offset).min(self.cfg.chunk_bytes as u64) as usize;
            let mut chunk = vec![0u8; n];
            file.seek(SeekFrom::Start(offset)).map_err(unreadable)?;
            file.read_exact(&mut chunk).map_err(unreadable)?;
            self.uploaded_bytes += n as u64;
            match api.patch(&location, offset, chunk).await {
                Ok(new) => offset = new,
                Err(SyncError::Declined { status: 409, .. }) => {
                    // Someone else's view of the offset: ask the server again.
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            self.online = true;
            self.report(false);
            if offset == length {
                sha = match api.upload_state(&location).await? {
                    UploadState::At { sha256, .. } => sha256,
                    UploadState::Gone => None,
                };
            }
        }
        if sha.as_deref() == Some(video.sha256.as_str()) {
            self.confirmed(video)
        } else {
            // Counted in the store, so the limit holds across restarts; the next attempt
            // (if any is left) starts a new upload.
            let attempts = self.store.note_video_mismatch(&video.appeal_id)?;
            Err(SyncError::Mismatch {
                appeal_id: video.appeal_id.clone(),
                attempts,
                max: self.cfg.max_video_attempts,
            })
        }
    }

    pub(super) fn confirmed(&mut self, video: &PendingVideo) -> Result<(), SyncError> {
        self.store.confirm_video(&video.appeal_id, Utc::now())?;
        self.store.note_success(Utc::now())?;
        tracing::info!(appeal = %video.appeal_id, bytes = video.bytes, "sync: video delivered");
        Ok(())
    }
}

fn mismatch_reason(attempts: u32) -> String {
    format!(
        "the call-centre's copy did not match the SHA-256 sealed at commit {attempts} times \
         (sync.max_video_attempts)"
    )
}
