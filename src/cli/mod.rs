//! The `senim-kiosk` command line: `run`, and the technician tools other parts add.
//!
//! `mod.rs`: the subcommand table, `main`, and the store, sync, doctor and catalogue commands;
//! `devices.rs`: the device tools (`scan`, `print-test`, `record`); `call.rs`: the test call;
//! `pin.rs`: `hash-pin`; `prompts.rs`: `prompts make` and `prompts check`.

mod call;
mod devices;
mod pin;
mod prompts;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::catalog::{Catalog, CatalogError};
use crate::config::{Config, Overrides};
use crate::devices::camera::{self, CameraEvent, DeviceState};
use crate::devices::scanner::{ScannerOptions, Suffix};
use crate::store::{Store, KINDS};

use devices::{print_test, record, scan};

/// Senim self-service kiosk.
#[derive(Debug, Parser)]
#[command(name = "senim-kiosk", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "/etc/senim/kiosk.toml")]
    pub config: PathBuf,
    /// Folder of the kiosk's store and videos (overrides `[store] data_dir`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The call-centre backend, `https://HOST[:PORT]` (overrides `[sync] backend_url`).
    #[arg(long, global = true, value_name = "URL")]
    pub backend: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the kiosk UI (fullscreen unless --windowed).
    Run {
        /// Show a normal window instead of fullscreen (development).
        #[arg(long)]
        windowed: bool,
    },
    /// Check a configuration file and print what is wrong with it.
    CheckConfig,
    /// Service-guide catalogue tools.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// The screens' spoken prompts (kk, ru, en).
    Prompts {
        #[command(subcommand)]
        command: PromptsCommand,
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
    /// What the kiosk still has to deliver: per kind, the counts committed, pending and
    /// delivered, the last error and the last success.
    Queue {
        /// One JSON object keyed by kind.
        #[arg(long)]
        json: bool,
        /// Put every parked record and video back in the queue (after the call-centre or the
        /// kiosk was fixed); a video's checksum attempts start again.
        #[arg(long)]
        retry_parked: bool,
    },
    /// Enrol this kiosk with the enrolment text from `senim-callcentre enrol-code` (the QR
    /// code's `SENIM-ENROL:<code>;v=2;pin=…;url=…`: nothing needs configuring), or a bare code
    /// with [sync] backend_url set.
    Enrol {
        /// The text as printed (the first line of `enrol-code`), with or without
        /// `SENIM-ENROL:`, or the code alone.
        code: String,
    },
    /// Check the configuration, catalogue, store, disk, devices, network and call-centre link;
    /// one line per check (ok / warn / fail, with a hint); exit status 1 if anything fails.
    Doctor {
        /// One JSON object per check, one per line.
        #[arg(long)]
        json: bool,
        /// Instead of the checks: record a test appeal from the configured camera and
        /// microphone, commit it, deliver it, and exit 0 only once the call-centre has
        /// confirmed the record and the video's bytes.
        #[arg(long)]
        send_test_appeal: bool,
        /// Seconds to record for --send-test-appeal.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
        seconds: u64,
    },
    /// Print the technician's test slip on the configured receipt printer (kiosk id, time,
    /// Russian and Kazakh text, paper width, QR code). Exit status 0 only when the printer
    /// took every byte.
    PrintTest,
    /// Record a take with the configured [camera] for N seconds and print JSON lines (health,
    /// secured seconds, the take). For technicians, the crash test and the bench.
    #[command(hide = true)]
    Record {
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// Take folder (created; must not hold a take). With --print-launch: the output file.
        #[arg(long)]
        out: PathBuf,
        /// Print the recorder's pipeline as a gst-launch-1.0 command line and exit.
        #[arg(long)]
        print_launch: bool,
    },
    /// Place a test call to the call-centre (it rings any available operator at any hour,
    /// marked as a test) with the configured camera and microphone; print JSON lines
    /// (ringing, answered, media figures, ended with the reason). Exit status 0 only if media
    /// flowed both ways.
    Call {
        /// Seconds to stay in the call once connected, then hang up.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,
        /// Gather the call's host candidates only on this address (repeatable; default: every
        /// interface but loopback). For multi-homed kiosks and tests.
        #[arg(long = "ice-address", value_name = "IP")]
        ice_addresses: Vec<std::net::IpAddr>,
    },
    /// Hash a technician PIN for `[technician] pin_hash`: reads it without echo from a
    /// terminal (asked twice), or the first line of standard input, and prints the line
    /// `pin_hash = "$argon2id$…"`. Needs no configuration.
    HashPin,
    /// Deliver the queue to the call-centre in the foreground (the kiosk's own worker).
    Sync {
        /// Stop once everything is delivered (exit 0) or a refusal retrying cannot fix.
        #[arg(long)]
        until_idle: bool,
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

#[derive(Debug, Subcommand)]
pub enum PromptsCommand {
    /// Make every screen's prompt whose text changed, with espeak-ng (at build time).
    Make {
        /// The prompts folder.
        #[arg(long, default_value = "assets/prompts")]
        dir: PathBuf,
        /// Make every prompt again, changed or not.
        #[arg(long)]
        force: bool,
    },
    /// List every screen × language with its prompt's duration; exit status 1 if one is
    /// missing, silent or made from a text that has changed since.
    Check {
        /// The prompts folder (on a kiosk: /usr/share/senim/prompts).
        #[arg(long, default_value = "assets/prompts")]
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
    let overrides = Overrides {
        data: cli.data.clone(),
        backend: cli.backend.clone(),
    };
    let load = || Config::load_with(&cli.config, &overrides);
    // With no [sync] backend_url: the call-centre learnt at enrolment.
    let learned = || -> anyhow::Result<Config> {
        let mut config = load()?;
        config.adopt_enrolled_backend();
        Ok(config)
    };
    match cli.command {
        Command::Run { windowed } => crate::app::run(learned()?, windowed),
        Command::CheckConfig => {
            let config = load()?;
            crate::catalog::Catalog::load_dir(&config.kiosk.catalog_dir)
                .context("service catalogue")?;
            println!("{}: ok", cli.config.display());
            Ok(0)
        }
        Command::Catalog {
            command: CatalogCommand::Check { dir },
        } => catalog_check(&dir),
        Command::Prompts {
            command: PromptsCommand::Make { dir, force },
        } => prompts::make(&dir, force),
        Command::Prompts {
            command: PromptsCommand::Check { dir },
        } => prompts::check(&dir),
        Command::Scan { port, baud, suffix } => scan(ScannerOptions {
            port,
            baud,
            suffix: suffix.into(),
            ..ScannerOptions::default()
        }),
        Command::PrintTest => print_test(&learned()?),
        Command::Record {
            seconds,
            out,
            print_launch,
        } => {
            let camera = load()?.camera;
            if print_launch {
                println!("{}", camera::launch_line(&camera, &out));
                return Ok(0);
            }
            record(camera, seconds, &out)
        }
        Command::HashPin => pin::hash_pin_command(),
        Command::Queue { json, retry_parked } => queue(&learned()?, json, retry_parked),
        Command::Enrol { code } => enrol(&load()?, &code),
        Command::Sync { until_idle } => sync(&learned()?, until_idle),
        Command::Call {
            seconds,
            ice_addresses,
        } => call::call(&learned()?, seconds, ice_addresses),
        Command::Doctor {
            send_test_appeal: true,
            seconds,
            ..
        } => send_test_appeal(&learned()?, seconds),
        Command::Doctor { json, .. } => doctor(&learned()?, &cli.config, json),
    }
}

/// `senim-kiosk queue`: counts per kind, last error, last success.
fn queue(config: &Config, json: bool, retry_parked: bool) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.store.data_dir)?;
    if retry_parked {
        let n = store.unpark_all()?;
        eprintln!("{n} parked item(s) back in the queue; the sync worker sends them next");
    }
    let report = store.queue()?;
    if json {
        let mut out = serde_json::Map::new();
        for (kind, counts) in &report.kinds {
            out.insert((*kind).to_string(), serde_json::to_value(counts)?);
        }
        out.insert(
            "pending_video_bytes".into(),
            report.pending_video_bytes.into(),
        );
        out.insert(
            "last_error".into(),
            match (&report.last_error, report.last_error_at) {
                (Some(message), at) => serde_json::json!({ "message": message, "at": at }),
                _ => serde_json::Value::Null,
            },
        );
        out.insert(
            "last_success_at".into(),
            serde_json::to_value(report.last_success_at)?,
        );
        out.insert("parked".into(), serde_json::to_value(&report.parked)?);
        println!("{}", serde_json::Value::Object(out));
        return Ok(0);
    }
    println!(
        "{:<14}{:>10}{:>10}{:>10}{:>10}",
        "kind", "committed", "pending", "delivered", "parked"
    );
    for kind in KINDS {
        let c = report.kinds.get(kind).copied().unwrap_or_default();
        println!(
            "{kind:<14}{:>10}{:>10}{:>10}{:>10}",
            c.committed, c.pending, c.delivered, c.rejected
        );
    }
    println!(
        "video bytes still to upload: {:.1} MB",
        report.pending_video_bytes as f64 / 1e6
    );
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("never".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
    };
    println!("last success: {}", when(report.last_success_at));
    match &report.last_error {
        Some(message) => println!("last error:   {} — {message}", when(report.last_error_at)),
        None => println!("last error:   none"),
    }
    if !report.parked.is_empty() {
        println!("parked (refused for good; the rest goes past them):");
        for p in &report.parked {
            println!("  {} {} {} — {}", when(Some(p.at)), p.kind, p.id, p.reason);
        }
    }
    Ok(0)
}

/// The configured backend, or a clear refusal.
fn backend(config: &Config) -> anyhow::Result<crate::sync::SyncConfig> {
    config.sync_config()?.ok_or_else(|| {
        anyhow::anyhow!(
            "no call-centre is configured: set [sync] backend_url in the configuration file \
             or pass --backend URL"
        )
    })
}

/// `senim-kiosk enrol TEXT`: the call-centre is `[sync] backend_url` when set (or
/// `--backend`), else the text's `url`, else the one this kiosk enrolled with before.
fn enrol(config: &Config, code: &str) -> anyhow::Result<i32> {
    let code = code.trim();
    let code = code
        .strip_prefix(crate::identity::ENROL_PREFIX)
        .unwrap_or(code);
    let read = senim_protocol::enrol::EnrolCode::parse_payload(code)?;
    if config.sync.standalone {
        anyhow::bail!(
            "this kiosk is stand-alone ([sync] standalone = true): it talks to no call-centre. \
             Remove that line to enrol it"
        );
    }
    let mut config = config.clone();
    if config.sync.backend_url.is_empty() {
        match read.url {
            Some(url) => config.sync.backend_url = url,
            None => {
                config.adopt_enrolled_backend();
            }
        }
    }
    let sync = config.sync_config()?.ok_or_else(|| {
        anyhow::anyhow!(
            "the code names no call-centre and none is configured: give the whole text that \
             `senim-callcentre enrol-code --url https://HOST` prints (SENIM-ENROL:…;url=…), or \
             set [sync] backend_url in the configuration file or pass --backend URL"
        )
    })?;
    let enrolment = crate::sync::enrol(
        &sync.data_dir,
        &sync.backend_url,
        sync.ca_pem.as_deref(),
        code,
    )?;
    println!(
        "enrolled: this kiosk is {} at \"{}\" ({})",
        enrolment.kiosk_id, enrolment.site, enrolment.backend_url
    );
    Ok(0)
}

/// `senim-kiosk doctor [--json]`.
fn doctor(config: &Config, path: &std::path::Path, json: bool) -> anyhow::Result<i32> {
    let checks = crate::doctor::run(config, &path.display().to_string(), None);
    for check in &checks {
        if json {
            println!("{}", serde_json::to_string(check)?);
        } else {
            println!("{}", check.line());
        }
    }
    Ok(if crate::doctor::any_failed(&checks) {
        1
    } else {
        0
    })
}

/// `senim-kiosk doctor --send-test-appeal`: the end-to-end check after an installation.
fn send_test_appeal(config: &Config, seconds: u64) -> anyhow::Result<i32> {
    use std::time::{Duration, Instant};
    let sync = backend(config)?;
    let mut store = Store::open(&config.store.data_dir)?;
    if store.enrolment()?.is_none() {
        anyhow::bail!(
            "this kiosk is not enrolled — run `senim-kiosk enrol CODE` first (a code from \
             `senim-callcentre enrol-code --site NAME`)"
        );
    }
    let dir = store
        .incoming_dir()
        .join(format!("test-{}", crate::store::new_session_id()));
    let (tx, rx) = std::sync::mpsc::channel();
    let devices = camera::discover::resolve(&config.camera);
    for note in &devices.notes {
        eprintln!("{note}");
    }
    let cam = camera::Camera::open(devices.config, move |e| {
        if !matches!(e, CameraEvent::Frame(_) | CameraEvent::Level { .. }) {
            let _ = tx.send(e);
        }
    })
    .context("cannot open the camera and microphone ([camera] in the configuration)")?;
    let note = store.begin_recording(&crate::store::NewRecording {
        take_dir: dir.clone(),
        topic: senim_protocol::Topic::Other,
        language: config.kiosk.default_language.code().into(),
        iin: None,
        test: true,
        started_at: chrono::Utc::now(),
        call_id: None,
    })?;
    eprintln!("doctor: recording {seconds} s from the camera and microphone…");
    cam.start_recording(&dir);
    let stop_at = Instant::now() + Duration::from_secs(seconds);
    let mut stopping = false;
    let take = loop {
        let now = Instant::now();
        if !stopping && now >= stop_at {
            cam.stop_recording();
            stopping = true;
        }
        let wait = if stopping {
            Duration::from_secs(30)
        } else {
            stop_at.saturating_duration_since(now)
        };
        match rx.recv_timeout(wait) {
            Ok(CameraEvent::TakeFinished(Ok(take))) => break take,
            Ok(CameraEvent::TakeFinished(Err(e))) => {
                store.discard_recording(note)?;
                eprintln!("doctor: the recording failed: {e}");
                return Ok(1);
            }
            Ok(CameraEvent::Health {
                device,
                state: DeviceState::Faulty(reason),
            }) => eprintln!("doctor: {} is faulty: {reason}", device.as_str()),
            Ok(_) => {}
            Err(_) if stopping => {
                store.discard_recording(note)?;
                eprintln!("doctor: the recorder did not finish within 30 s");
                return Ok(1);
            }
            Err(_) => {}
        }
    };
    drop(cam);
    let number = store.commit_appeal(&crate::store::NewAppeal {
        topic: senim_protocol::Topic::Other,
        language: config.kiosk.default_language.code().into(),
        iin: None,
        callback_phone: None,
        text: None,
        video: Some(crate::store::NewVideo {
            path: take.path.clone(),
            seconds: u32::try_from(take.duration.as_secs()).unwrap_or(u32::MAX),
        }),
        interrupted: take.interrupted,
        test: true,
        created_at: chrono::Utc::now(),
        recording: Some(note),
        appeal_id: None,
        call_secs: None,
    })?;
    let _ = camera::remove_take_dir(&dir);
    eprintln!(
        "doctor: test appeal {number} committed ({:.1} s, {} bytes); delivering to {}…",
        take.duration.as_secs_f64(),
        take.bytes,
        sync.backend_url
    );
    if let Err(e) = crate::sync::run_until_idle(sync, |_| {}) {
        eprintln!("doctor: delivery stopped: {e}");
        return Ok(1);
    }
    match store.appeal_delivery(&number)? {
        Some((true, true)) => {
            println!("test appeal {number}: the call-centre has the record and the video (SHA-256 checked)");
            Ok(0)
        }
        other => {
            eprintln!("doctor: test appeal {number} is not confirmed yet ({other:?}); see `senim-kiosk queue`");
            Ok(1)
        }
    }
}

/// `senim-kiosk sync [--until-idle]`: the worker in the foreground, a status line per change.
fn sync(config: &Config, until_idle: bool) -> anyhow::Result<i32> {
    let sync = backend(config)?;
    let last = std::sync::Mutex::new(None);
    let print = move |status: crate::sync::Status| {
        let line = format!(
            "sync: {} · {} pending ({} video bytes){}",
            if status.online { "online" } else { "offline" },
            status.pending,
            status.pending_bytes,
            status
                .last_error
                .as_deref()
                .filter(|_| !status.online)
                .map(|e| format!(" · {e}"))
                .unwrap_or_default()
        );
        if let Ok(mut last) = last.lock() {
            if last.as_ref() != Some(&line) {
                eprintln!("{line}");
                *last = Some(line);
            }
        }
    };
    if until_idle {
        crate::sync::run_until_idle(sync, print)?;
    } else {
        crate::sync::run_forever(sync, print)?;
    }
    Ok(0)
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
