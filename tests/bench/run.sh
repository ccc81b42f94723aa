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

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# --- prerequisites -----------------------------------------------------------
for b in bench-echo bench-onehop bench-ipc-rtt \
	kubarr-gateway kubarr-authd kubarr-storaged kubarr-metricsd; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build first, or set BUILD_DIR)"
done
PATH=$PATH:/usr/sbin:/sbin
for t in wrk nginx curl; do
	command -v "$t" >/dev/null || die "missing '$t' in PATH (Debian: apt-get install wrk nginx-light curl)"
done

# --- temp dir, process bookkeeping, cleanup ----------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kubarr-bench.XXXXXX")
pids=()		# long-running processes we started, killed on exit
wrk_pid=	# the wrk run in progress, if any
# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
	local pid any
	trap - EXIT INT TERM
	[[ -n $wrk_pid ]] && kill -TERM "$wrk_pid" 2>/dev/null
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for _ in {1..30}; do	# up to 3 s to exit on TERM
		any=0
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && any=1
		done
		((any)) || break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: run CMD in the background, output to $tmp/NAME.log.
declare -A pid_of=()
start() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	pids+=("$!")
	pid_of[$name]=$!
}

alive() { kill -0 "${pid_of[$1]}" 2>/dev/null; }

show_log() {
	note "--- last lines of $1.log ---"
	tail -n 20 "$tmp/$1.log" >&2 || true
}

