//! The configuration's sections: each `[section]`'s keys with their defaults, and the device
//! options a section becomes.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::devices::camera::CameraConfig;
use crate::devices::printer::{CodePage, Paper, PrinterOptions, QrMode};
use crate::devices::scanner::{ScannerOptions, Suffix};
use crate::flow::{Lang, Mode};

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
    /// The screen's diagonal in inches: with the window's size in pixels it gives the size of
    /// a millimetre, so every touch target is at least 15 mm.
    pub diagonal_inches: f32,
}

impl Default for DisplaySection {
    fn default() -> Self {
        Self {
            fullscreen: true,
            renderer: Renderer::Software,
            width: 1920,
            height: 1080,
            diagonal_inches: 21.5,
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
    /// Serial port of the barcode scanner; `auto`: found (the udev name, else the first serial
    /// port that is not the printer's); empty means "no serial scanner fitted".
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
    /// Serial port or USB printer device of the receipt printer; `auto`: `/dev/senim-printer`,
    /// else the first `/dev/usb/lp*`, else none; empty means "no printer fitted".
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
    /// Public page where a citizen follows an appeal, `https://…{number}…{code}…`: `{number}`
    /// is replaced by the appeal number and `{code}` by its check code. Empty (the default):
    /// the call-centre's own status page, `{[sync] backend_url}/s/{number}/{code}`; with no
    /// backend either, receipts carry no QR code or link.
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

/// The appeal number's placeholder in `appeal.status_url`.
pub const STATUS_URL_NUMBER: &str = "{number}";
/// The check code's placeholder in `appeal.status_url`.
pub const STATUS_URL_CODE: &str = "{code}";

/// The link to follow an appeal: `template` with `{number}` and `{code}` replaced; `None` when
/// empty.
pub fn status_url_for(template: &str, number: &str, check_code: &str) -> Option<String> {
    if template.is_empty() {
        return None;
    }
    Some(
        template
            .replace(STATUS_URL_NUMBER, number)
            .replace(STATUS_URL_CODE, check_code),
    )
}

#[derive(Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TechnicianSection {
    /// argon2id PHC string of the technician PIN (`senim-kiosk hash-pin` prints the line);
    /// empty (and no `pin_sha256`) disables PIN entry.
    pub pin_hash: String,
    /// Deprecated: the unsalted SHA-256 (hex) of the PIN that older configurations hold.
    /// Still accepted (with a warning at start and in `doctor`) when `pin_hash` is empty.
    pub pin_sha256: String,
    /// SHA-256 (hex) of technician badges (`SENIM-TECH:<badge>` barcodes) that open technician
    /// mode without the PIN.
    pub badges_sha256: Vec<String>,
}

impl fmt::Debug for TechnicianSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &str| {
            if v.is_empty() {
                "<unset>"
            } else {
                "<redacted>"
            }
        };
        f.debug_struct("TechnicianSection")
            .field("pin_hash", &redact(&self.pin_hash))
            .field("pin_sha256", &redact(&self.pin_sha256))
            .field("badges", &self.badges_sha256.len())
            .finish()
    }
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
    /// The backend, `https://HOST[:PORT]`; empty: the one this kiosk learnt at enrolment (the
    /// enrolment QR code carries it), and until then the kiosk rests on the enrolment screen.
    pub backend_url: String,
    /// A stand-alone kiosk: it keeps everything and sends nothing, and never asks to be
    /// enrolled. Only with an empty `backend_url`.
    pub standalone: bool,
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
    /// Complete uploads of one video whose SHA-256 at the call-centre differs from the one
    /// sealed at commit before the video is parked for a technician (1–100).
    pub max_video_attempts: u32,
}

impl Default for SyncSection {
    fn default() -> Self {
        Self {
            backend_url: String::new(),
            standalone: false,
            ca_file: PathBuf::new(),
            heartbeat_secs: 30,
            batch_size: 100,
            chunk_kib: 1024,
            max_backoff_secs: 60,
            max_video_attempts: 5,
        }
    }
}

/// The kiosk's side of a live call.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CallSection {
    /// The addresses offered to the operator as host candidates, e.g. the ward LAN's
    /// (`["10.1.2.30"]`); empty: every interface but loopback (libnice's default). STUN and TURN
    /// candidates come from the call-centre's `[call]` servers either way.
    pub host_addresses: Vec<std::net::IpAddr>,
}

/// The `[speech]` section: the screens' spoken prompts.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechSection {
    /// Play each screen's prompt by itself as the screen opens ("listen" works either way).
    pub auto_play: bool,
    /// The prompts' volume each citizen starts with, 20..=100.
    pub volume: u8,
    /// The screens' prompts, made at build time (`make prompts`).
    pub prompts_dir: PathBuf,
}

impl Default for SpeechSection {
    fn default() -> Self {
        Self {
            auto_play: false,
            volume: 60,
            prompts_dir: PathBuf::from("/usr/share/senim/prompts"),
        }
    }
}
