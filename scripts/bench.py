#!/usr/bin/python3
"""`make bench`: measures the release kiosk under Xvfb and prints a table of medians.

Rows: process start -> first screen drawn (the first moment the attract screen's pixels are on
the X server, seen by polling one pixel from outside), memory (PSS of the process tree, from
/proc/PID/smaps_rollup) and idle CPU on the attract screen (utime+stime over a quiet window).
One warm-up run, then the median of RUNS runs. Then the camera's rows (BENCH_CAMERA_JSON), the
live call's (BENCH_CALL_JSON), the
sync worker's (BENCH_SYNC_JSON), spoken guidance's (BENCH_SPEECH_JSON) and the call-centre's load rows (BENCH_CALLCENTRE_JSON), if
bench.sh ran those benchmarks.
"""
import json
import os
import statistics
import subprocess
import sys
import time

from Xlib import X, display as xdisplay

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))
BINARY = os.environ.get("BENCH_BINARY", "target/release/senim-kiosk")
CONFIG = os.environ.get("BENCH_CONFIG", "config/kiosk.demo.toml")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# A point on the attract screen far from any text: the primary-blue background.
PROBE = (960, 700)


def pixel(root):
    raw = root.get_image(PROBE[0], PROBE[1], 1, 1, X.ZPixmap, 0xFFFFFFFF).data
    return bytes(raw[:3])


def tree(pid):
    """The process and its descendants."""
    pids, frontier = [pid], [pid]
    while frontier:
        p = frontier.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        pids += kids
        frontier += kids
    return pids


