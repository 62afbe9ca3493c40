//! Wire types of the Senim kiosk API (`/api/v1`), shared by the kiosk and the call-centre,
//! with the working-hours rules and the service-guide catalogue both sides validate.
//!
//! Both sides depend on these types only, never on each other. The crate is pure: serde and
//! chrono, no I/O. With the `openapi` feature the types also describe themselves for the
//! OpenAPI document the backend serves at `/api/v1/openapi.json`.
//!
//! Over 600 lines: every record and answer of `/api/v1` lives here with its field docs (they
//! are the OpenAPI document) and its round-trip tests.

pub mod call;
pub mod catalog;
pub mod enrol;
pub mod hours;
pub mod refusal;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use refusal::{refused_for_good, RefusalCode};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The three languages of the kiosk; Kazakh is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Kk,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// The locale code used by the translation catalogues and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// The path prefix of the kiosk API.
pub const API_PREFIX: &str = "/api/v1";
/// The tus protocol version spoken at `/api/v1/uploads/`.
pub const TUS_VERSION: &str = "1.0.0";
/// The most records one batch may carry.
pub const MAX_BATCH_RECORDS: usize = 500;
/// The prefix of an enrolment code in a QR code or barcode (`SENIM-ENROL:<code>`): the
/// call-centre writes it, the kiosk's scanner classifier recognises it.
pub const ENROL_PREFIX: &str = "SENIM-ENROL:";

/// `POST /api/v1/enrol`: a one-time code from `senim-callcentre enrol-code`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The one-time enrolment code, as printed or shown as a QR code.
    pub code: String,
    /// Re-enrolment of the same machine: the bearer token it held before (even a revoked
    /// one). The call-centre then keeps the machine's kiosk id (and gives it the code's site
    /// and mode), so the records and videos it queued under the old token are delivered as
    /// its own. Unknown or absent: a new kiosk id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_token: Option<String>,
}

impl std::fmt::Debug for EnrolRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolRequest")
            .field("code", &"<redacted>")
            .field(
                "previous_token",
                &self.previous_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// How a site uses its kiosks: which journey comes first. Both modes offer both journeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SiteMode {
    /// A hospital "trust kiosk": appeals first.
    #[default]
    Hospital,
    /// A public service centre's self-service zone: e-government service guides first.
    FrontOffice,
}

impl SiteMode {
    pub const ALL: [SiteMode; 2] = [SiteMode::Hospital, SiteMode::FrontOffice];

    /// The stable wire and configuration name: `hospital` or `front-office`.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteMode::Hospital => "hospital",
            SiteMode::FrontOffice => "front-office",
        }
    }

    /// Reads a wire name; `None` for anything else.
    pub fn parse(name: &str) -> Option<SiteMode> {
        SiteMode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// The answer to an enrolment: who the kiosk is from now on, its bearer token, and the
/// settings it takes from the backend instead of its own configuration file: the site's name
/// and mode, both chosen when the enrolment code was made. Everything else (devices, languages,
/// the catalogue folder) stays in the kiosk's own configuration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrolResponse {
    /// The kiosk's identifier, e.g. `K-7Q2M9X`.
    pub kiosk_id: String,
    /// Sent as `Authorization: Bearer <token>` on every later request. Shown once.
    pub token: String,
    /// The site the code was made for: the attract screen's title.
    pub site: String,
    /// `hospital` (appeals first) or `front-office` (service guides first).
    pub mode: SiteMode,
    /// The call-centre's Ed25519 public key (`ed25519:<base64>`) that signs what kiosks take
    /// from it (catalogues; later software updates). The kiosk keeps it and refuses unsigned
    /// or mis-signed content. Absent from older call-centres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// The call-centre's age X25519 recipient (`age1…`): the kiosk seals every appeal's video
    /// and personal fields to it as soon as the appeal is committed. Absent from older
    /// call-centres (the kiosk then keeps appeals unsealed until it learns one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_recipient: Option<String>,
}

