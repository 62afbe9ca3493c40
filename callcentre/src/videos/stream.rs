//! Blocking `Read + Seek` and `Write` over objects in the object store, for code that works on
//! files (the age sealing: opening a sealed video at any offset, sealing one in place). Reads
//! are ranged GETs of a bounded window, writes a multipart upload of bounded parts, so memory
//! stays bounded whatever the video's size. Used from blocking threads only.

use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use axum::body::Bytes;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, PutPayload};

use super::VideoError;

/// How much one ranged GET fetches.
const READ_WINDOW: u64 = 1024 * 1024;

/// How much the writer gathers before it sends a part (S3's minimum is 5 MiB).
const WRITE_PART: usize = 8 * 1024 * 1024;

/// Runs `fut` to its end from a thread that may block: on the current runtime's handle when
/// there is one (a `spawn_blocking` thread), else on a small runtime of its own.
pub fn block_on<F>(fut: F) -> std::io::Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => Ok(handle.block_on(fut)),
        Err(_) => Ok(tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(fut)),
    }
}

/// `Read + Seek` over one object, fetched a window at a time with ranged GETs.
pub struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    key: Path,
    len: u64,
    pos: u64,
    /// The window fetched last and where it starts.
    window: Bytes,
    window_start: u64,
}

impl ObjectReader {
    /// Opens `key` (one HEAD for its size).
    pub fn open(store: Arc<dyn ObjectStore>, key: Path) -> std::io::Result<ObjectReader> {
        let (s, k) = (Arc::clone(&store), key.clone());
        let meta = block_on(async move { s.head(&k).await })?
            .map_err(|e| VideoError::from(e).into_io())?;
        Ok(ObjectReader {
            store,
            key,
            len: meta.size,
            pos: 0,
            window: Bytes::new(),
            window_start: 0,
        })
    }

    /// The object's size.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let in_window = self.pos >= self.window_start
            && self.pos < self.window_start + self.window.len() as u64;
        if !in_window {
            let end = (self.pos + READ_WINDOW).min(self.len);
            let (store, key, start) = (Arc::clone(&self.store), self.key.clone(), self.pos);
            self.window = block_on(async move { store.get_range(&key, start..end).await })?
                .map_err(|e| VideoError::from(e).into_io())?;
            self.window_start = start;
            if self.window.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the object ended early",
                ));
            }
        }
        let from = (self.pos - self.window_start) as usize;
        let n = buf.len().min(self.window.len() - from);
        buf[..n].copy_from_slice(&self.window[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ObjectReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let to = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = to.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}

/// `Write` into a new version of one object through a multipart upload; nothing replaces the
/// object until [`ObjectWriter::finish`], and a writer dropped unfinished aborts the upload.
pub struct ObjectWriter {
    upload: Option<Box<dyn MultipartUpload>>,
    buf: Vec<u8>,
}

impl ObjectWriter {
    /// Starts a multipart upload to `key`.
    pub fn create(store: Arc<dyn ObjectStore>, key: Path) -> std::io::Result<ObjectWriter> {
        let upload = block_on(async move { store.put_multipart(&key).await })?
            .map_err(|e| VideoError::from(e).into_io())?;
        Ok(ObjectWriter {
            upload: Some(upload),
            buf: Vec::with_capacity(WRITE_PART),
        })
    }

    fn send_part(&mut self) -> std::io::Result<()> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(std::io::Error::other("the upload was finished"));
        };
        let data = PutPayload::from(std::mem::take(&mut self.buf));
        let part = upload.put_part(data);
        block_on(part)?.map_err(|e| VideoError::from(e).into_io())
    }

    /// Sends what is left and completes the upload: the object is replaced now.
    pub fn finish(mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.send_part()?;
        }
        let Some(mut upload) = self.upload.take() else {
            return Ok(());
        };
        block_on(async move { upload.complete().await })?
            .map(|_| ())
            .map_err(|e| VideoError::from(e).into_io())
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(WRITE_PART - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == WRITE_PART {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            let _ = block_on(async move { upload.abort().await });
        }
    }
}
