//! Published system-update bundles, the sites each is rolled out to, and what kiosks say about
//! their image and updates (the last report and the last failure, kept durably).

use super::sql::{params, Connection, Dialect, OptionalExtension, Transaction};
use chrono::{DateTime, Utc};
use senim_protocol::UpdateReport;

use super::{parse_ts, ts, DbError};

/// One published bundle and where it is rolled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub sha256: String,
    pub version: String,
    pub size: u64,
    pub published_at: DateTime<Utc>,
    /// Every site (published without `--sites`, or once so).
    pub all_sites: bool,
    /// The sites named at publication, sorted (empty with `all_sites`).
    pub sites: Vec<String>,
}

impl Bundle {
    /// Whether kiosks of `site` are offered this bundle.
    pub fn for_site(&self, site: &str) -> bool {
        self.all_sites || self.sites.iter().any(|s| s == site)
    }
}

/// What a publication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundlePublished {
    New,
    /// The same bundle was published before; its sites are now these (widened, never narrowed).
    Widened,
    /// Published before with every site already in it.
    Unchanged,
}

/// Records a checked bundle with its sites (none: every site). Publishing one again adds sites.
pub fn publish_bundle(
    tx: &Transaction<'_>,
    sha256: &str,
    version: &str,
    size: u64,
    sites: &[String],
    now: DateTime<Utc>,
) -> Result<BundlePublished, DbError> {
    let existing: Option<bool> = tx
        .query_row(
            "SELECT all_sites FROM update_bundles WHERE sha256 = ?1",
            [sha256],
            |r| r.get(0),
        )
        .optional()?;
    let outcome = match existing {
        None => {
            tx.execute(
                "INSERT INTO update_bundles (sha256, version, size, published_at, all_sites) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sha256, version, size as i64, ts(now), sites.is_empty()],
            )?;
            BundlePublished::New
        }
        Some(true) => return Ok(BundlePublished::Unchanged),
        Some(false) if sites.is_empty() => {
            tx.execute(
                "UPDATE update_bundles SET all_sites = 1 WHERE sha256 = ?1",
                [sha256],
            )?;
            tx.execute("DELETE FROM update_sites WHERE sha256 = ?1", [sha256])?;
            return Ok(BundlePublished::Widened);
        }
        Some(false) => BundlePublished::Widened,
    };
    let mut added = 0;
    for site in sites {
        added += tx.execute(
            "INSERT INTO update_sites (sha256, site) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![sha256, site],
        )?;
    }
    Ok(match outcome {
        BundlePublished::Widened if added == 0 => BundlePublished::Unchanged,
        other => other,
    })
}

/// Every published bundle, newest first.
pub fn list_bundles(conn: &Connection) -> Result<Vec<Bundle>, DbError> {
    // Bundles published in the same millisecond: the later first on SQLite (its rowid);
    // PostgreSQL's table has no insertion order, so the hash decides there.
    let tie = match conn.dialect() {
        Dialect::Sqlite => "rowid DESC",
        Dialect::Postgres => "sha256 DESC",
    };
    let sql = format!(
        "SELECT sha256, version, size, published_at, all_sites FROM update_bundles \
         ORDER BY published_at DESC, {tie}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut bundles = stmt
        .query_map([], |r| {
            Ok(Bundle {
                sha256: r.get(0)?,
                version: r.get(1)?,
                size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                published_at: parse_ts(&r.get::<_, String>(3)?).unwrap_or_default(),
                all_sites: r.get(4)?,
                sites: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut sites =
        conn.prepare_cached("SELECT site FROM update_sites WHERE sha256 = ?1 ORDER BY site")?;
    for b in &mut bundles {
        b.sites = sites
            .query_map([&b.sha256], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(bundles)
}

/// One bundle by its SHA-256 (`None`: not published here).
pub fn bundle(conn: &Connection, sha256: &str) -> Result<Option<Bundle>, DbError> {
    Ok(list_bundles(conn)?.into_iter().find(|b| b.sha256 == sha256))
}

/// Keeps a kiosk's failed update report at once (durable before the heartbeat is answered).
pub fn save_update_failure(
    tx: &Transaction<'_>,
    kiosk_id: &str,
    report: &UpdateReport,
) -> Result<(), DbError> {
    let json = serde_json::to_string(report).unwrap_or_default();
    tx.execute(
        "UPDATE kiosks SET update_failure_json = ?2, update_json = ?2 WHERE id = ?1",
        params![kiosk_id, json],
    )?;
    Ok(())
}

/// The last failed update report of every kiosk that has one, by kiosk id.
pub fn update_failures(
    conn: &Connection,
) -> Result<std::collections::HashMap<String, UpdateReport>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, update_failure_json FROM kiosks WHERE update_failure_json IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut map = std::collections::HashMap::new();
    for row in rows {
        let (id, json) = row?;
        if let Ok(report) = serde_json::from_str(&json) {
            map.insert(id, report);
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn publishing_again_widens_the_rollout_and_never_narrows_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let now = Utc::now();
        let ward5 = vec!["Ward 5".to_string()];
        let both = vec!["Ward 5".to_string(), "Ward 6".to_string()];
        let publish = |sites: &[String]| {
            db.write(|tx| publish_bundle(tx, "ab", "2.0", 10, sites, now))
                .unwrap()
        };
        assert_eq!(publish(&ward5), BundlePublished::New);
        let b = &db.read(list_bundles).unwrap()[0];
        assert!(b.for_site("Ward 5") && !b.for_site("Ward 6"));
        assert_eq!(publish(&ward5), BundlePublished::Unchanged);
        assert_eq!(publish(&both), BundlePublished::Widened);
        assert_eq!(db.read(list_bundles).unwrap()[0].sites, both);
        assert_eq!(publish(&[]), BundlePublished::Widened);
        let b = &db.read(list_bundles).unwrap()[0];
        assert!(b.all_sites && b.for_site("Anywhere"));
        assert_eq!(publish(&ward5), BundlePublished::Unchanged);
        assert!(db.read(list_bundles).unwrap()[0].all_sites);
    }
}
