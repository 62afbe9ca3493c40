//! The ledger and the installer contract, on real files: offers, checks, the installer's
//! results, the switch, and success or rollback after a new boot.

use super::*;

struct Kiosk {
    _root: tempfile::TempDir,
    cfg: UpdatesConfig,
}

impl Kiosk {
    fn new(running: &str) -> Kiosk {
        let root = tempfile::tempdir().unwrap();
        let cfg = UpdatesConfig {
            dir: root.path().join("data/updates"),
            os_release: root.path().join("os-release"),
            run_dir: root.path().join("run"),
            boot_id: root.path().join("boot_id"),
            quiet_hours: QuietHours::default(),
            keep_free_bytes: 0,
        };
        std::fs::create_dir_all(&cfg.run_dir).unwrap();
        let k = Kiosk { _root: root, cfg };
        k.boot(running, "boot-1");
        k
    }

    /// The machine (re)started into `running`.
    fn boot(&self, running: &str, boot: &str) {
        std::fs::write(
            &self.cfg.os_release,
            format!("PRETTY_NAME=\"Senim kiosk\"\nIMAGE_VERSION=\"{running}\"\n"),
        )
        .unwrap();
        std::fs::write(&self.cfg.boot_id, format!("{boot}\n")).unwrap();
    }

    fn open(&self) -> Updates {
        Updates::open(self.cfg.clone()).unwrap()
    }

    /// What the root installer would answer.
    fn installer_says(&self, version: &str, ok: bool, message: &str) {
        let r = InstallResult {
            version: version.into(),
            ok,
            message: message.into(),
        };
        std::fs::write(
            self.cfg.dir.join("install.result"),
            serde_json::to_vec(&r).unwrap(),
        )
        .unwrap();
    }
}

fn offer(version: &str) -> UpdateOffer {
    UpdateOffer {
        version: version.into(),
        sha256: "ab".repeat(32),
        size: 3,
        url: format!("/api/v1/updates/{}", "ab".repeat(32)),
    }
}

fn state(u: &Updates) -> Option<UpdateState> {
    u.report().map(|r| r.state)
}

fn at(h: u32) -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(h, 30, 0).unwrap()
}

/// Offer, download, check, hand over, installed: the kiosk ready to switch to `version`.
fn installed(k: &Kiosk, version: &str) -> Updates {
    let mut u = k.open();
    let o = offer(version);
    assert_eq!(u.offered(Some(&o)).unwrap(), Next::Download(o.clone()));
    std::fs::write(u.part_path(version), b"abc").unwrap();
    u.downloaded(&o, Ok(())).unwrap();
    let request: InstallRequest =
        serde_json::from_slice(&std::fs::read(k.cfg.dir.join("install.request")).unwrap()).unwrap();
    assert_eq!(request.version, version);
    assert!(request.bundle.is_absolute() && request.bundle.exists());
    assert_eq!(state(&u), Some(UpdateState::Installing));
    assert!(!u.poll_installer().unwrap(), "no result yet");
    k.installer_says(version, true, "");
    assert!(u.poll_installer().unwrap());
    assert_eq!(state(&u), Some(UpdateState::Installed));
    u
}

#[test]
fn the_image_version_is_read_from_os_release() {
    let k = Kiosk::new("1.0.0");
    assert_eq!(image_version(&k.cfg.os_release).as_deref(), Some("1.0.0"));
    std::fs::write(&k.cfg.os_release, "ID=debian\nIMAGE_VERSION=../../x\n").unwrap();
    assert_eq!(image_version(&k.cfg.os_release), None);
    assert_eq!(image_version(Path::new("/nonexistent/os-release")), None);
}

