/* import_pg_row: one row of a pg_dump for import-pg (see import_pg.c): kubarr's
 * columns and foreign keys read from the schema (pragma_table_info,
 * pragma_foreign_key_list), the INSERT for the dump's column list, the
 * conversion of each value by its column's type, the insert, and the reason a
 * row was skipped. */
#include "import_pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

struct import_pg_tab *
import_pg_row_find(struct import_pg *ip, const char *schema, const char *table)
{
	if (schema != NULL && strcmp(schema, "public") != 0)
		return NULL;
	for (size_t i = 0; i < IMPORT_PG_NTABLES; i++)
		if (strcmp(ip->tabs[i].def->name, table) == 0)
			return &ip->tabs[i];
	return NULL;
}

static enum import_pg_type
import_pg_row_type_of(const char *name, const char *decl)
{
	size_t n = strlen(name);

	if (strcasestr(decl, "INT") != NULL)
		return IMPORT_PG_INT;
	if (strcasestr(decl, "REAL") != NULL || strcasestr(decl, "FLOA") != NULL ||
	    strcasestr(decl, "DOUB") != NULL)
		return IMPORT_PG_REAL;
	if (strcmp(name, "timestamp") == 0 || (n > 3 && strcmp(name + n - 3, "_at") == 0))
		return IMPORT_PG_TS;
	return IMPORT_PG_TEXT;
}

int
import_pg_row_prepare(struct import_pg *ip, const char *sql, sqlite3_stmt **st_r, char **err_r)
{
	if (sqlite3_prepare_v2(ip->c->db, sql, -1, st_r, NULL) != SQLITE_OK) {
		*err_r = xasprintf("%s: %s", sql, sqlite3_errmsg(ip->c->db));
		return -1;
	}
	return 0;
}

/* Columns and foreign keys of every table, from kubarr's schema. */
int
import_pg_row_schema(struct import_pg *ip, char **err_r)
{
	sqlite3_stmt *cols = NULL, *fks = NULL;
	int rc = -1;

	if (import_pg_row_prepare(ip, "SELECT name, type FROM pragma_table_info(?)", &cols, err_r) < 0 ||
	    import_pg_row_prepare(ip, "SELECT \"from\", \"table\", \"to\", on_delete"
				  " FROM pragma_foreign_key_list(?)", &fks, err_r) < 0)
		goto out;
	for (size_t i = 0; i < IMPORT_PG_NTABLES; i++) {
		struct import_pg_tab *t = &ip->tabs[i];

		sqlite3_reset(cols);
		sqlite3_bind_text(cols, 1, t->def->name, -1, SQLITE_STATIC);
		while (sqlite3_step(cols) == SQLITE_ROW) {
			struct import_pg_col *col;

			t->cols = xrealloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
			col = &t->cols[t->ncols++];
			col->name = xstrdup((const char *)sqlite3_column_text(cols, 0));
			col->type = import_pg_row_type_of(col->name, (const char *)sqlite3_column_text(cols, 1));
			col->fk = -1;
		}
		if (t->ncols == 0) {
			*err_r = xasprintf("kubarr's schema has no table %s", t->def->name);
			goto out;
		}
		sqlite3_reset(fks);
		sqlite3_bind_text(fks, 1, t->def->name, -1, SQLITE_STATIC);
		while (sqlite3_step(fks) == SQLITE_ROW) {
			const char *from = (const char *)sqlite3_column_text(fks, 0);
			struct import_pg_fk *fk;

			t->fks = xrealloc(t->fks, (t->nfks + 1) * sizeof(*t->fks));
			fk = &t->fks[t->nfks];
			fk->parent = xstrdup((const char *)sqlite3_column_text(fks, 1));
			fk->pcol = xstrdup((const char *)sqlite3_column_text(fks, 2));
			fk->set_null = strcmp((const char *)sqlite3_column_text(fks, 3), "SET NULL") == 0;
			fk->exists = NULL;
			fk->col = -1;
			for (size_t c = 0; c < t->ncols; c++)
				if (strcmp(t->cols[c].name, from) == 0)
					fk->col = (int)c;
			if (fk->col >= 0)
				t->cols[fk->col].fk = (int)t->nfks;
			t->nfks++;
		}
	}
	/* depth: 1 + the deepest parent (self references do not count) */
	for (size_t round = 0; round < IMPORT_PG_NTABLES; round++)
		for (size_t i = 0; i < IMPORT_PG_NTABLES; i++)
			for (size_t f = 0; f < ip->tabs[i].nfks; f++) {
				struct import_pg_tab *p = import_pg_row_find(ip, NULL, ip->tabs[i].fks[f].parent);

				if (p != NULL && p != &ip->tabs[i] && p->depth + 1 > ip->tabs[i].depth)
					ip->tabs[i].depth = p->depth + 1;
			}
	for (size_t i = 0; i < IMPORT_PG_NTABLES; i++)
		for (size_t f = 0; f < ip->tabs[i].nfks; f++) {
			struct import_pg_fk *fk = &ip->tabs[i].fks[f];
			char *sql = xasprintf("SELECT 1 FROM \"%s\" WHERE \"%s\" = ?", fk->parent, fk->pcol);

			rc = import_pg_row_prepare(ip, sql, &fk->exists, err_r);
			free(sql);
			if (rc < 0)
				goto out;
		}
	rc = 0;
out:
	sqlite3_finalize(cols);
	sqlite3_finalize(fks);
	return rc;
}

