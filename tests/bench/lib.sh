# Shared helpers of the benchmark scripts (sourced, not run): temp dir and
# cleanup, background processes, free ports, waiting for HTTP, CPU pinning,
# wrk runs collected into the "rows" table, RSS, ratios.
# The caller sets repo, BUILD_DIR, BENCH_DURATION and bin first.

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

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

# --- measurements ---------------------------------------------------------
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
	for p in "${pid_of[@]}" ${pid_of[nginx]:+$(children_of "${pid_of[nginx]}")}; do
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
wrk_extra=()	# extra wrk arguments for the next runs (-H, -s)
declare -A rps=()

# run_wrk TARGET CONNS URL
run_wrk() {
	local target=$1 conns=$2 url=$3 threads=1 out r p50 p99 errs
	((conns > 1)) && threads=2
	out=$tmp/wrk-${#rows[@]}.txt
	note "wrk -t$threads -c$conns -d$BENCH_DURATION $url"
	# In the background, so that a signal runs the cleanup trap at once.
	client_prefix "$conns"
	"${client[@]}" wrk -t"$threads" -c"$conns" -d"$BENCH_DURATION" --timeout 5s --latency \
		"${wrk_extra[@]}" "$url" >"$out" 2>&1 &
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


rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# Markdown tables of the collected wrk rows and of ratio_rows ("what|conns|value").
md_rows() {
	local IFS='|' a b c d e f row
	echo "| target | connections | req/s | p50 µs | p99 µs | errors |"
	echo "|---|---:|---:|---:|---:|---:|"
	for row in "${rows[@]}"; do
		read -r a b c d e f <<<"$row"
		echo "| $a | $b | $c | $d | $e | $f |"
	done
}
md_ratios() {
	local IFS='|' a b c row
	echo "| ${1:-ratio} | connections | value |"
	echo "|---|---:|---:|"
	for row in "${ratio_rows[@]}"; do
		read -r a b c <<<"$row"
		echo "| $a | $b | $c |"
	done
}

# The one-hop reference: bench-echo (nng rep) + bench-onehop (MHD, one round
# trip per request).  Sets echo_url and onehop_port.
start_onehop() {
	echo_url="ipc://$tmp/echo.ipc"
	onehop_port=$(free_port)
	start echo "$bin/bench-echo" "$echo_url"
	wait_file "$tmp/echo.ipc"
	start onehop "$bin/bench-onehop" "$onehop_port" "$echo_url"
	wait_http "http://127.0.0.1:$onehop_port/" onehop echo
}

# start_nginx WORKERS HTTP_DIRECTIVES LOCATIONS READY_PATH [GLOBAL_DIRECTIVES]:
# nginx on a free loopback port (nginx_port) with its temp paths and logs in
# the temp dir, an access log (its default), keep-alive connections never
# closed by count (libmicrohttpd never closes them), the given server
# locations; waits until READY_PATH answers.
start_nginx() {
	local workers=$1 http_extra=$2 locations=$3 ready=$4 global=${5:-} kind opt temp_paths=""
	nginx_port=$(free_port)
	mkdir -p "$tmp/nginx"
	for kind in client_body proxy fastcgi uwsgi scgi; do
		opt=${kind/client_body/client-body}
		if nginx -V 2>&1 | grep -q -- "--http-$opt-temp-path"; then
			temp_paths+="    ${kind}_temp_path $tmp/nginx/$kind;"$'\n'
		fi
	done
	cat >"$tmp/nginx.conf" <<NGINX
$global
daemon off;
master_process on;
worker_processes $workers;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log $tmp/nginx/access.log;
    keepalive_requests 100000000;
$http_extra
$temp_paths    server {
        listen 127.0.0.1:$nginx_port;
$locations
    }
}
NGINX
	start nginx nginx -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx.conf"
	wait_http "http://127.0.0.1:$nginx_port$ready" nginx
}

# The HTTP reference's location: a static JSON answer.
NGINX_JSON_LOCATION='        location = /json {
            default_type application/json;
            return 200 '"'"'{"status":"ok"}'"'"';
        }'
