/* storaged through its socket, with the real daemons: typed errors, secret
 * settings, change events, exactly-once retries, group commit, restart and a
 * database newer than the binary.  The database file is checked directly. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "storaged_fx.h"

static void
test_audit_append(void **state)
{
	struct fx *f = *state;
	struct proto_audit_append_req req = {
		.action = "login_failed", .resource_type = "session",
		.username = "alice", .has_username = true,
		.details = "{\"reason\":\"bad password\"}", .has_details = true,
		.ip_address = "192.0.2.7", .has_ip_address = true,
	};
	struct proto_audit_append_rep rep;
	struct proto_reply hold;
	int64_t first;

	assert_int_equal(proto_audit_append_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	first = rep.id;
	assert_true(first > 0);
	assert_int_equal(strlen(rep.timestamp), 24);
	assert_true(rep.timestamp[10] == 'T' && rep.timestamp[23] == 'Z');
	proto_reply_fini(&hold);
	assert_int_equal(proto_audit_append_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_true(rep.id == first + 1);
	proto_reply_fini(&hold);

	/* typed errors name the field; nothing is written */
	req.details = "{not json";
	assert_int_equal(proto_audit_append_call_sync(f->c, &req, 2000, &rep, &hold),
	    PROTO_BAD_REQUEST);
	assert_string_equal(hold.detail, "details must be JSON");
	proto_reply_fini(&hold);
	req.has_details = false;
	req.action = "";
	assert_int_equal(proto_audit_append_call_sync(f->c, &req, 2000, &rep, &hold),
	    PROTO_BAD_REQUEST);
	assert_string_equal(hold.detail, "action must not be empty");
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs"), 2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs WHERE username = 'alice'"
				      " AND ip_address = '192.0.2.7' AND success = 0"), 2);
}

static void
audit_add(struct fx *f, const char *action, bool ok, int64_t uid, const char *who)
{
	struct proto_audit_append_req req = {
		.action = action, .resource_type = "user", .success = ok,
		.user_id = uid, .has_user_id = uid > 0, .username = who, .has_username = who != NULL,
	};
	struct proto_audit_append_rep rep;
	struct proto_reply hold;

	assert_int_equal(proto_audit_append_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
}

static void
test_audit_list_stats_clear(void **state)
{
	struct fx *f = *state;
	struct proto_audit_list_req lreq = {.per_page = 10, .has_per_page = true};
	struct proto_audit_list_rep lrep;
	struct proto_audit_stats_req sreq = {0};
	struct proto_audit_stats_rep srep;
	struct proto_audit_clear_req creq = {.days = 90, .has_days = true, .max_rows = 10, .has_max_rows = true};
	struct proto_audit_clear_rep crep;
	struct proto_reply hold;
	sqlite3 *db;

	for (int i = 0; i < 30; i++)
		audit_add(f, i % 3 == 0 ? "login_failed" : "login", i % 3 != 0, 1 + i % 2,
		    i % 2 ? "bob" : "alice");

	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_OK);
	assert_int_equal(lrep.total, 30);
	assert_int_equal(lrep.logs.n, 10);
	assert_int_equal(lrep.total_pages, 3);
	for (size_t i = 1; i < lrep.logs.n; i++) /* newest first */
		assert_true(lrep.logs.v[i - 1].id > lrep.logs.v[i].id);
	proto_reply_fini(&hold);

	lreq.page = 3;
	lreq.has_page = true;
	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_OK);
	assert_int_equal(lrep.logs.n, 10);
	assert_int_equal(lrep.logs.v[9].id, 1);
	proto_reply_fini(&hold);

	lreq.has_page = false;
	lreq.success = false;
	lreq.has_success = true;
	lreq.user_id = 1;
	lreq.has_user_id = true;
	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_OK);
	assert_int_equal(lrep.total, 5); /* i = 0, 6, 12, 18, 24 */
	for (size_t i = 0; i < lrep.logs.n; i++) {
		assert_false(lrep.logs.v[i].success);
		assert_string_equal(lrep.logs.v[i].action, "login_failed");
		assert_string_equal(lrep.logs.v[i].username, "alice");
	}
	proto_reply_fini(&hold);

	memset(&lreq, 0, sizeof(lreq));
	lreq.search = "bo";
	lreq.has_search = true;
	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_OK);
	assert_int_equal(lrep.total, 15);
	proto_reply_fini(&hold);
	lreq.search = "BO"; /* case-sensitive */
	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_OK);
	assert_int_equal(lrep.total, 0);
	proto_reply_fini(&hold);

	memset(&lreq, 0, sizeof(lreq));
	lreq.per_page = 101;
	lreq.has_per_page = true;
	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_BAD_REQUEST);
	assert_string_equal(hold.detail, "per_page must be 1..100");
	proto_reply_fini(&hold);
	memset(&lreq, 0, sizeof(lreq));
	lreq.from = "yesterday";
	lreq.has_from = true;
	assert_int_equal(proto_audit_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_BAD_REQUEST);
	proto_reply_fini(&hold);

	assert_int_equal(proto_audit_stats_call_sync(f->c, &sreq, 2000, &srep, &hold), PROTO_OK);
	assert_int_equal(srep.total_events, 30);
	assert_int_equal(srep.successful_events, 20);
	assert_int_equal(srep.failed_events, 10);
	assert_int_equal(srep.events_today, 30);
	assert_int_equal(srep.events_this_week, 30);
	assert_int_equal(srep.top_actions.n, 2);
	assert_string_equal(srep.top_actions.v[0].key, "login");
	assert_true(srep.top_actions.v[0].val == 20);
	assert_true(srep.top_actions.v[1].val == 10);
	assert_int_equal(srep.recent_failures.n, 10);
	assert_int_equal(srep.recent_failures.v[0].id, 28); /* the newest failure */
	proto_reply_fini(&hold);

	/* 25 entries from the year 2000, cleared in batches of 10 */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
					  " WHERE i < 25) INSERT INTO audit_logs(timestamp, action, resource_type)"
					  " SELECT '2000-01-01T00:00:00.000Z', 'old', 'system' FROM n",
					  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(proto_audit_clear_call_sync(f->c, &creq, 2000, &crep, &hold), PROTO_OK);
		assert_int_equal(crep.deleted, round < 2 ? 10 : 5);
		assert_int_equal(crep.more, round < 2);
		proto_reply_fini(&hold);
	}
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs"), 30);
}

