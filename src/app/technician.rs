//! Technician mode's live parts: the scanner test page (what the scanner sent, byte by byte),
//! the checks, run on a thread of their own because they wait on the network, and the PIN:
//! checked on a thread of its own (argon2id), its lock-out kept by the store.

use super::{dispatch_from_thread, post, App};
use crate::devices::scanner;
use crate::flow::{Device, Event, PinLock, Screen, TechTest};
use crate::store::StoredPinLock;
use crate::ui;

impl App {
    /// On the technician's scanner test page, what the scanner sent is shown byte by byte.
    pub(super) fn note_test_scan(&self, read: &scanner::ScanRead) {
        let on_test_page = matches!(
            self.flow.borrow().screen(),
            Screen::TechnicianTest(TechTest::Scanner)
        );
        if !on_test_page {
            return;
        }
        let symbology = read.symbology.clone().unwrap_or_default();
        let bytes: Vec<u8> = symbology.bytes().chain(read.text.0.bytes()).collect();
        self.info.borrow_mut().tech.scan = Some(ui::TestScan {
            kind: read.classified.kind.as_str().to_string(),
            valid: read.classified.result.is_ok(),
            symbology,
            text: read
                .text
                .0
                .chars()
                .map(|c| if c.is_control() { '·' } else { c })
                .collect(),
            hex: bytes
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" "),
        });
    }

    /// Runs the technician's checks on a thread (they wait on the network) and shows them.
    pub(super) fn run_checks(&self) {
        if self.info.borrow().tech.checks_running {
            return;
        }
        self.info.borrow_mut().tech.checks_running = true;
        let config = self.config.clone();
        let live = {
            let flow = self.flow.borrow();
            crate::doctor::LiveDevices {
                scanner: flow.health(Device::Scanner),
                camera: flow.health(Device::Camera),
                microphone: self.info.borrow().tech.microphone,
                printer: flow.health(Device::Printer),
            }
        };
        let spawned = std::thread::Builder::new()
            .name("senim-checks".into())
            .spawn(move || {
                let checks = crate::doctor::run(&config, "the running configuration", Some(&live));
                post(move |app| {
                    {
                        let mut info = app.info.borrow_mut();
                        info.tech.checks = checks;
                        info.tech.checks_running = false;
                    }
                    app.refresh(app.now());
                });
            });
        if spawned.is_err() {
            self.info.borrow_mut().tech.checks_running = false;
        }
    }
}

impl App {
    /// Checks a typed technician PIN against the configured hash on a thread of its own
    /// (argon2id costs tens of milliseconds) and answers the flow with `Event::PinChecked`.
    pub(super) fn check_pin(&self, typed: String) {
        let technician = self.config.technician.clone();
        let spawned = std::thread::Builder::new()
            .name("senim-pin".into())
            .spawn(move || {
                let ok = technician.verify_pin(&typed);
                tracing::info!(ok, "technician PIN checked");
                dispatch_from_thread(Event::PinChecked { ok });
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the PIN check; counted as wrong");
            dispatch_from_thread(Event::PinChecked { ok: false });
        }
    }

    /// Keeps the PIN lock-out in the store, so a restart does not reset it.
    pub(super) fn save_pin_lock(&self, lock: PinLock) {
        let stored = StoredPinLock::from_flow(lock, chrono::Utc::now());
        self.store.exec(move |store| {
            let saved = match store {
                Ok(s) => s.set_pin_lock(&stored).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = saved {
                tracing::error!(error = %e, "the technician PIN's lock-out was not kept");
            }
        });
    }

    /// The lock-out the store kept, read at start, handed to the flow.
    pub(super) fn pin_lock_read(&self, lock: Result<StoredPinLock, String>) {
        match lock {
            Ok(lock) => {
                let lock = lock.to_flow(chrono::Utc::now());
                if lock != PinLock::default() {
                    tracing::info!(
                        failures = lock.failures,
                        locked_secs = lock.locked_for_ms / 1000,
                        "technician PIN lock-out restored"
                    );
                    self.dispatch(Event::PinLockRestored(lock));
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the technician PIN's lock-out"),
        }
    }
}
