//! Technician mode's live parts: the scanner test page (what the scanner sent, byte by byte)
//! and the checks, run on a thread of their own because they wait on the network.

use super::{post, App};
use crate::devices::scanner;
use crate::flow::{Device, Screen, TechTest};
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
