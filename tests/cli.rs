//! The `senim-kiosk` command line as a technician meets it: bad configuration files are
//! refused before anything starts, with the file, the key and what is expected.
//!
//! Over 600 lines on purpose: one test file per binary, the subcommands side by side sharing the
//! pty and backend helpers.

mod support;

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

/// ICAO 9303 check digit (weights 7, 3, 1; A=10 … Z=35, `<`=0).
fn check_digit(s: &str) -> char {
    let sum: u32 = s
        .chars()
        .zip([7, 3, 1].iter().cycle())
        .map(|(c, w)| {
            let v = match c {
                '0'..='9' => c as u32 - '0' as u32,
                'A'..='Z' => c as u32 - 'A' as u32 + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    char::from_digit(sum % 10, 10).expect("digit")
}

/// A Kazakh ID card's TD1 MRZ carrying `iin`, as three lines.
fn td1(iin: &str) -> [String; 3] {
    let doc = "N01234567";
    let line1 = format!("IDKAZ{doc}{}{iin}<<<", check_digit(doc));
    let birth = &iin[..6];
    let expiry = "340101";
    let mut line2 = format!(
        "{birth}{}M{expiry}{}KAZ<<<<<<<<<<<",
        check_digit(birth),
        check_digit(expiry)
    );
    let composite = format!(
        "{}{}{}{}",
        &line1[5..30],
        &line2[0..7],
        &line2[8..15],
        &line2[18..29]
    );
    line2.push(check_digit(&composite));
    let line3 = format!("{:<<30}", "ZHANSERIKOVA<<AIGERIM");
    [line1, line2, line3]
}

#[test]
fn scan_prints_one_json_object_per_read() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let kiosk_end = dir.path().join("scanner-kiosk");
    let scanner_end = dir.path().join("scanner");
    let mut socat = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", kiosk_end.display()))
        .arg(format!("pty,raw,echo=0,link={}", scanner_end.display()))
        .spawn()
        .expect("socat is installed by scripts/setup.sh");
    let start = std::time::Instant::now();
    while !(kiosk_end.exists() && scanner_end.exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "socat made no pty pair"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut scan = kiosk()
        .args(["scan", "--suffix", "lf", "--port"])
        .arg(&kiosk_end)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start senim-kiosk scan");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = scan.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (tx_err, rx_err) = std::sync::mpsc::channel();
    let stderr = scan.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx_err.send(line);
        }
    });
    let connected = rx_err
        .recv_timeout(Duration::from_secs(30))
        .expect("scan reports the connection");
    assert!(connected.contains("connected"), "{connected}");

    let mut scanner = std::fs::OpenOptions::new()
        .write(true)
        .open(&scanner_end)
        .expect("open the simulated scanner");
    let mut next = |input: &str| -> serde_json::Value {
        scanner.write_all(input.as_bytes()).expect("write");
        scanner.flush().expect("flush");
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no JSON line for {input:?}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
    };
    let null = serde_json::Value::Null;

    let v = next("880101300010\n");
    assert_eq!(
        v,
        serde_json::json!({"kind": "iin", "valid": true, "iin": "880101300010", "symbology": null, "error": null})
    );
    let v = next("]C0880101300011\n");
    assert_eq!(v["kind"], "iin");
    assert_eq!(v["valid"], false);
    assert_eq!(v["iin"], null);
    assert_eq!(v["symbology"], "]C0");
    assert_eq!(v["error"], "check_digit");
    assert_eq!(next("8801013000\n")["error"], "wrong_length");

    let [l1, l2, l3] = td1("900502400122");
    let v = next(&format!("{l1}\n{l2}\n{l3}\n"));
    assert_eq!(v["kind"], "mrz", "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["iin"], "900502400122");

    // One character of the birth date misread by the scanner's OCR.
    let [l1, l2, l3] = td1("851231400031");
    let misread = format!("851281{}", &l2[6..]);
    let v = next(&format!("{l1}\n{misread}\n{l3}\n"));
    assert_eq!(v["kind"], "mrz", "{v}");
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"], "mrz_check_digit_birth_date");

    let v = next("hello world\n");
    assert_eq!(
        (&v["kind"], &v["valid"]),
        (&"unknown".into(), &false.into())
    );

    let _ = scan.kill();
    let _ = scan.wait();
    let _ = socat.kill();
    let _ = socat.wait();
}

/// `senim-kiosk` with the demo configuration and a data folder of its own.
fn kiosk_at(config: &Path, data: &Path) -> Command {
    let mut c = kiosk();
    c.arg("--config").arg(config).arg("--data").arg(data);
    c
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn enrol_then_sync_moves_the_queue_counts() {
    let backend = support::Backend::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, demo_config()).unwrap();
    let data = dir.path().join("data");
    {
        let mut store = senim_kiosk::store::Store::open(&data).unwrap();
        support::commit_appeal(&mut store, 7, 90_000);
        support::commit_appeal(&mut store, 8, 0);
    }

    let queue = || {
        json_of(
            &kiosk_at(&config, &data)
                .args(["queue", "--json"])
                .output()
                .unwrap(),
        )
    };
    let before = queue();
    assert_eq!(before["appeal"]["committed"], 2);
    assert_eq!(before["appeal"]["pending"], 2);
    assert_eq!(before["video"]["pending"], 1);
    assert_eq!(before["pending_video_bytes"], 90_000);

    // Not enrolled yet: sync says so, and what to do.
    let out = kiosk_at(&config, &data)
        .args(["sync", "--until-idle", "--backend", &backend.url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("senim-kiosk enrol CODE"));

    let code = backend.code("Ward 3");
    let out = kiosk_at(&config, &data)
        .args([
            "enrol",
            &format!("SENIM-ENROL:{code}"),
            "--backend",
            &backend.url,
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("Ward 3"), "{said}");

    // The code is single-use.
    let out = kiosk_at(&config, &data)
        .args(["enrol", &code, "--backend", &backend.url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already used"));

    let out = kiosk_at(&config, &data)
        .args(["sync", "--until-idle", "--backend", &backend.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = queue();
    assert_eq!(after["appeal"]["pending"], 0);
    assert_eq!(after["appeal"]["delivered"], 2);
    assert_eq!(after["video"]["delivered"], 1);
    assert_eq!(after["pending_video_bytes"], 0);
    assert!(after["last_success_at"].is_string());
    assert_eq!(backend.appeals().len(), 2);

    // The human table says the same.
    let out = kiosk_at(&config, &data).arg("queue").output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["appeal", "2", "0", "2", "0"]),
        "{table}"
    );
}

#[test]
fn a_bad_backend_on_the_command_line_is_refused_before_anything_happens() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, demo_config()).unwrap();
    let out = kiosk_at(&config, &dir.path().join("data"))
        .args(["sync", "--backend", "ftp://cc.example"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--backend") && said.contains("sync.backend_url"),
        "{said}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// A socat pseudo-terminal pair: the kiosk opens `kiosk_end`, the test plays the device on
/// `device_end`.
struct PtyPair {
    socat: std::process::Child,
    kiosk_end: std::path::PathBuf,
    device_end: std::path::PathBuf,
}

impl PtyPair {
    fn new(dir: &Path, name: &str) -> PtyPair {
        let kiosk_end = dir.join(format!("{name}-kiosk"));
        let device_end = dir.join(name);
        let socat = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", kiosk_end.display()))
            .arg(format!("pty,raw,echo=0,link={}", device_end.display()))
            .spawn()
            .expect("socat is installed by scripts/setup.sh");
        let start = std::time::Instant::now();
        while !(kiosk_end.exists() && device_end.exists()) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "socat made no pty pair"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        PtyPair {
            socat,
            kiosk_end,
            device_end,
        }
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
    }
}

/// The demo config with a printer on `port` and the store in `data_dir`.
fn printer_config(dir: &Path, port: &Path, data_dir: &Path) -> std::path::PathBuf {
    let config = format!(
        "{}\n[printer]\nport = {:?}\nwidth_dots = 384\n",
        demo_config().replace(
            "data_dir = \"demo-data/kiosk\"",
            &format!("data_dir = {data_dir:?}")
        ),
        port
    );
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

/// Runs `print-test` with `config` and returns what the printer at the other end of `device`
/// received, up to the cut.
fn print_test_slip(config: &Path, mut device: std::fs::File) -> Vec<u8> {
    use std::io::Read;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = device.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            if n == 0 || got.ends_with(&[0x1D, b'V', 66, 0]) {
                let _ = tx.send(got);
                break;
            }
        }
    });
    let out = kiosk()
        .args(["print-test", "--config"])
        .arg(config)
        .output()
        .expect("run print-test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the printer received a whole slip")
}

#[test]
fn print_test_sends_a_slip_with_the_kiosk_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut store = senim_kiosk::store::Store::open(&data).expect("store");
    store
        .set_enrolment(&senim_kiosk::store::Enrolment {
            kiosk_id: "K-PRNT42".into(),
            token: "secret".into(),
            site: "Test site".into(),
            mode: senim_protocol::SiteMode::Hospital,
            backend_url: "http://127.0.0.1:9".into(),
            pin: None,
        })
        .expect("enrol");
    drop(store);
    let pty = PtyPair::new(dir.path(), "printer");
    let config = printer_config(dir.path(), &pty.kiosk_end, &data);

    // The printer: everything up to the cut.
    let device = std::fs::File::open(&pty.device_end).expect("open the printer end");
    let bytes = print_test_slip(&config, device);
    assert!(bytes.starts_with(&[0x1B, b'@']) || bytes.starts_with(&[0x10, 0x04]));
    assert!(
        bytes.windows(16).any(|w| w == b"Kiosk: K-PRNT42\n"),
        "kiosk id not on the slip"
    );
}

/// A USB printer-class printer (`/dev/senim-printer → /dev/usb/lp0` on the image) is no
/// serial port: played here by a link to a FIFO, which the kiosk must write as a file.
#[test]
fn a_printer_that_is_no_serial_port_is_found_by_doctor_and_prints_the_test_slip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let fifo = dir.path().join("lp0");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    let link = dir.path().join("senim-printer");
    std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
    // The printer: opened read-write so that it is there before and between the kiosk's opens.
    let device = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("open the printer end");
    let config = printer_config(dir.path(), &link, &data);

    let out = kiosk()
        .args(["doctor", "--json", "--config"])
        .arg(&config)
        .output()
        .expect("run doctor");
    let checks = doctor_checks(&out);
    let printer = check(&checks, "printer");
    assert_eq!(printer["level"], "ok", "{printer}");
    let detail = printer["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("USB printer class"), "{detail}");
    assert!(
        detail.contains(&format!("→ {}", fifo.display())),
        "doctor names what the link leads to: {detail}"
    );

    let bytes = print_test_slip(&config, device);
    assert!(bytes.starts_with(&[0x1B, b'@']), "no status query first");
    assert!(bytes.ends_with(&[0x1D, b'V', 66, 0]));
}

#[test]
fn print_test_fails_clearly_without_a_printer() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No [printer] section at all.
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, demo_config()).expect("write config");
    let out = kiosk()
        .args(["print-test", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[printer] port"), "{stderr}");

    // A printer that is not plugged in.
    let config = printer_config(
        dir.path(),
        &dir.path().join("no-such-printer"),
        &dir.path().join("data"),
    );
    let out = kiosk()
        .args(["print-test", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no such device"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "print-test creates no store"
    );
}

/// Copies the shipped catalogue to a temporary folder for breaking.
fn catalogue_copy() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("images")).expect("images");
    for sub in ["", "images"] {
        for entry in std::fs::read_dir(root.join(sub)).expect("read catalogue") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap()))
                    .expect("copy");
            }
        }
    }
    dir
}

