#!/usr/bin/env bash
# Installs the Debian packages lwmi needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite uses)
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config ccache
      libboost-dev libssl-dev libxml2-dev libpam0g-dev libsystemd-dev
      libcli11-dev libtomlplusplus-dev libfmt-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      clang libclang-rt-14-dev procps passwd util-linux strace python3 python3-winrm curl
      iproute2 systemd libbpf-dev bpftool)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
