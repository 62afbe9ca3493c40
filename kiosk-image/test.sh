#!/usr/bin/env bash
# Boots the kiosk image under QEMU (UEFI via OVMF, a software TPM2 from swtpm, virtio GPU for
# cage) and checks from the serial console and over SSH:
#
#  1. First boot on machine A (no network): systemd-repart makes the data partition (LUKS2, key
#     sealed to A's TPM2), systemd-cryptsetup opens it with the TPM2 and nobody present, it is
#     mounted, and senim-kiosk.service reaches "started" — which, with Type=notify, means the
#     kiosk itself sent READY=1 once its window was up — and then stays up, without a restart,
#     for longer than the service's watchdog period. The EFI boot entries senim-a/senim-b are
#     made. Then a clean power-off, and from the host: the partition is LUKS2 with a
#     systemd-tpm2 token and no plaintext file system.
#  2. Second boot on machine A (same TPM2 state, same firmware variables): the partition opens
#     again by itself and the kiosk starts.
#  3. The same disk on machine B (a fresh swtpm state, fresh firmware variables): the partition
#     does not open, it is not mounted, the kiosk does not start, and the console says why.
#  4. Enrolment (machine A, QEMU user network with restrict=on: the guest reaches only the
#     call-centre on the host through a guestfwd to 127.0.0.1, and the host reaches the guest's
#     SSH through a hostfwd on 127.0.0.1): a real senim-callcentre on the host makes an
#     enrolment code with --url https://10.0.2.100:PORT; its first line is typed on the
#     emulated USB serial scanner (guest /dev/ttyUSB0); the blank kiosk enrols and serves;
#     `doctor --send-test-appeal` over SSH delivers a test appeal.
#  5. A good update: `update publish` of bundle V2; the kiosk downloads it, has it installed
#     (install.request), switches in the quiet hour (the guest clock starts at 02:30 Almaty),
#     boots V2 on the other slot as a trial, reaches serving, marks it good; `update status`
#     shows V2.
#  6. A broken update: bundle V3 (its kiosk binary exits 1) is installed the same way; its trial
#     boot never reaches serving, the trial limit reboots, the firmware boots V2 again by
#     itself, and `update status` shows V3 failed.
#  7. Only with --no-tpm: a fresh copy of the image on machine C, which has no TPM2 at all: no
#     data partition is made, the kiosk does not start, the console says why (~3 more minutes).
#
# --by-hand plays the kiosk's side of the update contract over SSH instead (for kiosk binaries
# that predate it): it skips stage 4, and in 5 and 6 streams each bundle into the kiosk's
# updates folder, writes install.request, waits for install.result, writes reboot.request, and
# on V2's trial boot writes the serving mark; V3's trial gets none, as its kiosk never starts.
#
#   kiosk-image/test.sh [--binary target/release/senim-kiosk] [--callcentre BIN] [--by-hand]
#                       [--stages tpm,enrol,update] [--stay SECONDS] [--timeout SECONDS]
#                       [--no-tpm]
#
# With --binary the test first builds what it boots into the output folder (target/image):
# image-test-1.raw (version 1.0.0-test) and the bundles senim-kiosk-2.0.0-test.raucb and
# senim-kiosk-3.0.0-broken.raucb, all with --serial-console, a 120 s trial limit, the
# development update keys and a test SSH key (image-test-ssh-key, made there); without it,
# those files must already be there. The image is not changed: the test boots a sparse copy on
# a disk 1 GiB larger (the data partition fills it). Leaves the serial logs
# (image-test-serial*.log) and a screenshot in the output folder.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
outdir="$repo/target/image"
binary=""
callcentre=""
by_hand=0
stages="tpm,enrol,update"
stay=40
timeout=420
no_tpm=0
trial_limit=120
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tpm) no_tpm=1; shift ;;
    --out) outdir="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --callcentre) callcentre="$2"; shift 2 ;;
    --by-hand) by_hand=1; shift ;;
    --stages) stages="$2"; shift 2 ;;
    --stay) stay="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    *) echo "test.sh: unknown argument $1 (see the header of kiosk-image/test.sh)" >&2; exit 2 ;;
  esac
