/* bench-storaged: storaged through its socket, beside raw IPC in the same run.
 *   - PING round trips (the IPC reference: socket + codec, no database)
 *   - AUDIT_APPEND writes with 1 and 32 concurrent clients (synchronous=FULL)
 *   - SETTING_GET point reads with 1 and 32 clients
 *   - AUDIT_STATS over 1,000,000 rows: time and storaged's RSS growth, next to
 *     the reference backend's approach (load every row, count in C)
 * usage: bench-storaged BIN_DIR [seconds per run, default 5] */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ipc.h"
#include "log.h"
#include "timeutil.h"

enum bench_kind { BENCH_PING, BENCH_WRITE, BENCH_READ };

struct bench_run {
	struct ipc_client *c;
	enum bench_kind kind;
	int64_t until_us;
	int64_t *lat;        /* per-thread slices */
	size_t cap;
	atomic_size_t n;
	atomic_int errors;
	atomic_int live;
};

static void *
bench_thread(void *arg)
{
	struct bench_run *b = arg;

	while (time_mono_us() < b->until_us) {
		struct proto_reply hold;
		enum proto_status st;
		int64_t t0 = time_mono_us();
		size_t i;

		if (b->kind == BENCH_PING) {
			struct proto_ping_req rq = {0};
			struct proto_ping_rep rp;
			st = proto_ping_call_sync(b->c, &rq, 5000, &rp, &hold);
		} else if (b->kind == BENCH_WRITE) {
			struct proto_audit_append_req rq = {.action = "bench", .resource_type = "system",
			    .success = true};
			struct proto_audit_append_rep rp;
			st = proto_audit_append_call_sync(b->c, &rq, 5000, &rp, &hold);
		} else {
			struct proto_setting_get_req rq = {.key = "registration_enabled"};
			struct proto_setting_get_rep rp;
			st = proto_setting_get_call_sync(b->c, &rq, 5000, &rp, &hold);
		}
		proto_reply_fini(&hold);
		if (st != PROTO_OK) {
			atomic_fetch_add(&b->errors, 1);
			continue;
		}
		if ((i = atomic_fetch_add(&b->n, 1)) < b->cap)
			b->lat[i] = time_mono_us() - t0;
	}
	return NULL;
}

/* Asynchronous chains: `clients` requests always in flight, each completion
 * (on an nng thread) records its latency and sends the next one.  The same
 * concurrency as `clients` blocking threads, without their context switches. */
struct bench_chain {
	struct bench_run *b;
	int64_t t0;
};

static void bench_chain_next(struct bench_chain *ch);

static void
bench_chain_done(struct bench_chain *ch, enum proto_status st)
{
	struct bench_run *b = ch->b;
	size_t i;

	if (st != PROTO_OK)
		atomic_fetch_add(&b->errors, 1);
	else if ((i = atomic_fetch_add(&b->n, 1)) < b->cap)
		b->lat[i] = time_mono_us() - ch->t0;
	if (time_mono_us() < b->until_us)
		bench_chain_next(ch);
	else
		atomic_fetch_sub(&b->live, 1);
}

static void
bench_ping_cb(void *arg, enum proto_status st, const struct proto_ping_rep *rep, const char *d)
{
	(void)rep;
	(void)d;
	bench_chain_done(arg, st);
}

static void
bench_write_cb(void *arg, enum proto_status st, const struct proto_audit_append_rep *rep,
    const char *d)
{
	(void)rep;
	(void)d;
	bench_chain_done(arg, st);
}

static void
bench_read_cb(void *arg, enum proto_status st, const struct proto_setting_get_rep *rep,
    const char *d)
{
	(void)rep;
	(void)d;
	bench_chain_done(arg, st);
}

static void
bench_chain_next(struct bench_chain *ch)
{
	struct bench_run *b = ch->b;

	ch->t0 = time_mono_us();
	if (b->kind == BENCH_PING) {
		struct proto_ping_req rq = {0};
		proto_ping_call(b->c, &rq, 5000, bench_ping_cb, ch);
	} else if (b->kind == BENCH_WRITE) {
		struct proto_audit_append_req rq = {.action = "bench", .resource_type = "system",
		    .success = true};
		proto_audit_append_call(b->c, &rq, 5000, bench_write_cb, ch);
	} else {
		struct proto_setting_get_req rq = {.key = "registration_enabled"};
		proto_setting_get_call(b->c, &rq, 5000, bench_read_cb, ch);
	}
}

