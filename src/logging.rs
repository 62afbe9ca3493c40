//! Logging with `tracing`: plain lines on stderr that journald stores as they are.
//!
//! Never log personal data: identity types print only masked forms, drafts only flags.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `SENIM_LOG` (e.g. `debug`, `senim_kiosk=trace`) overrides
/// the default level `info`. Under systemd (`JOURNAL_STREAM` set) timestamps and colours are
/// left to journald.
pub fn init() {
    let filter = EnvFilter::try_from_env("SENIM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let result = if under_journald {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
    if result.is_err() {
        // A subscriber is already installed (tests); keep it.
    }
}
