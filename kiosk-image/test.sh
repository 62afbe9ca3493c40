#!/usr/bin/env bash
# Boots the kiosk image under QEMU (UEFI via OVMF, a software TPM2 from swtpm, virtio GPU for
# cage, no network) three times and checks from the serial console:
#
#  1. First boot on machine A: systemd-repart makes the data partition (LUKS2, key sealed to A's
#     TPM2), systemd-cryptsetup opens it with the TPM2 and nobody present, it is mounted, and
#     senim-kiosk.service reaches "started" — which, with Type=notify, means the kiosk itself sent
#     READY=1 once its window was up — and then stays up, without a restart, for longer than the
#     service's watchdog period (so the watchdog pings arrive). Then a clean power-off, and from
#     the host: the partition is LUKS2 with a systemd-tpm2 token and no plaintext file system.
#  2. Second boot on machine A (same TPM2 state, same firmware variables): the partition opens
#     again by itself and the kiosk starts.
#  3. The same disk on machine B (a fresh swtpm state, fresh firmware variables): the partition
#     does not open, it is not mounted, the kiosk does not start, and the console says why.
#  4. Only with --no-tpm: a fresh copy of the image on machine C, which has no TPM2 at all: no
#     data partition is made, the kiosk does not start, the console says why (~3 more minutes).
#
#   kiosk-image/test.sh [--image target/image/senim-kiosk.raw] [--stay SECONDS] [--timeout SECONDS]
#                       [--no-tpm]
#
# The image is not changed: the test boots a sparse copy whose boot menu defaults to the serial
# console entry, on a disk 512 MiB larger (the data partition fills it). Leaves the serial logs
# (image-test-serial.log, -reboot.log, -other-machine.log) and a screenshot in the image's folder.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
image="$repo/target/image/senim-kiosk.raw"
stay=40
timeout=420
no_tpm=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tpm) no_tpm=1; shift ;;
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
for tool in swtpm cryptsetup sfdisk socat; do
  command -v "$tool" >/dev/null \
    || { echo "test.sh: no $tool; run make image-test (scripts/setup.sh image-test)" >&2; exit 2; }
done

outdir="$(dirname "$image")"
tmp="$(mktemp -d "$outdir/test.XXXXXX")"
qemu_pid=""
tpm_pid=""
stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop_pid "$qemu_pid"
  stop_pid "$tpm_pid"
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
# A "machine" is its firmware variables ($tmp/vars-*.fd) and its TPM2's state ($tmp/tpm-*).

# Software emulation by default: on this project's machines (themselves virtual) KVM stops in
# OVMF's first FPU instruction ("KVM internal error ... emulation failure"). Where nested KVM
# works, QEMU_ACCEL=kvm boots several times faster.
accel="${QEMU_ACCEL:-tcg}"
cpu=max
serial=""
boot_t0=0

# Starts machine $1 (a or b with its swtpm, c without a TPM2) on disk $3; the serial console
# goes to $2.
boot() {
  local machine="$1" on_disk="$3"
  serial="$2"
  : > "$serial"
  local tpm_args=()
  if [ "$machine" != c ]; then
    # A fresh swtpm state directory is a TPM2 that never saw this disk; it is manufactured on
    # first use. --terminate: swtpm ends when QEMU lets go of it.
    mkdir -p "$tmp/tpm-$machine"
    swtpm socket --tpm2 --tpmstate dir="$tmp/tpm-$machine" \
      --ctrl type=unixio,path="$tmp/tpm-$machine.sock" --terminate \
      --log file="$tmp/swtpm-$machine.log" &
    tpm_pid=$!
    local i
    for i in $(seq 50); do [ -S "$tmp/tpm-$machine.sock" ] && break; sleep 0.1; done
    tpm_args=(-chardev socket,id=chrtpm,path="$tmp/tpm-$machine.sock"
      -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0)
  fi
  [ -f "$tmp/vars-$machine.fd" ] || cp "$ovmf_vars" "$tmp/vars-$machine.fd"
  qemu-system-x86_64 \
    -machine q35,accel="$accel" -cpu $cpu -smp 2 -m 1536 \
    -drive if=pflash,format=raw,readonly=on,file="$ovmf_code" \
    -drive if=pflash,format=raw,file="$tmp/vars-$machine.fd" \
    -drive file="$on_disk",format=raw,if=virtio \
    "${tpm_args[@]}" \
    -device virtio-vga -display none \
    -device i6300esb \
    -nic none \
    -serial file:"$serial" \
    -monitor unix:"$tmp/monitor.sock",server,nowait \
    -no-reboot &
  qemu_pid=$!
  boot_t0=$(elapsed_ms)
  log "machine $machine: qemu ($accel) started, pid $qemu_pid; serial console in $serial"
}