done
stage() { [[ ",$stages," == *",$1,"* ]]; }
v1=1.0.0-test
v2=2.0.0-test
v3=3.0.0-broken
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
image="$outdir/image-test-1.raw"
good_bundle="$outdir/senim-kiosk-$v2.raucb"
broken_bundle="$outdir/senim-kiosk-$v3.raucb"
ssh_key="$outdir/image-test-ssh-key"
if [ -n "$binary" ]; then
  # The three builds share the cached base and the development update keys of $outdir.
  [ -f "$ssh_key" ] || ssh-keygen -q -t ed25519 -N '' -C senim-image-test -f "$ssh_key"
  broken="$outdir/image-test-broken-senim-kiosk"
  printf '#!/bin/sh\necho "senim-kiosk: a deliberately broken build (make image-test)" >&2\nexit 1\n' > "$broken"
  chmod 755 "$broken"
  # The last build's disk image is the one booted; the first two give their bundles.
  for build in "$broken $v3 --bundle" "$binary $v2 --bundle" "$binary $v1"; do
    set -- $build
    AUTHORIZED_KEYS="$ssh_key.pub" bash "$here/build.sh" --binary "$1" --out "$outdir" \
      --version "$2" ${3:-} --serial-console --trial-limit "$trial_limit" \
      || { echo "test.sh: building $2 failed" >&2; exit 1; }
  done
  mv -f "$outdir/senim-kiosk.raw" "$image"
  rm -f "$broken"
fi
for f in "$image" "$good_bundle" "$broken_bundle" "$ssh_key"; do
  [ -f "$f" ] || { echo "test.sh: no $f; run make image-test (or pass --binary)" >&2; exit 2; }
done
if [ "$by_hand" = 0 ] && { stage enrol || stage update; }; then
  [ -x "$callcentre" ] || { echo "test.sh: --callcentre must name the senim-callcentre binary" >&2; exit 2; }
fi
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$ovmf_code" ] || { echo "test.sh: no $ovmf_code (package ovmf); run make image-test" >&2; exit 2; }
for tool in swtpm cryptsetup sfdisk socat; do
  command -v "$tool" >/dev/null \
    || { echo "test.sh: no $tool; run make image-test (scripts/setup.sh image-test)" >&2; exit 2; }
done

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
truncate -s +1G "$disk"
export MTOOLS_SKIP_CHECK=1
# The test reads the serial console: the image must have been built with --serial-console.
mcopy -i "$disk@@1M" ::/EFI/BOOT/BOOTX64.EFI "$tmp/uki.efi"
objcopy -O binary --only-section=.cmdline "$tmp/uki.efi" "$tmp/cmdline"
grep -q 'console=ttyS0' "$tmp/cmdline" \
  || { echo "test.sh: $image was not built with --serial-console" >&2; exit 2; }
rm -f "$tmp/uki.efi"
# A "machine" is its firmware variables ($tmp/vars-*.fd) and its TPM2's state ($tmp/tpm-*).

# Software emulation by default: on this project's machines (themselves virtual) KVM stops in
# OVMF's first FPU instruction ("KVM internal error ... emulation failure"). Where nested KVM
# works, QEMU_ACCEL=kvm boots several times faster.
accel="${QEMU_ACCEL:-tcg}"
cpu=max
serial=""
boot_t0=0
# No network unless a stage sets one up (enrolment and updates).
net_args=(-nic none)

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
    "${net_args[@]}" \
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
if stage tpm; then
boot a "$outdir/image-test-serial.log" "$disk"
# Both lines, in either order: systemd's "Started" and the kiosk's own READY log line.
wait_for_all "$timeout" "$started" "$ready"
boot_to_started=$(( $(elapsed_ms) - boot_t0 ))
log "senim-kiosk.service started (kiosk sent READY=1) $(secs "$boot_to_started") s after qemu started"
grep -qaE 'systemd-repart\[' "$serial" || fail "systemd-repart did not run on first boot"
grep -qaE "$opened" "$serial" || fail "the data partition was not opened"
grep -qaE "$mounted" "$serial" || fail "the data partition was not mounted"
log "first boot: systemd-repart made the data partition; the TPM2 opened it; mounted"
grep -qaE 'made boot entry senim-a' "$serial" && grep -qaE 'made boot entry senim-b' "$serial" \
  || fail "the EFI boot entries senim-a/senim-b were not made"
