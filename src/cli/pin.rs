//! `senim-kiosk hash-pin`: reads a technician PIN (without echo from a terminal, asked twice;
//! the first line of standard input otherwise) and prints the `[technician] pin_hash` line
//! with its argon2id hash.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use rustix::termios::{self, LocalModes, OptionalActions, Termios};

use crate::config::{hash_pin, PIN_MAX_DIGITS, PIN_MIN_DIGITS};

/// Puts the terminal's echo back when dropped, even on an early return.
struct EchoOff {
    saved: Termios,
}

impl EchoOff {
    fn new() -> std::io::Result<EchoOff> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        termios::tcsetattr(&stdin, OptionalActions::Now, &quiet)?;
        Ok(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the PIN from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Asks for the PIN on the terminal without showing it, twice.
fn ask_on_terminal() -> anyhow::Result<String> {
    let mut err = std::io::stderr();
    let ask = |prompt: &str| -> anyhow::Result<String> {
        // Echo off before the prompt: nothing typed after it can be shown.
        let _echo = EchoOff::new().context("cannot turn the terminal's echo off")?;
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        let line = read_line();
        eprintln!();
        line
    };
    let pin = ask(&format!(
        "Technician PIN ({PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits, not shown): "
    ))?;
    let again = ask("The same PIN again: ")?;
    if pin != again {
        writeln!(err, "the two PINs differ; nothing was printed")?;
        anyhow::bail!("the two PINs differ");
    }
    Ok(pin)
}

/// `senim-kiosk hash-pin`: prints `pin_hash = "$argon2id$…"` for `[technician]`.
pub fn hash_pin_command() -> anyhow::Result<i32> {
    let pin = if std::io::stdin().is_terminal() {
        ask_on_terminal()?
    } else {
        read_line()?
    };
    let hash = hash_pin(&pin)?;
    println!("pin_hash = \"{hash}\"");
    if std::io::stdout().is_terminal() {
        eprintln!(
            "Put this line under [technician] in the kiosk's configuration (in place of any \
             pin_sha256 line) and restart the kiosk."
        );
    }
    Ok(0)
}
