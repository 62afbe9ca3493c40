//! Code shared by the Senim kiosk and the call-centre that is not wire format (that is
//! `senim-protocol`): the QR matrix both draw ([`qr`]) and the way both open their SQLite
//! database ([`sqlite`]).

pub mod qr;
pub mod sqlite;
