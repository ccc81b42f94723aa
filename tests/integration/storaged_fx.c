#include "storaged_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"

static void
storaged_fx_event(void *arg, nng_msg *msg)
{
	struct fx *f = arg;
	struct proto_env env;
	struct proto_event_req ev;
	const char *err;

	if (proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err) == 0 &&
	    env.op == PROTO_OP_EVENT && proto_event_req_decode(&env, &ev, &err) == 0) {
		pthread_mutex_lock(&f->lock);
		if (f->nev < FX_MAX_EVENTS) {
			struct fx_event *e = &f->ev[f->nev++];

			snprintf(e->kind, sizeof(e->kind), "%s", ev.kind);
			snprintf(e->key, sizeof(e->key), "%s", ev.has_key ? ev.key : "");
			e->id = ev.id;
		}
		pthread_mutex_unlock(&f->lock);
	}
	proto_env_fini(&env);
	nng_msg_free(msg);
}

void
storaged_fx_connect(struct fx *f)
{
	char url[300];
	char *err = NULL;
	long until = harness_now_ms() + FX_TIMEOUT_MS;

	ipc_client_close(&f->c);
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(f->h));
	assert_int_equal(ipc_client_open(&f->c, url, 0, &err), 0);
	while (!ipc_client_connected(f->c) && harness_now_ms() < until)
		usleep(2000);
	assert_true(ipc_client_connected(f->c));
}

int
storaged_fx_setup_env(void **state, const char *const *env)
{
	struct fx *f = calloc(1, sizeof(*f));
	char url[300];
	char *err = NULL;

	pthread_mutex_init(&f->lock, NULL);
	*state = f;
	if (harness_init(&f->h) < 0)
		return -1;
	for (size_t i = 0; env != NULL && env[i] != NULL && env[i + 1] != NULL; i += 2)
		if (harness_setenv(f->h, env[i], env[i + 1]) < 0)
			return -1;
	if (harness_launch(f->h) < 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/kubarr.db", harness_data_dir(f->h));
	storaged_fx_connect(f);
	snprintf(url, sizeof(url), "ipc://%s/events.ipc", harness_runtime_dir(f->h));
	if (ipc_sub_open(&f->sub, url, storaged_fx_event, f, &err) != 0)
		return -1;
	usleep(150000); /* pub/sub drops messages until the subscription is connected */
	return 0;
}

int
storaged_fx_setup(void **state)
{
	return storaged_fx_setup_env(state, NULL);
}

int
storaged_fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = 0;

	if (f == NULL)
		return 0;
	ipc_sub_close(&f->sub);
	ipc_client_close(&f->c);
	if (f->h != NULL && harness_finish(f->h) < 0)
		rc = -1;
	harness_free(&f->h);
	pthread_mutex_destroy(&f->lock);
	free(f);
	*state = NULL;
	return rc;
}

void
events_reset(struct fx *f)
{
	/* every event of earlier writes arrives before the marker: then forget them */
	(void)events_sync(f);
	pthread_mutex_lock(&f->lock);
	f->nev = 0;
	pthread_mutex_unlock(&f->lock);
}

int
events_sync(struct fx *f)
{
	struct proto_setting_set_req set = {.key = "t_marker", .value = "x"};
	struct proto_setting_set_rep rep;
	struct proto_reply hold;
	long until = harness_now_ms() + FX_TIMEOUT_MS;
	int n = -1, start;

	/* earlier markers are before `start`: wait for the one published now */
	pthread_mutex_lock(&f->lock);
	start = f->nev;
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(proto_setting_set_call_sync(f->c, &set, FX_TIMEOUT_MS, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	while (harness_now_ms() < until && n < 0) {
		pthread_mutex_lock(&f->lock);
		for (int i = start; i < f->nev && n < 0; i++)
			if (strcmp(f->ev[i].kind, "setting") == 0 && strcmp(f->ev[i].key, "t_marker") == 0)
				n = i;
		pthread_mutex_unlock(&f->lock);
		if (n < 0)
			usleep(2000);
	}
	assert_true(n >= 0);
	return n;
}

static sqlite3_stmt *
storaged_fx_query(struct fx *f, sqlite3 **db_r, const char *fmt, va_list ap)
{
	char sql[4096];
	sqlite3_stmt *st = NULL;

	vsnprintf(sql, sizeof(sql), fmt, ap);
	assert_int_equal(sqlite3_open_v2(f->db, db_r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(*db_r, FX_TIMEOUT_MS);
	if (sqlite3_prepare_v2(*db_r, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(*db_r));
	return st;
}

long long
db_scalar(struct fx *f, const char *fmt, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;
	va_list ap;

	va_start(ap, fmt);
	st = storaged_fx_query(f, &db, fmt, ap);
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void
db_text(struct fx *f, char *out, size_t len, const char *fmt, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = storaged_fx_query(f, &db, fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(out, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

void
db_exec(struct fx *f, const char *fmt, ...)
{
	sqlite3 *db;
	char sql[8192];
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}
