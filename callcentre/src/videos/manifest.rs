//! An upload's manifest in the object store (`uploads/<id>/manifest.json`: its multipart
//! upload and the parts so far) and its staged objects, as `s3.rs` and `writer.rs` share them.

use serde::{Deserialize, Serialize};

/// The smallest part S3 takes (but for the last).
pub const PART_MIN: u64 = 5 * 1024 * 1024;

/// One part of an upload's multipart upload: the bytes `[start, start + len)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestPart {
    pub start: u64,
    pub len: u64,
    pub etag: String,
}

impl ManifestPart {
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// `uploads/<id>/manifest.json`: the multipart upload and its parts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub multipart_id: String,
    pub parts: Vec<ManifestPart>,
}

impl Manifest {
    pub fn parts_end(&self) -> u64 {
        self.parts.last().map_or(0, ManifestPart::end)
    }
}

/// A staged object: the bytes `[start, start + len)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Staged {
    pub start: u64,
    pub len: u64,
}
