#!/usr/bin/env bash
# kubarr auth benchmark (issue "authd and the /auth API"), one run, same loopback:
#   onehop /                          the one-hop reference (MHD + one nng round trip)
#   GET /api/users/me, cache on       gateway -> authd (AUTH_CHECK from the cache)
#   GET /api/users/me, cache off      KUBARR_AUTH_CACHE_MAX=0: authd asks storaged
#   POST /auth/login                  logins per second (argon2id verify + session)
#   GET /api/users/me during a login flood, other users: p99 with and without
# plus the RSS of authd and the gateway.
#
# Usage: tests/bench/auth.sh     (BUILD_DIR, BENCH_DURATION, BENCH_MARKDOWN, BENCH_PIN
#                                 as for run.sh; BENCH_FLOOD_CONNS login flood, default 8)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_MARKDOWN=${BENCH_MARKDOWN:-}
BENCH_FLOOD_CONNS=${BENCH_FLOOD_CONNS:-8}
bin=$BUILD_DIR/bin
# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"

for b in bench-echo bench-onehop kubarr-gateway kubarr-authd kubarr-storaged kubarr-metricsd; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build first, or set BUILD_DIR)"
done
for t in wrk curl; do
	command -v "$t" >/dev/null || die "missing '$t' (Debian: apt-get install wrk curl)"
done

# --- the one-hop reference -------------------------------------------------------
echo_url="ipc://$tmp/echo.ipc"
onehop_port=$(free_port)
start echo "$bin/bench-echo" "$echo_url"
wait_file "$tmp/echo.ipc"
start onehop "$bin/bench-onehop" "$onehop_port" "$echo_url"
wait_http "http://127.0.0.1:$onehop_port/" onehop echo

# --- kubarr ----------------------------------------------------------------------------
gw_port=$(free_port)
base=http://127.0.0.1:$gw_port
mkdir -p "$tmp/data"
export KUBARR_DATA_DIR=$tmp/data KUBARR_HTTP_ADDR=127.0.0.1:$gw_port
export KUBARR_RUNTIME_DIR=$tmp/data/run
for d in storaged authd metricsd gateway; do
	start "$d" "$bin/kubarr-$d"
done
wait_http "$base/api/system/ready" storaged authd metricsd gateway

pw=bench-password-1
for u in reader flooder; do
	echo "$pw" | "$bin/kubarr-authd" create-admin --username "$u" --email "$u@example.com" \
		--password-stdin >/dev/null || die "cannot create user $u"
done
# The session cookie of "reader" (slot 0).
cookie=$(curl -fsS -D - -o /dev/null -X POST "$base/auth/login" \
	-d "{\"username\":\"reader\",\"password\":\"$pw\"}" |
	awk -F'[ ;]' 'tolower($1) == "set-cookie:" && $2 ~ /^kubarr_session_0=/ { print $2 }')
[[ -n $cookie ]] || die "login of reader failed"
me_url=$base/api/users/me
curl -fsS -o /dev/null -H "Cookie: $cookie" "$me_url" || die "GET /api/users/me failed"

cat >"$tmp/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"username":"flooder","password":"$pw"}'
wrk.headers["Content-Type"] = "application/json"
wrk.method = "POST"
wrk.body = '{"username":"flooder","password":"$pw"}'
wrk.headers["Content-Type"] = "application/json"
LUA

restart_authd() {	# restart_authd [VAR=value]: authd alone, with an extra variable
	kill -TERM "${pid_of[authd]}"
	wait "${pid_of[authd]}" 2>/dev/null || true
	start authd env "$@" "$bin/kubarr-authd"
	wait_http "$base/api/system/ready" authd
}

warm "http://127.0.0.1:$onehop_port/"
for c in 1 64; do run_wrk "onehop /" "$c" "http://127.0.0.1:$onehop_port/"; done

wrk_extra=(-H "Cookie: $cookie")
warm "$me_url"
for c in 1 64; do run_wrk "users/me cached" "$c" "$me_url"; done

restart_authd KUBARR_AUTH_CACHE_MAX=0
warm "$me_url"
for c in 1 64; do run_wrk "users/me uncached" "$c" "$me_url"; done
restart_authd KUBARR_AUTH_CACHE_MAX=4096

# Logins per second (each one an argon2id verify, a session row, a token).
wrk_extra=(-s "$tmp/login.lua")
run_wrk "POST /auth/login" "$BENCH_FLOOD_CONNS" "$base/auth/login"

# Other users during a login flood: /api/users/me at 16 connections, alone and
# while the flood runs (wrk with the login script in the background).
wrk_extra=(-H "Cookie: $cookie")
warm "$me_url"
run_wrk "users/me (quiet)" 16 "$me_url"
flood_secs=$(( ${BENCH_DURATION%s} + 4 ))
wrk -t2 -c"$BENCH_FLOOD_CONNS" -d"${flood_secs}s" --timeout 5s -s "$tmp/login.lua" \
	"$base/auth/login" >"$tmp/flood.txt" 2>&1 &
flood_pid=$!
sleep 2
run_wrk "users/me (login flood)" 16 "$me_url"
wait "$flood_pid" || true
flood_rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$tmp/flood.txt")

for d in storaged authd metricsd gateway echo onehop; do
	alive "$d" || { show_log "$d"; die "$d died during the run"; }
done

p99_of() {	# p99_of TARGET CONNS
	local row IFS='|' a b c d e f
	for row in "${rows[@]}"; do
		read -r a b c d e f <<<"$row"
		[[ $a == "$1" && $b == "$2" ]] && { echo "$e"; return; }
	done
	echo 0
}
ratio_rows=()
for c in 1 64; do
	ratio_rows+=("users/me cached ÷ onehop (req/s)|$c|$(ratio "${rps[users/me cached/$c]}" "${rps[onehop //$c]}")")
	ratio_rows+=("users/me cached ÷ onehop (p99)|$c|$(ratio "$(p99_of "users/me cached" "$c")" "$(p99_of "onehop /" "$c")")")
	ratio_rows+=("users/me cached ÷ uncached (req/s)|$c|$(ratio "${rps[users/me cached/$c]}" "${rps[users/me uncached/$c]}")")
done
ratio_rows+=("users/me p99 during flood ÷ quiet|16|$(ratio "$(p99_of "users/me (login flood)" 16)" "$(p99_of "users/me (quiet)" 16)")")

host="$ncpu cores, $(uname -r), wrk ${BENCH_DURATION} per run, loopback, argon2id t=2 m=19 MiB"
report() {
	local IFS='|' a b c d e f
	echo "Measured $(date -u +%Y-%m-%d) with \`tests/bench/auth.sh\` ($host)."
	echo
	echo "| target | connections | req/s | p50 µs | p99 µs | errors |"
	echo "|---|---:|---:|---:|---:|---:|"
	for row in "${rows[@]}"; do
		read -r a b c d e f <<<"$row"
		echo "| $a | $b | $c | $d | $e | $f |"
	done
	echo
	echo "| ratio | connections | value |"
	echo "|---|---:|---:|"
	for row in "${ratio_rows[@]}"; do
		read -r a b c <<<"$row"
		echo "| $a | $b | $c |"
	done
	echo
	echo "Logins/s during the flood: ${flood_rps:-?}. RSS after the run: authd $(rss_kib "${pid_of[authd]}") KiB, gateway $(rss_kib "${pid_of[gateway]}") KiB."
}
report
[[ -n $BENCH_MARKDOWN ]] && report >"$BENCH_MARKDOWN"
exit 0
