//! Trust through the real binary: `enrol-code --qr` on a call-centre with `[tls]` puts the pin
//! of its certificate's key in the QR code (the kiosk checks it on every connection), and
//! `catalog publish` makes the signing key (mode 0600) and signs the version it stores.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use senim_common::signing::{SigningKey, PURPOSE_CATALOG};
use senim_protocol::enrol::{EnrolCode, SpkiPin};

fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_enrolment_qr_code_carries_the_pin_of_the_servers_key() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["cc.example".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let config = dir.path().join("callcentre.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = {:?}\n\n[tls]\ncert = {:?}\nkey = {:?}\n",
            dir.path().join("data"),
            cert_path,
            key_path
        ),
    )
    .unwrap();
    let png = dir.path().join("code.png");
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "enrol-code",
        "--site",
        "Pinned hospital",
        "--qr",
        "--png",
        png.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let code = text.lines().next().unwrap();
    let pin = SpkiPin(senim_common::spki::spki_sha256(cert.cert.der()).unwrap());
    let expected = format!("SENIM-ENROL:{code};pin={pin}");
    assert_eq!(common::decode_png(&std::fs::read(&png).unwrap()), expected);
    assert!(
        text.contains(&format!("senim-kiosk enrol '{code};pin={pin}'")),
        "{text}"
    );
    let read = EnrolCode::parse(&expected).unwrap();
    assert_eq!((read.code.as_str(), read.pin), (code, Some(pin)));
}

#[test]
fn catalog_publish_makes_the_key_and_signs_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services");
    let out = run(&[
        "--data",
        data.to_str().unwrap(),
        "catalog",
        "publish",
        services.to_str().unwrap(),
    ]);
    let version = String::from_utf8(out.stdout).unwrap();
    let version = version.lines().next().unwrap();
    let key_file = data.join(senim_callcentre::secrets::SIGNING_KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is the call-centre's alone");
    }
    let key = SigningKey::load(&key_file).unwrap().public();
    let db = senim_callcentre::db::Db::open(&data).unwrap();
    let doc = db
        .read(senim_callcentre::db::latest_catalog)
        .unwrap()
        .unwrap();
    assert_eq!(doc.version, version);
    let signature = doc.signature.as_deref().expect("signed at publish");
    key.verify(PURPOSE_CATALOG, &doc.signed_bytes(), signature)
        .unwrap();
    // Publishing again keeps the same key (made once).
    run(&[
        "--data",
        data.to_str().unwrap(),
        "catalog",
        "publish",
        services.to_str().unwrap(),
    ]);
    assert_eq!(SigningKey::load(&key_file).unwrap().public(), key);
}
