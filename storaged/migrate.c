#include "migrate.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "xmalloc.h"

static int
migrate_current(struct db_conn *c, int *version_r, char **err_r)
{
	sqlite3_stmt *st;
	int rc;

	if (db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       " version INTEGER PRIMARY KEY,"
		       " name TEXT NOT NULL,"
		       " applied_at TEXT NOT NULL)", err_r) != 0)
		return -1;
	if (sqlite3_prepare_v2(c->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1,
		&st, NULL) != SQLITE_OK) {
		*err_r = xasprintf("read schema version: %s", sqlite3_errmsg(c->db));
		return -1;
	}
	rc = sqlite3_step(st);
	*version_r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		*err_r = xasprintf("read schema version: %s", sqlite3_errmsg(c->db));
		return -1;
	}
	return 0;
}

/* Copies the live database to path with the backup API, then fsyncs it. */
static int
migrate_snapshot(struct db_conn *c, const char *path, char **err_r)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc, fd;

	if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		*err_r = xasprintf("snapshot %s: %s", path, dst ? sqlite3_errmsg(dst) : "no memory");
		sqlite3_close(dst);
		return -1;
	}
	b = sqlite3_backup_init(dst, "main", c->db, "main");
	rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
	if (b)
		sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		*err_r = xasprintf("snapshot %s: %s", path, sqlite3_errmsg(dst));
		sqlite3_close(dst);
		unlink(path);
		return -1;
	}
	sqlite3_close(dst);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

static void
migrate_rollback(struct db_conn *c)
{
	char *err = NULL;

	if (db_exec(c, "ROLLBACK", &err) != 0) {
		log_error("migrate: rollback: %s", err);
		free(err);
	}
}

int
migrate_run(struct db_conn *c, const char *db_path, const struct migration *list, size_t n,
    int *from_r, int *to_r, char **err_r)
{
	int cur, latest = n > 0 ? list[n - 1].version : 0;
	char now[25], *err = NULL;

	if (migrate_current(c, &cur, err_r) != 0)
		return -1;
	*from_r = *to_r = cur;
	if (cur > latest) {
		*err_r = xasprintf("database schema version %d is newer than this kubarr-storaged "
				   "(knows up to %d): upgrade kubarr, or restore an older backup", cur, latest);
		return -1;
	}
	if (cur == latest)
		return 0;
	if (cur > 0) {
		char *snap = xasprintf("%s.pre-v%d-v%d.bak", db_path, cur, latest);

		log_info("migrate: copying the database to %s before upgrading", snap);
		if (migrate_snapshot(c, snap, err_r) != 0) {
			free(snap);
			return -1;
		}
		free(snap);
	}
	if (db_exec(c, "BEGIN IMMEDIATE", err_r) != 0)
		return -1;
	db_now(now);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st;

		if (list[i].version <= cur)
			continue;
		log_info("migrate: applying %04d_%s", list[i].version, list[i].name);
		if (db_exec(c, list[i].sql, &err) != 0) {
			*err_r = xasprintf("migration %04d_%s failed: %s; rolled back, the database is "
					   "unchanged at version %d", list[i].version, list[i].name, err, cur);
			free(err);
			migrate_rollback(c);
			return -1;
		}
		if (sqlite3_prepare_v2(c->db,
			"INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)", -1,
			&st, NULL) != SQLITE_OK) {
			*err_r = xasprintf("record migration: %s", sqlite3_errmsg(c->db));
			migrate_rollback(c);
			return -1;
		}
		sqlite3_bind_int(st, 1, list[i].version);
		sqlite3_bind_text(st, 2, list[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			*err_r = xasprintf("record migration: %s", sqlite3_errmsg(c->db));
			sqlite3_finalize(st);
			migrate_rollback(c);
			return -1;
		}
		sqlite3_finalize(st);
	}
	if (db_exec(c, "COMMIT", err_r) != 0) {
		migrate_rollback(c);
		return -1;
	}
	*to_r = latest;
	return 0;
}
