//! Sealing with the age format (X25519): what a kiosk seals to the call-centre's recipient
//! (an appeal's video and personal fields) and what the call-centre keeps encrypted at rest.
//!
//! The call-centre holds one key file (`[storage] key_file`) of age identities, one
//! `AGE-SECRET-KEY-1…` a line (`#` comments and blank lines allowed), made with mode 0600 on
//! first start. The **first** identity is the current one: kiosks learn its recipient
//! (`age1…`) at enrolment and through every heartbeat answer, and the call-centre seals what it
//! keeps to it. Every identity in the file opens, so rotation is: put a new identity first,
//! restart; kiosks seal to the new one from their next heartbeat; keep the old lines for as long
//! as anything sealed to them is kept (see README, "Keys at rest").

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;

/// What can go wrong with sealing keys and sealed data. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot read the key file {path}: {source} — check `[storage] key_file` and its permissions")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the key file {path}: {source} — check the folder it is in")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the key file {path} line {line} is not an age identity (AGE-SECRET-KEY-1…); restore \
         it from a backup — without its keys nothing sealed to them can be opened"
    )]
    BadKeyFile { path: PathBuf, line: usize },
    #[error("the key file {0} holds no identity; restore it from a backup")]
    EmptyKeyFile(PathBuf),
    #[error("the key file {0} is readable by others; run chmod 600 on it")]
    Permissions(PathBuf),
    #[error("a seal recipient is an age X25519 recipient (age1…)")]
    BadRecipient,
    #[error("cannot seal: {0}")]
    Seal(String),
    #[error(
        "cannot open sealed data: {0} — it was sealed to a key not in the key file, or damaged"
    )]
    Open(String),
    #[error("sealing I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A recipient that things are sealed to: the public half of an age X25519 identity.
#[derive(Clone)]
pub struct Recipient(age::x25519::Recipient);

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.0)
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Recipient) -> bool {
        self.to_string() == other.to_string()
    }
}

impl FromStr for Recipient {
    type Err = SealError;

    fn from_str(s: &str) -> Result<Recipient, SealError> {
        age::x25519::Recipient::from_str(s.trim())
            .map(Recipient)
            .map_err(|_| SealError::BadRecipient)
    }
}

impl Recipient {
    fn encryptor(&self) -> Result<age::Encryptor, SealError> {
        age::Encryptor::with_recipients(std::iter::once(&self.0 as &dyn age::Recipient))
            .map_err(|e| SealError::Seal(e.to_string()))
    }

    /// `plain` sealed: an age file only the recipient's identity opens.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(plain.len() + 256);
        let mut writer = self.encryptor()?.wrap_output(&mut out)?;
        writer.write_all(plain)?;
        writer.finish()?;
        Ok(out)
    }

    /// Seals everything `input` gives into `output` (64 KiB chunks, constant memory); the
    /// number of sealed bytes written.
    pub fn seal_stream(&self, input: &mut impl Read, output: impl Write) -> Result<u64, SealError> {
        let mut counted = Counted {
            inner: output,
            n: 0,
        };
        let mut writer = self.encryptor()?.wrap_output(&mut counted)?;
        std::io::copy(input, &mut writer)?;
        writer.finish()?;
        counted.inner.flush()?;
        Ok(counted.n)
    }
}

struct Counted<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The call-centre's identities: the first is current, all of them open.
pub struct Identities {
    keys: Vec<age::x25519::Identity>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identities(current {}, {} in all)",
            self.current(),
            self.keys.len()
        )
    }
}

/// The length of the age header magic: `age-encryption.org/v1\n`.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// Whether `bytes` begin like an age file.
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(AGE_MAGIC)
}

impl Identities {
    /// One fresh identity (tests, and the key file's first start).
    pub fn generate() -> Identities {
        Identities {
            keys: vec![age::x25519::Identity::generate()],
        }
    }

