//! A full disk: on a real, small file system (a 3 MiB tmpfs mounted in a private mount
//! namespace) the kiosk refuses a new recording up front with a clear message, a commit that
//! cannot be written fails cleanly, and nothing already stored is damaged or lost.
//!
//! `harness = false`: the parent re-runs this binary under `unshare` (as root, or as a user
//! with a user namespace), so the mount never touches the machine's own mount table.

use std::path::Path;
use std::process::Command;

use senim_kiosk::store::{NewAppeal, NewVideo, Store};
use senim_protocol::Topic;

fn main() {
    if let Some(dir) = std::env::var_os("SENIM_DISKFULL_CHILD") {
        child(Path::new(&dir));
        println!("disk full: refused up front, failed commit stored nothing, store intact");
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
        .env("SENIM_DISKFULL_CHILD", dir.path())
        .output()
        .expect("unshare (util-linux) runs this test in a private mount namespace");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the disk-full scenario failed");
}

fn appeal(video: Option<NewVideo>) -> NewAppeal {
    NewAppeal {
        topic: Topic::Request,
        language: "ru".into(),
        iin: Some("880101300010".into()),
        callback_phone: None,
        text: None,
        video,
        interrupted: false,
        test: false,
        created_at: chrono::Utc::now(),
        recording: None,
        appeal_id: None,
        call_secs: None,
    }
}

fn take(store: &Store, name: &str, len: usize) -> NewVideo {
    let path = store.incoming_dir().join(name);
    std::fs::write(&path, vec![0x5a; len]).unwrap();
    NewVideo { path, seconds: 5 }
}

fn child(dir: &Path) {
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=3m",
            "senim-test",
            &dir.to_string_lossy(),
        ])
        .status()
        .unwrap();
    assert!(mounted.success(), "cannot mount a small tmpfs for the test");

    let mut store = Store::open(dir).unwrap();
    let first = store
        .commit_appeal(&appeal(Some(take(&store, "a.webm", 300_000))))
        .unwrap();
    store.commit_appeal(&appeal(None)).unwrap();
    let before = store.pending_records(100).unwrap();
    assert_eq!(before.len(), 2);

    // A take finished just before the disk filled up (someone else's logs, a stuck upload…).
    let late = take(&store, "late.webm", 200_000);
    let ballast = dir.join("ballast");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&ballast).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }

    // Up front: a new recording is refused, with a message a technician can act on.
    let refused = store.check_space(1 << 20).unwrap_err();
    assert!(refused.is_disk_full());
    let message = refused.to_string();
    assert!(
        message.contains("disk is full") && message.contains("MiB"),
        "{message}"
    );

    // A commit that cannot be written fails as "disk full" and stores nothing.
    let failed = store.commit_appeal(&appeal(Some(late.clone())));
    let error = failed.expect_err("nothing can be committed on a full disk");
    assert!(error.is_disk_full(), "reported as a full disk: {error}");
    assert!(late.path.exists(), "the take is kept for \"try again\"");
    assert_eq!(std::fs::read(&late.path).unwrap().len(), 200_000);
    drop(store);

    // Nothing already stored is damaged: reopen, check, and find everything as it was.
    let mut store = Store::open(dir).unwrap();
    assert!(store.integrity_ok().unwrap());
    assert_eq!(store.pending_records(100).unwrap(), before);
    assert_eq!(
        std::fs::read(dir.join("videos").join(format!("{first}.webm")))
            .unwrap()
            .len(),
        300_000
    );

    // Room again: "try again" commits the same take.
    std::fs::remove_file(&ballast).unwrap();
    store.commit_appeal(&appeal(Some(late))).unwrap();
    assert_eq!(store.pending_records(100).unwrap().len(), 3);
}
