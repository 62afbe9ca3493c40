//! The backend's typed configuration: one TOML file, every key documented in
//! `config/callcentre.example.toml`, command-line flags override it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use senim_protocol::hours::{HoursConfig, Schedule};
use serde::Deserialize;

mod console;
mod database;
mod storage;
mod updates;
pub use console::ConsoleSection;
pub use database::DatabaseSection;
pub use storage::{StorageKeyError, StorageSection};
pub use updates::UpdatesSection;

/// Why a configuration cannot be used, saying where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the configuration file {path}: {source}. Check the path given to --config"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: key `{key}`: expected {expected}, found {found}")]
    Invalid {
        path: PathBuf,
        key: String,
        expected: String,
        found: String,
    },
}

/// The whole backend configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerSection,
    pub tls: TlsSection,
    pub console: ConsoleSection,
    pub enrolment: EnrolmentSection,
    /// The legal limits for answering appeals.
    pub deadlines: DeadlinesSection,
    pub uploads: UploadsSection,
    /// The free-space reserve and the bound on unfinished uploads.
    pub storage: StorageSection,
    pub fleet: FleetSection,
    /// Working hours and public holidays (the red lamp lights only inside them).
    pub hours: HoursConfig,
    pub call: CallSection,
    /// Telling citizens their appeal was answered, by SMS.
    pub sms: SmsSection,
    /// When the personal data of closed appeals is erased.
    pub retention: RetentionSection,
    /// System-update bundles (`update publish`).
    pub updates: UpdatesSection,
    /// The embedded SQLite file (default) or a shared PostgreSQL database.
    pub database: DatabaseSection,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerSection::default(),
            tls: TlsSection::default(),
            console: ConsoleSection::default(),
            enrolment: EnrolmentSection::default(),
            deadlines: DeadlinesSection::default(),
            uploads: UploadsSection::default(),
            storage: StorageSection::default(),
            fleet: FleetSection::default(),
            hours: kazakhstan_hours(),
            call: CallSection::default(),
            sms: SmsSection::default(),
            retention: RetentionSection::default(),
            updates: UpdatesSection::default(),
            database: DatabaseSection::default(),
        }
    }
}

/// Mon–Fri 09:00–18:00 in Almaty, with Kazakhstan's public holidays from
/// [`senim_protocol::hours::KAZAKHSTAN_HOLIDAYS`] (the kiosk's default too).
pub fn kazakhstan_hours() -> HoursConfig {
    HoursConfig::default()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address and port to listen on.
    pub listen: String,
    /// Where the database and the videos live.
    pub data_dir: PathBuf,
    /// The largest JSON body accepted from a kiosk, in KiB.
    pub max_json_kib: usize,
    /// The address citizens and kiosks reach this server at (e.g.
    /// `https://senim.example.kz`): links in SMS to the status page start with it, and the
    /// enrolment QR code carries it so a blank kiosk learns where to connect. `https://`, or
    /// `http://` only to this machine. Empty: no SMS, and `enrol-code` needs `--url`.
    pub public_url: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("/var/lib/senim-callcentre"),
            max_json_kib: 1024,
            public_url: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain; with `key`, the server speaks HTTPS itself. Leave both empty
    /// behind a reverse proxy that terminates TLS.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// The PEM certificate whose public key kiosks pin at enrolment (the enrolment QR code
    /// carries its SHA-256), when TLS ends at a reverse proxy: the proxy's certificate.
    /// Empty: `cert`'s; neither: no pin (plain HTTP on a test machine).
    pub pin_cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EnrolmentSection {
    /// Hours an enrolment code stays valid.
    pub code_ttl_hours: u32,
}

impl Default for EnrolmentSection {
    fn default() -> Self {
        Self { code_ttl_hours: 24 }
    }
}

/// How days towards a deadline are counted.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum DayCount {
    /// Every day counts.
    #[default]
    Calendar,
    /// Only working days count: weekends and the holidays of `[hours]` are skipped.
    Working,
}

/// One topic's own limit.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TopicDeadline {
    pub days: u32,
    #[serde(default)]
    pub count: DayCount,
}

/// The legal limits for answering an appeal, counted from when the citizen left it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlinesSection {
    /// Days to answer, for topics without their own limit.
    pub days: u32,
    /// `calendar` or `working` days.
    pub count: DayCount,
    /// The limit an operator may extend an appeal to, with a recorded reason (same count).
    pub extended_days: u32,
    /// An open appeal this many days (or fewer) before its deadline is marked "due soon".
    pub due_soon_days: u32,
    /// Per-topic limits by the topic's wire name (`complaint`, `request`, `gratitude`,
    /// `bribe_report`, `other`).
    pub topics: std::collections::BTreeMap<String, TopicDeadline>,
}

