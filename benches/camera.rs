//! `make bench` rows for the camera: QR decode time per 640×480 frame (with and without a code,
//! medians) and the recorder's CPU share against the same GStreamer graph run alone by
//! `gst-launch-1.0` (median ratio of alternating runs). Prints one JSON object, also written to
//! `$SENIM_BENCH_JSON` when set; `scripts/bench.py` turns it into table rows.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use senim_kiosk::devices::camera::qrscan::{decode, test_support, LumaFrame};

const QR_RUNS: usize = 40;
const CPU_RUNS: usize = 3;
/// Steady-state window measured in each run, after a warm-up.
const WINDOW: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(3);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn qr_ms(frame: &LumaFrame, expect: Option<&str>) -> f64 {
    let _ = decode(frame); // warm-up
    median(
        (0..QR_RUNS)
            .map(|_| {
                let t = Instant::now();
                let got = decode(frame);
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(got.as_deref(), expect);
                ms
            })
            .collect(),
    )
}

/// utime + stime of a process (all threads), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process alive");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After ")": state is field 0, utime 11, stime 12.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// CPU share (of one core) of `child` over [`WINDOW`], after [`WARM_UP`].
fn cpu_share(child: &Child) -> f64 {
    std::thread::sleep(WARM_UP);
    let (c0, t0) = (cpu_seconds(child.id()), Instant::now());
    std::thread::sleep(WINDOW);
    (cpu_seconds(child.id()) - c0) / t0.elapsed().as_secs_f64()
}

/// SIGINT (gst-launch -e finishes its file), then SIGKILL if it is not gone within 10 s.
fn stop(mut child: Child) {
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// (recorder % of a core, gst-launch % of a core, median of the per-run ratios).
fn recorder_cpu(kiosk: &str, config: &Path, dir: &Path) -> (f64, f64, f64) {
    let launch = Command::new(kiosk)
        .args(["record", "--print-launch", "--config"])
        .arg(config)
        .arg("--out")
        .arg(dir.join("reference.webm"))
        .output()
        .expect("senim-kiosk record --print-launch");
    let line = String::from_utf8(launch.stdout).unwrap();
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    for run in 0..CPU_RUNS {
        let take = dir.join(format!("take-{run}"));
        let seconds = (WARM_UP + WINDOW).as_secs() + 2;
        let mut child = Command::new(kiosk)
            .args(["record", "--seconds", &seconds.to_string(), "--config"])
            .arg(config)
            .arg("--out")
            .arg(&take)
            .env("SENIM_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Start the clock once the recording runs (first line: health).
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        ours.push(cpu_share(&child));
        std::thread::spawn(move || for _ in out.lines() {});
        let status = child.wait().unwrap();
        assert!(status.success(), "record run {run} failed");

        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec {}",
                line.trim()
                    .replacen("gst-launch-1.0", "gst-launch-1.0 -q", 1)
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gst-launch-1.0 (gstreamer1.0-tools)");
        reference.push(cpu_share(&child));
        stop(child);
        let _ = std::fs::remove_file(dir.join("reference.webm"));
    }
    let ratios = ours.iter().zip(&reference).map(|(a, b)| a / b).collect();
    (
        median(ours) * 100.0,
        median(reference) * 100.0,
        median(ratios),
    )
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let with_code = test_support::qr_frame("https://egov.kz/qr/880101300010", 640, 480, 5.0, 15.0);
    let without = test_support::plain_frame(640, 480);
    let qr_code_ms = qr_ms(&with_code, Some("https://egov.kz/qr/880101300010"));
    let qr_empty_ms = qr_ms(&without, None);

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(
        &config,
        "[kiosk]\nsite_name = \"bench\"\nmode = \"hospital\"\n\n[camera]\nvideo = \"test\"\n\
         audio = \"test\"\naudio_output = \"none\"\nwidth = 640\nheight = 480\nfps = 30\n",
    )
    .unwrap();
    let kiosk = env!("CARGO_BIN_EXE_senim-kiosk");
    let (ours, reference, ratio) = recorder_cpu(kiosk, &config, tmp.path());
    let json = serde_json::json!({
        "qr_with_code_ms": qr_code_ms,
        "qr_without_code_ms": qr_empty_ms,
        "qr_runs": QR_RUNS,
        "recorder_cpu_percent": ours,
        "gst_launch_cpu_percent": reference,
        "recorder_cpu_ratio": ratio,
        "cpu_runs": CPU_RUNS,
        "cpu_window_s": WINDOW.as_secs(),
    });
    println!("{json}");
    if let Ok(path) = std::env::var("SENIM_BENCH_JSON") {
        std::fs::write(path, json.to_string()).expect("write SENIM_BENCH_JSON");
    }
}
