//! The kiosk's one typed configuration: loaded from TOML, every key checked, secrets redacted.
//!
//! Unknown keys, wrong types and impossible values are refused at start with the file, the key
//! and what is expected, so a technician can fix the file without reading code.
//!
//! `mod.rs`: errors, the whole `Config`, loading and validation; `sections.rs`: each
//! section's keys and defaults.

mod pin;
mod sections;
mod updates;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use pin::{check_pin_text, hash_pin, PinError, PIN_MAX_DIGITS, PIN_MIN_DIGITS};
pub use sections::{
    status_url_for, AppealSection, CallCentreSection, CallSection, CameraSection, DisplaySection,
    KioskSection, PrinterSection, Renderer, ScannerSection, SessionSection, SpeechSection,
    StoreSection, SyncSection, TechnicianSection, STATUS_URL_CODE, STATUS_URL_NUMBER,
};
pub use updates::UpdatesSection;

/// What can go wrong while loading the configuration. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the configuration file {path}: {source} — check the path given with --config"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: key `{key}`: {message}")]
    Parse {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("{path}: key `{key}`: expected {expected}, found {found}")]
    Invalid {
        path: PathBuf,
        key: String,
        expected: String,
        found: String,
    },
}

/// The whole kiosk configuration (`config/kiosk.example.toml` documents every key).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub kiosk: KioskSection,
    #[serde(default)]
    pub display: DisplaySection,
    #[serde(default)]
    pub session: SessionSection,
    #[serde(default)]
    pub callcentre: CallCentreSection,
    #[serde(default)]
    pub scanner: ScannerSection,
    #[serde(default)]
    pub printer: PrinterSection,
    #[serde(default)]
    pub camera: CameraSection,
    #[serde(default)]
    pub appeal: AppealSection,
    #[serde(default)]
    pub technician: TechnicianSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub sync: SyncSection,
    #[serde(default)]
    pub call: CallSection,
    #[serde(default)]
    pub speech: SpeechSection,
    #[serde(default)]
    pub updates: UpdatesSection,
}

/// Settings the command line may override for any subcommand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--data DIR`: the store and the videos.
    pub data: Option<PathBuf>,
    /// `--backend URL`: the call-centre.
    pub backend: Option<String>,
}

impl Config {
    /// What the receipt's QR code and link point at, with `{number}` and `{code}` still in
    /// it: `[appeal] status_url` when set, otherwise the call-centre's status page
    /// `{[sync] backend_url}/s/{number}/{code}`; empty when there is neither.
    pub fn status_url_template(&self) -> String {
        if !self.appeal.status_url.is_empty() {
            return self.appeal.status_url.clone();
        }
        if self.sync.backend_url.is_empty() {
            return String::new();
        }
        format!(
            "{}/s/{STATUS_URL_NUMBER}/{STATUS_URL_CODE}",
            self.sync.backend_url.trim_end_matches('/')
        )
    }

    /// The status link of one appeal (the receipt's QR code, on screen and on paper), or
    /// `None` when there is no status page.
    pub fn status_url(&self, number: &str, check_code: &str) -> Option<String> {
        status_url_for(&self.status_url_template(), number, check_code)
    }

    /// The receipt printer's driver options, `None` when none is fitted: `port = "auto"`
    /// finds it now ([`crate::devices::printer::link::find_in`]); nothing found is "not
    /// fitted", not a fault.
    pub fn printer_options(&self) -> Option<crate::devices::printer::PrinterOptions> {
        let mut options = self.printer.options()?;
        if options.port.trim() == crate::devices::scanner::discover::AUTO {
            let found = crate::devices::printer::link::find_in(Path::new("/dev"))?;
            options.port = found.display().to_string();
        }
        Some(options)
    }

    /// The scanner's driver options (`None`: no serial scanner fitted), with the printer's
    /// port kept out of reach of `port = "auto"`.
    pub fn scanner_options(&self) -> Option<crate::devices::scanner::ScannerOptions> {
        let mut options = self.scanner.options()?;
        let printer = self.printer.port.trim();
        if !printer.is_empty() && printer != crate::devices::scanner::discover::AUTO {
            options.exclude.push(PathBuf::from(printer));
        }
        Some(options)
    }