#[test]
fn a_good_update_switches_only_in_the_quiet_hours_and_reports_success_after_the_boot() {
    let k = Kiosk::new("1.0");
    let mut u = installed(&k, "2.0");
    assert!(!u.switch_due(at(14)), "not in the afternoon");
    assert!(u.switch_due(at(3)));
    // Another offer while waiting to switch is left alone.
    assert_eq!(u.offered(Some(&offer("2.1"))).unwrap(), Next::Nothing);
    u.switch().unwrap();
    assert_eq!(
        std::fs::read_to_string(k.cfg.run_dir.join("reboot.request")).unwrap(),
        "2.0"
    );
    // The kiosk restarting in the same boot judges nothing yet.
    assert_eq!(state(&k.open()), Some(UpdateState::Switching));
    k.boot("2.0", "boot-2");
    let mut u = k.open();
    let said = u.report().unwrap();
    assert_eq!(
        (said.state, said.version.as_str()),
        (UpdateState::Installed, "2.0")
    );
    u.answered(Some(&said)).unwrap();
    assert_eq!(u.report(), None, "said once");
    assert_eq!(u.said(), Some(said));
    assert_eq!(k.open().report(), None);
}

#[test]
fn a_rollback_is_reported_once_and_that_version_is_never_taken_again() {
    let k = Kiosk::new("1.0");
    let mut u = installed(&k, "3.0");
    u.switch().unwrap();
    // The trial boot of 3.0 never reached serving; the old slot came back.
    k.boot("1.0", "boot-3");
    let mut u = k.open();
    let said = u.report().unwrap();
    assert_eq!(said.state, UpdateState::Failed);
    assert_eq!(said.version, "3.0");
    assert!(
        said.message
            .as_deref()
            .unwrap()
            .starts_with("rolled back: "),
        "{said:?}"
    );
    // Not yet answered: said again after a restart.
    assert_eq!(k.open().report(), Some(said.clone()));
    u.answered(Some(&said)).unwrap();
    assert_eq!(u.report(), None);
    assert_eq!(u.offered(Some(&offer("3.0"))).unwrap(), Next::Nothing);
    assert_eq!(
        k.open().offered(Some(&offer("3.0"))).unwrap(),
        Next::Nothing
    );
}

#[test]
fn a_failed_install_and_a_bad_bundle_are_reported_and_not_retried() {
    let k = Kiosk::new("1.0");
    let mut u = k.open();
    let o = offer("4.0");
    u.offered(Some(&o)).unwrap();
    std::fs::write(u.part_path("4.0"), b"abc").unwrap();
    u.downloaded(&o, Ok(())).unwrap();
    k.installer_says("4.0", false, "rauc: signature verification failed");
    u.poll_installer().unwrap();
    let said = u.report().unwrap();
    assert_eq!(said.state, UpdateState::Failed);
    assert_eq!(
        said.message.as_deref(),
        Some("rauc: signature verification failed")
    );
    assert_eq!(u.offered(Some(&o)).unwrap(), Next::Nothing);

    let o = offer("5.0");
    assert_eq!(u.offered(Some(&o)).unwrap(), Next::Download(o.clone()));
    std::fs::write(u.part_path("5.0"), b"abd").unwrap();
    u.downloaded(&o, Err("SHA-256 differs".into())).unwrap();
    assert_eq!(state(&u), Some(UpdateState::Refused));
    assert!(!u.part_path("5.0").exists() && !u.bundle_path("5.0").exists());
    assert_eq!(u.offered(Some(&o)).unwrap(), Next::Nothing);
}

#[test]
fn the_running_version_is_not_offered_and_a_stale_result_is_ignored() {
    let k = Kiosk::new("2.0");
    let mut u = k.open();
    assert_eq!(u.offered(Some(&offer("2.0"))).unwrap(), Next::Nothing);
    k.installer_says("9.9", true, "");
    assert!(!u.poll_installer().unwrap());
    assert_eq!(u.report(), None);
}

#[test]
fn a_restart_that_cannot_be_asked_for_leaves_the_update_waiting() {
    let k = Kiosk::new("1.0");
    let mut u = installed(&k, "2.0");
    std::fs::remove_dir(&k.cfg.run_dir).unwrap();
    assert!(u.switch().is_err());
    assert!(u.waiting_to_switch(), "still installed, not switching");
    k.boot("1.0", "boot-2");
    assert_eq!(
        state(&k.open()),
        Some(UpdateState::Installed),
        "no rollback judged"
    );
}
