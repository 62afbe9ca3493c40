#!/usr/bin/env bash
# Installs what building, testing and demonstrating Senim needs on Debian. Idempotent: installs
# only missing packages, so `make demo`, `make test` and CI can call it every time.
#   scripts/setup.sh             what build, test, demo and bench need
#   scripts/setup.sh image       + what `make image` needs to build the kiosk disk image
#   scripts/setup.sh image-test  + what `make image-test` needs to boot it under QEMU
set -euo pipefail
profile="${1:-}"

packages=(
  pkg-config libfontconfig1-dev libxkbcommon-dev libudev-dev
  xvfb xauth x11-utils xdotool imagemagick socat procps python3 python3-xlib
  # The operator console's browser tests and the demo's calls to the call-centre.
  chromium chromium-driver curl ca-certificates
  # A private Python for third-party protocol clients the tests run against the backend.
  python3-venv
  # The call-centre on PostgreSQL ([database] url): the tests start Debian's server and client
  # in a temporary folder (callcentre/tests/common/postgres.rs).
  postgresql-15 postgresql-client-15
  # tests/image.rs checks the image's units and udev rules with systemd-analyze and udevadm.
  systemd udev
  # The camera and microphone (src/devices/camera): GStreamer 1.22 headers for gstreamer-rs,
  # the elements a take needs (v4l2src, vp8enc, opusenc, webmmux, splitmuxsink, level,
  # videotestsrc/audiotestsrc for tests and the demo), the ALSA and PulseAudio sources and
  # sinks, and gst-launch-1.0/gst-discoverer-1.0 for technicians and the CPU bench.
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools
  gstreamer1.0-alsa gstreamer1.0-pulseaudio gstreamer1.0-plugins-base-apps
  # The live call's media (src/devices/call): webrtcbin (plugins-bad), its ICE agent (libnice,
  # gstreamer1.0-nice) and the headers gstreamer-webrtc/gstreamer-sdp link against.
  gstreamer1.0-plugins-bad gstreamer1.0-nice libgstreamer-plugins-bad1.0-dev
  # Spoken guidance (src/speech): espeak-ng's kk, ru and en voices make the prompts.
  espeak-ng
  # System updates (issue 18): `update publish` checks bundles with `rauc info`; the tests
  # make tiny signed bundles with `rauc bundle` (squashfs-tools) and keys with openssl.
  rauc squashfs-tools openssl
)
case "$profile" in
  "") ;;
  image | image-test)
    # kiosk-image/build.sh: a Debian root in a folder, then file systems and a GPT disk made
    # from folders and files, without loop devices or mounts.
    packages+=(debootstrap mtools dosfstools fdisk e2fsprogs)
    # A/B updates: the unified kernel image is made with objcopy (binutils) onto systemd-boot's
    # stub; `rauc bundle` (squashfs-tools, openssl) signs the update bundle.
    packages+=(binutils systemd-boot-efi rauc squashfs-tools openssl)
    ;;&
  image-test)
    # kiosk-image/test.sh: UEFI firmware, and socat for QEMU's monitor (screenshot).
    packages+=(ovmf socat)
    # disk (issue 19): a software TPM2 for QEMU (swtpm; a fresh state directory is a new,
    # never-provisioned TPM2, so swtpm_setup is not needed) and cryptsetup to read the LUKS2
    # header of the encrypted data partition.
    packages+=(swtpm cryptsetup-bin)
    # enrolment and updates: SSH into the guest with the test key
    packages+=(openssh-client)
    ;;
  image) ;;
  *) echo "setup: unknown profile '$profile' (expected image or image-test)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"

# QEMU for `make image-test`. Some machines of this project come with bookworm-backports'
# qemu-utils (10.x), which bookworm's qemu-system-x86 (7.2) refuses to sit beside; take
# qemu-system-x86 from bookworm-backports there, so the two always match.
if [ "$profile" = image-test ] && ! command -v qemu-system-x86_64 >/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  qemu_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
  if [[ "$qemu_utils" == *bpo12* ]]; then
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "setup: adding bookworm-backports to match the installed qemu-utils $qemu_utils"
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        | $sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
    fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
  else
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
  fi
  echo "setup: installed $(qemu-system-x86_64 --version | head -1)"
fi

# The Python tools the tests use, pinned in scripts/tools-venv.txt: tuspy, the reference tus
# client (callcentre/tests/tus_interop.rs), and moto's S3-protocol server (callcentre/tests/
# object_store.rs). In a venv under target/ so it never touches the system's Python; rebuilt
# when the pins file changes, or when the venv was moved (its scripts name their python by
# absolute path: a target/ copied from another checkout would not run them).
cd "$(dirname "$0")/.."
venv=target/tools-venv
pins=scripts/tools-venv.txt
if ! cmp -s "$pins" "$venv/.pins" ||
  [ "$(head -1 "$venv/bin/pip" 2>/dev/null)" != "#!$PWD/$venv/bin/python3" ]; then
  echo "setup: creating $venv from $pins"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$pins"
  cp "$pins" "$venv/.pins"
fi
echo "setup: $venv has $(grep -v '^#' "$pins" | tr '\n' ' ')"