log "first boot: EFI boot entries senim-a and senim-b made, slot a first in BootOrder"

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

fi  # stage tpm

# ---- Network, SSH and the call-centre for stages 4-6. ---------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ssh_port=$(free_port)
cc_port=$(free_port)
ssh_opts=(-i "$ssh_key" -p "$ssh_port" -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10)
on_kiosk() { ssh "${ssh_opts[@]}" technician@127.0.0.1 "$@"; }
# The guest sees the host's call-centre at 10.0.2.100 (a guestfwd: one socat per connection,
# to 127.0.0.1 only) and nothing else (restrict=on); SSH comes in through a hostfwd on
# 127.0.0.1. An HDA sound card (its input silent) is the microphone the kiosk finds for the
# test appeal (no camera: a voice-only take). The scanner is an FTDI USB serial chip (guest
# /dev/ttyUSB0) whose other end is a pair of FIFOs here. The clock starts at 02:30 in Almaty (UTC+5), inside the default quiet hours.
# The next 21:30 UTC from now, so the guest's clock is never behind the host's (the
# call-centre's certificate is made at its start).
quiet_start=$(date -u -d "$(date -u +%F) 21:30" +%s)
[ "$quiet_start" -gt "$(date -u +%s)" ] || quiet_start=$(( quiet_start + 86400 ))
quiet_start=$(date -u -d "@$quiet_start" +%Y-%m-%dT%H:%M:%S)
# The scanner's other end is a pair of FIFOs: a pipe chardev counts as connected from the
# start, so the USB device is plugged in at boot. (A socket chardev plugs it in only while a
# client is connected: a scan written and closed at once arrives before the guest sees it.)
mkfifo "$tmp/scanner.in" "$tmp/scanner.out"
network_args() {
  net_args=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$ssh_port-:22,guestfwd=tcp:10.0.2.100:$cc_port-cmd:socat - TCP:127.0.0.1:$cc_port"
    -device virtio-net-pci,netdev=n0
    -device qemu-xhci -chardev pipe,id=scanner,path="$tmp/scanner"
    -device usb-serial,chardev=scanner
    -audiodev none,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0
    -rtc base="$quiet_start")
}
wait_ssh() {
  local deadline="$1"
  until on_kiosk true 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || fail "qemu exited while waiting for SSH"
    [ "$(( $(elapsed_ms) - boot_t0 ))" -lt $(( deadline * 1000 )) ] || fail "no SSH within ${deadline} s"
    sleep 2
  done
}
# Waits for the guest to reboot: with -no-reboot QEMU exits, and the next boot() starts it
# again on the same disk, firmware variables and TPM2 state, as a reboot would.
wait_reboot() {
  local deadline="$1" i
  while kill -0 "$qemu_pid" 2>/dev/null; do
    [ "$(( $(elapsed_ms) - boot_t0 ))" -lt $(( deadline * 1000 )) ] || fail "no reboot within ${deadline} s"
    sleep 1
  done
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=""
  for i in $(seq 50); do kill -0 "$tpm_pid" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$tpm_pid"
  tpm_pid=""
}
image_version() { on_kiosk sed -n 's/^IMAGE_VERSION=//p' /etc/os-release; }
cc_pid=""
cc() { "$callcentre" --config "$tmp/callcentre.toml" "$@"; }
if [ "$by_hand" = 0 ] && { stage enrol || stage update; }; then
  mkdir -p "$tmp/cc-data"
  # The call-centre speaks HTTPS itself, with a certificate for the address the guest uses;
  # the kiosk pins its key from the enrolment text.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=senim-image-test -addext "subjectAltName=IP:10.0.2.100" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -keyout "$tmp/cc-key.pem" -out "$tmp/cc-cert.pem" 2>/dev/null
  cat > "$tmp/callcentre.toml" <<EOF
[server]
listen = "127.0.0.1:$cc_port"
data_dir = "$tmp/cc-data"
public_url = "https://10.0.2.100:$cc_port"

[tls]
cert = "$tmp/cc-cert.pem"
key = "$tmp/cc-key.pem"

