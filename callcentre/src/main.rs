//! `senim-callcentre`: the call-centre backend and operator console (a skeleton until the
//! backend issue lands; it parses its command line and says that nothing is served yet).

use std::process::ExitCode;

use clap::Parser;

/// Senim call-centre backend and operator console.
#[derive(Debug, Parser)]
#[command(name = "senim-callcentre", version, about)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "senim-callcentre {}: the backend is not built yet, so there is nothing to serve. \
         Kiosks keep working on their own meanwhile.",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
