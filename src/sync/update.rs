//! Fetching an offered system-update bundle in the background: into
//! `updates/senim-<version>.raucb.part`, resuming with `Range` from what is there after a cut
//! or a restart, then checking its size and SHA-256 against the offer before
//! [`crate::update::Updates::downloaded`] hands it to the installer.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use senim_protocol::UpdateOffer;
use sha2::{Digest, Sha256};

use super::client::Api;
use super::SyncError;
use crate::update::Updates;

/// Runs one attempt: download (or resume), check, hand over. A network failure leaves the
/// part file for the next attempt (at the next heartbeat's offer).
pub(super) async fn fetch(
    api: Api,
    updates: Arc<Mutex<Updates>>,
    offer: UpdateOffer,
    fetched: Arc<AtomicU64>,
) {
    let (part, keep_free) = {
        let u = lock(&updates);
        (u.part_path(&offer.version), u.keep_free_bytes())
    };
    if let Some(why) = short_of_space(&part, offer.size, keep_free) {
        tracing::warn!(version = %offer.version, "update: {why}");
        lock(&updates).download_interrupted(&offer.version, &why);
        return;
    }
    match download(&api, &offer, &part, &updates, &fetched).await {
        Ok(()) => {
            let check = {
                let (part, offer) = (part.clone(), offer.clone());
                tokio::task::spawn_blocking(move || check(&part, &offer))
                    .await
                    .unwrap_or_else(|e| Err(format!("the check did not run: {e}")))
            };
            if let Err(e) = lock(&updates).downloaded(&offer, check) {
                tracing::error!(error = %e, "update: cannot hand the bundle to the installer");
            }
        }
        Err(e) => {
            tracing::warn!(version = %offer.version, error = %e, "update: download interrupted; it resumes later");
            let why = format!("interrupted, will resume: {e}");
            lock(&updates).download_interrupted(&offer.version, &why);
        }
    }
}

/// Why the rest of a bundle must not be fetched now: it would leave less than `keep_free`
/// bytes on the data disk, which appeals need first. Checked again at every offer.
fn short_of_space(part: &Path, size: u64, keep_free: u64) -> Option<String> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let dir = part.parent()?;
    let free = rustix::fs::statvfs(dir)
        .map(|st| st.f_bavail.saturating_mul(st.f_frsize))
        .ok()?;
    let need = size.saturating_sub(have).saturating_add(keep_free);
    (free < need).then(|| {
        format!(
            "waiting for disk space: {} MiB free, {} MiB needed (the rest of the bundle, and \
             twice [store] min_free_mib kept for appeals)",
            free >> 20,
            need.div_ceil(1 << 20)
        )
    })
}

fn lock(updates: &Mutex<Updates>) -> std::sync::MutexGuard<'_, Updates> {
    updates.lock().unwrap_or_else(|p| p.into_inner())
}

fn file_error(path: &Path, e: std::io::Error) -> SyncError {
    SyncError::Protocol(format!(
        "cannot write the update to {}: {e} (check the data disk's space)",
        path.display()
    ))
}

/// Appends the rest of the bundle to `part` (from its current length).
async fn download(
    api: &Api,
    offer: &UpdateOffer,
    part: &PathBuf,
    updates: &Mutex<Updates>,
    fetched: &AtomicU64,
) -> Result<(), SyncError> {
    let mut have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    if have > offer.size {
        // Longer than the bundle: not a prefix of it; start again.
        have = 0;
    }
    if have == offer.size && have > 0 {
        return Ok(());
    }
    let (mut response, start) = api.bundle(&offer.url, have).await?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(start > 0)
        .write(true)
        .truncate(start == 0)
        .open(part)
        .map_err(|e| file_error(part, e))?;
    let mut at = start;
    let mut last_percent = u8::MAX;
    while let Some(chunk) = response.chunk().await.map_err(|e| api.offline(e))? {
        at += chunk.len() as u64;
        if at > offer.size {
            return Err(SyncError::TooLarge {
                what: "the update bundle",
                limit: offer.size,
            });
        }
        file.write_all(&chunk).map_err(|e| file_error(part, e))?;
        fetched.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        let percent = u8::try_from(at * 100 / offer.size.max(1)).unwrap_or(100);
        if percent != last_percent {
            last_percent = percent;
            lock(updates).progress(&offer.version, percent);
        }
    }
    file.sync_all().map_err(|e| file_error(part, e))?;
    if at < offer.size {
        return Err(SyncError::Offline {
            url: api.base().to_string(),
            reason: format!("the bundle ended at byte {at} of {}", offer.size),
        });
    }
    Ok(())
}

/// Size and SHA-256 of the whole file against the offer.
fn check(part: &Path, offer: &UpdateOffer) -> Result<(), String> {
    let mut file = std::fs::File::open(part).map_err(|e| format!("cannot read it back: {e}"))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read it back: {e}"))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let sha = hex::encode(hasher.finalize());
    if size != offer.size {
        return Err(format!(
            "refused: the bundle has {size} bytes, the offer said {}",
            offer.size
        ));
    }
    if !sha.eq_ignore_ascii_case(&offer.sha256) {
        return Err(format!(
            "refused: the bundle's SHA-256 is {sha}, the offer said {}",
            offer.sha256
        ));
    }
    Ok(())
}
