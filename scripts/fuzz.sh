#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan+UBSan) and runs each for SECONDS (default 30) from the
# committed seed corpus (minimized with -merge=1 from longer runs), as many at once as there are cores
# (PEERCABLE_FUZZ_JOBS). A crash leaves its input in build-fuzz/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
PEERCABLE_NO_WEB=1 scripts/build.sh fuzz >/dev/null
targets=(frame_parser command jwt http_request json_writer rails_cookie signed_stream proxy_protocol forwarded)
# Runs one target; its statistics (or its failure) are printed when it ends.
run_one() {
  local t=$1 seconds=$2 rc=0
  local work="build-fuzz/corpus/$t"
  mkdir -p "$work"
  cp -n fuzz/corpus/$t/* "$work/" 2>/dev/null || true
  (cd build-fuzz && ./fuzz/${t}_fuzz -max_total_time="$seconds" -max_len=70000 -rss_limit_mb=2048 \
     -print_final_stats=1 "corpus/$t" >"$t.log" 2>&1) || rc=$?
  echo "fuzz: $t for ${seconds}s: $(grep -E "stat::number_of_executed_units|ERROR|SUMMARY" "build-fuzz/$t.log" | tr '\n' ' ')"
  if [ "$rc" -ne 0 ]; then echo "fuzz: $t failed (exit $rc); see build-fuzz/$t.log" >&2; return 1; fi
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "${PEERCABLE_FUZZ_JOBS:-$(nproc)}" -I{} bash -c 'run_one "$@"' _ {} "$seconds"
