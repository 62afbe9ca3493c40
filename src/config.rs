//! The kiosk's one typed configuration: loaded from TOML, every key checked, secrets redacted.
//!
//! Unknown keys, wrong types and impossible values are refused at start with the file, the key
//! and what is expected, so a technician can fix the file without reading code.
//!
//! Over 600 lines on purpose: every section with its defaults and checks in one table a technician
//! can read top to bottom; the last ~180 lines are tests.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::devices::camera::CameraConfig;
use crate::devices::printer::{CodePage, Paper, PrinterOptions, QrMode};
use crate::devices::scanner::{ScannerOptions, Suffix};
use crate::flow::{Lang, Mode};

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
}

/// Who this kiosk is and how it greets people.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KioskSection {
    /// Shown as the title of the attract screen, e.g. "Karaganda Regional Hospital".
    pub site_name: String,
    /// `hospital` (appeals first) or `front-office` (service guides first).
    pub mode: Mode,
    /// The language every session starts in.
    #[serde(default)]
    pub default_language: Lang,
    /// Folder with the service-guide catalogue (one TOML file per service).
    #[serde(default = "default_catalog_dir")]
    pub catalog_dir: PathBuf,
}

fn default_catalog_dir() -> PathBuf {
    PathBuf::from("config/services")
}

/// Which renderer Slint uses.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Renderer {
    /// CPU rendering: fastest first frame and smallest memory on kiosks without a GPU.
    #[default]
    Software,
    /// OpenGL rendering, for kiosks with a working GPU driver.
    Femtovg,
}

