#!/usr/bin/env bash
# `make demo`: builds the kiosk and the call-centre, starts the call-centre backend on
# localhost (console URL and a demo operator login printed), and runs the kiosk in a window with
# the demo configuration and a simulated barcode scanner (a pseudo-terminal pair made by socat —
# a test fake, named as such).
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

# Two invocations, so each binary keeps the feature set it is built with elsewhere.
cargo build --bin senim-kiosk
cargo build -p senim-callcentre --bin senim-callcentre

data="$PWD/demo-data"
mkdir -p "$data"
rm -f "$data/scanner" "$data/scanner-kiosk"

# The simulated scanner: the kiosk opens one end like a real serial port; whatever is written
# to the other end arrives as a scan.
socat "pty,raw,echo=0,link=$data/scanner-kiosk" "pty,raw,echo=0,link=$data/scanner" &
socat_pid=$!
cleanup() {
  kill "$socat_pid" 2>/dev/null || true
  scripts/demo-callcentre.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# The call-centre backend and operator console, with a demo operator (made once).
cc=(target/debug/senim-callcentre --config config/callcentre.demo.toml)
kiosk=(target/debug/senim-kiosk --config config/kiosk.demo.toml)
mkdir -p "$data/callcentre"
demo_password="senim-demo-2026"
if [ ! -e "$data/callcentre/.demo-operator" ]; then
  printf '%s\n' "$demo_password" | "${cc[@]}" operator add demo --name "Demo Operator" --role admin --role operator >/dev/null
  touch "$data/callcentre/.demo-operator"
fi
# The shipped service-guide catalogue, published so kiosks can fetch it and the console names
# services by title (publishing the same content again changes nothing).
if ! "${cc[@]}" catalog publish config/services >/dev/null; then
  echo "make demo: the shipped catalogue was refused (problems above); going on without it" >&2
fi
scripts/demo-callcentre.sh start
console=$(head -n1 "$data/callcentre.out" | awk '{print $4}')

# The kiosk enrols once, as a technician would on SSH (`senim-kiosk enrol CODE`).
if [ ! -e "$data/kiosk/.enrolled" ]; then
  code=$("${cc[@]}" enrol-code --site "Demo hospital" | sed -n 1p)
  "${kiosk[@]}" enrol "$code"
  touch "$data/kiosk/.enrolled"
fi

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

  Call-centre console:     $console/console
  Demo operator login:     demo / $demo_password
  The red lamp lights when a patient starts an appeal on the kiosk (demo hours: always open);
  "call a consultant" in a service guide shows in the console at any hour.
  Service-guide figures:   $console/console/guides

  Offline first: stop the call-centre, leave an appeal, start it again, watch the counts move:
    scripts/demo-callcentre.sh stop
    target/debug/senim-kiosk --config config/kiosk.demo.toml queue
    scripts/demo-callcentre.sh start
  (the call-centre log is $data/callcentre.log)

MSG

export FONTCONFIG_FILE="${FONTCONFIG_FILE:-$PWD/assets/fonts/kiosk-fonts.conf}"  # as on a kiosk
SENIM_LOG="${SENIM_LOG:-info}" target/debug/senim-kiosk run --config config/kiosk.demo.toml --windowed
