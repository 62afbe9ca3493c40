//! Videos in an S3-compatible object store, through the `object_store` crate.
//!
//! Keys under the configured prefix: a finished video is `videos/<id>`, one object; a published
//! system-update bundle is `updates/<sha256>.raucb`, so every server can serve it. While a
//! tus upload runs its bytes go into an S3 multipart upload of that key, made at creation; S3
//! wants every part but the last to be ≥ 5 MiB, and tus chunks come in any size, so a chunk's
//! bytes that do not yet fill a part are *staged* as objects `uploads/<id>/staged/<offset>`,
//! and rolled (staged objects + new bytes) into the next part once there are ≥ 5 MiB. The
//! multipart id and the parts so far (start, length, ETag) are in `uploads/<id>/manifest.json`,
//! written after each chunk that put a part, so any server can read it and go on.
//!
//! The tus offset in the database stays the truth: it moves only after the chunk's bytes are
//! in a part or a staged object. What a chunk did beyond the stored offset (a crash, a refused
//! checksum) is ignored by the next writer: parts that end past the offset are put again (same
//! part number: S3 replaces it), and staged objects are only deleted once the offset has moved
//! past the part they went into, so the bytes between the last kept part and the offset are
//! always in staged objects.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};

use super::manifest::{Manifest, Staged};
use super::writer::UploadWriter;
use super::VideoError;
use crate::config::StorageSection;

/// An S3-compatible bucket (and key prefix) holding the videos.
pub struct S3Videos {
    store: Arc<AmazonS3>,
    prefix: String,
    bucket: String,
}

