//! The call-centre on a disk that fills up: on a real, small file system (an 8 MiB tmpfs in a
//! private mount namespace) uploads are answered 507 `insufficient_storage` once the free-space
//! reserve would be crossed — creation and PATCH alike, nothing of the refused chunk kept — and,
//! with the reserve off, a disk that is really full gives the same 507 with the half-written
//! chunk discarded. When room comes back the same uploads resume and finish whole, and the
//! uploads folder holds exactly the received videos.
//!
//! `harness = false`: the parent re-runs this binary under `unshare` (as root, or as a user
//! with a user namespace), so the mount never touches the machine's own mount table.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::tus::{error_code, upload_files, upload_id, video, Kiosk};
use common::TestServer;
use reqwest::StatusCode;
use sha2::Digest;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

fn main() {
    if let Some(dir) = std::env::var_os("SENIM_CC_DISKFULL_CHILD") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(child(Path::new(&dir)));
        println!(
            "call-centre disk full: 507 below the reserve and on a full disk, nothing of a \
             refused chunk kept, uploads resumed and whole once room came back"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut unshare = Command::new("unshare");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        unshare.args(["--user", "--map-root-user"]);
    }
    let out = unshare
        .args(["--mount", "--propagation", "private"])
        .arg(std::env::current_exe().unwrap())
        .env("SENIM_CC_DISKFULL_CHILD", dir.path())
        .output()
        .expect("unshare (util-linux) runs this test in a private mount namespace");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the disk-full scenario failed");
}

fn free(dir: &Path) -> usize {
    senim_callcentre::uploads::free_bytes(dir).unwrap() as usize
}

/// Fills the disk until `leave` bytes are free (0: until a write fails).
fn fill(ballast: &Path, leave: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ballast)
        .unwrap();
    let dir = ballast.parent().unwrap();
    loop {
        let room = free(dir).saturating_sub(leave);
        if leave > 0 && room == 0 {
            break;
        }
        let block = vec![0u8; room.clamp(1, 64 * KIB)];
        if f.write_all(&block).is_err() || f.sync_all().is_err() {
            break;
        }
        if leave > 0 && room <= 64 * KIB {
            break;
        }
    }
}

async fn child(dir: &Path) {
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "senim-cc-test"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(mounted.success(), "cannot mount a small tmpfs for the test");
    let ballast = dir.join("ballast");

    let mut config = common::test_config();
    config.storage.reserve_mib = 2;
    let data = tempfile::tempdir_in(dir).unwrap();
    let server = TestServer::start_in(config.clone(), None, data).await;
    let mut kiosk = Kiosk::enrol(&server).await;
    let (a, b, c) = (video(1, MIB), video(2, 3 * MIB / 2), video(3, MIB));
    let (ida, idb, idc) = (
        kiosk.appeal(1, &a).await,
        kiosk.appeal(2, &b).await,
        kiosk.appeal(3, &c).await,
    );
    let la = kiosk.create_ok(&ida, a.len()).await;
    assert_eq!(
        kiosk.patch(&la, 0, &a).await.status(),
        StatusCode::NO_CONTENT
    );
    let lb = kiosk.create_ok(&idb, b.len()).await;
    let half = 512 * KIB;
    assert_eq!(
        kiosk.patch(&lb, 0, &b[..half]).await.status(),
        StatusCode::NO_CONTENT
    );

    // Someone else's files leave the reserve and a little more: the next chunk would cross it.
    fill(&ballast, 2 * MIB + 256 * KIB);
    let r = kiosk.patch(&lb, half, &b[half..2 * half]).await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage".into()
        ),
        "PATCH below the reserve"
    );
    assert_eq!(kiosk.state(&lb).await.1, half as u64, "nothing of it kept");
    let r = kiosk.create(&idc, c.len()).await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage".into()
        ),
        "creation below the reserve"
    );
    let files = upload_files(&server.data());
    assert_eq!(
        files.len(),
        2,
        "no file for the refused creation: {files:?}"
    );

    // With the reserve off, a disk that is really full: the chunk fails half-written.
    let data = server.stop_keeping_data().await;
    config.storage.reserve_mib = 0;
    let server = TestServer::start_in(config.clone(), None, data).await;
    kiosk.url = server.url.clone();
    fill(&ballast, 0);
    // Streamed (no Content-Length), so the bytes meet the full disk in the write itself.
    let rest = b[half..].to_vec();
    let frames = rest
        .chunks(64 * KIB)
        .map(|f| Ok::<_, std::io::Error>(f.to_vec()))
        .collect::<Vec<_>>();
    let r = kiosk
        .req(reqwest::Method::PATCH, &lb)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", half.to_string())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            frames,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage".into()
        ),
        "PATCH on a full disk"
    );
    assert_eq!(kiosk.state(&lb).await.1, half as u64);
    let on_disk = std::fs::metadata(server.data().join("uploads").join(upload_id(&lb)))
        .unwrap()
        .len();
    assert_eq!(on_disk, half as u64, "the half-written chunk is discarded");

    // Room again: the same upload resumes and finishes whole; the refused one can start.
    std::fs::remove_file(&ballast).unwrap();
    assert_eq!(
        kiosk.patch(&lb, half, &b[half..]).await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, _, sha) = kiosk.state(&lb).await;
    assert_eq!(sha.unwrap(), hex::encode(sha2::Sha256::digest(&b)));
    let lc = kiosk.create_ok(&idc, c.len()).await;
    assert_eq!(
        kiosk.patch(&lc, 0, &c).await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, _, sha) = kiosk.state(&la).await;
    assert_eq!(sha.unwrap(), hex::encode(sha2::Sha256::digest(&a)));

    let expected: std::collections::BTreeSet<String> =
        [&la, &lb, &lc].iter().map(|l| upload_id(l)).collect();
    assert_eq!(upload_files(&server.data()), expected);
    // Kept sealed at rest (issue 19): opened with the call-centre's keys, each is whole.
    let keys = server.state.seal.as_ref().expect("the call-centre's keys");
    for (l, bytes) in [(&la, &a), (&lb, &b), (&lc, &c)] {
        let stored = std::fs::read(server.data().join("uploads").join(upload_id(l))).unwrap();
        assert!(
            senim_common::seal::is_sealed(&stored),
            "no video in the clear"
        );
        assert!(keys.open(&stored).unwrap() == *bytes, "every video whole");
    }
    if !common::postgres::suite_on_postgres() {
        let ok: String = server
            .state
            .db
            .read(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    server.stop().await;
}
