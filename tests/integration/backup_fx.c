/* backup_fx: see backup_fx.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup_fx.h"
#include "client.h"
#include "proto.h"

int
bfx_start(struct bfx *b, const char *const *env)
{
	memset(b, 0, sizeof(*b));
	if (harness_init(&b->h) < 0)
		return -1;
	snprintf(b->replica, sizeof(b->replica), "%s/replica", harness_tmp_dir(b->h));
	snprintf(b->url, sizeof(b->url), "file://%s", b->replica);
	snprintf(b->db, sizeof(b->db), "%s/kubarr.db", harness_data_dir(b->h));
	if (mkdir(b->replica, 0750) != 0 ||
	    harness_setenv(b->h, "KUBARR_BACKUP_URL", b->url) < 0 ||
	    harness_setenv(b->h, "KUBARR_BACKUP_SYNC_INTERVAL_MS", "100") < 0 ||
	    harness_setenv(b->h, "KUBARR_BACKUP_LEASE_TTL_S", "6") < 0)
		return -1;
	for (size_t i = 0; env != NULL && env[i] != NULL && env[i + 1] != NULL; i += 2)
		if (harness_setenv(b->h, env[i], env[i + 1]) < 0)
			return -1;
	if (harness_launch(b->h) < 0)
		return -1;
	bfx_connect(b);
	return 0;
}

void
bfx_connect(struct bfx *b)
{
	char url[300], *err = NULL;

	ipc_client_close(&b->c);
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(b->h));
	assert_int_equal(ipc_client_open(&b->c, url, 0, &err), 0);
	for (int i = 0; i < 1000 && !ipc_client_connected(b->c); i++)
		usleep(10000);
}

int
bfx_finish(struct bfx *b)
{
	int rc = 0;

	ipc_client_close(&b->c);
	if (b->h != NULL && harness_finish(b->h) < 0)
		rc = -1;
	harness_free(&b->h);
	return rc;
}

static bool
bfx_write_req(struct ipc_client *c, int k, uint64_t req_id, const char *details, int timeout_ms)
{
	char marker[24];
	struct proto_audit_append_req req = {
		.action = "bk", .resource_type = "system", .success = true,
		.resource_id = marker, .has_resource_id = true,
		.details = details, .has_details = details != NULL,
	};
	nng_msg *rep = NULL;
	struct proto_env env;
	const char *err;
	bool ok = false;

	if (req_id == 0)
		req_id = proto_next_req_id();
	snprintf(marker, sizeof(marker), "%d", k);
	int irc = ipc_client_call_sync(c, proto_audit_append_req_msg(req_id, &req), timeout_ms, &rep);

	if (irc != IPC_OK) {
		if (getenv("BFX_VERBOSE"))
			fprintf(stderr, "bfx_write %d: ipc %d\n", k, irc);
		return false;
	}
	if (proto_env_decode(&env, nng_msg_body(rep), nng_msg_len(rep), &err) == 0)
		ok = env.status == PROTO_OK && env.req_id == req_id;
	if (!ok && getenv("BFX_VERBOSE"))
		fprintf(stderr, "bfx_write %d: status %d\n", k, (int)env.status);
	proto_env_fini(&env);
	nng_msg_free(rep);
	return ok;
}

bool
bfx_write(struct ipc_client *c, int k, uint64_t req_id, int timeout_ms)
{
	return bfx_write_req(c, k, req_id, NULL, timeout_ms);
}

bool
bfx_write_padded(struct ipc_client *c, int k, size_t pad, int timeout_ms)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *d = malloc(pad + 16);
	bool ok;

	strcpy(d, "{\"p\":\"");
	for (size_t i = 0; i < pad; i++)
		d[6 + i] = b64[random() & 63];
	strcpy(d + 6 + pad, "\"}");
	ok = bfx_write_req(c, k, proto_next_req_id(), d, timeout_ms);
	free(d);
	return ok;
}

int64_t
bfx_stat(struct bfx *b, const char *name)
{
	struct proto_stats_req req = {0};
	struct proto_stats_rep rep;
	struct proto_reply hold;
	int64_t v = -1;

	if (proto_stats_call_sync(b->c, &req, 2000, &rep, &hold) != PROTO_OK)
		return -1;
	for (size_t i = 0; i < rep.counters.n; i++)
		if (strcmp(rep.counters.v[i].key, name) == 0)
			v = rep.counters.v[i].val;
	proto_reply_fini(&hold);
	return v;
}

int
bfx_wait_shipped(struct bfx *b, int timeout_ms)
{
	long until = harness_now_ms() + timeout_ms;

	while (harness_now_ms() < until) {
		int64_t up = bfx_stat(b, "backup_seq_uploaded");

		if (up > 0 && bfx_stat(b, "backup_lag_ms") == 0 && bfx_stat(b, "backup_spool_bytes") == 0 &&
		    bfx_stat(b, "backup_seq_spooled") == up && bfx_stat(b, "backup_lag_ms") == 0) {
			if (getenv("BFX_VERBOSE"))
				fprintf(stderr, "bfx_wait_shipped: done at seq %lld\n", (long long)up);
			return 0;
		}
		usleep(50000);
	}
	fprintf(stderr, "bfx_wait_shipped: spool %lld bytes, lag %lld ms, seq uploaded %lld\n",
	    (long long)bfx_stat(b, "backup_spool_bytes"), (long long)bfx_stat(b, "backup_lag_ms"),
	    (long long)bfx_stat(b, "backup_seq_uploaded"));
	return -1;
}

int
bfx_restore(struct bfx *b, const char *out, const char *const *extra, char *err, size_t errlen)
{
	const char *args[16] = {"restore", "-o", out};
	struct harness_run_result r = {0};
	size_t n = 3;
	int code;

	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	assert_int_equal(harness_run(b->h, "storaged", args, 60000, &r), 0);
	code = WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : 128;
	if (err != NULL)
		snprintf(err, errlen, "%s", r.err ? r.err : "");
	if (code != 0)
		fprintf(stderr, "restore exited %d: %s%s\n", code, r.out ? r.out : "", r.err ? r.err : "");
	harness_run_result_free(&r);
	return code;
}

int
bfx_markers(const char *db, int *counts, int n)
{
	sqlite3 *d;
	sqlite3_stmt *st;
	int total = 0;

	memset(counts, 0, sizeof(int) * (size_t)n);
	assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(d, 5000);
	assert_int_equal(sqlite3_prepare_v2(d, "SELECT integrity_check FROM pragma_integrity_check",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(d, "SELECT CAST(resource_id AS INTEGER), COUNT(*)"
	    " FROM audit_logs WHERE action = 'bk' GROUP BY 1", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 0);

		assert_true(k >= 0 && k < n);
		counts[k] = sqlite3_column_int(st, 1);
		total++;
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
	return total;
}

static int
bfx_collect(const char *dir, const char *rel, const char *what, char ***v, int *n)
{
	char path[1100];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char sub[400];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, sub);
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			bfx_collect(dir, sub, what, v, n);
		else if (strstr(sub, what) != NULL && strstr(sub, ".tmp.") == NULL) {
			*v = realloc(*v, sizeof(char *) * (size_t)(*n + 1));
			(*v)[(*n)++] = strdup(sub);
		}
	}
	closedir(d);
	return 0;
}

static int
bfx_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
bfx_count_objects(struct bfx *b, const char *what)
{
	char **v = NULL;
	int n = 0;

	bfx_collect(b->replica, "", what, &v, &n);
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return n;
}

int
bfx_object_path(struct bfx *b, const char *what, int k, char *out, size_t len)
{
	char **v = NULL;
	int n = 0, rc = -1;

	bfx_collect(b->replica, "", what, &v, &n);
	qsort(v, (size_t)n, sizeof(*v), bfx_strcmp);
	if (k >= 0 && k < n) {
		snprintf(out, len, "%s/%s", b->replica, v[k]);
		rc = 0;
	}
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

int
bfx_setup_env(void **state, const char *const *env)
{
	struct bfx *b = calloc(1, sizeof(*b));

	*state = b;
	return bfx_start(b, env);
}

int
bfx_setup(void **state)
{
	return bfx_setup_env(state, NULL);
}

int
bfx_teardown(void **state)
{
	struct bfx *b = *state;
	int rc = bfx_finish(b);

	free(b);
	return rc;
}

void
bfx_write_range(struct bfx *b, int from, int to)
{
	for (int k = from; k < to; k++)
		if (!bfx_write(b->c, k, 0, 5000))
			fail_msg("marker %d not acknowledged", k);
}

void
bfx_path(struct bfx *b, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", harness_tmp_dir(b->h), name);
}

void
bfx_expect_markers(const char *db, int n, int m)
{
	enum { MAX = 60000 };
	static int counts[MAX];

	assert_true(m <= MAX);
	bfx_markers(db, counts, MAX);
	for (int k = 0; k < m; k++)
		if (counts[k] != (k < n ? 1 : 0))
			fail_msg("marker %d: %d rows, expected %d (in %s)", k, counts[k], k < n, db);
}

void
bfx_move_db_aside(struct bfx *b, const char *tag)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};

	for (size_t i = 0; i < 3; i++) {
		char from[300], to[340];

		snprintf(from, sizeof(from), "%s%s", b->db, sfx[i]);
		snprintf(to, sizeof(to), "%s%s.%s", b->db, sfx[i], tag);
		if (access(from, F_OK) == 0)
			assert_int_equal(rename(from, to), 0);
	}
}

bool
bfx_log_has(struct bfx *b, const char *name, const char *what)
{
	char path[300], *buf;
	FILE *f;
	long n;
	bool found = false;

	snprintf(path, sizeof(path), "%s/%s.log", harness_tmp_dir(b->h), name);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) == (size_t)n)
		found = strstr(buf, what) != NULL;
	free(buf);
	fclose(f);
	return found;
}

long long
bfx_db_count(struct bfx *b, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(b->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

bool
bfx_db_count_reaches(struct bfx *b, const char *sql, long long min, int timeout_ms)
{
	for (long until = harness_now_ms() + timeout_ms;; usleep(50000)) {
		if (bfx_db_count(b, sql) >= min)
			return true;
		if (harness_now_ms() > until)
			return false;
	}
}
