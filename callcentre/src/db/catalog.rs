//! Published service-guide catalogue versions.

use super::sql::{params, Connection, Dialect, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};
use senim_protocol::CatalogDocument;
use std::collections::BTreeMap;

use super::{parse_ts, ts, DbError};
/// The newest published catalogue version's name, without its files (heartbeats ask often).
pub fn latest_catalog_version(conn: &Connection) -> Result<Option<String>, DbError> {
    conn.prepare_cached(
        "SELECT version FROM catalog_versions ORDER BY published_at DESC, version DESC LIMIT 1",
    )?
    .query_row([], |r| r.get(0))
    .optional()
}

/// What publishing a catalogue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A new version was stored and is the newest now.
    New { version: String },
    /// The newest version already has exactly this content: nothing changed.
    Unchanged { version: String },
    /// An older version has exactly this content: it is the newest again (a roll-back), under
    /// its old name.
    Restored {
        version: String,
        first_published: String,
    },
}

/// Stores a validated catalogue unless a version with the same content exists.
/// `version` is the name a new version gets; `files_json` the canonical JSON of the files.
/// `sign` gives the signature of the version that ends up newest (signed again each time, so
/// a new key takes over); the same content stored unsigned (before signing) is renamed to
/// `version` and signed, so kiosks that refused it fetch it again.
pub fn publish_catalog(
    tx: &Transaction<'_>,
    version: &str,
    files_json: &str,
    content_sha256: &str,
    now: DateTime<Utc>,
    sign: &dyn Fn(&str) -> String,
) -> Result<Published, DbError> {
    let latest = latest_catalog_version(tx)?;
    let same: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT version, published_at, signature FROM catalog_versions \
             WHERE content_sha256 = ?1",
            [content_sha256],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match same {
        Some((old, _, None)) => {
            // Stored before catalogues were signed: kiosks refused it under its old name (and
            // remember that), so it becomes a new version, signed, under the new name.
            tx.execute(
                "UPDATE catalog_versions SET version = ?2, published_at = ?3, signature = ?4 \
                 WHERE version = ?1",
                params![old, version, ts(now), sign(version)],
            )?;
            Ok(Published::New {
                version: version.to_string(),
            })
        }
        Some((version, _, _)) if latest.as_deref() == Some(version.as_str()) => {
            tx.execute(
                "UPDATE catalog_versions SET signature = ?2 WHERE version = ?1",
                params![version, sign(&version)],
            )?;
            Ok(Published::Unchanged { version })
        }
        Some((version, first_published, _)) => {
            tx.execute(
                "UPDATE catalog_versions SET published_at = ?2, signature = ?3 WHERE version = ?1",
                params![version, ts(now), sign(&version)],
            )?;
            Ok(Published::Restored {
                version,
                first_published,
            })
        }
        None => {
            tx.execute(
                "INSERT INTO catalog_versions \
                 (version, published_at, files_json, content_sha256, signature) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![version, ts(now), files_json, content_sha256, sign(version)],
            )?;
            Ok(Published::New {
                version: version.to_string(),
            })
        }
    }
}

/// A published version as `catalog list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVersionRow {
    pub version: String,
    pub published_at: String,
    /// Service files in it.
    pub files: usize,
    /// Kiosks that reported running it in their last stored heartbeat.
    pub kiosks: u32,
    /// Kiosks whose last stored heartbeat says they refused it.
    pub refused_by: u32,
}

/// Every published version, newest first.
pub fn list_catalogs(conn: &Connection) -> Result<Vec<CatalogVersionRow>, DbError> {
    // The version a kiosk refused, from its stored catalogue problem (JSON text).
    let refused_version = match conn.dialect() {
        Dialect::Sqlite => "json_extract(k.catalog_problem_json, '$.version')",
        Dialect::Postgres => "(k.catalog_problem_json::jsonb ->> 'version')",
    };
    let sql = format!(
        "SELECT c.version, c.published_at, c.files_json, \
         (SELECT COUNT(*) FROM kiosks k WHERE k.catalog_version = c.version \
            AND k.revoked_at IS NULL), \
         (SELECT COUNT(*) FROM kiosks k WHERE k.revoked_at IS NULL \
            AND {refused_version} = c.version) \
         FROM catalog_versions c ORDER BY c.published_at DESC, c.version DESC"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        let files: String = r.get(2)?;
        Ok(CatalogVersionRow {
            version: r.get(0)?,
            published_at: r.get(1)?,
            files: serde_json::from_str::<BTreeMap<String, String>>(&files)
                .map(|f| f.len())
                .unwrap_or(0),
            kiosks: r.get(3)?,
            refused_by: r.get(4)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

pub fn latest_catalog(conn: &Connection) -> Result<Option<CatalogDocument>, DbError> {
    type Row = (String, String, String, Option<String>);
    let row: Option<Row> = conn
        .query_row(
            "SELECT version, published_at, files_json, signature FROM catalog_versions \
             ORDER BY published_at DESC, version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(row.map(
        |(version, published_at, files, signature)| CatalogDocument {
            version,
            published_at: parse_ts(&published_at).unwrap_or_default(),
            files: serde_json::from_str::<BTreeMap<String, String>>(&files).unwrap_or_default(),
            signature,
        },
    ))
}
