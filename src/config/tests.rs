//! Configuration tests: the shipped example and demo files parse, and every refusal names
//! the file, the key and what is expected.

use super::*;
use crate::devices::printer::{CodePage, QrMode};
use crate::flow::Lang;

const MINIMAL: &str = "[kiosk]\nsite_name = \"Test\"\nmode = \"hospital\"\n";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("kiosk.toml"))
}

#[test]
fn shipped_example_and_demo_configs_parse() {
    for file in ["config/kiosk.example.toml", "config/kiosk.demo.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(config.kiosk.default_language, Lang::Kk, "{file}");
    }
}

/// The kiosk image's own configuration: a blank kiosk that waits for its enrolment scan, finds
/// its scanner and printer, and knows Kazakhstan's public holidays without naming them.
#[test]
fn the_images_config_is_a_blank_kiosk_that_finds_its_devices_and_knows_the_holidays() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-image/rootfs/etc/senim/kiosk.toml");
    let config = Config::load(&path).unwrap();
    assert!(config.awaits_enrolment(), "rests on the enrolment screen");
    assert_eq!(config.scanner.port, "auto");
    assert_eq!(config.printer.port, "auto");
    let expected: Vec<String> = senim_protocol::hours::KAZAKHSTAN_HOLIDAYS
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(config.callcentre.holidays, expected);
    // Independence Day 2026 (Wednesday 16 December) is closed; the next day is open.
    let schedule = config.callcentre.schedule().unwrap();
    let wednesday = chrono::NaiveDate::from_ymd_opt(2026, 12, 16).unwrap();
    assert!(!schedule.is_working_day(wednesday));
    assert!(schedule.is_working_day(wednesday.succ_opt().unwrap()));
}

#[test]
fn stand_alone_is_explicit_and_excludes_a_call_centre() {
    let blank = parse(MINIMAL).unwrap();
    assert!(
        blank.awaits_enrolment(),
        "nothing configured: the enrolment screen"
    );
    let alone = parse(&format!("{MINIMAL}[sync]\nstandalone = true\n")).unwrap();
    assert!(!alone.awaits_enrolment());
    let err = parse(&format!(
        "{MINIMAL}[sync]\nstandalone = true\nbackend_url = \"https://cc.example.kz\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("sync.standalone"), "{err}");
    // The URL an enrolment code carries becomes the backend.
    let with = blank.with_backend("https://cc.example.kz").unwrap();
    assert_eq!(with.sync.backend_url, "https://cc.example.kz");
    assert!(blank.with_backend("http://cc.example.kz").is_none());
}

/// A kiosk enrolled by a scanned code keeps the call-centre's URL in its store, and a later
/// start with nothing configured talks to it.
#[test]
fn a_blank_kiosk_adopts_the_call_centre_it_enrolled_with() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = parse(&format!(
        "{MINIMAL}[store]\ndata_dir = {:?}\n",
        dir.path().display().to_string()
    ))
    .unwrap();
    assert_eq!(config.adopt_enrolled_backend(), None, "no store yet");
    assert!(
        !dir.path().join(crate::store::DB_FILE).exists(),
        "not created by looking"
    );
    let mut store = crate::store::Store::open(dir.path()).unwrap();
    store
        .set_enrolment(&crate::store::Enrolment {
            kiosk_id: "K-ABCDEF".into(),
            token: "t".into(),
            site: "Ward 5".into(),
            mode: senim_protocol::SiteMode::Hospital,
            backend_url: "https://cc.example.kz".into(),
            pin: None,
        })
        .unwrap();
    assert_eq!(
        config.adopt_enrolled_backend().as_deref(),
        Some("https://cc.example.kz")
    );
    assert!(config.sync_config().unwrap().is_some());
    // A configured backend wins; a stand-alone kiosk adopts nothing.
    let mut alone = config.clone();
    alone.sync.backend_url.clear();
    alone.sync.standalone = true;
    assert_eq!(alone.adopt_enrolled_backend(), None);
}

#[test]
fn the_receipt_links_to_the_call_centres_status_page_by_default() {
    let c = parse(&format!(
        "{MINIMAL}[sync]\nbackend_url = \"https://cc.senim.example/\"\n"
    ))
    .unwrap();
    assert_eq!(
        c.status_url("A-7Q2M9XK3", "ABCDEFGHIJKLMNOP").as_deref(),
        Some("https://cc.senim.example/s/A-7Q2M9XK3/ABCDEFGHIJKLMNOP")
    );
}

#[test]
fn minimal_config_takes_documented_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.session.idle_warning_secs, 60);
    assert_eq!(c.kiosk.default_language, Lang::Kk);
    assert!(c.scanner.options().is_none(), "no port means no scanner");
    assert!(c.printer.options().is_none(), "no port means no printer");
    assert_eq!(c.status_url("A-7Q2M9XK3", "ABCDEFGHIJKLMNOP"), None);
    assert!(
        !c.camera.has_video() && !c.camera.has_audio(),
        "no [camera] means none fitted"
    );
}