static int
bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double
bench_run(struct ipc_client *c, enum bench_kind kind, int threads, int seconds, const char *label)
{
	struct bench_run b = {.c = c, .kind = kind, .cap = 10000000};
	struct bench_chain chains[64];
	pthread_t t[64];
	int64_t t0 = time_mono_us();
	size_t n;
	double rate;

	b.lat = malloc(b.cap * sizeof(*b.lat));
	b.until_us = t0 + (int64_t)seconds * 1000000;
	if (threads == 1) {
		/* one blocking client: the latency a single caller sees */
		pthread_create(&t[0], NULL, bench_thread, &b);
		pthread_join(t[0], NULL);
	} else {
		atomic_store(&b.live, threads);
		for (int i = 0; i < threads; i++) {
			chains[i].b = &b;
			bench_chain_next(&chains[i]);
		}
		while (atomic_load(&b.live) > 0)
			usleep(1000);
	}
	n = atomic_load(&b.n) < b.cap ? atomic_load(&b.n) : b.cap;
	rate = (double)atomic_load(&b.n) * 1e6 / (double)(time_mono_us() - t0);
	qsort(b.lat, n, sizeof(*b.lat), bench_cmp);
	printf("%-28s %7d %10.0f %9lld %9lld %7d\n", label, threads, rate,
	    n ? (long long)b.lat[n / 2] : 0, n ? (long long)b.lat[n * 99 / 100] : 0,
	    atomic_load(&b.errors));
	free(b.lat);
	return rate;
}

static long
bench_rss_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

