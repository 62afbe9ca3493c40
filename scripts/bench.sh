#!/usr/bin/env bash
# `make bench`: release build, the call-centre load benchmark, then scripts/bench.py on a
# private Xvfb screen (kiosk rows, then the call-centre's).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin senim-kiosk
# The call-centre under 10,000 simulated kiosks (about a minute); bench.py prints its rows.
callcentre_json=$(mktemp)
trap 'rm -f "$callcentre_json" "${camera_json:-}" "${call_json:-}" "${sync_json:-}" "${speech_json:-}" "${seal_json:-}"' EXIT
SENIM_BENCH_JSON="$callcentre_json" cargo bench -p senim-callcentre --bench load
export BENCH_CALLCENTRE_JSON="$callcentre_json"
# The camera: QR decode per frame, and the recorder's CPU against gst-launch-1.0 (about 90 s).
camera_json=$(mktemp)
SENIM_BENCH_JSON="$camera_json" cargo bench -p senim-kiosk --bench camera
export BENCH_CAMERA_JSON="$camera_json"
# The live call against Chromium on loopback (about three minutes).
call_json=$(mktemp)
SENIM_BENCH_JSON="$call_json" cargo bench -p senim-kiosk --bench call
export BENCH_CALL_JSON="$call_json"
# The kiosk's sync worker against the real call-centre on loopback (about two minutes).
sync_json=$(mktemp)
SENIM_BENCH_JSON="$sync_json" cargo bench -p senim-kiosk --bench sync
export BENCH_SYNC_JSON="$sync_json"
# Spoken guidance: what prompts cost at start-up and when the first one plays (seconds).
speech_json=$(mktemp)
SENIM_BENCH_JSON="$speech_json" cargo bench -p senim-kiosk --bench speech
export BENCH_SPEECH_JSON="$speech_json"
# Issue 19: what sealing adds to committing a 2-minute appeal (a few seconds).
seal_json=$(mktemp)
SENIM_BENCH_JSON="$seal_json" cargo bench -p senim-kiosk --bench seal
export BENCH_SEAL_JSON="$seal_json"
mkdir -p demo-data
# The demo config opens the simulated scanner; give it one so the kiosk is in its normal state.
rm -f demo-data/scanner demo-data/scanner-kiosk
socat pty,raw,echo=0,link=demo-data/scanner-kiosk pty,raw,echo=0,link=demo-data/scanner &
socat_pid=$!
trap 'kill $socat_pid 2>/dev/null || true; rm -f "$callcentre_json" "$camera_json" "$call_json" "$sync_json" "$speech_json" "$seal_json"' EXIT
export FONTCONFIG_FILE="${FONTCONFIG_FILE:-$PWD/assets/fonts/kiosk-fonts.conf}"  # as on a kiosk
xvfb-run -a -s '-screen 0 1920x1080x24 -nolisten tcp' /usr/bin/python3 scripts/bench.py  # Debian's python, which has python3-xlib