#[test]
fn unknown_key_names_file_and_key() {
    let e = parse(&format!("{MINIMAL}[session]\nidle_warnig_secs = 5\n")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("kiosk.toml: key `session"), "{msg}");
    assert!(msg.contains("idle_warnig_secs"), "{msg}");
    assert!(
        msg.contains("idle_warning_secs"),
        "suggests the right key: {msg}"
    );
}

#[test]
fn negative_timeout_is_refused_with_key() {
    let e = parse(&format!("{MINIMAL}[session]\nidle_warning_secs = -5\n")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("session.idle_warning_secs"), "{msg}");
}

#[test]
fn unknown_language_lists_the_choices() {
    let text = MINIMAL.replace("mode", "default_language = \"de\"\nmode");
    let msg = parse(&text).unwrap_err().to_string();
    assert!(msg.contains("kiosk.default_language"), "{msg}");
    assert!(
        msg.contains("kk") && msg.contains("ru") && msg.contains("en"),
        "{msg}"
    );
}

#[test]
fn impossible_values_are_refused() {
    let cases = [
        (
            "[session]\nidle_warning_secs = 0\n",
            "session.idle_warning_secs",
        ),
        (
            "[appeal]\nmax_recording_secs = 5\n",
            "appeal.max_recording_secs",
        ),
        (
            "[callcentre]\nopens = \"18:00\"\ncloses = \"09:00\"\n",
            "callcentre.closes",
        ),
        (
            "[callcentre]\ntimezone = \"Mars/Olympus\"\n",
            "callcentre.timezone",
        ),
        (
            "[callcentre]\nholidays = [\"2026-02-30\"]\n",
            "callcentre.holidays",
        ),
        ("[scanner]\nbaud = 1234\n", "scanner.baud"),
        ("[printer]\nbaud = 1234\n", "printer.baud"),
        ("[printer]\nwidth_dots = 380\n", "printer.width_dots"),
        ("[printer]\nwidth_dots = 8000\n", "printer.width_dots"),
        (
            "[printer]\nwrite_timeout_secs = 0\n",
            "printer.write_timeout_secs",
        ),
        (
            "[appeal]\nstatus_url = \"http://senim.example/a/{number}\"\n",
            "appeal.status_url",
        ),
        (
            "[appeal]\nstatus_url = \"https://senim.example/a/\"\n",
            "appeal.status_url",
        ),
        (
            "[appeal]\nstatus_url = \"https://{number}/a\"\n",
            "appeal.status_url",
        ),
        (
            "[appeal]\nstatus_url = \"https://senim.example/a/{number}/{code}/{code}\"\n",
            "appeal.status_url",
        ),
        (
            "[camera]\nvideo = \"v4l2\"\nvideo_device = \"\"\n",
            "camera.video_device",
        ),
        ("[camera]\nwidth = 4000\n", "camera.width"),
        ("[camera]\naudio_kbps = 1\n", "camera.audio_kbps"),
        ("[store]\nretention_days = 0\n", "store.retention_days"),
        (
            "[sync]\nbackend_url = \"ftp://cc.example\"\n",
            "sync.backend_url",
        ),
        ("[sync]\nchunk_kib = 1\n", "sync.chunk_kib"),
        ("[sync]\nbatch_size = 501\n", "sync.batch_size"),
        (
            "[technician]\npin_sha256 = \"1234\"\n",
            "technician.pin_sha256",
        ),
        ("[technician]\npin_hash = \"1234\"\n", "technician.pin_hash"),
        (
            "[technician]\npin_hash = \"$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"\n",
            "technician.pin_hash",
        ),
    ];
    for (extra, key) in cases {
        let msg = parse(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
        assert!(msg.contains(key), "{extra}: {msg}");
        assert!(msg.contains("expected"), "{extra}: {msg}");
    }
}

#[test]
fn printer_section_becomes_driver_options() {
    let c = parse(&format!(
            "{MINIMAL}[printer]\nport = \"/dev/ttyUSB0\"\nwidth_dots = 384\ncode_page = \"cp1251\"\nqr = \"raster\"\n\
             [appeal]\nstatus_url = \"https://senim.example/a/{{number}}?c={{code}}\"\n"
        ))
        .unwrap();
    let o = c.printer.options().unwrap();
    assert_eq!(o.port, "/dev/ttyUSB0");
    assert_eq!(o.paper.width_dots, 384);
    assert_eq!(o.paper.code_page, CodePage::Cp1251);
    assert_eq!(o.paper.code_page_number, 46, "Epson's number by default");
    assert_eq!(o.paper.qr, QrMode::Raster);
    assert_eq!(
        c.status_url("A-7Q2M9XK3", "ABCDEFGHIJKLMNOP").as_deref(),
        Some("https://senim.example/a/A-7Q2M9XK3?c=ABCDEFGHIJKLMNOP"),
        "[appeal] status_url overrides the call-centre's page"
    );
    let c = parse(&format!(
        "{MINIMAL}[printer]\nport = \"/dev/ttyUSB0\"\ncode_page_number = 73\n"
    ))
    .unwrap();
    assert_eq!(c.printer.options().unwrap().paper.code_page_number, 73);
    let msg = parse(&format!("{MINIMAL}[printer]\ncode_page = \"cp437\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("printer.code_page") && msg.contains("kz1048"),
        "{msg}"
    );
}

#[test]
fn missing_required_key_is_named() {
    let msg = parse("[kiosk]\nmode = \"hospital\"\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("site_name"), "{msg}");
}

#[test]
fn pin_hash_is_redacted_in_debug() {
    let text = format!(
        "{MINIMAL}[technician]\npin_sha256 = \"{}\"\n",
        "ab".repeat(32)
    );
    let c = parse(&text).unwrap();
    assert!(!format!("{c:?}").contains("abab"));
}

#[test]
fn pin_hash_is_argon2id_redacted_and_not_beside_the_old_key() {
    let hash = crate::config::hash_pin("4321").unwrap();
    let c = parse(&format!("{MINIMAL}[technician]\npin_hash = \"{hash}\"\n")).unwrap();
    assert!(c.technician.pin_set() && !c.technician.pin_deprecated());
    assert!(!format!("{c:?}").contains(&hash[20..]), "redacted");
    let both = format!(
        "{MINIMAL}[technician]\npin_hash = \"{hash}\"\npin_sha256 = \"{}\"\n",
        "ab".repeat(32)
    );
    let msg = parse(&both).unwrap_err().to_string();
    assert!(msg.contains("technician.pin_sha256"), "{msg}");
    // The old key alone is still read (deprecated): an upgraded kiosk keeps its PIN.
    let c = parse(&format!(
        "{MINIMAL}[technician]\npin_sha256 = \"{}\"\n",
        "ab".repeat(32)
    ))
    .unwrap();
    assert!(c.technician.pin_deprecated());
}

#[test]
fn plain_http_is_refused_unless_the_backend_is_this_machine() {
    for url in [
        "http://cc.senim.example",
        "http://10.0.0.5:8080",
        "http://127.0.0.1.example.kz",
        "http://[::2]:8080",
    ] {
        let err = parse(&format!("{MINIMAL}[sync]\nbackend_url = \"{url}\"\n"))
            .expect_err(url)
            .to_string();
        assert!(
            err.contains("sync.backend_url") && err.contains("https://") && err.contains(url),
            "{url}: {err}"
        );
    }
    for url in [
        "http://127.0.0.1:8080",
        "http://127.0.0.2",
        "http://localhost:8080/",
        "http://[::1]:8080",
        "https://cc.senim.example",
    ] {
        parse(&format!("{MINIMAL}[sync]\nbackend_url = \"{url}\"\n"))
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    // The command line's --backend goes through the same check.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    let overrides = Overrides {
        backend: Some("http://cc.senim.example".into()),
        ..Overrides::default()
    };
    let err = Config::load_with(&path, &overrides)
        .unwrap_err()
        .to_string();
    assert!(err.contains("plain http://"), "{err}");
}

#[test]
fn the_screens_diagonal_defaults_to_21_5_inches_and_must_be_a_screens() {
    assert_eq!(parse(MINIMAL).unwrap().display.diagonal_inches, 21.5);
    let c = parse(&format!("{MINIMAL}[display]\ndiagonal_inches = 15.6\n")).unwrap();
    assert_eq!(c.display.diagonal_inches, 15.6);
    for wrong in ["0.0", "-21.5", "6.5", "150.0"] {
        let e = parse(&format!("{MINIMAL}[display]\ndiagonal_inches = {wrong}\n")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("display.diagonal_inches"), "{msg}");
        assert!(msg.contains("between 7 and 100"), "{msg}");
    }
}
