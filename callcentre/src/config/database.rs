//! The `[database]` section: where the call-centre keeps its data — the embedded SQLite file
//! (one server, the default) or a PostgreSQL database shared by several servers.

use serde::Deserialize;

/// `[database]`: absent or empty `url` keeps the embedded SQLite file in the data folder.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `postgres://user@host:5432/senim` (or `postgresql://…`, with libpq's key=value options
    /// such as `sslmode=require`): every server of a national call-centre names the same
    /// database, and `senim-callcentre migrate` brings its schema up to date. Empty: the
    /// embedded SQLite file `<data_dir>/senim.sqlite3`, for one server. Keep passwords out of
    /// this file: use a `~/.pgpass` file or `PGPASSWORD` in the service's environment.
    pub url: Option<String>,
}

impl DatabaseSection {
    /// The PostgreSQL URL, if one is set.
    pub fn postgres_url(&self) -> Option<&str> {
        self.url.as_deref().map(str::trim).filter(|u| !u.is_empty())
    }

    /// Why `url` cannot be used, if it cannot (checked at load).
    pub fn problem(&self) -> Option<String> {
        let url = self.postgres_url()?;
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            None
        } else {
            Some(format!(
                "{:?}",
                url.split_once(':').map_or(url, |(scheme, _)| scheme)
            ))
        }
    }
}