impl Renderer {
    pub fn slint_name(self) -> &'static str {
        match self {
            Renderer::Software => "software",
            Renderer::Femtovg => "femtovg",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisplaySection {
    /// Fullscreen on a kiosk; `--windowed` overrides it for development.
    pub fullscreen: bool,
    pub renderer: Renderer,
    /// Window size when not fullscreen (1920×1080 landscape or 1080×1920 portrait).
    pub width: u32,
    pub height: u32,
}

impl Default for DisplaySection {
    fn default() -> Self {
        Self {
            fullscreen: true,
            renderer: Renderer::Software,
            width: 1920,
            height: 1080,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    /// Quiet seconds before "are you still there?".
    pub idle_warning_secs: u64,
    /// Seconds the warning stays before the session is wiped.
    pub idle_reset_secs: u64,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self {
            idle_warning_secs: 60,
            idle_reset_secs: 20,
        }
    }
}

/// The `[callcentre]` section: working hours, shared with the backend (`senim_protocol::hours`).
pub type CallCentreSection = senim_protocol::hours::HoursConfig;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScannerSection {
    /// Serial port of the barcode scanner; empty means "no serial scanner fitted".
    pub port: String,
    pub baud: u32,
    pub suffix: Suffix,
    pub inter_byte_timeout_ms: u64,
    pub max_line_bytes: usize,
    pub duplicate_window_ms: u64,
}

impl Default for ScannerSection {
    fn default() -> Self {
        let o = ScannerOptions::default();
        Self {
            port: String::new(),
            baud: o.baud,
            suffix: o.suffix,
            inter_byte_timeout_ms: millis(o.inter_byte_timeout),
            max_line_bytes: o.max_line_bytes,
            duplicate_window_ms: millis(o.duplicate_window),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ScannerSection {
    /// Driver options, or `None` when no serial scanner is configured.
    pub fn options(&self) -> Option<ScannerOptions> {
        if self.port.is_empty() {
            return None;
        }
        Some(ScannerOptions {
            port: self.port.clone(),
            baud: self.baud,
            suffix: self.suffix,
            inter_byte_timeout: Duration::from_millis(self.inter_byte_timeout_ms),
            max_line_bytes: self.max_line_bytes,
            duplicate_window: Duration::from_millis(self.duplicate_window_ms),
            ..ScannerOptions::default()
        })
    }
}

/// The ESC/POS receipt printer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterSection {
    /// Serial port of the receipt printer; empty means "no printer fitted".
    pub port: String,
    pub baud: u32,
    /// RTS/CTS flow control.
    pub hardware_flow_control: bool,
    /// Printable width in dots: 384 (58 mm paper) or 576 (80 mm).
    pub width_dots: u16,
    /// The character table for text: `cp866`, `cp1251` or `kz1048`.
    pub code_page: CodePage,
    /// The printer's `ESC t` number for that table; absent: Epson's number.
    pub code_page_number: Option<u8>,
    /// `native` (the printer draws QR codes) or `raster` (the kiosk does).
    pub qr: QrMode,
    /// Ask for paper and cover status before each slip and every 15 s.
    pub query_status: bool,
    /// Longest the printer may refuse data before a slip is given up (1–60 s).
    pub write_timeout_secs: u64,
}

impl Default for PrinterSection {
    fn default() -> Self {
        let o = PrinterOptions::default();
        Self {
            port: String::new(),
            baud: o.baud,
            hardware_flow_control: o.hardware_flow_control,
            width_dots: o.paper.width_dots,
            code_page: o.paper.code_page,
            code_page_number: None,
            qr: o.paper.qr,
            query_status: o.query_status,
            write_timeout_secs: o.write_timeout.as_secs(),
        }
    }
}

impl PrinterSection {
    /// Driver options, or `None` when no printer is configured.
    pub fn options(&self) -> Option<PrinterOptions> {
        if self.port.is_empty() {
            return None;
        }
        Some(PrinterOptions {
            port: self.port.clone(),
            baud: self.baud,
            hardware_flow_control: self.hardware_flow_control,
            paper: Paper {
                width_dots: self.width_dots,
                code_page: self.code_page,
                code_page_number: self
                    .code_page_number
                    .unwrap_or(self.code_page.epson_number()),
                qr: self.qr,
            },
            query_status: self.query_status,
            write_timeout: Duration::from_secs(self.write_timeout_secs),
            ..PrinterOptions::default()
        })
    }
}
/// The `[camera]` section: camera, microphone, picture and bit rates
/// (`devices::camera::CameraConfig`; the test sources are fakes for tests and the demo).
pub type CameraSection = CameraConfig;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppealSection {
    /// The 3-2-1 countdown before recording starts.
    pub countdown_secs: u64,
    /// Maximum length of a video appeal.
    pub max_recording_secs: u64,
    /// Public page where a citizen follows an appeal, `https://…{number}…`; `{number}` is
    /// replaced by the appeal number. Empty: receipts carry no QR code or link.
    pub status_url: String,
}

impl Default for AppealSection {
    fn default() -> Self {
        Self {
            countdown_secs: 3,
            max_recording_secs: 180,
            status_url: String::new(),
        }
    }
}

/// The placeholder in `appeal.status_url`.
pub const STATUS_URL_NUMBER: &str = "{number}";

impl AppealSection {
    /// The status link of one appeal (for the receipt's QR code, on screen and on paper), or
    /// `None` when no status page is configured.
    pub fn status_url(&self, number: &str) -> Option<String> {
        status_url_for(&self.status_url, number)
    }
}

/// The link to follow an appeal: `template` with `{number}` replaced; `None` when empty.
pub fn status_url_for(template: &str, number: &str) -> Option<String> {
    if template.is_empty() {
        return None;
    }
    Some(template.replace(STATUS_URL_NUMBER, number))
}

#[derive(Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TechnicianSection {
    /// SHA-256 (hex) of the technician PIN; empty disables PIN entry.
    pub pin_sha256: String,
    /// SHA-256 (hex) of technician badges (`SENIM-TECH:<badge>` barcodes) that open technician
    /// mode without the PIN.
    pub badges_sha256: Vec<String>,
}

impl fmt::Debug for TechnicianSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TechnicianSection")
            .field(
                "pin_sha256",
                &if self.pin_sha256.is_empty() {
                    "<unset>"
                } else {
                    "<redacted>"
                },
            )
            .field("badges", &self.badges_sha256.len())
            .finish()
    }
}

/// Settings the command line may override for any subcommand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--data DIR`: the store and the videos.
    pub data: Option<PathBuf>,
    /// `--backend URL`: the call-centre.
    pub backend: Option<String>,
}

/// Where the kiosk keeps what citizens leave, and for how long.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// The store (`kiosk.sqlite3`) and the videos live here.
    pub data_dir: PathBuf,
    /// Days a delivered item's metadata is kept before it is purged (1–365).
    pub retention_days: u32,
    /// Free space (MiB) a new recording needs; below it appeals are refused up front.
    pub min_free_mib: u64,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/senim"),
            retention_days: 30,
            min_free_mib: 256,
        }
    }
}

