//! Tells systemd the kiosk is up (`READY=1`) and that its UI thread still runs (`WATCHDOG=1`).
//!
//! Both messages are sent from `slint::Timer`s on the UI thread, so a frozen UI stops the pings
//! and systemd (`WatchdogSec=` in
//! `kiosk-image/rootfs/etc/systemd/system/senim-kiosk.service`) kills and restarts
//! the kiosk. Outside systemd (`NOTIFY_SOCKET` unset: a developer's terminal, the tests) nothing
//! is started.
//!
//! Under the `cage` compositor the kiosk is cage's child, not the unit's main process, so
//! systemd's `WATCHDOG_PID` names the parent; the unit sets `NotifyAccess=all` for that case.

use std::cell::Cell;
use std::time::Duration;

use sd_notify::NotifyState;

use crate::update::serving::Serving;

/// Keeps the notification timers alive; drop it to stop pinging.
pub struct Watchdog {
    _ready: slint::Timer,
    _ping: Option<slint::Timer>,
}

/// Starts notifying systemd, if the kiosk runs under it. Call just before the event loop runs:
/// `READY=1` goes out from the loop's first turn, once the window has been shown and drawn,
/// and `WATCHDOG=1` every half `WATCHDOG_USEC` after that.
///
/// `serving` (where updates are taken) hears of the first frame and of the first ping: with
/// the call-centre's answer they make the serving mark. Outside systemd there is no watchdog
/// to feed, so no mark is written.
pub fn start(serving: Option<Serving>) -> Option<Watchdog> {
    std::env::var_os("NOTIFY_SOCKET")?;
    let interval = ping_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
        std::os::unix::process::parent_id(),
    );
    let ready = slint::Timer::default();
    let on_ready = serving.clone();
    let no_watchdog = interval.is_none();
    ready.start(
        slint::TimerMode::SingleShot,
        Duration::ZERO,
        move || match sd_notify::notify(&[NotifyState::Ready]) {
            Ok(()) => {
                tracing::info!("told systemd the kiosk is ready");
                if let Some(s) = &on_ready {
                    s.ui_up();
                    if no_watchdog {
                        // systemd watches nothing here: there is no watchdog to feed.
                        s.watchdog_fed();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot tell systemd the kiosk is ready"),
        },
    );
    let ping = interval.map(|every| {
        tracing::info!(every_ms = every.as_millis(), "systemd watchdog on");
        let failed_before = Cell::new(false);
        let timer = slint::Timer::default();
        timer.start(slint::TimerMode::Repeated, every, move || {
            match sd_notify::notify(&[NotifyState::Watchdog]) {
                Ok(()) => {
                    if let Some(s) = &serving {
                        s.watchdog_fed();
                    }
                }
                Err(e) => {
                    // Once is enough: the next failures would say the same every few seconds.
                    if !failed_before.replace(true) {
                        tracing::warn!(error = %e, "cannot ping the systemd watchdog");
                    }
                }
            }
        });
        timer
    });
    Some(Watchdog {
        _ready: ready,
        _ping: ping,
    })
}

/// How often to ping: half the watchdog period systemd gives in `WATCHDOG_USEC`, as
/// `sd_watchdog_enabled(3)` advises, or `None` when the watchdog is off or meant for another
/// process. `WATCHDOG_PID` may name this process or its parent (the compositor that launched
/// the kiosk as its only client); any other process's watchdog is not ours to feed.
pub fn ping_interval(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
    parent_pid: u32,
) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid {
        let pid: u32 = pid.trim().parse().ok()?;
        if pid != own_pid && pid != parent_pid {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_at_half_the_period_for_itself_or_its_compositor() {
        let half = Some(Duration::from_secs(15));
        assert_eq!(ping_interval(Some("30000000"), Some("10"), 10, 1), half);
        assert_eq!(ping_interval(Some("30000000"), Some("7"), 10, 7), half);
        assert_eq!(ping_interval(Some("30000000"), None, 10, 7), half);
    }

    #[test]
    fn stays_silent_when_the_watchdog_is_off_or_someone_elses() {
        assert_eq!(ping_interval(None, Some("10"), 10, 1), None);
        assert_eq!(ping_interval(Some("0"), Some("10"), 10, 1), None);
        assert_eq!(ping_interval(Some("soon"), Some("10"), 10, 1), None);
        assert_eq!(ping_interval(Some("30000000"), Some("99"), 10, 1), None);
        assert_eq!(ping_interval(Some("30000000"), Some("x"), 10, 1), None);
    }
}
