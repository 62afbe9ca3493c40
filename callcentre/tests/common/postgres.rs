//! A real PostgreSQL for tests: Debian's PostgreSQL 15 server (`scripts/setup.sh` installs it)
//! started in a temporary folder on loopback, as the `postgres` user when the tests run as
//! root (the server refuses root), and stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Set (to anything but `0`) to run the suite's servers on PostgreSQL instead of the embedded
/// SQLite file: every [`super::TestServer`] then keeps its data in a database of its own on one
/// cluster per test process (`make test` runs the call-centre's tests once each way).
pub const SUITE_ON_POSTGRES: &str = "SENIM_TEST_POSTGRES";

/// The file in a test server's data folder naming its database, so a restart on the same
/// folder finds its data again.
const URL_FILE: &str = "test-postgres-url";

static SUITE_CLUSTER: std::sync::OnceLock<TestPostgres> = std::sync::OnceLock::new();

/// Stops the suite's cluster when the test process exits (a static is never dropped).
extern "C" fn stop_suite_cluster() {
    if let Some(pg) = SUITE_CLUSTER.get() {
        let mut ctl = as_server_user("pg_ctl");
        ctl.arg("-D")
            .arg(pg.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = ctl.status();
        let _ = std::fs::remove_dir_all(pg.dir.path());
    }
}

/// Whether this run keeps the test servers' data on PostgreSQL ([`SUITE_ON_POSTGRES`]): tests of
/// the SQLite file itself (its bytes, pragmas, SQLite's trigger syntax) check it only when not.
pub fn suite_on_postgres() -> bool {
    matches!(std::env::var(SUITE_ON_POSTGRES), Ok(v) if !v.is_empty() && v != "0")
}

/// With [`SUITE_ON_POSTGRES`] set: the URL of the migrated database of the test server whose
/// data folder is `data_dir` (made on first use); `None` for the embedded store.
pub fn suite_database(data_dir: &Path) -> Option<String> {
    if !suite_on_postgres() {
        return None;
    }
    let file = data_dir.join(URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return Some(url);
    }
    let pg = SUITE_CLUSTER.get_or_init(|| {
        let pg = TestPostgres::start();
        // SAFETY: registers a plain extern "C" function with no arguments, as atexit expects.
        unsafe { libc::atexit(stop_suite_cluster) };
        pg
    });
    let url = pg.migrated_url();
    std::fs::write(&file, &url).expect("note the test database's URL in the data folder");
    Some(url)
}

/// The command-line arguments that point `senim-callcentre` at the test server's database when
/// the suite runs on PostgreSQL (`--database-url URL`); none on the embedded store.
pub fn store_args(data_dir: impl AsRef<Path>) -> Vec<String> {
    match std::fs::read_to_string(data_dir.as_ref().join(URL_FILE)) {
        Ok(url) => vec!["--database-url".into(), url],
        Err(_) => Vec::new(),
    }
}

/// The store of the test server whose data folder is `data_dir`, opened anew (as a command
/// would): its PostgreSQL database in a PostgreSQL run, else its SQLite file.
pub fn open_store(data_dir: &Path) -> senim_callcentre::db::Db {
    let url = std::fs::read_to_string(data_dir.join(URL_FILE)).ok();
    senim_callcentre::db::Db::connect(data_dir, url.as_deref()).expect("open the test's store")
}

/// Where Debian puts the server's programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// One PostgreSQL server of a test.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    port: u16,
    next_db: AtomicUsize,
    /// Extra `-c` settings of the server (TLS), kept for a restart.
    options: String,
}

fn as_server_user(program: &str) -> Command {
    let path = Path::new(BIN).join(program);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (is postgresql-15 installed? scripts/setup.sh)"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestPostgres {
    /// Makes a cluster in a temporary folder and starts it on a free loopback port.
    pub fn start() -> TestPostgres {
        TestPostgres::start_with(None)
    }

    /// As [`TestPostgres::start`], also taking TLS connections with this certificate chain
    /// and key (PEM).
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> TestPostgres {
        TestPostgres::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> TestPostgres {
        let dir = tempfile::Builder::new()
            .prefix("senim-pg-")
            .tempdir()
            .expect("temporary folder");
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(dir.path());
                    c
                },
                "chown the cluster folder",
            );
        }
        let data = dir.path().join("data");
        let mut initdb = as_server_user("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
            .arg("--no-sync");
        run(initdb, "initdb");
        let options = match tls {
            None => String::new(),
            Some((cert, key)) => {
                let (cert_file, key_file) =
                    (dir.path().join("server.crt"), dir.path().join("server.key"));
                std::fs::write(&cert_file, cert).expect("write the certificate");
                std::fs::write(&key_file, key).expect("write the key");
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod the key");
                // SAFETY: geteuid has no preconditions and cannot fail.
                if unsafe { libc::geteuid() } == 0 {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(&cert_file).arg(&key_file);
                    run(c, "chown the certificate");
                }
                format!(
                    " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                    cert_file.display(),
                    key_file.display()
                )
            }
        };
        let mut tries = 0;
        loop {
            let port = free_port();
            if pg_ctl_start(dir.path(), port, &options) {
                return TestPostgres {
                    dir,
                    port,
                    next_db: AtomicUsize::new(0),
                    options,
                };
            }
            tries += 1;
            assert!(
                tries < 5,
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
            );
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a new, empty database on this server.
    pub fn url(&self) -> String {
        let name = format!("senim_{}", self.next_db.fetch_add(1, Ordering::Relaxed));
        let mut psql = Command::new(Path::new(BIN).join("psql"));
        psql.args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .arg("-p")
        .arg(self.port.to_string())
        .arg("-c")
        .arg(format!("CREATE DATABASE {name}"));
        run(psql, "CREATE DATABASE");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The URL of a new database with the call-centre's schema (`senim-callcentre migrate`).
    pub fn migrated_url(&self) -> String {
        let url = self.url();
        senim_callcentre::db::migrate::postgres(&url).expect("migrate the test database");
        url
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are ended, as in a restart).
    pub fn stop(&self) {
        let mut ctl = as_server_user("pg_ctl");
        ctl.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(ctl, "pg_ctl stop");
    }

    /// Starts the stopped server again on its port.
    pub fn start_again(&self) {
        assert!(
            pg_ctl_start(self.dir.path(), self.port, &self.options),
            "PostgreSQL did not start again: {}",
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// The cluster's folder (its log is `server.log` there).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let mut ctl = as_server_user("pg_ctl");
        ctl.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = ctl.status();
    }
}

/// `pg_ctl start` of the cluster in `dir` on `port`, waiting until it takes connections.
fn pg_ctl_start(dir: &Path, port: u16, options: &str) -> bool {
    let mut ctl = as_server_user("pg_ctl");
    ctl.arg("-D")
        .arg(dir.join("data"))
        .arg("-l")
        .arg(dir.join("server.log"))
        .arg("-o")
        .arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c max_connections=200{options}",
            dir.display()
        ))
        .args(["-w", "-t", "60", "start"]);
    ctl.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
