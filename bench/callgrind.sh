#!/usr/bin/env bash
# Instructions per delivered message, counted by callgrind (repeatable on a noisy machine).
# usage: bench/callgrind.sh [path/to/peercable] [clients]   (PEERCABLE_EXTRA_ARGS: more server options)
# Runs the server under callgrind twice, with fan-out of R1 and R2 rounds to the same clients, and divides the
# difference in instructions by the difference in deliveries, so start-up and connection set-up cancel out.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/peercable}"
clients="${2:-1000}"
loadgen=build/peercable-loadgen
secret=callgrind-secret-0123456789abcdef
token=$(node -e "import('./tests/lib/peercable.mjs').then(m=>console.log(m.signToken({sub:'cg'}, '$secret')))")
measure() {
  local rounds=$1 port out
  port=$(node -e "import('./tests/lib/peercable.mjs').then(async m=>console.log(await m.freePort()))")
  out=$(mktemp /tmp/peercable-cg.XXXXXX)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --port "$port" --threads 1 --jwt-secret "$secret" \
    --data-dir "$(mktemp -d)" --history memory --log-level warn --max-connections-per-ip 0 \
    --max-new-connections-per-ip 0 --max-commands-per-second 0 ${PEERCABLE_EXTRA_ARGS:-} >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  "$loadgen" --port "$port" --path "/cable?token=$token" --scenario fanout --clients "$clients" --rounds "$rounds" \
    --warmup 1 --gap 0 --connect-rate 500 --round-timeout 60 --time-limit 300 --quiet >/dev/null
  kill -INT "$pid"; wait "$pid" || true
  grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}'
  rm -f "$out"
}
r1=10 r2=40
i1=$(measure $r1)
i2=$(measure $r2)
echo "binary=$bin clients=$clients instructions: ${r1} rounds=$i1 ${r2} rounds=$i2"
echo "instructions per delivery: $(( (i2 - i1) / ((r2 - r1) * clients) ))"
