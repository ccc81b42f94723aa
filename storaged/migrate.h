/* migrate: numbered schema migrations embedded in the binary (generated from
 * storaged/migrations/NNNN_name.sql), recorded in schema_migrations.
 *
 * Before applying anything to a database that already has data, a copy is
 * taken beside it with the SQLite backup API (<db>.pre-v<from>-v<to>.bak).
 * All pending migrations run in ONE transaction, so a failure leaves the
 * database exactly as it was.  A database whose version is newer than the
 * binary's is refused. */
#ifndef KUBARR_STORAGED_MIGRATE_H
#define KUBARR_STORAGED_MIGRATE_H

#include <stddef.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration storaged_migrations[];
extern const size_t storaged_nmigrations;

struct db_conn;

/* 0 with the versions before and after in from_r/to_r; -1 with a message that
 * says what happened and that nothing was changed. */
int migrate_run(struct db_conn *c, const char *db_path, const struct migration *list, size_t n,
    int *from_r, int *to_r, char **err_r);

#endif
