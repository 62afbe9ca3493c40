//! Publishing system updates: a RAUC bundle is copied into `<data>/updates/<sha256>.raucb`,
//! verified there with `rauc info --keyring <[updates] keyring>` (the very check a kiosk's
//! `rauc install` makes), its version read from the manifest, sent to the object store when
//! the videos are kept in one (so every server behind the balancer serves it), and recorded
//! with the sites it is rolled out to. Heartbeat answers then offer the newest bundle for a
//! kiosk's site.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use senim_protocol::{valid_image_version, UpdateOffer};
use sha2::{Digest, Sha256};

use crate::config::UpdatesSection;
use crate::db::{self, Bundle, BundlePublished, Db, DbError};
use crate::videos::{stream::block_on, S3Videos};

/// Why a bundle was not published; nothing was stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(
        "no update keyring is configured, so no bundle can be checked: set [updates] keyring \
         to the PEM certificate the kiosk image trusts (/etc/rauc/keyring.pem in the image)"
    )]
    NoKeyring,
    #[error(
        "cannot run {program:?} to check the bundle ({source}); install Debian's `rauc` \
         package (`apt-get install rauc`) or set [updates] rauc to its path"
    )]
    NoRauc {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the bundle {path} was refused and nothing was published: `rauc info` says: {message}. \
         Publish only bundles signed with the update key whose certificate is in [updates] \
         keyring"
    )]
    Refused { path: PathBuf, message: String },
    #[error("cannot read the bundle {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the bundle's manifest has no usable version ({found:?}): build.sh --version gives it \
         1 to 64 of letters, digits and . - _ + ~"
    )]
    BadVersion { found: String },
    #[error("--sites: {0}")]
    BadSite(String),
    #[error(
        "cannot store the bundle in {path}: {source}. Check the data folder's space and rights"
    )]
    Store {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot send the bundle to the object store: {0}")]
    ObjectStore(#[from] crate::videos::VideoError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A published bundle: what it is and what the publication did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub outcome: BundlePublished,
    /// The bundle as recorded now (with every site it is rolled out to).
    pub bundle: Option<Bundle>,
}

/// Where a published bundle is kept.
pub fn bundle_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join("updates").join(format!("{sha256}.raucb"))
}

/// Whether `s` looks like a bundle's name on the API (64 lowercase hex digits).
pub fn valid_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `--sites "Ward 5,Ward 6"`: trimmed, none empty, each a valid site name.
pub fn parse_sites(list: Option<&str>) -> Result<Vec<String>, UpdateError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut sites = Vec::new();
    for part in list.split(',') {
        let site = crate::enrolment::site_name(part).ok_or_else(|| {
            UpdateError::BadSite(format!(
                "{part:?} is not a site name; give names as in `enrol-code --site`, separated \
                 by commas, e.g. --sites \"Ward 5,Ward 6\""
            ))
        })?;
        if !sites.contains(&site) {
            sites.push(site);
        }
    }
    Ok(sites)
}

