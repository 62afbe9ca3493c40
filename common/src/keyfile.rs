//! Secret key files on disk, as both key kinds keep them (signing and sealing): made once with mode 0600, fsynced and linked into place, never replacing one another process made; refused when others may read them.

use std::io::Write;
use std::path::Path;

/// Whether the file at `path` may be read by anyone but its owner (group or other bits set).
/// Off Unix nothing can be told, and nothing is refused.
pub fn exposed(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        Ok(mode & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).map(|_| false)
    }
}

/// Writes `bytes` as a new secret file at `path`: beside it first with mode 0600, fsynced,
/// then hard-linked into place (a crash never leaves half a key) and the folder fsynced.
/// `Ok(false)` when a file of that name appeared meanwhile: it is kept, the caller reads it.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("incoming");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    // Never replace a key another process made meanwhile: link fails if the name exists.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_made_once_0600_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/secret.key");
        assert!(create_private(&path, b"first").unwrap());
        assert!(!exposed(&path).unwrap());
        assert!(
            !create_private(&path, b"second").unwrap(),
            "an existing key stays"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert!(!path.with_extension("incoming").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(exposed(&path).unwrap());
        }
    }
}
