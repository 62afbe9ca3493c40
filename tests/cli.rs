//! The `senim-kiosk` command line as a technician meets it: bad configuration files are
//! refused before anything starts, with the file, the key and what is expected.

use std::path::Path;
use std::process::Command;

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
}

fn demo_config() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("config/kiosk.demo.toml"))
        .expect("demo config")
        .replace(
            "catalog_dir = \"config/services\"",
            &format!("catalog_dir = {:?}", root.join("config/services")),
        )
}

/// Runs `senim-kiosk run` on a config text; returns (success, stderr).
fn run_with(config: &str) -> (bool, String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, config).expect("write config");
    let out = kiosk()
        .args(["run", "--windowed", "--config"])
        .arg(&path)
        // No display: if the config were accepted, the kiosk would fail later, differently.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run senim-kiosk");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        path,
        dir,
    )
}

#[test]
fn unknown_key_is_refused_with_file_and_key() {
    let config = demo_config().replace("idle_warning_secs = 60", "idle_warnin_secs = 60");
    let (ok, stderr, path, _dir) = run_with(&config);
    assert!(!ok);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("idle_warnin_secs"), "{stderr}");
    assert!(
        !stderr.contains("display"),
        "must stop before opening a window: {stderr}"
    );
}

#[test]
fn impossible_values_are_refused_naming_the_key() {
    for (from, to, key) in [
        (
            "idle_warning_secs = 60",
            "idle_warning_secs = -5",
            "session.idle_warning_secs",
        ),
        (
            "default_language = \"kk\"",
            "default_language = \"de\"",
            "kiosk.default_language",
        ),
        ("mode = \"hospital\"", "mode = \"hospitall\"", "kiosk.mode"),
        ("suffix = \"lf\"", "suffix = \"tab\"", "scanner.suffix"),
    ] {
        let config = demo_config().replace(from, to);
        assert_ne!(
            config,
            demo_config(),
            "pattern {from:?} not in the demo config"
        );
        let (ok, stderr, path, _dir) = run_with(&config);
        assert!(!ok, "{to} was accepted");
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        assert!(
            stderr.contains(key),
            "{to}: expected the key {key} in: {stderr}"
        );
    }
}

#[test]
fn missing_file_says_which() {
    let out = kiosk()
        .args(["check-config", "--config", "/nonexistent/senim/kiosk.toml"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/senim/kiosk.toml"), "{stderr}");
}

#[test]
fn check_config_accepts_the_demo_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = kiosk()
        .current_dir(root)
        .args(["check-config", "--config"])
        .arg(root.join("config/kiosk.demo.toml"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}
