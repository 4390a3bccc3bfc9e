#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (release and ASan+UBSan), black-box integration tests
# against the sanitizer build, the threaded suites with two event loops under ThreadSanitizer, Rails
# conformance, Redis scale-out, browser end-to-end tests, bounded fuzzing and a benchmark smoke run.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
# Runs node's test runner; a skipped test (a missing binary, Redis or Rails) fails the run here, since every
# dependency is installed above and a skip would hide a test that checked nothing.
# A test that hangs fails after five minutes, and a whole invocation after 25 (its process group killed, servers
# included), so a hang costs one failed step with its output, never the whole CI's time.
node_tests() {
  local log
  log=$(mktemp)
  timeout --kill-after=20 1500 node --test --test-concurrency=1 --test-timeout=300000 "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then rm -f "$log"; return "$rc"; fi
  if grep -Eq '^# (skipped|todo) [1-9]' "$log"; then
    echo "tests were skipped in $*: every dependency should be present" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}
# Runs node_tests against the ThreadSanitizer build with two event loops per server (cross-loop posts,
# shared reference counts). A race stops the server at once (halt_on_error, exit code 66), which fails the
# test that was using it; every report is also written under a fresh directory, and any report there fails
# the step even if the test passed (say a race during shutdown), after printing it.
tsan_tests() {
  local dir rc=0
  dir=$(mktemp -d)
  PEERCABLE_BIN=build-tsan/peercable PEERCABLE_THREADS=2 \
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$dir/tsan" \
    node_tests "$@" || rc=$?
  if compgen -G "$dir/tsan.*" >/dev/null; then
    cat "$dir"/tsan.* >&2
    echo "ThreadSanitizer reported the race(s) above" >&2
    rc=1
  fi
  rm -rf "$dir"
  return "$rc"
}

# Runs the GoogleTest suites of one build directory; a skipped test fails the run, as in node_tests.
unit_tests() {
  local log rc=0
  log=$(mktemp)
  ctest --test-dir "$1" --output-on-failure -j2 2>&1 | tee "$log" || rc=$?
  if [ "$rc" -eq 0 ] && grep -q '(Skipped)' "$log"; then
    echo "GoogleTest tests were skipped in $1: every dependency should be present" >&2
    rc=1
  fi
  rm -f "$log"
  return "$rc"
}

# The ThreadSanitizer server and the fuzz targets build in the background, on one core at low priority, while the
# ASan+UBSan suites run (those mostly wait on the network); wait_background_builds collects them before use.
background_builds() {
  rm -f build-background.log
  (
    for flavour in tsan fuzz; do
      echo "==> build: $flavour" >>build-background.log
      PEERCABLE_BUILD_JOBS=1 PEERCABLE_NO_WEB=1 nice -n 10 scripts/build.sh "$flavour" >>build-background.log 2>&1
    done
  ) &
  background_pid=$!
}
wait_background_builds() {
  if ! wait "$background_pid"; then
    cat build-background.log >&2
    echo "the background build failed (above)" >&2
    return 1
  fi
}

step "setup (Debian and npm packages)"
scripts/setup.sh
step "build: release (the server and the load generator; the unit tests run in the ASan+UBSan build)"
scripts/build.sh release peercable peercable-loadgen peercable-loadgen-test
step "lint: clang-format and clang-tidy on the lines the last commit changed"
scripts/lint.sh "${LINT_BASE:-HEAD~1}"
step "build: ASan+UBSan"
scripts/build.sh asan
background_builds

step "unit tests: the load generator's parsers (release)"
build/bench/loadgen/peercable-loadgen-test
step "packaging: cmake --install, the Debian package, the systemd unit"
node_tests tests/packaging/
step "unit tests (ASan+UBSan)"
unit_tests build-asan
step "unit tests: the web client's negotiation, encryption limits and SHA-256 (node)"
node_tests tests/unit/web/

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "integration: RFC 6455 / HTTP edge cases, node ws + raw frames (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/ws/
step "integration: Python websockets client (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable /usr/bin/python3 -m unittest discover -s tests/integration/ws -p 'test_*.py'
step "integration: P2PChannel routing, validation, presence, history (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests $(ls tests/integration/p2p/*.test.mjs | grep -v /rooms.test.mjs)
step "integration: unmodified @rails/actioncable client (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/actioncable/
step "integration: extended protocol, resumable sessions, stream history, unmodified @anycable/web (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/resume/
step "integration: sign-in through JWT, the Rails session cookie and the HTTP hook (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/auth/
step "integration: hostile clients, every limit, information leakage (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/hostile/
step "integration: TLS, https and wss: handshake limits, large and compressed messages (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/tls/
step "integration: the live view at /admin and the metrics' latency histogram (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/admin/
step "integration: behind Debian's nginx (X-Forwarded-For) and HAProxy (PROXY protocol v1/v2), default limits (ASan+UBSan binary)"
PEERCABLE_BIN=build-asan/peercable node_tests tests/integration/proxy/
step "integration: Redis scale-out (release binary); 100,000 rooms expiring from memory, SQLite and Redis"
node_tests tests/integration/redis/ tests/integration/p2p/rooms.test.mjs
step "build: ThreadSanitizer server and fuzz targets (waiting for the background build)"
wait_background_builds
step "integration with two event loops under ThreadSanitizer: @rails/actioncable, P2P, Redis, resume, hostile battery, /admin"
# The 100,000-room tests are about memory, not threads: they run once, above.
tsan_tests tests/integration/actioncable/ $(ls tests/integration/p2p/*.test.mjs tests/integration/redis/*.test.mjs | grep -v /rooms.test.mjs) \
  tests/integration/resume/ tests/integration/hostile/battery.test.mjs tests/integration/admin/
step "conformance against Rails' own Action Cable"
node_tests tests/conformance/
step "end to end in headless Chromium"
node_tests tests/e2e/

step "fuzzing every parser"
scripts/fuzz.sh "${PEERCABLE_FUZZ_SECONDS:-10}"
if [ -x bench/run ]; then
  step "benchmark smoke run"
  bench/run --smoke
  step "scale smoke run: 2,000 clients on two nodes via Redis, one broadcast to all"
  node bench/scale/run.mjs --smoke
fi
step "all tests passed"
