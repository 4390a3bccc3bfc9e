#!/usr/bin/env bash
# Builds one flavour: release (build/), asan (build-asan/, ASan+UBSan), tsan (build-tsan/, ThreadSanitizer: the server
# only, for the integration suites run with several loops) or fuzz (build-fuzz/, clang + libFuzzer: the fuzz targets
# only). Also builds the web client when its sources are present.
#   scripts/build.sh [release|asan|tsan|fuzz] [target...]   targets: only these (default: the flavour's own set)
# PEERCABLE_BUILD_JOBS sets the parallel jobs (default: every core); PEERCABLE_NO_WEB=1 leaves the web client alone.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${PEERCABLE_BUILD_JOBS:-$(nproc)}
flavour=${1:-release}
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
# The sanitizer builds are test builds: -O1 (what the sanitizers recommend) and line tables only (-g1, enough for
# their reports' file:line) compile in about half the time of RelWithDebInfo's -O2 -g.
sanitizer_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
# CI's release and ASan builds treat the server's warnings as errors; local builds only show them.
werror=-DPEERCABLE_WERROR=$([ -n "${CI:-}" ] && echo ON || echo OFF)
if [ ${#targets[@]} -eq 0 ]; then
  case "$flavour" in
    tsan) targets=(--target peercable) ;;
    fuzz) targets=(--target fuzz_targets) ;;
  esac
fi
case "$flavour" in
  release) cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$werror" >/dev/null
           cmake --build build -j"$jobs" "${targets[@]}" ;;
  asan)    cmake -S . -B build-asan "${sanitizer_flags[@]}" -DPEERCABLE_SANITIZE=ON -DPEERCABLE_BENCH=OFF "$werror" >/dev/null
           cmake --build build-asan -j"$jobs" "${targets[@]}" ;;
  tsan)    cmake -S . -B build-tsan "${sanitizer_flags[@]}" -DPEERCABLE_TSAN=ON -DPEERCABLE_TESTS=OFF \
             -DPEERCABLE_BENCH=OFF >/dev/null
           cmake --build build-tsan -j"$jobs" "${targets[@]}" ;;
  fuzz)    CXX=clang++-14 cmake -S . -B build-fuzz "${sanitizer_flags[@]}" -DPEERCABLE_FUZZ=ON \
             -DPEERCABLE_TESTS=OFF -DPEERCABLE_BENCH=OFF >/dev/null
           cmake --build build-fuzz -j"$jobs" "${targets[@]}" ;;
  *) echo "usage: scripts/build.sh [release|asan|tsan|fuzz]" >&2; exit 2 ;;
esac
if [ -f web/package.json ] && [ -z "${PEERCABLE_NO_WEB:-}" ]; then
  if [ ! -d web/node_modules ]; then (cd web && npm ci --no-audit --no-fund --loglevel=error); fi
  (cd web && npm run --silent build)
fi
