//! The `[updates]` section: how `senim-callcentre update publish` checks system-update bundles.

use std::path::PathBuf;

use serde::Deserialize;

/// `[updates]`: the keyring bundles must be signed for, and the `rauc` program that checks them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdatesSection {
    /// The RAUC keyring (PEM certificate(s) of the update signing CA) — the same one the kiosk
    /// image carries (`/etc/rauc/keyring.pem`). `update publish` refuses every bundle while it
    /// is not set: a bundle the kiosks would refuse is never offered to them.
    pub keyring: Option<PathBuf>,
    /// The `rauc` program (Debian's `rauc` package) that reads and verifies bundles.
    pub rauc: PathBuf,
}

impl Default for UpdatesSection {
    fn default() -> Self {
        Self {
            keyring: None,
            rauc: PathBuf::from("rauc"),
        }
    }
}
