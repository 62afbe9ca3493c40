//! The `[storage]` section: where videos are kept (the data folder, or an S3-compatible object
//! store), what keeps the data folder's disk from filling up with them, and the key file that
//! keeps what is in it unreadable without the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[storage]`: where videos go, the free-space reserve and the bound on unfinished uploads.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// Where videos are kept. Absent: the data folder (`<data_dir>/uploads/<id>`, fsynced).
    /// `s3://bucket` or `s3://bucket/prefix`: an S3-compatible object store (AWS S3, MinIO,
    /// Ceph, Garage…), which every call-centre server behind a load balancer shares: an upload
    /// started on one server goes on on any other. Needs `endpoint` (unless AWS), `region`,
    /// and credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` in the environment, or
    /// `access_key_id` + `secret_access_key_file` here.
    pub url: Option<String>,
    /// The S3-compatible endpoint, e.g. `https://minio.internal:9000`. Absent: AWS's own for
    /// `region`. `http://` only to a loopback address, unless `allow_http = true` (the videos
    /// are sealed, but the credentials' signatures and the metadata travel in the clear).
    pub endpoint: Option<String>,
    /// The bucket's region (`us-east-1` unless set; most S3-compatible stores ignore it).
    pub region: String,
    /// Allows an `http://` endpoint that is not on loopback (a private network you trust).
    pub allow_http: bool,
    /// The access key id, when not in `AWS_ACCESS_KEY_ID`; with `secret_access_key_file`.
    pub access_key_id: Option<String>,
    /// A file holding the secret access key (one line, mode 0600), when not in
    /// `AWS_SECRET_ACCESS_KEY`. The secret itself never goes in this file.
    pub secret_access_key_file: Option<PathBuf>,
    /// MiB kept free on the data folder's file system (for the database, logs and the
    /// system): an upload that would go below it is answered 507 and the kiosk keeps its video
    /// and tries again later. 0 turns the reserve off (a full disk still answers 507). With
    /// `url = "s3://…"` videos do not touch the local disk and the reserve does not apply
    /// (the object store answers for its own space).
    pub reserve_mib: u64,
    /// Unfinished (open) uploads one kiosk may have at once; more are answered 429 until one
    /// finishes or expires. A kiosk sends one video at a time, and an appeal has at most one
    /// open upload (a second creation answers the open one).
    pub max_open_uploads_per_kiosk: u64,
    /// The call-centre's age identities (`AGE-SECRET-KEY-1…`, one a line): kiosks seal appeals
    /// to the first one's recipient, and videos, IINs, phones and texts are kept sealed to it in
    /// the data folder. Made with mode 0600 at first start if missing. Keep it **outside** the
    /// data folder and back it up apart from it: a copy of the folder without it reveals
    /// nothing, and without it nothing sealed can be read. Rotation: put a new identity first
    /// (`age-keygen` prints one), keep the old ones below it, restart.
    /// Empty: `<data_dir>/seal.keys` (warned at start).
    pub key_file: Option<PathBuf>,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            url: None,
            endpoint: None,
            region: "us-east-1".into(),
            allow_http: false,
            access_key_id: None,
            secret_access_key_file: None,
            reserve_mib: 1024,
            max_open_uploads_per_kiosk: 4,
            key_file: None,
        }
    }
}

impl StorageSection {
    /// Keys that must be above zero, with their values.
    pub(super) fn positive(&self) -> [(&'static str, u64); 1] {
        [(
            "storage.max_open_uploads_per_kiosk",
            self.max_open_uploads_per_kiosk,
        )]
    }

    /// Whether videos go to an object store (`url` set) rather than the data folder.
    pub fn object_store(&self) -> bool {
        self.url.as_deref().is_some_and(|u| !u.trim().is_empty())
    }

    /// The `s3://` URL's bucket and key prefix (`""` for none), or why it is not one.
    pub fn bucket_and_prefix(&self) -> Result<Option<(String, String)>, StorageKeyError> {
        let Some(url) = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let bad = || StorageKeyError {
            key: "storage.url",
            expected: "s3://bucket or s3://bucket/prefix (or no url: the data folder)",
            found: format!("{url:?}"),
        };
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        let prefix = prefix.trim_matches('/');
        if !bucket_ok || prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(bad());
        }
        Ok(Some((bucket.to_string(), prefix.to_string())))
    }

