#!/usr/bin/env bash
# Builds the Senim kiosk disk image: a GPT disk with an EFI system partition (systemd-boot,
# kernel, initrd), a read-only ext4 root made from Debian bookworm packages, and free space for
# the data partition, which each kiosk makes on its first boot (systemd-repart: LUKS2, its key
# sealed to the kiosk's TPM2, mounted at /var/lib/senim). No loop devices or mounts of the
# image are needed: debootstrap fills a folder, `mkfs.ext4 -d` and mtools turn folders into
# file systems, sfdisk and dd put them on the disk. See kiosk-image/README.md.
#
#   kiosk-image/build.sh --binary target/release/senim-kiosk --out target/image
#
# Environment: AUTHORIZED_KEYS (default kiosk-image/authorized_keys) — public keys the
# `technician` SSH account accepts; MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
binary=""
out="$repo/target/image"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "build.sh: unknown argument $1 (expected --binary PATH --out DIR)" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
  echo "build.sh: --binary must name the release senim-kiosk binary (got '${binary}')" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "build.sh: run as root (debootstrap and chroot need it)" >&2
  exit 2
fi
mirror="${MIRROR:-http://deb.debian.org/debian}"
keys="${AUTHORIZED_KEYS:-$here/authorized_keys}"
suite=bookworm
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# What the image holds, from Debian. Changing this list rebuilds the cached base.
packages=(
  # boot, init, devices, sessions
  systemd-sysv udev dbus libpam-systemd kmod linux-image-amd64 initramfs-tools zstd
  systemd-boot-efi e2fsprogs
  # the data partition: LUKS2 made on first boot by systemd-repart, its key sealed to the TPM2;
  # systemd 252 loads these TPM2 libraries at run time (dlopen), and cryptsetup is for
  # technicians (cryptsetup status/luksDump)
  libtss2-esys-3.0.2-0 libtss2-rc0 libtss2-mu0 libtss2-tcti-device0 cryptsetup-bin
  # network and time
  systemd-resolved systemd-timesyncd ca-certificates tzdata
  # the screen: cage (Wayland kiosk compositor, wlroots) and what the kiosk's winit backend
  # loads at run time
  cage seatd libwayland-client0 libwayland-cursor0 libxkbcommon0 libfontconfig1 fonts-dejavu-core
  # video appeals: v4l2src, alsasrc, vp8enc, opusenc, webmmux (+ gst-launch-1.0 and
  # v4l2-ctl/arecord for a technician's checks)
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-alsa gstreamer1.0-tools
  v4l-utils alsa-utils
  # the live call (src/devices/call): the kiosk binary links libgstwebrtc (plugins-bad's
  # library) and runs webrtcbin with libnice's ICE agent
  gstreamer1.0-plugins-bad gstreamer1.0-nice
  # spoken guidance: the guide steps' prompts are made when a catalogue is installed
  espeak-ng
  # technicians: key-only SSH, sudo, and the tools to find a new device's ids
  openssh-server sudo usbutils iproute2 iputils-ping procps less nano
)

log() { printf 'build.sh: [%(%H:%M:%S)T] %s\n' -1 "$*"; }
started=$(date +%s)

# ---- 1. The base file system: debootstrap + packages, cached by the package list. ----------
base_key=$(printf '%s\n' "$suite" "$mirror" "${packages[@]}" | sha256sum | cut -c1-16)
base="$out/base-$base_key"
cache="$out/cache/debs"
mkdir -p "$cache"

