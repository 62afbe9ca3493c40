//! System updates end to end, over real HTTP against the real call-centre: `update publish`
//! checks tiny real signed RAUC bundles (made here with `rauc bundle`) and refuses unsigned,
//! mis-signed and unreadable ones; a kiosk fetches the offered bundle in the background,
//! resuming a download that was cut, refuses one whose SHA-256 does not match, hands a good one
//! to a test installer playing the root side of the file contract, waits for the quiet hour,
//! asks for the restart, and after the boot reports the rollback once — which the call-centre
//! keeps and never offers again.

#[path = "../callcentre/tests/common/rauc.rs"]
mod rauc;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rauc::Signer;
use senim_callcentre::db::{self, BundlePublished};
use senim_callcentre::updates::{self, UpdateError};
use senim_kiosk::sync::{self, Status};
use senim_kiosk::update::{InstallRequest, InstallResult, QuietHours, UpdatesConfig};
use senim_protocol::UpdateState;
use support::proxy::{Faulty, Proxy};
use support::*;

const SITE: &str = "Test hospital";

fn backend_with_keyring(keyring: &Path) -> Backend {
    let mut config = backend_config();
    config.updates.keyring = Some(keyring.to_path_buf());
    Backend::start_configured("127.0.0.1:0".parse().unwrap(), None, config)
}

/// `update publish BUNDLE` for `sites` (empty: every site), and the server's cache refreshed
/// (as its housekeeping would).
fn publish_now(backend: &Backend, bundle: &Path, sites: &[String]) -> updates::Published {
    let config = backend.state.config.updates.clone();
    let published = updates::publish(
        &backend.state.db,
        &config,
        None,
        bundle,
        sites,
        chrono::Utc::now(),
    )
    .unwrap();
    backend.state.refresh_updates().unwrap();
    published
}

fn stored_bundles(backend: &Backend) -> Vec<db::Bundle> {
    backend.state.db.read(db::list_bundles).unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn publish_checks_the_signature_with_rauc_and_stores_nothing_it_refuses() {
    let signer = Signer::new("senim update test");
    let other = Signer::new("somebody else");
    let good = signer.bundle("2.0.0", 8192);
    let mis_signed = other.bundle("2.0.1", 8192);
    let backend = backend_with_keyring(&signer.cert());
    let db = &backend.state.db;
    let now = chrono::Utc::now();
    let updates_dir = backend.data_dir().join("updates");

    let mut no_keyring = backend.state.config.updates.clone();
    no_keyring.keyring = None;
    let e = updates::publish(db, &no_keyring, None, &good, &[], now).unwrap_err();
    assert!(matches!(e, UpdateError::NoKeyring), "{e}");
    assert!(e.to_string().contains("[updates] keyring"), "{e}");

    let mut no_rauc = backend.state.config.updates.clone();
    no_rauc.rauc = "/nonexistent/rauc".into();
    let e = updates::publish(db, &no_rauc, None, &good, &[], now).unwrap_err();
    assert!(matches!(e, UpdateError::NoRauc { .. }), "{e}");
    assert!(e.to_string().contains("apt-get install rauc"), "{e}");

    let config = backend.state.config.updates.clone();
    let e = updates::publish(db, &config, None, &mis_signed, &[], now).unwrap_err();
    assert!(matches!(e, UpdateError::Refused { .. }), "{e}");
    let garbage = signer.dir().join("garbage.raucb");
    std::fs::write(&garbage, b"not a bundle at all").unwrap();
    let e = updates::publish(db, &config, None, &garbage, &[], now).unwrap_err();
    assert!(matches!(e, UpdateError::Refused { .. }), "{e}");
    assert!(stored_bundles(&backend).is_empty(), "nothing recorded");
    assert!(
        files_in(&updates_dir).is_empty(),
        "nothing stored: {:?}",
        files_in(&updates_dir)
    );

    let ward5 = updates::parse_sites(Some("Ward 5")).unwrap();
    let p = updates::publish(db, &config, None, &good, &ward5, now).unwrap();
    assert_eq!(
        (p.version.as_str(), &p.outcome),
        ("2.0.0", &BundlePublished::New)
    );
    let stored = updates::bundle_path(backend.data_dir(), &p.sha256);
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(&good).unwrap()
    );
    assert_eq!(files_in(&updates_dir), [format!("{}.raucb", p.sha256)]);
    backend.state.refresh_updates().unwrap();
    assert!(backend
        .state
        .update_offer("k", "Ward 5", Some("1.0"))
        .is_some());
    assert!(backend
        .state
        .update_offer("k", "Ward 6", Some("1.0"))
        .is_none());
    // The same bundle again with more sites widens the rollout.
    let both = updates::parse_sites(Some("Ward 5,Ward 6")).unwrap();
    let p = updates::publish(db, &config, None, &good, &both, now).unwrap();
    assert_eq!(p.outcome, BundlePublished::Widened);
    backend.state.refresh_updates().unwrap();
    let offer = backend
        .state
        .update_offer("k", "Ward 6", Some("1.0"))
        .unwrap();
    assert_eq!((offer.version.as_str(), offer.size), ("2.0.0", p.size));
}

