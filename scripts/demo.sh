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
cc_pid=""
cleanup() {
  kill "$socat_pid" 2>/dev/null || true
  if [ -n "$cc_pid" ]; then kill "$cc_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

# The call-centre backend and operator console, with a demo operator (made once).
cc=(target/debug/senim-callcentre --config config/callcentre.demo.toml)
mkdir -p "$data/callcentre"
demo_password="senim-demo-2026"
if [ ! -e "$data/callcentre/.demo-operator" ]; then
  printf '%s\n' "$demo_password" | "${cc[@]}" operator add demo --name "Demo Operator" >/dev/null
  touch "$data/callcentre/.demo-operator"
fi
# The shipped service-guide catalogue, published so kiosks can fetch it and the console names
# services by title (publishing the same content again changes nothing).
if ! "${cc[@]}" catalog publish config/services >/dev/null; then
  echo "make demo: the shipped catalogue was refused (problems above); going on without it" >&2
fi
"${cc[@]}" serve >"$data/callcentre.out" 2>"$data/callcentre.log" &
cc_pid=$!
console=""
for _ in $(seq 200); do
  console=$(head -n1 "$data/callcentre.out" 2>/dev/null | awk '{print $4}')
  [ -n "$console" ] && break
  if ! kill -0 "$cc_pid" 2>/dev/null; then
    echo "make demo: the call-centre did not start:" >&2
    cat "$data/callcentre.log" >&2
    exit 1
  fi
  sleep 0.05
done
# A stand-in kiosk enrolled once, so the red lamp can be lit by hand until the kiosk syncs
# by itself (the offline-first issue).
if [ ! -s "$data/callcentre/demo-kiosk-token" ]; then
  code=$("${cc[@]}" enrol-code --site "Demo hospital" | sed -n 1p)
  curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"code\":\"$code\"}" \
    "$console/api/v1/enrol" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' \
    >"$data/callcentre/demo-kiosk-token"
fi
token=$(cat "$data/callcentre/demo-kiosk-token")

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
  Light the red lamp (a stand-in kiosk says a patient is there):
    curl -X POST -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -d '{"present":true,"journey":"appeal","at":"2026-01-01T00:00:00Z"}' $console/api/v1/presence
  (and "present":false to put it out; the call-centre log is $data/callcentre.log)
  Call a consultant to the stand-in kiosk (shown at any hour; "On my way" clears it):
    curl -X POST -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -d '{"service_id":"address-certificate","step":3,"at":"'\$(date -u +%FT%TZ)'","active":true}' $console/api/v1/consultant
  Service-guide figures:   $console/console/guides

MSG

export FONTCONFIG_FILE="${FONTCONFIG_FILE:-$PWD/assets/fonts/kiosk-fonts.conf}"  # as on a kiosk
SENIM_LOG="${SENIM_LOG:-info}" target/debug/senim-kiosk run --config config/kiosk.demo.toml --windowed
