#!/usr/bin/env bash
# Sets up, builds and runs peercable with its embedded defaults on http://127.0.0.1:8080 (extra arguments
# are passed to the server, e.g. scripts/run.sh --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --run-only
scripts/build.sh release
exec build/peercable "$@"