    /// Whether this kiosk has nowhere to send anything yet and should rest on the enrolment
    /// screen: not stand-alone, and no call-centre configured or learnt at enrolment (see
    /// [`Config::adopt_enrolled_backend`]).
    pub fn awaits_enrolment(&self) -> bool {
        !self.sync.standalone && self.sync.backend_url.is_empty()
    }

    /// With no `[sync] backend_url` (and not stand-alone), takes the call-centre this kiosk
    /// learnt at enrolment (the URL the enrolment QR code carried, kept in the store with the
    /// token and pin), so an enrolled kiosk serves after a restart with nothing configured.
    /// Returns the URL adopted. The store is only read when it exists.
    pub fn adopt_enrolled_backend(&mut self) -> Option<String> {
        if !self.awaits_enrolment() {
            return None;
        }
        let url = crate::store::enrolled_backend(&self.store.data_dir)?;
        self.sync.backend_url = url.clone();
        Some(url)
    }

    /// The same settings with `backend_url` set to `url` (the enrolment QR code's), or `None`
    /// when that is not a usable call-centre address.
    pub fn with_backend(&self, url: &str) -> Option<Config> {
        let mut config = self.clone();
        config.sync.backend_url = url.to_string();
        config.sync.standalone = false;
        config
            .validate(Path::new("the enrolment code's url"))
            .ok()?;
        Some(config)
    }

    /// The sync worker's settings, or `None` when no backend is configured.
    pub fn sync_config(&self) -> Result<Option<crate::sync::SyncConfig>, crate::sync::SyncError> {
        if self.sync.backend_url.is_empty() {
            return Ok(None);
        }
        let ca_pem = if self.sync.ca_file.as_os_str().is_empty() {
            None
        } else {
            Some(std::fs::read(&self.sync.ca_file).map_err(|source| {
                crate::sync::SyncError::CaFile {
                    path: self.sync.ca_file.clone(),
                    source,
                }
            })?)
        };
        Ok(Some(crate::sync::SyncConfig {
            data_dir: self.store.data_dir.clone(),
            backend_url: self.sync.backend_url.clone(),
            ca_pem,
            heartbeat: Duration::from_secs(self.sync.heartbeat_secs),
            batch_size: self.sync.batch_size,
            chunk_bytes: self.sync.chunk_kib * 1024,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(self.sync.max_backoff_secs),
            retention_days: self.store.retention_days,
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            max_video_attempts: self.sync.max_video_attempts,
            updates: self
                .updates
                .config(&self.store.data_dir, self.store.min_free_mib),
            serving: None,
        }))
    }

