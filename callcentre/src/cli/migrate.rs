//! `senim-callcentre migrate`: brings the configured store's schema up to date — the shared
//! PostgreSQL database of `[database] url` (which servers never migrate themselves), or the
//! embedded SQLite file — and says the version before and after. Running it again changes
//! nothing.

use crate::config::Config;
use crate::db::migrate;

/// Runs `migrate`.
pub(super) fn run(config: &Config) -> anyhow::Result<()> {
    let (store, done) = match config.database.postgres_url() {
        Some(url) => ("PostgreSQL", migrate::postgres(url)?),
        None => ("SQLite", migrate::sqlite_file(&config.server.data_dir)?),
    };
    if done.before == done.after {
        println!(
            "The {store} schema is up to date (version {}); nothing to do.",
            done.after
        );
    } else {
        println!(
            "The {store} schema went from version {} to version {}.",
            done.before, done.after
        );
    }
    Ok(())
}
