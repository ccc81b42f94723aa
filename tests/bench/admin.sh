#!/usr/bin/env bash
# kubarr administration API benchmark (issue "The administration API"), one run,
# same loopback, 16 connections:
#   nginx /json                           the HTTP reference (static 200)
#   GET /api/users?limit=100              10,000 users, each with a role
#   GET /api/audit?per_page=50            1,000,000 audit rows, unfiltered
#   GET /api/audit?per_page=50&action=... the same rows, one action of 8
#   GET /api/audit?per_page=50&user_id=.. the same rows, one user of 10,000
# Aim (issue): p99 under 20 ms for each.  The data is written straight into
# the database while storaged is stopped (a benchmark fixture, not an API
# path), then the daemons start on it.
#
# Usage: tests/bench/admin.sh   (BUILD_DIR, BENCH_DURATION, BENCH_MARKDOWN, BENCH_PIN as
#                                for run.sh; BENCH_USERS, BENCH_AUDIT_ROWS to resize)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_MARKDOWN=${BENCH_MARKDOWN:-}
BENCH_USERS=${BENCH_USERS:-10000}
BENCH_AUDIT_ROWS=${BENCH_AUDIT_ROWS:-1000000}
bin=$BUILD_DIR/bin
# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"

for b in kubarr-gateway kubarr-authd kubarr-storaged kubarr-metricsd; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build first, or set BUILD_DIR)"
done
for t in wrk nginx curl sqlite3; do
	command -v "$t" >/dev/null || die "missing '$t' (Debian: apt-get install wrk nginx-light curl sqlite3)"
done

# --- nginx: the HTTP reference (as in run.sh) --------------------------------------
start_nginx auto "" "$NGINX_JSON_LOCATION" /json

# --- kubarr: schema, then the data, then the daemons --------------------------------
gw_port=$(free_port)
base=http://127.0.0.1:$gw_port
mkdir -p "$tmp/data"
export KUBARR_DATA_DIR=$tmp/data KUBARR_HTTP_ADDR=127.0.0.1:$gw_port
export KUBARR_RUNTIME_DIR=$tmp/data/run
db=$tmp/data/kubarr.db

start storaged "$bin/kubarr-storaged"
wait_file "$db"
for _ in {1..150}; do	# migrations done: the seeded roles exist
	[[ $(sqlite3 "$db" "SELECT count(*) FROM roles" 2>/dev/null || echo 0) -ge 3 ]] && break
	sleep 0.1
done
kill -TERM "${pid_of[storaged]}"
wait "${pid_of[storaged]}" 2>/dev/null || true

note "seeding $BENCH_USERS users and $BENCH_AUDIT_ROWS audit rows"
seed_start=$(date +%s)
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BENCH_USERS)
INSERT INTO users (username, email, hashed_password, is_active, is_approved)
SELECT printf('user%05d', i), printf('user%05d@example.org', i), '!', 1, (i % 50) <> 0 FROM n;
INSERT INTO user_roles (user_id, role_id)
SELECT u.id, r.id FROM users u, roles r WHERE r.name = CASE u.id % 2 WHEN 0 THEN 'viewer' ELSE 'downloader' END;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BENCH_AUDIT_ROWS)
INSERT INTO audit_logs (timestamp, user_id, username, action, resource_type, resource_id,
    details, ip_address, user_agent, success)
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', $BENCH_AUDIT_ROWS - i)),
    1 + i % $BENCH_USERS, printf('user%05d', 1 + i % $BENCH_USERS),
    CASE i % 8 WHEN 0 THEN 'login' WHEN 1 THEN 'logout' WHEN 2 THEN 'login_failed'
        WHEN 3 THEN 'user_updated' WHEN 4 THEN 'app_accessed' WHEN 5 THEN 'role_updated'
        WHEN 6 THEN 'password_changed' ELSE 'system_setting_changed' END,
    CASE i % 3 WHEN 0 THEN 'user' WHEN 1 THEN 'session' ELSE 'system' END,
    CAST(i AS TEXT), '{"bench":true}', '10.0.0.' || (i % 250), 'bench/1.0', (i % 8) <> 2
FROM n;
COMMIT;
ANALYZE;
SQL
note "seeded in $(($(date +%s) - seed_start)) s"

for d in storaged authd metricsd gateway; do
	start "$d" "$bin/kubarr-$d"
done
wait_http "$base/api/system/ready" storaged authd metricsd gateway

pw=bench-password-1
echo "$pw" | "$bin/kubarr-authd" create-admin --username benchadmin --email benchadmin@example.com \
	--password-stdin >/dev/null || die "cannot create the admin"
cookie=$(curl -fsS -D - -o /dev/null -X POST "$base/auth/login" \
	-d "{\"username\":\"benchadmin\",\"password\":\"$pw\"}" |
	awk -F'[ ;]' 'tolower($1) == "set-cookie:" && $2 ~ /^kubarr_session_0=/ { print $2 }')
[[ -n $cookie ]] || die "login of benchadmin failed"

users_url="$base/api/users?limit=100"
audit_url="$base/api/audit?per_page=50"
audit_action_url="$base/api/audit?per_page=50&action=password_changed"
audit_user_url="$base/api/audit?per_page=50&user_id=4242"
n=$(curl -fsS -H "Cookie: $cookie" "$users_url" | grep -o '"username"' | wc -l)
[[ $n == 100 ]] || die "GET /api/users?limit=100 returned $n users"
total=$(curl -fsS -H "Cookie: $cookie" "$audit_url" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
((total >= BENCH_AUDIT_ROWS)) || die "audit total $total < $BENCH_AUDIT_ROWS"

warm "http://127.0.0.1:$nginx_port/json"
run_wrk "nginx /json" 16 "http://127.0.0.1:$nginx_port/json"
wrk_extra=(-H "Cookie: $cookie")
for t in "users?limit=100|$users_url" "audit?per_page=50|$audit_url" \
	"audit?per_page=50&action=|$audit_action_url" "audit?per_page=50&user_id=|$audit_user_url"; do
	warm "${t#*|}"
	run_wrk "GET /api/${t%%|*}" 16 "${t#*|}"
done

for d in storaged authd metricsd gateway nginx; do
	alive "$d" || { show_log "$d"; die "$d died during the run"; }
done

host="$ncpu cores, $(uname -r), wrk ${BENCH_DURATION} per run, loopback, $BENCH_USERS users, $total audit rows"
report() {
	echo "Measured $(date -u +%Y-%m-%d) with \`tests/bench/admin.sh\` ($host)."
	echo
	md_rows
	echo
	echo "RSS after the run: storaged $(rss_kib "${pid_of[storaged]}") KiB, gateway $(rss_kib "${pid_of[gateway]}") KiB."
}
report
[[ -n $BENCH_MARKDOWN ]] && report >"$BENCH_MARKDOWN"
exit 0