static void
import_pg_row_reset_insert(struct import_pg_tab *t)
{
	sqlite3_finalize(t->ins);
	t->ins = NULL;
	for (size_t i = 0; t->key != NULL && i < t->nkey; i++)
		free(t->key[i]);
	free(t->key);
	free(t->param);
	free(t->colx);
	t->key = NULL;
	t->param = NULL;
	t->colx = NULL;
	t->nkey = 0;
}

void
import_pg_row_free(struct import_pg *ip)
{
	for (size_t i = 0; i < IMPORT_PG_NTABLES; i++) {
		struct import_pg_tab *t = &ip->tabs[i];

		import_pg_row_reset_insert(t);
		for (size_t c = 0; c < t->ncols; c++)
			free(t->cols[c].name);
		for (size_t f = 0; f < t->nfks; f++) {
			free(t->fks[f].parent);
			free(t->fks[f].pcol);
			sqlite3_finalize(t->fks[f].exists);
		}
		for (size_t w = 0; w < t->nwarned; w++)
			free(t->warned[w]);
		free(t->cols);
		free(t->fks);
		free(t->warned);
	}
	for (size_t i = 0; i < ip->nunknown; i++)
		free(ip->unknown[i].name);
	free(ip->unknown);
	free(ip->vals);
}

/* ---- one row ---- */

static bool
import_pg_row_same_key(const struct import_pg_tab *t, const struct pgdump_row *row)
{
	if (t->ins == NULL || (t->key == NULL) != (row->ncolumns == 0))
		return false;
	if (t->key == NULL)
		return t->nkey == row->nvalues;
	if (t->nkey != row->ncolumns)
		return false;
	for (size_t i = 0; i < t->nkey; i++)
		if (strcmp(t->key[i], row->columns[i]) != 0)
			return false;
	return true;
}

/* The INSERT for this row's column list.  1: prepared; 0: the row cannot be
 * mapped (reason in ip->why); -1: SQLite failed. */
