//! Device adapters: each device on its own thread, reporting events and health.

pub mod printer;
pub mod scanner;
