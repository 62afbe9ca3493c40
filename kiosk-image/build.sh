#!/usr/bin/env bash
# Builds the Senim kiosk disk image: a GPT disk with two A/B slot pairs — a small EFI
# partition holding a unified kernel image (kernel + initrd + command line, one signed-able
# EFI file) and a read-only ext4 root made from Debian bookworm packages — and free space for
# the data partition, which each kiosk makes on its first boot (systemd-repart: LUKS2, its key
# sealed to the kiosk's TPM2, mounted at /var/lib/senim). Slot A holds this build; slot B is
# empty until the first update (RAUC, see kiosk-image/README.md "Software updates"). No loop
# devices or mounts of the image are needed: debootstrap fills a folder, `mkfs.ext4 -d` and
# mtools turn folders into file systems, sfdisk and dd put them on the disk.
#
#   kiosk-image/build.sh --binary target/release/senim-kiosk --out target/image \
#       [--version 1.4.0] [--bundle] [--update-key KEY.pem --update-cert CERT.pem]
#       [--update-keyring CA.pem] [--trial-limit SECONDS] [--serial-console]
#
# --version V      written to the image's /etc/os-release as IMAGE_VERSION=V (default: dev-DATE)
# --bundle         also writes OUT/senim-kiosk-V.raucb, the RAUC update bundle of this build,
#                  signed with --update-key/--update-cert (without them: development keys made
#                  once in OUT/dev-keys/, with a loud warning — never ship those)
# --update-keyring the certificates the image trusts for bundles (default: --update-cert)
# --trial-limit    seconds a newly installed slot has to reach "serving" before it is given up
#                  and the old slot boots again (default 900; /etc/senim/update.conf)
# --serial-console kernel and journal also on ttyS0 (technicians' bench images, make image-test);
#                  not for kiosks whose scanner may sit on the first serial port
#
# Environment: AUTHORIZED_KEYS (default kiosk-image/authorized_keys) — public keys the
# `technician` SSH account accepts; MIRROR (default http://deb.debian.org/debian);
# ROOT_SLOT_MIB (default 2048) — the size of each root slot, fixed for the kiosk's life.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
binary=""
out="$repo/target/image"
version="dev-$(date -u +%Y%m%d%H%M)"
bundle=0
update_key=""
update_cert=""
update_keyring=""
trial_limit=900
serial_console=0
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --bundle) bundle=1; shift ;;
    --update-key) update_key="$2"; shift 2 ;;
    --update-cert) update_cert="$2"; shift 2 ;;
    --update-keyring) update_keyring="$2"; shift 2 ;;
    --trial-limit) trial_limit="$2"; shift 2 ;;
    --serial-console) serial_console=1; shift ;;
    *) echo "build.sh: unknown argument $1 (see the header of kiosk-image/build.sh)" >&2; exit 2 ;;
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
# The version goes into os-release, the bundle's manifest and its file name: keep it plain.
if ! [[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$ ]]; then
  echo "build.sh: --version '$version' must be letters, digits and . _ + ~ - (at most 64)" >&2
  exit 2
fi
if ! [[ "$trial_limit" =~ ^[0-9]+$ ]] || [ "$trial_limit" -lt 30 ]; then
  echo "build.sh: --trial-limit must be a number of seconds, at least 30 (got '$trial_limit')" >&2
  exit 2
fi
if [ -n "$update_key$update_cert" ] && { [ ! -f "$update_key" ] || [ ! -f "$update_cert" ]; }; then
  echo "build.sh: give both --update-key and --update-cert as PEM files (or neither, for development keys)" >&2
  exit 2
fi
mirror="${MIRROR:-http://deb.debian.org/debian}"
keys="${AUTHORIZED_KEYS:-$here/authorized_keys}"
suite=bookworm
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The update signing keys. Without --update-key/--update-cert: a development key pair, made
# once per output folder and reused, so the images and bundles built there trust each other.
if [ -z "$update_cert" ]; then
  update_key="$out/dev-keys/update-key.pem"
  update_cert="$out/dev-keys/update-cert.pem"
  if [ ! -f "$update_key" ] || [ ! -f "$update_cert" ]; then
    install -d -m 0700 "$out/dev-keys"
    openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -sha256 \
      -subj "/O=Senim/CN=Senim DEVELOPMENT update signing - not for kiosks in service" \
      -keyout "$update_key" -out "$update_cert" 2>/dev/null
    chmod 0600 "$update_key"
  fi
  echo "build.sh: WARNING: ****************************************************************" >&2
  echo "build.sh: WARNING: no --update-key/--update-cert: this image trusts, and its bundle is" >&2
  echo "build.sh: WARNING: signed with, the DEVELOPMENT key in $out/dev-keys/." >&2
  echo "build.sh: WARNING: Never install such an image on a kiosk in service." >&2
  echo "build.sh: WARNING: ****************************************************************" >&2