impl Default for DeadlinesSection {
    fn default() -> Self {
        Self {
            days: 15,
            count: DayCount::Calendar,
            extended_days: 30,
            due_soon_days: 3,
            topics: std::collections::BTreeMap::new(),
        }
    }
}

impl DeadlinesSection {
    /// The limit for a topic (its wire name).
    pub fn for_topic(&self, topic: &str) -> TopicDeadline {
        self.topics.get(topic).copied().unwrap_or(TopicDeadline {
            days: self.days,
            count: self.count,
        })
    }
}

/// The SMS gateway. Without `url`, nothing is sent.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSection {
    /// The gateway's HTTP(S) endpoint; each message is one POST of JSON
    /// `{"to": "+77…", "text": "…", "sender": "…"}`. Empty: SMS are off.
    pub url: String,
    /// HTTP Basic credentials for the gateway (both empty: none sent); never logged.
    pub username: String,
    pub password: String,
    /// The sender name the gateway shows.
    pub sender: String,
    /// Message templates per language; `{number}` is the appeal number, `{link}` the status
    /// page link.
    pub template_kk: String,
    pub template_ru: String,
    pub template_en: String,
    /// Seconds one request to the gateway may take.
    pub timeout_secs: u64,
    /// The longest wait between retries of a message the gateway did not take, in seconds.
    pub max_retry_secs: u64,
}

impl Default for SmsSection {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: String::new(),
            password: String::new(),
            sender: "Senim".into(),
            template_kk: "Senim: {number} өтінішіңізге жауап берілді: {link}".into(),
            template_ru: "Senim: на ваше обращение {number} дан ответ: {link}".into(),
            template_en: "Senim: your appeal {number} has been answered: {link}".into(),
            timeout_secs: 10,
            max_retry_secs: 3600,
        }
    }
}

impl SmsSection {
    /// Are SMS sent at all?
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }
}

impl std::fmt::Debug for SmsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("SmsSection")
            .field("url", &self.url)
            .field("username", &hidden(&self.username))
            .field("password", &hidden(&self.password))
            .field("sender", &self.sender)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_retry_secs", &self.max_retry_secs)
            .finish_non_exhaustive()
    }
}

/// How long personal data of closed appeals is kept.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Days after closing when an appeal's IIN, phone, text, video and answer are erased
    /// (numbers, dates, topic and status stay for the figures).
    pub days: u32,
}

