#!/usr/bin/env bash
# Installs what building, testing and demonstrating Senim needs on Debian. Idempotent: installs
# only missing packages, so `make demo`, `make test` and CI can call it every time.
set -euo pipefail

packages=(
  pkg-config libfontconfig1-dev libxkbcommon-dev libudev-dev
  xvfb xauth x11-utils xdotool imagemagick socat procps python3 python3-xlib
)

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
