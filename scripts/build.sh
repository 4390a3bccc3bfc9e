#!/usr/bin/env bash
# Builds one flavour: release (build/), asan (build-asan/, ASan+UBSan), tsan (build-tsan/, ThreadSanitizer: the server
# only, for the integration suites run with several loops) or fuzz (build-fuzz/, clang + libFuzzer).
# Also builds the web client when its sources are present.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# CI's release and ASan builds treat the server's warnings as errors; local builds only show them.
werror=-DPEERCABLE_WERROR=$([ -n "${CI:-}" ] && echo ON || echo OFF)
case "${1:-release}" in
  release) cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$werror" >/dev/null
           cmake --build build -j"$jobs" ;;
  asan)    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPEERCABLE_SANITIZE=ON -DPEERCABLE_BENCH=OFF "$werror" >/dev/null
           cmake --build build-asan -j"$jobs" ;;
  tsan)    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPEERCABLE_TSAN=ON -DPEERCABLE_TESTS=OFF \
             -DPEERCABLE_BENCH=OFF >/dev/null
           cmake --build build-tsan -j"$jobs" --target peercable ;;
  fuzz)    CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPEERCABLE_FUZZ=ON \
             -DPEERCABLE_TESTS=OFF -DPEERCABLE_BENCH=OFF >/dev/null
           cmake --build build-fuzz -j"$jobs" ;;
  *) echo "usage: scripts/build.sh [release|asan|tsan|fuzz]" >&2; exit 2 ;;
esac
if [ -f web/package.json ]; then
  if [ ! -d web/node_modules ]; then (cd web && npm ci --no-audit --no-fund --loglevel=error); fi
  (cd web && npm run --silent build)
fi
