#!/usr/bin/env bash
# Boots the kiosk image under QEMU (UEFI via OVMF, virtio GPU for cage, no network) and checks
# from the serial console that senim-kiosk.service reached "started" — which, with Type=notify,
# means the kiosk itself sent READY=1 once its window was up — and then stayed up, without a
# restart, for longer than the service's watchdog period (so the watchdog pings arrive).
#
#   kiosk-image/test.sh [--image target/image/senim-kiosk.raw] [--stay SECONDS] [--timeout SECONDS]
#
# The image is not changed: the test boots a sparse copy whose boot menu defaults to the serial
# console entry, on a disk 512 MiB larger (so the data partition's first-boot growth is checked
# too). Leaves the serial log and a screenshot in target/image/.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
image="$repo/target/image/senim-kiosk.raw"
stay=40
timeout=420
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="$2"; shift 2 ;;
    --stay) stay="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    *) echo "test.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$image" ] || { echo "test.sh: no image at $image; run make image first" >&2; exit 2; }
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$ovmf_code" ] || { echo "test.sh: no $ovmf_code (package ovmf); run make image-test" >&2; exit 2; }

outdir="$(dirname "$image")"
tmp="$(mktemp -d "$outdir/test.XXXXXX")"
qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

t0=$(date +%s%3N)
# Milliseconds since the start, and the same as seconds for people.
elapsed_ms() { echo $(( $(date +%s%3N) - t0 )); }
secs() { printf '%d.%d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
log() { printf 'image-test: [%6s s] %s\n' "$(secs "$(elapsed_ms)")" "$*"; }

disk="$tmp/disk.raw"
cp --sparse=always "$image" "$disk"
truncate -s +512M "$disk"
export MTOOLS_SKIP_CHECK=1
printf 'default senim-serial.conf\ntimeout 0\neditor no\nconsole-mode keep\n' > "$tmp/loader.conf"
# The ESP starts at 1 MiB (kiosk-image/build.sh).
mcopy -o -i "$disk@@1M" "$tmp/loader.conf" ::/loader/loader.conf
cp "$ovmf_vars" "$tmp/vars.fd"

# Software emulation by default: on this project's machines (themselves virtual) KVM stops in
# OVMF's first FPU instruction ("KVM internal error ... emulation failure"). Where nested KVM
# works, QEMU_ACCEL=kvm boots several times faster.
accel="${QEMU_ACCEL:-tcg}"
cpu=max
serial="$outdir/image-test-serial.log"
: > "$serial"
qemu-system-x86_64 \
  -machine q35,accel=$accel -cpu $cpu -smp 2 -m 1536 \
  -drive if=pflash,format=raw,readonly=on,file="$ovmf_code" \
  -drive if=pflash,format=raw,file="$tmp/vars.fd" \
  -drive file="$disk",format=raw,if=virtio \
  -device virtio-vga -display none \
  -device i6300esb \
  -nic none \
  -serial file:"$serial" \
  -monitor unix:"$tmp/monitor.sock",server,nowait \
  -no-reboot &
qemu_pid=$!
log "qemu ($accel) started, pid $qemu_pid; serial console in $serial"

# Waits until the serial log matches a pattern; fails on timeout or when qemu is gone.
wait_for() {
  local pattern="$1" deadline="$2"
  while ! grep -qaE "$pattern" "$serial"; do
    if ! kill -0 "$qemu_pid" 2>/dev/null; then
      log "FAIL: qemu exited while waiting for /$pattern/"; tail -30 "$serial"; exit 1
    fi
    if [ "$(elapsed_ms)" -gt $(( deadline * 1000 )) ]; then
      log "FAIL: no /$pattern/ within ${deadline} s"; tail -40 "$serial"; exit 1
    fi
    sleep 0.5
  done
}

started='Started .*senim-kiosk\.service'
wait_for "$started" "$timeout"
boot_to_started=$(elapsed_ms)
log "senim-kiosk.service started (kiosk sent READY=1) $(secs "$boot_to_started") s after qemu started"
if ! grep -qa 'told systemd the kiosk is ready' "$serial"; then
  log "FAIL: the service started but the kiosk's own READY log line is missing"; exit 1
fi

# Stay up past the watchdog period: a crash or missed pings would show up as a restart.
deadline=$(( boot_to_started + stay * 1000 ))
failure='senim-kiosk\.service: (Main process exited|Failed|Watchdog timeout|Scheduled restart)'
while [ "$(elapsed_ms)" -lt "$deadline" ]; do
  if grep -qaE "$failure" "$serial"; then
    log "FAIL: the kiosk did not stay up:"; grep -aE "$failure|senim-kiosk\[" "$serial" | tail -20
    exit 1
  fi
  kill -0 "$qemu_pid" 2>/dev/null || { log "FAIL: qemu exited"; exit 1; }
  sleep 1
done
# Each start is in the journal once (the console also shows it as a status line).
if [ "$(grep -caE 'systemd\[1\]: Started senim-kiosk\.service' "$serial")" != 1 ]; then
  log "FAIL: senim-kiosk.service started more than once"; exit 1
fi
log "the kiosk stayed up ${stay} s (watchdog period 30 s) without a restart"

# What the screen shows, for a person to look at.
shot="$outdir/image-test-screen.png"
if printf 'screendump %s -f png\n' "$shot" | socat - UNIX-CONNECT:"$tmp/monitor.sock" >/dev/null 2>&1 \
  && [ -s "$shot" ]; then
  log "screenshot: $shot"
fi

# Units that failed during boot are worth knowing, though only the kiosk decides the result.
if grep -qaE 'FAILED\]|Failed to start' "$serial"; then
  log "note: other units failed during boot:"; grep -aE 'FAILED\]|Failed to start' "$serial" | head
fi
log "PASS"
