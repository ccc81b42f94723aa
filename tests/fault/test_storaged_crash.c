/* Crash safety of storaged: concurrent writes through its socket while it is
 * killed with SIGKILL at random moments, 20 rounds.  After each restart:
 * every acknowledged write is in the database exactly once; every
 * unacknowledged one, retried with its original request id (as nng does when
 * a connection drops), ends up there exactly once too (never twice); and
 * PRAGMA integrity_check says ok. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"

#define CRASH_ROUNDS 20
#define CRASH_THREADS 8
#define CRASH_MAX_WRITES 200000

struct write {
	uint64_t req_id;
	atomic_int state; /* 0 unsent, 1 sent, 2 acknowledged */
};

struct storm {
	struct harness *h;
	struct ipc_client *c;
	struct write *w;
	atomic_int next;     /* next marker to use */
	atomic_bool stop;
	char db[256];
	int *counts;         /* rows per marker, refreshed by storm_counts */
	int reconnects;      /* fresh clients needed by the retries */
};

static int storm_last_ipc, storm_last_status;

/* One AUDIT_APPEND with marker k and its fixed request id; true if acknowledged. */
static bool
storm_send(struct storm *s, int k, int timeout_ms)
{
	char marker[24];
	struct proto_audit_append_req req = {
		.action = "crash", .resource_type = "system", .success = true,
		.resource_id = marker, .has_resource_id = true,
	};
	nng_msg *rep = NULL;
	struct proto_env env;
	const char *err;
	bool ok = false;

	snprintf(marker, sizeof(marker), "%d", k);
	storm_last_ipc = ipc_client_call_sync(s->c, proto_audit_append_req_msg(s->w[k].req_id, &req),
	    timeout_ms, &rep);
	if (storm_last_ipc != IPC_OK)
		return false;
	storm_last_status = -1;
	if (proto_env_decode(&env, nng_msg_body(rep), nng_msg_len(rep), &err) == 0) {
		storm_last_status = (int)env.status;
		ok = env.status == PROTO_OK && env.req_id == s->w[k].req_id;
	}
	proto_env_fini(&env);
	nng_msg_free(rep);
	return ok;
}

static void *
storm_thread(void *arg)
{
	struct storm *s = arg;

	while (!atomic_load(&s->stop)) {
		int k = atomic_fetch_add(&s->next, 1);

		if (k >= CRASH_MAX_WRITES)
			break;
		s->w[k].req_id = proto_next_req_id();
		atomic_store(&s->w[k].state, 1);
		if (storm_send(s, k, 1000))
			atomic_store(&s->w[k].state, 2);
		else
			usleep(2000); /* storaged is down: do not spin */
	}
	return NULL;
}

static void
storm_reconnect(struct storm *s)
{
	char url[300], *err = NULL;

	ipc_client_close(&s->c);
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(s->h));
	assert_int_equal(ipc_client_open(&s->c, url, 0, &err), 0);
	usleep(50000);
	s->reconnects++;
}

/* counts[k] = rows carrying marker k */
static void
storm_counts(struct storm *s, int *counts, int n)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	memset(counts, 0, sizeof(int) * (size_t)n);
	assert_int_equal(sqlite3_open_v2(s->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT integrity_check FROM pragma_integrity_check",
					     -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT CAST(resource_id AS INTEGER), COUNT(*)"
					     " FROM audit_logs WHERE action = 'crash' GROUP BY 1",
					     -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 0);

		assert_true(k >= 0 && k < n);
		counts[k] = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The harness and the client belong to setup/teardown, so a failed
 * assertion still stops the daemons and closes the socket. */
static int
storm_setup(void **state)
{
	struct storm *s = calloc(1, sizeof(*s));
	char url[300], *err = NULL;

	*state = s;
	s->w = calloc(CRASH_MAX_WRITES, sizeof(*s->w));
	s->counts = calloc(CRASH_MAX_WRITES, sizeof(int));
	if (harness_start(&s->h) < 0)
		return -1;
	snprintf(s->db, sizeof(s->db), "%s/kubarr.db", harness_data_dir(s->h));
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(s->h));
	return ipc_client_open(&s->c, url, 0, &err);
}

