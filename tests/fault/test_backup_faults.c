/* Continuous backup under faults (BACKUP.md, "Fault tests"), the real
 * daemons with a file replica; each test ends with a restore into a new file,
 * PRAGMA integrity_check and a comparison with what was acknowledged.
 *
 *   kill_storm       kill -9 storaged at random points of a write storm, 50
 *                    rounds: every acknowledged write is in the restore
 *   store_down       the replica gone for a while (uploads fail, the spool
 *                    and the lag grow), then back: everything arrives
 *   spool_full       the spool quota reached while the replica is down:
 *                    writes go on (the WAL keeps them), nothing is lost
 *   kill_in_snapshot kill -9 while a snapshot of a larger database is being
 *                    written and uploaded, several times */
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
#include <time.h>
#include <unistd.h>

#include "backup_fx.h"
#include "harness_auth.h"
#include "client.h"
#include "proto.h"

#define STORM_ROUNDS 50
#define STORM_THREADS 4
#define STORM_MAX 60000

struct storm {
	struct bfx *b;
	struct ipc_client *c;
	atomic_int next;
	atomic_bool stop;
	atomic_char *acked;   /* 1 sent, 2 acknowledged */
};

static int counts[STORM_MAX];

static int
setup_small_spool(void **state)
{
	static const char *const env[] = {"KUBARR_BACKUP_SPOOL_MAX_BYTES", "1048576", NULL};
	struct bfx *b = calloc(1, sizeof(*b));

	*state = b;
	return bfx_start(b, env);
}

static void *
storm_thread(void *arg)
{
	struct storm *s = arg;

	while (!atomic_load(&s->stop)) {
		int k = atomic_fetch_add(&s->next, 1);

		if (k >= STORM_MAX)
			break;
		atomic_store(&s->acked[k], 1);
		if (bfx_write(s->c, k, 0, 1000))
			atomic_store(&s->acked[k], 2);
		else
			usleep(2000);
	}
	return NULL;
}

static void
check_restore(struct bfx *b, const char *name, atomic_char *acked, int n)
{
	char out[300], err[4096];
	int lost = 0, dup = 0, phantom = 0;

	snprintf(out, sizeof(out), "%s/%s", harness_tmp_dir(b->h), name);
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_markers(out, counts, STORM_MAX);
	for (int k = 0; k < STORM_MAX; k++) {
		int a = k < n ? atomic_load(&acked[k]) : 0;

		lost += a == 2 && counts[k] != 1;
		dup += counts[k] > 1;
		phantom += a == 0 && counts[k] != 0;
	}
	if (lost || dup || phantom)
		fail_msg("restore %s: %d acknowledged writes missing, %d duplicated, %d never sent",
		    name, lost, dup, phantom);
	unlink(out);
}

static void
test_kill_storm(void **state)
{
	struct bfx *b = *state;
	struct storm s = {.b = b, .acked = calloc(STORM_MAX, sizeof(atomic_char))};
	pthread_t t[STORM_THREADS];
	unsigned seed = (unsigned)time(NULL);
	int acked = 0;

	fprintf(stderr, "backup kill storm seed %u\n", seed);
	srand(seed);
	s.c = b->c;
	for (int round = 0; round < STORM_ROUNDS; round++) {
		atomic_store(&s.stop, false);
		for (int i = 0; i < STORM_THREADS; i++)
			pthread_create(&t[i], NULL, storm_thread, &s);
		usleep((useconds_t)(20000 + rand() % 250000));
		assert_int_equal(harness_kill(b->h, "storaged", SIGKILL), 0);
		atomic_store(&s.stop, true);
		for (int i = 0; i < STORM_THREADS; i++)
			pthread_join(t[i], NULL);
		assert_int_equal(harness_restart(b->h, "storaged"), 0);
		bfx_connect(b);
		s.c = b->c;
		if (round % 10 == 9) {
			/* what the replica holds so far verifies at every tenth round */
			assert_int_equal(bfx_wait_shipped(b, 30000), 0);
			check_restore(b, "storm-mid.db", s.acked, atomic_load(&s.next));
		}
	}
	assert_int_equal(bfx_wait_shipped(b, 30000), 0);
	check_restore(b, "storm.db", s.acked, atomic_load(&s.next));
	for (int k = 0; k < atomic_load(&s.next) && k < STORM_MAX; k++)
		acked += atomic_load(&s.acked[k]) == 2;
	fprintf(stderr, "backup kill storm: %d rounds, %d writes acknowledged, all restored\n",
	    STORM_ROUNDS, acked);
	assert_true(acked > STORM_ROUNDS);
	free(s.acked);
}

static void
replica_away(struct bfx *b, bool away)
{
	char aside[300];

	snprintf(aside, sizeof(aside), "%s.away", b->replica);
	assert_int_equal(away ? rename(b->replica, aside) : rename(aside, b->replica), 0);
}

