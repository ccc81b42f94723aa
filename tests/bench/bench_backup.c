/* bench-backup: storaged's continuous backup to a file:// replica, driven
 * through storaged's socket (tests/bench/backup.sh runs it and prints the
 * tables).  Each mode starts its own storaged in WORKDIR (data/, replica/,
 * storaged.log) and prints one line of key=value pairs.
 *
 *   bench-backup BIN_DIR lag WORKDIR RATE SECONDS
 *       RATE audit writes per second (one AUDIT_APPEND each: one audit row,
 *       action "bench") for SECONDS, paced from a fixed schedule, one blocking
 *       client.  A thread lists WORKDIR/replica/<timeline>/segments/ every
 *       10 ms and notes the wall time each segment file appears (the file
 *       replica writes a temp file, fsyncs it and renames it into place: the
 *       name appears at the rename).  A write acknowledged at wall time t (ms)
 *       is in the replica from the appearance of the first segment whose last
 *       commit time (the M part of its name: the header's time_ms) is >= t;
 *       its lag is that appearance minus t.  The commit happened before the
 *       acknowledgement, so the covering segment can only be that one or an
 *       earlier one: the figure is an upper bound.  Also: uploads and bytes
 *       from BACKUP_STATUS over the run, the bytes of the segment files, and
 *       VmRSS idle (backup on, initial snapshot shipped) and peak under load.
 *       KUBARR_BACKUP_SYNC_INTERVAL_MS comes from the environment (default
 *       1000).
 *
 *   bench-backup BIN_DIR fill WORKDIR MB SEGMENTS
 *       Builds a replica for the restore benchmark: storaged creates the
 *       schema (backup off), stops; MB MiB of audit rows (about 2 KiB of
 *       random base64 each, which zstd cannot shrink much) go straight into
 *       the file; storaged restarts with the replica, starts a timeline with
 *       a snapshot of that database; then SEGMENTS writes, each waiting until
 *       its segment is spooled (backup_seq_spooled grows), so every segment
 *       holds exactly one commit of one small audit row: what a day at 1
 *       write/s and the default 1 s sync interval produces (86,400 segments
 *       of one commit each).  Set KUBARR_BACKUP_SYNC_INTERVAL_MS=10 (the
 *       minimum) to make them fast. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ipc.h"
#include "log.h"
#include "timeutil.h"

/* ---- storaged ------------------------------------------------------------- */

