//! The `senim-kiosk` command line: `run`, and the technician tools other parts add.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

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
    }
}
