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
        }
    }
}

/// Mon–Fri 09:00–18:00 in Almaty, with Kazakhstan's public holidays of 2026 and 2027.
pub fn kazakhstan_hours() -> HoursConfig {
    HoursConfig {
        holidays: KAZAKHSTAN_HOLIDAYS.iter().map(|d| d.to_string()).collect(),
        ..HoursConfig::default()
    }
}

/// Public holidays of the Republic of Kazakhstan (days off, incl. Nauryz and the fixed
/// holidays; Kurban Ait moves with the lunar calendar). Edit `[hours] holidays` for
/// government-announced transfers.
pub const KAZAKHSTAN_HOLIDAYS: &[&str] = &[
    "2026-01-01",
    "2026-01-02",
    "2026-01-07",
    "2026-03-08",
    "2026-03-21",
    "2026-03-22",
    "2026-03-23",
    "2026-05-01",
    "2026-05-07",
    "2026-05-09",
    "2026-05-27",
    "2026-07-06",
    "2026-08-30",
    "2026-10-25",
    "2026-12-16",
    "2027-01-01",
    "2027-01-02",
    "2027-01-07",
    "2027-03-08",
    "2027-03-21",
    "2027-03-22",
    "2027-03-23",
    "2027-05-01",
    "2027-05-07",
    "2027-05-09",
    "2027-05-16",
    "2027-07-06",
    "2027-08-30",
    "2027-10-25",
    "2027-12-16",
];

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
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "a number above zero", "0".into()));
            }
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
    }
}