impl Default for RetentionSection {
    fn default() -> Self {
        Self { days: 365 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsSection {
    /// The largest video accepted, in MiB.
    pub max_mib: u64,
    /// Hours an unfinished upload is kept before it expires.
    pub expire_hours: u32,
    /// Seconds a PATCH may stay silent before the server keeps what it has and ends it.
    pub idle_timeout_secs: u64,
}

impl Default for UploadsSection {
    fn default() -> Self {
        Self {
            max_mib: 1024,
            expire_hours: 72,
            idle_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FleetSection {
    /// Seconds without a heartbeat after which a kiosk is shown offline.
    pub offline_after_secs: u64,
}

impl Default for FleetSection {
    fn default() -> Self {
        Self {
            offline_after_secs: 90,
        }
    }
}

/// Live calls: the ICE servers handed to both ends of every call, and how long a call rings.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CallSection {
    /// STUN server URLs, e.g. `stun:turn.example.kz:3478`.
    pub stun_urls: Vec<String>,
    /// TURN server URLs, e.g. `turn:turn.example.kz:3478?transport=udp`.
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret` (`use-auth-secret`); never logged.
    pub turn_secret: String,
    /// How long the TURN credentials handed out with a call stay valid.
    pub turn_ttl_secs: u64,
    /// A call nobody answers ends after this many seconds.
    pub ring_seconds: u64,
}

impl Default for CallSection {
    fn default() -> Self {
        Self {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: String::new(),
            turn_ttl_secs: 3600,
            ring_seconds: 60,
        }
    }
}

impl std::fmt::Debug for CallSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.turn_secret.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("CallSection")
            .field("stun_urls", &self.stun_urls)
            .field("turn_urls", &self.turn_urls)
            .field("turn_secret", &secret)
            .field("turn_ttl_secs", &self.turn_ttl_secs)
            .field("ring_seconds", &self.ring_seconds)
            .finish()
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates configuration text (`path` is only named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::new(text);
        let config: Config =
            serde_path_to_error::deserialize(de).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!("key `{}`: {}", e.path(), e.inner().message()),
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
        self.listen_addr()
            .map_err(|found| invalid("server.listen", "an address such as 0.0.0.0:8443", found))?;
        self.schedule()
            .map_err(|e| invalid(&format!("hours.{}", e.key), &e.expected, e.found))?;
        if let Some(found) = self.database.problem() {
            return Err(invalid(
                "database.url",
                "a postgres:// URL, or nothing for the embedded SQLite file",
                found,
            ));
        }
        self.storage
            .check()
            .map_err(|e| invalid(e.key, e.expected, e.found))?;
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(invalid(
                "tls",
                "both `cert` and `key`, or neither",
                "only one of them".into(),
            ));
        }
        let positive = [
            ("deadlines.days", u64::from(self.deadlines.days)),
            (
                "deadlines.extended_days",
                u64::from(self.deadlines.extended_days),
            ),
            ("sms.timeout_secs", self.sms.timeout_secs),
            ("sms.max_retry_secs", self.sms.max_retry_secs),
            ("retention.days", u64::from(self.retention.days)),
            ("uploads.max_mib", self.uploads.max_mib),
            ("uploads.expire_hours", u64::from(self.uploads.expire_hours)),
            ("uploads.idle_timeout_secs", self.uploads.idle_timeout_secs),
            (
                "enrolment.code_ttl_hours",
                u64::from(self.enrolment.code_ttl_hours),
            ),
            (
                "console.session_hours",
                u64::from(self.console.session_hours),
            ),
            ("fleet.offline_after_secs", self.fleet.offline_after_secs),
            ("server.max_json_kib", self.server.max_json_kib as u64),
            ("call.turn_ttl_secs", self.call.turn_ttl_secs),
            ("call.ring_seconds", self.call.ring_seconds),
        ];
        for (key, value) in positive
            .into_iter()
            .chain(self.console.positive())
            .chain(self.storage.positive())
        {
            if value == 0 {
                return Err(invalid(key, "a number above zero", "0".into()));
            }
        }
        for (topic, limit) in &self.deadlines.topics {
            if !senim_protocol::Topic::ALL
                .iter()
                .any(|t| t.as_str() == topic)
            {
                return Err(invalid(
                    &format!("deadlines.topics.{topic}"),
                    "a topic: complaint, request, gratitude, bribe_report or other",
                    format!("{topic:?}"),
                ));
            }
            if limit.days == 0 || limit.days > self.deadlines.extended_days {
                return Err(invalid(
                    &format!("deadlines.topics.{topic}.days"),
                    "a number of days from 1 to deadlines.extended_days",
                    limit.days.to_string(),
                ));
            }
        }
        if self.deadlines.extended_days < self.deadlines.days {
            return Err(invalid(
                "deadlines.extended_days",
                "at least deadlines.days",
                self.deadlines.extended_days.to_string(),
            ));
        }
        let public = &self.server.public_url;
        if let Some(Err(e)) = (!public.is_empty()).then(|| senim_protocol::enrol::check_url(public))
        {
            let expected = "the public address, https://HOST[:PORT] (http:// only to 127.0.0.1)";
            return Err(invalid("server.public_url", expected, e.to_string()));
        }
        if self.sms.enabled() {
            if !(self.sms.url.starts_with("https://") || self.sms.url.starts_with("http://")) {
                return Err(invalid(
                    "sms.url",
                    "an http:// or https:// URL",
                    format!("{:?}", self.sms.url),
                ));
            }
            if !(self.server.public_url.starts_with("https://")
                || self.server.public_url.starts_with("http://"))
            {
                return Err(invalid(
                    "server.public_url",
                    "the call-centre's public http(s):// address when sms.url is set (SMS link to the status page)",
                    format!("{:?}", self.server.public_url),
                ));
            }
            for (key, t) in [
                ("sms.template_kk", &self.sms.template_kk),
                ("sms.template_ru", &self.sms.template_ru),
                ("sms.template_en", &self.sms.template_en),
            ] {
                if !t.contains("{link}") {
                    return Err(invalid(key, "a text with {link}", format!("{t:?}")));
                }
            }
        }
        if !self.call.turn_urls.is_empty() && self.call.turn_secret.is_empty() {
            return Err(invalid(
                "call.turn_secret",
                "coturn's static-auth-secret when call.turn_urls is set",
                "nothing".into(),
            ));
        }
        Ok(())
    }

    /// The listening address.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.server
            .listen
            .parse()
            .map_err(|_| format!("{:?}", self.server.listen))
    }

    /// The working-hours schedule.
    pub fn schedule(&self) -> Result<Schedule, senim_protocol::hours::HoursError> {
        self.hours.schedule()
    }
}

#[cfg(test)]
mod tests;
