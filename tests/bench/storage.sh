#!/usr/bin/env bash
# kubarr storage benchmark (issue "Media storage"), one run, same loopback, same disk:
#   download  a 1 GiB file through GET /api/storage/download (session checked,
#             path resolved beneath the root, sendfile from the descriptor)
#             vs nginx serving the very same file (sendfile on), one stream,
#             BENCH_ROUNDS rounds each, alternating; the best round of each
#   upload    the same 1 GiB through PUT /api/storage/upload (streamed to a
#             temporary file, fsync, rename) vs `dd conv=fsync` of the file to
#             the same directory (the disk's own figure)
#   RSS       of the gateway (and the nginx worker) sampled every 50 ms during
#             the transfers: idle and peak
# The file is read once before the rounds, so both servers read it from the
# page cache: the figures compare the servers, not the disk.
#
# Usage: tests/bench/storage.sh   (BUILD_DIR, BENCH_MARKDOWN as for run.sh;
#                                  BENCH_ROUNDS, default 3; BENCH_SIZE_MB, default 1024)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_MARKDOWN=${BENCH_MARKDOWN:-}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_SIZE_MB=${BENCH_SIZE_MB:-1024}
bin=$BUILD_DIR/bin
# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"

for b in kubarr-gateway kubarr-authd kubarr-storaged kubarr-metricsd; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build first, or set BUILD_DIR)"
done
PATH=$PATH:/usr/sbin:/sbin
for t in nginx curl dd; do
	command -v "$t" >/dev/null || die "missing '$t' (Debian: apt-get install nginx-light curl)"
done

# --- kubarr ----------------------------------------------------------------------
gw_port=$(free_port)
base=http://127.0.0.1:$gw_port
mkdir -p "$tmp/data/storage"
export KUBARR_DATA_DIR=$tmp/data KUBARR_HTTP_ADDR=127.0.0.1:$gw_port
export KUBARR_RUNTIME_DIR=$tmp/data/run
for d in storaged authd metricsd gateway; do
	start "$d" "$bin/kubarr-$d"
done
wait_http "$base/api/system/ready" storaged authd metricsd gateway
pw=bench-password-1
echo "$pw" | "$bin/kubarr-authd" create-admin --username bench --email bench@example.com \
	--password-stdin >/dev/null || die "cannot create the user"
unset KUBARR_DATA_DIR KUBARR_HTTP_ADDR KUBARR_RUNTIME_DIR
cookie=$(curl -fsS -D - -o /dev/null -X POST "$base/auth/login" \
	-d "{\"username\":\"bench\",\"password\":\"$pw\"}" |
	awk -F'[ ;]' 'tolower($1) == "set-cookie:" && $2 ~ /^kubarr_session_0=/ { print $2 }')
[[ -n $cookie ]] || die "login failed"

# --- the file, and nginx serving the same directory --------------------------------
root=$tmp/data/storage
note "writing a ${BENCH_SIZE_MB} MiB file to $root"
head -c "$((BENCH_SIZE_MB << 20))" /dev/urandom >"$root/big.bin"
cat "$root/big.bin" >/dev/null	# into the page cache for both servers
# the worker runs as we do (as root, nginx would switch to nobody, who cannot
# enter the private temp dir): the same user as the gateway
user_line=""
((EUID == 0)) && user_line="user $(id -un) $(id -gn);"
echo ok >"$root/ping"
start_nginx 1 "    sendfile on;
    tcp_nopush on;" "        location /files/ {
            alias $root/;
        }" /files/ping "$user_line"
nginx_worker=$(children_of "${pid_of[nginx]}" | head -1)

# --- measurement helpers ---------------------------------------------------------
# sample_rss PID OUT: peak VmRSS (KiB) of PID every 50 ms until killed, to OUT.
sample_rss() {
	local peak=0 v
	trap 'echo "$peak" >"$2"; exit 0' TERM
	while :; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
		((v > peak)) && peak=$v
		sleep 0.05
	done
}
# timed NAME PID CMD...: runs CMD (a curl printing its speed) while sampling PID;
# the peak over every run of NAME goes to $tmp/peakmax.NAME (timed runs in a
# command substitution: a variable would not survive it).
timed() {
	local name=$1 pid=$2 sampler speed
	shift 2
	sample_rss "$pid" "$tmp/peak.$name" &
	sampler=$!
	speed=$("$@") || { kill -TERM "$sampler"; die "$name failed"; }
	kill -TERM "$sampler"
	wait "$sampler" 2>/dev/null || true
	local p m
	p=$(cat "$tmp/peak.$name" 2>/dev/null || echo 0)
	m=$(cat "$tmp/peakmax.$name" 2>/dev/null || echo 0)
	((p > m)) && echo "$p" >"$tmp/peakmax.$name"
	echo "$speed"
}
mibs() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
best() { local m=0 v; for v in "$@"; do awk -v a="$v" -v b="$m" 'BEGIN { exit !(a > b) }' && m=$v; done; echo "$m"; }

