/* bench-notify: notifications from the change to the receiver, storaged alone
 * with a webhook receiver on loopback (tests/integration/notify_sink.c):
 *   - the latency a security event adds to the write that emits it:
 *     USER_SET_PASSWORD with password_changed disabled, then enabled (an inbox
 *     row and an outbox row in the same transaction), p50 / p99 each; enabled
 *     once with the sender idle (the emission alone) and once with the sender
 *     delivering meanwhile (storaged restarted between the two)
 *   - events per second from NOTIFY_EMIT (32 clients) to the receiver
 * usage: bench-notify BIN_DIR [writes, default 2000] [events, default 5000] */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "ipc.h"
#include "log.h"
#include "notify_sink.h"
#include "timeutil.h"

#define BENCH_T 10000
#define BENCH_CLIENTS 32

static struct ipc_client *bench_c;
static int64_t bench_uid;
static atomic_int bench_left, bench_errors;

static void
bench_die(const char *what)
{
	fprintf(stderr, "bench-notify: %s\n", what);
	exit(1);
}

/* idle_sender: KUBARR_NOTIFY_POLL_MS at its maximum (the sender looks once,
 * at start), to time the emission alone. */
static pid_t
bench_start(const char *bin, const char *dir, bool idle_sender)
{
	char exe[512];
	pid_t pid = fork();

	if (pid == 0) {
		snprintf(exe, sizeof(exe), "%s/kubarr-storaged", bin);
		setenv("KUBARR_DATA_DIR", dir, 1);
		setenv("KUBARR_LOG_LEVEL", "warn", 1);
		if (idle_sender)
			setenv("KUBARR_NOTIFY_POLL_MS", "600000", 1);
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int
bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
bench_event(const char *type, bool on)
{
	struct proto_event_set_req r = {.event_type = type, .has_enabled = true, .enabled = on};
	struct proto_event_set_rep rep;
	struct proto_reply hold;

	if (proto_event_set_call_sync(bench_c, &r, BENCH_T, &rep, &hold) != PROTO_OK)
		bench_die("EVENT_SET");
	proto_reply_fini(&hold);
}

/* n USER_SET_PASSWORD, one at a time: p50 and p99 in us. */
static void
bench_writes(int n, double *p50_r, double *p99_r)
{
	int64_t *lat = calloc((size_t)n, sizeof(*lat));

	for (int i = 0; i < n; i++) {
		struct proto_user_set_password_req r = {.id = bench_uid, .hashed_password = "$bench$"};
		struct proto_user_set_password_rep rep;
		struct proto_reply hold;
		int64_t t0 = time_mono_us();

		if (proto_user_set_password_call_sync(bench_c, &r, BENCH_T, &rep, &hold) != PROTO_OK)
			bench_die("USER_SET_PASSWORD");
		lat[i] = time_mono_us() - t0;
		proto_reply_fini(&hold);
	}
	qsort(lat, (size_t)n, sizeof(*lat), bench_cmp);
	*p50_r = (double)lat[n / 2];
	*p99_r = (double)lat[(size_t)((double)n * 0.99)];
	free(lat);
}

static void *
bench_emitter(void *arg)
{
	struct proto_rec_notify_uid ids[1] = {{.id = bench_uid}};

	(void)arg;
	while (atomic_fetch_sub(&bench_left, 1) > 0) {
		struct proto_notify_emit_req r = {.event_type = "bench_event", .title = "bench",
		    .message = "bench event", .user_ids = {ids, 1}};
		struct proto_notify_emit_rep rep;
		struct proto_reply hold;

		if (proto_notify_emit_call_sync(bench_c, &r, BENCH_T, &rep, &hold) != PROTO_OK ||
		    rep.outbox != 1)
			atomic_fetch_add(&bench_errors, 1);
		proto_reply_fini(&hold);
	}
	return NULL;
}

static void
bench_connect(const char *dir)
{
	char url[512], *err = NULL;
	int64_t until;

	snprintf(url, sizeof(url), "ipc://%s/run/storaged.ipc", dir);
	if (ipc_client_open(&bench_c, url, 0, &err) != 0)
		bench_die(err);
	for (until = time_mono_us() + 10000000; !ipc_client_connected(bench_c);) {
		if (time_mono_us() > until)
			bench_die("storaged did not start");
		usleep(5000);
	}
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	int writes = argc > 2 ? atoi(argv[2]) : 2000, events = argc > 3 ? atoi(argv[3]) : 5000;
	char dir[256], db[512], dest[128];
	double off50, off99, on50, on99;
	pthread_t th[BENCH_CLIENTS];
	struct sink *sink;
	int64_t t0, t_emitted, t_done;
	int base;
	pid_t pid;

	if (argc < 2)
		bench_die("usage: bench-notify BIN_DIR [writes] [events]");
	log_init("bench-notify");
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(dir, sizeof(dir), "%s/bench-notify-XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp");
	if ((sink = sink_start(SINK_OK, 0)) == NULL)
		bench_die("receiver");
	pid = bench_start(argv[1], dir, true);
	bench_connect(dir);
	/* one user with a verified webhook destination on the receiver */
	{
		sqlite3 *s;

		snprintf(db, sizeof(db), "%s/kubarr.db", dir);
		if (sqlite3_open(db, &s) != SQLITE_OK)
			bench_die("sqlite3_open");
		sqlite3_busy_timeout(s, 10000);
		if (sqlite3_exec(s, "INSERT INTO users(username, email, hashed_password, is_active,"
				    " is_approved) VALUES ('bench', 'bench@example.com', 'x', 1, 1)",
			NULL, NULL, NULL) != SQLITE_OK)
			bench_die("user");
		bench_uid = sqlite3_last_insert_rowid(s);
		sqlite3_close(s);
	}
	{
		struct proto_channel_set_req cr = {.channel_type = "webhook", .has_enabled = true,
		    .enabled = true, .has_config = true, .config = "{}"};
		struct proto_channel_set_rep crep;
		struct proto_pref_set_req pr = {.user_id = bench_uid, .channel_type = "webhook",
		    .has_destination = true, .destination = dest};
		struct proto_pref_set_rep prep;
		struct proto_pref_verify_req vr = {.user_id = bench_uid, .channel_type = "webhook"};
		struct proto_pref_verify_rep vrep;
		struct proto_reply hold;

		snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/bench", sink_port(sink));
		if (proto_channel_set_call_sync(bench_c, &cr, BENCH_T, &crep, &hold) != PROTO_OK)
			bench_die("CHANNEL_SET");
		proto_reply_fini(&hold);
		if (proto_pref_set_call_sync(bench_c, &pr, BENCH_T, &prep, &hold) != PROTO_OK)
			bench_die("PREF_SET");
		proto_reply_fini(&hold);
		if (proto_pref_verify_call_sync(bench_c, &vr, BENCH_T, &vrep, &hold) != PROTO_OK)
			bench_die("PREF_VERIFY");
		proto_reply_fini(&hold);
	}

	/* the write's latency without and with its event, the sender idle */
	bench_event("password_changed", false);
	bench_writes(writes, &off50, &off99);
	bench_event("password_changed", true);
	base = sink_count(sink);
	bench_writes(writes, &on50, &on99);
	printf("| USER_SET_PASSWORD, event off | %d | %.0f us | %.0f us |\n", writes, off50, off99);
	printf("| USER_SET_PASSWORD + password_changed (inbox + outbox row), sender idle | %d | %.0f us | %.0f us |\n",
	    writes, on50, on99);
	printf("| added by the emission alone | | %+.0f us | %+.0f us |\n", on50 - off50, on99 - off99);

	/* again with the sender delivering meanwhile (storaged restarted with
	 * the default poll: it delivers the backlog above while these run) */
	ipc_client_close(&bench_c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	pid = bench_start(argv[1], dir, false);
	bench_connect(dir);
	bench_writes(writes, &on50, &on99);
	printf("| the same, the sender delivering meanwhile | %d | %.0f us | %.0f us |\n", writes,
	    on50, on99);
	printf("| added with deliveries in flight | | %+.0f us | %+.0f us |\n", on50 - off50,
	    on99 - off99);
	if (!sink_wait(sink, base + 2 * writes, 120000))
		bench_die("the write's events were not all delivered");

	/* events per second, change to receiver */
	bench_event("bench_event", true);
	base = sink_count(sink);
	atomic_store(&bench_left, events);
	t0 = time_mono_us();
	for (int i = 0; i < BENCH_CLIENTS; i++)
		pthread_create(&th[i], NULL, bench_emitter, NULL);
	for (int i = 0; i < BENCH_CLIENTS; i++)
		pthread_join(th[i], NULL);
	t_emitted = time_mono_us();
	if (!sink_wait(sink, base + events, 300000))
		bench_die("the events were not all delivered");
	t_done = time_mono_us();
	printf("| NOTIFY_EMIT, %d clients: emitted | %d | %.0f events/s | |\n", BENCH_CLIENTS, events,
	    events / ((double)(t_emitted - t0) / 1e6));
	printf("| change to delivered (webhook on loopback) | %d | %.0f events/s | %.2f s in all |\n",
	    events, events / ((double)(t_done - t0) / 1e6), (double)(t_done - t0) / 1e6);
	if (atomic_load(&bench_errors) != 0)
		fprintf(stderr, "bench-notify: %d emit errors\n", atomic_load(&bench_errors));

	ipc_client_close(&bench_c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	sink_stop(&sink);
	ipc_fini();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench-notify: cannot remove %s\n", dir);
	}
	return 0;
}
