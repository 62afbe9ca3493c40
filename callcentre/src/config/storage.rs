//! The `[storage]` section: what keeps the data folder's disk from filling up with videos, and
//! the key file that keeps what is in it unreadable without the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[storage]`: the free-space reserve and the bound on unfinished uploads.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// MiB kept free on the data folder's file system (for the database, logs and the
    /// system): an upload that would go below it is answered 507 and the kiosk keeps its video
    /// and tries again later. 0 turns the reserve off (a full disk still answers 507).
    pub reserve_mib: u64,
    /// Unfinished (open) uploads one kiosk may have at once; more are answered 429 until one
    /// finishes or expires. A kiosk sends one video at a time, and an appeal has at most one
    /// open upload (a second creation answers the open one).
    pub max_open_uploads_per_kiosk: u64,
    /// The call-centre's age identities (`AGE-SECRET-KEY-1…`, one a line): kiosks seal appeals
    /// to the first one's recipient, and videos, IINs, phones and texts are kept sealed to it in
    /// the data folder. Made with mode 0600 at first start if missing. Keep it **outside** the
    /// data folder and back it up apart from it: a copy of the folder without it reveals
    /// nothing, and without it nothing sealed can be read. Rotation: put a new identity first
    /// (`age-keygen` prints one), keep the old ones below it, restart.
    /// Empty: `<data_dir>/seal.keys` (warned at start).
    pub key_file: Option<PathBuf>,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            reserve_mib: 1024,
            max_open_uploads_per_kiosk: 4,
            key_file: None,
        }
    }
}

impl StorageSection {
    /// Keys that must be above zero, with their values.
    pub(super) fn positive(&self) -> [(&'static str, u64); 1] {
        [(
            "storage.max_open_uploads_per_kiosk",
            self.max_open_uploads_per_kiosk,
        )]
    }

    /// The key file: `key_file`, or `seal.keys` in the data folder.
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        match &self.key_file {
            Some(p) if !p.as_os_str().is_empty() => p.clone(),
            _ => data_dir.join("seal.keys"),
        }
    }

    /// The reserve in bytes.
    pub fn reserve_bytes(&self) -> u64 {
        self.reserve_mib.saturating_mul(1024 * 1024)
    }
}
