#!/usr/bin/env bash
# The demo call-centre backend, started and stopped by hand to show offline-first delivery:
#   scripts/demo-callcentre.sh stop    # the kiosk goes offline; appeals wait on the kiosk
#   scripts/demo-callcentre.sh start   # they are delivered within seconds
# `make demo` starts it the first time. Data stays in demo-data/callcentre.
set -euo pipefail
cd "$(dirname "$0")/.."
data="$PWD/demo-data"
pidfile="$data/callcentre.pid"
cc=(target/debug/senim-callcentre --config config/callcentre.demo.toml)

running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "demo call-centre already running (pid $(cat "$pidfile"))"; exit 0; fi
    mkdir -p "$data/callcentre"
    : >"$data/callcentre.out"
    "${cc[@]}" serve >"$data/callcentre.out" 2>>"$data/callcentre.log" &
    echo $! >"$pidfile"
    for _ in $(seq 200); do
      if [ -s "$data/callcentre.out" ]; then echo "demo call-centre started (pid $(cat "$pidfile"))"; exit 0; fi
      if ! running; then echo "the demo call-centre did not start:" >&2; tail -20 "$data/callcentre.log" >&2; exit 1; fi
      sleep 0.05
    done
    echo "the demo call-centre did not say it was listening; see $data/callcentre.log" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$pidfile")"; rm -f "$pidfile"; echo "demo call-centre stopped"; else echo "demo call-centre not running"; fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
