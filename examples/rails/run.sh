#!/usr/bin/env bash
# Starts the example together: Redis, peercable (the cable server) and the Rails app, then prints the URL.
# Ctrl-C (or SIGTERM) stops all three.
#
#   examples/rails/run.sh [--no-build]
#
# Env: PORT (the app, 3000), CABLE_PORT (peercable, 8081), REDIS_PORT (6380; a redis-server already answering
# there is used as it is), SECRET_KEY_BASE (default: generated once into examples/rails/tmp/).
# --no-build: use build/peercable as it is (tests); the app's bundle is always rebuilt (esbuild, a fraction of a second).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PORT=${PORT:-3000} CABLE_PORT=${CABLE_PORT:-8081} REDIS_PORT=${REDIS_PORT:-6380}
build=1
[ "${1:-}" = "--no-build" ] && build=0

# 1. Packages (Debian's Rails, puma, Redis) and peercable.
need=(ruby-railties ruby-actionview ruby-actioncable ruby-redis puma redis-server)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$build" = 1 ]; then
  "$root/scripts/setup.sh" --run-only
  "$root/scripts/build.sh" release >/dev/null
fi
# The app's JavaScript: Stimulus and peercable's controller, bundled with the web client's esbuild.
mkdir -p "$here/public/assets"
NODE_PATH="$root/web/node_modules" "$root/web/node_modules/.bin/esbuild" "$here/app/javascript/application.js" \
  --bundle --format=esm --log-level=warning --outfile="$here/public/assets/application.js"
cp "$here/app/assets/demo.css" "$here/public/assets/demo.css"

mkdir -p "$here/tmp"
if [ -z "${SECRET_KEY_BASE:-}" ]; then
  [ -s "$here/tmp/secret_key_base" ] || (umask 077 && openssl rand -hex 64 >"$here/tmp/secret_key_base")
  SECRET_KEY_BASE=$(cat "$here/tmp/secret_key_base")
fi
export SECRET_KEY_BASE RAILS_ENV=development REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PEERCABLE_URL="ws://127.0.0.1:$CABLE_PORT/cable"

pids=()
stop() {
  trap - INT TERM EXIT
  [ "${#pids[@]}" -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# 2. Redis, unless one already answers on the port.
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$here/tmp/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# 3. peercable: the app's cable.yml (Redis, channel prefix) and its session cookie (Rails 6.1 defaults: SHA1);
#    only the lobby is public, other rooms open to those whose page carries the room name the app signed.
"$root/build/peercable" --config "$here/config/cable.yml" --host 127.0.0.1 --port "$CABLE_PORT" \
  --data-dir "$here/tmp/peercable-data" --rails-secret-key-base "$SECRET_KEY_BASE" \
  --rails-cookie-name _p2p_demo_session --rails-key-digest sha1 --rails-session-key user_id \
  --public-rooms lobby &
pids+=($!)

# 4. The Rails app.
(cd "$here" && exec puma -q -b "tcp://127.0.0.1:$PORT" -t 2:4 config.ru) &
pids+=($!)

for _ in $(seq 1 150); do
  if curl -fs "http://127.0.0.1:$CABLE_PORT/health" >/dev/null 2>&1 && curl -fs -o /dev/null "http://127.0.0.1:$PORT/sign_in"; then
    echo "Open http://127.0.0.1:$PORT/ (sign in as alice, bob or carol; password p2p-demo)"
    wait -n "${pids[@]}"
    exit 1
  fi
  sleep 0.2
done
echo "run.sh: the app or peercable did not come up; see the output above" >&2
exit 1
