//! The `senim-callcentre` command line: serve, enrolment codes (with QR codes), kiosks,
//! operators, appeals, catalogue publishing, system updates and the service-guide figures.
//! Over 600 lines: the command tree and its dispatch are read together; each command's work
//! lives in its own file.

mod appeals;
mod audit;
mod guides_text;
mod migrate;
mod operators;
mod purge;
mod updates;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use senim_protocol::SiteMode;

use crate::config::Config;
use crate::db::{self, Db};
use crate::enrolment;
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
    /// PostgreSQL database (`postgres://…`); overrides [database] url.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
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
    /// Make a one-time enrolment code for a new kiosk. The first line is what the kiosk
    /// takes (`senim-kiosk enrol`, or the QR code): with a call-centre URL the whole
    /// enrolment text `SENIM-ENROL:<code>;v=2;…;url=…`, else the code alone.
    EnrolCode {
        /// The site the kiosk will serve, e.g. "City Hospital No. 4, Almaty".
        #[arg(long)]
        site: String,
        /// How the site uses the kiosk; the kiosk takes it at enrolment.
        #[arg(long, value_enum, default_value_t = ModeArg::Hospital)]
        mode: ModeArg,
        /// Also draw the enrolment text as a QR code and write it as a PNG.
        #[arg(long)]
        qr: bool,
        /// The call-centre's address the kiosk connects to (https://HOST[:PORT]); overrides
        /// [server] public_url. The QR code carries it, so a blank kiosk needs no config.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Where to write the PNG (implies --qr); default enrol-<code>.png here.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// Enrolled kiosks.
    Kiosk {
        #[command(subcommand)]
        command: KioskCommand,
    },
    /// Operator accounts of the console.
    Operator {
        #[command(subcommand)]
        command: operators::OperatorCommand,
    },
    /// The audit trail (sign-ins, refusals, operator changes, enrolment codes, kiosk
    /// revocations, appeal actions) for a range of local days, oldest first.
    Audit {
        /// First day, YYYY-MM-DD (default: 29 days before --to).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD, included (default: today).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// One JSON array instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Stored appeals: list, show, assign, answer, close.
    Appeals {
        #[command(subcommand)]
        command: appeals::AppealsCommand,
    },
    /// The service-guide catalogue kiosks download.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// System updates for the kiosks (RAUC bundles): publish, list, status.
    Update {
        #[command(subcommand)]
        command: updates::UpdateCommand,
    },
    /// Service-guide usage figures.
    Guides {
        #[command(subcommand)]
        command: GuidesCommand,
    },
    /// Bring the database's schema up to date ([database] url, else the SQLite file) and
    /// print its version before and after; servers do not migrate a PostgreSQL database.
    Migrate {
        /// Also copy a single server's data (its data folder: the SQLite file, the finished
        /// videos and the update bundles) into the empty PostgreSQL database of [database] url
        /// and the videos' [storage]; uploads still open are expired, and their kiosks send
        /// them again.
        #[arg(long, value_name = "DATA_DIR")]
        from_sqlite: Option<PathBuf>,
    },
    /// Print the OpenAPI document of the kiosk API.
    Openapi,
    /// Erase the personal data (IIN, phone, text, answer, video) of appeals closed more than
    /// [retention] days ago; the server also does this daily.
    Purge {
        /// Only say how many appeals and videos would be erased; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `--mode` of `enrol-code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// A hospital trust kiosk: appeals first.
    Hospital,
    /// A public service centre: e-government service guides first.
    FrontOffice,
}

impl From<ModeArg> for SiteMode {
    fn from(mode: ModeArg) -> SiteMode {
        match mode {
            ModeArg::Hospital => SiteMode::Hospital,
            ModeArg::FrontOffice => SiteMode::FrontOffice,
        }
    }
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Validate a catalogue folder with the kiosks' own validator and publish it as a new
    /// version (the same content again keeps its version). Prints the version.
    Publish {
        /// The folder with one TOML file per service, e.g. config/services.
        dir: PathBuf,
    },
    /// List published versions, newest first, with how many kiosks run or refused each.
    List,
}

#[derive(Debug, Subcommand)]
enum GuidesCommand {
    /// Started, completed, abandoned, consultant calls and ratings per service, kiosk and
    /// day (the call-centre's local days).
    Report {
        /// First day, YYYY-MM-DD (default: 29 days before --to).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// One JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KioskCommand {
    /// List kiosks.
    List,
    /// Revoke a kiosk's token: it can no longer send anything until enrolled again.
    Revoke { id: String },
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
    if let Some(url) = &cli.database_url {
        config.database.url = Some(url.clone());
        if let Some(found) = config.database.problem() {
            anyhow::bail!(
                "--database-url: expected a postgres:// URL, found a URL of scheme {found}"
            );
        }
    }
    Ok(config)
}

fn open_db(config: &Config) -> anyhow::Result<Db> {
    Ok(Db::connect(
        &config.server.data_dir,
        config.database.postgres_url(),
    )?)
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
        Command::EnrolCode {
            site,
            mode,
            qr,
            url,
            png,
        } => enrol_code(
            &config,
            &site,
            mode.into(),
            qr || png.is_some(),
            url.as_deref(),
            png,
        ),
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
                    let found = db.write(|tx| {
                        let now = Utc::now();
                        let found = db::revoke_kiosk(tx, &id, now)?;
                        if found {
                            db::audit(
                                tx,
                                &db::AuditEntry {
                                    actor: Some(db::CLI_ACTOR),
                                    action: "kiosk_revoke",
                                    target: Some(&id),
                                    ..db::AuditEntry::default()
                                },
                                now,
                            )?;
                        }
                        Ok::<_, db::DbError>(found)
                    })?;
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
        Command::Operator { command } => operators::run(&config, command),
        Command::Audit { from, to, json } => {
            audit::run(&config, from.as_deref(), to.as_deref(), json)
        }
        Command::Appeals { command } => appeals::run(&config, command),
        Command::Catalog { command } => match command {
            CatalogCommand::Publish { dir } => catalog_publish(&config, &dir),
            CatalogCommand::List => catalog_list(&config),
        },
        Command::Guides {
            command: GuidesCommand::Report { from, to, json },
        } => guides_report(&config, from.as_deref(), to.as_deref(), json),
        Command::Purge { dry_run } => purge::purge(&config, dry_run),
        Command::Update { command } => updates::run(&config, command),
        Command::Migrate { from_sqlite } => migrate::run(&config, from_sqlite.as_deref()),
        Command::Openapi => {
            print!("{}", crate::api::openapi_json());
            Ok(())
        }
    }
}

fn enrol_code(
    config: &Config,
    site: &str,
    mode: SiteMode,
    qr: bool,
    url: Option<&str>,
    png: Option<PathBuf>,
) -> anyhow::Result<()> {
    let site = enrolment::site_name(site).ok_or_else(|| {
        anyhow::anyhow!("--site: give the site's name (1 to 200 characters, on one line)")
    })?;
    let public_url = enrolment::public_url(&config.server.public_url, url)
        .map_err(|e| anyhow::anyhow!("--url or [server] public_url: {e}"))?;
    let pin = enrolment::pin(&config.tls)?;
    let code = enrolment::new_code();
    let text = enrolment::text(&code, pin, public_url.as_deref());
    // The picture is made and written before the code is stored, so a folder that cannot be
    // written leaves no code behind.
    let picture = if qr {
        let qr = enrolment::qr(&code, pin, public_url.as_deref())?;
        let path = png.unwrap_or_else(|| PathBuf::from(format!("enrol-{code}.png")));
        let bytes = qr.to_png(crate::qr::PNG_SCALE)?;
        std::fs::write(&path, bytes).with_context(|| {
            format!(
                "cannot write the QR code to {}; choose a writable place with --png FILE. \
                 No code was made",
                path.display()
            )
        })?;
        Some((qr, path))
    } else {
        None
    };
    let stored = open_db(config).and_then(|db| {
        let ttl = config.enrolment.code_ttl_hours;
        Ok(db.write(|tx| {
            let now = Utc::now();
            let expires = enrolment::store(tx, &code, &site, mode, now, ttl)?;
            db::audit(
                tx,
                &db::AuditEntry {
                    actor: Some(db::CLI_ACTOR),
                    action: "enrol_code",
                    target: Some(&site),
                    detail: Some(mode.as_str()),
                    ..db::AuditEntry::default()
                },
                now,
            )?;
            Ok::<_, db::DbError>(expires)
        })?)
    });
    let expires = match stored {
        Ok(expires) => expires,
        Err(e) => {
            if let Some((_, path)) = &picture {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    let mut out = std::io::stdout().lock();
    // The first line is what the kiosk takes: the whole text when it carries the URL.
    if public_url.is_some() {
        writeln!(out, "{text}")?;
    } else {
        writeln!(out, "{code}")?;
    }
    writeln!(
        out,
        "One-time enrolment code for {site:?} ({}), valid until {} UTC.",
        mode.as_str(),
        expires.format("%Y-%m-%d %H:%M")
    )?;
    let payload = text
        .strip_prefix(senim_protocol::ENROL_PREFIX)
        .unwrap_or(&text);
    if let Some(url) = &public_url {
        writeln!(
            out,
            "A blank kiosk: scan the QR code and it connects to {url}; or over SSH: \
             senim-kiosk enrol '{text}'"
        )?;
    } else {
        writeln!(
            out,
            "No call-centre URL: the QR code does not tell a blank kiosk where to connect. Set \
             [server] public_url in the configuration, or give --url https://HOST[:PORT]; \
             a kiosk with [sync] backend_url set can still take this code."
        )?;
    }
    if public_url.is_some() {
        // Said above.
    } else if pin.is_some() {
        writeln!(
            out,
            "On the kiosk: scan the QR code, or over SSH: senim-kiosk enrol '{payload}'"
        )?;
        writeln!(
            out,
            "(the part after ';' pins this call-centre's TLS key: the kiosk trusts no other server)"
        )?;
    } else {
        writeln!(
            out,
            "On the kiosk: scan the QR code, or over SSH: senim-kiosk enrol {code}"
        )?;
    }
    if let Some((qr, path)) = picture {
        writeln!(out)?;
        write!(out, "{}", qr.to_terminal(std::io::stdout().is_terminal()))?;
        writeln!(out)?;
        writeln!(out, "QR code ({text}) written to {}", path.display())?;
    }
    Ok(())
}

fn catalog_publish(config: &Config, dir: &Path) -> anyhow::Result<()> {
    use crate::db::Published;
    // Validate before the database is even opened: a broken catalogue stores nothing.
    let (files, catalog) = crate::catalog::prepare(dir)?;
    let db = open_db(config)?;
    let publication = crate::catalog::store(&db, &files, catalog.services.len(), Utc::now())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", publication.version())?;
    match &publication.outcome {
        Published::New { .. } => writeln!(
            out,
            "Published {} services; kiosks learn of it with their next heartbeat and switch \
             between citizens.",
            publication.services
        )?,
        Published::Unchanged { .. } => writeln!(
            out,
            "The newest published version already has exactly this content; nothing changed."
        )?,
        Published::Restored {
            first_published, ..
        } => writeln!(
            out,
            "This content was first published on {first_published}; that version is the newest \
             again and kiosks switch back to it."
        )?,
    }
    Ok(())
}

fn catalog_list(config: &Config) -> anyhow::Result<()> {
    let db = open_db(config)?;
    let versions = db.read(db::list_catalogs)?;
    let mut out = std::io::stdout().lock();
    if versions.is_empty() {
        writeln!(
            out,
            "No catalogue is published yet; kiosks use the one they were built with. \
             Publish one with `senim-callcentre catalog publish DIR`."
        )?;
    }
    for (i, v) in versions.iter().enumerate() {
        writeln!(
            out,
            "{}\tpublished {}\t{} files\t{} kiosks on it{}{}",
            v.version,
            v.published_at,
            v.files,
            v.kiosks,
            if v.refused_by > 0 {
                format!("\trefused by {} kiosks", v.refused_by)
            } else {
                String::new()
            },
            if i == 0 { "\tNEWEST" } else { "" }
        )?;
    }
    Ok(())
}

fn guides_report(
    config: &Config,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let schedule = config
        .schedule()
        .map_err(|e| anyhow::anyhow!("hours.{e}"))?;
    let tz = schedule.tz();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let range = crate::guides::Range::parse(from, to, today).map_err(|e| match e {
        crate::guides::RangeError::Date { .. } => anyhow::anyhow!("--{e}"),
        other => anyhow::anyhow!("{other}"),
    })?;
    let db = open_db(config)?;
    let latest = db.read(db::latest_catalog)?;
    let titles = latest
        .as_ref()
        .map(|c| crate::catalog::titles(&c.files))
        .unwrap_or_default();
    let report = db.read(|c| {
        crate::guides::report(
            c,
            range,
            tz,
            crate::guides::Filter::default(),
            &titles,
            latest.map(|l| l.version),
        )
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        write!(out, "{}", guides_text::guides_text(&report))?;
    }
    Ok(())
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
        // Made at first start; a damaged or exposed key stops the start with what to do.
        let (signing, _) = crate::secrets::signing_key(&data_dir)?;
        let key_file = config.storage.key_file(&data_dir);
        let (sealing, _) = senim_common::seal::Identities::load_or_create(&key_file)?;
        // Every server of the call-centre holds the same keys (several servers on one
        // database): the first recorded them, any other refuses to start and says what to copy.
        let signing = signing.public().to_string();
        let sealing: Vec<String> = sealing.recipients().iter().map(|r| r.to_string()).collect();
        db.write(|tx| crate::db::check_server_keys(tx, &signing, &sealing, Utc::now()))?
            .map_err(anyhow::Error::new)?;
        if key_file.starts_with(&data_dir) {
            tracing::warn!(path = %key_file.display(), "the sealing key file is inside the data folder: a copy of the folder carries its key; set [storage] key_file outside it");
        }
        // Where videos go: a bad `[storage]` object store stops the start with what to fix.
        let videos = crate::videos::Videos::open(&config.storage, &data_dir)?;
        videos.probe().await?;
        tracing::info!(videos = ?videos, "video storage");
        let state = AppState::new(db, config, schedule, data_dir);
        state.refresh_catalog_version()?;
        state.refresh_updates()?;
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