/// A kiosk's machine for these tests: its data folder (enrolled), its os-release, run folder
/// and boot id.
struct Machine {
    data: tempfile::TempDir,
    root: tempfile::TempDir,
}

impl Machine {
    fn new(backend: &Backend) -> Machine {
        let m = Machine {
            data: enrolled_kiosk(backend),
            root: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(m.run_dir()).unwrap();
        m.boot("1.0.0", "boot-1");
        m
    }

    fn boot(&self, image: &str, boot_id: &str) {
        std::fs::write(
            self.root.path().join("os-release"),
            format!("ID=debian\nIMAGE_VERSION={image}\n"),
        )
        .unwrap();
        std::fs::write(self.root.path().join("boot_id"), boot_id).unwrap();
    }

    fn run_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    fn updates_dir(&self) -> PathBuf {
        self.data.path().join("updates")
    }

    /// Sync settings with updates on, heartbeats every 50 ms and the quiet hour now.
    fn sync_config(&self, backend_url: &str) -> sync::SyncConfig {
        let now = chrono::Local::now().time();
        let hour = chrono::Duration::hours(1);
        let mut config = sync_config(self.data.path(), backend_url);
        config.heartbeat = Duration::from_millis(50);
        config.updates = Some(UpdatesConfig {
            dir: self.updates_dir(),
            os_release: self.root.path().join("os-release"),
            run_dir: self.run_dir(),
            boot_id: self.root.path().join("boot_id"),
            quiet_hours: QuietHours {
                from: now - hour,
                to: now + hour,
            },
            keep_free_bytes: 0,
        });
        config
    }

    /// Starts the sync worker; its reports come to the receiver.
    fn start(&self, backend: &Backend) -> (sync::SyncHandle, mpsc::Receiver<Status>) {
        self.start_via(&backend.url)
    }

    /// [`Machine::start`] through another address (a proxy) to the call-centre.
    fn start_via(&self, url: &str) -> (sync::SyncHandle, mpsc::Receiver<Status>) {
        let (tx, rx) = mpsc::channel();
        let handle = sync::spawn(self.sync_config(url), move |s| {
            let _ = tx.send(s);
        })
        .unwrap();
        (handle, rx)
    }
}

/// The next report satisfying `want` (a minute at most: a hung kiosk fails the test).
fn wait_for(rx: &mpsc::Receiver<Status>, what: &str, want: impl Fn(&Status) -> bool) -> Status {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(s) if want(&s) => return s,
            Ok(_) => {}
            Err(_) => panic!("the kiosk never reached: {what}"),
        }
    }
}

fn state_of(s: &Status) -> Option<UpdateState> {
    s.update.as_ref().map(|u| u.state)
}

