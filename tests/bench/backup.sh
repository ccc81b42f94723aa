#!/usr/bin/env bash
# kubarr continuous-backup benchmark (storaged alone, a file:// replica on the
# local disk), the three figures of the backup issue:
#   1. replication lag, commit -> segment in the replica, p50/p99/max, at a
#      steady 20 and 200 writes/s (default KUBARR_BACKUP_SYNC_INTERVAL_MS 1000;
#      aim: p99 under 2 s)
#   2. restore time (`kubarr-storaged restore -o OUT`, best and median of N
#      runs) of a ~100 MB database after BENCH_SEGMENTS one-commit writes (a
#      day at 1 write/s: 86,400), made with the shipper running as in
#      production (it snapshots again once the segments outweigh the
#      database): the latest snapshot alone, and with the segments after it;
#      with a single snapshot the per-segment cost is also extrapolated to
#      86,400; aim: under 5 s for 100 MB
#   3. bytes uploaded at 1 write/s, extrapolated to an hour
# plus storaged's VmRSS idle with backup on and its peak under each load.
# bench-backup (tests/bench/bench_backup.c) drives storaged through its socket;
# see its header for the method.
#
# Usage: tests/bench/backup.sh            (about 14 minutes with the defaults;
#                                          BENCH_SEGMENTS=86400: about 100)
# Long runs: run a copy of this file (bash reads it as it goes).
# Env:   BUILD_DIR, BENCH_MARKDOWN         as for run.sh
#        BENCH_LAG_RATES      writes/s of the lag runs (default "20 200")
#        BENCH_LAG_SECONDS    length of each lag run (default 30)
#        BENCH_BYTES_SECONDS  length of the 1 write/s run (default 120)
#        BENCH_RESTORE_MB     database size for the restore (default 100)
#        BENCH_SEGMENTS       one-commit writes after the first snapshot (default
#                             10000, 25-70 ms each to make)
#        BENCH_RESTORE_RUNS   restores timed per case (default 3)
# Short run: BENCH_LAG_SECONDS=5 BENCH_BYTES_SECONDS=10 BENCH_RESTORE_MB=10 \
#            BENCH_SEGMENTS=300 tests/bench/backup.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build}
BENCH_DURATION=${BENCH_DURATION:-}
BENCH_MARKDOWN=${BENCH_MARKDOWN:-}
BENCH_LAG_RATES=${BENCH_LAG_RATES:-"20 200"}
BENCH_LAG_SECONDS=${BENCH_LAG_SECONDS:-30}
BENCH_BYTES_SECONDS=${BENCH_BYTES_SECONDS:-120}
BENCH_RESTORE_MB=${BENCH_RESTORE_MB:-100}
BENCH_SEGMENTS=${BENCH_SEGMENTS:-10000}
BENCH_RESTORE_RUNS=${BENCH_RESTORE_RUNS:-3}
bin=$BUILD_DIR/bin
# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"

for b in kubarr-storaged bench-backup; do
	[[ -x $bin/$b ]] || die "missing $bin/$b (build with -DKUBARR_BENCH=ON, or set BUILD_DIR)"
done
# the caller's backup settings must not leak into the runs (the runtime dir
# and the database path are set by bench-backup per run)
unset KUBARR_BACKUP_URL KUBARR_BACKUP_SPOOL_DIR KUBARR_DB_PATH KUBARR_RUNTIME_DIR
sync_ms=${KUBARR_BACKUP_SYNC_INTERVAL_MS:-1000}

# kv LINE KEY: the value of KEY=... in a line of bench-backup.
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
# bench-backup in the background, so that a signal runs the cleanup trap
# (its storaged dies with it: PR_SET_PDEATHSIG).
bb() {
	"$bin/bench-backup" "$bin" "$@" >"$tmp/bb.out" 2>"$tmp/bb.err" &
	pids+=("$!")
	if ! wait "$!"; then
		cat "$tmp/bb.out" "$tmp/bb.err" >&2
		note "--- last lines of storaged.log ---"
		tail -n 20 "$2/storaged.log" >&2 || true
		die "bench-backup $* failed"
	fi
	cat "$tmp/bb.err" >&2
	cat "$tmp/bb.out"
}

