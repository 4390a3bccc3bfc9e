#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan+UBSan) and runs each for SECONDS (default 30) from the
# committed seed corpus (minimized with -merge=1 from longer runs). A crash leaves its input in build-fuzz/ and
# fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
scripts/build.sh fuzz >/dev/null
for t in frame_parser command jwt http_request json_writer rails_cookie signed_stream proxy_protocol forwarded; do
  work="build-fuzz/corpus/$t"
  mkdir -p "$work"
  cp -n fuzz/corpus/$t/* "$work/" 2>/dev/null || true
  echo "fuzz: $t for ${seconds}s"
  rc=0
  (cd build-fuzz && ./fuzz/${t}_fuzz -max_total_time="$seconds" -max_len=70000 -rss_limit_mb=2048 \
     -print_final_stats=1 "corpus/$t" >"$t.log" 2>&1) || rc=$?
  grep -E "stat::number_of_executed_units|ERROR|SUMMARY" "build-fuzz/$t.log" || true
  if [ "$rc" -ne 0 ]; then echo "fuzz: $t failed (exit $rc); see build-fuzz/$t.log" >&2; exit 1; fi
done