[updates]
keyring = "$outdir/dev-keys/update-cert.pem"
EOF
  cc serve > "$outdir/image-test-callcentre.log" 2>&1 &
  cc_pid=$!
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$cc_port") 2>/dev/null && break
    kill -0 "$cc_pid" 2>/dev/null || { cat "$outdir/image-test-callcentre.log"; fail "senim-callcentre did not start"; }
    sleep 0.3
  done
  log "senim-callcentre serving on 127.0.0.1:$cc_port (the guest's https://10.0.2.100:$cc_port)"
fi
trap 'stop_pid "$cc_pid"; cleanup' EXIT

started_count() { grep -caE 'systemd\[1\]: Started senim-kiosk\.service' "$serial" || true; }

# ---- 4. Enrolment: one scan of the call-centre's QR text, then a test appeal. ---------------
network_args
boot a "$outdir/image-test-serial-enrol.log" "$disk"
wait_for_all "$timeout" "$opened" "$mounted"
wait_ssh "$timeout"
log "machine a up with network; SSH answers $(secs $(( $(elapsed_ms) - boot_t0 ))) s after qemu started"
if stage enrol && [ "$by_hand" = 0 ]; then
  wait_for_all "$timeout" "$started" "$ready"
  qr=$(cc enrol-code --site "Ward 5" --url "https://10.0.2.100:$cc_port" | head -n 1)
  case "$qr" in SENIM-ENROL:*url=*) ;; *) fail "enrol-code's first line is not an enrolment text with a URL" ;; esac
  # The kiosk shows the enrolment page with the scanner open before anyone scans.
  wait_for_all "$timeout" 'screen from="attract" to="enrol"' 'INFO card scanner connected'
  # A hand scanner types the text and a CR LF, as the image's kiosk.toml expects. A person
  # whose scan does nothing scans again: at most three scans, a minute apart, each logged.
  for scan in 1 2 3; do
    printf '%s\r\n' "$qr" > "$tmp/scanner.in"
    log "scan $scan: typed the enrolment QR text on the emulated scanner"
    for i in $(seq 30); do
      cc kiosk list 2>/dev/null | grep -q 'Ward 5' && break 2
      sleep 2
    done
  done
  if ! cc kiosk list | grep -q 'Ward 5'; then
    on_kiosk sudo journalctl -u senim-kiosk --no-pager -o cat -n 40 || true
    fail "the kiosk did not enrol after three scans"
  fi
  log "the kiosk enrolled: $(cc kiosk list | grep 'Ward 5' | head -1)"
  on_kiosk sudo -u senim senim-kiosk doctor --send-test-appeal > "$tmp/appeal.log" 2>&1 \
    || { cat "$tmp/appeal.log"; fail "the test appeal was not delivered"; }
  log "a test appeal was delivered to the call-centre (doctor --send-test-appeal)"
elif stage enrol; then
  log "enrolment: skipped (--by-hand: the kiosk binary predates the enrolment screen)"
fi

# Gives the kiosk bundle $1 (version $2): the call-centre offers it, or, by hand, the test plays
# the kiosk's side of the installer contract. Returns once the guest starts rebooting into it.
deliver_update() {
  local bundle="$1" version="$2" dir=/var/lib/senim/kiosk/updates result=""
  if [ "$by_hand" = 0 ]; then
    cc update publish "$bundle" --sites "Ward 5" || fail "update publish refused $bundle"
    log "published $version for Ward 5; waiting for the kiosk to download, install and switch"
    return 0
  fi
  on_kiosk "sudo -u senim sh -c 'cat > $dir/senim-$version.raucb.part'" < "$bundle" \
    || fail "copying the bundle into the kiosk failed"
  printf '{"version":"%s","bundle":"%s"}\n' "$version" "$dir/senim-$version.raucb" \
    | on_kiosk "sudo -u senim sh -c 'mv $dir/senim-$version.raucb.part $dir/senim-$version.raucb &&
        cat > $dir/install.request.tmp && mv $dir/install.request.tmp $dir/install.request'" \
    || fail "writing install.request failed"
  log "by hand: bundle $version in the kiosk's updates folder, install.request written"
  for i in $(seq 300); do
    result=$(on_kiosk "sudo cat $dir/install.result 2>/dev/null" || true)
    [[ "$result" == *"\"version\":\"$version\""* ]] && break
    sleep 2
  done
  log "install.result: $result"
  [[ "$result" == *'"ok":true'* ]] || fail "the install of $version did not succeed"
  on_kiosk "sudo test ! -e $dir/install.request && sudo test ! -e $dir/senim-$version.raucb" \
    || fail "the request or the bundle was left behind"
  on_kiosk sudo rauc status | sed 's/^/    /'
  on_kiosk "sudo -u senim touch /run/senim-kiosk/reboot.request"
  log "by hand: reboot.request written"
}

