//! System updates on the kiosk: the offer from a heartbeat answer, the bundle downloaded (by
//! `sync::update`, the HTTP side) and checked, then handed to the root installer through files,
//! the switch in a quiet hour between citizens, and after the restart success or rollback.
//!
//! The installer contract (the root side is `kiosk-image/rootfs`), all under the data folder's
//! `updates/` and the run folder (`/run/senim-kiosk`), every file written by atomic rename:
//! - the kiosk writes `updates/install.request` (`{"version":"V","bundle":"<abs path>"}`); a
//!   root service runs `rauc install`, writes `updates/install.result`
//!   (`{"version":"V","ok":bool,"message":"…"}`) and removes the request and the bundle;
//! - the kiosk writes `<run>/reboot.request` to switch (a root unit reboots);
//! - the kiosk writes `<run>/serving` once serving ([`serving`]); a root unit marks the booted
//!   slot good. A trial boot that never gets there falls back to the old slot.
//!
//! What the kiosk knows survives restarts in `updates/state.json` (the [`Ledger`]): the offer
//! worked on, the report for the next heartbeats, the versions that failed here (never
//! installed again) and, across a switch, the version that ran before and the boot it ran in.

pub mod quiet;
pub mod serving;

use std::path::{Path, PathBuf};

use senim_protocol::{UpdateOffer, UpdateReport, UpdateState, MAX_UPDATE_MESSAGE_CHARS};
use serde::{Deserialize, Serialize};

pub use quiet::QuietHours;

/// Why the update machinery cannot do its part. Messages say what to check.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(
        "cannot use the updates folder {path}: {source}. The kiosk's user must own it (it is \
         <store data_dir>/updates; the root installer reads requests there)"
    )]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}. Check the disk space and the folder's owner")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How updates run on this kiosk (from `[updates]` and the store's data folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatesConfig {
    /// `<store data_dir>/updates`: bundles, the ledger and the installer's request and result.
    pub dir: PathBuf,
    /// `/etc/os-release`, whose `IMAGE_VERSION=` names the running image.
    pub os_release: PathBuf,
    /// `/run/senim-kiosk`: the serving mark and the reboot request.
    pub run_dir: PathBuf,
    /// This boot's id (`/proc/sys/kernel/random/boot_id`): a switch is judged only after a boot.
    pub boot_id: PathBuf,
    pub quiet_hours: QuietHours,
    /// Bytes that must stay free on the data disk beside a downloaded bundle (appeals come
    /// first): twice `[store] min_free_mib`.
    pub keep_free_bytes: u64,
}

/// The running image's version: `IMAGE_VERSION=` in an os-release file (quotes allowed).
/// `None` when the file or the line is missing (a kiosk not built from `kiosk-image/`).
pub fn image_version(os_release: &Path) -> Option<String> {
    let text = std::fs::read_to_string(os_release).ok()?;
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("IMAGE_VERSION=")?;
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        senim_protocol::valid_image_version(value).then(|| value.to_string())
    })
}

/// What the kiosk keeps about updates (`updates/state.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The offer being worked on.
    pub offer: Option<UpdateOffer>,
    /// What the next heartbeats say.
    pub report: Option<UpdateReport>,
    /// The report is said once (a result): cleared when a heartbeat carrying it is answered.
    #[serde(default)]
    pub once: bool,
    /// Across a switch: the image version that ran, and the boot it ran in.
    pub switched_from: Option<String>,
    pub switched_in_boot: Option<String>,
    /// The last result said once and answered (for the technician and `doctor`).
    #[serde(default)]
    pub said: Option<UpdateReport>,
    /// Versions that failed here: never downloaded or installed again.
    #[serde(default)]
    pub failed: Vec<String>,
}

impl Ledger {
    /// The ledger in an updates folder as it is (nothing judged or written): for `doctor`.
    pub fn read(dir: &Path) -> Ledger {
        std::fs::read(dir.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

/// What the worker should do after an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Nothing,
    /// Fetch this bundle into [`Updates::part_path`] (resuming what is there).
    Download(UpdateOffer),
}

/// The installer's answer (`install.result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallResult {
    pub version: String,
    pub ok: bool,
    #[serde(default)]
    pub message: String,
}

/// The installer's request (`install.request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRequest {
    pub version: String,
    pub bundle: PathBuf,
}