/// How the kiosk talks to the call-centre backend.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// The backend, `https://HOST[:PORT]`; empty: this kiosk keeps everything and sends nothing.
    pub backend_url: String,
    /// An extra CA certificate (PEM) for a backend with a private CA; empty: public roots only.
    pub ca_file: PathBuf,
    /// Seconds between heartbeats (5–3600).
    pub heartbeat_secs: u64,
    /// Records per batch (1–500).
    pub batch_size: usize,
    /// Video bytes per tus PATCH, in KiB (64–16384).
    pub chunk_kib: usize,
    /// Longest wait between retries after failures, in seconds (1–3600).
    pub max_backoff_secs: u64,
}

impl Default for SyncSection {
    fn default() -> Self {
        Self {
            backend_url: String::new(),
            ca_file: PathBuf::new(),
            heartbeat_secs: 30,
            batch_size: 100,
            chunk_kib: 1024,
            max_backoff_secs: 60,
        }
    }
}

impl Config {
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
        if !url.is_empty() {
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or("");
            if host.is_empty() || host.starts_with('/') || url.contains(char::is_whitespace) {
                return Err(invalid(
                    "sync.backend_url",
                    "https://HOST[:PORT] (or http:// behind a trusted network), or empty",
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
                && status_url.matches(STATUS_URL_NUMBER).count() == 1
                && status_url.len() <= 200
                && !status_url.contains(|c: char| c.is_whitespace() || c.is_control());
            if !well_formed {
                return Err(invalid(
                    "appeal.status_url",
                    "an https:// link of at most 200 characters with {number} once in its path, e.g. \"https://senim.example/a/{number}\", or empty",
                    format!("{status_url:?}"),
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
mod tests {
    use super::*;

    const MINIMAL: &str = "[kiosk]\nsite_name = \"Test\"\nmode = \"hospital\"\n";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("kiosk.toml"))
    }

    #[test]
    fn shipped_example_and_demo_configs_parse() {
        for file in ["config/kiosk.example.toml", "config/kiosk.demo.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let config = Config::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(config.kiosk.default_language, Lang::Kk, "{file}");
        }
    }

    #[test]
    fn minimal_config_takes_documented_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.session.idle_warning_secs, 60);
        assert_eq!(c.kiosk.default_language, Lang::Kk);
        assert!(c.scanner.options().is_none(), "no port means no scanner");
        assert!(c.printer.options().is_none(), "no port means no printer");
        assert_eq!(c.appeal.status_url("A-7Q2M9XK3"), None);
        assert!(
            !c.camera.has_video() && !c.camera.has_audio(),
            "no [camera] means none fitted"
        );
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = parse(&format!("{MINIMAL}[session]\nidle_warnig_secs = 5\n")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("kiosk.toml: key `session"), "{msg}");
        assert!(msg.contains("idle_warnig_secs"), "{msg}");
        assert!(
            msg.contains("idle_warning_secs"),
            "suggests the right key: {msg}"
        );
    }

    #[test]
    fn negative_timeout_is_refused_with_key() {
        let e = parse(&format!("{MINIMAL}[session]\nidle_warning_secs = -5\n")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("session.idle_warning_secs"), "{msg}");
    }

    #[test]
    fn unknown_language_lists_the_choices() {
        let text = MINIMAL.replace("mode", "default_language = \"de\"\nmode");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.contains("kiosk.default_language"), "{msg}");
        assert!(
            msg.contains("kk") && msg.contains("ru") && msg.contains("en"),
            "{msg}"
        );
    }

    #[test]
    fn impossible_values_are_refused() {
        let cases = [
            (
                "[session]\nidle_warning_secs = 0\n",
                "session.idle_warning_secs",
            ),
            (
                "[appeal]\nmax_recording_secs = 5\n",
                "appeal.max_recording_secs",
            ),
            (
                "[callcentre]\nopens = \"18:00\"\ncloses = \"09:00\"\n",
                "callcentre.closes",
            ),
            (
                "[callcentre]\ntimezone = \"Mars/Olympus\"\n",
                "callcentre.timezone",
            ),
            (
                "[callcentre]\nholidays = [\"2026-02-30\"]\n",
                "callcentre.holidays",
            ),
            ("[scanner]\nbaud = 1234\n", "scanner.baud"),
            ("[printer]\nbaud = 1234\n", "printer.baud"),
            ("[printer]\nwidth_dots = 380\n", "printer.width_dots"),
            ("[printer]\nwidth_dots = 8000\n", "printer.width_dots"),
            (
                "[printer]\nwrite_timeout_secs = 0\n",
                "printer.write_timeout_secs",
            ),
            (
                "[appeal]\nstatus_url = \"http://senim.example/a/{number}\"\n",
                "appeal.status_url",
            ),
            (
                "[appeal]\nstatus_url = \"https://senim.example/a/\"\n",
                "appeal.status_url",
            ),
            (
                "[appeal]\nstatus_url = \"https://{number}/a\"\n",
                "appeal.status_url",
            ),
            (
                "[camera]\nvideo = \"v4l2\"\nvideo_device = \"\"\n",
                "camera.video_device",
            ),
            ("[camera]\nwidth = 4000\n", "camera.width"),
            ("[camera]\naudio_kbps = 1\n", "camera.audio_kbps"),
            ("[store]\nretention_days = 0\n", "store.retention_days"),
            (
                "[sync]\nbackend_url = \"ftp://cc.example\"\n",
                "sync.backend_url",
            ),
            ("[sync]\nchunk_kib = 1\n", "sync.chunk_kib"),
            ("[sync]\nbatch_size = 501\n", "sync.batch_size"),
            (
                "[technician]\npin_sha256 = \"1234\"\n",
                "technician.pin_sha256",
            ),
        ];
        for (extra, key) in cases {
            let msg = parse(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(msg.contains(key), "{extra}: {msg}");
            assert!(msg.contains("expected"), "{extra}: {msg}");
        }
    }

    #[test]
    fn printer_section_becomes_driver_options() {
        let c = parse(&format!(
            "{MINIMAL}[printer]\nport = \"/dev/ttyUSB0\"\nwidth_dots = 384\ncode_page = \"cp1251\"\nqr = \"raster\"\n\
             [appeal]\nstatus_url = \"https://senim.example/a/{{number}}\"\n"
        ))
        .unwrap();
        let o = c.printer.options().unwrap();
        assert_eq!(o.port, "/dev/ttyUSB0");
        assert_eq!(o.paper.width_dots, 384);
        assert_eq!(o.paper.code_page, CodePage::Cp1251);
        assert_eq!(o.paper.code_page_number, 46, "Epson's number by default");
        assert_eq!(o.paper.qr, QrMode::Raster);
        assert_eq!(
            c.appeal.status_url("A-7Q2M9XK3").as_deref(),
            Some("https://senim.example/a/A-7Q2M9XK3")
        );
        let c = parse(&format!(
            "{MINIMAL}[printer]\nport = \"/dev/ttyUSB0\"\ncode_page_number = 73\n"
        ))
        .unwrap();
        assert_eq!(c.printer.options().unwrap().paper.code_page_number, 73);
        let msg = parse(&format!("{MINIMAL}[printer]\ncode_page = \"cp437\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("printer.code_page") && msg.contains("kz1048"),
            "{msg}"
        );
    }

    #[test]
    fn missing_required_key_is_named() {
        let msg = parse("[kiosk]\nmode = \"hospital\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("site_name"), "{msg}");
    }

    #[test]
    fn pin_hash_is_redacted_in_debug() {
        let text = format!(
            "{MINIMAL}[technician]\npin_sha256 = \"{}\"\n",
            "ab".repeat(32)
        );
        let c = parse(&text).unwrap();
        assert!(!format!("{c:?}").contains("abab"));
    }
}
