//! Remote catalogue updates on the kiosk: a version the call-centre publishes is downloaded,
//! its signature checked with the call-centre's key (learned at enrolment; an unsigned or
//! mis-signed catalogue is refused like an invalid one), validated with the same code the
//! call-centre used, and installed atomically under
//! `<data>/catalog/<version>/`; a broken one is refused (the last good one stays) and reported
//! in the heartbeat. The UI switches between citizens, never in the middle of a guide.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use senim_common::signing::{PublicKey, SigningError, PURPOSE_CATALOG};
use senim_protocol::catalog::{Catalog, CatalogError};
use senim_protocol::CatalogDocument;

/// Where installed catalogue versions live, under the data folder.
pub const CATALOG_DIR: &str = "catalog";

/// Why a downloaded catalogue was not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("catalogue version {0:?} is not a safe folder name (1-64 of A-Z a-z 0-9 . _ -)")]
    BadVersion(String),
    #[error("catalogue file name {0:?} is not a plain relative path")]
    BadPath(String),
    #[error("{0}")]
    Invalid(#[from] CatalogError),
    #[error(
        "this kiosk holds no signing key of the call-centre, so it cannot check catalogues; \
         it learns the key from the next heartbeat answer of an up-to-date call-centre, or \
         enrol it again"
    )]
    NoKey,
    #[error(
        "the catalogue is not signed; publish it again with `senim-callcentre catalog publish`"
    )]
    Unsigned,
    #[error("the catalogue's signature is not the call-centre's: {0}")]
    BadSignature(SigningError),
    #[error("cannot install the catalogue in {path}: {source} — check the data disk")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether a version name is safe to use as a folder name.
fn safe_version(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && !v.starts_with('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether a file name from the network stays inside the catalogue folder.
fn safe_relative(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && path.components().all(|c| match c {
            Component::Normal(part) => part.to_str().is_some_and(|p| {
                !p.starts_with('.')
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }),
            _ => false,
        })
}

/// The folder of an installed version.
pub fn version_dir(data_dir: &Path, version: &str) -> PathBuf {
    data_dir.join(CATALOG_DIR).join(version)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks `doc`'s signature with `key`, validates it and installs it; the catalogue as it will be shown. Nothing is written
/// unless the whole catalogue is valid; a half-written folder is never visible (it is written
/// beside and renamed into place, files and folders fsynced).
pub fn install(
    data_dir: &Path,
    doc: &CatalogDocument,
    key: Option<&PublicKey>,
) -> Result<Catalog, InstallError> {
    verify(doc, key)?;
    if !safe_version(&doc.version) {
        return Err(InstallError::BadVersion(doc.version.clone()));
    }
    if let Some(bad) = doc.files.keys().find(|name| !safe_relative(name)) {
        return Err(InstallError::BadPath(bad.clone()));
    }
    let catalog = Catalog::from_files(&doc.files)?;
    let root = data_dir.join(CATALOG_DIR);
    let dest = root.join(&doc.version);
    if dest.is_dir() {
        return Ok(catalog);
    }
    let tmp = root.join(format!(".incoming-{}", doc.version));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    for (name, text) in &doc.files {
        let path = tmp.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut f = std::fs::File::create(&path).map_err(io(&path))?;
        f.write_all(text.as_bytes()).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
    }
    sync_tree(&tmp)?;
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    std::fs::File::open(&root)
        .and_then(|d| d.sync_all())
        .map_err(io(&root))?;
    Ok(catalog)
}

/// Whether `doc` carries the call-centre's signature over its version and files.
pub fn verify(doc: &CatalogDocument, key: Option<&PublicKey>) -> Result<(), InstallError> {
    let key = key.ok_or(InstallError::NoKey)?;
    let signature = doc.signature.as_deref().ok_or(InstallError::Unsigned)?;
    key.verify(PURPOSE_CATALOG, &doc.signed_bytes(), signature)
        .map_err(InstallError::BadSignature)
}

/// fsyncs every folder of a tree (files were synced as they were written).
fn sync_tree(dir: &Path) -> Result<(), InstallError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        }
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Removes installed versions other than `keep` (the one in use and the one before it).
pub fn prune(data_dir: &Path, keep: &[&str]) {
    let root = data_dir.join(CATALOG_DIR);
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name.as_str()) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(error = %e, "cannot remove an old catalogue version");
            }
        }
    }
}

