/* db: SQLite connections of storaged.  One writing connection (owned by the
 * writer thread) and KUBARR_DB_READERS read-only ones (one per reader thread);
 * each keeps its prepared statements (keyed by the SQL text's address, so
 * pass string literals). */
#ifndef KUBARR_STORAGED_DB_H
#define KUBARR_STORAGED_DB_H

#include <sqlite3.h>
#include <stdbool.h>

#define DB_STMT_CACHE 256

struct db_config {
	const char *path;
	const char *synchronous;   /* FULL (default), NORMAL */
	int busy_timeout_ms;
	/* The backup shipper owns checkpoints (BACKUP.md 3): every connection
	 * gets wal_autocheckpoint=0, keeps the WAL across close
	 * (SQLITE_FCNTL_PERSIST_WAL) and never checkpoints on close
	 * (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE). */
	bool ship_wal;
};

struct db_conn {
	sqlite3 *db;
	bool readonly;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[DB_STMT_CACHE];
};

int db_open(struct db_conn **c_r, const struct db_config *cfg, bool readonly, char **err_r);
void db_close(struct db_conn **c);
/* A ready-to-bind statement (reset, bindings cleared); NULL on a prepare error
 * (logged with the SQL). */
sqlite3_stmt *db_stmt(struct db_conn *c, const char *sql);
/* Resets every cached statement still running, ending the read transaction a
 * statement left mid-way would hold: the next job sees the latest commits. */
void db_stmts_settle(struct db_conn *c);
/* Runs SQL without results; -1 with sqlite's message in err_r. */
int db_exec(struct db_conn *c, const char *sql, char **err_r);
/* Bind helpers: NULL text binds NULL. */
int db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Now as RFC 3339 UTC with milliseconds (the format of every timestamp). */
void db_now(char out[25]);

#endif
