//! Code shared by the Senim kiosk and the call-centre that is not wire format (that is
//! `senim-protocol`): the QR matrix both draw ([`qr`]), the way both open their SQLite
//! database ([`sqlite`]), the Ed25519 signature scheme of signed content ([`signing`]) and the
//! public-key hash of TLS pinning ([`spki`]), age sealing ([`seal`]) and the secret key files
//! both kinds of key are kept in ([`keyfile`]).

pub mod keyfile;
pub mod qr;
pub mod seal;
pub mod signing;
pub mod spki;
pub mod sqlite;
