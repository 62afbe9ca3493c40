//! The backend's typed configuration: one TOML file, every key documented in
//! `config/callcentre.example.toml`, command-line flags override it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use senim_protocol::hours::{HoursConfig, Schedule};
use serde::Deserialize;

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
    pub appeals: AppealsSection,
    pub uploads: UploadsSection,
    pub fleet: FleetSection,
    /// Working hours and public holidays (the red lamp lights only inside them).
    pub hours: HoursConfig,
    pub call: CallSection,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerSection::default(),
            tls: TlsSection::default(),
            console: ConsoleSection::default(),
            enrolment: EnrolmentSection::default(),
            appeals: AppealsSection::default(),
            uploads: UploadsSection::default(),
            fleet: FleetSection::default(),
            hours: kazakhstan_hours(),
            call: CallSection::default(),
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
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("/var/lib/senim-callcentre"),
            max_json_kib: 1024,
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
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSection {
    /// Hours a console sign-in lasts.
    pub session_hours: u32,
    /// Mark session cookies `Secure` (on whenever operators reach the console over HTTPS,
    /// directly or through a proxy).
    pub secure_cookies: bool,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        Self {
            session_hours: 12,
            secure_cookies: true,
        }
    }
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

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppealsSection {
    /// Calendar days within which an appeal must be answered (the legal limit).
    pub due_days: u32,
}

impl Default for AppealsSection {
    fn default() -> Self {
        Self { due_days: 15 }
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
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(invalid(
                "tls",
                "both `cert` and `key`, or neither",
                "only one of them".into(),
            ));
        }
        let positive = [
            ("appeals.due_days", u64::from(self.appeals.due_days)),
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
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "a number above zero", "0".into()));
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
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_parses_and_matches_the_defaults() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/callcentre.example.toml"
        ));
        let config = Config::load(path).unwrap();
        let mut expected = Config::default();
        expected.server.data_dir = PathBuf::from("/var/lib/senim-callcentre");
        assert_eq!(config, expected, "the example documents the defaults");
    }

    #[test]
    fn the_demo_configuration_parses_and_is_open_around_the_clock() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/callcentre.demo.toml"
        ));
        let config = Config::load(path).unwrap();
        assert!(!config.console.secure_cookies);
        let schedule = config.schedule().unwrap();
        // A Sunday night in Almaty.
        let sunday = chrono::DateTime::parse_from_rfc3339("2026-11-22T18:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(schedule.is_open(sunday));
        assert!(!Config::default().schedule().unwrap().is_open(sunday));
    }

    #[test]
    fn a_wrong_key_or_value_is_named() {
        let err = Config::parse("[server]\nlisten = \"nowhere\"\n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.listen"), "{err}");
        let err = Config::parse("[appeals]\ndue_dayz = 3\n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("due_dayz"), "{err}");
        let err = Config::parse("[hours]\nopens = \"9am\"\n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("hours.opens"), "{err}");
        let err = Config::parse("[tls]\ncert = \"a.pem\"\n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("both `cert` and `key`"), "{err}");
        let err = Config::parse(
            "[call]\nturn_urls = [\"turn:t:3478\"]\n",
            Path::new("x.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("call.turn_secret"), "{err}");
    }

    #[test]
    fn the_turn_secret_never_shows_in_debug_output() {
        let config = Config::parse(
            "[call]\nturn_urls = [\"turn:t:3478\"]\nturn_secret = \"hunter2-secret\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
