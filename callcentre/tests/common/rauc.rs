//! Real signed RAUC bundles for the update tests: a throwaway signing certificate and key
//! (`openssl req -x509`) and tiny bundles made with `rauc bundle` (Debian's `rauc`, installed
//! by `scripts/setup.sh`). Included by the call-centre's tests and the kiosk's.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// An update signing certificate and key, and bundles signed with them.
pub struct Signer {
    dir: tempfile::TempDir,
}

impl Signer {
    pub fn new(name: &str) -> Signer {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .args(["-subj", &format!("/CN={name}")])
            .output()
            .expect("openssl is needed: run scripts/setup.sh");
        assert!(status.status.success(), "{status:?}");
        Signer { dir }
    }

    /// The folder of its key, certificate and bundles.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The certificate: the keyring that trusts this signer's bundles.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// A real signed bundle of `version` with a root image of `len` pseudo-random bytes.
    pub fn bundle(&self, version: &str, len: usize) -> PathBuf {
        let input = self.dir.path().join(format!("in-{version}"));
        std::fs::create_dir_all(&input).unwrap();
        std::fs::write(input.join("root.img"), noise(len)).unwrap();
        std::fs::write(
            input.join("manifest.raucm"),
            format!(
                "[update]\ncompatible=senim-kiosk\nversion={version}\n\n[bundle]\nformat=verity\n\n\
                 [image.rootfs]\nfilename=root.img\n"
            ),
        )
        .unwrap();
        let out = self.dir.path().join(format!("senim-kiosk-{version}.raucb"));
        let made = Command::new("rauc")
            .arg("bundle")
            .arg("--cert")
            .arg(self.cert())
            .arg("--key")
            .arg(self.dir.path().join("key.pem"))
            .arg(&input)
            .arg(&out)
            .output()
            .expect("rauc is needed: run scripts/setup.sh");
        assert!(made.status.success(), "{made:?}");
        out
    }
}

/// `len` pseudo-random bytes (xorshift), so a root image does not compress away.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