    /// Checks the object-store keys (nothing to check for the data folder).
    pub fn check(&self) -> Result<(), StorageKeyError> {
        if self.bucket_and_prefix()?.is_none() {
            return Ok(());
        }
        if let Some(endpoint) = &self.endpoint {
            let parsed = reqwest::Url::parse(endpoint)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            let Some(parsed) = parsed else {
                return Err(StorageKeyError {
                    key: "storage.endpoint",
                    expected: "an http(s) URL such as https://minio.internal:9000",
                    found: format!("{endpoint:?}"),
                });
            };
            let host = parsed.host_str().unwrap_or("");
            let loopback = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback());
            if parsed.scheme() == "http" && !loopback && !self.allow_http {
                return Err(StorageKeyError {
                    key: "storage.endpoint",
                    expected: "https, or http to a loopback address (set storage.allow_http = \
                               true for a private network you trust)",
                    found: format!("{endpoint:?}"),
                });
            }
        }
        if self.region.trim().is_empty() {
            return Err(StorageKeyError {
                key: "storage.region",
                expected: "the bucket's region, e.g. us-east-1",
                found: "\"\"".into(),
            });
        }
        if self.access_key_id.is_some() != self.secret_access_key_file.is_some() {
            return Err(StorageKeyError {
                key: "storage.access_key_id",
                expected: "both access_key_id and secret_access_key_file, or neither (then \
                           AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment)",
                found: "only one of them".into(),
            });
        }
        Ok(())
    }

    /// The key file: `key_file`, or `seal.keys` in the data folder.
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        match &self.key_file {
            Some(p) if !p.as_os_str().is_empty() => p.clone(),
            _ => data_dir.join("seal.keys"),
        }
    }

    /// The reserve in bytes.
    pub fn reserve_bytes(&self) -> u64 {
        self.reserve_mib.saturating_mul(1024 * 1024)
    }
}

/// A `[storage]` key with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("key `{key}`: expected {expected}, found {found}")]
pub struct StorageKeyError {
    pub key: &'static str,
    pub expected: &'static str,
    pub found: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(url: &str, endpoint: Option<&str>) -> StorageSection {
        StorageSection {
            url: Some(url.into()),
            endpoint: endpoint.map(String::from),
            ..StorageSection::default()
        }
    }

    #[test]
    fn object_store_keys_are_checked_and_name_the_key() {
        assert_eq!(StorageSection::default().check(), Ok(()));
        assert_eq!(
            s3("s3://videos/cc/", None).bucket_and_prefix(),
            Ok(Some(("videos".into(), "cc".into())))
        );
        assert_eq!(
            s3("s3://videos", Some("http://127.0.0.1:9000")).check(),
            Ok(())
        );
        assert_eq!(s3("s3://videos", Some("https://minio.lan")).check(), Ok(()));
        for bad in [
            "videos",
            "s3:/videos",
            "s3://Videos",
            "s3://v",
            "s3://videos/../x",
        ] {
            assert_eq!(
                s3(bad, None).check().unwrap_err().key,
                "storage.url",
                "{bad}"
            );
        }
        let plain = s3("s3://videos", Some("http://minio.lan:9000"));
        assert_eq!(plain.check().unwrap_err().key, "storage.endpoint");
        let allowed = StorageSection {
            allow_http: true,
            ..plain
        };
        assert_eq!(allowed.check(), Ok(()));
        let half = StorageSection {
            access_key_id: Some("id".into()),
            ..s3("s3://videos", None)
        };
        assert_eq!(half.check().unwrap_err().key, "storage.access_key_id");
    }
}
