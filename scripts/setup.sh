#!/usr/bin/env bash
# Installs every Debian and npm package peercable needs to build, run and test. Idempotent; run as root
# (or with sudo available). Usage: scripts/setup.sh [--run-only]
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(cmake g++ make pkg-config libgtest-dev libboost1.81-dev libboost-url1.81-dev libssl-dev zlib1g-dev libsimdjson-dev
  libhiredis-dev libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev)
test_pkgs=(clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14 python3-websockets redis-server chromium
  ruby-actioncable ruby-railties puma ruby-redis nodejs npm dpkg-dev systemd coturn nginx haproxy)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--run-only" ] || want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from outside Debian; accept any working node + npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]:-}"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file (a pull that changed the dependencies).
npm_current() { [ -f "$1/node_modules/.package-lock.json" ] && [ "$1/node_modules/.package-lock.json" -nt "$1/package-lock.json" ]; }
if [ -f web/package-lock.json ] && ! npm_current web; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "${1:-}" != "--run-only" ] && [ -f tests/package-lock.json ] && ! npm_current tests; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
