//! Tests and benches that must send traffic only to loopback and take every process they start
//! down with them (Chromium, chromedriver, Xvfb, a kiosk): the binary re-runs itself under
//! `unshare --net --pid --fork --kill-child --mount-proc`, in a network namespace whose only
//! interface is `lo` (checked), with a `/proc` that shows only its own processes.
//!
//! Included with `#[path]` by the call-centre's and the kiosk's tests alike.

#![allow(dead_code)]

use std::process::Command;

/// Set in the re-run child.
const CHILD: &str = "SENIM_ISOLATED_CHILD";

/// Runs `scenario` in the namespaces (re-running this binary there first); panics with `what`
/// if it failed there.
pub fn isolated(what: &str, scenario: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        loopback_only();
        scenario();
        return;
    }
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false);
    let mut unshare = Command::new("unshare");
    if !root {
        unshare.args(["--user", "--map-root-user"]);
    }
    let status = unshare
        .args(["--net", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(std::env::current_exe().expect("the test binary's path"))
        .env(CHILD, "1")
        .status()
        .expect("unshare (util-linux) runs this in namespaces of its own");
    assert!(status.success(), "{what} failed");
}

/// Brings `lo` up and proves the namespace has nothing else: no packet can leave the machine.
pub fn loopback_only() {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("ip (iproute2) brings the loopback interface up");
    assert!(up.success(), "cannot bring lo up");
    // /proc/self/net/dev lists this namespace's interfaces (/sys/class/net would show the
    // namespace that mounted /sys, i.e. the machine's).
    let interfaces: Vec<String> = std::fs::read_to_string("/proc/self/net/dev")
        .expect("/proc/self/net/dev")
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|name| name.trim().to_string())
        .collect();
    assert_eq!(
        interfaces,
        vec!["lo".to_string()],
        "the test must run in a namespace with loopback only"
    );
}

/// Chromium's processes (the browser and its helpers): in this PID namespace, only ours.
pub fn chromium_pids() -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        let name = exe.file_name().unwrap_or_default().to_string_lossy();
        if name == "chromium" || name == "chrome" {
            pids.push(pid);
        }
    }
    pids
}

/// Kills this namespace's Chromium at once (SIGKILL): an operator's browser that dies.
pub fn kill_chromium() {
    let pids = chromium_pids();
    assert!(!pids.is_empty(), "no Chromium process found");
    let status = Command::new("kill")
        .arg("-KILL")
        .args(pids.iter().map(i32::to_string))
        .status()
        .expect("kill (procps) runs");
    assert!(status.success(), "Chromium could not be killed");
}
