#!/usr/bin/env bash
# Installs what building and testing Trellis needs on a fresh Debian machine, only when missing.
set -euo pipefail

need_apt=()
pkg-config --exists libsodium 2>/dev/null || need_apt+=(libsodium-dev)
pkg-config --exists liblz4 2>/dev/null || need_apt+=(liblz4-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
[ -x /usr/bin/time ] || need_apt+=(time)  # scripts/bench-syncs.sh measures client CPU with it
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # the inspector's real-browser tests
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--python" ]; then
  python3 -c "import nacl, lz4.block" 2>/dev/null || {
    echo "setup: installing PyNaCl and lz4 for the independent format checks"
    python3 -m pip install --quiet pynacl lz4
  }
fi
