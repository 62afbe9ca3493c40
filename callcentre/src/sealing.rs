//! What the call-centre does with sealed data (issue 19): opens the personal fields a kiosk
//! sealed to its recipient, keeps IINs, phones and texts sealed at rest in the database
//! (`age:<base64>` in their columns, opened as rows are read), and streams a sealed video to
//! the console decrypting on the fly, HTTP range requests included (age's 64 KiB chunks make a
//! seek cost one chunk). The key file and the format are `senim_common::seal`'s.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use senim_common::seal::{Identities, SealError};
use senim_protocol::{AppealRecord, SealedFields};

/// Opens an appeal record's `sealed` fields into `iin`, `callback_phone` and `text` (which a
/// sealed record must not also carry in the clear). A message for the kiosk's technician if it
/// cannot be opened.
pub fn open_record(ids: Option<&Identities>, a: &mut AppealRecord) -> Result<(), String> {
    let Some(sealed) = a.sealed.take() else {
        return Ok(());
    };
    if a.iin.is_some() || a.callback_phone.is_some() || a.text.is_some() {
        return Err("a sealed appeal carries iin, callback_phone and text only sealed".into());
    }
    let ids = ids.ok_or("this call-centre has no sealing keys ([storage] key_file); its administrator must restore them")?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(sealed.as_bytes())
        .map_err(|_| "sealed must be the base64 of an age file")?;
    let plain = ids.open(&blob).map_err(|e| match e {
        SealError::Open(_) => {
            "sealed was not sealed to a key this call-centre holds; re-enrol the kiosk".to_string()
        }
        other => other.to_string(),
    })?;
    let fields: SealedFields = serde_json::from_slice(&plain)
        .map_err(|_| "the sealed fields are not {iin, callback_phone, text} as JSON")?;
    a.iin = fields.iin;
    a.callback_phone = fields.callback_phone;
    a.text = fields.text;
    Ok(())
}

/// The prefix of a database value sealed at rest.
pub const AT_REST_PREFIX: &str = "age:";

/// What a row shows for a value sealed to a key the key file no longer holds.
pub const UNREADABLE: &str = "[sealed: its key is not in [storage] key_file]";

/// The identities rows are opened with: every `AppState` of the process registers its own (one
/// in production; tests run several servers in one process).
static OPENERS: RwLock<Vec<Arc<Identities>>> = RwLock::new(Vec::new());

/// Lets rows sealed to `ids` be opened as they are read ([`open_at_rest`]).
pub fn register(ids: Arc<Identities>) {
    let mut openers = OPENERS.write().unwrap_or_else(|p| p.into_inner());
    if !openers.iter().any(|o| Arc::ptr_eq(o, &ids)) {
        openers.push(ids);
    }
}

/// A personal value sealed for the database: `age:<base64 of an age file>`.
pub fn seal_at_rest(ids: &Identities, plain: &str) -> Result<String, SealError> {
    let sealed = ids.current().seal(plain.as_bytes())?;
    Ok(format!(
        "{AT_REST_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(sealed)
    ))
}

/// Seals `plain` for the database with the process's keys (the first registered: the one
/// server's), for values written where no `AppState` is at hand (the SMS outbox). Without a
/// key file nothing can be sealed and the value stays as it is, as `[storage] key_file`'s
/// error at start already said.
pub fn seal_for_rest(plain: &str) -> String {
    let openers = OPENERS.read().unwrap_or_else(|p| p.into_inner());
    match openers.first().map(|ids| seal_at_rest(ids, plain)) {
        Some(Ok(sealed)) => sealed,
        Some(Err(e)) => {
            tracing::error!(error = %e, "could not seal a value at rest; it stays unsealed");
            plain.to_string()
        }
        None => plain.to_string(),
    }
}

/// A database value as the console shows it: opened if sealed ([`UNREADABLE`] if no
/// registered key opens it), as it is otherwise (rows from before sealing at rest).
pub fn open_at_rest(stored: Option<String>) -> Option<String> {
    let value = stored?;
    let Some(b64) = value.strip_prefix(AT_REST_PREFIX) else {
        return Some(value);
    };
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return Some(UNREADABLE.to_string());
    };
    let openers = OPENERS.read().unwrap_or_else(|p| p.into_inner());
    for ids in openers.iter() {
        if let Ok(plain) = ids.open(&blob) {
            return Some(String::from_utf8_lossy(&plain).into_owned());
        }
    }
    Some(UNREADABLE.to_string())
}

/// Seals an (opened, checked) appeal's IIN, phone and text for the database.
pub fn seal_record_at_rest(ids: &Identities, a: &mut AppealRecord) -> Result<(), SealError> {
    for field in [&mut a.iin, &mut a.callback_phone, &mut a.text] {
        if let Some(plain) = field.as_deref() {
            *field = Some(seal_at_rest(ids, plain)?);
        }
    }
    Ok(())
}

/// Whether the file at `path` is an age file (a sealed video).
pub fn is_sealed_file(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; senim_common::seal::AGE_MAGIC.len()];
    let mut file = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(senim_common::seal::is_sealed(&head[..n]))
}

