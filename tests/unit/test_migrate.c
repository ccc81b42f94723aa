/* storaged migrations: applied once and recorded; a failing migration leaves
 * the database exactly as it was (and usable); a newer database is refused; a
 * copy is taken before upgrading a database that has data; the real embedded
 * schema applies on an empty database and passes integrity and FK checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "migrate.h"

static const struct migration test_v1[] = {
	{1, "one", "CREATE TABLE a(x INTEGER); INSERT INTO a VALUES (1);"},
};
static const struct migration test_v2[] = {
	{1, "one", "CREATE TABLE a(x INTEGER); INSERT INTO a VALUES (1);"},
	{2, "two", "CREATE TABLE b(y INTEGER); INSERT INTO a VALUES (2);"},
};
/* 2 is fine, 3 fails half-way: neither may remain. */
static const struct migration test_bad[] = {
	{1, "one", "CREATE TABLE a(x INTEGER); INSERT INTO a VALUES (1);"},
	{2, "two", "CREATE TABLE b(y INTEGER); INSERT INTO a VALUES (2);"},
	{3, "broken", "CREATE TABLE c(z INTEGER); INSERT INTO a VALUES (3); INSERT INTO nowhere VALUES (1);"},
};

struct fx {
	char dir[64];
	char path[128];
	struct db_config cfg;
	struct db_conn *c;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *err = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/kubarr-mig-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/k.db", f->dir);
	f->cfg.path = f->path;
	f->cfg.synchronous = "FULL";
	f->cfg.busy_timeout_ms = 1000;
	if (db_open(&f->c, &f->cfg, false, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	db_close(&f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static long long
scalar(struct db_conn *c, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_applies_once(void **state)
{
	struct fx *f = *state;
	int from, to;
	char *err = NULL;

	assert_int_equal(migrate_run(f->c, f->path, test_v1, 1, &from, &to, &err), 0);
	assert_int_equal(from, 0);
	assert_int_equal(to, 1);
	assert_int_equal(migrate_run(f->c, f->path, test_v1, 1, &from, &to, &err), 0);
	assert_int_equal(from, 1);
	assert_int_equal(to, 1);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM a"), 1);
	/* an empty database is not copied before its first migration */
	assert_int_equal(access("/nonexistent", F_OK), -1);
}

static void
test_upgrade_takes_a_copy(void **state)
{
	struct fx *f = *state;
	char snap[192];
	int from, to;
	char *err = NULL;
	struct db_config cfg;
	struct db_conn *c2 = NULL;

	assert_int_equal(migrate_run(f->c, f->path, test_v1, 1, &from, &to, &err), 0);
	assert_int_equal(migrate_run(f->c, f->path, test_v2, 2, &from, &to, &err), 0);
	assert_int_equal(from, 1);
	assert_int_equal(to, 2);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM a"), 2);
	snprintf(snap, sizeof(snap), "%s.pre-v1-v2.bak", f->path);
	cfg = f->cfg;
	cfg.path = snap;
	assert_int_equal(db_open(&c2, &cfg, true, &err), 0);
	/* the copy is the database as it was before the upgrade */
	assert_int_equal(scalar(c2, "SELECT MAX(version) FROM schema_migrations"), 1);
	assert_int_equal(scalar(c2, "SELECT COUNT(*) FROM a"), 1);
	db_close(&c2);
}

static void
test_failure_leaves_database_untouched(void **state)
{
	struct fx *f = *state;
	int from, to;
	char *err = NULL;

	assert_int_equal(migrate_run(f->c, f->path, test_v1, 1, &from, &to, &err), 0);
	assert_int_equal(migrate_run(f->c, f->path, test_bad, 3, &from, &to, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "0003_broken failed"));
	assert_non_null(strstr(err, "unchanged at version 1"));
	free(err);
	err = NULL;
	assert_int_equal(scalar(f->c, "SELECT MAX(version) FROM schema_migrations"), 1);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM a"), 1);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('b','c')"), 0);
	assert_int_equal(scalar(f->c, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
	/* and still usable: the good upgrade applies afterwards */
	assert_int_equal(migrate_run(f->c, f->path, test_v2, 2, &from, &to, &err), 0);
	assert_int_equal(to, 2);
}

static void
test_newer_database_refused(void **state)
{
	struct fx *f = *state;
	int from, to;
	char *err = NULL;

	assert_int_equal(migrate_run(f->c, f->path, test_v2, 2, &from, &to, &err), 0);
	assert_int_equal(migrate_run(f->c, f->path, test_v1, 1, &from, &to, &err), -1);
	assert_non_null(strstr(err, "version 2 is newer"));
	free(err);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM a"), 2);
}

static void
test_real_schema(void **state)
{
	struct fx *f = *state;
	int from, to;
	char *err = NULL;

	assert_true(storaged_nmigrations >= 1);
	if (migrate_run(f->c, f->path, storaged_migrations, storaged_nmigrations, &from, &to, &err) != 0)
		fail_msg("%s", err);
	assert_int_equal(to, storaged_migrations[storaged_nmigrations - 1].version);
	assert_int_equal(scalar(f->c, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
	/* seeds: the three system roles, admin with every permission family */
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM roles WHERE is_system = 1"), 3);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM role_permissions rp JOIN roles r"
				      " ON r.id = rp.role_id WHERE r.name = 'admin' AND rp.permission"
				      " IN ('notifications.manage', 'cloudflare.manage', 'users.manage')"), 3);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM system_settings WHERE key IN"
				      " ('registration_enabled', 'registration_require_approval')"), 2);
	assert_int_equal(scalar(f->c, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
				      " AND name IN ('request_log', 'audit_logs', 'sessions', 'users')"), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_applies_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_takes_a_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_leaves_database_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_schema, setup, teardown),
	};

	log_init("test");
	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
