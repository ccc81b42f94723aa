/* import_pg_int.h: private to import_pg.c (the command, the transaction, the
 * report) and import_pg_row.c (kubarr's schema, mapping and converting one
 * row, inserting it). */
#ifndef KUBARR_STORAGED_IMPORT_PG_INT_H
#define KUBARR_STORAGED_IMPORT_PG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "db.h"
#include "pgdump.h"

#define IMPORT_PG_NTABLES 24	 /* the reference backend's tables */
#define IMPORT_PG_SHOW_MAX 50	 /* skipped rows printed per table */
#define IMPORT_PG_WHY_MAX 320

struct import_pg_def {
	const char *name;
	bool seed; /* the migrations insert rows into it */
};

enum import_pg_type { IMPORT_PG_INT, IMPORT_PG_REAL, IMPORT_PG_TEXT, IMPORT_PG_TS };

struct import_pg_col {
	char *name;
	enum import_pg_type type;
	int fk; /* index in the table's fks, or -1 */
};

struct import_pg_fk {
	char *parent, *pcol;
	int col;
	bool set_null;	     /* nullable and ON DELETE SET NULL: a missing parent -> NULL */
	sqlite3_stmt *exists; /* SELECT 1 FROM parent WHERE pcol = ? */
};

struct import_pg_tab {
	const struct import_pg_def *def;
	struct import_pg_col *cols;
	size_t ncols;
	struct import_pg_fk *fks;
	size_t nfks;
	int depth; /* 0: references no other table */
	unsigned long read, written, nulled, shown;
	long long seq; /* from the dump's setval, or -1 */
	/* the INSERT for the current column list */
	sqlite3_stmt *ins;
	char **key; /* the dump's column list it was made for (NULL: positional) */
	size_t nkey;
	int *param; /* dump value index -> parameter (1-based), 0: dropped */
	int *colx;  /* dump value index -> index in cols, -1: dropped */
	char **warned; /* unknown columns already reported */
	size_t nwarned;
};

struct import_pg_unknown {
	char *name;
	unsigned long rows;
	unsigned line;
};

struct import_pg_val {
	int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT */
	long long i;
	double r;
	const char *s;
	size_t n;
	char ts[25];
};

struct import_pg {
	struct db_conn *c;
	struct import_pg_tab tabs[IMPORT_PG_NTABLES] /* import_pg_defs' order */;
	struct import_pg_unknown *unknown;
	size_t nunknown;
	int pass; /* -1: the dry parse; else the depth being loaded */
	unsigned long total, done, skipped_unknown;
	struct import_pg_val *vals;
	size_t capvals;
	char why[IMPORT_PG_WHY_MAX];
};

/* ---- import_pg_row.c ---- */

/* The table a dump row goes to (schema public or none), or NULL. */
struct import_pg_tab *import_pg_row_find(struct import_pg *ip, const char *schema,
    const char *table);
int import_pg_row_prepare(struct import_pg *ip, const char *sql, sqlite3_stmt **st_r,
    char **err_r);
/* Columns, types and foreign keys of every table from kubarr's schema; the
 * load depth of each table. */
int import_pg_row_schema(struct import_pg *ip, char **err_r);
/* Inserts one row; a row that cannot be loaded is reported and skipped (0).
 * -1 only when SQLite fails otherwise (disk full, I/O...). */
int import_pg_row_load(struct import_pg *ip, struct import_pg_tab *t, const struct pgdump_row *row,
    char **err_r);
/* Finalizes the statements and frees what import_pg_row_* allocated in ip. */
void import_pg_row_free(struct import_pg *ip);

#endif