#[test]
fn catalog_check_accepts_the_shipped_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = kiosk()
        .current_dir(root)
        .args(["catalog", "check"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
    assert!(stdout.starts_with("config/services: ok"), "{stdout}");
    assert!(stdout.contains("services in"), "{stdout}");
}

#[test]
fn catalog_check_lists_every_problem_and_the_kiosk_refuses_the_same() {
    let dir = catalogue_copy();
    // A missing Kazakh step text, a drawing that is gone, a link to an intermediary's site.
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{from:?} not in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    };
    edit(
        "03-no-criminal-record.toml",
        "kk = \"egov.kz порталына кіріңіз: ЭЦҚ-мен немесе ЖСН мен құпиясөз арқылы.\", ",
        "",
    );
    std::fs::remove_file(dir.path().join("images/rings.svg")).expect("remove");
    edit(
        "13-driving-licence.toml",
        "https://www.gov.kz/services/3131",
        "https://egov-help.kz/prava",
    );

    let out = kiosk()
        .args(["catalog", "check"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = stdout.lines().collect();
    assert_eq!(problems.len(), 3, "{stdout}");
    let at = |file: &str| dir.path().join(file).display().to_string();
    assert!(
        problems.contains(
            &format!(
        "{}: service `no-criminal-record`: step 1: `text` has no `kk` text (missing or empty)",
        at("03-no-criminal-record.toml")
    )
            .as_str()
        ),
        "{stdout}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&at("11-marriage-registration.toml"))
                && p.contains(
                    "service `marriage-registration`: step 3: image `images/rings.svg` is missing"
                )),
        "{stdout}"
    );
    assert!(
        problems.iter().any(|p| p
            .contains("service `driving-licence`: portal_url `https://egov-help.kz/prava`")
            && p.contains("not an official host")),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 problem(s)"));

    // The kiosk refuses to start with this catalogue, with the same lines.
    let config = demo_config().replace(
        &format!(
            "catalog_dir = {:?}",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services")
        ),
        &format!("catalog_dir = {:?}", dir.path()),
    );
    let (ok, stderr, _path, _config_dir) = run_with(&config);
    assert!(!ok);
    for problem in problems {
        assert!(stderr.contains(problem), "{problem} not in: {stderr}");
    }
    assert!(
        !stderr.contains("display"),
        "refused before opening a window: {stderr}"
    );
}

#[test]
fn catalog_check_names_a_missing_folder() {
    let out = kiosk()
        .args(["catalog", "check", "/nonexistent/senim/services"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/senim/services"), "{stderr}");
}

/// `doctor --json`: one JSON object per line.
fn doctor_checks(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn check<'a>(checks: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
}

#[test]
fn doctor_fails_each_missing_device_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    let text = demo_config()
        .replace(
            "port = \"demo-data/scanner-kiosk\"",
            "port = \"/dev/senim-test-no-such-scanner\"",
        )
        .replace(
            "backend_url = \"http://127.0.0.1:8080\"",
            "backend_url = \"\"\nstandalone = true",
        );
    std::fs::write(&config, text).unwrap();
    let out = kiosk_at(&config, &dir.path().join("data"))
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed check fails doctor");
    let checks = doctor_checks(&out);
    let scanner = check(&checks, "scanner");
    assert_eq!(scanner["level"], "fail");
    assert!(scanner["detail"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert!(scanner["hint"].as_str().unwrap().contains("cable"));
    let enrolment = check(&checks, "enrolment");
    assert_eq!(enrolment["level"], "fail");
    assert!(enrolment["hint"]
        .as_str()
        .unwrap()
        .contains("senim-kiosk enrol CODE"));
    assert_eq!(
        check(&checks, "network")["level"],
        "warn",
        "stand-alone kiosk"
    );
    assert_eq!(check(&checks, "store")["level"], "ok");
    assert_eq!(check(&checks, "catalogue")["level"], "ok");
    // The human form says the same, a line per check.
    let out = kiosk_at(&config, &dir.path().join("data"))
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("fail  scanner")),
        "{text}"
    );
}

/// `video = "auto"` and `audio = "auto"`: doctor says what it found (here, on a machine without
/// a camera: that it found none), and never a test source.
#[test]
fn doctor_says_what_auto_found_for_camera_and_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    let text = demo_config()
        .replace("video = \"test\"", "video = \"auto\"")
        .replace("audio = \"test\"", "audio = \"auto\"");
    assert!(text.contains("video = \"auto\""));
    std::fs::write(&config, text).unwrap();
    let out = kiosk_at(&config, &dir.path().join("data"))
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let checks = doctor_checks(&out);
    for (name, found, none) in [
        (
            "camera",
            "camera found: ",
            "no camera found (video = \"auto\")",
        ),
        (
            "microphone",
            "microphone found: ",
            "no microphone found (audio = \"auto\")",
        ),
    ] {
        let c = check(&checks, name);
        let detail = c["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(found) || detail == none,
            "{name}: {detail}"
        );
        assert!(!detail.contains("Test"), "{name}: a test source: {detail}");
    }
}

#[test]
fn doctor_with_the_demo_setup_is_all_ok() {
    let backend = support::Backend::start();
    let dir = tempfile::tempdir().unwrap();
    let scanner = PtyPair::new(dir.path(), "scanner");
    let config = dir.path().join("kiosk.toml");
    let text = demo_config()
        .replace(
            "port = \"demo-data/scanner-kiosk\"",
            &format!("port = {:?}", scanner.kiosk_end.display().to_string()),
        )
        .replace(
            "backend_url = \"http://127.0.0.1:8080\"",
            &format!("backend_url = {:?}", backend.url),
        );
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");
    let code = backend.code("Demo hospital");
    let out = kiosk_at(&config, &data)
        .args(["enrol", &code])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = kiosk_at(&config, &data)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let checks = doctor_checks(&out);
    let not_ok: Vec<_> = checks.iter().filter(|c| c["level"] != "ok").collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    assert_eq!(out.status.code(), Some(0));
    for name in [
        "network",
        "tls",
        "backend",
        "clock",
        "enrolment",
        "scanner",
        "disk",
    ] {
        check(&checks, name);
    }
}

/// `senim-kiosk enrol TEXT` on a blank kiosk (no `[sync] backend_url`): the text's URL is the
/// call-centre; the kiosk keeps it with its enrolment, so `doctor` then reaches it with
/// nothing configured. A bare code on a blank kiosk says how to give the URL.
#[test]
fn enrol_takes_the_whole_text_on_a_blank_kiosk_and_keeps_the_url() {
    let backend = support::Backend::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        "[kiosk]\nsite_name = \"Senim\"\nmode = \"hospital\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let code = backend.code("Ward 5");
    let out = kiosk_at(&config, &data)
        .args(["enrol", &code])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--url") && said.contains("backend_url"),
        "{said}"
    );
    let text = senim_callcentre::enrolment::text(&code, None, Some(&backend.url));
    let out = kiosk_at(&config, &data)
        .args(["enrol", &text])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kiosk_at(&config, &data)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let checks = doctor_checks(&out);
    assert_eq!(check(&checks, "enrolment")["level"], "ok");
    assert_eq!(check(&checks, "backend")["level"], "ok", "{checks:#?}");
}

#[test]
fn doctor_send_test_appeal_records_delivers_and_waits_for_the_confirmation() {
    let backend = support::Backend::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    let text = demo_config().replace(
        "backend_url = \"http://127.0.0.1:8080\"",
        &format!("backend_url = {:?}", backend.url),
    );
    assert!(
        text.contains("video = \"test\""),
        "the demo uses the test camera"
    );
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");

    // Not enrolled: refused with what to do, nothing recorded.
    let out = kiosk_at(&config, &data)
        .args(["doctor", "--send-test-appeal", "--seconds", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("senim-kiosk enrol CODE"));

    let code = backend.code("Ward 5");
    let out = kiosk_at(&config, &data)
        .args(["enrol", &code])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = kiosk_at(&config, &data)
        .args(["doctor", "--send-test-appeal", "--seconds", "2"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("has the record and the video"), "{said}");

    let held = backend.appeals();
    assert_eq!(held.len(), 1);
    let appeal = &held[0];
    assert!(appeal.test, "marked as a test appeal");
    assert!(appeal.iin.is_none());
    // Sealed by the kiosk (issue 19): the checksum is the sealed file's, kept as it came;
    // opened with the call-centre's keys, it is a WebM take.
    let stored = backend.video_at_rest(appeal).expect("the video's bytes");
    assert_eq!(
        appeal.video_sha256.as_deref(),
        Some(hex_sha256(&stored).as_str())
    );
    let video = backend
        .video(appeal)
        .expect("opened with the call-centre's keys");
    assert!(
        video.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]),
        "a WebM (EBML) file"
    );
    // Its duration is what was asked for (the recorder runs in real time).
    let secs = appeal.duration_seconds.unwrap_or(0);
    assert!((1..=3).contains(&secs), "{secs} s");
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the kiosk parked (refused for good by the call-centre, or a video whose checksum kept
/// failing) is listed with its reason by `queue` and `queue --json`, and `doctor` warns.
#[test]
fn parked_items_show_in_queue_and_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    let text = demo_config()
        .replace(
            "port = \"demo-data/scanner-kiosk\"",
            "port = \"/dev/senim-test-no-such-scanner\"",
        )
        .replace(
            "backend_url = \"http://127.0.0.1:8080\"",
            "backend_url = \"\"\nstandalone = true",
        );
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");
    let (record, video) = {
        let mut store = senim_kiosk::store::Store::open(&data).unwrap();
        let record = support::commit_appeal(&mut store, 1, 0);
        let video = support::commit_appeal(&mut store, 2, 40_000);
        let now = chrono::Utc::now();
        store
            .mark_rejected(1, "400 invalid_record: iin must be 12 digits", now)
            .unwrap();
        store.mark_delivered(&[2], now).unwrap();
        store
            .park_video(
                &video,
                "422 appeal_unknown: send the appeal record first",
                now,
            )
            .unwrap();
        (record, video)
    };

    let json = json_of(
        &kiosk_at(&config, &data)
            .args(["queue", "--json"])
            .output()
            .unwrap(),
    );
    let parked = json["parked"].as_array().expect("parked list");
    assert_eq!(parked.len(), 2, "{json}");
    assert_eq!(parked[0]["kind"], "appeal");
    assert_eq!(parked[0]["id"], record.as_str());
    assert!(parked[0]["reason"]
        .as_str()
        .unwrap()
        .contains("invalid_record"));
    assert_eq!(parked[1]["kind"], "video");
    assert_eq!(parked[1]["id"], video.as_str());
    assert_eq!(json["appeal"]["rejected"], 1);
    assert_eq!(json["video"]["rejected"], 1);
    assert_eq!(json["video"]["pending"], 0, "a parked video is not pending");

    let out = kiosk_at(&config, &data).arg("queue").output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("appeal_unknown") && table.contains(&video),
        "{table}"
    );

    let out = kiosk_at(&config, &data)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let checks = doctor_checks(&out);
    let sync = check(&checks, "sync");
    assert_eq!(sync["level"], "warn", "{sync}");
    assert!(
        sync["detail"].as_str().unwrap().contains("2 parked"),
        "{sync}"
    );

    // Once the cause is fixed, a technician puts them back in the queue.
    let out = kiosk_at(&config, &data)
        .args(["queue", "--json", "--retry-parked"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 parked item(s) back"));
    let json = json_of(&out);
    assert_eq!(json["parked"], serde_json::json!([]), "{json}");
    assert_eq!(json["appeal"]["pending"], 1);
    assert_eq!(json["video"]["pending"], 1);
}

#[test]
fn doctor_says_the_image_version_and_a_failed_update() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let os_release = dir.path().join("os-release");
    std::fs::write(&os_release, "ID=debian\nIMAGE_VERSION=\"1.4.0\"\n").unwrap();
    // What a kiosk keeps after a rollback it reported (src/update's ledger).
    std::fs::create_dir_all(data.join("updates")).unwrap();
    let ledger = senim_kiosk::update::Ledger {
        said: Some(senim_protocol::UpdateReport {
            version: "1.5.0".into(),
            state: senim_protocol::UpdateState::Failed,
            progress_percent: None,
            message: Some("rolled back: 1.5.0 did not reach serving".into()),
        }),
        failed: vec!["1.5.0".into()],
        ..Default::default()
    };
    std::fs::write(
        data.join("updates/state.json"),
        serde_json::to_vec(&ledger).unwrap(),
    )
    .unwrap();
    let config = dir.path().join("kiosk.toml");
    let text = format!(
        "{}\n[updates]\nquiet_hours = \"01:00-04:30\"\nos_release = {:?}\n",
        demo_config(),
        os_release.display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    let out = kiosk_at(&config, &data)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let checks = doctor_checks(&out);
    let updates = check(&checks, "updates");
    assert_eq!(updates["level"], "warn", "{updates}");
    let detail = updates["detail"].as_str().unwrap();
    assert!(detail.contains("image 1.4.0"), "{detail}");
    assert!(detail.contains("01:00-04:30"), "{detail}");
    assert!(detail.contains("1.5.0 failed: rolled back"), "{detail}");

    // A quiet-hours setting that does not read is refused at start, naming the key.
    std::fs::write(
        &config,
        format!("{}\n[updates]\nquiet_hours = \"2-5\"\n", demo_config()),
    )
    .unwrap();
    let out = kiosk_at(&config, &data).arg("doctor").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("updates.quiet_hours"), "{stderr}");
}
