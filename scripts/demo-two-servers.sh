#!/usr/bin/env bash
# A national call-centre on this machine (docs/several-servers.md): one PostgreSQL (Debian's,
# in demo-data/two-servers/pg), one S3-protocol object store (moto, from the tools venv), and
# two senim-callcentre servers on them, A on :8091 and B on :8092, as a load balancer would
# have them. Loopback only.
#   scripts/demo-two-servers.sh start    # everything up; prints the consoles and a kiosk code
#   scripts/demo-two-servers.sh kill-a   # server A dies (SIGKILL): B goes on alone
#   scripts/demo-two-servers.sh stop     # everything down (the data stays)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/demo-data/two-servers"
bin=/usr/lib/postgresql/15/bin
cc="$PWD/target/debug/senim-callcentre"
pg_port=55432
s3_port=55900
as_postgres=()
if [ "$(id -u)" = 0 ]; then as_postgres=(runuser -u postgres --); fi

running() { [ -s "$root/$1.pid" ] && kill -0 "$(cat "$root/$1.pid")" 2>/dev/null; }

serve() { # name port
  "$cc" --config "$root/$1.toml" serve --listen "127.0.0.1:$2" >"$root/$1.out" 2>"$root/$1.log" &
  echo $! >"$root/$1.pid"
  for _ in $(seq 200); do
    if [ -s "$root/$1.out" ]; then echo "server $1: $(head -1 "$root/$1.out")"; return; fi
    running "$1" || { echo "server $1 did not start:" >&2; tail -5 "$root/$1.log" >&2; exit 1; }
    sleep 0.05
  done
}

case "${1:-}" in
  start)
    bash scripts/setup.sh >/dev/null
    ${CARGO:-cargo} build --quiet --bin senim-callcentre -p senim-callcentre
    mkdir -p "$root/a" "$root/b"
    if [ ! -d "$root/pg/data" ]; then
      mkdir -p "$root/pg"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$root/pg"
      "${as_postgres[@]}" "$bin/initdb" -D "$root/pg/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
    fi
    "${as_postgres[@]}" "$bin/pg_ctl" -D "$root/pg/data" -l "$root/pg/log" -w status >/dev/null 2>&1 ||
      "${as_postgres[@]}" "$bin/pg_ctl" -D "$root/pg/data" -l "$root/pg/log" -w \
        -o "-p $pg_port -k $root/pg -c listen_addresses=127.0.0.1" start >/dev/null
    "$bin/psql" -X -q -h 127.0.0.1 -p $pg_port -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'senim'" |
      grep -q 1 || "$bin/psql" -X -q -h 127.0.0.1 -p $pg_port -U postgres \
        -c "CREATE DATABASE senim TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"
    if ! running moto; then
      target/tools-venv/bin/moto_server -H 127.0.0.1 -p $s3_port >"$root/moto.log" 2>&1 &
      echo $! >"$root/moto.pid"
      for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$s3_port/" && break; sleep 0.1; done
      curl -s -o /dev/null -X PUT "http://127.0.0.1:$s3_port/senim-videos"
    fi
    echo "demo-secret" >"$root/s3.secret"
    for s in a b; do
      cat >"$root/$s.toml" <<EOF
[server]
data_dir = "$root/$s"
[database]
url = "postgres://postgres@127.0.0.1:$pg_port/senim"
[storage]
key_file = "$root/seal.keys"
url = "s3://senim-videos/demo"
endpoint = "http://127.0.0.1:$s3_port"
access_key_id = "demo"
secret_access_key_file = "$root/s3.secret"
[console]
secure_cookies = false
[hours]
# Open around the clock in the demo, so the red lamp can be seen at any hour.
opens = "00:00"
closes = "23:59"
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = []
EOF
    done
    "$cc" --config "$root/a.toml" migrate
    running a || serve a 8091
    # Every server holds the same keys: B gets A's signing key (the sealing key file is shared).
    cp "$root/a/signing.key" "$root/b/signing.key"
    running b || serve b 8092
    if ! "$cc" --config "$root/a.toml" operator list | grep -q aigerim; then
      echo "demo-password-1" | "$cc" --config "$root/a.toml" operator add aigerim \
        --name "Aigerim S." --role admin --role operator
    fi
    echo
    echo "Consoles (aigerim / demo-password-1): http://127.0.0.1:8091/console and http://127.0.0.1:8092/console"
    echo "Health: curl http://127.0.0.1:8091/api/v1/health ; curl http://127.0.0.1:8092/api/v1/health"
    echo "A kiosk's enrolment text (for server A):"
    "$cc" --config "$root/a.toml" enrol-code --site "City Hospital No. 4" --url http://127.0.0.1:8091 | head -1
    ;;
  kill-a)
    if running a; then kill -9 "$(cat "$root/a.pid")"; rm -f "$root/a.pid"; echo "server A killed; B goes on"; else echo "server A is not running"; fi
    ;;
  stop)
    for s in a b moto; do
      if running $s; then kill "$(cat "$root/$s.pid")"; fi
      rm -f "$root/$s.pid"
    done
    [ -d "$root/pg/data" ] && "${as_postgres[@]}" "$bin/pg_ctl" -D "$root/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    echo "stopped (data in $root)"
    ;;
  *)
    echo "usage: $0 start|kill-a|stop" >&2
    exit 2
    ;;
esac