    /// Reads a configuration file and applies the command line's overrides (`--data`,
    /// `--backend`), validating the result.
    pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut config = Config::load(path)?;
        if overrides.data.is_none() && overrides.backend.is_none() {
            return Ok(config);
        }
        if let Some(data) = &overrides.data {
            config.store.data_dir = data.clone();
        }
        if let Some(backend) = &overrides.backend {
            config.sync.backend_url = backend.clone();
        }
        config.validate(Path::new("the command line (--data/--backend)"))?;
        Ok(config)
    }

    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let deserializer = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Parse {
                path: path.to_path_buf(),
                key: if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                message: e.inner().message().trim().to_string(),
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, expected: &str, found: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: expected.to_string(),
            found,
        };
        if self.kiosk.site_name.trim().is_empty() {
            return Err(invalid(
                "kiosk.site_name",
                "the name of the site shown to citizens",
                "an empty string".into(),
            ));
        }
        if !(10..=3600).contains(&self.session.idle_warning_secs) {
            return Err(invalid(
                "session.idle_warning_secs",
                "between 10 and 3600 seconds",
                self.session.idle_warning_secs.to_string(),
            ));
        }
        if !(5..=600).contains(&self.session.idle_reset_secs) {
            return Err(invalid(
                "session.idle_reset_secs",
                "between 5 and 600 seconds",
                self.session.idle_reset_secs.to_string(),
            ));
        }
        if let Err(e) = self.updates.quiet_hours() {
            return Err(invalid(
                "updates.quiet_hours",
                "\"HH:MM-HH:MM\", e.g. \"02:00-05:00\"",
                e,
            ));
        }
        self.camera
            .validate()
            .map_err(|e| invalid(&format!("camera.{}", e.key), &e.expected, e.found))?;
        if !(1..=10).contains(&self.appeal.countdown_secs) {
            return Err(invalid(
                "appeal.countdown_secs",
                "between 1 and 10 seconds",
                self.appeal.countdown_secs.to_string(),
            ));
        }
        if !(crate::flow::SPEECH_VOLUME_MIN..=100).contains(&self.speech.volume) {
            return Err(invalid(
                "speech.volume",
                "between 20 and 100",
                self.speech.volume.to_string(),
            ));
        }
        if !(10..=1800).contains(&self.appeal.max_recording_secs) {
            return Err(invalid(
                "appeal.max_recording_secs",
                "between 10 and 1800 seconds",
                self.appeal.max_recording_secs.to_string(),
            ));
        }
        if !(self.display.width >= 320 && self.display.height >= 320) {
            return Err(invalid(
                "display.width",
                "a window of at least 320×320 pixels",
                format!("{}×{}", self.display.width, self.display.height),
            ));
        }
        if !(7.0..=100.0).contains(&self.display.diagonal_inches) {
            return Err(invalid(
                "display.diagonal_inches",
                "the screen's diagonal in inches, between 7 and 100 (e.g. 21.5)",
                self.display.diagonal_inches.to_string(),
            ));
        }
        self.callcentre
            .schedule()
            .map_err(|e| invalid(&format!("callcentre.{}", e.key), &e.expected, e.found))?;
        const BAUDS: [u32; 8] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];
        if !BAUDS.contains(&self.scanner.baud) {
            return Err(invalid(
                "scanner.baud",
                "one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200",
                self.scanner.baud.to_string(),
            ));
        }
        if !(16..=4096).contains(&self.scanner.max_line_bytes) {
            return Err(invalid(
                "scanner.max_line_bytes",
                "between 16 and 4096",
                self.scanner.max_line_bytes.to_string(),
            ));
        }
        if !(5..=2000).contains(&self.scanner.inter_byte_timeout_ms) {
            return Err(invalid(
                "scanner.inter_byte_timeout_ms",
                "between 5 and 2000 milliseconds",
                self.scanner.inter_byte_timeout_ms.to_string(),
            ));
        }
        if self.scanner.duplicate_window_ms > 10_000 {
            return Err(invalid(
                "scanner.duplicate_window_ms",
                "at most 10000 milliseconds",
                self.scanner.duplicate_window_ms.to_string(),
            ));
        }
        if !(1..=365).contains(&self.store.retention_days) {
            return Err(invalid(
                "store.retention_days",
                "between 1 and 365 days",
                self.store.retention_days.to_string(),
            ));
        }
        if self.store.data_dir.as_os_str().is_empty() {
            return Err(invalid(
                "store.data_dir",
                "a folder for the kiosk's store and videos",
                "an empty path".into(),
            ));
        }
        let url = &self.sync.backend_url;
        if self.sync.standalone && !url.is_empty() {
            return Err(invalid(
                "sync.standalone",
                "false when sync.backend_url is set (a stand-alone kiosk talks to no call-centre); \
                 remove one of them",
                "true".into(),
            ));
        }
        if !url.is_empty() {
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or("");
            if host.is_empty() || host.starts_with('/') || url.contains(char::is_whitespace) {
                return Err(invalid(
                    "sync.backend_url",
                    "https://HOST[:PORT] (http:// only to 127.0.0.1, localhost or [::1]), or empty",
                    format!("{url:?}"),
                ));
            }
            let plain_elsewhere = url.starts_with("http://")
                && reqwest::Url::parse(url).is_ok_and(|u| !crate::sync::tls::loopback_host(&u));
            if plain_elsewhere {
                return Err(invalid(
                    "sync.backend_url",
                    &format!(
                        "https://HOST[:PORT] — {}",
                        crate::sync::client::PLAIN_HTTP_REFUSED
                    ),
                    format!("{url:?}"),
                ));
            }
        }
        if !(5..=3600).contains(&self.sync.heartbeat_secs) {
            return Err(invalid(
                "sync.heartbeat_secs",
                "between 5 and 3600 seconds",
                self.sync.heartbeat_secs.to_string(),
            ));
        }
        if !(1..=senim_protocol::MAX_BATCH_RECORDS).contains(&self.sync.batch_size) {
            return Err(invalid(
                "sync.batch_size",
                "between 1 and 500 records",
                self.sync.batch_size.to_string(),
            ));
        }
        if !(64..=16384).contains(&self.sync.chunk_kib) {
            return Err(invalid(
                "sync.chunk_kib",
                "between 64 and 16384 KiB",
                self.sync.chunk_kib.to_string(),
            ));
        }
        if !(1..=100).contains(&self.sync.max_video_attempts) {
            return Err(invalid(
                "sync.max_video_attempts",
                "between 1 and 100 uploads",
                self.sync.max_video_attempts.to_string(),
            ));
        }
        if !(1..=3600).contains(&self.sync.max_backoff_secs) {
            return Err(invalid(
                "sync.max_backoff_secs",
                "between 1 and 3600 seconds",
                self.sync.max_backoff_secs.to_string(),
            ));
        }
        if !BAUDS.contains(&self.printer.baud) {
            return Err(invalid(
                "printer.baud",
                "one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200",
                self.printer.baud.to_string(),
            ));
        }
        let w = self.printer.width_dots;
        if !(128..=832).contains(&w) || !w.is_multiple_of(8) {
            return Err(invalid(
                "printer.width_dots",
                "the printable width in dots, a multiple of 8: 384 for 58 mm paper, 576 for 80 mm",
                w.to_string(),
            ));
        }
        if !(1..=60).contains(&self.printer.write_timeout_secs) {
            return Err(invalid(
                "printer.write_timeout_secs",
                "between 1 and 60 seconds",
                self.printer.write_timeout_secs.to_string(),
            ));
        }
        let status_url = &self.appeal.status_url;
        if !status_url.is_empty() {
            let host = status_url
                .strip_prefix("https://")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("");
            let well_formed = !host.is_empty()
                && !host.contains(STATUS_URL_NUMBER)
                && !host.contains(STATUS_URL_CODE)
                && status_url.matches(STATUS_URL_NUMBER).count() == 1
                && status_url.matches(STATUS_URL_CODE).count() <= 1
                && status_url.len() <= 200
                && !status_url.contains(|c: char| c.is_whitespace() || c.is_control());
            if !well_formed {
                return Err(invalid(
                    "appeal.status_url",
                    "an https:// link of at most 200 characters with {number} once in its path and {code} at most once, e.g. \"https://senim.example/s/{number}/{code}\", or empty (the call-centre's own status page)",
                    format!("{status_url:?}"),
                ));
            }
        }
        let pin_hash = &self.technician.pin_hash;
        if !pin_hash.is_empty() {
            if let Some(problem) = pin::pin_hash_problem(pin_hash) {
                return Err(invalid(
                    "technician.pin_hash",
                    "the argon2id line `senim-kiosk hash-pin` prints (\"$argon2id$v=19$…\"), or an empty string",
                    problem,
                ));
            }
            if !self.technician.pin_sha256.is_empty() {
                return Err(invalid(
                    "technician.pin_sha256",
                    "no pin_sha256 beside pin_hash (delete the old pin_sha256 line)",
                    "both keys set".into(),
                ));
            }
        }
        let pin = &self.technician.pin_sha256;
        let well_formed = pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit());
        if !pin.is_empty() && !well_formed {
            return Err(invalid(
                "technician.pin_sha256",
                "64 hexadecimal characters (sha256sum of the PIN) or an empty string",
                format!("{} characters", pin.len()),
            ));
        }
        for (i, badge) in self.technician.badges_sha256.iter().enumerate() {
            if badge.len() != 64 || !badge.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    &format!("technician.badges_sha256[{i}]"),
                    "64 hexadecimal characters (printf %s BADGE | sha256sum)",
                    format!("{} characters", badge.len()),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
