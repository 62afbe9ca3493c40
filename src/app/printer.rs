//! The receipt printer as the kiosk uses it: the citizen's slip, the technician's test slip,
//! and the printer's health and results coming back from its thread.

use std::cell::Cell;

use chrono::Utc;

use super::{post, App};
use crate::config::Config;
use crate::devices::printer::{Printer, PrinterEvent, PrinterHealth, Slip};
use crate::flow::{Device, Event, Health, Receipt};

pub(super) struct PrinterSide {
    /// The receipt printer, when one is configured.
    printer: Option<Printer>,
    /// The slip being printed is the technician's test slip.
    printing_test: Cell<bool>,
}

impl PrinterSide {
    /// Starts the printer's thread when one is configured; its news comes back as events.
    pub fn start(config: &Config) -> PrinterSide {
        let printer = config.printer_options().and_then(|options| {
            let sink = |event: PrinterEvent| post(move |app| app.printer_event(event));
            match Printer::spawn(options, sink) {
                Ok(printer) => Some(printer),
                Err(e) => {
                    tracing::error!(error = %e, "receipt printer unavailable; the QR code is the receipt");
                    None
                }
            }
        });
        PrinterSide {
            printer,
            printing_test: Cell::new(false),
        }
    }
}

impl App {
    /// The receipt slip, in the citizen's language (only when the printer is working).
    pub(super) fn print_receipt(&self, receipt: &Receipt) {
        let Some(printer) = &self.printer.printer else {
            return;
        };
        let status_url = self
            .config
            .status_url(&receipt.number, receipt.check_code.as_str());
        let slip = Slip::appeal(
            self.flow.borrow().lang(),
            &receipt.number,
            receipt.check_code.as_str(),
            self.schedule.local(Utc::now()),
            receipt.seen_at.into(),
            status_url.as_deref(),
            &self.info.borrow().site_name,
        );
        self.printer.printing_test.set(false);
        printer.print(slip);
    }

    /// The technician's test slip; its result shows on the printer test page.
    pub(super) fn print_test_slip(&self) {
        match &self.printer.printer {
            Some(printer) => {
                self.printer.printing_test.set(true);
                self.info.borrow_mut().tech.printer = None;
                let kiosk_id = self.info.borrow().kiosk_id.clone();
                printer.print(Slip::test(&kiosk_id, self.schedule.local(Utc::now())));
            }
            None => {
                self.info.borrow_mut().tech.printer = Some(Err(
                    "no receipt printer is configured ([printer] port)".into(),
                ));
            }
        }
    }

    fn printer_event(&self, event: PrinterEvent) {
        match event {
            PrinterEvent::Health(PrinterHealth::Ok) => {
                tracing::info!("receipt printer ready");
                self.dispatch(Event::DeviceHealth(Device::Printer, Health::Ok));
            }
            PrinterEvent::Health(PrinterHealth::Faulty { reason }) => {
                tracing::warn!(%reason, "receipt printer not answering");
                self.dispatch(Event::DeviceHealth(Device::Printer, Health::Faulty));
            }
            PrinterEvent::Printed => {
                tracing::info!("slip printed");
                if self.printer.printing_test.replace(false) {
                    self.info.borrow_mut().tech.printer = Some(Ok(()));
                    self.refresh(self.now());
                }
            }
            PrinterEvent::Failed(e) => {
                tracing::warn!(error = %e, "slip not printed");
                if self.printer.printing_test.replace(false) {
                    self.info.borrow_mut().tech.printer = Some(Err(e.to_string()));
                    self.refresh(self.now());
                }
            }
        }
    }
}