fn read_secret(path: &std::path::Path) -> Result<String, VideoError> {
    let text = std::fs::read_to_string(path).map_err(|e| VideoError::Config {
        key: "secret_access_key_file",
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let secret = text.trim().to_string();
    if secret.is_empty() || secret.contains('\n') {
        return Err(VideoError::Config {
            key: "secret_access_key_file",
            message: format!(
                "{} must hold the secret access key alone, on one line",
                path.display()
            ),
        });
    }
    Ok(secret)
}

impl S3Videos {
    /// The store `[storage]` describes (checked already by `StorageSection::check`).
    pub fn open(
        storage: &StorageSection,
        bucket: &str,
        prefix: &str,
    ) -> Result<S3Videos, VideoError> {
        let (key_id, secret) = match (&storage.access_key_id, &storage.secret_access_key_file) {
            (Some(id), Some(file)) => (id.clone(), read_secret(file)?),
            _ => {
                let id = std::env::var("AWS_ACCESS_KEY_ID")
                    .ok()
                    .filter(|v| !v.is_empty());
                let secret = std::env::var("AWS_SECRET_ACCESS_KEY")
                    .ok()
                    .filter(|v| !v.is_empty());
                match (id, secret) {
                    (Some(id), Some(secret)) => (id, secret),
                    _ => {
                        return Err(VideoError::Config {
                            key: "access_key_id",
                            message: "no credentials for the object store: set \
                                      AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the \
                                      server's environment, or access_key_id and \
                                      secret_access_key_file"
                                .into(),
                        })
                    }
                }
            }
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(storage.region.trim())
            .with_access_key_id(key_id)
            .with_secret_access_key(secret)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(30),
                ..RetryConfig::default()
            });
        if let Some(token) = std::env::var("AWS_SESSION_TOKEN")
            .ok()
            .filter(|v| !v.is_empty())
        {
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = &storage.endpoint {
            // Checked already: http only to loopback or with allow_http.
            builder = builder
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| VideoError::Config {
            key: "url",
            message: e.to_string(),
        })?;
        Ok(S3Videos {
            store: Arc::new(store),
            prefix: prefix.to_string(),
            bucket: bucket.to_string(),
        })
    }

    /// One listing of the bucket: it answers, exists, and takes the credentials.
    pub async fn probe(&self) -> Result<(), VideoError> {
        let mut listing = self.store.list(Some(&self.key("videos")));
        match listing.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(source)) => Err(VideoError::Unreachable {
                url: self.describe(),
                source,
            }),
        }
    }

    /// `s3://bucket/prefix`, for logs.
    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The store, for the blocking reader and writer.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store) as Arc<dyn ObjectStore>
    }

    fn key(&self, rest: &str) -> Path {
        let parts = self.prefix.split('/').chain(rest.split('/'));
        Path::from_iter(parts.filter(|p| !p.is_empty()))
    }

    /// The finished video's key.
    pub fn video_key(&self, id: &str) -> Path {
        self.key(&format!("videos/{id}"))
    }

    /// A published update bundle's key.
    pub fn bundle_key(&self, sha256: &str) -> Path {
        self.key(&format!("updates/{sha256}.raucb"))
    }

    /// Sends the file `path` as the object `key` in one multipart upload (8 MiB parts; aborted
    /// if anything fails, so no half object is left).
    pub async fn put_file(&self, key: &Path, path: &std::path::Path) -> Result<(), VideoError> {
        use tokio::io::AsyncReadExt;
        const PART: usize = 8 * 1024 * 1024;
        let read = |source| VideoError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(read)?;
        if file.metadata().await.map_err(read)?.len() == 0 {
            self.store.put(key, PutPayload::new()).await?;
            return Ok(());
        }
        let mut upload = self.store.put_multipart(key).await?;
        let sent = async {
            loop {
                let mut part = Vec::with_capacity(PART);
                while part.len() < PART {
                    let n = (&mut file)
                        .take((PART - part.len()) as u64)
                        .read_to_end(&mut part)
                        .await
                        .map_err(read)?;
                    if n == 0 {
                        break;
                    }
                }
                let last = part.len() < PART;
                if !part.is_empty() {
                    upload.put_part(PutPayload::from(part)).await?;
                }
                if last {
                    return Ok(());
                }
            }
        }
        .await;
        match sent {
            Ok(()) => {
                upload.complete().await?;
                Ok(())
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    fn upload_dir(&self, id: &str) -> Path {
        self.key(&format!("uploads/{id}"))
    }

    fn manifest_key(&self, id: &str) -> Path {
        self.key(&format!("uploads/{id}/manifest.json"))
    }

    fn staged_dir(&self, id: &str) -> Path {
        self.key(&format!("uploads/{id}/staged"))
    }

    /// Starts a new upload's multipart upload and writes its empty manifest.
    pub async fn create(&self, id: &str) -> Result<(), VideoError> {
        let multipart_id = self.store.create_multipart(&self.video_key(id)).await?;
        let manifest = Manifest {
            multipart_id,
            parts: Vec::new(),
        };
        self.write_manifest(id, &manifest).await
    }

    async fn write_manifest(&self, id: &str, manifest: &Manifest) -> Result<(), VideoError> {
        let json = serde_json::to_vec(manifest).map_err(|e| VideoError::Manifest(e.to_string()))?;
        self.store
            .put(&self.manifest_key(id), PutPayload::from(json))
            .await?;
        Ok(())
    }

    /// The upload's manifest, `None` if it has none.
    pub async fn manifest(&self, id: &str) -> Result<Option<Manifest>, VideoError> {
        let bytes = match self.store.get(&self.manifest_key(id)).await {
            Ok(got) => got.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| VideoError::Manifest(e.to_string()))
    }

    async fn staged(&self, id: &str) -> Result<Vec<Staged>, VideoError> {
        let metas: Vec<ObjectMeta> = self
            .store
            .list(Some(&self.staged_dir(id)))
            .try_collect()
            .await?;
        let mut staged: Vec<Staged> = metas
            .iter()
            .filter_map(|m| {
                let start = m.location.filename()?.parse().ok()?;
                Some(Staged { start, len: m.size })
            })
            .collect();
        staged.sort_by_key(|s| s.start);
        Ok(staged)
    }

    /// How many bytes of the upload are durable in its parts and staged objects, at most
    /// `offset` (the stored tus offset). `None` when the upload has no manifest.
    pub async fn durable(&self, id: &str, offset: u64) -> Result<Option<u64>, VideoError> {
        let Some(mut manifest) = self.manifest(id).await? else {
            return Ok(None);
        };
        manifest.parts.retain(|p| p.end() <= offset);
        let mut at = manifest.parts_end();
        for s in self.staged(id).await? {
            if s.start == at && s.start + s.len <= offset {
                at += s.len;
            }
        }
        Ok(Some(at))
    }

    /// A writer that goes on at the stored `offset` of an upload of `length` bytes:
    /// [`VideoError::Lost`] when the manifest or staged bytes up to `offset` are gone.
    pub async fn writer(
        &self,
        id: &str,
        offset: u64,
        length: u64,
    ) -> Result<UploadWriter, VideoError> {
        let Some(mut manifest) = self.manifest(id).await? else {
            return Err(VideoError::Lost);
        };
        // Parts past the stored offset were put by a chunk whose offset was never stored.
        manifest.parts.retain(|p| p.end() <= offset);
        let contiguous = manifest
            .parts
            .iter()
            .try_fold(0u64, |at, p| (p.start == at).then_some(p.end()));
        if contiguous.is_none() {
            return Err(VideoError::Manifest("its parts are not contiguous".into()));
        }
        let mut at = manifest.parts_end();
        let mut staged = Vec::new();
        for s in self.staged(id).await? {
            if at < offset && s.start == at && s.start + s.len <= offset {
                at += s.len;
                staged.push(s);
            }
        }
        if at != offset {
            return Err(VideoError::Lost);
        }
        Ok(UploadWriter {
            store: Arc::clone(&self.store),
            video: self.video_key(id),
            staged_keys: (self.staged_dir(id), self.manifest_key(id)),
            manifest,
            staged_bytes: staged.iter().map(|s| s.len).sum(),
            staged,
            base: offset,
            length,
            received: 0,
            buf: Vec::new(),
            buf_len: 0,
            new_parts: Vec::new(),
            consumed: Vec::new(),
        })
    }

    /// Aborts an upload's multipart upload and deletes its staged objects and manifest (and
    /// `videos/<id>` when `with_video`: an upload that never became an appeal's video).
    pub async fn remove_upload(&self, id: &str, with_video: bool) -> Result<(), VideoError> {
        if let Some(manifest) = self.manifest(id).await.ok().flatten() {
            match self
                .store
                .abort_multipart(&self.video_key(id), &manifest.multipart_id)
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(upload = %id, error = %e, "could not abort a multipart upload")
                }
            }
        }
        self.remove_staging(id).await?;
        if with_video {
            self.remove_video(id).await?;
        }
        Ok(())
    }

    /// Deletes every object under `uploads/<id>/` (the staged objects and the manifest).
    pub async fn remove_staging(&self, id: &str) -> Result<(), VideoError> {
        let metas: Vec<ObjectMeta> = self
            .store
            .list(Some(&self.upload_dir(id)))
            .try_collect()
            .await?;
        for meta in metas {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Deletes a finished video; its size if it was there.
    pub async fn remove_video(&self, id: &str) -> Result<Option<u64>, VideoError> {
        let Some(size) = self.video_size(id).await? else {
            return Ok(None);
        };
        match self.store.delete(&self.video_key(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(Some(size)),
            Err(e) => Err(e.into()),
        }
    }

    /// The size of a finished video, `None` if there is none.
    pub async fn video_size(&self, id: &str) -> Result<Option<u64>, VideoError> {
        match self.store.head(&self.video_key(id)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The SHA-256 of a finished video, read as a stream (bounded memory).
    pub async fn sha256(&self, id: &str) -> Result<String, VideoError> {
        let mut stream = self.store.get(&self.video_key(id)).await?.into_stream();
        let mut hasher = Sha256::new();
        while let Some(bytes) = stream.next().await {
            hasher.update(bytes?);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// The first `n` bytes of a finished video (fewer if it is shorter).
    pub async fn head_bytes(&self, id: &str, n: u64) -> Result<Bytes, VideoError> {
        let Some(size) = self.video_size(id).await? else {
            return Err(VideoError::Lost);
        };
        if size == 0 {
            return Ok(Bytes::new());
        }
        Ok(self
            .store
            .get_range(&self.video_key(id), 0..n.min(size))
            .await?)
    }

    /// Upload ids with objects under `uploads/` and finished videos under `videos/`, each
    /// with its newest object's time (for the start-up sweep).
    pub async fn list_ids(
        &self,
    ) -> Result<(Vec<(String, ObjectMeta)>, Vec<(String, ObjectMeta)>), VideoError> {
        let mut uploads = std::collections::HashMap::<String, ObjectMeta>::new();
        let root = self.key("uploads");
        let metas: Vec<ObjectMeta> = self.store.list(Some(&root)).try_collect().await?;
        let depth = root.parts().count();
        for meta in metas {
            let id = meta
                .location
                .parts()
                .nth(depth)
                .map(|p| p.as_ref().to_string());
            if let Some(id) = id {
                let newer = uploads
                    .get(&id)
                    .is_none_or(|m| m.last_modified < meta.last_modified);
                if newer {
                    uploads.insert(id, meta);
                }
            }
        }
        let root = self.key("videos");
        let videos: Vec<ObjectMeta> = self.store.list(Some(&root)).try_collect().await?;
        let videos = videos
            .into_iter()
            .filter_map(|m| Some((m.location.filename()?.to_string(), m)))
            .collect();
        Ok((uploads.into_iter().collect(), videos))
    }

    /// An unsealed video as the console's player wants it: `200` whole or `206` with the asked
    /// range (`416` outside it), streamed from ranged GETs.
    pub async fn serve_plain(&self, id: &str, headers: &HeaderMap) -> Result<Response, VideoError> {
        self.serve_object(&self.video_key(id), "video/webm", headers)
            .await
    }

    /// The object `key` as `content_type`: `200` whole or `206` with the asked range (`416`
    /// outside it), streamed from ranged GETs.
    pub async fn serve_object(
        &self,
        key: &Path,
        content_type: &'static str,
        headers: &HeaderMap,
    ) -> Result<Response, VideoError> {
        let len = self.store.head(key).await?.size;
        let (status, start, end) = match super::parse_range(headers, len) {
            Ok(None) => (StatusCode::OK, 0, len),
            Ok(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e + 1),
            Err(()) => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    r.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(r);
            }
        };
        let body = if start == end {
            Body::empty()
        } else {
            let got = self
                .store
                .get_opts(
                    key,
                    GetOptions {
                        range: Some(GetRange::Bounded(start..end)),
                        ..GetOptions::default()
                    },
                )
                .await?;
            Body::from_stream(got.into_stream().map_err(std::io::Error::other))
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
        if status == StatusCode::PARTIAL_CONTENT {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        Ok(response)
    }
}
