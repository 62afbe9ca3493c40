//! Senim kiosk: a fullscreen Slint kiosk for e-government service guides and video appeals.
//!
//! Code map (see `ARCHITECTURE.md` for the invariants):
//! - [`flow`]: the citizen's journey as a pure state machine (screens, events, effects, hours);
//!   the `senim-journey` crate, with [`identity`].
//! - [`identity`]: IIN, ICAO TD1 MRZ, classification of scanner reads (pure).
//! - [`catalog`]: the e-government service-guide catalogue (pure).
//! - [`config`]: the typed, validated configuration.
//! - [`doctor`]: the technician's checks (`senim-kiosk doctor`, technician screen).
//! - [`devices`]: the serial card scanner, the camera and microphone (GStreamer), the ESC/POS
//!   receipt printer.
//! - [`store`]: the durable SQLite store, with the outbox to the call-centre.
//! - [`sync`]: the worker delivering the outbox, videos (tus) and presence to the call-centre.
//! - [`qr`]: QR codes for the screen and the receipt (pure).
//! - [`speech`]: the screens' spoken prompts (made with espeak-ng, played with GStreamer).
//! - [`ui`]: adapters between the Slint UI and the flow.
//! - [`update`]: system updates: the ledger, the root installer's file contract, quiet hours,
//!   the serving mark, success or rollback after a switch (the download is in `sync`).
//! - [`call`]: one live call to the call-centre (signalling + media), for the app and
//!   `senim-kiosk call`.
//! - [`app`]: wiring of it all on the UI thread.
//! - [`cli`]: the `senim-kiosk` command line.
//! - [`watchdog`]: `READY=1` and `WATCHDOG=1` to systemd from the UI thread.

pub use senim_journey::{flow, identity};

pub mod app;
pub mod call;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod devices;
pub mod doctor;
pub mod logging;
pub mod qr;
pub mod speech;
pub mod store;
pub mod sync;
pub mod ui;
pub mod update;
pub mod watchdog;
