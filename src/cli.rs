//! The `senim-kiosk` command line: `run`, and the technician tools other parts add.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::catalog::{Catalog, CatalogError};
use crate::config::Config;
use crate::devices::scanner::{
    self, ScanJson, ScannerEvent, ScannerHealth, ScannerOptions, Suffix,
};

/// Senim self-service kiosk.
#[derive(Debug, Parser)]
#[command(name = "senim-kiosk", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the kiosk UI (fullscreen unless --windowed).
    Run {
        /// Configuration file.
        #[arg(long, default_value = "/etc/senim/kiosk.toml")]
        config: PathBuf,
        /// Show a normal window instead of fullscreen (development).
        #[arg(long)]
        windowed: bool,
    },
    /// Check a configuration file and print what is wrong with it.
    CheckConfig {
        #[arg(long, default_value = "/etc/senim/kiosk.toml")]
        config: PathBuf,
    },
    /// Service-guide catalogue tools.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Read a barcode scanner with the kiosk's own driver and print one JSON object per read
    /// (kind, valid, iin, symbology, error) until interrupted. A technician's tool: the full
    /// IIN is printed to this terminal and nowhere else.
    Scan {
        /// Serial port, preferably a stable /dev/serial/by-id/... path.
        #[arg(long)]
        port: String,
        #[arg(long, default_value_t = 9600)]
        baud: u32,
        /// What ends a read: cr, lf, crlf, or none (a pause ends it).
        #[arg(long, value_enum, default_value_t = SuffixArg::Crlf)]
        suffix: SuffixArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Check a catalogue folder: prints every problem (file, service, step, what is wrong) and
    /// exits with status 1 if there is any, or a one-line summary when it is valid.
    Check {
        /// The catalogue folder.
        #[arg(default_value = "config/services")]
        dir: PathBuf,
    },
}

/// `--suffix` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuffixArg {
    Cr,
    Lf,
    Crlf,
    None,
}

impl From<SuffixArg> for Suffix {
    fn from(s: SuffixArg) -> Suffix {
        match s {
            SuffixArg::Cr => Suffix::Cr,
            SuffixArg::Lf => Suffix::Lf,
            SuffixArg::Crlf => Suffix::CrLf,
            SuffixArg::None => Suffix::None,
        }
    }
}

/// Parses the arguments and runs the chosen command; returns the exit status.
pub fn main() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config, windowed } => {
            let config = Config::load(&config)?;
            crate::app::run(config, windowed)
        }
        Command::CheckConfig { config } => {
            Config::load(&config)?;
            crate::catalog::Catalog::load_dir(&Config::load(&config)?.kiosk.catalog_dir)
                .context("service catalogue")?;
            println!("{}: ok", config.display());
            Ok(0)
        }
        Command::Catalog {
            command: CatalogCommand::Check { dir },
        } => catalog_check(&dir),
        Command::Scan { port, baud, suffix } => scan(ScannerOptions {
            port,
            baud,
            suffix: suffix.into(),
            ..ScannerOptions::default()
        }),
    }
}

/// `senim-kiosk catalog check`: the same validation the kiosk runs at start.
fn catalog_check(dir: &std::path::Path) -> anyhow::Result<i32> {
    match Catalog::load_dir(dir) {
        Ok(catalog) => {
            let steps: usize = catalog.step_counts().iter().sum();
            println!(
                "{}: ok — {} services in {} categories, {} steps, {} illustrations",
                dir.display(),
                catalog.services.len(),
                catalog.categories.len(),
                steps,
                catalog.images.len()
            );
            Ok(0)
        }
        Err(CatalogError::Invalid(problems)) => {
            for problem in &problems {
                println!("{problem}");
            }
            eprintln!(
                "{}: {} problem(s); the kiosk refuses this catalogue until they are fixed",
                dir.display(),
                problems.len()
            );
            Ok(1)
        }
        Err(other) => Err(other.into()),
    }
}

/// `senim-kiosk scan`: JSON lines on stdout, flushed one by one; health news on stderr.
fn scan(options: ScannerOptions) -> anyhow::Result<i32> {
    use std::io::Write;
    let port = options.port.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let _handle = scanner::spawn(options, move |event| {
        let _ = tx.send(event);
    })
    .with_context(|| format!("cannot read the scanner on {port}"))?;
    let stdout = std::io::stdout();
    for event in rx {
        match &event {
            ScannerEvent::Health(ScannerHealth::Connected) => eprintln!("scan: {port} connected"),
            ScannerEvent::Health(ScannerHealth::Disconnected { reason }) => {
                eprintln!("scan: {port} disconnected ({reason}); retrying")
            }
            ScannerEvent::Read(_) | ScannerEvent::FramingError(_) => {}
        }
        if let Some(json) = ScanJson::from_event(&event) {
            let line = serde_json::to_string(&json).context("encoding a read as JSON")?;
            let mut out = stdout.lock();
            // A closed stdout (e.g. `| head -1`) ends the tool quietly.
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return Ok(0);
            }
        }
    }
    // The driver thread only ends when the handle is dropped, so this is not reached in use.
    Ok(0)
}