fi
update_keyring="${update_keyring:-$update_cert}"
[ -f "$update_keyring" ] || { echo "build.sh: no keyring file $update_keyring" >&2; exit 2; }

# What the image holds, from Debian. Changing this list rebuilds the cached base.
packages=(
  # boot, init, devices, sessions
  systemd-sysv udev dbus libpam-systemd kmod linux-image-amd64 initramfs-tools zstd
  systemd-boot-efi e2fsprogs
  # A/B updates: RAUC installs signed bundles into the other slot pair and efibootmgr sets
  # BootNext (trial boot) and BootOrder (marked good); dosfstools for the boot slots
  rauc rauc-service efibootmgr dosfstools
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

# Updates (RAUC, /etc/rauc/system.conf from the overlay): the certificates bundles must be
# signed by, the trial boot's limit, and this build's version for the kiosk and technicians.
install -D -m 0644 "$update_keyring" "$root/etc/rauc/keyring.pem"
install -d "$root/etc/senim"
cat > "$root/etc/senim/update.conf" <<EOF
# Written by kiosk-image/build.sh. A newly installed slot's first boot (its trial) must reach
# "serving" (/run/senim-kiosk/serving) within this many seconds, or the kiosk reboots and the
# firmware boots the old slot again. A root-owned /var/lib/senim/update.conf may override it.
TRIAL_LIMIT_SECONDS=$trial_limit
EOF
sed -i '/^IMAGE_VERSION=/d; /^IMAGE_ID=/d' "$root/usr/lib/os-release"
printf 'IMAGE_ID=senim-kiosk\nIMAGE_VERSION=%s\n' "$version" >> "$root/usr/lib/os-release"

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
  systemd-timesyncd.service ssh.service seatd.service senim-data-locked.service \
  senim-boot-entries.service senim-trial-boot.service senim-update-install.path \
  senim-update-good.path senim-reboot-request.path >/dev/null 2>&1
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

# ---- 3. The boot slot: one unified kernel image (UKI) on a small EFI partition. ------------
# systemd-stub (systemd-boot-efi) with the kernel, the initrd, the command line and os-release
# added as PE sections (systemd 252's objcopy recipe: fixed addresses, .initrd last). The
# firmware boots it directly from a boot entry per slot (senim-a, senim-b) that
# senim-boot-entries.service makes on first boot; before that, from the removable-media path
# EFI/BOOT/BOOTX64.EFI of the first EFI partition. No boot menu, no command-line editor: the
# command line is inside the one file. root= names this build's own root file system by UUID,
# so the same boot slot image works whichever slot pair it is installed into.
kernel=$(cd "$root/boot" && ls vmlinuz-* | sort -V | tail -1)
initrd="initrd.img-${kernel#vmlinuz-}"
[ -f "$root/boot/$initrd" ] || { echo "build.sh: no $initrd in the image" >&2; exit 1; }
cmdline="root=UUID=$root_uuid ro consoleblank=0 vt.global_cursor_default=0 systemd.gpt_auto=0"
if [ "$serial_console" = 1 ]; then
  cmdline="$cmdline console=tty1 console=ttyS0,115200 systemd.show_status=1 systemd.journald.forward_to_console=1"
else
  cmdline="$cmdline quiet loglevel=3 systemd.show_status=auto rd.udev.log_level=3"
fi
printf '%s' "$cmdline" > "$work/cmdline.txt"
uki="$work/senim.efi"
objcopy \
  --add-section .osrel="$root/usr/lib/os-release" --change-section-vma .osrel=0x20000 \
  --add-section .cmdline="$work/cmdline.txt" --change-section-vma .cmdline=0x30000 \
  --add-section .linux="$root/boot/$kernel" --change-section-vma .linux=0x2000000 \
  --add-section .initrd="$root/boot/$initrd" --change-section-vma .initrd=0x3000000 \
  "$root/usr/lib/systemd/boot/efi/linuxx64.efi.stub" "$uki"
efi_mib=128
efi_img="$work/efi.vfat"
truncate -s "${efi_mib}M" "$efi_img"
mkfs.vfat -F 32 -n SENIM-BOOT "$efi_img" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$efi_img" ::/EFI ::/EFI/BOOT
mcopy -i "$efi_img" "$uki" ::/EFI/BOOT/BOOTX64.EFI
log "boot slot: UKI of $(( $(stat -c %s "$uki") / 1048576 )) MiB ($kernel); command line: $cmdline"
# The kernel and initrd live in the UKI only; the read-only root needs no /boot.
rm -f "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* "$root"/vmlinuz* "$root"/initrd.img*

# ---- 4. The data partition: not in the image. ---------------------------------------------
# Each kiosk makes its own on first boot (usr/lib/repart.d/50-senim-data.conf): LUKS2 with a
# key sealed to its TPM2, ext4 inside, filling the disk; the image leaves room for the smallest.
data_mib=256

# ---- 5. The root file system, sized to its contents; the root slots, fixed in size. -------
used_mib=$(du -sm --apparent-size "$root" | cut -f1)
root_mib=$(( used_mib * 115 / 100 + 128 ))
slot_mib="${ROOT_SLOT_MIB:-2048}"
if [ "$root_mib" -gt "$slot_mib" ]; then
  echo "build.sh: the root file system needs ${root_mib} MiB, more than a root slot (${slot_mib} MiB);" >&2
  echo "build.sh: kiosks in service cannot grow their slots, so make the image smaller." >&2
  exit 1
fi
root_img="$work/root.ext4"
log "root: ${used_mib} MiB of files in a ${root_mib} MiB ext4 (root slots: ${slot_mib} MiB each)"
mkfs.ext4 -q -L senim-root -U "$root_uuid" -J size=16 -E root_owner=0:0 -d "$root" \
  "$root_img" "${root_mib}M" >/dev/null

# ---- 6. The disk: GPT with both slot pairs, slot A filled, free space after them. ----------
# The partition names are what /etc/rauc/system.conf and the boot entries find the slots by.
disk="$out/senim-kiosk.raw"
rm -f "$disk"
efi_a=1
efi_b=$(( efi_a + efi_mib ))
root_a=$(( efi_b + efi_mib ))
root_b=$(( root_a + slot_mib ))
data_start=$(( root_b + slot_mib ))
total_mib=$(( data_start + data_mib + 1 ))
truncate -s "${total_mib}M" "$disk"
esp_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
sfdisk --quiet "$disk" <<EOF
label: gpt
start=${efi_a}MiB, size=${efi_mib}MiB, type=$esp_type, name="senim-efi-a"
start=${efi_b}MiB, size=${efi_mib}MiB, type=$esp_type, name="senim-efi-b"
start=${root_a}MiB, size=${slot_mib}MiB, type=$root_type, name="senim-root-a"
start=${root_b}MiB, size=${slot_mib}MiB, type=$root_type, name="senim-root-b"
EOF
dd if="$efi_img" of="$disk" bs=1M seek="$efi_a" conv=notrunc,sparse status=none
dd if="$root_img" of="$disk" bs=1M seek="$root_a" conv=notrunc,sparse status=none

# ---- 7. The update bundle (--bundle): the same two file systems, signed. -------------------
if [ "$bundle" = 1 ]; then
  content="$work/bundle"
  mkdir -p "$content"
  mv "$root_img" "$content/root.ext4"
  mv "$efi_img" "$content/efi.vfat"
  cat > "$content/manifest.raucm" <<EOF
[update]
compatible=senim-kiosk-x86_64
version=$version
description=Senim kiosk image $version

[bundle]
format=verity

[image.rootfs]
filename=root.ext4

[image.efi]
filename=efi.vfat
EOF
  bundle_file="$out/senim-kiosk-$version.raucb"
  rm -f "$bundle_file"
  log "bundle: signing with $update_cert"
  rauc bundle --cert="$update_cert" --key="$update_key" --keyring="$update_keyring" \
    --mksquashfs-args="-comp zstd" "$content" "$bundle_file" > "$work/rauc-bundle.log" 2>&1 \
    || { cat "$work/rauc-bundle.log"; exit 1; }
  log "bundle: $bundle_file ($(du -h "$bundle_file" | cut -f1))"
fi
rm -rf "$work"

elapsed=$(( $(date +%s) - started ))
log "done in ${elapsed} s: $disk, version $version ($(du -h --apparent-size "$disk" | cut -f1) disk, $(du -h "$disk" | cut -f1) allocated)"
log "write it with: dd if=$disk of=/dev/sdX bs=4M conv=fsync status=progress"
