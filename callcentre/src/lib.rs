//! Senim call-centre backend: the kiosk API, tus video uploads and the operator console.
//!
//! Code map:
//! - [`config`]: the typed configuration file;
//! - [`db`]: SQLite (WAL, migrations) and every SQL statement, one file per resource;
//! - [`api`]: the kiosk API under `/api/v1` and its OpenAPI document; [`api::tus`] uploads;
//! - [`console`]: the operator console (sessions, CSRF, red lamp and consultant calls over
//!   SSE, queue, fleet with enrolment codes, service-guide figures);
//! - [`catalog`]: publishing the service-guide catalogue (validated by the kiosk's own code);
//! - [`deadlines`]: appeals' legal deadlines (calendar or working days of `[hours]`);
//! - [`sms`]: telling citizens their appeal was answered (outbox and sender);
//! - [`guides`]: the service-guide usage figures;
//! - [`figures`]: the appeal figures (per month, site, topic, status; time to answer) and CSV;
//! - [`enrolment`]: issuing one-time enrolment codes (the command line and the console);
//! - [`qr`]: QR codes of enrolment codes (terminal and PNG);
//! - [`status_page`]: the citizen's status page behind the receipt's QR code (`/s/…`);
//! - [`state`]: shared state and the live picture (presence, heartbeats);
//! - [`live`]: the live bus that carries the live picture's facts to every server
//!   (in-process, or PostgreSQL `LISTEN/NOTIFY`);
//! - [`uploads`]: per-upload locks and running SHA-256 of the tus uploads;
//! - [`videos`]: where the videos' bytes are kept (data folder or S3-compatible object store);
//! - [`updates`]: publishing system-update bundles (checked with `rauc info`) and offering
//!   the newest one for a kiosk's site in heartbeat answers;
//! - [`calls`]: live calls in memory (ringing, answered, ended; operators' availability);
//! - [`signalling`]: the plumbing of the two signalling sockets (kiosk and console);
//! - [`server`]: routes, housekeeping, plain or TLS listening, graceful shutdown;
//! - [`retention`]: erasing the personal data of long-closed appeals (daily and by the CLI);
//! - [`secrets`]: tokens, codes and password hashing;
//! - [`cli`]: the `senim-callcentre` command line.

pub mod api;
pub mod calls;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod deadlines;
pub mod enrolment;
pub mod figures;
pub mod guides;
pub mod i18n;
pub mod live;
pub mod passwords;
pub mod qr;
pub mod reseal;
pub mod retention;
pub mod sealing;
pub mod secrets;
pub mod server;
pub mod signalling;
pub mod signin_throttle;
pub mod sms;
pub mod state;
pub mod status_page;
pub mod updates;
pub mod uploads;
pub mod videos;