    /// Reads a key file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Identities, SealError> {
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(age::x25519::Identity::from_str(line).map_err(|_| {
                SealError::BadKeyFile {
                    path: path.to_path_buf(),
                    line: i + 1,
                }
            })?);
        }
        if keys.is_empty() {
            return Err(SealError::EmptyKeyFile(path.to_path_buf()));
        }
        Ok(Identities { keys })
    }

    /// Reads the key file (mode 0600 required).
    pub fn load(path: &Path) -> Result<Identities, SealError> {
        let read = |source| SealError::Read {
            path: path.to_path_buf(),
            source,
        };
        if crate::keyfile::exposed(path).map_err(read)? {
            return Err(SealError::Permissions(path.to_path_buf()));
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Identities::parse(&text, path)
    }

    /// Reads the key file, or makes one with a fresh identity there (mode 0600, fsynced,
    /// linked into place so a crash never leaves half a file and a key another process made
    /// meanwhile is never replaced). `true` when it was made now.
    pub fn load_or_create(path: &Path) -> Result<(Identities, bool), SealError> {
        if path.exists() {
            return Identities::load(path).map(|k| (k, false));
        }
        let made = Identities::generate();
        let write = |source| SealError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = format!(
            "# Senim call-centre sealing keys (age). The first identity is current; keep the\n\
             # others for as long as anything sealed to them is kept. Back this file up apart\n\
             # from the data folder: without it, sealed videos and personal fields are lost.\n\
             # recipient: {}\n{}\n",
            made.current(),
            made.keys[0].to_string().expose_secret()
        );
        if !crate::keyfile::create_private(path, text.as_bytes()).map_err(write)? {
            return Identities::load(path).map(|k| (k, false));
        }
        Ok((made, true))
    }

    /// The current recipient: what kiosks seal to and what the call-centre keeps sealed to.
    pub fn current(&self) -> Recipient {
        Recipient(self.keys[0].to_public())
    }

    fn decryptor<R: BufRead>(&self, input: R) -> Result<age::stream::StreamReader<R>, SealError> {
        let decryptor =
            age::Decryptor::new_buffered(input).map_err(|e| SealError::Open(e.to_string()))?;
        decryptor
            .decrypt(self.keys.iter().map(|k| k as &dyn age::Identity))
            .map_err(|e| SealError::Open(e.to_string()))
    }

    /// The recipients of every identity held, the current one first.
    pub fn recipients(&self) -> Vec<Recipient> {
        self.keys.iter().map(|k| Recipient(k.to_public())).collect()
    }

    /// Opens sealed bytes with any of the identities.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut reader = self.decryptor(sealed)?;
        let mut plain = Vec::new();
        reader
            .read_to_end(&mut plain)
            .map_err(|e| SealError::Open(e.to_string()))?;
        Ok(plain)
    }

    /// Opens a sealed file for reading its plaintext at any offset (the console's range
    /// requests): seeking moves to the 64 KiB chunk that holds the offset, so a range costs
    /// what it reads, not the whole file.
    pub fn open_file(&self, path: &Path) -> Result<SealedFile, SealError> {
        self.open_seekable(std::fs::File::open(path)?)
    }

    /// [`Identities::open_file`] over any seekable source of sealed bytes (an object in an
    /// object store read with ranged requests, say).
    pub fn open_seekable<R: Read + Seek>(&self, input: R) -> Result<SealedFile<R>, SealError> {
        let mut reader = self.decryptor(BufReader::new(input))?;
        let len = reader.seek(std::io::SeekFrom::End(0))?;
        reader.seek(std::io::SeekFrom::Start(0))?;
        Ok(SealedFile { reader, len })
    }
}

/// A sealed file opened for reading: `Read + Seek` over its plaintext.
pub struct SealedFile<R = std::fs::File> {
    reader: age::stream::StreamReader<BufReader<R>>,
    len: u64,
}

impl<R> SealedFile<R> {
    /// The plaintext's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<R: Read + Seek> Read for SealedFile<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl<R: Read + Seek> Seek for SealedFile<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.reader.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_the_identity_and_hide_the_plaintext() {
        let ids = Identities::generate();
        let other = Identities::generate();
        let sealed = ids.current().seal(b"880101300010 +77011234567").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(12).any(|w| w == b"880101300010"));
        assert_eq!(ids.open(&sealed).unwrap(), b"880101300010 +77011234567");
        assert!(matches!(other.open(&sealed), Err(SealError::Open(_))));
    }

    #[test]
    fn key_file_made_0600_parsed_back_and_rotation_opens_old_seals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("seal.txt");
        let (made, fresh) = Identities::load_or_create(&path).unwrap();
        assert!(fresh);
        let (again, fresh) = Identities::load_or_create(&path).unwrap();
        assert!(!fresh);
        assert_eq!(made.current(), again.current());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let old_seal = made.current().seal(b"old").unwrap();
        // Rotation: a new identity first, the old one kept below it.
        let new = age::x25519::Identity::generate();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            format!("{}\n{text}", new.to_string().expose_secret()),
        )
        .unwrap();
        let rotated = Identities::load(&path).unwrap();
        assert_eq!(rotated.current().to_string(), new.to_public().to_string());
        assert_eq!(rotated.open(&old_seal).unwrap(), b"old");
        std::fs::write(&path, "# nothing\nnot-a-key\n").unwrap();
        assert!(matches!(
            Identities::load(&path),
            Err(SealError::BadKeyFile { line: 2, .. })
        ));
    }

    #[test]
    fn a_sealed_file_reads_any_range() {
        let ids = Identities::generate();
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.age");
        let n = ids
            .current()
            .seal_stream(&mut &plain[..], std::fs::File::create(&path).unwrap())
            .unwrap();
        assert_eq!(n, std::fs::metadata(&path).unwrap().len());
        let mut file = ids.open_file(&path).unwrap();
        assert_eq!(file.len(), plain.len() as u64);
        for start in [0u64, 1, 65_535, 65_536, 200_001, 299_990] {
            file.seek(std::io::SeekFrom::Start(start)).unwrap();
            let mut buf = vec![0u8; 10];
            file.read_exact(&mut buf).unwrap();
            assert_eq!(&buf[..], &plain[start as usize..start as usize + 10]);
        }
    }
}