struct inbox {
	pthread_mutex_t lock;
	char kind[32], key[64];
	int n;
};

static void
events_cb(void *arg, nng_msg *msg)
{
	struct inbox *in = arg;
	struct proto_env env;
	struct proto_event_req ev;
	const char *err;

	if (proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err) == 0 &&
	    env.op == PROTO_OP_EVENT && proto_event_req_decode(&env, &ev, &err) == 0) {
		pthread_mutex_lock(&in->lock);
		snprintf(in->kind, sizeof(in->kind), "%s", ev.kind);
		snprintf(in->key, sizeof(in->key), "%s", ev.has_key ? ev.key : "");
		in->n++;
		pthread_mutex_unlock(&in->lock);
	}
	proto_env_fini(&env);
	nng_msg_free(msg);
}

static void
test_settings(void **state)
{
	struct fx *f = *state;
	struct proto_setting_get_req get = {.key = "registration_enabled"};
	struct proto_setting_get_rep grep;
	struct proto_setting_set_req set = {.key = "registration_enabled", .value = "true"};
	struct proto_setting_set_rep srep;
	struct proto_reply hold;
	struct inbox in = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct ipc_sub *sub = NULL;
	char url[300];
	char *err = NULL;
	long until;

	snprintf(url, sizeof(url), "ipc://%s/events.ipc", harness_runtime_dir(f->h));
	assert_int_equal(ipc_sub_open(&sub, url, events_cb, &in, &err), 0);
	usleep(100000); /* let the subscription connect: pub/sub drops until then */

	assert_int_equal(proto_setting_get_call_sync(f->c, &get, 2000, &grep, &hold), PROTO_OK);
	assert_string_equal(grep.value, "false"); /* the seed */
	assert_true(grep.has_description);
	proto_reply_fini(&hold);

	assert_int_equal(proto_setting_set_call_sync(f->c, &set, 2000, &srep, &hold), PROTO_OK);
	assert_string_equal(srep.value, "true");
	assert_true(srep.has_description); /* kept when not given */
	proto_reply_fini(&hold);
	assert_int_equal(proto_setting_get_call_sync(f->c, &get, 2000, &grep, &hold), PROTO_OK);
	assert_string_equal(grep.value, "true");
	proto_reply_fini(&hold);

	until = harness_now_ms() + 2000;
	while (harness_now_ms() < until) {
		pthread_mutex_lock(&in.lock);
		int n = in.n;
		pthread_mutex_unlock(&in.lock);
		if (n > 0)
			break;
		usleep(5000);
	}
	assert_int_equal(in.n, 1);
	assert_string_equal(in.kind, "setting");
	assert_string_equal(in.key, "registration_enabled");
	ipc_sub_close(&sub);

	get.key = "no_such_key";
	assert_int_equal(proto_setting_get_call_sync(f->c, &get, 2000, &grep, &hold), PROTO_NOT_FOUND);
	proto_reply_fini(&hold);
	set.key = "jwt_private_key";
	set.value = "-----BEGIN PRIVATE KEY-----";
	assert_int_equal(proto_setting_set_call_sync(f->c, &set, 2000, &srep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	get.key = "jwt_private_key";
	assert_int_equal(proto_setting_get_call_sync(f->c, &get, 2000, &grep, &hold), PROTO_FORBIDDEN);
	proto_reply_fini(&hold);
}

/* The same request id sent twice (as nng does when a connection drops after
 * the write) is applied once and answered the same both times. */
static void
test_exactly_once(void **state)
{
	struct fx *f = *state;
	struct proto_audit_append_req req = {.action = "dedup", .resource_type = "system", .success = true};
	uint64_t req_id = proto_next_req_id();
	nng_msg *rep1 = NULL, *rep2 = NULL;

	assert_int_equal(ipc_client_call_sync(f->c, proto_audit_append_req_msg(req_id, &req), 2000, &rep1),
	    IPC_OK);
	assert_int_equal(ipc_client_call_sync(f->c, proto_audit_append_req_msg(req_id, &req), 2000, &rep2),
	    IPC_OK);
	assert_int_equal(nng_msg_len(rep1), nng_msg_len(rep2));
	assert_memory_equal(nng_msg_body(rep1), nng_msg_body(rep2), nng_msg_len(rep1));
	nng_msg_free(rep1);
	nng_msg_free(rep2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs WHERE action = 'dedup'"), 1);
}

struct storm {
	struct ipc_client *c;
	int n;
	atomic_int ok;
};

static void *
storm_thread(void *arg)
{
	struct storm *s = arg;
	struct proto_audit_append_req req = {.action = "storm", .resource_type = "system", .success = true};
	struct proto_audit_append_rep rep;
	struct proto_reply hold;

	for (int i = 0; i < s->n; i++) {
		if (proto_audit_append_call_sync(s->c, &req, 5000, &rep, &hold) == PROTO_OK)
			atomic_fetch_add(&s->ok, 1);
		proto_reply_fini(&hold);
	}
	return NULL;
}

static int64_t
stat_of(struct fx *f, const char *name)
{
	struct proto_stats_req req = {0};
	struct proto_stats_rep rep;
	struct proto_reply hold;
	int64_t v = -1;

	assert_int_equal(proto_stats_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	for (size_t i = 0; i < rep.counters.n; i++)
		if (strcmp(rep.counters.v[i].key, name) == 0)
			v = rep.counters.v[i].val;
	proto_reply_fini(&hold);
	return v;
}

/* 16 concurrent writers: every write acknowledged and present, in fewer
 * commits than writes (group commit). */
static void
test_group_commit(void **state)
{
	struct fx *f = *state;
	enum { THREADS = 16, EACH = 25 };
	struct storm s = {.c = f->c, .n = EACH};
	pthread_t t[THREADS];
	int64_t jobs0 = stat_of(f, "write_jobs"), commits0 = stat_of(f, "write_commits");

	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, storm_thread, &s);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&s.ok), THREADS * EACH);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs WHERE action = 'storm'"),
	    THREADS * EACH);
	assert_int_equal(stat_of(f, "write_jobs") - jobs0, THREADS * EACH);
	assert_true(stat_of(f, "write_commits") - commits0 < THREADS * EACH);
	assert_true(stat_of(f, "write_max_batch") > 1);
}

