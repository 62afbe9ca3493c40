//! The `senim-kiosk` command line: `run`, and the technician tools other parts add.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::devices::camera::{self, CameraConfig, CameraEvent, DeviceState};
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
    /// Record a take with the configured [camera] for N seconds and print JSON lines (health,
    /// secured seconds, the take). For technicians, the crash test and the bench.
    #[command(hide = true)]
    Record {
        #[arg(long, default_value = "/etc/senim/kiosk.toml")]
        config: PathBuf,
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// Take folder (created; must not hold a take). With --print-launch: the output file.
        #[arg(long)]
        out: PathBuf,
        /// Print the recorder's pipeline as a gst-launch-1.0 command line and exit.
        #[arg(long)]
        print_launch: bool,
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
        Command::Record {
            config,
            seconds,
            out,
            print_launch,
        } => {
            let camera = Config::load(&config)?.camera;
            if print_launch {
                println!("{}", camera::launch_line(&camera, &out));
                return Ok(0);
            }
            record(camera, seconds, &out)
        }
        Command::Scan { port, baud, suffix } => scan(ScannerOptions {
            port,
            baud,
            suffix: suffix.into(),
            ..ScannerOptions::default()
        }),
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

/// `senim-kiosk record`: one take, JSON lines on stdout, exit 0 only with a take.
fn record(cfg: CameraConfig, seconds: u64, out: &std::path::Path) -> anyhow::Result<i32> {
    use serde_json::json;
    use std::time::{Duration, Instant};
    let (tx, rx) = std::sync::mpsc::channel();
    let cam = camera::Camera::open(cfg, move |e| {
        if !matches!(e, CameraEvent::Frame(_)) {
            let _ = tx.send(e);
        }
    })
    .context("cannot open the camera")?;
    cam.start_recording(out);
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let mut give_up = stop_at + Duration::from_secs(30);
    let mut stopping = false;
    let mut last_level = Instant::now() - Duration::from_secs(1);
    loop {
        let now = Instant::now();
        if !stopping && now >= stop_at {
            cam.stop_recording();
            stopping = true;
            give_up = now + Duration::from_secs(30);
        }
        let wait = if stopping { give_up } else { stop_at }.saturating_duration_since(now);
        let line = match rx.recv_timeout(wait) {
            Ok(CameraEvent::Health { device, state }) => {
                let (state, reason) = match state {
                    DeviceState::Ok => ("ok", None),
                    DeviceState::Faulty(r) => ("faulty", Some(r)),
                    DeviceState::Absent => ("absent", None),
                };
                json!({"event": "health", "device": device.as_str(), "state": state, "reason": reason})
            }
            Ok(CameraEvent::Recording { secured }) => {
                json!({"event": "recording", "secured_s": secured.as_secs_f64()})
            }
            Ok(CameraEvent::Level { db }) if last_level.elapsed() >= Duration::from_secs(1) => {
                last_level = Instant::now();
                json!({"event": "level", "db": db})
            }
            Ok(CameraEvent::TakeFinished(result)) => {
                let take = result.context("the take failed")?;
                println!(
                    "{}",
                    json!({"event": "take", "path": take.path, "seconds": take.duration.as_secs_f64(),
                        "bytes": take.bytes, "interrupted": take.interrupted,
                        "video": take.has_video, "audio": take.has_audio})
                );
                return Ok(0);
            }
            Ok(_) => continue,
            Err(_) if stopping => anyhow::bail!("the recorder did not finish within 30 s"),
            Err(_) => continue,
        };
        println!("{line}");
    }
}
