//! The `senim-callcentre` command line: serve, enrolment codes, kiosks, operators, appeals.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db::{self, Db};
use crate::secrets;
use crate::state::AppState;

/// Senim call-centre backend and operator console.
#[derive(Debug, Parser)]
#[command(name = "senim-callcentre", version, about)]
pub struct Cli {
    /// Configuration file (see config/callcentre.example.toml); defaults apply without it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Data folder (database and videos); overrides [server] data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the kiosk API and the operator console.
    Serve {
        /// Address to listen on; overrides [server] listen. Port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Make a one-time enrolment code for a new kiosk (printed alone on the first line).
    EnrolCode {
        /// The site the kiosk will serve, e.g. "City Hospital No. 4, Almaty".
        #[arg(long)]
        site: String,
    },
    /// Enrolled kiosks.
    Kiosk {
        #[command(subcommand)]
        command: KioskCommand,
    },
    /// Operator accounts of the console.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Stored appeals.
    Appeals {
        #[command(subcommand)]
        command: AppealsCommand,
    },
    /// Print the OpenAPI document of the kiosk API.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum KioskCommand {
    /// List kiosks.
    List,
    /// Revoke a kiosk's token: it can no longer send anything until enrolled again.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Add an operator; the password is read from standard input (one line).
    Add {
        username: String,
        /// The name shown in the console and in appeal histories.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AppealsCommand {
    /// List every stored appeal, test appeals included and marked.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line; the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("senim-callcentre: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SENIM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn load(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(data) = &cli.data {
        config.server.data_dir = data.clone();
    }
    Ok(config)
}

fn open_db(config: &Config) -> anyhow::Result<Db> {
    Ok(Db::open(&config.server.data_dir)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = load(&cli)?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let addr = config.listen_addr().map_err(|found| {
                anyhow::anyhow!("--listen: expected an address such as 0.0.0.0:8443, found {found}")
            })?;
            serve(config, addr)
        }
        Command::EnrolCode { site } => {
            let site = site.trim().to_string();
            if site.is_empty() || site.chars().count() > 200 {
                anyhow::bail!("--site: give the site's name (1 to 200 characters)");
            }
            let db = open_db(&config)?;
            let code = secrets::enrol_code();
            let hash = secrets::sha256_hex(code.as_bytes());
            let now = Utc::now();
            let expires = now + chrono::Duration::hours(i64::from(config.enrolment.code_ttl_hours));
            db.write(|tx| db::insert_enrol_code(tx, &hash, &site, now, expires))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{code}")?;
            writeln!(
                out,
                "One-time enrolment code for {site:?}, valid until {} UTC.",
                expires.format("%Y-%m-%d %H:%M")
            )?;
            writeln!(
                out,
                "On the kiosk: senim-kiosk enrol {code}   (or scan SENIM-ENROL:{code})"
            )?;
            Ok(())
        }
        Command::Kiosk { command } => {
            let db = open_db(&config)?;
            match command {
                KioskCommand::List => {
                    let kiosks = db.read(db::list_kiosks)?;
                    let mut out = std::io::stdout().lock();
                    for k in kiosks {
                        writeln!(
                            out,
                            "{}\t{}\t{}\tlast heartbeat {}",
                            k.id,
                            if k.revoked { "revoked" } else { "enrolled" },
                            k.site,
                            k.last_heartbeat
                                .map(|t| t.to_rfc3339())
                                .unwrap_or_else(|| "never".into())
                        )?;
                    }
                    Ok(())
                }
                KioskCommand::Revoke { id } => {
                    let found = db.write(|tx| db::revoke_kiosk(tx, &id, Utc::now()))?;
                    if !found {
                        anyhow::bail!(
                            "there is no kiosk {id:?}; `senim-callcentre kiosk list` shows them"
                        );
                    }
                    println!("Kiosk {id} is revoked; it must be enrolled again to send anything.");
                    Ok(())
                }
            }
        }
        Command::Operator {
            command: OperatorCommand::Add { username, name },
        } => {
            let valid = (2..=64).contains(&username.len())
                && username
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                anyhow::bail!("a username is 2 to 64 characters of a-z, 0-9, '.', '_' or '-'");
            }
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!(
                    "Password for {username} (it is shown as you type; use a pipe to hide it): "
                );
            }
            let mut password = String::new();
            stdin.lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            if password.chars().count() < 10 {
                anyhow::bail!("the password must be at least 10 characters");
            }
            let hash = secrets::hash_password(&password)
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
            let db = open_db(&config)?;
            let display = name.unwrap_or_else(|| username.clone());
            let created =
                db.write(|tx| db::insert_operator(tx, &username, &display, &hash, Utc::now()))?;
            if !created {
                anyhow::bail!("there is already an operator {username:?}");
            }
            println!("Operator {username} added.");
            Ok(())
        }
        Command::Appeals {
            command: AppealsCommand::List { json },
        } => {
            let db = open_db(&config)?;
            let appeals = db.read(|c| db::list_appeals(c, &[]))?;
            let mut out = std::io::stdout().lock();
            if json {
                let list: Vec<serde_json::Value> = appeals
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "id": a.id,
                            "kiosk_id": a.kiosk_id,
                            "site": a.site,
                            "topic": a.topic,
                            "status": a.status,
                            "created_at": a.created_at,
                            "due_at": a.due_at,
                            "test": a.test,
                            "interrupted": a.interrupted,
                            "video_bytes": a.video_bytes,
                            "video_sha256": a.video_sha256,
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for a in appeals {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}{}",
                        a.id,
                        a.created_at.format("%Y-%m-%d %H:%M"),
                        a.kiosk_id,
                        a.topic,
                        a.status,
                        a.video_bytes
                            .map(|b| format!("video {b} bytes"))
                            .unwrap_or_else(|| "no video yet".into()),
                        if a.test { "\tTEST" } else { "" }
                    )?;
                }
            }
            Ok(())
        }
        Command::Openapi => {
            print!("{}", crate::api::openapi_json());
            Ok(())
        }
    }
}

fn serve(config: Config, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let schedule = config
        .schedule()
        .map_err(|e| anyhow::anyhow!("hours.{e}"))?;
    let db = Arc::new(open_db(&config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let tls = crate::server::load_tls(&config).await.with_context(|| {
            "cannot read the TLS certificate or key named in [tls]; check both paths and that \
             they are PEM files"
        })?;
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on {addr}; is another server using it?"))?;
        let local = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let data_dir = config.server.data_dir.clone();
        let state = AppState::new(db, config, schedule, data_dir);
        state.refresh_catalog_version()?;
        tracing::info!(addr = %local, tls = tls.is_some(), "senim-callcentre listening");
        // The first line on stdout is for scripts and tests that started us on port 0.
        println!("senim-callcentre listening on {scheme}://{local}");
        std::io::stdout().flush()?;
        crate::server::serve(listener, state, tls, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