/// A sealed video as the console's player wants it: `200` with the whole WebM, or `206` with
/// the asked range (`416` if it is outside), decrypted as it is sent, never written out.
pub async fn serve_sealed(
    ids: Arc<Identities>,
    path: PathBuf,
    headers: &HeaderMap,
) -> Result<Response, SealError> {
    serve_sealed_from(move || ids.open_file(&path), headers).await
}

/// [`serve_sealed`] from a video in the object store, read with ranged GETs (a window at a
/// time: memory stays bounded whatever the video's size).
pub async fn serve_sealed_object(
    ids: Arc<Identities>,
    store: Arc<dyn object_store::ObjectStore>,
    key: object_store::path::Path,
    headers: &HeaderMap,
) -> Result<Response, SealError> {
    serve_sealed_from(
        move || ids.open_seekable(crate::videos::ObjectReader::open(store, key)?),
        headers,
    )
    .await
}

/// Serves the plaintext of what `open` opens (on a blocking thread).
async fn serve_sealed_from<R, F>(open: F, headers: &HeaderMap) -> Result<Response, SealError>
where
    R: Read + Seek + Send + 'static,
    F: FnOnce() -> Result<senim_common::seal::SealedFile<R>, SealError> + Send + 'static,
{
    let opened = tokio::task::spawn_blocking(open)
        .await
        .map_err(|e| SealError::Io(std::io::Error::other(e)))??;
    let len = opened.len();
    let (status, start, end) = match crate::videos::parse_range(headers, len) {
        Ok(None) => (StatusCode::OK, 0, len.saturating_sub(1)),
        Ok(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Err(()) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = opened;
        if let Err(e) = file.seek(SeekFrom::Start(start)) {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        let mut left = count;
        while left > 0 {
            let mut buf = vec![0u8; left.min(64 * 1024) as usize];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    left -= n as u64;
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return; // the player went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/webm"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

/// Seals a finished plaintext upload in place (a video from a kiosk that did not seal it):
/// written beside, fsynced, renamed over the plaintext, so the data folder keeps no WebM.
pub fn seal_in_place(ids: &Identities, path: &Path) -> Result<(), SealError> {
    if is_sealed_file(path)? {
        return Ok(());
    }
    let tmp = path.with_extension("sealing");
    let result = (|| -> Result<(), SealError> {
        let mut input = std::fs::File::open(path)?;
        let out = std::fs::File::create(&tmp)?;
        let mut writer = std::io::BufWriter::with_capacity(256 * 1024, out);
        ids.current().seal_stream(&mut input, &mut writer)?;
        let out = writer
            .into_inner()
            .map_err(|e| SealError::Io(e.into_error()))?;
        out.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`seal_in_place`] for a video in the object store (from a blocking thread): read with
/// ranged GETs, sealed into a multipart upload of the same key, which replaces the plaintext
/// only when complete (a failure leaves the plaintext as it was).
pub fn seal_object_in_place(
    ids: &Identities,
    store: Arc<dyn object_store::ObjectStore>,
    key: object_store::path::Path,
) -> Result<(), SealError> {
    let mut input = crate::videos::ObjectReader::open(Arc::clone(&store), key.clone())?;
    let mut head = [0u8; senim_common::seal::AGE_MAGIC.len()];
    let n = input.read(&mut head)?;
    if senim_common::seal::is_sealed(&head[..n]) {
        return Ok(());
    }
    input.seek(SeekFrom::Start(0))?;
    let mut out = crate::videos::stream::ObjectWriter::create(store, key)?;
    ids.current().seal_stream(&mut input, &mut out)?;
    out.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        crate::videos::parse_range(&h, len)
    }

    #[test]
    fn values_at_rest_are_sealed_and_open_as_rows_are_read() {
        let ids = Arc::new(Identities::generate());
        register(Arc::clone(&ids));
        let sealed = seal_at_rest(&ids, "880101300010").unwrap();
        assert!(sealed.starts_with(AT_REST_PREFIX) && !sealed.contains("880101300010"));
        assert_eq!(open_at_rest(Some(sealed)).as_deref(), Some("880101300010"));
        assert_eq!(open_at_rest(Some("plain".into())).as_deref(), Some("plain"));
        assert_eq!(open_at_rest(None), None);
        let stranger = seal_at_rest(&Identities::generate(), "x").unwrap();
        assert_eq!(open_at_rest(Some(stranger)).as_deref(), Some(UNREADABLE));
    }

    #[test]
    fn ranges_as_players_send_them() {
        assert_eq!(crate::videos::parse_range(&HeaderMap::new(), 10), Ok(None));
        assert_eq!(range("bytes=0-", 10), Ok(Some((0, 9))));
        assert_eq!(range("bytes=2-4", 10), Ok(Some((2, 4))));
        assert_eq!(range("bytes=5-100", 10), Ok(Some((5, 9))));
        assert_eq!(range("bytes=-3", 10), Ok(Some((7, 9))));
        assert_eq!(range("bytes=10-", 10), Err(()));
        assert_eq!(range("bytes=0-1,3-4", 10), Err(()));
        assert_eq!(range("items=0-1", 10), Err(()));
    }
}