static int
storm_teardown(void **state)
{
	struct storm *s = *state;
	int rc = 0;

	ipc_client_close(&s->c);
	if (s->h != NULL && harness_finish(s->h) < 0)
		rc = -1;
	harness_free(&s->h);
	free(s->w);
	free(s->counts);
	free(s);
	return rc;
}

static void
test_kill_during_write_storm(void **state)
{
	struct storm *s = *state;
	pthread_t t[CRASH_THREADS];
	int *counts = s->counts, acked_total = 0, retried_total = 0;
	unsigned seed = (unsigned)time(NULL);

	fprintf(stderr, "crash test seed %u\n", seed);
	srand(seed);

	for (int round = 0; round < CRASH_ROUNDS; round++) {
		int first = atomic_load(&s->next), last;
		long until;

		until = harness_now_ms() + 3000;
		while (!ipc_client_connected(s->c) && harness_now_ms() < until)
			usleep(2000);
		atomic_store(&s->stop, false);
		for (int i = 0; i < CRASH_THREADS; i++)
			pthread_create(&t[i], NULL, storm_thread, s);
		usleep((useconds_t)(20000 + rand() % 180000));
		assert_int_equal(harness_kill(s->h, "storaged", SIGKILL), 0);
		atomic_store(&s->stop, true);
		for (int i = 0; i < CRASH_THREADS; i++)
			pthread_join(t[i], NULL);
		last = atomic_load(&s->next);
		if (last > CRASH_MAX_WRITES)
			last = CRASH_MAX_WRITES;
		assert_int_equal(harness_restart(s->h, "storaged"), 0);

		/* every acknowledged write is there exactly once; nothing twice */
		storm_counts(s, counts, last);
		for (int k = first; k < last; k++) {
			if (atomic_load(&s->w[k].state) == 2) {
				if (counts[k] != 1)
					fail_msg("round %d: acknowledged write %d found %d times", round, k,
					    counts[k]);
				acked_total++;
			} else if (counts[k] > 1) {
				fail_msg("round %d: write %d applied %d times", round, k, counts[k]);
			}
		}
		/* retry the unacknowledged ones with their own request ids */
		for (int k = first; k < last; k++) {
			if (atomic_load(&s->w[k].state) != 1)
				continue;
			until = harness_now_ms() + 10000;
			while (!storm_send(s, k, 2000)) {
				/* Known issue (see the notes of issue 3): after many forced
				 * timeouts a long-lived client can stay without a working
				 * pipe while storaged serves everyone else.  A fresh client,
				 * as a restarted caller would have, still proves the point:
				 * the same request id lands exactly once. */
				if (harness_now_ms() > until - 7000)
					storm_reconnect(s);
				if (harness_now_ms() > until)
					fail_msg("round %d: retry of write %d never acknowledged (ipc %s, status %d)",
					    round, k, ipc_status_name(storm_last_ipc), storm_last_status);
				usleep(20000);
			}
			atomic_store(&s->w[k].state, 2);
			retried_total++;
		}
		storm_counts(s, counts, last);
		for (int k = first; k < last; k++)
			if (atomic_load(&s->w[k].state) == 2 && counts[k] != 1)
				fail_msg("round %d: write %d found %d times after retries", round, k,
				    counts[k]);
	}
	fprintf(stderr, "%d rounds: %d writes acknowledged before a kill, %d retried after one "
			"(%d fresh clients), every one present exactly once\n", CRASH_ROUNDS,
	    acked_total, retried_total, s->reconnects);
	assert_true(acked_total > CRASH_ROUNDS); /* the storm really wrote */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_during_write_storm, storm_setup, storm_teardown),
	};
	int rc;

	log_init("test");
	log_set_level(LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ipc_fini();
	return rc;
}
