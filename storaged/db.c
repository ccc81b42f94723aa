#include "db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

static int
db_pragma(sqlite3 *db, const char *sql, char **err_r)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*err_r = xasprintf("%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
db_open(struct db_conn **c_r, const struct db_config *cfg, bool readonly, char **err_r)
{
	int flags = SQLITE_OPEN_NOMUTEX |
	    (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	struct db_conn *c = xcalloc(1, sizeof(*c));
	char sql[128];

	c->readonly = readonly;
	if (sqlite3_open_v2(cfg->path, &c->db, flags, NULL) != SQLITE_OK) {
		*err_r = xasprintf("open %s: %s", cfg->path, c->db ? sqlite3_errmsg(c->db) : "no memory");
		db_close(&c);
		return -1;
	}
	sqlite3_extended_result_codes(c->db, 1);
	if (cfg->ship_wal) {
		int persist = 1;

		sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		sqlite3_file_control(c->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
		if (db_pragma(c->db, "PRAGMA wal_autocheckpoint=0", err_r) != 0) {
			db_close(&c);
			return -1;
		}
	}
	sqlite3_busy_timeout(c->db, cfg->busy_timeout_ms);
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", cfg->synchronous);
	if ((!readonly && db_pragma(c->db, "PRAGMA journal_mode=WAL", err_r) != 0) ||
	    db_pragma(c->db, "PRAGMA foreign_keys=ON", err_r) != 0 ||
	    db_pragma(c->db, sql, err_r) != 0 ||
	    (readonly && db_pragma(c->db, "PRAGMA query_only=ON", err_r) != 0)) {
		db_close(&c);
		return -1;
	}
	*c_r = c;
	return 0;
}

void
db_close(struct db_conn **cp)
{
	struct db_conn *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	for (size_t i = 0; i < DB_STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].st);
	if (sqlite3_close(c->db) != SQLITE_OK)
		log_warnx("db: close: %s", sqlite3_errmsg(c->db));
	free(c);
}

sqlite3_stmt *
db_stmt(struct db_conn *c, const char *sql)
{
	size_t slot = ((uintptr_t)sql >> 3) % DB_STMT_CACHE;

	for (size_t n = 0; n < DB_STMT_CACHE; n++, slot = (slot + 1) % DB_STMT_CACHE) {
		if (c->cache[slot].sql == sql) {
			sqlite3_reset(c->cache[slot].st);
			sqlite3_clear_bindings(c->cache[slot].st);
			return c->cache[slot].st;
		}
		if (c->cache[slot].sql == NULL) {
			if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				&c->cache[slot].st, NULL) != SQLITE_OK) {
				log_error("db: prepare failed: %s: %s", sqlite3_errmsg(c->db), sql);
				return NULL;
			}
			c->cache[slot].sql = sql;
			return c->cache[slot].st;
		}
	}
	log_error("db: statement cache full (%d)", DB_STMT_CACHE);
	return NULL;
}

void
db_stmts_settle(struct db_conn *c)
{
	for (size_t i = 0; i < DB_STMT_CACHE; i++)
		if (c->cache[i].sql != NULL && sqlite3_stmt_busy(c->cache[i].st))
			sqlite3_reset(c->cache[i].st);
}

int
db_exec(struct db_conn *c, const char *sql, char **err_r)
{
	return db_pragma(c->db, sql, err_r);
}

int
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void
db_now(char out[25])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 25, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 25 - n, ".%03uZ", (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}