static int
import_pg_row_insert_for(struct import_pg *ip, struct import_pg_tab *t, const struct pgdump_row *row,
    char **err_r)
{
	size_t n = row->ncolumns ? row->ncolumns : row->nvalues, used = 0;
	size_t len = 64 + strlen(t->def->name);
	char *sql, *p;
	int rc;

	if (import_pg_row_same_key(t, row))
		return 1;
	import_pg_row_reset_insert(t);
	if (row->ncolumns == 0 && row->nvalues != t->ncols) {
		snprintf(ip->why, sizeof(ip->why), "%zu values, kubarr's %s has %zu columns "
		    "(dump with --column-inserts)", row->nvalues, t->def->name, t->ncols);
		return 0;
	}
	t->param = xcalloc(n, sizeof(*t->param));
	t->colx = xcalloc(n, sizeof(*t->colx));
	t->nkey = n;
	if (row->ncolumns > 0) {
		t->key = xcalloc(n, sizeof(*t->key));
		for (size_t i = 0; i < n; i++)
			t->key[i] = xstrdup(row->columns[i]);
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = row->ncolumns ? row->columns[i] : t->cols[i].name;
		size_t c = 0;

		while (c < t->ncols && strcmp(t->cols[c].name, name) != 0)
			c++;
		t->colx[i] = c < t->ncols ? (int)c : -1;
		if (c == t->ncols) {
			bool seen = false;

			for (size_t w = 0; w < t->nwarned; w++)
				seen |= strcmp(t->warned[w], name) == 0;
			if (!seen) {
				log_warnx("import-pg: %s line %u: column \"%s\" is not in kubarr's "
				    "schema: its values are not imported", t->def->name, row->line, name);
				t->warned = xrealloc(t->warned, (t->nwarned + 1) * sizeof(*t->warned));
				t->warned[t->nwarned++] = xstrdup(name);
			}
			continue;
		}
		len += strlen(name) + 8;
		used++;
	}
	if (used == 0) {
		snprintf(ip->why, sizeof(ip->why), "none of its columns exists in kubarr");
		return 0;
	}
	p = sql = xmalloc(len);
	p += sprintf(p, "INSERT INTO \"%s\" (", t->def->name);
	for (size_t i = 0, k = 0; i < n; i++)
		if (t->colx[i] >= 0) {
			t->param[i] = (int)++k;
			p += sprintf(p, "%s\"%s\"", k > 1 ? ", " : "", t->cols[t->colx[i]].name);
		}
	p += sprintf(p, ") VALUES (");
	for (size_t k = 0; k < used; k++)
		p += sprintf(p, "%s?", k > 0 ? ", " : "");
	sprintf(p, ")");
	rc = import_pg_row_prepare(ip, sql, &t->ins, err_r);
	free(sql);
	if (rc < 0) {
		import_pg_row_reset_insert(t);
		return -1;
	}
	return 1;
}

static int
import_pg_row_int(const char *s, long long *v_r)
{
	char *end;

	errno = 0;
	*v_r = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

/* Converts one value for a column; -1 with the reason in ip->why. */
static int
import_pg_row_convert(struct import_pg *ip, const struct import_pg_col *col,
    const struct pgdump_value *v, struct import_pg_val *out)
{
	const char *why = NULL;
	char *end;
	bool b;

	out->type = SQLITE_NULL;
	if (v->kind == PGDUMP_NULL)
		return 0;
	if (v->kind == PGDUMP_BOOL) {
		if (col->type == IMPORT_PG_TEXT) {
			out->type = SQLITE_TEXT;
			out->s = v->b ? "true" : "false";
			out->n = strlen(out->s);
			return 0;
		}
		if (col->type != IMPORT_PG_INT)
			goto bad;
		out->type = SQLITE_INTEGER;
		out->i = v->b;
		return 0;
	}
	switch (col->type) {
	case IMPORT_PG_INT:
		out->type = SQLITE_INTEGER;
		if (import_pg_row_int(v->text, &out->i) == 0)
			return 0;
		if (v->kind == PGDUMP_STRING && pgdump_parse_bool(v->text, &b) == 0) {
			out->i = b;
			return 0;
		}
		why = "neither an integer nor a boolean";
		goto bad;
	case IMPORT_PG_REAL:
		errno = 0;
		out->type = SQLITE_FLOAT;
		out->r = strtod(v->text, &end);
		if (errno == 0 && end != v->text && *end == '\0')
			return 0;
		why = "not a number";
		goto bad;
	case IMPORT_PG_TS:
		if (v->kind != PGDUMP_STRING)
			goto bad;
		if (pgdump_timestamp_rfc3339(v->text, out->ts, &why) < 0)
			goto bad;
		out->type = SQLITE_TEXT;
		out->s = out->ts;
		out->n = 24;
		return 0;
	case IMPORT_PG_TEXT:
		out->type = SQLITE_TEXT;
		out->s = v->text;
		out->n = v->len;
		return 0;
	}
bad:
	snprintf(ip->why, sizeof(ip->why), "%s: %s%.40s%s%s%s", col->name,
	    v->kind == PGDUMP_STRING ? "'" : "", v->kind == PGDUMP_BOOL ? (v->b ? "true" : "false") : v->text,
	    v->kind == PGDUMP_STRING ? "'" : "", why ? ": " : " has the wrong type", why ? why : "");
	return -1;
}

static int
import_pg_row_bind(sqlite3_stmt *st, int param, const struct import_pg_val *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		return sqlite3_bind_int64(st, param, v->i);
	case SQLITE_FLOAT:
		return sqlite3_bind_double(st, param, v->r);
	case SQLITE_TEXT:
		return sqlite3_bind_text(st, param, v->s, (int)v->n, SQLITE_STATIC);
	default:
		return sqlite3_bind_null(st, param);
	}
}