static pid_t
bench_start(const char *bin, const char *dir)
{
	char exe[512];
	pid_t pid = fork();

	if (pid == 0) {
		snprintf(exe, sizeof(exe), "%s/kubarr-storaged", bin);
		setenv("KUBARR_DATA_DIR", dir, 1);
		setenv("KUBARR_LOG_LEVEL", "warn", 1);
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
bench_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static struct ipc_client *
bench_connect(const char *dir)
{
	char url[512], *err = NULL;
	struct ipc_client *c = NULL;
	int64_t until = time_mono_us() + 10000000;

	snprintf(url, sizeof(url), "ipc://%s/run/storaged.ipc", dir);
	if (ipc_client_open(&c, url, 0, &err) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	while (!ipc_client_connected(c) && time_mono_us() < until)
		usleep(5000);
	return c;
}

/* 1,000,000 audit rows written straight into the file while storaged is stopped. */
static void
bench_fill_audit(const char *db_path, int rows)
{
	static const char *const actions[] = {"login", "logout", "login_failed", "user_updated",
	    "app_accessed", "role_assigned", "password_changed", "invite_used", "2fa_verified",
	    "system_setting_changed", "user_created", "app_restarted"};
	sqlite3 *db;
	sqlite3_stmt *st;
	time_t now = time(NULL);

	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		exit(1);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO audit_logs(timestamp, user_id, username, action,"
			       " resource_type, details, ip_address, success) VALUES (?,?,?,?,?,?,?,?)",
	    -1, &st, NULL);
	for (int i = 0; i < rows; i++) {
		char ts[32], who[16];
		time_t t = now - (time_t)(i % (200 * 86400));
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		snprintf(who, sizeof(who), "user%d", i % 50);
		sqlite3_bind_text(st, 1, ts, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, i % 50 + 1);
		sqlite3_bind_text(st, 3, who, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, actions[i % 12], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, "user", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, "{\"app\":\"jellyfin\",\"note\":\"benchmark row\"}", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, "192.0.2.10", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 8, i % 7 != 0);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
}

static char *
bench_dup(const unsigned char *s)
{
	return s ? strdup((const char *)s) : NULL;
}

/* What the reference backend does: every row into memory, then count. */
struct bench_row {
	long long id;
	char *timestamp, *username, *action, *resource_type, *details, *ip;
	int success;
};

static void
bench_reference_stats(const char *db_path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct bench_row *rows = NULL;
	size_t n = 0, cap = 0, ok = 0;
	long rss0 = bench_rss_kib(getpid(), "VmRSS:"), peak;
	int64_t t0 = time_mono_us();

	sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_prepare_v2(db, "SELECT id, timestamp, username, action, resource_type, details,"
			       " ip_address, success FROM audit_logs", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			rows = realloc(rows, cap * sizeof(*rows));
		}
		rows[n].id = sqlite3_column_int64(st, 0);
		rows[n].timestamp = bench_dup(sqlite3_column_text(st, 1));
		rows[n].username = bench_dup(sqlite3_column_text(st, 2));
		rows[n].action = bench_dup(sqlite3_column_text(st, 3));
		rows[n].resource_type = bench_dup(sqlite3_column_text(st, 4));
		rows[n].details = bench_dup(sqlite3_column_text(st, 5));
		rows[n].ip = bench_dup(sqlite3_column_text(st, 6));
		rows[n].success = sqlite3_column_int(st, 7);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		ok += rows[i].success != 0;
	peak = bench_rss_kib(getpid(), "VmRSS:");
	printf("%-28s %10.1f ms %10ld KiB  (%zu rows, %zu ok)\n", "load all rows, count in C",
	    (double)(time_mono_us() - t0) / 1000, peak - rss0, n, ok);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].timestamp);
		free(rows[i].username);
		free(rows[i].action);
		free(rows[i].resource_type);
		free(rows[i].details);
		free(rows[i].ip);
	}
	free(rows);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/kubarr-bench-storaged-XXXXXX", db[128];
	int seconds = argc > 2 ? atoi(argv[2]) : 5;
	struct ipc_client *c;
	double ping1, w1, w32, r1, r32;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-storaged BIN_DIR [seconds]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("bench");
	log_set_level(LOG_LEVEL_ERROR);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db, sizeof(db), "%s/kubarr.db", dir);
	pid = bench_start(argv[1], dir);
	c = bench_connect(dir);
	printf("storaged over IPC (synchronous=FULL, %d s per run; 1 client = a blocking caller,\n"
	       "32 clients = 32 requests always in flight from asynchronous call chains)\n\n", seconds);
	printf("%-28s %7s %10s %9s %9s %7s\n", "operation", "clients", "ops/s", "p50 us", "p99 us",
	    "errors");
	ping1 = bench_run(c, BENCH_PING, 1, seconds, "PING (IPC reference)");
	bench_run(c, BENCH_PING, 32, seconds, "PING (IPC reference)");
	w1 = bench_run(c, BENCH_WRITE, 1, seconds, "AUDIT_APPEND (write)");
	w32 = bench_run(c, BENCH_WRITE, 32, seconds, "AUDIT_APPEND (write)");
	r1 = bench_run(c, BENCH_READ, 1, seconds, "SETTING_GET (point read)");
	r32 = bench_run(c, BENCH_READ, 32, seconds, "SETTING_GET (point read)");
	printf("\nwrites 32 clients / 1 client: %.1fx (group commit)\n", w32 / w1);
	printf("1-client write / PING: %.2f; 1-client read / PING: %.2f; 32-client read / 1-client: %.1fx\n",
	    w1 / ping1, r1 / ping1, r32 / r1);
	ipc_client_close(&c);
	bench_stop(pid);

	printf("\naudit stats over 1,000,000 rows\n");
	bench_fill_audit(db, 1000000);
	pid = bench_start(argv[1], dir);
	c = bench_connect(dir);
	{
		struct proto_audit_stats_req rq = {0};
		struct proto_audit_stats_rep rp;
		struct proto_reply hold;
		long rss0 = bench_rss_kib(pid, "VmRSS:"), rss1;
		int64_t t0 = time_mono_us();
		enum proto_status st = proto_audit_stats_call_sync(c, &rq, 60000, &rp, &hold);
		double ms = (double)(time_mono_us() - t0) / 1000;

		rss1 = bench_rss_kib(pid, "VmRSS:");
		printf("%-28s %10.1f ms %10ld KiB  (storaged RSS growth; status %s, %llu rows)\n",
		    "AUDIT_STATS (GROUP BY)", ms, rss1 - rss0, proto_status_name(st),
		    st == PROTO_OK ? (unsigned long long)rp.total_events : 0ULL);
		proto_reply_fini(&hold);
	}
	ipc_client_close(&c);
	bench_stop(pid);
	bench_reference_stats(db);
	{
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	ipc_fini();
	return 0;
}
