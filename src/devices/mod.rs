//! Device adapters: each device on its own thread, reporting events and health (the serial card
//! scanner; the camera and microphone; the receipt printer).

pub mod call;
pub mod camera;
pub mod printer;
pub mod scanner;
#[cfg(test)]
mod test_pty;