# --- 1. replication lag, and RSS ------------------------------------------------
lag_rows=()	# "rate|writes|segments|p50|p99|max|ub p99|write p99 us|rss idle|rss peak"
for rate in $BENCH_LAG_RATES; do
	note "lag: $rate writes/s for $BENCH_LAG_SECONDS s (sync interval $sync_ms ms)"
	mkdir -p "$tmp/lag$rate"
	line=$(bb lag "$tmp/lag$rate" "$rate" "$BENCH_LAG_SECONDS")
	note "$line"
	[[ $(kv "$line" exact) == 1 ]] || note "lag at $rate/s: not exact (another commit ran), see ub_*"
	[[ $(kv "$line" inconsistent) == 0 ]] ||
		note "lag at $rate/s: $(kv "$line" inconsistent) writes inside a segment whose last-commit time (header, name) is earlier than the write was sent: a bug (restore --to would apply them early)"
	[[ $(kv "$line" late) == 0 ]] ||
		note "lag at $rate/s: $(kv "$line" late) writes acknowledged before the previous segment's time (stamped \"now\": safe, see tests/bench/README.md)"
	lag_rows+=("$rate|$(kv "$line" writes)|$(kv "$line" segments)|$(kv "$line" lag_p50_ms)|$(kv "$line" lag_p99_ms)|$(kv "$line" lag_max_ms)|$(kv "$line" ub_p99_ms)|$(kv "$line" write_p99_us)|$(kv "$line" rss_idle_kib)|$(kv "$line" rss_peak_kib)")
	rm -rf "$tmp/lag$rate"
done

# --- 3. bytes per hour at 1 write/s ---------------------------------------------
note "bytes: 1 write/s for $BENCH_BYTES_SECONDS s"
mkdir -p "$tmp/bytes"
bline=$(bb lag "$tmp/bytes" 1 "$BENCH_BYTES_SECONDS")
note "$bline"
b_seg=$(kv "$bline" segment_bytes)
b_up=$(kv "$bline" upload_bytes)
b_n=$(kv "$bline" uploads)
b_hour=$(awk -v b="$b_up" -v s="$BENCH_BYTES_SECONDS" 'BEGIN { printf "%.0f", b * 3600 / s }')
b_hour_up=$(awk -v n="$b_n" -v s="$BENCH_BYTES_SECONDS" 'BEGIN { printf "%.0f", n * 3600 / s }')
b_per=$(awk -v b="$b_up" -v n="$b_n" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print "-" }')
lag_rows+=("1|$(kv "$bline" writes)|$(kv "$bline" segments)|$(kv "$bline" lag_p50_ms)|$(kv "$bline" lag_p99_ms)|$(kv "$bline" lag_max_ms)|$(kv "$bline" ub_p99_ms)|$(kv "$bline" write_p99_us)|$(kv "$bline" rss_idle_kib)|$(kv "$bline" rss_peak_kib)")
rm -rf "$tmp/bytes"

# --- 2. restore ------------------------------------------------------------------
note "restore: building a ${BENCH_RESTORE_MB} MiB database + $BENCH_SEGMENTS one-commit segments"
mkdir -p "$tmp/fill"
fline=$(KUBARR_BACKUP_SYNC_INTERVAL_MS=10 bb fill "$tmp/fill" "$BENCH_RESTORE_MB" "$BENCH_SEGMENTS")
note "$fline"
replica=$tmp/fill/replica
# a replica holding the snapshots alone (hard links: same files, no copy)
mkdir -p "$tmp/snaponly"
(cd "$replica" && find . -path '*/snapshots/*' -name '*.snap' -print0 |
	while IFS= read -r -d '' f; do
		mkdir -p "$tmp/snaponly/$(dirname "$f")"
		ln "$f" "$tmp/snaponly/$f"
	done)
