#!/usr/bin/env bash
# The call-centre's tests once more with every test server's data on PostgreSQL
# (SENIM_TEST_POSTGRES=1: callcentre/tests/common/postgres.rs starts Debian's server in a
# temporary folder). It runs the very test binaries `cargo test --workspace` just built:
# `cargo test -p senim-callcentre` would unify features differently and build everything again.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
mapfile -t binaries < <(
  "$cargo" test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    if "/callcentre#" not in m["package_id"] and "senim-callcentre" not in m["package_id"]:
        continue
    if m.get("profile", {}).get("test") or m["target"]["kind"] == ["test"]:
        print(m["executable"])
'
)
if [ "${#binaries[@]}" -eq 0 ]; then
  echo "test-postgres: no call-centre test binaries found" >&2
  exit 1
fi
failed=()
for bin in "${binaries[@]}"; do
  echo "test-postgres: $(basename "$bin")"
  if ! (cd callcentre && SENIM_TEST_POSTGRES=1 "$bin" -q); then
    failed+=("$(basename "$bin")")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test-postgres: failed on PostgreSQL: ${failed[*]}" >&2
  exit 1
fi
echo "test-postgres: the call-centre's ${#binaries[@]} test binaries passed on PostgreSQL"