static pid_t
bb_start(const char *bin, const char *work, bool backup)
{
	char exe[512], data[512], url[600], logp[600];
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the benchmark */
		snprintf(exe, sizeof(exe), "%s/kubarr-storaged", bin);
		snprintf(data, sizeof(data), "%s/data", work);
		snprintf(url, sizeof(url), "file://%s/replica", work);
		snprintf(logp, sizeof(logp), "%s/storaged.log", work);
		setenv("KUBARR_DATA_DIR", data, 1);
		unsetenv("KUBARR_RUNTIME_DIR");
		unsetenv("KUBARR_DB_PATH");
		unsetenv("KUBARR_BACKUP_SPOOL_DIR");
		if (getenv("KUBARR_LOG_LEVEL") == NULL)
			setenv("KUBARR_LOG_LEVEL", "warn", 1);
		if (backup)
			setenv("KUBARR_BACKUP_URL", url, 1);
		else
			unsetenv("KUBARR_BACKUP_URL");
		if (freopen(logp, "a", stderr) == NULL || freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
bb_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static struct ipc_client *
bb_connect(const char *work)
{
	char url[600], *err = NULL;
	struct ipc_client *c = NULL;
	int64_t until = time_mono_us() + 15000000;

	snprintf(url, sizeof(url), "ipc://%s/data/run/storaged.ipc", work);
	if (ipc_client_open(&c, url, 0, &err) != 0) {
		fprintf(stderr, "bench-backup: %s\n", err);
		exit(1);
	}
	while (!ipc_client_connected(c) && time_mono_us() < until)
		usleep(5000);
	if (!ipc_client_connected(c)) {
		fprintf(stderr, "bench-backup: storaged did not open %s (see %s/storaged.log)\n", url,
		    work);
		exit(1);
	}
	return c;
}

static long
bb_rss_kib(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static int
bb_write(struct ipc_client *c, const char *details)
{
	struct proto_audit_append_req rq = {.action = "bench", .resource_type = "system",
	    .success = true, .details = details, .has_details = details != NULL};
	struct proto_audit_append_rep rp;
	struct proto_reply hold;
	enum proto_status st = proto_audit_append_call_sync(c, &rq, 10000, &rp, &hold);

	proto_reply_fini(&hold);
	return st == PROTO_OK ? 0 : -1;
}

static int64_t
bb_stat(struct ipc_client *c, const char *name)
{
	struct proto_stats_req req = {0};
	struct proto_stats_rep rep;
	struct proto_reply hold;
	int64_t v = -1;

	if (proto_stats_call_sync(c, &req, 5000, &rep, &hold) == PROTO_OK)
		for (size_t i = 0; i < rep.counters.n; i++)
			if (strcmp(rep.counters.v[i].key, name) == 0)
				v = rep.counters.v[i].val;
	proto_reply_fini(&hold);
	return v;
}

struct bb_status {
	char state[32];
	uint64_t seq_spooled, seq_uploaded, lag_ms, spool_files, uploads, upload_bytes, upload_errors;
	int64_t last_snapshot_ms;
};

static int
bb_status(struct ipc_client *c, struct bb_status *s)
{
	struct proto_backup_status_req req = {0};
	struct proto_backup_status_rep rep;
	struct proto_reply hold;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (proto_backup_status_call_sync(c, &req, 5000, &rep, &hold) == PROTO_OK) {
		snprintf(s->state, sizeof(s->state), "%s", rep.state);
		s->seq_spooled = rep.seq_spooled;
		s->seq_uploaded = rep.seq_uploaded;
		s->lag_ms = rep.lag_ms;
		s->spool_files = rep.spool_files;
		s->uploads = rep.uploads;
		s->upload_bytes = rep.upload_bytes;
		s->upload_errors = rep.upload_errors;
		s->last_snapshot_ms = rep.last_snapshot_ms;
		rc = 0;
	}
	proto_reply_fini(&hold);
	return rc;
}

/* Waits until a snapshot is uploaded and the spool is empty with no lag. */
static int
bb_wait_shipped(struct ipc_client *c, int timeout_s, struct bb_status *s)
{
	int64_t until = time_mono_us() + (int64_t)timeout_s * 1000000;

	while (time_mono_us() < until) {
		if (bb_status(c, s) == 0 && strcmp(s->state, "ok") == 0 && s->last_snapshot_ms != 0 &&
		    s->spool_files == 0 && s->lag_ms == 0 && s->seq_uploaded == s->seq_spooled)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "bench-backup: not shipped after %d s (state %s, spool %" PRIu64
	    " files, lag %" PRIu64 " ms, seq %" PRIu64 "/%" PRIu64 ")\n", timeout_s, s->state,
	    s->spool_files, s->lag_ms, s->seq_spooled, s->seq_uploaded);
	return -1;
}

/* ---- the replica watcher ----------------------------------------------------- */

struct bb_seg {
	uint64_t seq;
	int64_t time_ms;   /* M of the name: the last commit in it */
	int64_t appear_ms; /* when the watcher saw it; 0: there before the run */
	uint64_t bytes;
	uint32_t ncommits; /* from the header (offset 44, u32 little-endian) */
};

struct bb_watch {
	char replica[600];
	struct bb_seg *v;
	size_t n, cap;
	atomic_bool stop;
	pthread_mutex_t mu;
};

static bool
bb_watch_has(struct bb_watch *w, uint64_t seq)
{
	for (size_t i = w->n; i > 0; i--)
		if (w->v[i - 1].seq == seq)
			return true;
	return false;
}

static void
bb_watch_scan(struct bb_watch *w, bool initial)
{
	DIR *top, *d;
	struct dirent *te, *de;
	char path[1400];

	if ((top = opendir(w->replica)) == NULL)
		return;
	while ((te = readdir(top)) != NULL) {
		if (te->d_name[0] == '.' || strlen(te->d_name) != 8)
			continue;
		snprintf(path, sizeof(path), "%s/%s/segments", w->replica, te->d_name);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			unsigned long long seq;
			long long ms;
			int end = 0;
			int64_t now = time_wall_ms();
			struct stat sb;
			char fp[1700];

			if (strstr(de->d_name, ".tmp.") != NULL ||
			    sscanf(de->d_name, "%16llu-%13lld.seg%n", &seq, &ms, &end) != 2 ||
			    de->d_name[end] != '\0')
				continue;
			pthread_mutex_lock(&w->mu);
			if (!bb_watch_has(w, seq)) {
				unsigned char hdr[48];
				FILE *f;
				uint32_t nc = 0;

				snprintf(fp, sizeof(fp), "%s/%s", path, de->d_name);
				if ((f = fopen(fp, "rb")) != NULL) {
					if (fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr))
						nc = (uint32_t)hdr[44] | (uint32_t)hdr[45] << 8 |
						    (uint32_t)hdr[46] << 16 | (uint32_t)hdr[47] << 24;
					fclose(f);
				}
				if (w->n == w->cap) {
					w->cap = w->cap ? w->cap * 2 : 1024;
					w->v = realloc(w->v, w->cap * sizeof(*w->v));
				}
				w->v[w->n++] = (struct bb_seg){.seq = seq, .time_ms = ms,
				    .appear_ms = initial ? 0 : now,
				    .bytes = stat(fp, &sb) == 0 ? (uint64_t)sb.st_size : 0,
				    .ncommits = nc};
			}
			pthread_mutex_unlock(&w->mu);
		}
		closedir(d);
	}
	closedir(top);
}

static void *
bb_watch_thread(void *arg)
{
	struct bb_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		bb_watch_scan(w, false);
		usleep(10000);
	}
	return NULL;
}

