#!/usr/bin/env bash
# `make demo`: builds the kiosk and runs it in a window with the demo configuration and a
# simulated barcode scanner (a pseudo-terminal pair made by socat — a test fake, named as such).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<'MSG'
make demo: there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set).
Run the demo on a virtual screen instead:
    xvfb-run -n 99 -f /tmp/senim-xauth -s '-screen 0 1920x1080x24' make demo
and look at it from another terminal with
    XAUTHORITY=/tmp/senim-xauth DISPLAY=:99 import -window root shot.png
MSG
  exit 2
fi

cargo build --bin senim-kiosk

data="$PWD/demo-data"
mkdir -p "$data"
rm -f "$data/scanner" "$data/scanner-kiosk"

# The simulated scanner: the kiosk opens one end like a real serial port; whatever is written
# to the other end arrives as a scan.
socat "pty,raw,echo=0,link=$data/scanner-kiosk" "pty,raw,echo=0,link=$data/scanner" &
socat_pid=$!
cleanup() { kill "$socat_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

for _ in $(seq 100); do
  [ -e "$data/scanner" ] && [ -e "$data/scanner-kiosk" ] && break
  sleep 0.05
done

cat <<MSG

  Senim kiosk demo
  ----------------
  Simulated card scanner:  $data/scanner
  Scan an ID card:         echo 880101300010 > $data/scanner
  Scan an invalid number:  echo 880101300011 > $data/scanner
  Technician mode:         five taps in the top-left corner, PIN 4321

MSG

export FONTCONFIG_FILE="${FONTCONFIG_FILE:-$PWD/assets/fonts/kiosk-fonts.conf}"  # as on a kiosk
SENIM_LOG="${SENIM_LOG:-info}" target/debug/senim-kiosk run --config config/kiosk.demo.toml --windowed