/// Loads an installed version (at start, or once installed), validated again.
pub fn load(data_dir: &Path, version: &str) -> Result<Catalog, CatalogError> {
    Catalog::load_dir(&version_dir(data_dir, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    use senim_common::signing::SigningKey;

    fn key() -> &'static SigningKey {
        static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate().unwrap().0)
    }

    /// A document signed by [`key`], as `catalog publish` signs it.
    fn doc(version: &str, files: &[(&str, &str)]) -> CatalogDocument {
        let mut doc = CatalogDocument {
            version: version.into(),
            published_at: chrono::Utc::now(),
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            signature: None,
        };
        doc.signature = Some(key().sign(PURPOSE_CATALOG, &doc.signed_bytes()));
        doc
    }

    fn install(data_dir: &Path, doc: &CatalogDocument) -> Result<Catalog, InstallError> {
        super::install(data_dir, doc, Some(&key().public()))
    }

    fn shipped() -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services");
        senim_protocol::catalog::read_dir(&dir)
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn a_valid_catalogue_is_installed_whole_and_loads_again() {
        let data = tempfile::tempdir().unwrap();
        let files = shipped();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let installed = install(data.path(), &doc("20261123-101500-ab12cd34", &refs)).unwrap();
        let loaded = load(data.path(), "20261123-101500-ab12cd34").unwrap();
        assert_eq!(installed, loaded);
        assert!(!loaded.services.is_empty());
        let leftovers: Vec<_> = std::fs::read_dir(data.path().join(CATALOG_DIR))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            leftovers,
            ["20261123-101500-ab12cd34"],
            "no half-written folder"
        );
    }

    #[test]
    fn a_broken_or_hostile_catalogue_writes_nothing() {
        let data = tempfile::tempdir().unwrap();
        let broken = install(data.path(), &doc("v2", &[("a.toml", "id = \"x\"")]));
        assert!(
            matches!(broken, Err(InstallError::Invalid(_))),
            "{broken:?}"
        );
        let escape = install(data.path(), &doc("v3", &[("../../etc/evil.toml", "x")]));
        assert!(matches!(escape, Err(InstallError::BadPath(_))));
        let absolute = install(data.path(), &doc("v4", &[("/etc/evil.toml", "x")]));
        assert!(matches!(absolute, Err(InstallError::BadPath(_))));
        let version = install(data.path(), &doc("../v5", &[("a.toml", "x")]));
        assert!(matches!(version, Err(InstallError::BadVersion(_))));
        assert!(!data.path().join(CATALOG_DIR).exists(), "nothing written");
    }

    #[test]
    fn an_unsigned_or_mis_signed_catalogue_is_refused_and_writes_nothing() {
        let data = tempfile::tempdir().unwrap();
        let files = shipped();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let good = doc("v1", &refs);
        let unsigned = CatalogDocument {
            signature: None,
            ..good.clone()
        };
        assert!(matches!(
            install(data.path(), &unsigned),
            Err(InstallError::Unsigned)
        ));
        // One changed character in one file: the signature no longer matches.
        let mut tampered = good.clone();
        let first = tampered.files.values_mut().next().unwrap();
        first.push(' ');
        assert!(matches!(
            install(data.path(), &tampered),
            Err(InstallError::BadSignature(SigningError::Mismatch))
        ));
        // Renamed to another version: the version is signed too.
        let renamed = CatalogDocument {
            version: "v2".into(),
            ..good.clone()
        };
        assert!(matches!(
            install(data.path(), &renamed),
            Err(InstallError::BadSignature(_))
        ));
        // Signed by another key.
        let other = SigningKey::generate().unwrap().0;
        assert!(matches!(
            super::install(data.path(), &good, Some(&other.public())),
            Err(InstallError::BadSignature(_))
        ));
        // No key at all (enrolled before catalogues were signed).
        assert!(matches!(
            super::install(data.path(), &good, None),
            Err(InstallError::NoKey)
        ));
        assert!(!data.path().join(CATALOG_DIR).exists(), "nothing written");
        install(data.path(), &good).unwrap();
    }
}
