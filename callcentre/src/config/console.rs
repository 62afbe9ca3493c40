//! The `[console]` section: sessions and cookies, the sign-in throttle, password work.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
/// `[console]`: sessions and cookies, the sign-in throttle, password work.
pub struct ConsoleSection {
    /// Hours a console sign-in lasts.
    pub session_hours: u32,
    /// Mark session cookies `Secure` (on whenever operators reach the console over HTTPS,
    /// directly or through a proxy).
    pub secure_cookies: bool,
    /// Failed sign-ins of a user name before each further attempt must wait (1 s, 2 s, 4 s…).
    pub signin_free_attempts: u32,
    /// Failed sign-ins of a user name that lock it for `signin_lock_minutes`.
    pub signin_lock_after: u32,
    /// Failed sign-ins from one address (any names) that lock the address.
    pub signin_address_lock_after: u32,
    /// Minutes a locked user name or address waits.
    pub signin_lock_minutes: u32,
    /// Password checks (argon2, 19 MiB each) run at once; more wait their turn.
    pub password_checks_at_once: u32,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        Self {
            session_hours: 12,
            secure_cookies: true,
            signin_free_attempts: 3,
            signin_lock_after: 10,
            signin_address_lock_after: 30,
            signin_lock_minutes: 15,
            password_checks_at_once: 2,
        }
    }
}

impl ConsoleSection {
    /// Its keys that must be above zero, with their values.
    pub(super) fn positive(&self) -> [(&'static str, u64); 4] {
        [
            ("console.signin_lock_after", self.signin_lock_after.into()),
            (
                "console.signin_address_lock_after",
                self.signin_address_lock_after.into(),
            ),
            (
                "console.signin_lock_minutes",
                self.signin_lock_minutes.into(),
            ),
            (
                "console.password_checks_at_once",
                self.password_checks_at_once.into(),
            ),
        ]
    }
}
