//! The `senim-kiosk` command line: `run`, and the technician tools other parts add.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::devices::printer::{Printer, PrinterEvent, PrinterHealth, Slip};
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
    /// Print the technician's test slip on the configured receipt printer (kiosk id, time,
    /// Russian and Kazakh text, paper width, QR code). Exit status 0 only when the printer
    /// took every byte.
    PrintTest {
        #[arg(long, default_value = "/etc/senim/kiosk.toml")]
        config: PathBuf,
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
        Command::PrintTest { config } => print_test(&Config::load(&config)?),
        Command::Scan { port, baud, suffix } => scan(ScannerOptions {
            port,
            baud,
            suffix: suffix.into(),
            ..ScannerOptions::default()
        }),
    }
}

/// How long `print-test` waits for the printer: the open, a status query and a slip at
/// 9600 baud take well under this.
const PRINT_TEST_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// `senim-kiosk print-test`: prints [`Slip::test`] and waits for the outcome.
fn print_test(config: &Config) -> anyhow::Result<i32> {
    let Some(options) = config.printer.options() else {
        anyhow::bail!(
            "no receipt printer is configured — set [printer] port in the configuration file"
        );
    };
    let port = options.port.clone();
    let kiosk_id = kiosk_id(config);
    let now = config
        .callcentre
        .schedule()
        .map(|s| s.local(chrono::Utc::now()))
        .unwrap_or_else(|_| chrono::Local::now().naive_local());
    let (tx, rx) = std::sync::mpsc::channel();
    let printer = Printer::spawn(options, move |event| {
        let _ = tx.send(event);
    })
    .with_context(|| format!("cannot start the printer on {port}"))?;
    printer.print(Slip::test(&kiosk_id, now));
    let deadline = std::time::Instant::now() + PRINT_TEST_WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(PrinterEvent::Printed) => {
                println!("print-test: test slip sent to {port}");
                return Ok(0);
            }
            Ok(PrinterEvent::Failed(e)) => {
                eprintln!("print-test: {e}");
                return Ok(1);
            }
            Ok(PrinterEvent::Health(PrinterHealth::Ok)) => eprintln!("print-test: {port} ready"),
            Ok(PrinterEvent::Health(PrinterHealth::Faulty { reason })) => {
                eprintln!("print-test: {reason}")
            }
            Err(_) => {
                eprintln!(
                    "print-test: no answer from the printer thread within {} s",
                    PRINT_TEST_WAIT.as_secs()
                );
                return Ok(1);
            }
        }
    }
}

/// The kiosk's id from its store, without creating a store that is not there.
fn kiosk_id(config: &Config) -> String {
    let dir = &config.store.data_dir;
    if !dir.join(crate::store::DB_FILE).exists() {
        return "not enrolled".into();
    }
    match crate::store::Store::open(dir).and_then(|s| s.enrolment()) {
        Ok(Some(e)) => e.kiosk_id,
        Ok(None) => "not enrolled".into(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the kiosk id from the store");
            "unknown (store unreadable)".into()
        }
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