/// The kiosk's side of updates: the ledger and the file contract.
#[derive(Debug)]
pub struct Updates {
    cfg: UpdatesConfig,
    ledger: Ledger,
    running: Option<String>,
}

fn report(
    version: &str,
    state: UpdateState,
    progress: Option<u8>,
    message: Option<String>,
) -> UpdateReport {
    UpdateReport {
        version: version.to_string(),
        state,
        progress_percent: progress,
        message: message.map(|m| m.chars().take(MAX_UPDATE_MESSAGE_CHARS).collect()),
    }
}

impl Updates {
    /// Opens the ledger (a damaged one is started afresh, with a warning) and, after a switch
    /// and a new boot, works out whether the new version runs or the old one came back.
    pub fn open(cfg: UpdatesConfig) -> Result<Updates, UpdateError> {
        std::fs::create_dir_all(&cfg.dir).map_err(|source| UpdateError::Folder {
            path: cfg.dir.clone(),
            source,
        })?;
        let dir = std::fs::canonicalize(&cfg.dir).map_err(|source| UpdateError::Folder {
            path: cfg.dir.clone(),
            source,
        })?;
        let cfg = UpdatesConfig { dir, ..cfg };
        let path = cfg.dir.join("state.json");
        let ledger = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "update: the ledger does not read; starting afresh");
                Ledger::default()
            }),
            Err(_) => Ledger::default(),
        };
        let running = image_version(&cfg.os_release);
        let mut updates = Updates {
            cfg,
            ledger,
            running,
        };
        updates.after_boot()?;
        Ok(updates)
    }

    fn boot_id(&self) -> Option<String> {
        std::fs::read_to_string(&self.cfg.boot_id)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// After a switch and a new boot: success (the new version runs) or rollback.
    fn after_boot(&mut self) -> Result<(), UpdateError> {
        let Some(r) = &self.ledger.report else {
            return Ok(());
        };
        if r.state != UpdateState::Switching
            || self.ledger.switched_in_boot.is_some()
                && self.ledger.switched_in_boot == self.boot_id()
        {
            return Ok(());
        }
        let version = r.version.clone();
        let from = self.ledger.switched_from.take();
        self.ledger.switched_in_boot = None;
        self.ledger.offer = None;
        self.ledger.once = true;
        if self.running.as_deref() == Some(version.as_str()) {
            tracing::info!(%version, "update: the new version runs");
            self.ledger.report = Some(report(
                &version,
                UpdateState::Installed,
                Some(100),
                Some("running since the restart".into()),
            ));
        } else {
            let now = self.running.clone().unwrap_or_else(|| "unknown".into());
            tracing::warn!(%version, running = %now, "update: rolled back to the old version");
            self.ledger.report = Some(report(
                &version,
                UpdateState::Failed,
                None,
                Some(format!(
                    "rolled back: {version} did not reach serving after the restart; {now} runs \
                     again (was {})",
                    from.as_deref().unwrap_or("unknown")
                )),
            ));
            self.fail_version(&version);
        }
        self.save()
    }

    fn fail_version(&mut self, version: &str) {
        if !self.ledger.failed.iter().any(|v| v == version) {
            self.ledger.failed.push(version.to_string());
        }
    }

    fn save(&self) -> Result<(), UpdateError> {
        let json = serde_json::to_vec_pretty(&self.ledger).unwrap_or_default();
        write_atomic(&self.cfg.dir.join("state.json"), &json)
    }

    /// The running image's version, for heartbeats.
    pub fn running(&self) -> Option<&str> {
        self.running.as_deref()
    }

    /// What the next heartbeat says.
    pub fn report(&self) -> Option<UpdateReport> {
        self.ledger.report.clone()
    }

    /// The last result the call-centre heard (a failure, a refusal, a switch that worked).
    pub fn said(&self) -> Option<UpdateReport> {
        self.ledger.said.clone()
    }

    /// What the kiosk keeps (for `doctor` and tests).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// A heartbeat carrying `sent` was answered: a result said once is said.
    pub fn answered(&mut self, sent: Option<&UpdateReport>) -> Result<(), UpdateError> {
        if self.ledger.once && sent.is_some() && sent == self.ledger.report.as_ref() {
            self.ledger.said = self.ledger.report.take();
            self.ledger.once = false;
            self.save()?;
        }
        Ok(())
    }

    /// `updates/senim-<version>.raucb.part`: the download in progress.
    pub fn part_path(&self, version: &str) -> PathBuf {
        self.cfg.dir.join(format!("senim-{version}.raucb.part"))
    }

    /// Bytes to keep free on the data disk beside a bundle.
    pub fn keep_free_bytes(&self) -> u64 {
        self.cfg.keep_free_bytes
    }

    /// `updates/senim-<version>.raucb`: a whole, checked bundle.
    pub fn bundle_path(&self, version: &str) -> PathBuf {
        self.cfg.dir.join(format!("senim-{version}.raucb"))
    }

    /// Whether the kiosk is in the middle of an attempt it must finish first.
    fn busy(&self) -> bool {
        self.ledger.report.as_ref().is_some_and(|r| {
            !self.ledger.once
                && matches!(
                    r.state,
                    UpdateState::Downloaded
                        | UpdateState::Installing
                        | UpdateState::Installed
                        | UpdateState::Switching
                )
        })
    }

    /// A heartbeat answer's offer: what to do about it. The same offer again continues the
    /// download; a version that runs, that failed here, or any offer while an install is under
    /// way, is left alone.
    pub fn offered(&mut self, offer: Option<&UpdateOffer>) -> Result<Next, UpdateError> {
        let Some(offer) = offer else {
            return Ok(Next::Nothing);
        };
        if !senim_protocol::valid_image_version(&offer.version)
            || self.running.as_deref() == Some(offer.version.as_str())
            || self.ledger.failed.contains(&offer.version)
            || self.busy()
        {
            return Ok(Next::Nothing);
        }
        if self.ledger.offer.as_ref() != Some(offer) {
            // A newer offer replaces an unfinished download of another one.
            if let Some(old) = self.ledger.offer.take() {
                let _ = std::fs::remove_file(self.part_path(&old.version));
            }
            self.ledger.offer = Some(offer.clone());
            self.ledger.once = false;
            self.ledger.report = Some(report(
                &offer.version,
                UpdateState::Downloading,
                Some(0),
                None,
            ));
            self.save()?;
        }
        Ok(Next::Download(offer.clone()))
    }

    /// Download progress (kept in memory; the heartbeat says it).
    pub fn progress(&mut self, version: &str, percent: u8) {
        if let Some(r) = self.ledger.report.as_mut() {
            if r.version == version && r.state == UpdateState::Downloading {
                r.progress_percent = Some(percent.min(100));
            }
        }
    }

    /// The download waits or failed for now (network, disk space): noted in the report,
    /// retried at the next offer.
    pub fn download_interrupted(&mut self, version: &str, why: &str) {
        if let Some(r) = self.ledger.report.as_mut() {
            if r.version == version && r.state == UpdateState::Downloading {
                r.message = Some(why.chars().take(MAX_UPDATE_MESSAGE_CHARS).collect());
            }
        }
    }

    /// The whole file is in [`Updates::part_path`] and `checked` says whether its size and
    /// SHA-256 match the offer: a match becomes the bundle and goes to the installer; a
    /// mismatch is deleted and that version refused (reported, not fetched again).
    pub fn downloaded(
        &mut self,
        offer: &UpdateOffer,
        checked: Result<(), String>,
    ) -> Result<(), UpdateError> {
        if self.ledger.offer.as_ref() != Some(offer) {
            return Ok(());
        }
        let part = self.part_path(&offer.version);
        if let Err(why) = checked {
            let _ = std::fs::remove_file(&part);
            tracing::warn!(version = %offer.version, "update: the bundle does not match its offer; refused");
            self.ledger.offer = None;
            self.ledger.once = true;
            self.ledger.report = Some(report(
                &offer.version,
                UpdateState::Refused,
                None,
                Some(why),
            ));
            self.fail_version(&offer.version);
            return self.save();
        }
        let bundle = self.bundle_path(&offer.version);
        std::fs::rename(&part, &bundle).map_err(|source| UpdateError::Write {
            path: bundle.clone(),
            source,
        })?;
        self.ledger.report = Some(report(
            &offer.version,
            UpdateState::Downloaded,
            Some(100),
            None,
        ));
        self.save()?;
        let request = InstallRequest {
            version: offer.version.clone(),
            bundle,
        };
        write_atomic(
            &self.cfg.dir.join("install.request"),
            &serde_json::to_vec(&request).unwrap_or_default(),
        )?;
        tracing::info!(version = %offer.version, "update: bundle checked and handed to the installer");
        self.ledger.report = Some(report(
            &offer.version,
            UpdateState::Installing,
            Some(100),
            None,
        ));
        self.save()
    }

    /// Reads the installer's result, if it came: installed (waiting for the switch) or failed.
    /// Returns whether anything changed.
    pub fn poll_installer(&mut self) -> Result<bool, UpdateError> {
        let path = self.cfg.dir.join("install.result");
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(false);
        };
        let _ = std::fs::remove_file(&path);
        let result: InstallResult = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "update: the installer's result does not read; ignored");
                return Ok(false);
            }
        };
        let installing = self
            .ledger
            .report
            .as_ref()
            .is_some_and(|r| r.state == UpdateState::Installing && r.version == result.version);
        if !installing {
            tracing::warn!(version = %result.version, "update: an installer result for no install under way; ignored");
            return Ok(false);
        }
        let message =
            (!result.message.trim().is_empty()).then(|| result.message.trim().to_string());
        if result.ok {
            tracing::info!(version = %result.version, "update: installed; switching in a quiet hour between citizens");
            self.ledger.report = Some(report(
                &result.version,
                UpdateState::Installed,
                Some(100),
                message,
            ));
        } else {
            tracing::warn!(version = %result.version, "update: the installer failed");
            self.ledger.offer = None;
            self.ledger.once = true;
            self.ledger.report = Some(report(
                &result.version,
                UpdateState::Failed,
                None,
                Some(message.unwrap_or_else(|| "the installer failed".into())),
            ));
            self.fail_version(&result.version);
        }
        self.save()?;
        Ok(true)
    }

    /// An installed version waits for its switch.
    pub fn waiting_to_switch(&self) -> bool {
        !self.ledger.once
            && self
                .ledger
                .report
                .as_ref()
                .is_some_and(|r| r.state == UpdateState::Installed)
    }

    /// Whether the switch may happen at kiosk-local time `now` (the flow still decides that
    /// nobody is at the kiosk).
    pub fn switch_due(&self, now: chrono::NaiveTime) -> bool {
        self.waiting_to_switch() && self.cfg.quiet_hours.contains(now)
    }

    /// Switches: notes what runs now and in which boot, then asks the root side to restart.
    pub fn switch(&mut self) -> Result<(), UpdateError> {
        let Some(version) = self
            .ledger
            .report
            .as_ref()
            .filter(|_| self.waiting_to_switch())
            .map(|r| r.version.clone())
        else {
            return Ok(());
        };
        let installed = self.ledger.report.clone();
        self.ledger.switched_from = self.running.clone();
        self.ledger.switched_in_boot = self.boot_id();
        self.ledger.report = Some(report(&version, UpdateState::Switching, Some(100), None));
        self.save()?;
        tracing::info!(%version, "update: restarting into the new version");
        if let Err(e) = write_atomic(&self.cfg.run_dir.join("reboot.request"), version.as_bytes()) {
            // No restart was asked for: still installed and waiting, not a switch to judge.
            self.ledger.report = installed;
            self.ledger.switched_from = None;
            self.ledger.switched_in_boot = None;
            self.save()?;
            return Err(e);
        }
        Ok(())
    }
}

/// Writes `path` whole or not at all: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    use std::io::Write;
    let err = |source| UpdateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests;
