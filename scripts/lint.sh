#!/usr/bin/env bash
# Checks the C++ lines changed since a base commit: clang-format (.clang-format) must leave them as they are,
# and clang-tidy (.clang-tidy) must report nothing on them. Only changed lines are held to the rules, so
# touching a file never means reformatting all of it.
#
#   scripts/lint.sh [--fix] [BASE]    BASE defaults to HEAD~1 (what the last commit changed); --fix rewrites
#                                     the changed lines clang-format would change, in place
#
# clang-tidy reads build/compile_commands.json: run scripts/build.sh release first.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; shift; fi
base=${1:-HEAD~1}
sources=('src/*.cpp' 'src/*.hpp' 'tests/unit/*.cpp' 'fuzz/*.cpp' 'bench/loadgen/*.cpp' 'bench/loadgen/*.hpp')
rc=0
if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
  if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    echo "lint: $base is not in this shallow clone; nothing to compare against" >&2
    exit 0
  fi
  echo "lint: $base is not a commit" >&2
  exit 2
fi

if [ "$fix" -eq 1 ]; then
  git diff -U0 --no-color "$base" -- "${sources[@]}" | clang-format-diff-14 -p1 -i
  echo "clang-format: changed lines since $base reformatted"
  exit 0
fi

format=$(git diff -U0 --no-color "$base" -- "${sources[@]}" | clang-format-diff-14 -p1)
if [ -n "$format" ]; then
  printf '%s\n' "$format"
  echo "clang-format: the changed lines above are not formatted (scripts/lint.sh --fix $base)" >&2
  rc=1
fi

if [ ! -f build/compile_commands.json ]; then
  echo "clang-tidy: build/compile_commands.json is missing: run scripts/build.sh release" >&2
  exit 1
fi
# -Wno-unknown-warning-option: the compile commands are GCC's, and clang does not know every GCC warning.
tidy=$(git diff -U0 --no-color "$base" -- 'src/*.cpp' 'src/*.hpp' |
  clang-tidy-diff-14.py -p1 -path build -quiet -j"$(nproc)" -extra-arg=-Wno-unknown-warning-option 2>/dev/null |
  grep -E -A4 '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' || true)
if [ -n "$tidy" ]; then
  printf '%s\n' "$tidy"
  echo "clang-tidy: the changed lines above have findings" >&2
  rc=1
fi
[ "$rc" -eq 0 ] && echo "lint: the lines changed since $base are formatted and clang-tidy finds nothing"
exit "$rc"
