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
    /// Uploads one video to the end, resuming from the server's offset, sending presence
    /// between chunks so the red lamp never waits behind a video.
    pub(super) async fn upload(&mut self, api: &Api, video: PendingVideo) -> Result<(), SyncError> {
        let location = match &video.upload_url {
            Some(url) => url.clone(),
            None => match api.create_upload(&video.appeal_id, video.bytes).await? {
                Created::AlreadyReceived => {
                    return self.confirmed(&video);
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
                Err(SyncError::Refused { status: 409, .. }) => {
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
            self.confirmed(&video)
        } else {
            self.store.set_upload_url(&video.appeal_id, None)?;
            Err(SyncError::Protocol(format!(
                "the call-centre's copy of appeal {}'s video does not match its SHA-256; \
                 uploading it again",
                video.appeal_id
            )))
        }
    }

    pub(super) fn confirmed(&mut self, video: &PendingVideo) -> Result<(), SyncError> {
        self.store.confirm_video(&video.appeal_id, Utc::now())?;
        self.store.note_success(Utc::now())?;
        tracing::info!(appeal = %video.appeal_id, bytes = video.bytes, "sync: video delivered");
        Ok(())
    }
}