size=$((BENCH_SIZE_MB << 20))
gw_idle=$(rss_kib "${pid_of[gateway]}")
ngx_idle=$(rss_kib "$nginx_worker")
gw_dl=() ngx_dl=()
for ((i = 1; i <= BENCH_ROUNDS; i++)); do
	note "download round $i: nginx, gateway"
	ngx_dl+=("$(timed nginx_dl "$nginx_worker" curl -fsS -o /dev/null -w '%{speed_download}' \
		"http://127.0.0.1:$nginx_port/files/big.bin")")
	gw_dl+=("$(timed gw_dl "${pid_of[gateway]}" curl -fsS -o /dev/null -w '%{speed_download}' \
		-H "Cookie: $cookie" "$base/api/storage/download?path=big.bin")")
done
gw_best=$(best "${gw_dl[@]}")
ngx_best=$(best "${ngx_dl[@]}")

gw_up=() dd_up=()
for ((i = 1; i <= BENCH_ROUNDS; i++)); do
	note "upload round $i: dd conv=fsync, gateway PUT"
	rm -f "$root/copy.bin" "$root/up.bin"
	start_ns=$(date +%s%N)
	dd if="$root/big.bin" of="$root/copy.bin" bs=1M conv=fsync status=none
	end_ns=$(date +%s%N)
	dd_up+=("$(awk -v b="$size" -v ns="$((end_ns - start_ns))" 'BEGIN { printf "%.0f", b / (ns / 1e9) }')")
	rm -f "$root/copy.bin"
	gw_up+=("$(timed gw_up "${pid_of[gateway]}" curl -fsS -o /dev/null -w '%{speed_upload}' \
		-H "Cookie: $cookie" -H "X-Requested-With: bench" -T "$root/big.bin" \
		"$base/api/storage/upload?path=up.bin")")
	cmp -s "$root/big.bin" "$root/up.bin" || die "the uploaded file differs"
done
gw_up_best=$(best "${gw_up[@]}")
dd_best=$(best "${dd_up[@]}")

for d in storaged authd metricsd gateway nginx; do
	alive "$d" || { show_log "$d"; die "$d died during the run"; }
done

peak() { cat "$tmp/peakmax.$1" 2>/dev/null || echo "?"; }
host="$ncpu cores, $(uname -r), loopback, one stream, ${BENCH_SIZE_MB} MiB file from the page cache, best of $BENCH_ROUNDS"
report() {
	echo "Measured $(date -u +%Y-%m-%d) with \`tests/bench/storage.sh\` ($host)."
	echo
	echo "| transfer | MiB/s (best) | all rounds MiB/s | RSS idle → peak KiB |"
	echo "|---|---:|---|---|"
	echo "| nginx GET (sendfile) | $(mibs "$ngx_best") | $(for v in "${ngx_dl[@]}"; do printf '%s ' "$(mibs "$v")"; done)| worker $ngx_idle → $(peak nginx_dl) |"
	echo "| gateway GET /api/storage/download | $(mibs "$gw_best") | $(for v in "${gw_dl[@]}"; do printf '%s ' "$(mibs "$v")"; done)| $gw_idle → $(peak gw_dl) |"
	echo "| dd conv=fsync (same disk) | $(mibs "$dd_best") | $(for v in "${dd_up[@]}"; do printf '%s ' "$(mibs "$v")"; done)| – |"
	echo "| gateway PUT /api/storage/upload (+fsync, rename) | $(mibs "$gw_up_best") | $(for v in "${gw_up[@]}"; do printf '%s ' "$(mibs "$v")"; done)| $gw_idle → $(peak gw_up) |"
	echo
	echo "Download: gateway ÷ nginx = $(ratio "$gw_best" "$ngx_best"). Upload: gateway ÷ dd = $(ratio "$gw_up_best" "$dd_best")."
}
report
[[ -n $BENCH_MARKDOWN ]] && report >"$BENCH_MARKDOWN"
exit 0
