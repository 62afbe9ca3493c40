//! Publishing the service-guide catalogue: a folder validated by the very code the kiosks run
//! (`senim_protocol::catalog`), stored as a version named by its time and content and signed
//! with the call-centre's Ed25519 key (`secrets::signing_key`, kiosks check it); and the
//! service titles the console shows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use senim_common::signing::{SigningKey, PURPOSE_CATALOG};
use senim_protocol::catalog::{self, Catalog, CatalogError, Files, Problem};
use senim_protocol::CatalogDocument;

use crate::db::{self, Db, DbError, Published};

/// Why a catalogue was not published; nothing was stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "cannot read the catalogue folder {path}: {source}. Give the folder that holds the \
         service files (*.toml), e.g. config/services"
    )]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the catalogue file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the catalogue in {dir} was refused and nothing was published; fix these {} problem(s) \
         and publish again:\n{}",
        .problems.len(),
        .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    Invalid {
        dir: PathBuf,
        problems: Vec<Problem>,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot sign the catalogue: {0}")]
    Signing(#[from] senim_common::signing::SigningError),
}

/// A published catalogue: what happened and how many services it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub outcome: Published,
    pub services: usize,
}

impl Publication {
    /// The version kiosks are told about from now on.
    pub fn version(&self) -> &str {
        match &self.outcome {
            Published::New { version }
            | Published::Unchanged { version }
            | Published::Restored { version, .. } => version,
        }
    }
}

/// SHA-256 (hex) of the files as canonical JSON (a sorted map): equal content, equal hash.
pub fn content_sha256(files: &Files) -> String {
    crate::secrets::sha256_hex(&serde_json::to_vec(files).unwrap_or_default())
}

/// A new version's name: the UTC publishing time and the start of the content hash, e.g.
/// `20261120-101500-3f2a9c1e`. Kiosks treat it as an opaque name.
pub fn version_name(now: DateTime<Utc>, content_sha256: &str) -> String {
    format!(
        "{}-{}",
        now.format("%Y%m%d-%H%M%S"),
        &content_sha256[..8.min(content_sha256.len())]
    )
}

/// Reads a catalogue folder exactly as a kiosk would, validates it with the kiosk's own
/// validator and, if it is sound, stores it (unless the same content is stored already).
/// A broken catalogue is refused with every problem and nothing is stored.
pub fn publish(db: &Db, dir: &Path, now: DateTime<Utc>) -> Result<Publication, PublishError> {
    let (files, catalog) = prepare(dir)?;
    store(db, &files, catalog.services.len(), now)
}

/// Reads and validates a folder without touching the store.
pub fn prepare(dir: &Path) -> Result<(Files, Catalog), PublishError> {
    let files = read(dir)?;
    let catalog = validate(dir, &files)?;
    Ok((files, catalog))
}

/// Stores validated files as the newest version (see [`db::publish_catalog`]).
/// The version is signed with the key in the database's data folder (made there if there is
/// none yet), over [`CatalogDocument::signed_bytes`].
pub fn store(
    db: &Db,
    files: &Files,
    services: usize,
    now: DateTime<Utc>,
) -> Result<Publication, PublishError> {
    let (key, _) = crate::secrets::signing_key(db.data_dir())?;
    let files_json = serde_json::to_string(files).unwrap_or_default();
    let sha = content_sha256(files);
    let version = version_name(now, &sha);
    let sign = |version: &str| sign(&key, version, files);
    let outcome =
        db.write(|tx| db::publish_catalog(tx, &version, &files_json, &sha, now, &sign))?;
    Ok(Publication { outcome, services })
}

/// The signature of a version's files, as kiosks check it.
pub fn sign(key: &SigningKey, version: &str, files: &Files) -> String {
    let doc = CatalogDocument {
        version: version.to_string(),
        published_at: DateTime::<Utc>::default(),
        files: files.clone(),
        signature: None,
    };
    key.sign(PURPOSE_CATALOG, &doc.signed_bytes())
}

/// The files of a catalogue folder, as `catalog::read_dir` finds them.
pub fn read(dir: &Path) -> Result<Files, PublishError> {
    catalog::read_dir(dir).map_err(|e| match e {
        CatalogError::Folder { path, source } => PublishError::Folder { path, source },
        CatalogError::File { path, source } => PublishError::File { path, source },
        CatalogError::Invalid(problems) => PublishError::Invalid {
            dir: dir.to_path_buf(),
            problems,
        },
    })
}

/// Validates with the kiosk's validator; problems name the file inside `dir`.
pub fn validate(dir: &Path, files: &Files) -> Result<Catalog, PublishError> {
    Catalog::from_files(files).map_err(|e| match e {
        CatalogError::Invalid(problems) => PublishError::Invalid {
            dir: dir.to_path_buf(),
            problems: problems
                .into_iter()
                .map(|p| Problem {
                    file: dir.join(&p.file),
                    ..p
                })
                .collect(),
        },
        CatalogError::Folder { path, source } => PublishError::Folder { path, source },
        CatalogError::File { path, source } => PublishError::File { path, source },
    })
}

/// Service id → English title, read loosely from published files (only `id` and
/// `title.en`, falling back to Russian, then Kazakh), so titles show even if a later
/// validator would find fault with an older version.
pub fn titles(files: &Files) -> HashMap<String, String> {
    titles_in(files, "en")
}

/// Every service's title in `lang` (`kk`, `ru`, `en`), by id; a service without a title in
/// that language has its English, else Russian, else Kazakh one.
pub fn titles_in(files: &Files, lang: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for text in files.values() {
        let Ok(value) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(id) = value.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        let title = value.get("title").and_then(|t| {
            [lang, "en", "ru", "kk"]
                .into_iter()
                .filter_map(|lang| t.get(lang).and_then(|v| v.as_str()))
                .map(str::trim)
                .find(|s| !s.is_empty())
        });
        if let Some(title) = title {
            out.insert(id.to_string(), title.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services")
    }

    #[test]
    fn the_shipped_catalogue_has_titles_for_every_service() {
        let files = read(&shipped()).unwrap();
        let catalog = validate(&shipped(), &files).unwrap();
        let titles = titles(&files);
        for service in &catalog.services {
            assert_eq!(
                titles[&service.id],
                service.title.en.trim(),
                "{}",
                service.id
            );
        }
    }

    #[test]
    fn equal_content_has_an_equal_name_whatever_the_order_files_were_read() {
        let mut a = Files::new();
        a.insert("b.toml".into(), "x".into());
        a.insert("a.toml".into(), "y".into());
        let mut b = Files::new();
        b.insert("a.toml".into(), "y".into());
        b.insert("b.toml".into(), "x".into());
        assert_eq!(content_sha256(&a), content_sha256(&b));
        b.insert("a.toml".into(), "y ".into());
        assert_ne!(content_sha256(&a), content_sha256(&b));
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            version_name(now, &content_sha256(&a))[..16],
            *"20261120-101500-"
        );
    }
}