impl std::fmt::Debug for EnrolResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolResponse")
            .field("kiosk_id", &self.kiosk_id)
            .field("token", &"<redacted>")
            .field("site", &self.site)
            .field("mode", &self.mode)
            .field("signing_key", &self.signing_key)
            .finish()
    }
}

/// What the kiosk is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KioskState {
    /// Starting up or waiting for enrolment.
    Starting,
    /// The attract screen; nobody at the terminal.
    Idle,
    /// A citizen is using the kiosk.
    InUse,
    /// A technician is in technician mode.
    Technician,
}

/// The health of one device as the kiosk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Ok,
    Warn,
    Fail,
    /// Not fitted at this kiosk (by configuration).
    Absent,
}

/// One device's health in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceHealth {
    /// `scanner`, `camera`, `microphone`, `printer`, `disk`, …
    pub device: String,
    pub status: DeviceStatus,
    /// A short technical note for the fleet view (never personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Software versions running on the kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Versions {
    /// The kiosk application version.
    pub app: String,
    /// The catalogue version in use, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// The running system image's version (`IMAGE_VERSION=` in `/etc/os-release`), on a kiosk
    /// built from `kiosk-image/`; left out elsewhere. At most 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// Where a kiosk is with an offered system update ([`UpdateReport::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Fetching the bundle (resumable); `progress_percent` says how far.
    Downloading,
    /// The whole bundle is here and its size and SHA-256 match the offer.
    Downloaded,
    /// Handed to the system's installer (`rauc install` into the other slot).
    Installing,
    /// Installed in the other slot; waiting for a quiet hour between citizens to restart.
    Installed,
    /// Restarting into the new version now.
    Switching,
    /// Did not install, or the new version did not come up and the old one came back
    /// (`message` says which: "rolled back: …"). That version is not offered to this kiosk again.
    Failed,
    /// The bundle did not match its offer (size or SHA-256): deleted, not installed.
    Refused,
}

impl UpdateState {
    /// The name on the wire (and in `senim-callcentre update status`).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Downloading => "downloading",
            UpdateState::Downloaded => "downloaded",
            UpdateState::Installing => "installing",
            UpdateState::Installed => "installed",
            UpdateState::Switching => "switching",
            UpdateState::Failed => "failed",
            UpdateState::Refused => "refused",
        }
    }

    /// A state that ends an attempt (the fleet view keeps it as the last failure).
    pub fn is_failure(self) -> bool {
        matches!(self, UpdateState::Failed | UpdateState::Refused)
    }
}

/// The kiosk's word on the update it was offered, in each heartbeat while it works on it and
/// once after a failure or a switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    /// The offered image version (at most 64 characters).
    pub version: String,
    pub state: UpdateState,
    /// 0 to 100, while downloading (and 100 after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percent: Option<u8>,
    /// What went wrong, for the administrator (never personal data; at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The longest [`UpdateReport::message`] the backend accepts.
pub const MAX_UPDATE_MESSAGE_CHARS: usize = 500;

/// A system update the kiosk should fetch (`GET url`, resumable with `Range`) and install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateOffer {
    /// The bundle's image version (from its RAUC manifest).
    pub version: String,
    /// SHA-256 of the whole bundle file, lowercase hex.
    pub sha256: String,
    /// The bundle's size in bytes.
    pub size: u64,
    /// Where to fetch it, relative to the API's base: `/api/v1/updates/<sha256>`.
    pub url: String,
}

/// Whether `version` may name an image version: 1 to 64 of letters, digits and `.`, `-`, `_`,
/// `+`, `~` (it becomes part of a file name on the kiosk).
pub fn valid_image_version(version: &str) -> bool {
    (1..=64).contains(&version.len())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '~'))
        && !version.starts_with('.')
}

/// A published catalogue the kiosk downloaded and refused (it keeps its last good one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogProblem {
    /// The refused version, as the heartbeat answer named it (at most 64 characters).
    pub version: String,
    /// Why, for the administrator: the validator's problems, at most 4,000 characters
    /// ([`MAX_CATALOG_PROBLEM_CHARS`]; cut a longer list).
    pub message: String,
}

