//! The PostgreSQL backend on a real PostgreSQL 15 (tests/common/postgres.rs): the SQL layer's
//! values, placeholders and transactions, the writers' advisory lock, `migrate` (empty, again,
//! twice at once, a newer schema refused), the PostgreSQL schema kept in step with SQLite's,
//! and connections that survive a restart of the server.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::postgres::TestPostgres;
use senim_callcentre::db::sql::{params, Connection, Dialect, Value};
use senim_callcentre::db::{migrate, Db, DbError, SCHEMA_VERSION};

/// Polls `f` until it holds, failing after a generous deadline.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `Db` keeps its connections in mutexes shared by the runtime's threads.
#[test]
fn a_connection_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Connection>();
}

#[test]
fn values_placeholders_and_nulls_go_in_and_come_back() {
    let pg = TestPostgres::start();
    let c = Connection::postgres(&pg.url()).unwrap();
    assert_eq!(c.dialect(), Dialect::Postgres);
    assert!(c.as_sqlite().is_none());
    c.execute_batch(
        "CREATE TABLE t (i BIGINT, s TEXT, b BYTEA, r DOUBLE PRECISION, f BOOLEAN, \
         small INTEGER, v VARCHAR(20), n NUMERIC)",
    )
    .unwrap();
    // ?2 before ?1, ?2 used twice, a string literal that looks like a placeholder.
    let changed = c
        .execute(
            "INSERT INTO t (s, i, b, r, f, small, v) \
             VALUES (?2 || '?1', ?1, ?3, ?4, ?5, ?6, ?2)",
            params![i64::MAX - 1, "қазақ", vec![0u8, 1, 255], 2.5, true, 7],
        )
        .unwrap();
    assert_eq!(changed, 1);
    c.execute(
        "INSERT INTO t (i, s, b, r, f, small, v) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            Value::Int(-3),
            Value::Null,
            Value::Null,
            Value::Int(4), // an integer into DOUBLE PRECISION, as SQLite takes it
            Value::Int(0), // 0/1 into BOOLEAN
            Value::Null,
            Value::Int(42), // an integer into text
        ],
    )
    .unwrap();
    let none: Option<String> = None;
    c.execute("INSERT INTO t (s) VALUES (?1)", params![none])
        .unwrap();
    type R = (
        Option<i64>,
        Option<String>,
        Option<Vec<u8>>,
        Option<f64>,
        Option<bool>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<R> = c
        .query_map(
            "SELECT i, s, b, r, f, small, v FROM t ORDER BY i DESC NULLS LAST",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        rows,
        [
            (
                Some(i64::MAX - 1),
                Some("қазақ?1".into()),
                Some(vec![0, 1, 255]),
                Some(2.5),
                Some(true),
                Some(7),
                Some("қазақ".into()),
            ),
            (
                Some(-3),
                None,
                None,
                Some(4.0),
                Some(false),
                None,
                Some("42".into())
            ),
            (None, None, None, None, None, None, None),
        ]
    );
    // Every kind comes back as the layer's Value.
    let raw = c
        .query_row(
            "SELECT i, s, b, r, f, small FROM t WHERE i = ?1",
            [i64::MAX - 1],
            |r| {
                Ok((0..6)
                    .map(|i| r.get_ref(i).cloned())
                    .collect::<Option<Vec<_>>>())
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        raw,
        [
            Value::Int(i64::MAX - 1),
            Value::Text("қазақ?1".into()),
            Value::Blob(vec![0, 1, 255]),
            Value::Real(2.5),
            Value::Int(1),
            Value::Int(7),
        ]
    );
    // A bare `?` counts on from the highest number, as in SQLite.
    let n: i64 = c
        .query_row(
            "SELECT CAST(?1 AS BIGINT) + CAST(? AS BIGINT)",
            params![40, 2],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 42);
    // NUMERIC (a SUM of integers) is refused with what to do.
    let err = c
        .query_row("SELECT SUM(i) FROM t WHERE i < 0", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("CAST"), "{err}");
    let sum: i64 = c
        .query_row(
            "SELECT CAST(SUM(i) AS BIGINT) FROM t WHERE i < 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sum, -3);
    // Text where PostgreSQL wants a number: a clear error, not a silent conversion.
    let err = c
        .execute("UPDATE t SET i = ?1", params!["not a number"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("CAST"), "{err}");
    // A statement PostgreSQL refuses says why.
    let err = c.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[test]
fn a_write_transaction_commits_or_rolls_back_and_writers_take_turns() {
    let pg = TestPostgres::start();
    let url = pg.url();
    let a = Connection::postgres(&url).unwrap();
    let b = Connection::postgres(&url).unwrap();
    a.execute_batch("CREATE TABLE w (n BIGINT NOT NULL)")
        .unwrap();
    // A writer never waits forever, nor holds the lock forever when its server goes quiet.
    let setting = |name: &str| -> String {
        a.query_row(&format!("SELECT current_setting('{name}')"), [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert_eq!(setting("lock_timeout"), "30s");
    assert_eq!(setting("idle_in_transaction_session_timeout"), "1min");

    // Rolled back: nothing of it stays, and the connection works on.
    a.begin_write().unwrap();
    a.execute("INSERT INTO w (n) VALUES (?1)", [1]).unwrap();
    assert!(a.execute("INSERT INTO w (n) VALUES (NULL)", []).is_err());
    a.rollback().unwrap();
    assert_eq!(count(&b, "SELECT count(*) FROM w"), 0);

    // A transaction whose end was never called is rolled back by the next one's start.
    a.begin_write().unwrap();
    a.execute("INSERT INTO w (n) VALUES (?1)", [1]).unwrap();
    a.begin_write().unwrap();
    a.commit().unwrap();
    assert_eq!(count(&b, "SELECT count(*) FROM w"), 0);

    // A second writer waits for the first one's advisory lock, then goes on.
    a.begin_write().unwrap();
    a.execute("INSERT INTO w (n) VALUES (?1)", [1]).unwrap();
    let second = std::thread::spawn(move || {
        b.begin_write().unwrap();
        // It sees the first writer's committed row: it ran strictly after.
        let seen = count(&b, "SELECT count(*) FROM w");
        b.execute("INSERT INTO w (n) VALUES (?1)", [2]).unwrap();
        b.commit().unwrap();
        seen
    });
    let watcher = Connection::postgres(&url).unwrap();
    wait_until("the second writer to wait for the lock", || {
        count(
            &watcher,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        ) == 1
    });
    a.commit().unwrap();
    assert_eq!(second.join().unwrap(), 1);
    assert_eq!(count(&watcher, "SELECT count(*) FROM w"), 2);
}

#[test]
fn migrate_makes_the_schema_once_even_twice_at_once() {
    let pg = TestPostgres::start();
    let url = pg.url();
    let first = migrate::postgres(&url).unwrap();
    assert_eq!((first.before, first.after), (0, SCHEMA_VERSION));
    let again = migrate::postgres(&url).unwrap();
    assert_eq!(
        (again.before, again.after),
        (SCHEMA_VERSION, SCHEMA_VERSION)
    );

    let url2 = pg.url();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let url = url2.clone();
            std::thread::spawn(move || migrate::postgres(&url))
        })
        .collect();
    let mut befores: Vec<usize> = runs
        .into_iter()
        .map(|t| t.join().unwrap().unwrap().before)
        .collect();
    befores.sort();
    assert_eq!(befores, [0, SCHEMA_VERSION]);
    let c = Connection::postgres(&url2).unwrap();
    assert_eq!(
        count(&c, "SELECT count(*) FROM schema_version"),
        migrate::POSTGRES.len() as i64,
        "each migration applied once"
    );
}

#[test]
fn the_command_line_migrates_the_configured_database() {
    let pg = TestPostgres::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("callcentre.toml");
    std::fs::write(&config, format!("[database]\nurl = {:?}\n", pg.url())).unwrap();
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(
        first.contains(&format!("from version 0 to version {SCHEMA_VERSION}")),
        "{first}"
    );
    let second = run();
    assert!(second.contains("up to date"), "{second}");
}

#[test]
fn the_command_line_migrates_the_sqlite_file_without_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
            .arg("--data")
            .arg(dir.path())
            .arg("migrate")
            .env_remove("SENIM_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(
        first.contains(&format!(
            "SQLite schema went from version 0 to version {SCHEMA_VERSION}"
        )),
        "{first}"
    );
    assert!(dir.path().join("senim.sqlite3").exists());
    let second = run();
    assert!(second.contains("up to date"), "{second}");
}

/// (table, column, position, type, nullable) of SQLite's schema, types in PostgreSQL's words.
fn sqlite_columns() -> BTreeSet<(String, String, i64, String, bool)> {
    let dir = tempfile::tempdir().unwrap();
    drop(Db::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("senim.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.name, p.name, p.cid, p.type, p.\"notnull\" OR p.pk > 0 \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let ty: String = r.get(3)?;
        let ty = match ty.as_str() {
            "INTEGER" => "bigint",
            "TEXT" => "text",
            "BLOB" => "bytea",
            "REAL" => "double precision",
            other => panic!("a SQLite column of type {other}: map it here"),
        };
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get::<_, i64>(2)? + 1,
            ty.to_string(),
            !r.get::<_, bool>(4)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn sqlite_indexes() -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    drop(Db::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("senim.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' \
             AND name NOT LIKE 'sqlite_autoindex_%'",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_postgres_schema_has_sqlites_tables_columns_and_indexes() {
    let pg = TestPostgres::start();
    let url = pg.migrated_url();
    let c = Connection::postgres(&url).unwrap();
    let pg_columns: BTreeSet<_> = c
        .query_map(
            "SELECT table_name::text, column_name::text, CAST(ordinal_position AS BIGINT), \
             data_type::text, is_nullable::text = 'YES' \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> 'schema_version'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap()
        .into_iter()
        .collect();
    let sqlite = sqlite_columns();
    let only_sqlite: Vec<_> = sqlite.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "the schemas differ (add the migration to both lists, db/migrate.rs):\n\
         only in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
    let pg_indexes: BTreeSet<String> = c
        .query_map(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
            [],
            |r| r.get(0),
        )
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(pg_indexes, sqlite_indexes());
}

#[test]
fn a_database_of_a_newer_or_older_schema_is_refused() {
    let pg = TestPostgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    // Not migrated yet: servers say to run migrate, and change nothing.
    let err = Db::connect(dir.path(), Some(&url)).unwrap_err().to_string();
    assert!(err.contains("senim-callcentre migrate"), "{err}");
    let c = Connection::postgres(&url).unwrap();
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        0
    );
    migrate::postgres(&url).unwrap();
    c.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (?1, 'later')",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    for err in [
        migrate::postgres(&url).unwrap_err(),
        Db::connect(dir.path(), Some(&url)).unwrap_err(),
    ] {
        assert!(matches!(err, DbError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer senim-callcentre"), "{err}");
    }
}

#[test]
fn a_wrong_address_says_what_to_check() {
    let err = Connection::postgres("postgres://senim@127.0.0.1:1/senim")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[database] url"), "{err}");
    assert!(err.contains("PGPASSWORD"), "{err}");
    let err = Connection::postgres("postgres://senim@127.0.0.1:1/senim?nonsense=1")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("postgres://USER@HOST"), "{err}");
}

#[test]
fn connections_survive_a_restart_of_postgres() {
    let pg = TestPostgres::start();
    let url = pg.migrated_url();
    let reader = Connection::postgres(&url).unwrap();
    let writer = Connection::postgres(&url).unwrap();
    assert_eq!(count(&reader, "SELECT count(*) FROM kiosks"), 0);
    // A transaction open while the server goes away is lost, and says so.
    writer.begin_write().unwrap();
    pg.stop();
    let err = reader
        .query_row("SELECT count(*) FROM kiosks", [], |r| r.get::<_, i64>(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("PostgreSQL"), "{err}");
    pg.start_again();
    let lost = writer.execute(
        "INSERT INTO kiosks (id, site, token_hash, enrolled_at) VALUES ('K1', 's', 't', 'now')",
        [],
    );
    assert!(lost.is_err(), "a transaction cannot outlive its connection");
    writer.rollback().unwrap();
    // The next uses open new connections by themselves.
    writer.begin_write().unwrap();
    writer
        .execute(
            "INSERT INTO kiosks (id, site, token_hash, enrolled_at) \
             VALUES ('K1', 's', 't', 'now')",
            [],
        )
        .unwrap();
    writer.commit().unwrap();
    assert_eq!(count(&reader, "SELECT count(*) FROM kiosks"), 1);
}

/// A CA and a certificate it signed for 127.0.0.1: (CA PEM, server chain PEM, server key PEM).
fn test_ca_and_server_certificate() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Senim test PostgreSQL CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), server.pem(), key.serialize_pem())
}

#[test]
fn sslmode_require_speaks_tls_and_checks_the_servers_certificate() {
    let (ca, chain, key) = test_ca_and_server_certificate();
    let pg = TestPostgres::start_with_tls(&chain, &key);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let url = pg.url();

    let tls = Connection::postgres(&format!(
        "{url}?sslmode=require&sslrootcert={}",
        ca_file.display()
    ))
    .unwrap();
    let encrypted: bool = tls
        .query_row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(encrypted, "the session is encrypted");
    // Without the CA that signed it, the server's certificate is not trusted.
    let err = Connection::postgres(&format!("{url}?sslmode=require"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.contains("sslrootcert"), "{err}");
    // Without sslmode=require the connection is plain.
    let plain = Connection::postgres(&url).unwrap();
    let encrypted: bool = plain
        .query_row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!encrypted);
}