/// Checks `bundle` and records it for `sites` (empty: every site). The bundle is copied into
/// the data folder first and the copy is what `rauc info` verifies and kiosks download; with
/// an object store (`store`) it is sent there too before it is recorded.
pub fn publish(
    db: &Db,
    config: &UpdatesSection,
    store: Option<std::sync::Arc<S3Videos>>,
    bundle: &Path,
    sites: &[String],
    now: DateTime<Utc>,
) -> Result<Published, UpdateError> {
    let keyring = config.keyring.as_deref().ok_or(UpdateError::NoKeyring)?;
    let dir = db.data_dir().join("updates");
    std::fs::create_dir_all(&dir).map_err(|source| UpdateError::Store {
        path: dir.clone(),
        source,
    })?;
    let part = dir.join(format!(".publish-{}.part", std::process::id()));
    let result =
        copy_and_check(config, keyring, bundle, &part).and_then(|(sha256, size, version)| {
            let dest = bundle_path(db.data_dir(), &sha256);
            std::fs::rename(&part, &dest).map_err(|source| UpdateError::Store {
                path: dest.clone(),
                source,
            })?;
            if let Some(store) = store.clone() {
                let (key, file) = (store.bundle_key(&sha256), dest.clone());
                let sent = block_on(async move { store.put_file(&key, &file).await });
                sent.map_err(|source| UpdateError::Store {
                    path: bundle.to_path_buf(),
                    source,
                })??;
            }
            let outcome =
                db.write(|tx| db::publish_bundle(tx, &sha256, &version, size, sites, now))?;
            let recorded = db.read(|c| db::bundle(c, &sha256))?;
            Ok(Published {
                version,
                sha256,
                size,
                outcome,
                bundle: recorded,
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Copies the bundle to `part` (hashing it on the way) and verifies the copy with `rauc info`.
fn copy_and_check(
    config: &UpdatesSection,
    keyring: &Path,
    bundle: &Path,
    part: &Path,
) -> Result<(String, u64, String), UpdateError> {
    let unreadable = |source| UpdateError::Unreadable {
        path: bundle.to_path_buf(),
        source,
    };
    let store = |source| UpdateError::Store {
        path: part.to_path_buf(),
        source,
    };
    let mut input = std::fs::File::open(bundle).map_err(unreadable)?;
    let mut output = std::fs::File::create(part).map_err(store)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(store)?;
        size += n as u64;
    }
    output.sync_all().map_err(store)?;
    drop(output);
    let sha256 = hex::encode(hasher.finalize());
    let version = rauc_version(config, keyring, part).map_err(|e| match e {
        UpdateError::Refused { message, .. } => UpdateError::Refused {
            path: bundle.to_path_buf(),
            message,
        },
        other => other,
    })?;
    Ok((sha256, size, version))
}

/// `rauc info --keyring K --output-format=json BUNDLE`: the manifest's version of a bundle
/// whose signature verifies against the keyring.
pub fn rauc_version(
    config: &UpdatesSection,
    keyring: &Path,
    bundle: &Path,
) -> Result<String, UpdateError> {
    let output = Command::new(&config.rauc)
        .arg("info")
        .arg("--keyring")
        .arg(keyring)
        .arg("--output-format=json")
        .arg(bundle)
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| UpdateError::NoRauc {
            program: config.rauc.clone(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // rauc's own progress lines ("rauc-Message: …") are not the reason.
        let reason: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("rauc-Message"))
            .collect();
        let message = if reason.is_empty() {
            format!("it exited with {}", output.status)
        } else {
            reason.join("; ")
        };
        return Err(UpdateError::Refused {
            path: bundle.to_path_buf(),
            message,
        });
    }
    let info: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| UpdateError::Refused {
            path: bundle.to_path_buf(),
            message: format!("its JSON output does not read: {e}"),
        })?;
    let version = info
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if !valid_image_version(&version) {
        return Err(UpdateError::BadVersion { found: version });
    }
    Ok(version)
}

/// The offer for a kiosk of `site` running `image` whose last failed version is `failed`:
/// the newest bundle for its site, unless it runs that version already or reported it failed.
/// A kiosk that reports no image version (not built from `kiosk-image/`) is offered nothing.
pub fn offer(
    bundles: &[Bundle],
    site: &str,
    image: Option<&str>,
    failed: Option<&str>,
) -> Option<UpdateOffer> {
    let image = image?;
    let newest = bundles.iter().find(|b| b.for_site(site))?;
    if newest.version == image || failed == Some(newest.version.as_str()) {
        return None;
    }
    Some(UpdateOffer {
        version: newest.version.clone(),
        sha256: newest.sha256.clone(),
        size: newest.size,
        url: format!("/api/v1/updates/{}", newest.sha256),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(sha: &str, version: &str, sites: &[&str]) -> Bundle {
        Bundle {
            sha256: sha.into(),
            version: version.into(),
            size: 1,
            published_at: Utc::now(),
            all_sites: sites.is_empty(),
            sites: sites.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_newest_bundle_for_the_site_is_offered_unless_running_or_failed() {
        // Newest first, as db::list_bundles gives them.
        let list = [bundle("b", "3", &["Ward 5"]), bundle("a", "2", &[])];
        let o = |site, image, failed| offer(&list, site, image, failed).map(|o| o.version);
        assert_eq!(o("Ward 5", Some("1"), None).as_deref(), Some("3"));
        assert_eq!(o("Ward 6", Some("1"), None).as_deref(), Some("2"));
        assert_eq!(o("Ward 5", Some("3"), None), None);
        assert_eq!(o("Ward 5", Some("2"), Some("3")), None);
        assert_eq!(
            o("Ward 5", None, None),
            None,
            "no image, nothing to install"
        );
        let offered = offer(&list, "Ward 6", Some("1"), None).unwrap();
        assert_eq!(offered.url, "/api/v1/updates/a");
    }

    #[test]
    fn sites_are_read_from_a_comma_list() {
        assert_eq!(
            parse_sites(Some("Ward 5, Ward 6,Ward 5")).unwrap(),
            ["Ward 5", "Ward 6"]
        );
        assert!(parse_sites(Some("Ward 5,,")).is_err());
        assert!(parse_sites(None).unwrap().is_empty());
        assert!(valid_sha256(&"a".repeat(64)) && !valid_sha256("../x"));
    }
}