/// The longest [`CatalogProblem::message`] the backend accepts.
pub const MAX_CATALOG_PROBLEM_CHARS: usize = 4000;

/// `POST /api/v1/heartbeat`: sent every 30 s or so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub state: KioskState,
    /// Items waiting in the kiosk's outbox.
    pub queue_depth: u32,
    #[serde(default)]
    pub devices: Vec<DeviceHealth>,
    pub versions: Versions,
    /// The kiosk's own clock when it sent this.
    pub sent_at: DateTime<Utc>,
    /// Set while the newest published catalogue is refused by this kiosk; left out once the
    /// kiosk runs a good newest version. The fleet view shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_problem: Option<CatalogProblem>,
    /// Records and videos the kiosk parked: refused for good by the call-centre (one of the
    /// `RefusalCode`s), or a video whose checksum kept failing. Kept on the kiosk with the
    /// reason for a technician; the rest of the queue flows past them. Left out when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub parked: u32,
    /// Where the kiosk is with the system update it was offered (left out when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateReport>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeartbeatResponse {
    /// The server's clock, for the kiosk to learn its skew.
    pub server_time: DateTime<Utc>,
    /// The newest published catalogue version, if the kiosk should fetch it.
    pub catalog_version: Option<String>,
    /// Whether operators are at work now (by the call-centre's working hours).
    pub operators_open: bool,
    /// Whether a live call can be placed now: at least one operator is signed in and marked
    /// available, and it is within working hours. Absent from older servers (read as `false`).
    #[serde(default)]
    pub operators_available: bool,
    /// The call-centre's signing key (`ed25519:<base64>`, as in the enrolment answer). A kiosk
    /// enrolled before catalogues were signed keeps the first one it hears (over its pinned
    /// channel); one that has a key ignores this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// The call-centre's current age recipient (`age1…`, as in the enrolment answer). The
    /// kiosk seals to the newest one it heard over its pinned channel, so a rotated key reaches
    /// every kiosk with its next heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_recipient: Option<String>,
    /// The newest system update published for this kiosk's site, when the kiosk runs another
    /// image version (and has not reported that version failed). Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOffer>,
}

/// Which journey a person at the kiosk is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Journey {
    Appeal,
    Guide,
}

/// `POST /api/v1/presence`: someone is at the kiosk now, or has left. Drives the red lamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Presence {
    /// `true` when a person has started a journey, `false` when they left.
    pub present: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey: Option<Journey>,
    /// When it happened, by the kiosk's clock.
    pub at: DateTime<Utc>,
}

/// `POST /api/v1/consultant`: a citizen in a service guide pressed "call a consultant"
/// (`active: true`), or the call is over because they left or ended it (`active: false`).
/// Sent at once, not through the outbox: it matters only while the person is at the kiosk.
/// The figures count calls from the `consultant_called` guide events, not from these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsultantCall {
    /// The service guide's id in the catalogue (1–64 of `a-z 0-9 -`).
    pub service_id: String,
    /// The 1-based step the citizen is on; 0 on the service's overview page (at most 999).
    pub step: u32,
    /// When the button was pressed (or the call ended), by the kiosk's clock. A resend of the
    /// same call carries the same time, so a call staff already took does not come back.
    pub at: DateTime<Utc>,
    /// `true`: a consultant is needed now; `false`: not any more.
    pub active: bool,
}

/// The topic a patient chose for an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Complaint,
    Request,
    Gratitude,
    BribeReport,
    Other,
}

impl Topic {
    /// Every topic, in the order the kiosk offers them.
    pub const ALL: [Topic; 5] = [
        Topic::Complaint,
        Topic::Request,
        Topic::Gratitude,
        Topic::BribeReport,
        Topic::Other,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Complaint => "complaint",
            Topic::Request => "request",
            Topic::Gratitude => "gratitude",
            Topic::BribeReport => "bribe_report",
            Topic::Other => "other",
        }
    }
}