def pss_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_ticks(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total


def one_run(root):
    blank = pixel(root)
    env = dict(os.environ, SENIM_LOG="warn")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [BINARY, "run", "--config", CONFIG, "--windowed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = t0 + 20
        while pixel(root) == blank:
            if proc.poll() is not None:
                sys.exit(f"bench: the kiosk exited early with status {proc.returncode}")
            if time.monotonic() > deadline:
                sys.exit("bench: no screen drawn within 20 s")
            time.sleep(0.001)
        first_frame_ms = (time.monotonic() - t0) * 1000
        time.sleep(2)  # let start-up work settle before measuring idle
        c0, w0 = cpu_ticks(proc.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        c1, w1 = cpu_ticks(proc.pid), time.monotonic()
        idle_cpu = (c1 - c0) / CLK_TCK / (w1 - w0) * 100
        pss = pss_kib(proc.pid) / 1024
        return first_frame_ms, pss, idle_cpu
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # wait for the window to disappear so the next run starts from a blank screen
        end = time.monotonic() + 5
        while pixel(root) != blank and time.monotonic() < end:
            time.sleep(0.01)


SCANS = int(os.environ.get("BENCH_SCANS", "200"))
SCANNER = os.environ.get("BENCH_SCANNER", "demo-data/scanner")


def scan_latency(root):
    """Serial line received -> identify screen state updated, from the kiosk's debug log.

    Writes SCANS distinct 11-digit numbers (always refused: wrong length) to the simulated
    scanner, 30 ms apart, so every one is a fresh read shown on the identify screen.
    """
    blank = pixel(root)
    env = dict(os.environ, SENIM_LOG="warn,senim_kiosk::app=debug")
    proc = subprocess.Popen(
        [BINARY, "run", "--config", CONFIG, "--windowed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    latencies = []
    try:
        while pixel(root) == blank:
            if proc.poll() is not None:
                sys.exit("bench: the kiosk exited early")
            time.sleep(0.005)
        time.sleep(1)
        with open(SCANNER, "w") as scanner:
            for i in range(SCANS):
                scanner.write(f"{10000000000 + i * 7919}\n")
                scanner.flush()
                time.sleep(0.03)
        time.sleep(0.5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        end = time.monotonic() + 5
        while pixel(root) != blank and time.monotonic() < end:
            time.sleep(0.01)
    for line in err.splitlines():
        if "scan applied" in line and "latency_us=" in line:
            latencies.append(int(line.split("latency_us=")[1].split()[0]) / 1000)
    if len(latencies) < SCANS * 0.95:
        sys.exit(f"bench: only {len(latencies)} of {SCANS} scans reached the screen")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return statistics.median(latencies), p99


def main():
    d = xdisplay.Display()
    root = d.screen().root
    print(f"bench: warm-up run, then {RUNS} measured runs ({BINARY}, {CONFIG})", file=sys.stderr)
    one_run(root)
    results = [one_run(root) for _ in range(RUNS)]
    scan_median, scan_p99 = scan_latency(root)
    ff = statistics.median(r[0] for r in results)
    pss = statistics.median(r[1] for r in results)
    cpu = statistics.median(r[2] for r in results)
    rows = [
        ("start to first screen drawn", f"{ff:.0f} ms", "60 ms", ff <= 60),
        ("memory, PSS of process tree", f"{pss:.1f} MB", "40 MB", pss <= 40),
        ("idle CPU on attract screen", f"{cpu:.2f} % of a core", "0.5 %", cpu <= 0.5),
        (f"scan -> screen state, median ({SCANS})", f"{scan_median:.2f} ms", "-", True),
        (f"scan -> screen state, p99 ({SCANS})", f"{scan_p99:.2f} ms", "16.7 ms", scan_p99 <= 16.7),
    ]
    print()
    print(f"| {'measure (median of ' + str(RUNS) + ' runs)':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")
    camera_rows()
    call_rows()
    sync_rows()
    speech_rows()
    seal_rows()
    callcentre_rows()


def camera_rows():
    """The camera's rows, from the JSON that `cargo bench --bench camera` wrote (bench.sh).

    Targets: 15 QR decodes/s fit on one core (a 640x480 frame in under 66.7 ms); the recorder
    costs at most 1.2x the CPU of the same GStreamer graph run alone by gst-launch-1.0.
    """
    path = os.environ.get("BENCH_CAMERA_JSON")
    if not path:
        return
    with open(path) as f:
        r = json.load(f)
    budget = 1000 / 15
    rows = [
        (f"QR decode 640x480, code ({r['qr_runs']})", f"{r['qr_with_code_ms']:.1f} ms", "66.7 ms",
         r["qr_with_code_ms"] <= budget),
        (f"QR decode 640x480, none ({r['qr_runs']})", f"{r['qr_without_code_ms']:.1f} ms",
         "66.7 ms",
         r["qr_without_code_ms"] <= budget),
        ("recorder CPU, 640x480@30 VP8+Opus", f"{r['recorder_cpu_percent']:.1f} % of a core", "-",
         True),
        ("  same graph in gst-launch-1.0", f"{r['gst_launch_cpu_percent']:.1f} % of a core", "-",
         True),
        ("  recorder / gst-launch, median", f"{r['recorder_cpu_ratio']:.2f} x", "1.2 x",
         r["recorder_cpu_ratio"] <= 1.2),
    ]
    print()
    print(f"| {'camera (medians; CPU: ' + str(r['cpu_runs']) + ' runs)':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")


def call_rows():
    """The live call's rows, from the JSON that `cargo bench --bench call` wrote (bench.sh).

    Targets (issue 22): answer -> first operator frame on the kiosk under 1 s on loopback; the
    kiosk's CPU in a 640x480 call at most 1.5x the same recording without one. The poor-link
    rows say whether the link was shaped at all (a round trip of at least the link's delay): the
    bench shapes it with a relay in user space (no sch_netem here); an unshaped run is marked.
    """
    path = os.environ.get("BENCH_CALL_JSON")
    if not path:
        return
    with open(path) as f:
        r = json.load(f)
    p = r["poor_link"]
    shaped = (p["rtt_ms"] or 0) >= p["link_delay_ms"]
    rows = [
        (f"answer -> first operator frame ({r['answer_runs']})",
         f"{r['answer_to_first_frame_ms']:.0f} ms", "1000 ms", r["answer_to_first_frame_ms"] < 1000),
        ("recording 640x480, no call", f"{r['record_cpu_percent']:.1f} % of a core", "-", True),
        ("  same recording in a call", f"{r['call_cpu_percent']:.1f} % of a core", "-", True),
        ("  call / no call, median", f"{r['call_cpu_ratio']:.2f} x", "1.5 x", r["call_cpu_ratio"] <= 1.5),
        ("poor link: kiosk -> operator", f"{p['kiosk_to_operator_fps']:.1f} fps", "-", shaped),
        ("poor link: operator -> kiosk", f"{p['operator_to_kiosk_fps']:.1f} fps", "-", shaped),
        ("poor link: kiosk voice lost", f"{p['kiosk_voice_lost_percent']:.1f} %", "-", shaped),
        ("poor link: operator voice lost", f"{p['operator_voice_lost_percent']:.1f} %", "-",
         shaped),
    ]
    print()
    print(f"| {'live call (CPU: ' + str(r['cpu_runs']) + ' runs)':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")
    if not shaped:
        print(f"  poor link NOT shaped: round trip {p['rtt_ms']} ms for a {p['link_delay_ms']} ms "
              f"link: the relay did not carry the call")


def sync_rows():
    """The sync worker's rows, from the JSON that `cargo bench --bench sync` wrote (bench.sh).

    Targets: at least 2,000 outbox records/s on loopback; tus upload at least 0.8x the speed of
    one plain PUT of the same file; after a cut at 50%, at most one chunk sent again.
    """
    path = os.environ.get("BENCH_SYNC_JSON")
    if not path:
        return
    with open(path) as f:
        r = json.load(f)
    chunk_kib = r["chunk_bytes"] / 1024
    resent_kib = r["resent_after_cut_bytes"] / 1024
    rows = [
        ("outbox records delivered/s", f"{r['records_per_s']:.0f} /s", "2000 /s",
         r["records_per_s"] >= 2000),
        (f"video upload, tus ({r['video_bytes'] >> 20} MiB)", f"{r['upload_mb_per_s']:.1f} MB/s",
         "-", True),
        ("  same file, one plain PUT", f"{r['plain_put_mb_per_s']:.1f} MB/s", "-", True),
        ("  tus / plain PUT", f"{r['upload_ratio']:.2f} x", "0.8 x", r["upload_ratio"] >= 0.8),
        ("re-sent after a cut at 50%", f"{resent_kib:.0f} KiB", f"{chunk_kib:.0f} KiB",
         r["resent_after_cut_bytes"] <= r["chunk_bytes"]),
    ]
    print()
    print(f"| {'sync, loopback (medians of ' + str(r['runs']) + ')':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")


def speech_rows():
    """Spoken guidance's rows, from the JSON that `cargo bench --bench speech` wrote (bench.sh).

    Targets: nothing at start-up (no prompt or pipeline loaded: under 64 KiB and 1 ms); the
    first prompt starts within 150 ms of "listen".
    """
    path = os.environ.get("BENCH_SPEECH_JSON")
    if not path:
        return
    with open(path) as f:
        r = json.load(f)
    rows = [
        ("prompts: start-up time", f"{r['startup_us']:.0f} us", "1 ms", r["startup_us"] <= 1000),
        ("prompts: start-up memory", f"{r['startup_rss_kib']:.0f} KiB", "64 KiB",
         r["startup_rss_kib"] <= 64),
        ("first prompt: listen -> playing", f"{r['first_play_ms']:.1f} ms", "150 ms",
         r["first_play_ms"] <= 150),
        ("first prompt: memory loaded", f"{r['first_play_rss_kib'] / 1024:.1f} MB", "-", True),
        (f"later prompt: start (median of {r['runs']})", f"{r['next_play_ms']:.1f} ms", "150 ms",
         r["next_play_ms"] <= 150),
    ]
    print()
    print(f"| {'spoken guidance':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")


def seal_rows():
    """Issue 19: what sealing adds to committing a 2-minute appeal, from the JSON that
    `cargo bench --bench seal` wrote (bench.sh). Target: at most 1 s more wall time (the
    citizen waits for "sent" while it runs).
    """
    path = os.environ.get("BENCH_SEAL_JSON")
    if not path:
        return
    with open(path) as f:
        r = json.load(f)
    extra_ms = r["sealed_commit_ms"] - r["plain_commit_ms"]
    extra_cpu = r["sealed_commit_cpu_ms"] - r["plain_commit_cpu_ms"]
    mb = r["take_bytes"] / 1e6
    rows = [
        (f"commit a 2-min appeal ({mb:.1f} MB), plain", f"{r['plain_commit_ms']:.0f} ms", "-", True),
        ("  sealed (age X25519)", f"{r['sealed_commit_ms']:.0f} ms", "-", True),
        ("  extra time sealing adds", f"{extra_ms:.0f} ms", "1000 ms", extra_ms <= 1000),
        ("  extra CPU sealing adds", f"{extra_cpu:.0f} ms", "-", True),
    ]
    print()
    print(f"| {'sealing (medians of ' + str(r['runs']) + ')':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")


def callcentre_rows():
    """The call-centre's rows, from the JSON that `cargo bench --bench load` wrote (bench.sh).

    Targets: p99 under 50 ms at the 10,000-kiosk heartbeat schedule (~333/s); "well over"
    333/s at saturation, read as 3x (1,000/s); "several thousand" records/s, read as 3,000/s.
    """
    path = os.environ.get("BENCH_CALLCENTRE_JSON")
    if not path:
        return
    with open(path) as f:
        r = json.load(f)
    queue_rows(r.get("queue"))
    stores_rows(r.get("stores"))
    if "heartbeat_schedule" not in r:
        return
    sched, top, rec = r["heartbeat_schedule"], r["heartbeat_max"], r["records"]
    clean = sched["errors"] == 0
    rows = [
        ("heartbeats/s at 30 s schedule", f"{sched['rate_per_s']:.0f} /s",
         f"{sched['offered_per_s']:.0f} /s",
         clean and sched["rate_per_s"] >= 0.98 * sched["offered_per_s"]),
        ("  heartbeat latency, median", f"{sched['p50_ms']:.2f} ms", "-", True),
        ("  heartbeat latency, p99", f"{sched['p99_ms']:.2f} ms", "50 ms",
         clean and sched["p99_ms"] <= 50),
        (f"heartbeats/s max ({top['clients']} clients)", f"{top['rate_per_s']:.0f} /s",
         "1000 /s", top["errors"] == 0 and top["rate_per_s"] >= 1000),
        ("  at max: median / p99", f"{top['p50_ms']:.1f} / {top['p99_ms']:.1f} ms", "-", True),
        (f"records/s ({rec['kiosks']} kiosks x {rec['batch']})", f"{rec['records_per_s']:.0f} /s",
         "3000 /s", rec["errors"] == 0 and rec["records_per_s"] >= 3000),
        ("  batch latency: median / p99", f"{rec['p50_ms']:.1f} / {rec['p99_ms']:.1f} ms", "-",
         True),
    ]
    print()
    print(f"| {'call-centre, ' + str(r['kiosks']) + ' kiosks (1 run)':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, value, target, ok in rows:
        print(f"| {name:<36} | {value:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")


def stores_rows(stores):
    """Heartbeats/s and records/s per store and number of servers (load/stores.rs), each with
    its ratio to the embedded SQLite store on one server. Targets: the same as one server's
    (1,000 heartbeats/s, 3,000 records/s), on every store.
    """
    if not stores:
        return
    base = stores[0]
    print()
    print(f"| {'call-centre stores (1 run each)':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for r in stores:
        name = f"{r['store']}, {r['servers']} server{'s' if r['servers'] > 1 else ''}"
        beats = r["heartbeats_per_s"]
        recs = r["records_per_s"]
        ok_beats = r["heartbeat_errors"] == 0 and beats >= 1000
        ok_recs = r["record_errors"] == 0 and recs >= 3000
        beats_text = "%.0f /s (%.2fx)" % (beats, beats / base["heartbeats_per_s"])
        recs_text = "%.0f /s (%.2fx)" % (recs, recs / base["records_per_s"])
        for label, text, target, ok in (
            ("heartbeats/s, " + name, beats_text, "1000 /s", ok_beats),
            ("records/s, " + name, recs_text, "3000 /s", ok_recs),
        ):
            print(f"| {label:<36} | {text:>16} | {target:>8} | {'yes' if ok else 'NO':<3} |")


def queue_rows(q):
    """The queue over 100,000 appeals through the console's router (medians, ms).

    Target: "pages in well under a second", read as 200 ms for every page, deep or filtered.
    """
    if not q:
        return
    rows = [
        ("open queue, page 1", "open_page_1"),
        ("all, page 1", "all_page_1"),
        ("all, row 50,001 (keyset link)", "all_deep_page"),
        ("closed, last page", "closed_last_page"),
        ("search by appeal number", "search_by_number"),
        ("closed, one site and topic", "closed_site_topic"),
        ("all, one month's dates", "all_one_month"),
        ("live update: 3 rows", "live_rows"),
    ]
    print()
    print(f"| {'queue, ' + format(q['appeals'], ',') + ' appeals (median)':<36} | {'value':>16} | {'target':>8} | ok  |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 10}|-----|")
    for name, key in rows:
        ms = q.get(key)
        ok = ms is not None and ms <= 200
        value = f"{ms:.1f} ms" if ms is not None else "-"
        print(f"| {name:<36} | {value:>16} | {'200 ms':>8} | {'yes' if ok else 'NO':<3} |")


if __name__ == "__main__":
    main()