if stage update; then
  # ---- 5. A good update: V2 installs into slot b, boots as a trial, is marked good. ---------
  [ "$(image_version)" = "$v1" ] || fail "machine a does not run $v1 before the update"
  deliver_update "$good_bundle" "$v2"
  wait_reboot 3600
  log "machine a rebooted to switch to $v2"
  boot a "$outdir/image-test-serial-update-good.log" "$disk"
  wait_ssh "$timeout"
  [ "$(image_version)" = "$v2" ] || fail "after the switch machine a runs $(image_version), not $v2"
  wait_for_all "$timeout" 'trial boot of slot b' "$started"
  log "$v2 booted from slot b as a trial"
  if [ "$by_hand" = 1 ]; then
    on_kiosk "sudo -u senim touch /run/senim-kiosk/serving"
    log "by hand: serving mark written"
  fi
  wait_for_all "$timeout" 'slot b marked good'
  order=$(on_kiosk sudo efibootmgr | sed -n 's/^BootOrder: //p')
  first=$(on_kiosk sudo efibootmgr | grep -E "^Boot${order%%,*}")
  [[ "$first" == *senim-b ]] || fail "slot b is not first in BootOrder after mark-good ($first)"
  log "slot b marked good: first in BootOrder ($first)"
  if [ "$by_hand" = 0 ]; then
    for i in $(seq 120); do cc update status | grep 'Ward 5' | grep -q "$v2" && break; sleep 2; done
    cc update status | grep 'Ward 5' | grep -q "$v2" || fail "update status does not show $v2"
    log "update status: $(cc update status | grep 'Ward 5')"
  fi

  # ---- 6. A broken update: V3's trial boot never serves; V2 comes back by itself. ----------
  deliver_update "$broken_bundle" "$v3"
  wait_reboot 3600
  boot a "$outdir/image-test-serial-update-broken.log" "$disk"
  wait_for_all "$timeout" 'trial boot of slot a'
  log "$v3 booted from slot a as a trial; its kiosk exits at start"
  # The trial limit (120 s) runs out: the guest reboots by itself.
  wait_reboot $(( timeout + trial_limit ))
  grep -qaE 'did not reach serving within' "$serial" || fail "the trial boot ended without the trial limit"
  grep -qaE 'slot a marked good' "$serial" && fail "the broken slot was marked good"
  log "the trial boot of $v3 did not reach serving; the kiosk rebooted by itself"
  boot a "$outdir/image-test-serial-rolled-back.log" "$disk"
  wait_ssh "$timeout"
  [ "$(image_version)" = "$v2" ] || fail "after the failed trial machine a runs $(image_version), not $v2"
  wait_for_all "$timeout" "$started" "$ready"
  log "the firmware booted slot b ($v2) again by itself; the kiosk serves"
  if [ "$by_hand" = 0 ]; then
    for i in $(seq 120); do cc update status | grep 'Ward 5' | grep -q "$v3.*failed\|failed.*$v3" && break; sleep 2; done
    cc update status | grep 'Ward 5' | grep -qE "$v3.*failed|failed.*$v3" \
      || fail "update status does not show $v3 failed"
    log "update status: $(cc update status | grep 'Ward 5')"
  fi
fi
power_off now

# ---- 7. (--no-tpm) A new kiosk without a TPM2: no data partition, no kiosk. ----------------
if [ "$no_tpm" = 1 ]; then
  rm -f "$disk"
  cp --sparse=always "$image" "$tmp/disk-c.raw"
  truncate -s +1G "$tmp/disk-c.raw"
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