# A free TCP port on 127.0.0.1: nothing answers a connect and we have not used it.
used_ports=" "
free_port() {
	local p
	for _ in {1..200}; do
		p=$((20000 + RANDOM % 40000))
		[[ $used_ports == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used_ports+="$p "
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found"
}

# wait_http URL NAME...: poll until URL answers 2xx, at most 15 s, while the
# processes NAME... stay alive.
wait_http() {
	local url=$1 n
	shift
	for _ in {1..150}; do
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		for n in "$@"; do
			alive "$n" || { show_log "$n"; die "$n exited during start-up"; }
		done
		sleep 0.1
	done
	for n in "$@"; do show_log "$n"; done
	die "$url not ready after 15 s"
}

wait_file() {
	for _ in {1..150}; do
		[[ -e $1 ]] && return 0
		sleep 0.1
	done
	die "$1 did not appear within 15 s"
}

# --- a. nginx: the HTTP reference --------------------------------------------
# Both servers run with their default logging: nginx writes an access log line
# per request (to a file in the temp dir), and so does the gateway
# (KUBARR_ACCESS_LOG=true, stderr redirected to a file).
# keepalive_requests is raised because nginx closes a keep-alive connection
# after 1000 requests by default, while libmicrohttpd never does.
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
temp_paths=""
for kind in client_body proxy fastcgi uwsgi scgi; do
	opt=${kind/client_body/client-body}
	if nginx -V 2>&1 | grep -q -- "--http-$opt-temp-path"; then
		temp_paths+="    ${kind}_temp_path $tmp/nginx/$kind;"$'\n'
	fi
done
cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $tmp/nginx/access.log;
    keepalive_requests 100000000;
$temp_paths    server {
        listen 127.0.0.1:$nginx_port;
        location = /json {
            default_type application/json;
            return 200 '{"status":"ok"}';
        }
    }
}
EOF
start nginx nginx -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx.conf"
wait_http "http://127.0.0.1:$nginx_port/json" nginx

# --- b. bench-echo + bench-onehop: the one-hop reference ---------------------
echo_url="ipc://$tmp/echo.ipc"
onehop_port=$(free_port)
start echo "$bin/bench-echo" "$echo_url"
wait_file "$tmp/echo.ipc"
start onehop "$bin/bench-onehop" "$onehop_port" "$echo_url"
wait_http "http://127.0.0.1:$onehop_port/" onehop echo

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
# The 1-connection runs measure latency, and on a 2-core box that depends on
# where the scheduler puts the server next to wrk (same core or not: up to 4x
# apart from run to run). So for them, unless BENCH_PIN=0, every server process
# is pinned to CPU 0 and the client to the last CPU: one cross-core hop each
# way, the same for every target. The 64-connection runs let everything float.
ncpu=$(nproc)
pin=${BENCH_PIN:-1}
if [[ $pin != 0 ]] && { ((ncpu < 2)) || ! command -v taskset >/dev/null; }; then
	note "not pinning (needs 2 CPUs and taskset)"
	pin=0
fi

children_of() {
	local f stat rest
	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		rest=${stat##*) }			# fields after "(comm) "
		read -r _ ppid _ <<<"$rest"
		[[ $ppid == "$1" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
	done
	return 0
}

# server_cpus LIST: move every server process (all its threads) onto LIST.
server_cpus() {
	local p
	for p in "${pid_of[@]}" $(children_of "${pid_of[nginx]}"); do
		taskset -a -p -c "$1" "$p" >/dev/null 2>&1 || true
	done
}

# client_prefix CONNS: sets the array "client" to the command prefix for a client.
client_prefix() {
	client=()
	((pin)) || return 0
	if (($1 == 1)); then
		server_cpus 0
		client=(taskset -c "$((ncpu - 1))")
	else
		server_cpus "0-$((ncpu - 1))"
	fi
}

# wrk time -> microseconds ("190.00us", "1.09ms", "2.00s", "1.50m").
to_us() {
	awk -v t="$1" 'BEGIN {
		if (t ~ /us$/)     { sub(/us$/, "", t); v = t }
		else if (t ~ /ms$/) { sub(/ms$/, "", t); v = t * 1000 }
		else if (t ~ /m$/)  { sub(/m$/, "", t);  v = t * 60000000 }
		else if (t ~ /s$/)  { sub(/s$/, "", t);  v = t * 1000000 }
		else { print "-"; exit }
		printf "%.0f", v }'
}

rows=()	# "target|conns|req/s|p50|p99|errors"
declare -A rps=()

# run_wrk TARGET CONNS URL
run_wrk() {
	local target=$1 conns=$2 url=$3 threads=1 out r p50 p99 errs
	((conns > 1)) && threads=2
	out=$tmp/wrk-${#rows[@]}.txt
	note "wrk -t$threads -c$conns -d$BENCH_DURATION $url"
	# In the background, so that a signal runs the cleanup trap at once.
	client_prefix "$conns"
	"${client[@]}" wrk -t"$threads" -c"$conns" -d"$BENCH_DURATION" --timeout 5s --latency "$url" >"$out" 2>&1 &
	wrk_pid=$!
	if ! wait "$wrk_pid"; then
		wrk_pid=
		cat "$out" >&2
		die "wrk failed against $url"
	fi
	wrk_pid=
	r=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
	errs=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
		/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
		END { print n + 0 }' "$out")
	rows+=("$target|$conns|${r:--}|${p50:--}|${p99:--}|$errs")
	rps[$target/$conns]=${r:-0}
}

# A short warm-up per target (first connections, page faults, caches).
warm() { wrk -t1 -c4 -d1s "$1" >/dev/null 2>&1 || true; }

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
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }


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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
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
	local IFS='|' a b c d e f
	echo "Measured $(date -u +%Y-%m-%d) with \`tests/bench/run.sh\` ($host)."
	echo
	echo "| target | connections | req/s | p50 µs | p99 µs | errors |"
	echo "|---|---:|---:|---:|---:|---:|"
	for row in "${rows[@]}"; do
		read -r a b c d e f <<<"$row"
		echo "| $a | $b | $c | $d | $e | $f |"
	done
	echo
	echo "| ratio (req/s) | connections | value |"
	echo "|---|---:|---:|"
	for row in "${ratio_rows[@]}"; do
		read -r a b c <<<"$row"
		echo "| $a | $b | $c |"
	done
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
