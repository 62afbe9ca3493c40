//! The call-centre configuration's tests: the shipped files parse, wrong keys are named, secrets stay hidden.

use super::*;

#[test]
fn the_shipped_example_parses_and_matches_the_defaults() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/callcentre.example.toml"
    ));
    let config = Config::load(path).unwrap();
    let mut expected = Config::default();
    expected.server.data_dir = PathBuf::from("/var/lib/senim-callcentre");
    // The one key the example sets on purpose: the sealing keys outside the data folder.
    expected.storage.key_file = Some(PathBuf::from("/etc/senim/callcentre-seal.keys"));
    assert_eq!(config, expected, "the example documents the defaults");
}

#[test]
fn the_demo_configuration_parses_and_is_open_around_the_clock() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/callcentre.demo.toml"
    ));
    let config = Config::load(path).unwrap();
    assert!(!config.console.secure_cookies);
    let schedule = config.schedule().unwrap();
    // A Sunday night in Almaty.
    let sunday = chrono::DateTime::parse_from_rfc3339("2026-11-22T18:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(schedule.is_open(sunday));
    assert!(!Config::default().schedule().unwrap().is_open(sunday));
}

#[test]
fn a_wrong_key_or_value_is_named() {
    let err = Config::parse("[server]\nlisten = \"nowhere\"\n", Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.listen"), "{err}");
    let err = Config::parse("[deadlines]\ndayz = 3\n", Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("dayz"), "{err}");
    let err = Config::parse(
        "[deadlines.topics]\nbribes = { days = 5 }\n",
        Path::new("x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("deadlines.topics.bribes"), "{err}");
    let err = Config::parse(
        "[sms]\nurl = \"https://sms.example\"\n",
        Path::new("x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("server.public_url"), "{err}");
    let err = Config::parse("[hours]\nopens = \"9am\"\n", Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hours.opens"), "{err}");
    let err = Config::parse("[tls]\ncert = \"a.pem\"\n", Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("both `cert` and `key`"), "{err}");
    let err = Config::parse(
        "[call]\nturn_urls = [\"turn:t:3478\"]\n",
        Path::new("x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("call.turn_secret"), "{err}");
}

#[test]
fn a_database_url_must_be_postgres_and_empty_means_the_embedded_file() {
    let err = Config::parse(
        "[database]\nurl = \"mysql://db/senim\"\n",
        Path::new("x.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("database.url") && err.contains("postgres://"),
        "{err}"
    );
    let pg = Config::parse(
        "[database]\nurl = \"postgres://senim@db/senim\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(
        pg.database.postgres_url(),
        Some("postgres://senim@db/senim")
    );
    let empty = Config::parse("[database]\nurl = \" \"\n", Path::new("x.toml")).unwrap();
    assert_eq!(
        empty.database.postgres_url(),
        None,
        "the embedded SQLite file"
    );
}

#[test]
fn the_turn_secret_never_shows_in_debug_output() {
    let config = Config::parse(
        "[call]\nturn_urls = [\"turn:t:3478\"]\nturn_secret = \"hunter2-secret\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}