/// The video of an appeal as the kiosk committed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VideoInfo {
    /// The file's size as uploaded (the sealed file's, when `sealed`).
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the whole file as uploaded (the sealed file's, when `sealed`).
    pub sha256: String,
    pub duration_seconds: u32,
    /// The file is an age file sealed to the call-centre's recipient; the WebM is inside.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealed: bool,
}

/// An appeal's personal fields as the kiosk seals them (JSON inside an age file, carried as
/// `AppealRecord::sealed`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl std::fmt::Debug for SealedFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedFields")
            .field("iin", &self.iin.as_ref().map(|_| "<redacted>"))
            .field(
                "callback_phone",
                &self.callback_phone.as_ref().map(|_| "<redacted>"),
            )
            .field("text", &self.text.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl SealedFields {
    /// Whether there is nothing personal to seal.
    pub fn is_empty(&self) -> bool {
        self.iin.is_none() && self.callback_phone.is_none() && self.text.is_none()
    }
}

/// An appeal left at a kiosk.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppealRecord {
    /// The number on the receipt: short, unambiguous, no personal data (`A-` + 8 of
    /// `0-9 A-Z` without `I`, `O`).
    pub appeal_id: String,
    pub topic: Topic,
    pub created_at: DateTime<Utc>,
    /// `kk`, `ru` or `en`: the language the patient used.
    pub language: String,
    /// The patient's IIN (12 digits), if they identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    /// Callback phone as `+77XXXXXXXXX`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_phone: Option<String>,
    /// A typed appeal (kiosks without a camera), at most 4,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The video, if one was recorded; its bytes follow by tus upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoInfo>,
    /// The recording was cut short (power cut, crash) and kept as far as it went.
    #[serde(default)]
    pub interrupted: bool,
    /// A technician's test appeal (`doctor --send-test-appeal`), not a citizen's.
    #[serde(default)]
    pub test: bool,
    /// The appeal was a live call with an operator, this many seconds long; the call's
    /// `call_id` is this `appeal_id`, and the video (if any) is the call's recording. The
    /// call-centre joins it to the notes and outcome the operator recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_secs: Option<u32>,
    /// The check code printed on the receipt and in its QR code (16 characters of
    /// [`CHECK_CODE_ALPHABET`], 80 random bits), made by the kiosk when the appeal is
    /// committed. With the number it opens the appeal's status page; the call-centre keeps
    /// only its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_code: Option<String>,
    /// The personal fields sealed on the kiosk: base64 of an age file (to the call-centre's
    /// recipient) holding `{"iin", "callback_phone", "text"}` as JSON. When present, `iin`,
    /// `callback_phone` and `text` are absent; only the call-centre can open it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl std::fmt::Debug for AppealRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppealRecord")
            .field("appeal_id", &self.appeal_id)
            .field("topic", &self.topic)
            .field("created_at", &self.created_at)
            .field("language", &self.language)
            .field("iin", &self.iin.as_ref().map(|_| "<redacted>"))
            .field(
                "callback_phone",
                &self.callback_phone.as_ref().map(|_| "<redacted>"),
            )
            .field("text", &self.text.as_ref().map(|_| "<redacted>"))
            .field("video", &self.video)
            .field(
                "check_code",
                &self.check_code.as_ref().map(|_| "<redacted>"),
            )
            .field("interrupted", &self.interrupted)
            .field("test", &self.test)
            .field("call_secs", &self.call_secs)
            .field("sealed", &self.sealed.is_some())
            .finish()
    }
}

/// What happened in a service guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuideEventKind {
    Started,
    StepReached,
    Completed,
    Abandoned,
    ConsultantCalled,
    Rated,
}

/// One usage event of a service guide (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuideEventRecord {
    /// Random per citizen session, so events of one citizen group together.
    pub session_id: String,
    pub service_id: String,
    pub event: GuideEventKind,
    /// 1-based step, for `step_reached` and `abandoned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// 1 (no) … 3 (yes), for `rated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    pub at: DateTime<Utc>,
}