chroot_mounts=()
mount_chroot() {
  local root="$1"
  for d in proc sys dev dev/pts; do
    mkdir -p "$root/$d"
  done
  mount -t proc proc "$root/proc"; chroot_mounts+=("$root/proc")
  mount -t sysfs sysfs "$root/sys"; chroot_mounts+=("$root/sys")
  mount --bind /dev "$root/dev"; chroot_mounts+=("$root/dev")
  mount --bind /dev/pts "$root/dev/pts"; chroot_mounts+=("$root/dev/pts")
  mkdir -p "$root/var/cache/apt/archives"
  mount --bind "$cache" "$root/var/cache/apt/archives"; chroot_mounts+=("$root/var/cache/apt/archives")
}
umount_chroot() {
  local i
  for ((i = ${#chroot_mounts[@]} - 1; i >= 0; i--)); do
    umount "${chroot_mounts[$i]}" 2>/dev/null || umount -l "${chroot_mounts[$i]}" || true
  done
  chroot_mounts=()
}
trap umount_chroot EXIT
in_root() { LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }

if [ ! -f "$base/.complete" ]; then
  log "base $base_key: debootstrap $suite (first build or package list changed)"
  rm -rf "$base" "$out"/base-*
  root="$base"
  debootstrap --variant=minbase --cache-dir="$cache" "$suite" "$root" "$mirror" \
    > "$out/debootstrap.log" 2>&1 || { tail -20 "$out/debootstrap.log"; exit 1; }
  cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
  # No daemons start inside the build chroot.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mount_chroot "$root"
  log "base: installing ${#packages[@]} packages"
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    > "$out/apt.log" 2>&1 || { tail -30 "$out/apt.log"; exit 1; }
  # The downloaded packages stay in $cache (bind-mounted), for the next base build.
  umount_chroot
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  rm -f "$root/usr/sbin/policy-rc.d"
  touch "$base/.complete"
else
  log "base $base_key: cached"
fi

# ---- 2. The kiosk's root file system: a copy of the base, configured. ---------------------
work="$out/work"
rm -rf "$work"
mkdir -p "$work"
root="$work/root"
log "configuring the root file system"
cp -a "$base" "$root"
rm -f "$root/.complete"

# The kiosk and its files.
install -D -m 0755 "$binary" "$root/usr/bin/senim-kiosk"
install -d "$root/usr/share/senim/services" "$root/usr/share/doc/senim"
install -m 0644 "$repo"/config/services/*.toml "$root/usr/share/senim/services/"
# The step drawings the catalogue names (`image = "images/…"`).
install -d "$root/usr/share/senim/services/images"
install -m 0644 "$repo"/config/services/images/* "$root/usr/share/senim/services/images/"
install -m 0644 "$repo/assets/fonts/kiosk-fonts.conf" "$root/usr/share/senim/kiosk-fonts.conf"
# The screens' spoken prompts ([speech] prompts_dir), made by `make prompts`.
install -d "$root/usr/share/senim/prompts"
cp -r "$repo/assets/prompts/." "$root/usr/share/senim/prompts/"
install -m 0644 "$repo/config/kiosk.example.toml" "$root/usr/share/doc/senim/kiosk.example.toml"
install -m 0644 "$repo/LICENSE" "$repo/assets/fonts/LICENSE-OFL.txt" "$here/README.md" \
  "$root/usr/share/doc/senim/"
# Units, udev rules, configuration: the overlay, as it is in the repository.
cp -a --no-preserve=ownership "$here/rootfs/." "$root/"
chmod 0440 "$root/etc/sudoers.d/technician"

# Users: `senim` runs the kiosk; `technician` logs in over SSH with a key and uses sudo.
in_root useradd --system --user-group --home-dir /var/lib/senim/kiosk --no-create-home \
  --shell /usr/sbin/nologin --comment "Senim kiosk" senim
in_root usermod -a -G video,render,input,audio,dialout,lp senim
in_root useradd --create-home --shell /bin/bash --comment "Senim technician" \
  --groups sudo,systemd-journal,adm,video,audio,dialout,lp technician
in_root passwd --lock technician >/dev/null
in_root passwd --lock root >/dev/null
install -d -m 0755 "$root/etc/ssh/authorized_keys"
if [ -f "$keys" ]; then
  grep -Ev '^\s*(#|$)' "$keys" > "$root/etc/ssh/authorized_keys/technician" || true
  log "technician SSH keys: $(wc -l < "$root/etc/ssh/authorized_keys/technician") from $keys"
else
  : > "$root/etc/ssh/authorized_keys/technician"
  log "WARNING: no $keys: nobody can log in over SSH (see kiosk-image/authorized_keys.example)"
fi
chmod 0644 "$root/etc/ssh/authorized_keys/technician"
# Host keys are made per kiosk on first boot (senim-ssh-hostkey.service), never shared.
rm -f "$root"/etc/ssh/ssh_host_*

# Services: the kiosk on tty1 instead of a login prompt; networkd + resolved; no timers that
# would write to the read-only root; nothing that suspends.
systemctl --root="$root" enable senim-kiosk.service senim-ssh-hostkey.service \
  senim-udev-local.service systemd-networkd.service systemd-resolved.service \
  systemd-timesyncd.service ssh.service seatd.service senim-data-locked.service >/dev/null 2>&1
systemctl --root="$root" set-default graphical.target >/dev/null 2>&1
systemctl --root="$root" disable getty@tty1.service >/dev/null 2>&1 || true
systemctl --root="$root" mask getty@tty1.service autovt@.service serial-getty@.service \
  ctrl-alt-del.target \
  sleep.target suspend.target hibernate.target hybrid-sleep.target \
  apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer >/dev/null 2>&1
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
ln -sf /usr/share/zoneinfo/Asia/Almaty "$root/etc/localtime"
echo "Asia/Almaty" > "$root/etc/timezone"
echo "senim-kiosk" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsenim-kiosk\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  > "$root/etc/hosts"
# An empty machine-id: systemd makes a fresh one in RAM at each boot on the read-only root.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/* \
  "$root"/var/cache/*
# No manuals, info pages or message catalogues on a kiosk (the kiosk's own translations are in
# its binary); each package's copyright file stays.
rm -rf "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale/* \
  "$root"/usr/share/lintian "$root"/usr/share/bug
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -path "$root/usr/share/doc/senim/*" \
  \( -type f -o -type l \) -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete

# Mount points of the data partition and the RAM file systems (fstab).
install -d -m 0755 "$root/var/lib/senim"

# The root file system's identifier, new for every build. (The data partition's are made on
# the kiosk: /etc/crypttab and /etc/fstab name it by its partition label and its mapper name.)
root_uuid=$(cat /proc/sys/kernel/random/uuid)
sed -i -e "s/^LABEL=senim-root\b/UUID=$root_uuid/" "$root/etc/fstab"

# ---- 3. The EFI system partition: systemd-boot, the kernel and the initrd. ----------------
kernel=$(cd "$root/boot" && ls vmlinuz-* | sort -V | tail -1)
initrd="initrd.img-${kernel#vmlinuz-}"
[ -f "$root/boot/$initrd" ] || { echo "build.sh: no $initrd in the image" >&2; exit 1; }
common="root=UUID=$root_uuid ro consoleblank=0 vt.global_cursor_default=0"
esp="$work/esp.img"
esp_mib=128
truncate -s "${esp_mib}M" "$esp"
mkfs.vfat -F 32 -n SENIM-ESP "$esp" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/senim
mcopy -i "$esp" "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$root/boot/$kernel" ::/senim/vmlinuz
mcopy -i "$esp" "$root/boot/$initrd" ::/senim/initrd.img
# No menu (hold Space while the machine starts to get it) and no editing of the kernel command
# line: a passer-by with a keyboard must not get a root shell with init=/bin/sh.
printf 'default senim.conf\ntimeout 0\neditor no\nconsole-mode keep\n' > "$work/loader.conf"
cat > "$work/senim.conf" <<EOF
title   Senim kiosk
linux   /senim/vmlinuz
initrd  /senim/initrd.img
options $common quiet loglevel=3 systemd.show_status=auto rd.udev.log_level=3
EOF
# The technicians' entry (and make image-test's): boot messages and the journal on the first
# serial port too. Not the default: a serial scanner may sit on that port.
cat > "$work/senim-serial.conf" <<EOF
title   Senim kiosk (serial console on ttyS0)
linux   /senim/vmlinuz
initrd  /senim/initrd.img
options $common console=tty1 console=ttyS0,115200 systemd.show_status=1 systemd.journald.forward_to_console=1
EOF
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/senim.conf" "$work/senim-serial.conf" ::/loader/entries/
# The kernel and initrd live on the ESP only; the read-only root needs no /boot.
rm -f "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* "$root"/vmlinuz* "$root"/initrd.img*

# ---- 4. The data partition: not in the image. ---------------------------------------------
# Each kiosk makes its own on first boot (usr/lib/repart.d/50-senim-data.conf): LUKS2 with a
# key sealed to its TPM2, ext4 inside, filling the disk; the image leaves room for the smallest.
data_mib=256

# ---- 5. The root file system, sized to its contents. --------------------------------------
used_mib=$(du -sm --apparent-size "$root" | cut -f1)
root_mib=$(( used_mib * 115 / 100 + 128 ))
root_img="$work/root.img"
log "root: ${used_mib} MiB of files in a ${root_mib} MiB ext4"
mkfs.ext4 -q -L senim-root -U "$root_uuid" -J size=16 -E root_owner=0:0 -d "$root" \
  "$root_img" "${root_mib}M" >/dev/null

# ---- 6. The disk: GPT, then the two partitions copied in place, free space after them. -----
disk="$out/senim-kiosk.raw"
rm -f "$disk"
esp_start=1
root_start=$(( esp_start + esp_mib ))
data_start=$(( root_start + root_mib ))
total_mib=$(( data_start + data_mib + 1 ))
truncate -s "${total_mib}M" "$disk"
sfdisk --quiet "$disk" <<EOF
label: gpt
start=${esp_start}MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
start=${root_start}MiB, size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="senim-root"
EOF
dd if="$esp" of="$disk" bs=1M seek="$esp_start" conv=notrunc,sparse status=none
dd if="$root_img" of="$disk" bs=1M seek="$root_start" conv=notrunc,sparse status=none
rm -rf "$work"

elapsed=$(( $(date +%s) - started ))
log "done in ${elapsed} s: $disk ($(du -h --apparent-size "$disk" | cut -f1) disk, $(du -h "$disk" | cut -f1) allocated)"
log "write it with: dd if=$disk of=/dev/sdX bs=4M conv=fsync status=progress"
