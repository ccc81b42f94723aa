#!/usr/bin/env bash
# kubarr notifications benchmark (issue 6), one run, storaged alone with a
# webhook receiver on loopback (bench-notify, bench_notify.c):
#   USER_SET_PASSWORD without and with its password_changed event: the p50 /
#     p99 the emission (inbox + outbox rows in the same transaction) adds to
#     the write.  Aim (issue): under 1 ms p99.
#   NOTIFY_EMIT from 32 clients: events per second emitted, and from the change
#     to the receiver (the sender: outbox lease, libcurl multi, result rows).
#
# Usage: tests/bench/notify.sh   (BUILD_DIR; BENCH_NOTIFY_WRITES, default 2000;
#                                 BENCH_NOTIFY_EVENTS, default 5000;
#                                 KUBARR_NOTIFY_POLL_MS passes to storaged)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_NOTIFY_WRITES=${BENCH_NOTIFY_WRITES:-2000}
BENCH_NOTIFY_EVENTS=${BENCH_NOTIFY_EVENTS:-5000}
bin=$BUILD_DIR/bin
# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"

for b in bench-notify kubarr-storaged; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build first, or set BUILD_DIR)"
done

echo "| notifications (storaged alone, webhook receiver on loopback) | n | p50 / rate | p99 |"
echo "|---|---|---|---|"
TMPDIR=$tmp "$bin/bench-notify" "$bin" "$BENCH_NOTIFY_WRITES" "$BENCH_NOTIFY_EVENTS"
