//! The kiosk image's systemd units, udev rules, default configuration and scripts are valid,
//! checked with systemd's and udev's own parsers (`systemd-analyze verify`, `udevadm test`).
//!
//! Needs the `systemd` and `udev` packages (scripts/setup.sh) and root for a private mount
//! namespace (`unshare --mount`), as on the project's machines and CI. Booting the image is
//! `make image-test`, not part of this suite.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use senim_kiosk::config::Config;

fn image_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-image")
}

fn overlay() -> PathBuf {
    image_dir().join("rootfs")
}

/// The unit files the image ships, by name.
fn unit_names() -> Vec<String> {
    let dir = overlay().join("etc/systemd/system");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".service"))
        .collect();
    names.sort();
    names
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// A file-system root for `systemd-analyze verify --root`: the image's overlay, the host's
/// systemd units (the targets and services ours name), and an executable stub for every
/// command our units run (the image gets the real ones from Debian packages).
fn verify_root(units_from: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    fs::create_dir_all(r.join("usr/bin")).expect("usr/bin");
    fs::create_dir_all(r.join("usr/lib/systemd")).expect("usr/lib/systemd");
    for (link, target) in [("bin", "usr/bin"), ("sbin", "usr/bin"), ("lib", "usr/lib")] {
        std::os::unix::fs::symlink(target, r.join(link)).expect("symlink");
    }
    let host_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("sysinit.target").exists())
        .expect("systemd's units (install the systemd package: make setup)");
    fs::create_dir_all(r.join("usr/lib/systemd/system")).expect("unit dir");
    copy_tree(host_units, &r.join("usr/lib/systemd/system"));
    copy_tree(units_from, r);
    for name in unit_names_in(&r.join("etc/systemd/system")) {
        let text = fs::read_to_string(r.join("etc/systemd/system").join(&name)).expect("unit");
        for command in exec_commands(&text) {
            let stub = r.join(command.trim_start_matches('/'));
            if !stub.exists() {
                fs::create_dir_all(stub.parent().expect("parent")).expect("stub dir");
                fs::write(&stub, "#!/bin/sh\n").expect("stub");
                fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        }
    }
    root
}

fn unit_names_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("unit dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".service"))
        .collect()
}

/// The programs named by `Exec*=` lines, without systemd's `-+!@:` prefixes.
fn exec_commands(unit: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            key.trim().starts_with("Exec").then(|| {
                value
                    .trim()
                    .trim_start_matches(['-', '+', '!', '@', ':'])
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .filter(|c| c.starts_with('/'))
        .collect()
}

/// Runs `systemd-analyze verify` on the units of an overlay; returns (success, all output).
/// systemd-analyze exits 0 on unknown keys and unparsable values, printing a warning, so any
/// output at all counts as a finding.
fn verify_units(overlay: &Path, names: &[String]) -> (bool, String) {
    let root = verify_root(overlay);
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.path().display()))
        .args(names)
        .output()
        .expect("systemd-analyze (install the systemd package: make setup)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.trim().is_empty(), text)
}

#[test]
fn systemd_units_verify_cleanly() {
    let names = unit_names();
    assert!(
        names.contains(&"senim-kiosk.service".to_string()),
        "{names:?}"
    );
    let (ok, output) = verify_units(&overlay(), &names);
    assert!(ok, "systemd-analyze verify {names:?}:\n{output}");
}

#[test]
fn unit_verification_catches_a_broken_unit() {
    // The check above is only worth something if a mistake makes it fail.
    let broken = tempfile::tempdir().expect("tempdir");
    copy_tree(&overlay(), broken.path());
    let unit = broken.path().join("etc/systemd/system/senim-kiosk.service");
    let text = fs::read_to_string(&unit).expect("unit");
    fs::write(
        &unit,
        text.replace("WatchdogSec=30s", "WatchdogSec=half a minute"),
    )
    .expect("write");
    let (ok, output) = verify_units(broken.path(), &["senim-kiosk.service".to_string()]);
    assert!(!ok, "a bad WatchdogSec went unnoticed");
    assert!(output.contains("half a minute"), "{output}");
}

/// The value of `Key=` in a unit's text (the last one wins, as in systemd).
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .next_back()
        .map(str::trim)
}

#[test]
fn kiosk_service_is_restarted_on_exit_and_when_its_ui_freezes() {
    let unit =
        fs::read_to_string(overlay().join("etc/systemd/system/senim-kiosk.service")).expect("unit");
    assert_eq!(unit_value(&unit, "Restart"), Some("always"));
    // READY=1 and WATCHDOG=1 come from the kiosk, a child of cage (src/watchdog.rs).
    assert_eq!(unit_value(&unit, "Type"), Some("notify"));
    assert_eq!(unit_value(&unit, "NotifyAccess"), Some("all"));
    assert!(unit_value(&unit, "WatchdogSec").is_some_and(|v| !v.is_empty() && v != "0"));
    assert_eq!(unit_value(&unit, "User"), Some("senim"));
    assert_eq!(
        unit_value(&unit, "ExecStart"),
        Some("/usr/bin/cage -d -- /usr/lib/senim/kiosk-session")
    );
    let session = fs::read_to_string(overlay().join("usr/lib/senim/kiosk-session")).expect("x");
    assert!(
        session.contains("exec /usr/bin/senim-kiosk run --config"),
        "the kiosk must replace the shell to stay cage's direct child:\n{session}"
    );
}

