//! One tus chunk's bytes on their way into an upload's multipart upload (see `s3.rs` for the
//! staging and manifest design): gathered until they fill a part with the staged bytes before
//! them, then committed (rest staged, manifest written, or the upload completed).

use std::sync::Arc;

use axum::body::Bytes;
use object_store::aws::AmazonS3;
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use super::manifest::{Manifest, ManifestPart, Staged, PART_MIN};
use super::VideoError;

/// One tus chunk's bytes on their way into the object store, from the upload's stored
/// offset: gathered in memory until they fill a part with the staged bytes before them
/// (memory stays below two parts), then [`UploadWriter::commit`]ted.
pub struct UploadWriter {
    pub(super) store: Arc<AmazonS3>,
    pub(super) video: Path,
    /// The staged folder and the manifest's key.
    pub(super) staged_keys: (Path, Path),
    /// The multipart upload and its parts up to the stored offset.
    pub(super) manifest: Manifest,
    /// Staged objects from the last part's end to the stored offset, in order.
    pub(super) staged: Vec<Staged>,
    pub(super) staged_bytes: u64,
    /// The stored offset this chunk goes on from, and the upload's length.
    pub(super) base: u64,
    pub(super) length: u64,
    /// Bytes of this chunk received so far.
    pub(super) received: u64,
    /// Received bytes in no part yet.
    pub(super) buf: Vec<Bytes>,
    pub(super) buf_len: u64,
    /// Parts this chunk put (in the manifest only once committed).
    pub(super) new_parts: Vec<ManifestPart>,
    /// Staged objects rolled into `new_parts`: deleted once the offset has moved past them.
    pub(super) consumed: Vec<Staged>,
}

impl UploadWriter {
    fn staged_key(&self, start: u64) -> Path {
        self.staged_keys.0.child(format!("{start:020}"))
    }

    fn parts_end(&self) -> u64 {
        self.new_parts
            .last()
            .map_or_else(|| self.manifest.parts_end(), ManifestPart::end)
    }

    /// Takes the next bytes of the chunk; puts a part when there are enough.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), VideoError> {
        self.received += bytes.len() as u64;
        self.buf_len += bytes.len() as u64;
        self.buf.push(bytes);
        if self.staged_bytes + self.buf_len >= PART_MIN {
            self.roll().await?;
        }
        Ok(())
    }

    /// Puts the staged bytes and the gathered ones as the next part.
    async fn roll(&mut self) -> Result<(), VideoError> {
        let mut pieces = Vec::with_capacity(self.staged.len() + self.buf.len());
        for s in &self.staged {
            let got = self.store.get(&self.staged_key(s.start)).await;
            let bytes = got.map_err(gone_is_lost)?.bytes().await?;
            if bytes.len() as u64 != s.len {
                return Err(VideoError::Lost);
            }
            pieces.push(bytes);
        }
        pieces.append(&mut self.buf);
        let start = self.parts_end();
        let len = self.staged_bytes + self.buf_len;
        let index = self.manifest.parts.len() + self.new_parts.len();
        let part = self
            .store
            .put_part(
                &self.video,
                &self.manifest.multipart_id,
                index,
                PutPayload::from_iter(pieces),
            )
            .await
            .map_err(gone_is_lost)?;
        self.new_parts.push(ManifestPart {
            start,
            len,
            etag: part.content_id,
        });
        self.consumed.append(&mut self.staged);
        self.staged_bytes = 0;
        self.buf_len = 0;
        Ok(())
    }

    /// Makes the chunk's bytes durable: the rest staged and the manifest written; or, when
    /// they end the upload, the last part put and the multipart upload completed (the video
    /// is one object now). The stored offset may move after this returns.
    pub async fn commit(&mut self) -> Result<u64, VideoError> {
        let end = self.base + self.received;
        if end == self.length {
            if self.length == 0 {
                self.store.put(&self.video, PutPayload::default()).await?;
                let _ = self
                    .store
                    .abort_multipart(&self.video, &self.manifest.multipart_id)
                    .await;
                return Ok(end);
            }
            if self.staged_bytes + self.buf_len > 0 {
                self.roll().await?;
            }
            let parts = self
                .manifest
                .parts
                .iter()
                .chain(&self.new_parts)
                .map(|p| object_store::multipart::PartId {
                    content_id: p.etag.clone(),
                })
                .collect();
            self.store
                .complete_multipart(&self.video, &self.manifest.multipart_id, parts)
                .await
                .map_err(gone_is_lost)?;
            return Ok(end);
        }
        if self.buf_len > 0 {
            let start = end - self.buf_len;
            let payload = PutPayload::from_iter(std::mem::take(&mut self.buf));
            self.store.put(&self.staged_key(start), payload).await?;
            self.buf_len = 0;
        }
        if !self.new_parts.is_empty() {
            let mut manifest = self.manifest.clone();
            manifest.parts.extend(self.new_parts.iter().cloned());
            let json =
                serde_json::to_vec(&manifest).map_err(|e| VideoError::Manifest(e.to_string()))?;
            self.store
                .put(&self.staged_keys.1, PutPayload::from(json))
                .await?;
        }
        Ok(end)
    }

    /// After the stored offset moved: deletes the staged objects that went into parts (a
    /// failure only leaves objects the next writer ignores and the upload's removal deletes).
    pub async fn tidy(&self) {
        for s in &self.consumed {
            if let Err(e) = self.store.delete(&self.staged_key(s.start)).await {
                tracing::warn!(error = %e, "could not delete a staged upload object");
            }
        }
    }
}

/// A staged object or multipart upload that is not there (aborted behind our back, say by a
/// bucket's lifecycle rule): the upload's bytes are lost.
fn gone_is_lost(e: object_store::Error) -> VideoError {
    match e {
        object_store::Error::NotFound { .. } => VideoError::Lost,
        other => other.into(),
    }
}
