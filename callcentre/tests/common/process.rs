//! The real `senim-callcentre` binary serving on a free loopback port, for tests that must
//! kill a server as a machine dies or talk to it as another program would; killed when
//! dropped. And a wait on a condition with a deadline.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `senim-callcentre serve`.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as it printed on its first line.
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary: cargo's own for the call-centre's tests; `SENIM_CALLCENTRE_BIN` for another
/// crate's tests that include this module (the kiosk's).
fn binary() -> std::path::PathBuf {
    match option_env!("CARGO_BIN_EXE_senim-callcentre") {
        Some(bin) => bin.into(),
        None => std::env::var_os("SENIM_CALLCENTRE_BIN")
            .expect("SENIM_CALLCENTRE_BIN names the senim-callcentre binary (make test sets it)")
            .into(),
    }
}

/// Runs `senim-callcentre <args> serve --listen 127.0.0.1:0` and waits for its address.
pub fn serve(args: &[&std::ffi::OsStr]) -> Served {
    match start(args, Stdio::null()) {
        Ok(served) => served,
        Err((_, first)) => panic!("unexpected first line {first:?}"),
    }
}

/// [`serve`] for a server that may refuse to start: its exit status and what it printed on
/// stderr if it did (its stderr is a pipe nobody reads while it serves: kill it soon).
pub fn serve_or_exit(args: &[&std::ffi::OsStr]) -> Result<Served, std::process::Output> {
    start(args, Stdio::piped()).map_err(|(child, _)| child.wait_with_output().unwrap())
}

/// Starts the server; its address from the first line, or the child and that line.
fn start(args: &[&std::ffi::OsStr], stderr: Stdio) -> Result<Served, (Child, String)> {
    let mut child = Command::new(binary())
        .args(args)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SENIM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    match first.trim().strip_prefix("senim-callcentre listening on ") {
        Some(url) => Ok(Served {
            url: url.to_string(),
            child,
        }),
        None => Err((child, first)),
    }
}

/// Waits for `done` to hold, checking every 20 ms; panics naming `what` after `within`.
pub async fn until(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
