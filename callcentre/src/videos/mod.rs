//! Where the videos' bytes are kept: the data folder (`<data>/uploads/<id>`, fsynced; the
//! default and the behaviour before object storage) or an S3-compatible object store
//! (`[storage] url = "s3://bucket/prefix"`, shared by every call-centre server behind a load
//! balancer). The tus endpoints, the console's player, the start-up sweep and retention go
//! through [`Videos`]; the folder's own file handling stays where it was (`api::tus`), the object
//! store's is in [`s3`] (multipart uploads fed by tus chunks, resumable on any server).

pub mod manifest;
pub mod s3;
pub mod stream;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::StorageSection;

pub use s3::S3Videos;
pub use stream::ObjectReader;

/// What can go wrong with the object store. Messages say what to check.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(
        "key `storage.{key}`: {message}. Fix it in the configuration (see the `[storage]` \
         keys' documentation) and start again"
    )]
    Config { key: &'static str, message: String },
    #[error(
        "the object store refused or failed a request: {0}. Check that `[storage] endpoint` \
         answers, the bucket exists and the credentials may write to it"
    )]
    Store(#[from] object_store::Error),
    #[error("an upload's manifest in the object store is damaged ({0}); the upload is expired")]
    Manifest(String),
    #[error("the object store has lost this upload's bytes; the upload is expired")]
    Lost,
    #[error("cannot read {path} to send it to the object store: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the object store could not be set up at start: {0}")]
    Unavailable(String),
    #[error(
        "cannot reach the bucket of `storage.url` ({url}): {source}. Check storage.url (the \
         bucket must exist), storage.endpoint, storage.region and the credentials"
    )]
    Unreachable {
        url: String,
        source: object_store::Error,
    },
}

impl VideoError {
    /// As an I/O error (the sealing code and the file paths speak `std::io`).
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

/// Whether an I/O error says the object store lost the upload's bytes.
pub fn is_lost(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<VideoError>())
        .is_some_and(|v| matches!(v, VideoError::Lost))
}

/// Whether an I/O error is one of ours (an object-store failure), not the disk's.
pub fn is_store_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<VideoError>().is_some())
}

/// Where the videos are kept.
#[derive(Clone)]
pub enum Videos {
    /// `<data>/uploads/<id>`: this folder.
    Folder(PathBuf),
    /// An S3-compatible object store.
    S3(Arc<S3Videos>),
    /// The object store named in the configuration could not be set up (the server's start
    /// refuses this; an in-process test sees every request fail with the reason).
    Unavailable(Arc<str>),
}

impl std::fmt::Debug for Videos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Videos::Folder(p) => write!(f, "Videos::Folder({})", p.display()),
            Videos::S3(s) => write!(f, "Videos::S3({})", s.describe()),
            Videos::Unavailable(why) => write!(f, "Videos::Unavailable({why})"),
        }
    }
}

impl Videos {
    /// The store `[storage]` names: the data folder's `uploads` when `url` is absent.
    pub fn open(storage: &StorageSection, data_dir: &Path) -> Result<Videos, VideoError> {
        let config = |e: crate::config::StorageKeyError| VideoError::Config {
            key: e.key.trim_start_matches("storage."),
            message: format!("expected {}, found {}", e.expected, e.found),
        };
        storage.check().map_err(config)?;
        match storage.bucket_and_prefix().map_err(config)? {
            None => Ok(Videos::Folder(data_dir.join("uploads"))),
            Some((bucket, prefix)) => Ok(Videos::S3(Arc::new(S3Videos::open(
                storage, &bucket, &prefix,
            )?))),
        }
    }

    /// [`Videos::open`], or the reason kept as [`Videos::Unavailable`] (logged).
    pub fn open_or_unavailable(storage: &StorageSection, data_dir: &Path) -> Videos {
        Videos::open(storage, data_dir).unwrap_or_else(|e| {
            tracing::error!(error = %e, "videos cannot be stored");
            Videos::Unavailable(e.to_string().into())
        })
    }

    /// Checks at start that the object store answers and the bucket is there (one listing);
    /// nothing to check for the data folder.
    pub async fn probe(&self) -> Result<(), VideoError> {
        match self.object_store()? {
            None => Ok(()),
            Some(s3) => s3.probe().await,
        }
    }

    /// The object store, or `None` for the data folder; the error when it could not be set up.
    pub fn object_store(&self) -> Result<Option<&Arc<S3Videos>>, VideoError> {
        match self {
            Videos::Folder(_) => Ok(None),
            Videos::S3(s3) => Ok(Some(s3)),
            Videos::Unavailable(why) => Err(VideoError::Unavailable(why.to_string())),
        }
    }

    /// Deletes a finished video (retention), from a thread that may block; its size if it was
    /// there. The object store is reached on the current runtime, or a small one of its own
    /// (the `purge` command has none).
    pub fn remove_video_blocking(&self, id: &str) -> std::io::Result<Option<u64>> {
        match self {
            Videos::Folder(dir) => {
                let path = dir.join(id);
                let Ok(meta) = std::fs::metadata(&path) else {
                    return Ok(None);
                };
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(Some(meta.len())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Videos::S3(s3) => {
                let s3 = Arc::clone(s3);
                let id = id.to_string();
                stream::block_on(async move { s3.remove_video(&id).await })
                    .and_then(|r| r.map_err(VideoError::into_io))
            }
            Videos::Unavailable(why) => Err(VideoError::Unavailable(why.to_string()).into_io()),
        }
    }

    /// The size of a finished video, from a thread that may block; `None` if it is not there.
    pub fn video_size_blocking(&self, id: &str) -> std::io::Result<Option<u64>> {
        match self {
            Videos::Folder(dir) => Ok(std::fs::metadata(dir.join(id)).ok().map(|m| m.len())),
            Videos::S3(s3) => {
                let s3 = Arc::clone(s3);
                let id = id.to_string();
                stream::block_on(async move { s3.video_size(&id).await })
                    .and_then(|r| r.map_err(VideoError::into_io))
            }
            Videos::Unavailable(why) => Err(VideoError::Unavailable(why.to_string()).into_io()),
        }
    }

    /// Where a video is named in messages (a path, or the object's key).
    pub fn name_of(&self, id: &str) -> PathBuf {
        match self {
            Videos::Folder(dir) => dir.join(id),
            Videos::S3(s3) => PathBuf::from(s3.video_key(id).to_string()),
            Videos::Unavailable(_) => PathBuf::from(id),
        }
    }
}

/// One `bytes=` range of a `len`-byte body: `Ok(None)` for the whole body, `Err(())` when it
/// cannot be satisfied. Only single ranges are served (what video players ask for).
pub(crate) fn parse_range(
    headers: &axum::http::HeaderMap,
    len: u64,
) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers
        .get(axum::http::header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let spec = value.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let suffix: u64 = b.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        (len.saturating_sub(suffix), len.checked_sub(1).ok_or(())?)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            len.checked_sub(1).ok_or(())?
        } else {
            b.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))
        };
        (start, end)
    };
    if start >= len || end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}
