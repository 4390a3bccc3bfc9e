#!/usr/bin/env bash
# Instructions per delivered message, counted by callgrind (repeatable on a noisy machine).
# usage: bench/callgrind.sh [path/to/peercable] [clients] [plain|ext|both]   (PEERCABLE_EXTRA_ARGS: more server options)
# Runs the server under callgrind twice, with fan-out of R1 and R2 rounds to the same clients, and divides the
# difference in instructions by the difference in deliveries, so start-up and connection set-up cancel out.
# The clients speak Action Cable (plain, the default) or the extended protocol (ext: the load generator's
# --protocol ext, as @anycable/web); `both` measures the two one after the other and prints ext / plain.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/peercable}"
clients="${2:-1000}"
protocols="${3:-plain}"
[ "$protocols" = both ] && protocols="plain ext"
for p in $protocols; do
  case "$p" in plain|ext) ;; *) echo "usage: bench/callgrind.sh [peercable] [clients] [plain|ext|both]" >&2; exit 2 ;; esac
done
loadgen=build/peercable-loadgen
secret=callgrind-secret-0123456789abcdef
token=$(node -e "import('./tests/lib/peercable.mjs').then(m=>console.log(m.signToken({sub:'cg'}, '$secret')))")
measure() {
  local rounds=$1 protocol=$2 port out
  port=$(node -e "import('./tests/lib/peercable.mjs').then(async m=>console.log(await m.freePort()))")
  out=$(mktemp /tmp/peercable-cg.XXXXXX)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --port "$port" --threads 1 --jwt-secret "$secret" \
    --data-dir "$(mktemp -d)" --history memory --log-level warn --max-connections-per-ip 0 \
    --max-new-connections-per-ip 0 --max-commands-per-second 0 ${PEERCABLE_EXTRA_ARGS:-} >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  "$loadgen" --port "$port" --path "/cable?token=$token" --scenario fanout --clients "$clients" --rounds "$rounds" \
    --protocol "$protocol" --warmup 1 --gap 0 --connect-rate 500 --round-timeout 60 --time-limit 300 --quiet >/dev/null
  kill -INT "$pid"; wait "$pid" || true
  grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}'
  rm -f "$out"
}
r1=10 r2=40
declare -A per
for p in $protocols; do
  i1=$(measure $r1 "$p")
  i2=$(measure $r2 "$p")
  per[$p]=$(( (i2 - i1) / ((r2 - r1) * clients) ))
  echo "binary=$bin clients=$clients protocol=$p instructions: ${r1} rounds=$i1 ${r2} rounds=$i2"
  echo "instructions per delivery ($p): ${per[$p]}"
done
if [ -n "${per[plain]:-}" ] && [ -n "${per[ext]:-}" ]; then
  echo "ext / plain: $(awk -v e="${per[ext]}" -v p="${per[plain]}" 'BEGIN { printf "%.3f", e / p }')"
fi
