//! What the server keeps per tus upload while it runs: one async lock per upload (a PATCH holds
//! it until its bytes are durable, HEAD waits for it) and the upload's running SHA-256, fed
//! frame by frame to a task of its own; and how much room the uploads' disk has left.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

/// Bytes free for us on the file system holding `dir` (what `df` calls available).
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Whether a file operation failed because the disk (or the user's quota) is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.raw_os_error() == Some(rustix::io::Errno::DQUOT.raw_os_error())
}

/// Body frames that may wait for the hashing task before a PATCH waits for it.
const HASH_QUEUE: usize = 32;

/// One async lock per upload: a PATCH holds it until its bytes are durable (even if the client
/// hangs up), HEAD waits for it, so the offset HEAD reports is settled. It also keeps the
/// upload's running SHA-256.
pub type Slot = Arc<tokio::sync::Mutex<Option<RunningHash>>>;

/// The per-upload locks of the tus endpoints, by upload id.
#[derive(Default)]
pub struct Locks(Mutex<HashMap<String, Slot>>);

impl Locks {
    /// The upload's lock, made on first use.
    pub fn get(&self, id: &str) -> Slot {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(id.to_string()).or_default())
    }

    /// Forgets a deleted or expired upload's lock.
    pub fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Drops the entries nobody holds or waits for and that keep no running hash (finished
    /// uploads, mostly), so the map does not grow with every video ever received. Safe because
    /// `get` clones under the same map lock: an entry only the map holds has no user.
    pub fn prune_idle(&self) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, slot| {
                Arc::strong_count(slot) > 1 || slot.try_lock().map_or(true, |r| r.is_some())
            });
    }
}

/// The SHA-256 of an upload's first `hashed` bytes (all durable), fed by PATCHes in order to
/// a task of its own, so hashing overlaps the fsyncs and the wait for the next chunk.
pub struct RunningHash {
    /// How many bytes of the upload the hash has seen.
    pub hashed: u64,
    tx: mpsc::Sender<HashInput>,
}

enum HashInput {
    Bytes(axum::body::Bytes),
    Finish(oneshot::Sender<[u8; 32]>),
}

impl RunningHash {
    /// Starts the hashing task (on the tokio runtime); nothing hashed yet.
    pub fn start() -> Self {
        let (tx, mut rx) = mpsc::channel::<HashInput>(HASH_QUEUE);
        tokio::spawn(async move {
            let mut hasher = Sha256::new();
            while let Some(first) = rx.recv().await {
                // Take what is queued in one go, and hash it off the async threads.
                let mut frames = Vec::new();
                let mut reply = None;
                let mut next = Some(first);
                while let Some(input) = next.take() {
                    match input {
                        HashInput::Bytes(b) => frames.push(b),
                        HashInput::Finish(r) => {
                            reply = Some(r);
                            break;
                        }
                    }
                    next = rx.try_recv().ok();
                }
                hasher = match tokio::task::spawn_blocking(move || {
                    frames.iter().for_each(|f| hasher.update(f));
                    hasher
                })
                .await
                {
                    Ok(h) => h,
                    // Dropping the reply makes `finish` read the file instead.
                    Err(_) => return,
                };
                if let Some(reply) = reply {
                    let _ = reply.send(hasher.finalize().into());
                    return;
                }
            }
        });
        RunningHash { hashed: 0, tx }
    }

    /// Hands the next frame of the upload to the hashing task; `false` if the task is gone
    /// (the hash is then useless and the finished file is read back instead).
    pub async fn feed(&self, bytes: axum::body::Bytes) -> bool {
        self.tx.send(HashInput::Bytes(bytes)).await.is_ok()
    }

    /// The digest, once every byte has been fed; `None` if the task is gone.
    pub async fn finish(self) -> Option<String> {
        let (reply, digest) = oneshot::channel();
        self.tx.send(HashInput::Finish(reply)).await.ok()?;
        digest.await.ok().map(hex::encode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_upload_locks_are_forgotten_and_busy_ones_kept() {
        let locks = Locks::default();
        let held = locks.get("held");
        drop(locks.get("finished"));
        *locks.get("hashing").lock().await = Some(RunningHash::start());
        locks.prune_idle();
        let left: std::collections::BTreeSet<String> =
            locks.0.lock().unwrap().keys().cloned().collect();
        assert_eq!(
            left,
            ["hashing", "held"].map(String::from).into_iter().collect()
        );
        drop(held);
        locks.forget("hashing");
        locks.prune_idle();
        assert!(locks.0.lock().unwrap().is_empty());
    }
}
