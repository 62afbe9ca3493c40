//! The e-government service-guide catalogue, as the kiosk uses it: the model, loader and
//! validator live in `senim_protocol::catalog`, shared with the call-centre, which validates
//! published catalogues with the same code.

pub use senim_protocol::catalog::*;