static int
bb_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int
bb_cmp_seg(const void *a, const void *b)
{
	const struct bb_seg *x = a, *y = b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---- lag ------------------------------------------------------------------- */

static int
bb_lag(const char *bin, const char *work, int rate, int seconds)
{
	struct bb_watch w = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct bb_status s0, s1;
	struct ipc_client *c;
	pthread_t th;
	int total = rate * seconds, errors = 0, missing = 0, ub_missing = 0, inconsistent = 0, late = 0;
	int64_t *ack = calloc((size_t)total, sizeof(*ack)), *lag = calloc((size_t)total, sizeof(*lag));
	int64_t *sent = calloc((size_t)total, sizeof(*sent)), *ub = calloc((size_t)total, sizeof(*ub));
	int64_t *wlat = calloc((size_t)total, sizeof(*wlat));
	uint64_t commits = 0;
	size_t nub = 0;
	bool exact;
	int64_t start_us, next_rss_us;
	long rss_idle, rss_peak = 0, v;
	size_t nlag = 0, nw = 0, nseg = 0;
	uint64_t seg_bytes = 0;
	char path[600];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/data", work);
	mkdir(path, 0750);
	snprintf(w.replica, sizeof(w.replica), "%s/replica", work);
	mkdir(w.replica, 0750);
	pid = bb_start(bin, work, true);
	c = bb_connect(work);
	if (bb_wait_shipped(c, 60, &s0) != 0)
		return 1;
	sleep(2); /* idle: backup on, the first snapshot shipped */
	rss_idle = bb_rss_kib(pid);
	bb_watch_scan(&w, true);
	bb_status(c, &s0);
	pthread_create(&th, NULL, bb_watch_thread, &w);

	start_us = time_mono_us();
	next_rss_us = start_us;
	for (int i = 0; i < total; i++) {
		int64_t due = start_us + (int64_t)i * 1000000 / rate, now = time_mono_us(), t0;

		if (due > now)
			usleep((useconds_t)(due - now));
		t0 = time_mono_us();
		sent[nw] = time_wall_ms();
		if (bb_write(c, NULL) != 0) {
			errors++;
			continue;
		}
		wlat[nw] = time_mono_us() - t0;
		ack[nw++] = time_wall_ms();
		if (time_mono_us() >= next_rss_us) {
			if ((v = bb_rss_kib(pid)) > rss_peak)
				rss_peak = v;
			next_rss_us += 200000;
		}
	}
	if ((v = bb_rss_kib(pid)) > rss_peak)
		rss_peak = v;
	/* everything acknowledged must reach the replica: wait for the commits
	 * in the segment headers (the lag counters can read 0 with a commit
	 * pending for less than a millisecond), then for an empty spool */
	for (int64_t until = time_mono_us() + 30000000; time_mono_us() < until; usleep(20000)) {
		uint64_t have = 0;

		pthread_mutex_lock(&w.mu);
		for (size_t i = 0; i < w.n; i++)
			if (w.v[i].appear_ms != 0)
				have += w.v[i].ncommits;
		pthread_mutex_unlock(&w.mu);
		if (have >= (uint64_t)nw)
			break;
	}
	bb_wait_shipped(c, 30, &s1);
	usleep(50000); /* one more listing after the last rename */
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	bb_watch_scan(&w, false);
	bb_status(c, &s1);

	qsort(w.v, w.n, sizeof(*w.v), bb_cmp_seg);
	for (size_t i = 0; i < w.n; i++)
		if (w.v[i].appear_ms != 0) {
			nseg++;
			seg_bytes += w.v[i].bytes;
			commits += w.v[i].ncommits;
		}
	/* Exact: the run's only commits are these writes, one client, in order,
	 * so write k is commit k+1 of the run and lies in the first new segment
	 * whose cumulative ncommits reaches k+1.  Checked against the times: that
	 * segment's last commit is not before the request was sent, and the
	 * previous segment's last commit is not after the acknowledgement. */
	exact = commits == (uint64_t)nw && errors == 0;
	{
		size_t j = 0;
		uint64_t cum = 0;
		int64_t prev_ms = 0;

		while (j < w.n && w.v[j].appear_ms == 0)
			j++;
		if (j < w.n)
			cum = w.v[j].ncommits;
		for (size_t k = 0; k < nw; k++) {
			size_t i;

			/* upper bound: the first segment whose last commit is at or
			 * after the acknowledgement */
			for (i = 0; i < w.n; i++)
				if (w.v[i].appear_ms != 0 && w.v[i].time_ms >= ack[k])
					break;
			if (i == w.n)
				ub_missing++;
			else
				ub[nub++] = w.v[i].appear_ms - ack[k];
			if (!exact)
				continue;
			while (j < w.n && cum < k + 1) {
				prev_ms = w.v[j].time_ms;
				if (++j < w.n)
					cum += w.v[j].ncommits;
			}
			if (j >= w.n) {
				missing++;
				continue;
			}
			/* wrong: the segment's last-commit time is before the
			 * write was even sent (restore --to T would apply a commit
			 * made after T) */
			if (w.v[j].time_ms < sent[k]) {
				inconsistent++;
				fprintf(stderr, "bench-backup: write %zu (sent %lld, acknowledged %lld) "
				    "counted into segment %llu whose last commit is %lld\n", k,
				    (long long)sent[k], (long long)ack[k],
				    (unsigned long long)w.v[j].seq, (long long)w.v[j].time_ms);
			}
			/* safe but late: the previous segment's time is after this
			 * write's acknowledgement (the shipper stamps a segment with
			 * "now" when the WAL hook has not seen all its commits yet;
			 * restore --to T then stops before it for a T in between) */
			if (prev_ms != 0 && prev_ms > ack[k] && j > 0 && w.v[j - 1].appear_ms != 0)
				late++;
			lag[nlag++] = w.v[j].appear_ms - ack[k];
		}
	}
	if (!exact)
		fprintf(stderr, "bench-backup: %" PRIu64 " commits in the new segments for %zu writes "
		    "(another commit ran): only the upper bound is reported\n", commits, nw);
	qsort(lag, nlag, sizeof(*lag), bb_cmp_i64);
	qsort(ub, nub, sizeof(*ub), bb_cmp_i64);
	qsort(wlat, nw, sizeof(*wlat), bb_cmp_i64);
	printf("rate=%d seconds=%d writes=%zu errors=%d segments=%zu commits=%" PRIu64
	       " exact=%d missing=%d inconsistent=%d late=%d "
	       "lag_p50_ms=%lld lag_p99_ms=%lld lag_max_ms=%lld lag_min_ms=%lld "
	       "ub_p50_ms=%lld ub_p99_ms=%lld ub_max_ms=%lld ub_missing=%d "
	       "write_p50_us=%lld write_p99_us=%lld "
	       "uploads=%" PRIu64 " upload_bytes=%" PRIu64 " upload_errors=%" PRIu64 " segment_bytes=%" PRIu64
	       " rss_idle_kib=%ld rss_peak_kib=%ld state=%s\n",
	    rate, seconds, nw, errors, nseg, commits, exact, missing, inconsistent, late,
	    nlag ? (long long)lag[nlag / 2] : -1, nlag ? (long long)lag[nlag * 99 / 100] : -1,
	    nlag ? (long long)lag[nlag - 1] : -1, nlag ? (long long)lag[0] : -1,
	    nub ? (long long)ub[nub / 2] : -1, nub ? (long long)ub[nub * 99 / 100] : -1,
	    nub ? (long long)ub[nub - 1] : -1, ub_missing,
	    nw ? (long long)wlat[nw / 2] : -1, nw ? (long long)wlat[nw * 99 / 100] : -1,
	    s1.uploads - s0.uploads, s1.upload_bytes - s0.upload_bytes,
	    s1.upload_errors - s0.upload_errors, seg_bytes, rss_idle, rss_peak, s1.state);
	ipc_client_close(&c);
	bb_stop(pid);
	free(w.v);
	free(ack);
	free(lag);
	free(wlat);
	free(sent);
	free(ub);
	return errors || missing ? 1 : 0;
}

/* ---- fill ------------------------------------------------------------------ */

static int
bb_fill_db(const char *db_path, long long bytes)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	sqlite3 *db;
	sqlite3_stmt *st;
	char details[2100];
	struct stat sb;
	int rows = 0;

	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		return -1;
	do {
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		if (sqlite3_prepare_v2(db, "INSERT INTO audit_logs(timestamp, user_id, username, action,"
		    " resource_type, details, ip_address, success) VALUES"
		    " (strftime('%Y-%m-%dT%H:%M:%fZ','now'),NULL,'bench','bench_fill','system',?,"
		    "'192.0.2.10',1)", -1, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "bench-backup: %s\n", sqlite3_errmsg(db));
			return -1;
		}
		for (int i = 0; i < 500; i++, rows++) {
			size_t n = 0;

			n += (size_t)snprintf(details, sizeof(details), "{\"p\":\"");
			for (int j = 0; j < 2000; j++)
				details[n++] = b64[random() & 63];
			snprintf(details + n, sizeof(details) - n, "\"}");
			sqlite3_bind_text(st, 1, details, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				fprintf(stderr, "bench-backup: %s\n", sqlite3_errmsg(db));
				return -1;
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	} while (stat(db_path, &sb) == 0 && sb.st_size < bytes);
	sqlite3_close(db);
	return rows;
}

static int
bb_fill(const char *bin, const char *work, int mb, int segments)
{
	struct bb_status s;
	struct ipc_client *c;
	char path[600], db[600];
	struct stat sb;
	int64_t t0, snap_seq, seq, last;
	int rows, errors = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/data", work);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/replica", work);
	mkdir(path, 0750);
	snprintf(db, sizeof(db), "%s/data/kubarr.db", work);
	/* the schema, by storaged itself, with backup off */
	pid = bb_start(bin, work, false);
	c = bb_connect(work);
	bb_write(c, NULL);
	ipc_client_close(&c);
	bb_stop(pid);
	t0 = time_mono_us();
	if ((rows = bb_fill_db(db, (long long)mb << 20)) < 0)
		return 1;
	stat(db, &sb);
	fprintf(stderr, "bench-backup: %d rows, database %lld bytes in %.1f s\n", rows,
	    (long long)sb.st_size, (double)(time_mono_us() - t0) / 1e6);

	/* with the replica: a new timeline starts with a snapshot */
	t0 = time_mono_us();
	pid = bb_start(bin, work, true);
	c = bb_connect(work);
	if (bb_wait_shipped(c, 600, &s) != 0)
		return 1;
	snap_seq = (int64_t)s.seq_uploaded;
	fprintf(stderr, "bench-backup: snapshot at seq %" PRId64 " shipped %.1f s after start\n",
	    snap_seq, (double)(time_mono_us() - t0) / 1e6);

	t0 = time_mono_us();
	last = bb_stat(c, "backup_seq_spooled");
	for (int i = 0; i < segments; i++) {
		int64_t until = time_mono_us() + 10000000;

		if (bb_write(c, NULL) != 0) {
			errors++;
			continue;
		}
		/* one commit per segment: the next write after this one is spooled */
		while ((seq = bb_stat(c, "backup_seq_spooled")) <= last && time_mono_us() < until)
			usleep(500);
		last = seq;
		if (i % 2000 == 1999)
			fprintf(stderr, "bench-backup: %d segments, %.0f s\n", i + 1,
			    (double)(time_mono_us() - t0) / 1e6);
	}
	if (bb_wait_shipped(c, 120, &s) != 0)
		return 1;
	printf("rows=%d db_bytes=%lld snapshot_seq=%" PRId64 " last_seq=%" PRIu64
	       " segments_after_snapshot=%" PRIu64 " write_errors=%d segment_phase_s=%.1f\n",
	    rows, (long long)sb.st_size, snap_seq, s.seq_uploaded,
	    s.seq_uploaded - (uint64_t)snap_seq, errors, (double)(time_mono_us() - t0) / 1e6);
	ipc_client_close(&c);
	bb_stop(pid);
	return errors ? 1 : 0;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 6 || (strcmp(argv[2], "lag") != 0 && strcmp(argv[2], "fill") != 0)) {
		fprintf(stderr, "usage: bench-backup BIN_DIR lag WORKDIR RATE SECONDS\n"
				"       bench-backup BIN_DIR fill WORKDIR MB SEGMENTS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("bench");
	log_set_level(LOG_LEVEL_ERROR);
	srandom((unsigned)time(NULL));
	if (strcmp(argv[2], "lag") == 0)
		rc = bb_lag(argv[1], argv[3], atoi(argv[4]), atoi(argv[5]));
	else
		rc = bb_fill(argv[1], argv[3], atoi(argv[4]), atoi(argv[5]));
	ipc_fini();
	return rc;
}