# Powers the machine off: ACPI power button and a clean shutdown if $1 is "clean", else QEMU
# quits at once (a power cut).
power_off() {
  local how="$1" i command=quit
  [ "$how" = clean ] && command=system_powerdown
  printf '%s\n' "$command" | socat - UNIX-CONNECT:"$tmp/monitor.sock" >/dev/null 2>&1 || true
  for i in $(seq 240); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$qemu_pid" 2>/dev/null; then log "note: qemu still running 120 s after $command"; fi
  stop_pid "$qemu_pid"
  qemu_pid=""
  for i in $(seq 50); do kill -0 "$tpm_pid" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$tpm_pid"
  tpm_pid=""
}

fail() { log "FAIL: $*"; tail -40 "$serial"; exit 1; }

# Waits until the serial log matches every pattern, in any order (the console interleaves
# systemd's status lines and the journal), until $deadline seconds after this boot started;
# fails on timeout or when qemu is gone.
wait_for_all() {
  local deadline="$1" missing p
  shift
  while :; do
    missing=""
    for p in "$@"; do
      grep -qaE "$p" "$serial" || missing="$p"
    done
    [ -z "$missing" ] && return 0
    kill -0 "$qemu_pid" 2>/dev/null || fail "qemu exited while waiting for /$missing/"
    if [ "$(( $(elapsed_ms) - boot_t0 ))" -gt $(( deadline * 1000 )) ]; then
      fail "no /$missing/ within ${deadline} s"
    fi
    sleep 0.5
  done
}

started='Started .*senim-kiosk\.service'
ready='told systemd the kiosk is ready'
opened='Finished .*systemd-cryptsetup@senim.x2ddata\.service'
mounted='Mounted .*var-lib-senim\.mount'
locked='senim: the data partition is locked'
cryptsetup_lines='systemd-cryptsetup\[|cryptsetup@senim'

# ---- 1. Machine A, first boot: the partition is made, sealed, opened; the kiosk serves. ----
boot a "$outdir/image-test-serial.log" "$disk"
# Both lines, in either order: systemd's "Started" and the kiosk's own READY log line.
wait_for_all "$timeout" "$started" "$ready"
boot_to_started=$(( $(elapsed_ms) - boot_t0 ))
log "senim-kiosk.service started (kiosk sent READY=1) $(secs "$boot_to_started") s after qemu started"
grep -qaE 'systemd-repart\[' "$serial" || fail "systemd-repart did not run on first boot"
grep -qaE "$opened" "$serial" || fail "the data partition was not opened"
grep -qaE "$mounted" "$serial" || fail "the data partition was not mounted"
log "first boot: systemd-repart made the data partition; the TPM2 opened it; mounted"

# Stay up past the watchdog period: a crash or missed pings would show up as a restart.
deadline=$(( boot_t0 + boot_to_started + stay * 1000 ))
failure='senim-kiosk\.service: (Main process exited|Failed|Watchdog timeout|Scheduled restart)'
while [ "$(elapsed_ms)" -lt "$deadline" ]; do
  if grep -qaE "$failure" "$serial"; then
    log "FAIL: the kiosk did not stay up:"; grep -aE "$failure|senim-kiosk\[" "$serial" | tail -20
    exit 1
  fi
  kill -0 "$qemu_pid" 2>/dev/null || fail "qemu exited"
  sleep 1
done
# Each start is in the journal once (the console also shows it as a status line).
if [ "$(grep -caE 'systemd\[1\]: Started senim-kiosk\.service' "$serial")" != 1 ]; then
  fail "senim-kiosk.service started more than once"
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
power_off clean
log "machine a powered off"

# ---- The disk as a thief would read it. -----------------------------------------------------
part=$(sfdisk --dump "$disk" 2>/dev/null | grep 'name="senim-data"' || true)
[ -n "$part" ] || fail "no senim-data partition in the disk's GPT after the first boot"
part_start=$(sed -E 's/.*start= *([0-9]+).*/\1/' <<< "$part")
part_size=$(sed -E 's/.*size= *([0-9]+).*/\1/' <<< "$part")
# The LUKS2 header area (16 MiB) holds the metadata and the key slots.
dd if="$disk" of="$tmp/luks-header" bs=512 skip="$part_start" count=32768 status=none
cryptsetup luksDump "$tmp/luks-header" > "$tmp/luks-dump" 2>&1 \
  || { cat "$tmp/luks-dump"; fail "the data partition is not a LUKS volume"; }