/// A device fault the kiosk noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceFaultRecord {
    pub device: String,
    pub status: DeviceStatus,
    /// A short technical description (never personal data).
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// One record of a batch, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordBody {
    Appeal(AppealRecord),
    GuideEvent(GuideEventRecord),
    DeviceFault(DeviceFaultRecord),
}

impl RecordBody {
    /// The stable wire name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordBody::Appeal(_) => "appeal",
            RecordBody::GuideEvent(_) => "guide_event",
            RecordBody::DeviceFault(_) => "device_fault",
        }
    }
}

/// A record with the client-generated idempotency key that makes a replay harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 8–64 characters of `A-Z a-z 0-9 _ -`, unique per kiosk (a UUID works).
    pub key: String,
    pub record: RecordBody,
}

/// `POST /api/v1/records`: up to [`MAX_BATCH_RECORDS`] records, stored all or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordBatch {
    pub records: Vec<Record>,
}

/// Whether a record was stored now or had been stored by an earlier send of the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordOutcome {
    Stored,
    Duplicate,
}

/// The result for one record, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordResult {
    pub key: String,
    pub outcome: RecordOutcome,
    /// When the server first stored it.
    pub stored_at: DateTime<Utc>,
}

/// The answer to a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordBatchResponse {
    pub results: Vec<RecordResult>,
}

/// The catalogue of service guides, as published by an administrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CatalogDocument {
    pub version: String,
    pub published_at: DateTime<Utc>,
    /// The catalogue files by path inside the catalogue folder (`categories.toml`,
    /// `01-address.toml`, `images/sms-code.svg` → contents), as `catalog::read_dir` reads them.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub files: std::collections::BTreeMap<String, String>,
    /// The call-centre's Ed25519 signature (base64) over the version and files (each as an
    /// 8-byte big-endian length and its UTF-8 bytes, files in name order; purpose `catalog`),
    /// made by `catalog publish`; kiosks refuse a catalogue without a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl CatalogDocument {
    /// What the signature covers: the version and every file, each length-prefixed (8 bytes,
    /// big-endian) so no two documents give the same bytes. The publishing time is left out:
    /// restoring an older version moves it without changing the content.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let size = self.version.len()
            + self
                .files
                .iter()
                .map(|(k, v)| k.len() + v.len() + 16)
                .sum::<usize>();
        let mut out = Vec::with_capacity(size + 16);
        let mut put = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        put(self.version.as_bytes());
        for (name, text) in &self.files {
            put(name.as_bytes());
            put(text.as_bytes());
        }
        out
    }
}

/// Every error the API returns: a stable code for programs and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiError {
    /// Stable, e.g. `unauthorized`, `code_used`, `idempotency_conflict`. The codes of
    /// `RefusalCode` (the closed list of "refused for good") mean that the request will never
    /// be accepted as sent; every other code, status or body is transient.
    pub error: String,
    /// What went wrong and how to fix it.
    pub message: String,
}