# every snapshot the shipper took (the first one, and more once the segments
# since the last outweigh the database); a restore starts from the latest
# (one pass over the replica: a day leaves 86,400 segment files)
read -r nsnap snap_bytes nseg_all seg_bytes < <(find "$replica" -type f -printf '%f %s\n' | awk '
	$1 ~ /\.snap$/ { n++; if ($1 > last) { last = $1; lb = $2 } }
	$1 ~ /\.seg$/ { m++; sb += $2 }
	END { print n + 0, lb + 0, m + 0, sb + 0 }')
nseg_made=$(kv "$fline" segments_after_snapshot)
db_bytes=$(kv "$fline" db_bytes)

# time_restore URL: restores URL into $tmp/out.db BENCH_RESTORE_RUNS times;
# prints "best median all..." in ms; checks the result each time.
time_restore() {
	local url=$1 t0 t1 all=() i
	for ((i = 0; i < BENCH_RESTORE_RUNS; i++)); do
		rm -f "$tmp/out.db"
		sync
		t0=$(date +%s%N)
		KUBARR_BACKUP_URL=$url KUBARR_DATA_DIR=$tmp/rs KUBARR_LOG_LEVEL=warn \
			"$bin/kubarr-storaged" restore -o "$tmp/out.db" >"$tmp/restore.log" 2>&1 ||
			{ cat "$tmp/restore.log" >&2; die "restore from $url failed"; }
		t1=$(date +%s%N)
		all+=("$(((t1 - t0) / 1000000))")
	done
	grep -q 'integrity_check ok' "$tmp/restore.log" || { cat "$tmp/restore.log" >&2; die "no integrity_check ok"; }
	note "$(tail -n 1 "$tmp/restore.log")"
	printf '%s\n' "${all[@]}" | sort -n | awk '{ v[NR] = $1 } END {
		printf "%d %d", v[1], v[int((NR + 1) / 2)]; for (i = 1; i <= NR; i++) printf " %d", v[i]; print "" }'
}
mkdir -p "$tmp/rs"
note "restore: snapshot alone, $BENCH_RESTORE_RUNS runs"
read -r snap_best snap_med snap_all < <(time_restore "file://$tmp/snaponly")
note "restore: snapshot + $nseg_made writes of segments, $BENCH_RESTORE_RUNS runs"
read -r full_best full_med full_all < <(time_restore "file://$replica")
# what the restore applied: "(snapshot S + N segments)"
nseg=$(sed -n 's/.*(snapshot [0-9]* + \([0-9]*\) segments).*/\1/p' "$tmp/restore.log" | tail -n 1)
[[ -n $nseg ]] || { cat "$tmp/restore.log" >&2; die "no segment count in the restore's report"; }
per_seg_us=$(awk -v f="$full_med" -v s="$snap_med" -v n="$nseg" 'BEGIN { if (n > 0) printf "%.0f", (f - s) * 1000 / n; else print 0 }')
day_ms=$(awk -v s="$snap_med" -v p="$per_seg_us" 'BEGIN { printf "%.0f", s + p * 86400 / 1000 }')
seg_avg=$(awk -v b="$seg_bytes" -v n="$nseg_all" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print 0 }')

# --- report ----------------------------------------------------------------------
host="$ncpu cores (shared), $(uname -r), storaged alone, file:// replica on the local disk"
report() {
	local IFS='|' a b c d e f g h i j row
	echo "Measured $(date -u +%Y-%m-%d) with \`tests/bench/backup.sh\` ($host)."
	echo
	echo "Replication lag, acknowledged write → its segment file in the replica, sync interval $sync_ms ms"
	echo "(one AUDIT_APPEND per write, one blocking client, paced; RSS of storaged in KiB):"
	echo
	echo "| writes/s | writes | segments | lag p50 ms | lag p99 ms | lag max ms | upper bound p99 ms | write p99 µs | RSS idle | RSS peak |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for row in "${lag_rows[@]}"; do
		read -r a b c d e f g h i j <<<"$row"
		echo "| $a | $b | $c | $d | $e | $f | $g | $h | $i | $j |"
	done
	echo
	echo "Restore (\`kubarr-storaged restore -o OUT\`, best / median of $BENCH_RESTORE_RUNS, ms; database $db_bytes bytes,"
	echo "latest snapshot object $snap_bytes bytes; $nseg_made one-commit writes made $nseg_all segments of $seg_avg bytes"
	echo "on average and $nsnap snapshots; the restore applies the latest snapshot and the $nseg segments after it):"
	echo
	echo "| replica | best ms | median ms | runs ms |"
	echo "|---|---:|---:|---|"
	echo "| latest snapshot alone | $snap_best | $snap_med | $snap_all |"
	echo "| latest snapshot + $nseg segments | $full_best | $full_med | $full_all |"
	if ((nsnap == 1)); then
		echo "| snapshot + 86,400 segments (**extrapolated**: $per_seg_us µs per segment, no volume snapshot in this run) | – | $day_ms | – |"
	fi
	echo
	echo "Uploaded at 1 write/s (one audit row each) over $BENCH_BYTES_SECONDS s: $b_n objects, $b_up bytes"
	echo "(segment files: $b_seg bytes, $b_per bytes per object) → **extrapolated** $b_hour bytes"
	echo "($(awk -v b="$b_hour" 'BEGIN { printf "%.2f", b / 1048576 }') MiB) and $b_hour_up uploads per hour; lease renewals not included."
}
echo
report
[[ -n $BENCH_MARKDOWN ]] && report >"$BENCH_MARKDOWN" && note "Markdown written to $BENCH_MARKDOWN"
exit 0