/// Parses rules with udev's own parser: `udevadm test` reads every rules file, reporting
/// mistakes as `FILE:LINE message`. udev 252 (bookworm) has no `udevadm verify`, so the files
/// are bind-mounted over /etc/udev/rules.d in a private mount namespace.
fn udev_parse(rules_dir: &Path) -> String {
    let script = format!(
        "mount --bind '{}' /etc/udev/rules.d && udevadm test --action=add /sys/class/mem/null",
        rules_dir.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "udevadm test in a private mount namespace failed (needs root and the udev package: \
         make setup):\n{text}"
    );
    text
}

fn rules_findings(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with("/etc/udev/rules.d/"))
        .collect()
}

#[test]
fn udev_rules_parse_with_udev() {
    let rules = overlay().join("etc/udev/rules.d");
    let output = udev_parse(&rules);
    assert!(
        output.contains("Reading rules file: /etc/udev/rules.d/70-senim-devices.rules"),
        "udev did not read our rules:\n{output}"
    );
    assert_eq!(rules_findings(&output), Vec::<&str>::new(), "{output}");
}

#[test]
fn udev_parse_check_catches_a_broken_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&overlay().join("etc/udev/rules.d"), dir.path());
    // A technician's typical slip: a missing closing quote and a misspelt key.
    fs::write(
        dir.path().join("71-senim-local.rules"),
        "SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"1eab\", SYMLINK+=\"senim-scanner\n\
         SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"1eab\", SYMLNK+=\"senim-scanner\"\n",
    )
    .expect("write");
    let output = udev_parse(dir.path());
    let findings = rules_findings(&output);
    assert_eq!(findings.len(), 2, "{output}");
    assert!(findings.iter().all(|f| f.contains("71-senim-local.rules")));
}

#[test]
fn udev_rules_give_every_device_its_stable_name() {
    let rules = fs::read_to_string(overlay().join("etc/udev/rules.d/70-senim-devices.rules"))
        .expect("rules");
    let active: Vec<&str> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    for name in ["senim-scanner", "senim-camera", "senim-printer"] {
        let symlink = format!("SYMLINK+=\"{name}\"");
        assert!(
            active.iter().any(|l| l.contains(&symlink)),
            "no active rule names /dev/{name}"
        );
    }
}

#[test]
fn image_default_config_loads_and_uses_the_image_paths() {
    let path = overlay().join("etc/senim/kiosk.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    // Found, not configured: the udev rules' stable name first, then any USB serial port
    // (src/devices/scanner/discover.rs), so a replaced scanner needs no new configuration.
    assert_eq!(config.scanner.port, "auto");
    // Camera and microphone found at start, never the test sources.
    use senim_kiosk::devices::camera::{AudioSource, VideoSource};
    assert_eq!(config.camera.video, VideoSource::Auto);
    assert_eq!(config.camera.audio, AudioSource::Auto);
    // Where build.sh installs the catalogue, and on the writable data partition.
    assert_eq!(
        config.kiosk.catalog_dir,
        Path::new("/usr/share/senim/services")
    );
    assert!(
        config.store.data_dir.starts_with("/var/lib/senim"),
        "{}",
        config.store.data_dir.display()
    );
    let fstab = fs::read_to_string(overlay().join("etc/fstab")).expect("fstab");
    let data_mount = fstab
        .lines()
        .find(|l| l.starts_with("/dev/mapper/senim-data"))
        .expect("data partition in fstab");
    assert!(data_mount.split_whitespace().nth(1) == Some("/var/lib/senim"));
    assert!(fstab
        .lines()
        .any(|l| l.starts_with("LABEL=senim-root") && l.contains(" ro,")));
}

#[test]
fn image_scripts_are_valid_shell() {
    for (shell, file) in [
        ("sh", overlay().join("usr/lib/senim/kiosk-session")),
        ("sh", overlay().join("usr/lib/senim/senim-update")),
        ("bash", image_dir().join("build.sh")),
        ("bash", image_dir().join("test.sh")),
    ] {
        let out = Command::new(shell)
            .arg("-n")
            .arg(&file)
            .output()
            .expect(shell);
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mode = fs::metadata(&file).expect("stat").permissions().mode();
        assert!(mode & 0o111 != 0, "{} is not executable", file.display());
    }
}
