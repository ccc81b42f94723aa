#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the four daemons in the
# foreground on their defaults (data in ./var, API on http://127.0.0.1:8080).
# Ctrl-C stops them all.  Any KUBARR_* variable in the environment applies.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# Only the daemons: the test suite is tools/test.sh's business (same build dir).
cmake --build build -j"$(nproc)" --target kubarr-storaged kubarr-authd kubarr-metricsd kubarr-gateway

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# Start order does not matter: each daemon redials its peers until they are up.
for d in storaged authd metricsd gateway; do
  build/bin/kubarr-$d &
  pids+=($!)
done
echo "kubarr: running on http://${KUBARR_HTTP_ADDR:-127.0.0.1:8080} (Ctrl-C to stop)" >&2
# Exit when any daemon exits (wait -n), stopping the others.
wait -n || true