grep -qE '^Version:\s+2$' "$tmp/luks-dump" || fail "the data partition is not LUKS2"
grep -qE 'systemd-tpm2' "$tmp/luks-dump" || fail "the data partition's key is not sealed to a TPM2"
keyslots=$(awk '/^Keyslots:/{k=1;next} /^[A-Z]/{k=0} k && /^ +[0-9]+: luks2/' "$tmp/luks-dump" | wc -l)
[ "$keyslots" = 1 ] || fail "the data partition has $keyslots key slots, expected the TPM2's only"
# No plaintext ext4 in the partition: neither its superblock magic (0xEF53 at byte 1080 of the
# file system; checked in the first 64 MiB, where any unencrypted file system would start) nor
# the names every ext4 root holds, nor the kiosk's SQLite store, anywhere in its bytes.
plain=$(dd if="$disk" bs=512 skip="$part_start" count="$part_size" status=none \
  | LC_ALL=C grep -caE 'lost\+found|SQLite format 3|senim-kiosk' || true)
[ "$plain" = 0 ] || fail "plaintext found in the data partition's raw bytes ($plain lines)"
sb=$(dd if="$disk" bs=512 skip=$(( part_start + 32768 )) count=4 status=none | od -An -tx1 -j1080 -N2 | tr -d ' ')
[ "$sb" != 53ef ] || fail "an ext4 superblock lies in the clear after the LUKS header"
log "on disk: LUKS2, one key slot, sealed to a TPM2 (systemd-tpm2 token), no plaintext in $(( part_size / 2048 )) MiB"
sed -n '/^Tokens:/,/^Digests:/p' "$tmp/luks-dump" \
  | grep -E 'systemd-tpm2|tpm2-hash-pcrs|tpm2-pcr-bank|tpm2-pin|Keyslot' | sed 's/^/    /' || true

# ---- 2. Machine A again: the partition opens by itself at every boot. ----------------------
boot a "$outdir/image-test-serial-reboot.log" "$disk"
wait_for_all "$timeout" "$opened" "$mounted" "$started" "$ready"
log "second boot on machine a: opened by its TPM2, mounted, kiosk started in $(secs $(( $(elapsed_ms) - boot_t0 ))) s"
power_off now

# ---- 3. The same disk in machine B (another TPM2): it does not open. ------------------------
boot b "$outdir/image-test-serial-other-machine.log" "$disk"
wait_for_all "$timeout" "$locked"
# Let the boot settle a little, so a late mount or kiosk start would be seen.
sleep 5
log "machine b says: $(grep -aoE "$locked[^.]*" "$serial" | head -1)"
grep -aE "$cryptsetup_lines" "$serial" | sed 's/^/    /' | head -8
if grep -qaE "$opened|$mounted|$started" "$serial"; then
  fail "the data partition opened on another machine, or the kiosk started"
fi
power_off now
log "machine b (fresh TPM2): the data partition stayed locked; not mounted; the kiosk did not start"

# ---- 4. (--no-tpm) A new kiosk without a TPM2: no data partition, no kiosk. ----------------
if [ "$no_tpm" = 1 ]; then
  rm -f "$disk"
  cp --sparse=always "$image" "$tmp/disk-c.raw"
  truncate -s +512M "$tmp/disk-c.raw"
  mcopy -o -i "$tmp/disk-c.raw@@1M" "$tmp/loader.conf" ::/loader/loader.conf
  boot c "$outdir/image-test-serial-no-tpm.log" "$tmp/disk-c.raw"
  # The locked message comes once the wait for the partition times out (crypttab: 90 s).
  wait_for_all "$timeout" "$locked"
  sleep 5
  grep -aE 'systemd-repart|senim-data' "$serial" | sed 's/^/    /' | head -6
  if grep -qaE "$opened|$mounted|$started" "$serial"; then
    fail "a data partition opened on a machine without a TPM2, or the kiosk started"
  fi
  sfdisk --dump "$tmp/disk-c.raw" 2>/dev/null | grep -q 'name="senim-data"' \
    && fail "a data partition was made without a TPM2"
  power_off now
  log "machine c (no TPM2): no data partition made; the kiosk did not start; the console says why"
fi
log "PASS in $(secs "$(elapsed_ms)") s"
