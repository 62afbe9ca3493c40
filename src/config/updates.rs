//! The `[updates]` section: system updates from the call-centre (RAUC bundles) and when the
//! kiosk may restart into one.

use std::path::PathBuf;

use serde::Deserialize;

use crate::update::QuietHours;

/// `[updates]`: where the image says its version, where the root side listens, and the quiet
/// hours in which an installed update may restart the kiosk (between citizens only).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdatesSection {
    /// Take updates the call-centre offers. Only a kiosk whose image names its version
    /// (`IMAGE_VERSION=` in `os_release`) is offered any.
    pub enabled: bool,
    /// Kiosk local time, `"HH:MM-HH:MM"` (may cross midnight): when an installed update may
    /// restart the kiosk, at the attract screen with nobody there for 2 minutes.
    pub quiet_hours: String,
    /// The file naming the running image (`IMAGE_VERSION=`).
    pub os_release: PathBuf,
    /// Where the kiosk writes `serving` and `reboot.request` for the root side.
    pub run_dir: PathBuf,
}

impl Default for UpdatesSection {
    fn default() -> Self {
        Self {
            enabled: true,
            quiet_hours: "02:00-05:00".into(),
            os_release: PathBuf::from("/etc/os-release"),
            run_dir: PathBuf::from("/run/senim-kiosk"),
        }
    }
}

impl UpdatesSection {
    /// The quiet hours, or what is wrong with them.
    pub fn quiet_hours(&self) -> Result<QuietHours, String> {
        self.quiet_hours.parse()
    }

    /// The update machinery's settings for a store in `data_dir`; `None` when disabled.
    /// `min_free_mib` is `[store] min_free_mib`: twice it stays free beside a bundle.
    pub fn config(
        &self,
        data_dir: &std::path::Path,
        min_free_mib: u64,
    ) -> Option<crate::update::UpdatesConfig> {
        if !self.enabled {
            return None;
        }
        Some(crate::update::UpdatesConfig {
            dir: data_dir.join("updates"),
            os_release: self.os_release.clone(),
            run_dir: self.run_dir.clone(),
            boot_id: PathBuf::from("/proc/sys/kernel/random/boot_id"),
            quiet_hours: self.quiet_hours().unwrap_or_default(),
            keep_free_bytes: min_free_mib.saturating_mul(2) << 20,
        })
    }
}