/// The test installer: plays the root side of the installer contract (a real kiosk image has
/// a `.path` unit and `rauc install`). It checks the request names a bundle inside the
/// updates folder, verifies it with `rauc info --keyring` as `rauc install` would, answers
/// with `install.result` and removes the request and the bundle.
struct TestInstaller {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl TestInstaller {
    fn start(updates_dir: PathBuf, keyring: PathBuf) -> TestInstaller {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut installed = Vec::new();
            let request_path = updates_dir.join("install.request");
            while !stopped.load(Ordering::SeqCst) {
                let Ok(bytes) = std::fs::read(&request_path) else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let request: InstallRequest = serde_json::from_slice(&bytes).unwrap();
                assert!(request.bundle.starts_with(&updates_dir), "{request:?}");
                let info = Command::new("rauc")
                    .arg("info")
                    .arg("--keyring")
                    .arg(&keyring)
                    .arg("--output-format=json")
                    .arg(&request.bundle)
                    .output()
                    .unwrap();
                let result = InstallResult {
                    version: request.version.clone(),
                    ok: info.status.success(),
                    message: String::from_utf8_lossy(&info.stderr).into_owned(),
                };
                let tmp = updates_dir.join(".install.result.tmp");
                std::fs::write(&tmp, serde_json::to_vec(&result).unwrap()).unwrap();
                std::fs::rename(&tmp, updates_dir.join("install.result")).unwrap();
                std::fs::remove_file(&request_path).unwrap();
                std::fs::remove_file(&request.bundle).unwrap();
                installed.push(request.version);
            }
            installed
        });
        TestInstaller {
            stop,
            thread: Some(thread),
        }
    }

    /// Versions it installed.
    fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[test]
fn a_cut_download_resumes_installs_switches_and_a_rollback_is_reported_once() {
    let signer = Signer::new("senim update test");
    let bundle = signer.bundle("2.0.0", 400 * 1024);
    let backend = backend_with_keyring(&signer.cert());
    let sites = updates::parse_sites(Some(SITE)).unwrap();
    let published = publish_now(&backend, &bundle, &sites);
    let machine = Machine::new(&backend);

    // A download cut at 40% by a power cut: the part file holds what came.
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = bytes.len() * 2 / 5;
    std::fs::create_dir_all(machine.updates_dir()).unwrap();
    std::fs::write(
        machine.updates_dir().join("senim-2.0.0.raucb.part"),
        &bytes[..cut],
    )
    .unwrap();

    let installer = TestInstaller::start(machine.updates_dir(), signer.cert());
    let (kiosk, rx) = machine.start(&backend);
    let ready = wait_for(&rx, "installed and due", |s| {
        state_of(s) == Some(UpdateState::Installed) && s.update_due
    });
    assert_eq!(
        ready.update_fetched_bytes,
        (bytes.len() - cut) as u64,
        "only the rest was fetched (Range)"
    );
    assert_eq!(installer.stop(), ["2.0.0"]);
    // The call-centre sees the image and the update.
    wait_for(&rx, "a heartbeat after the install", |s| {
        state_of(s) == Some(UpdateState::Installed)
    });
    backend.state.flush_heartbeats().unwrap();
    let k = &backend.state.db.read(db::list_kiosks).unwrap()[0];
    assert_eq!(k.image_version.as_deref(), Some("1.0.0"));
    assert_eq!(
        k.update.as_ref().map(|u| u.state),
        Some(UpdateState::Installed)
    );
    assert_eq!(k.update.as_ref().map(|u| u.version.as_str()), Some("2.0.0"));

    // The flow found the kiosk at rest: switch.
    kiosk.switch_update();
    wait_for(&rx, "switching", |s| {
        state_of(s) == Some(UpdateState::Switching)
    });
    assert_eq!(
        std::fs::read_to_string(machine.run_dir().join("reboot.request")).unwrap(),
        "2.0.0"
    );
    kiosk.stop();

    // The trial boot of 2.0.0 never reached serving: the old slot came back.
    machine.boot("1.0.0", "boot-2");
    let (kiosk, rx) = machine.start(&backend);
    // Said once: the call-centre answered, the kiosk says no more, and the call-centre kept it
    // at once (not only at the next flush) and offers that version no more.
    let said = wait_for(&rx, "the rollback reported and heard", |s| {
        s.update.is_none() && s.update_said.is_some()
    });
    let said = said.update_said.unwrap();
    assert_eq!(
        (said.version.as_str(), said.state),
        ("2.0.0", UpdateState::Failed)
    );
    let message = said.message.unwrap();
    assert!(message.starts_with("rolled back: "), "{message}");
    let failures = backend.state.db.read(db::update_failures).unwrap();
    let kept = failures.values().next().expect("a failure kept");
    assert_eq!(
        (kept.version.as_str(), kept.state),
        ("2.0.0", UpdateState::Failed)
    );
    assert!(kept
        .message
        .as_deref()
        .unwrap()
        .starts_with("rolled back: "));
    let kiosk_id = failures.keys().next().unwrap().clone();
    assert_eq!(
        backend.state.update_offer(&kiosk_id, SITE, Some("1.0.0")),
        None
    );
    // The kiosk does not fetch it again either.
    let fetched = wait_for(&rx, "more heartbeats", |_| true).update_fetched_bytes;
    assert_eq!(fetched, 0);
    assert!(!machine.updates_dir().join("install.request").exists());
    kiosk.stop();
    assert_eq!(published.version, "2.0.0");
}

