//! Interoperability: tuspy, the tus project's reference Python client, uploads an appeal's video
//! to the real `senim-callcentre` binary in 1 MiB chunks with sha1 checksums, and the appeal
//! then has its video, byte for byte. `make setup` puts pinned tuspy in `target/tools-venv`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::Digest;

const BIN: &str = env!("CARGO_BIN_EXE_senim-callcentre");

/// The venv python with tuspy, or a failure that says how to get it.
fn tuspy_python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools-venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import tusclient"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} cannot import tusclient: run `make setup` (scripts/setup.sh installs pinned tuspy there)",
        python.display()
    );
    python
}

/// The real binary serving on a free port; killed when dropped.
fn serve(data: &Path) -> common::process::Served {
    common::process::serve(&["--data".as_ref(), data.as_os_str()])
}

fn cli(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// tuspy's upload, as a kiosk-side Python program would write it.
const TUSPY_UPLOAD: &str = r#"
import sys
from tusclient import client
url, token, path, appeal = sys.argv[1:5]
c = client.TusClient(url + "/api/v1/uploads/", headers={"Authorization": "Bearer " + token})
u = c.uploader(file_path=path, chunk_size=1024 * 1024, metadata={"appeal_id": appeal},
               upload_checksum=True)
u.upload()
print(u.url)
"#;

#[test]
fn tuspy_uploads_a_video_in_checksummed_chunks_and_the_appeal_has_it() {
    let python = tuspy_python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = serve(&data);

    // Enrol a kiosk with a code from the CLI, and send the appeal that declares its video.
    let code = cli(&data, &["enrol-code", "--site", "Trust kiosk, Shymkent"]);
    let code = code.lines().next().unwrap();
    let http = reqwest::blocking::Client::new();
    let enrolled: Value = http
        .post(format!("{}/api/v1/enrol", served.url))
        .json(&json!({ "code": code }))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap();
    let token = enrolled["token"].as_str().unwrap();

    // 3.5 MiB: three full chunks and a partial one.
    let video: Vec<u8> = (0..(7 << 19))
        .map(|i: usize| (i * 31 + i / 997) as u8)
        .collect();
    let sha = hex::encode(sha2::Sha256::digest(&video));
    let appeal_id = "A-TUSPY234";
    let batch = json!({ "records": [{
        "key": "appeal-tuspy",
        "record": {
            "kind": "appeal",
            "appeal_id": appeal_id,
            "topic": "complaint",
            "created_at": "2026-11-20T10:00:00Z",
            "language": "ru",
            "video": { "bytes": video.len(), "sha256": sha, "duration_seconds": 40 },
        },
    }]});
    http.post(format!("{}/api/v1/records", served.url))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();
    let before: Value = serde_json::from_str(&cli(&data, &["appeals", "list", "--json"])).unwrap();
    assert_eq!(
        before[0]["video_bytes"],
        Value::Null,
        "no video before the upload"
    );

    let file = dir.path().join("appeal.webm");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&video)
        .unwrap();
    let out = Command::new(&python)
        .args(["-c", TUSPY_UPLOAD, &served.url, token])
        .arg(&file)
        .arg(appeal_id)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let location = String::from_utf8(out.stdout).unwrap();
    let upload_id = location.trim().rsplit('/').next().unwrap().to_string();

    let after: Value = serde_json::from_str(&cli(&data, &["appeals", "list", "--json"])).unwrap();
    assert_eq!(after[0]["id"], appeal_id);
    assert_eq!(after[0]["video_bytes"], video.len());
    assert_eq!(after[0]["video_sha256"], sha.as_str());
    // Kept sealed at rest (issue 19); opened with the key file, it is the video.
    let stored = std::fs::read(data.join("uploads").join(&upload_id)).unwrap();
    assert!(senim_common::seal::is_sealed(&stored), "no WebM at rest");
    let keys = senim_common::seal::Identities::load(&data.join("seal.keys")).unwrap();
    assert_eq!(
        keys.open(&stored).unwrap(),
        video,
        "the stored file is the video, byte for byte"
    );
}
