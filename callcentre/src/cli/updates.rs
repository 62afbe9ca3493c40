//! `senim-callcentre update publish | list | status`: system-update bundles and where the
//! kiosks are with them.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::db::{self, BundlePublished};

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Check a RAUC bundle against [updates] keyring and offer it to kiosks (of the given
    /// sites only, for a staged rollout; publishing it again with more sites widens it).
    Publish {
        /// The signed bundle (`senim-kiosk-V.raucb` from `kiosk-image/build.sh --bundle`).
        bundle: PathBuf,
        /// Comma-separated site names, as given to `enrol-code --site` (default: every site).
        #[arg(long, value_name = "SITES")]
        sites: Option<String>,
    },
    /// Published bundles, newest first.
    List,
    /// Each kiosk: site, image version, update state and progress, last failure.
    Status,
}

pub fn run(config: &Config, command: UpdateCommand) -> anyhow::Result<()> {
    match command {
        UpdateCommand::Publish { bundle, sites } => publish(config, bundle, sites.as_deref()),
        UpdateCommand::List => list(config),
        UpdateCommand::Status => status(config),
    }
}

fn publish(config: &Config, bundle: PathBuf, sites: Option<&str>) -> anyhow::Result<()> {
    let sites = crate::updates::parse_sites(sites)?;
    let db = super::open_db(config)?;
    let videos = crate::videos::Videos::open(&config.storage, &config.server.data_dir)?;
    let store = videos.object_store()?.cloned();
    let published =
        crate::updates::publish(&db, &config.updates, store, &bundle, &sites, Utc::now())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", published.version, published.sha256)?;
    let to = match &published.bundle {
        Some(b) if !b.all_sites => b.sites.join(", "),
        _ => "every site".to_string(),
    };
    match published.outcome {
        BundlePublished::New => writeln!(
            out,
            "Published version {} ({} bytes) for {to}; kiosks there learn of it with their next \
             heartbeat and switch in their quiet hours.",
            published.version, published.size
        )?,
        BundlePublished::Widened => writeln!(out, "The rollout now reaches {to}.")?,
        BundlePublished::Unchanged => writeln!(
            out,
            "This bundle was published before for {to}; nothing changed."
        )?,
    }
    Ok(())
}

fn list(config: &Config) -> anyhow::Result<()> {
    let db = super::open_db(config)?;
    let bundles = db.read(db::list_bundles)?;
    let mut out = std::io::stdout().lock();
    if bundles.is_empty() {
        writeln!(
            out,
            "No update is published. Publish one with `senim-callcentre update publish BUNDLE \
             [--sites \"Ward 5\"]`."
        )?;
    }
    for b in bundles {
        writeln!(
            out,
            "{}\t{}\t{} bytes\tpublished {}\t{}",
            b.version,
            b.sha256,
            b.size,
            b.published_at.to_rfc3339(),
            if b.all_sites {
                "every site".to_string()
            } else {
                b.sites.join(", ")
            }
        )?;
    }
    Ok(())
}

fn status(config: &Config) -> anyhow::Result<()> {
    let db = super::open_db(config)?;
    let kiosks = db.read(db::list_kiosks)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "kiosk\tsite\timage\tupdate\tlast failure")?;
    for k in kiosks.iter().filter(|k| !k.revoked) {
        let update = match &k.update {
            Some(u) => {
                let mut s = format!("{} {}", u.version, u.state.as_str());
                if let Some(p) = u.progress_percent {
                    s.push_str(&format!(" {p}%"));
                }
                s
            }
            None => "-".into(),
        };
        let failure = match &k.update_failure {
            Some(f) => format!(
                "{} {}: {}",
                f.version,
                f.state.as_str(),
                f.message.as_deref().unwrap_or("")
            ),
            None => "-".into(),
        };
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            k.id,
            k.site,
            k.image_version.as_deref().unwrap_or("-"),
            update,
            failure
        )?;
    }
    Ok(())
}