#[test]
fn a_bundle_whose_sha256_does_not_match_is_refused_and_reported() {
    let signer = Signer::new("senim update test");
    let bundle = signer.bundle("2.1.0", 64 * 1024);
    let backend = backend_with_keyring(&signer.cert());
    let published = publish_now(&backend, &bundle, &[]);
    // Damaged on the server's disk after publication (same size, one byte changed).
    let stored = updates::bundle_path(backend.data_dir(), &published.sha256);
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();

    let machine = Machine::new(&backend);
    let (kiosk, rx) = machine.start(&backend);
    let said = wait_for(&rx, "refused and heard", |s| {
        s.update.is_none() && s.update_said.is_some()
    });
    let said = said.update_said.unwrap();
    assert_eq!(said.state, UpdateState::Refused);
    let message = said.message.unwrap();
    assert!(message.contains("SHA-256"), "{message}");
    kiosk.stop();
    let failures = backend.state.db.read(db::update_failures).unwrap();
    assert_eq!(
        failures.values().next().map(|f| f.state),
        Some(UpdateState::Refused)
    );
    // Nothing was handed to the installer and nothing of the bundle is kept.
    let left: Vec<String> = files_in(&machine.updates_dir())
        .into_iter()
        .filter(|f| f != "state.json")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_download_cut_by_the_network_resumes_where_it_stopped() {
    let signer = Signer::new("senim update test");
    let bundle = signer.bundle("2.2.0", 300 * 1024);
    let size = std::fs::metadata(&bundle).unwrap().len();
    let backend = backend_with_keyring(&signer.cert());
    publish_now(&backend, &bundle, &[]);
    let machine = Machine::new(&backend);
    // The connection is cut once, when 150 kB have come back: half-way through the bundle.
    let proxy = Proxy::start(backend.addr, Faulty::CutDownOnceAt { bytes: 150_000 });
    let installer = TestInstaller::start(machine.updates_dir(), signer.cert());
    let (kiosk, rx) = machine.start_via(&format!("http://{}", proxy.addr));
    let done = wait_for(&rx, "installed", |s| {
        state_of(s) == Some(UpdateState::Installed)
    });
    kiosk.stop();
    assert_eq!(installer.stop(), ["2.2.0"], "the whole bundle verified");
    assert_eq!(proxy.faults.cuts.load(Ordering::SeqCst), 1);
    assert_eq!(
        done.update_fetched_bytes, size,
        "every byte fetched once: resumed with Range, not started again"
    );
}

#[test]
fn no_bundle_is_fetched_that_would_leave_too_little_disk_for_appeals() {
    let signer = Signer::new("senim update test");
    let bundle = signer.bundle("2.3.0", 16 * 1024);
    let backend = backend_with_keyring(&signer.cert());
    publish_now(&backend, &bundle, &[]);
    let machine = Machine::new(&backend);
    let mut sync_config = machine.sync_config(&backend.url);
    if let Some(u) = sync_config.updates.as_mut() {
        // More than any test machine's disk has free.
        u.keep_free_bytes = 1 << 60;
    }
    let (tx, rx) = mpsc::channel();
    let kiosk = sync::spawn(sync_config, move |s| {
        let _ = tx.send(s);
    })
    .unwrap();
    let waiting = wait_for(&rx, "waiting for space", |s| {
        s.update
            .as_ref()
            .and_then(|u| u.message.as_deref())
            .is_some_and(|m| m.starts_with("waiting for disk space"))
    });
    // Still waiting heartbeats later, nothing fetched.
    let later = wait_for(&rx, "another heartbeat", |s| s.update.is_some());
    kiosk.stop();
    assert_eq!(state_of(&waiting), Some(UpdateState::Downloading));
    assert_eq!(later.update_fetched_bytes, 0);
    assert!(!machine
        .updates_dir()
        .join("senim-2.3.0.raucb.part")
        .exists());
}