/* Does the parent row a foreign-key value names exist? */
static bool
import_pg_row_parent_exists(struct import_pg_fk *fk, const struct import_pg_val *v)
{
	bool found;

	sqlite3_reset(fk->exists);
	import_pg_row_bind(fk->exists, 1, v);
	found = sqlite3_step(fk->exists) == SQLITE_ROW;
	sqlite3_reset(fk->exists);
	return found;
}

static void
import_pg_row_skip(struct import_pg_tab *t, const struct pgdump_row *row, const char *why)
{
	if (t->shown < IMPORT_PG_SHOW_MAX)
		log_warnx("import-pg: %s line %u: row skipped: %s", t->def->name, row->line, why);
	else if (t->shown == IMPORT_PG_SHOW_MAX)
		log_warnx("import-pg: %s: more rows skipped; only the first %d are listed",
		    t->def->name, IMPORT_PG_SHOW_MAX);
	t->shown++;
}

/* Explains a failed insert: the foreign key whose parent is missing, or SQLite's
 * message (with a hint for kubarr's case-insensitive names). */
static void
import_pg_row_explain(struct import_pg *ip, struct import_pg_tab *t, const struct pgdump_row *row,
    int code)
{
	const char *msg = sqlite3_errmsg(ip->c->db);

	snprintf(ip->why, sizeof(ip->why), "%s%s", msg,
	    strstr(msg, "users.username") != NULL || strstr(msg, "users.email") != NULL ?
	    " (kubarr compares usernames and emails regardless of letter case)" : "");
	sqlite3_reset(t->ins);
	if (code == SQLITE_CONSTRAINT_FOREIGNKEY) {
		for (size_t i = 0; i < row->nvalues; i++) {
			const struct import_pg_col *col = t->colx[i] >= 0 ? &t->cols[t->colx[i]] : NULL;

			if (col == NULL || col->fk < 0 || ip->vals[i].type == SQLITE_NULL ||
			    import_pg_row_parent_exists(&t->fks[col->fk], &ip->vals[i]))
				continue;
			snprintf(ip->why, sizeof(ip->why), "%s %.40s names no %s row (not in the dump, "
			    "or skipped)", col->name, row->values[i].text, t->fks[col->fk].parent);
			return;
		}
	}
}

int
import_pg_row_load(struct import_pg *ip, struct import_pg_tab *t, const struct pgdump_row *row,
    char **err_r)
{
	unsigned long nulled = 0;
	int rc;

	if ((rc = import_pg_row_insert_for(ip, t, row, err_r)) <= 0)
		goto skip;
	if (row->nvalues > ip->capvals) {
		ip->capvals = row->nvalues;
		ip->vals = xrealloc(ip->vals, ip->capvals * sizeof(*ip->vals));
	}
	for (size_t i = 0; i < row->nvalues; i++) {
		const struct import_pg_col *col = t->colx[i] >= 0 ? &t->cols[t->colx[i]] : NULL;
		struct import_pg_val *v = &ip->vals[i];

		v->type = SQLITE_NULL;
		if (col == NULL)
			continue;
		if (import_pg_row_convert(ip, col, &row->values[i], v) < 0) {
			rc = 0;
			goto skip;
		}
		if (col->fk >= 0 && t->fks[col->fk].set_null && v->type != SQLITE_NULL &&
		    !import_pg_row_parent_exists(&t->fks[col->fk], v)) {
			v->type = SQLITE_NULL;
			nulled++;
		}
		import_pg_row_bind(t->ins, t->param[i], v);
	}
	rc = sqlite3_step(t->ins);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(t->ins);
		t->written++;
		t->nulled += nulled;
		return 0;
	}
	if ((rc & 0xff) != SQLITE_CONSTRAINT && rc != SQLITE_MISMATCH && rc != SQLITE_TOOBIG) {
		*err_r = xasprintf("%s: %s", t->def->name, sqlite3_errmsg(ip->c->db));
		sqlite3_reset(t->ins);
		return -1;
	}
	import_pg_row_explain(ip, t, row, rc);
	rc = 0;
skip:
	if (rc < 0)
		return -1;
	import_pg_row_skip(t, row, ip->why);
	return 0;
}