/// Whether a service id has the catalogue's shape: 1–64 of `a-z 0-9 -`.
pub fn valid_service_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether an idempotency key has the allowed shape.
pub fn valid_key(key: &str) -> bool {
    (8..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The alphabet of appeal numbers: digits and capitals without the look-alikes `I` and `O`.
pub const APPEAL_ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Whether an appeal number has the allowed shape: `A-` and eight characters of
/// [`APPEAL_ID_ALPHABET`].
pub fn valid_appeal_id(id: &str) -> bool {
    id.len() == 10
        && id.starts_with("A-")
        && id.as_bytes()[2..]
            .iter()
            .all(|b| APPEAL_ID_ALPHABET.contains(b))
}

/// The check code's alphabet: RFC 4648 base32, upper case (5 bits a character, and the QR
/// code stays in alphanumeric mode).
pub const CHECK_CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Whether a check code has the allowed shape: 16 characters of [`CHECK_CODE_ALPHABET`].
pub fn valid_check_code(code: &str) -> bool {
    code.len() == 16 && code.bytes().all(|b| CHECK_CODE_ALPHABET.contains(&b))
}

/// Whether a callback phone number is a Kazakh mobile number written `+77XXXXXXXXX`.
pub fn valid_phone(phone: &str) -> bool {
    phone.len() == 12
        && phone.starts_with("+77")
        && phone.as_bytes()[1..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_batch_reads_as_documented() {
        let json = r#"{"records":[{"key":"k-0001-aaaa","record":{"kind":"device_fault",
            "device":"scanner","status":"fail","detail":"unplugged","at":"2026-11-20T09:00:00Z"}}]}"#;
        let batch: RecordBatch = serde_json::from_str(json).unwrap();
        assert_eq!(batch.records[0].record.kind(), "device_fault");
        let unknown = json.replace("\"detail\"", "\"detial\"");
        assert!(serde_json::from_str::<RecordBatch>(&unknown).is_err());
    }

    #[test]
    fn shapes_of_keys_numbers_and_phones() {
        assert!(valid_key("0f8e2c1a-4b7d-4e11-9a53-6c2d1e0b9f77"));
        assert!(!valid_key("short"));
        assert!(!valid_key("has space in it"));
        assert!(valid_appeal_id("A-7Q2M9XK3"));
        assert!(!valid_appeal_id("A-7Q2M9XKO"), "O looks like 0");
        assert!(!valid_appeal_id("B-7Q2M9XK3"));
        assert!(valid_phone("+77011234567"));
        assert!(!valid_phone("+78011234567"));
        assert!(!valid_phone("87011234567"));
    }

    #[test]
    fn site_modes_and_consultant_calls_read_as_documented() {
        for mode in SiteMode::ALL {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(SiteMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SiteMode::parse("front_office"), None);
        let call: ConsultantCall = serde_json::from_str(
            r#"{"service_id":"address-certificate","step":3,"at":"2026-11-20T09:00:00Z","active":true}"#,
        )
        .unwrap();
        assert_eq!(call.step, 3);
        assert!(valid_service_id(&call.service_id));
        assert!(!valid_service_id("Address"));
        assert!(!valid_service_id(""));
        assert!(!valid_service_id(&"a".repeat(65)));
        // An older kiosk's heartbeat (no catalogue problem) still reads.
        let beat: Heartbeat = serde_json::from_str(
            r#"{"state":"idle","queue_depth":0,"versions":{"app":"0.1.0"},"sent_at":"2026-11-20T09:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(beat.catalog_problem, None);
    }

    #[test]
    fn personal_fields_are_not_in_debug_output() {
        let appeal = AppealRecord {
            appeal_id: "A-7Q2M9XK3".into(),
            topic: Topic::Complaint,
            created_at: Utc::now(),
            language: "kk".into(),
            iin: Some("880101300010".into()),
            callback_phone: Some("+77011234567".into()),
            text: Some("secret".into()),
            video: None,
            check_code: Some("ABCDEFGHIJKLMNOP".into()),
            interrupted: false,
            test: false,
            call_secs: None,
            sealed: Some("c2VhbGVk".into()),
        };
        let debug = format!("{appeal:?}");
        assert!(!debug.contains("c2VhbGVk"), "only whether it is sealed");
        let fields = SealedFields {
            iin: Some("880101300010".into()),
            callback_phone: None,
            text: Some("secret".into()),
        };
        let debug = format!("{fields:?}");
        assert!(!debug.contains("880101300010") && !debug.contains("secret"));
        let debug = format!("{appeal:?}");
        assert!(!debug.contains("880101300010"));
        assert!(!debug.contains("+77011234567"));
        assert!(!debug.contains("secret"));
        assert!(!debug.contains("ABCDEFGHIJKLMNOP"));
        assert!(valid_check_code("ABCDEFGHIJKLMNOP"));
        assert!(!valid_check_code("ABCDEFGHIJKLMNO1"));
        assert!(!valid_check_code("abcdefghijklmnop"));
    }
}