static void
test_restart_keeps_data_and_schema(void **state)
{
	struct fx *f = *state;
	struct proto_setting_set_req set = {.key = "marker", .value = "kept"};
	struct proto_setting_set_rep srep;
	struct proto_setting_get_req get = {.key = "marker"};
	struct proto_setting_get_rep grep;
	struct proto_reply hold;

	assert_int_equal(proto_setting_set_call_sync(f->c, &set, 2000, &srep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(harness_kill(f->h, "storaged", SIGKILL), 0);
	assert_int_equal(harness_restart(f->h, "storaged"), 0);
	storaged_fx_connect(f);
	/* Closing the old client can cut a handshake and stall nng 1.5.2's
	 * listener; storaged's monitor repairs that within ~6 s (common/ipc.c),
	 * and a request caught on the repaired connection fails (a caller sees
	 * 503 and tries again).  So: retry until the answer comes, 15 s at most. */
	{
		long until = harness_now_ms() + 15000;
		enum proto_status st;

		while ((st = proto_setting_get_call_sync(f->c, &get, 3000, &grep, &hold)) != PROTO_OK &&
		    harness_now_ms() < until) {
			assert_true(st == PROTO_UNAVAILABLE || st == PROTO_TIMEOUT);
			proto_reply_fini(&hold);
			usleep(50000);
		}
		assert_int_equal(st, PROTO_OK);
	}
	assert_string_equal(grep.value, "kept");
	proto_reply_fini(&hold);
	assert_int_equal(stat_of(f, "schema_version"), db_scalar(f, "SELECT MAX(version) FROM schema_migrations"));
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM schema_migrations"),
	    db_scalar(f, "SELECT MAX(version) FROM schema_migrations"));
}

/* A database from a newer kubarr: storaged refuses it and exits 1, clearly. */
static void
test_newer_database_refused(void **state)
{
	struct fx *f = *state;
	struct harness_run_result r;
	sqlite3 *db;
	const char *args[] = {NULL};

	assert_int_equal(harness_kill(f->h, "storaged", SIGTERM), 0);
	usleep(300000);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (9999, 'future',"
					  " '2030-01-01T00:00:00.000Z')", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(harness_run(f->h, "storaged", args, 5000, &r), 0);
	assert_true(WIFEXITED(r.wait_status));
	assert_int_equal(WEXITSTATUS(r.wait_status), 1);
	assert_non_null(strstr(r.err, "version 9999 is newer"));
	harness_run_result_free(&r);
	/* put it back so the harness can stop cleanly */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM schema_migrations WHERE version = 9999",
					  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(harness_restart(f->h, "storaged"), 0);
}

/* Maintenance: with retention at 30 days and the first run after 1 s, old
 * audit entries disappear on their own, in batches, and the run is logged. */
/* Secrets go only to authd's uid: by default storaged's own (the test runs as
 * it), refused once KUBARR_AUTHD_UID names another user. */
static void
secret_roundtrip(struct fx *f, enum proto_status want)
{
	struct proto_setting_set_req set = {.key = "jwt_private_key", .value = "PEM-SECRET"};
	struct proto_setting_set_rep srep;
	struct proto_setting_get_secret_req get = {.key = "jwt_private_key"};
	struct proto_setting_get_secret_rep grep;
	struct proto_reply hold;

	assert_int_equal(proto_setting_set_call_sync(f->c, &set, 2000, &srep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(proto_setting_get_secret_call_sync(f->c, &get, 2000, &grep, &hold), want);
	if (want == PROTO_OK)
		assert_string_equal(grep.value, "PEM-SECRET");
	else
		assert_string_equal(hold.detail, "only authd may use this op");
	proto_reply_fini(&hold);
}

static void
test_secret_for_authd(void **state)
{
	secret_roundtrip(*state, PROTO_OK);
}

/* authd needs its secrets to become ready, so the stack starts normally and
 * storaged alone is restarted believing authd is uid 12345. */
static int
other_authd_setup(void **state)
{
	struct fx *f;

	if (storaged_fx_setup(state) != 0)
		return -1;
	f = *state;
	if (harness_kill(f->h, "storaged", SIGTERM) != 0 ||
	    harness_setenv(f->h, "KUBARR_AUTHD_UID", "12345") != 0 ||
	    harness_restart(f->h, "storaged") != 0)
		return -1;
	for (long until = harness_now_ms() + 5000;
	     !ipc_client_connected(f->c) && harness_now_ms() < until;)
		usleep(10000);
	return ipc_client_connected(f->c) ? 0 : -1;
}

static void
test_secret_refused_to_others(void **state)
{
	secret_roundtrip(*state, PROTO_FORBIDDEN);
}

static int
jobs_setup(void **state)
{
	static const char *const env[] = {"KUBARR_JOBS_FIRST_RUN_S", "2",
	    "KUBARR_AUDIT_RETENTION_DAYS", "30", NULL};

	return storaged_fx_setup_env(state, env);
}

static void
test_jobs_audit_retention(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	long until;

	/* 12,000 entries from the year 2000 (more than one batch) and one recent one */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
					  " WHERE i < 12000) INSERT INTO audit_logs(timestamp, action, resource_type)"
					  " SELECT '2000-01-01T00:00:00.000Z', 'old', 'system' FROM n",
					  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	audit_add(f, "recent", true, 0, NULL);
	until = harness_now_ms() + 10000;
	while (db_scalar(f, "SELECT COUNT(*) FROM audit_logs WHERE action = 'old'") > 0 &&
	    harness_now_ms() < until)
		usleep(100000);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs WHERE action = 'old'"), 0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM audit_logs WHERE action = 'recent'"), 1);
	assert_int_equal(stat_of(f, "audit_retention_deleted"), 12000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_audit_append, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_audit_list_stats_clear, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_settings, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_data_and_schema, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_newer_database_refused, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_audit_retention, jobs_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_secret_for_authd, storaged_fx_setup, storaged_fx_teardown),
		cmocka_unit_test_setup_teardown(test_secret_refused_to_others, other_authd_setup,
		    storaged_fx_teardown),
	};

	log_init("test");
	log_set_level(getenv("KUBARR_LOG_LEVEL") && strcmp(getenv("KUBARR_LOG_LEVEL"), "debug") == 0 ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	{
		int rc = cmocka_run_group_tests(tests, NULL, NULL);

		ipc_fini(); /* let nng's reaper free closed sockets before exit */
		return rc;
	}
}