static int
setup_stale(void **state)
{
	static const char *const env[] = {"KUBARR_BACKUP_STALE_S", "1", NULL};

	return bfx_setup_env(state, env);
}

/* backup_stale notifications of the admin "boss" (from the database file). */
static int
stale_notes(struct bfx *b)
{
	return (int)bfx_db_count(b, "SELECT COUNT(*) FROM user_notifications n JOIN users u"
	    " ON u.id = n.user_id WHERE u.username = 'boss' AND n.event_type = 'backup_stale'");
}

static void
test_store_down(void **state)
{
	struct bfx *b = *state;
	atomic_char *acked = calloc(STORM_MAX, sizeof(atomic_char));
	int64_t errors0;

	assert_int_equal(harness_create_user(b->h, "boss", "correct horse 1", "admin", NULL), 0);
	for (int k = 0; k < 50; k++)
		if (bfx_write(b->c, k, 0, 3000))
			acked[k] = 2;
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	errors0 = bfx_stat(b, "backup_upload_errors");
	replica_away(b, true);
	for (int k = 50; k < 400; k++) {
		if (bfx_write(b->c, k, 0, 3000))
			acked[k] = 2;
		usleep(5000);
	}
	usleep(1500000);
	assert_true(bfx_stat(b, "backup_upload_errors") > errors0);
	assert_true(bfx_stat(b, "backup_spool_bytes") > 0);
	assert_true(bfx_stat(b, "backup_lag_ms") > 1000);
	/* behind by more than KUBARR_BACKUP_STALE_S: the admins are told, once */
	for (int i = 0; i < 60 && stale_notes(b) < 1; i++)
		usleep(100000);
	assert_int_equal(stale_notes(b), 1);
	replica_away(b, false);
	assert_int_equal(bfx_wait_shipped(b, 90000), 0);
	check_restore(b, "down.db", acked, 400);
	free(acked);
}

static void
test_spool_full(void **state)
{
	struct bfx *b = *state;
	atomic_char *acked = calloc(STORM_MAX, sizeof(atomic_char));
	char wal[300];
	FILE *f;
	long walsz;

	replica_away(b, true);
	/* ~3 MiB of incompressible rows: three times the 1 MiB spool quota */
	for (int k = 0; k < 800; k++)
		if (bfx_write_padded(b->c, k, 4000, 5000))
			acked[k] = 2;
	for (int k = 0; k < 800; k++)
		assert_int_equal(acked[k], 2); /* writes never wait for the backup */
	usleep(1500000);
	assert_true(bfx_stat(b, "backup_spool_bytes") <= 1048576 + 600000);
	snprintf(wal, sizeof(wal), "%s-wal", b->db);
	assert_non_null(f = fopen(wal, "r"));
	fseek(f, 0, SEEK_END);
	walsz = ftell(f);
	fclose(f);
	assert_true(walsz > 2 * 1048576); /* the WAL holds what the spool cannot */
	replica_away(b, false);
	assert_int_equal(bfx_wait_shipped(b, 120000), 0);
	check_restore(b, "full.db", acked, 800);
	free(acked);
}

static void
test_kill_in_snapshot(void **state)
{
	struct bfx *b = *state;
	atomic_char *acked = calloc(STORM_MAX, sizeof(atomic_char));
	struct proto_backup_snapshot_req req = {0};
	struct proto_backup_snapshot_rep rep;
	struct proto_reply hold;
	int k = 0;

	/* ~12 MiB database: a snapshot takes a moment to write and upload */
	for (; k < 3000; k++)
		if (bfx_write_padded(b->c, k, 4000, 5000))
			acked[k] = 2;
	assert_int_equal(bfx_wait_shipped(b, 60000), 0);
	for (int round = 0; round < 5; round++) {
		enum proto_status st = PROTO_UNAVAILABLE;

		/* a storaged just restarted on a loaded machine may still be dialling */
		for (long until = harness_now_ms() + 10000;
		    st == PROTO_UNAVAILABLE && harness_now_ms() < until;) {
			st = proto_backup_snapshot_call_sync(b->c, &req, 3000, &rep, &hold);
			proto_reply_fini(&hold);
			if (st == PROTO_UNAVAILABLE)
				usleep(50000);
		}
		assert_int_equal(st, PROTO_OK);
		usleep((useconds_t)(rand() % 300000));
		assert_int_equal(harness_kill(b->h, "storaged", SIGKILL), 0);
		assert_int_equal(harness_restart(b->h, "storaged"), 0);
		bfx_connect(b);
		for (int n = k + 20; k < n; k++)
			if (bfx_write(b->c, k, 0, 3000))
				acked[k] = 2;
	}
	assert_int_equal(bfx_wait_shipped(b, 60000), 0);
	check_restore(b, "snap.db", acked, k);
	free(acked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_storm, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_store_down, setup_stale, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_spool_full, setup_small_spool, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_kill_in_snapshot, bfx_setup, bfx_teardown),
	};

	if (getenv("KUBARR_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("KUBARR_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
