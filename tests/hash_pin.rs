//! `senim-kiosk hash-pin`: the PIN from a pipe or typed on a terminal without echo, the
//! `[technician] pin_hash` line it prints (argon2id, salted, accepted by the configuration),
//! and PINs the keypad cannot type refused.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;

const KIOSK: &str = env!("CARGO_BIN_EXE_senim-kiosk");

fn hash_pin(stdin: &str) -> std::process::Output {
    let mut child = Command::new(KIOSK)
        .arg("hash-pin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run senim-kiosk");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The hash inside a `pin_hash = "…"` line.
fn hash_of(line: &str) -> &str {
    line.trim()
        .strip_prefix("pin_hash = \"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a pin_hash line: {line:?}"))
}

fn verifies(hash: &str, pin: &str) -> bool {
    let parsed = PasswordHash::new(hash).unwrap();
    Argon2::default()
        .verify_password(pin.as_bytes(), &parsed)
        .is_ok()
}

#[test]
fn hash_pin_prints_a_salted_argon2id_line_the_configuration_accepts() {
    let out = hash_pin("4321\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    let hash = hash_of(&stdout);
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(verifies(hash, "4321"));
    assert!(!verifies(hash, "4322"));
    let again = String::from_utf8(hash_pin("4321\n").stdout).unwrap();
    assert_ne!(hash, hash_of(&again), "a fresh salt each time");

    // The demo configuration with this line instead of its PIN is valid.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = std::fs::read_to_string(root.join("config/kiosk.demo.toml")).unwrap();
    let technician = demo
        .lines()
        .find(|l| l.starts_with("pin_hash") || l.starts_with("pin_sha256"))
        .expect("the demo sets a PIN");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, demo.replace(technician, stdout.trim())).unwrap();
    let check = Command::new(KIOSK)
        .current_dir(root)
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn hash_pin_refuses_what_the_keypad_cannot_type() {
    for pin in ["123\n", "12ab\n", "1234567890123\n", "\n"] {
        let out = hash_pin(pin);
        assert!(!out.status.success(), "{pin:?}");
        assert!(out.stdout.is_empty(), "{pin:?}: nothing printed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("4 to 12 digits"), "{pin:?}: {stderr}");
    }
}

/// On a terminal (a pty made by Python's `pty` module) the PIN is asked twice and never
/// shown.
#[test]
fn hash_pin_on_a_terminal_asks_twice_without_echo() {
    let script = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "hash-pin"])
out = b""
deadline = time.monotonic() + 60
def more():
    global out
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([fd], [], [], left)[0]:
        os.kill(pid, 9)
        sys.exit("timed out: %r" % out)
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        chunk = b""
    out += chunk
    return chunk
def until(text):
    while text not in out:
        if not more():
            sys.exit("ended before %r: %r" % (text, out))
until(b"not shown): ")
os.write(fd, b"4321\n")
until(b"again: ")
os.write(fd, b"4321\n")
while more():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let out = Command::new("python3")
        .args(["-c", script, KIOSK])
        .output()
        .expect("python3");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{seen}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = seen
        .lines()
        .find(|l| l.contains("pin_hash = "))
        .unwrap_or_else(|| panic!("no pin_hash line: {seen:?}"));
    let hash = hash_of(line);
    assert!(verifies(hash, "4321"));
    let before_hash = &seen[..seen.find("pin_hash").unwrap()];
    assert!(
        !before_hash.contains("4321"),
        "the PIN was echoed: {before_hash:?}"
    );
}
