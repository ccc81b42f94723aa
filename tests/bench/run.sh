#!/usr/bin/env bash
# kubarr benchmark suite: HTTP throughput and latency of the gateway next to two
# references measured in the same run on the same loopback:
#   nginx  /json              the HTTP reference (static 200, no backend)
#   onehop /                  the one-hop reference (MHD + one nng ipc round trip)
#   gateway /api/health       no backend call        -> compare with nginx
#   gateway /api/system/ready pings 3 backends       -> compare with onehop
# plus bench-ipc-rtt (bare nng ipc round trips) and the RSS of every process.
#
# Usage: tests/bench/run.sh
# Env:   BUILD_DIR        build tree holding bin/ (default: <repo>/build)
#        BENCH_DURATION   length of each wrk run (default 10s)
#        BENCH_MARKDOWN   if set, also write the results as Markdown to this path
#        BENCH_PIN        0 to leave the 1-connection runs unpinned (see below)
#
# With the default duration the whole run takes about two minutes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_MARKDOWN=${BENCH_MARKDOWN:-}
bin=$BUILD_DIR/bin

# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"

# --- prerequisites -----------------------------------------------------------
for b in bench-echo bench-onehop bench-ipc-rtt \
	kubarr-gateway kubarr-authd kubarr-storaged kubarr-metricsd; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build first, or set BUILD_DIR)"
done
PATH=$PATH:/usr/sbin:/sbin
for t in wrk nginx curl; do
	command -v "$t" >/dev/null || die "missing '$t' in PATH (Debian: apt-get install wrk nginx-light curl)"
done

# --- a. nginx: the HTTP reference --------------------------------------------
# Both servers run with their default logging: nginx writes an access log line
# per request (to a file in the temp dir), and so does the gateway
# (KUBARR_ACCESS_LOG=true, stderr redirected to a file).
# keepalive_requests is raised because nginx closes a keep-alive connection
# after 1000 requests by default, while libmicrohttpd never does.
start_nginx auto "" "$NGINX_JSON_LOCATION" /json

# --- b. bench-echo + bench-onehop: the one-hop reference ---------------------
start_onehop

# --- c. the four kubarr daemons ----------------------------------------------
gw_port=$(free_port)
mkdir -p "$tmp/data"
# Other KUBARR_* knobs from the caller's environment pass through; the runtime
# dir is pinned (to its default) so a live install's sockets are never touched.
export KUBARR_DATA_DIR=$tmp/data KUBARR_HTTP_ADDR=127.0.0.1:$gw_port
export KUBARR_RUNTIME_DIR=$tmp/data/run
for d in storaged authd metricsd gateway; do
	start "$d" "$bin/kubarr-$d"
done
wait_http "http://127.0.0.1:$gw_port/api/system/ready" storaged authd metricsd gateway
unset KUBARR_DATA_DIR KUBARR_HTTP_ADDR KUBARR_RUNTIME_DIR

# --- d. measurements ---------------------------------------------------------
declare -A url_of=(
	[nginx /json]="http://127.0.0.1:$nginx_port/json"
	[onehop /]="http://127.0.0.1:$onehop_port/"
	[gateway /api/health]="http://127.0.0.1:$gw_port/api/health"
	[gateway /api/system/ready]="http://127.0.0.1:$gw_port/api/system/ready"
)
targets=("nginx /json" "onehop /" "gateway /api/health" "gateway /api/system/ready")
for t in "${targets[@]}"; do
	warm "${url_of[$t]}"
	for c in 1 64; do
		run_wrk "$t" "$c" "${url_of[$t]}"
	done
done

# Bare nng ipc round trips against the same bench-echo.
for c in 1 64; do
	note "bench-ipc-rtt concurrency $c"
	client_prefix "$c"
	line=$("${client[@]}" "$bin/bench-ipc-rtt" "$echo_url" $((c == 1 ? 20000 : 64000)) "$c") ||
		die "bench-ipc-rtt failed"
	read -r r p50 p99 < <(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%.0f %.0f %.0f\n", v["rtt_per_s"], v["p50_us"], v["p99_us"] }' <<<"$line")
	rows+=("nng ipc round trip|$c|$r|$p50|$p99|0")
done

for d in storaged authd metricsd gateway nginx echo onehop; do
	alive "$d" || { show_log "$d"; die "$d died during the run"; }
done

# --- e. RSS and report -------------------------------------------------------


rss_rows=()	# "process|pid|KiB"
for d in gateway authd storaged metricsd; do
	rss_rows+=("kubarr-$d|${pid_of[$d]}|$(rss_kib "${pid_of[$d]}")")
done
rss_rows+=("nginx master|${pid_of[nginx]}|$(rss_kib "${pid_of[nginx]}")")
while read -r w; do
	[[ -n $w ]] && rss_rows+=("nginx worker|$w|$(rss_kib "$w")")
done < <(children_of "${pid_of[nginx]}")
rss_rows+=("bench-onehop|${pid_of[onehop]}|$(rss_kib "${pid_of[onehop]}")")
rss_rows+=("bench-echo|${pid_of[echo]}|$(rss_kib "${pid_of[echo]}")")

ratio_rows=()	# "what|conns|value"
for c in 1 64; do
	ratio_rows+=("gateway /api/health ÷ nginx /json|$c|$(ratio "${rps[gateway /api/health/$c]}" "${rps[nginx /json/$c]}")")
done
for c in 1 64; do
	ratio_rows+=("gateway /api/system/ready ÷ onehop /|$c|$(ratio "${rps[gateway /api/system/ready/$c]}" "${rps[onehop //$c]}")")
done

host="$ncpu cores, $(uname -r), wrk ${BENCH_DURATION} per run, loopback"
((pin)) && host+=", 1-connection rows: servers on CPU 0, client on CPU $((ncpu - 1))"

print_text() {
	local IFS='|' a b c d e f
	echo
	echo "kubarr benchmark ($host)"
	echo
	printf '%-28s %5s %10s %9s %9s %7s\n' target conns "req/s" "p50 µs" "p99 µs" errors
	for row in "${rows[@]}"; do
		read -r a b c d e f <<<"$row"
		printf '%-28s %5s %10s %9s %9s %7s\n' "$a" "$b" "$c" "$d" "$e" "$f"
	done
	echo
	printf '%-40s %5s %6s\n' "ratio (req/s)" conns value
	for row in "${ratio_rows[@]}"; do
		read -r a b c <<<"$row"
		printf '%-40s %5s %6s\n' "$a" "$b" "$c"
	done
	echo
	printf '%-16s %8s %10s\n' process pid "VmRSS KiB"
	for row in "${rss_rows[@]}"; do
		read -r a b c <<<"$row"
		printf '%-16s %8s %10s\n' "$a" "$b" "$c"
	done
}

print_markdown() {
	local IFS='|' a b c row
	echo "Measured $(date -u +%Y-%m-%d) with \`tests/bench/run.sh\` ($host)."
	echo
	md_rows
	echo
	md_ratios "ratio (req/s)"
	echo
	echo "| process | VmRSS KiB |"
	echo "|---|---:|"
	for row in "${rss_rows[@]}"; do
		read -r a b c <<<"$row"
		echo "| $a | $c |"
	done
}

print_text
if [[ -n $BENCH_MARKDOWN ]]; then
	print_markdown >"$BENCH_MARKDOWN"
	note "Markdown written to $BENCH_MARKDOWN"
fi
exit 0
