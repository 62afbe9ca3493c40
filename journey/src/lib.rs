//! The citizen's journey at a Senim kiosk, as pure code: the state machine that answers events
//! with screens and effects (`flow`), and what a scanner reads (`identity`: IIN, ID-card MRZ,
//! technician badges, enrolment codes).
//!
//! This crate does no I/O and reads no clock; its dependencies are pure (`senim-protocol`,
//! `chrono`, `sha2`, `thiserror`), so the compiler keeps slint, rusqlite, reqwest and GStreamer
//! out of it. The kiosk re-exports both modules as `senim_kiosk::{flow, identity}`.

pub mod flow;
pub mod identity;
