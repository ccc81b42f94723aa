/* pgdump: parser for `pg_dump --data-only --inserts` output (see pgdump.h).
 *
 * One pass over the buffer: the lexer of pgdump_lex.c feeding one function
 * per statement.  Decoded strings, identifiers and column lists live in the
 * arena, reset after every statement; the values and rows of the statement
 * being parsed live in vectors reused across statements.  Rows are handed to
 * the callback once their whole INSERT has parsed. */
#include "pgdump_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

/* ---- statements ---- */

/* schema.name, name, or catalog.schema.name (catalog dropped). */
static int
pgdump_qualified_name(struct pgdump_parser *ps, const char **schema_r, const char **name_r,
    const char *what)
{
	const char *parts[3];
	int n = 0;

	for (;;) {
		struct pgdump_token t;
		const char *save;

		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_QIDENT)
			return pgdump_lex_unexpected(ps, &t, what);
		if (n == 3)
			return pgdump_lex_fail(ps, t.line, "improper qualified name (too many dotted names)");
		parts[n++] = pgdump_lex_ident(ps, &t);
		if (pgdump_lex_skip_space(ps) < 0)
			return -1;
		save = ps->p;
		if (save == ps->end || *save != '.')
			break;
		ps->p++;
	}
	*name_r = parts[n - 1];
	*schema_r = n >= 2 ? parts[n - 2] : NULL;
	return 0;
}

static void
pgdump_push_value(struct pgdump_parser *ps, const struct pgdump_value *v)
{
	if (ps->nvals == ps->capvals) {
		ps->capvals = ps->capvals ? ps->capvals * 2 : 64;
		ps->vals = xrealloc(ps->vals, ps->capvals * sizeof(*ps->vals));
	}
	ps->vals[ps->nvals++] = *v;
}

/* Skips one or more "::type" casts after a value. */
static int
pgdump_skip_casts(struct pgdump_parser *ps)
{
	for (;;) {
		bool named = false;
		unsigned line;

		if (pgdump_lex_skip_space(ps) < 0)
			return -1;
		if (ps->end - ps->p < 2 || ps->p[0] != ':' || ps->p[1] != ':')
			return 0;
		ps->p += 2;
		line = ps->line;
		for (;;) {
			struct pgdump_token t;
			char c;

			if (pgdump_lex_skip_space(ps) < 0)
				return -1;
			c = ps->p < ps->end ? *ps->p : '\0';
			if ((pgdump_lex_is_ident_start(c) || c == '"') && !named) {
				if (pgdump_lex_next(ps, &t) < 0)
					return -1;
				if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_QIDENT)
					return pgdump_lex_unexpected(ps, &t, "a type name");
				named = true;
			} else if (pgdump_lex_is_ident_start(c) && named) {
				/* multi-word names: double precision, timestamp with time zone */
				if (pgdump_lex_next(ps, &t) < 0)
					return -1;
				if (t.kind != PGDUMP_TOK_WORD)
					return pgdump_lex_unexpected(ps, &t, "a type name");
			} else if (c == '.' && named) {
				ps->p++;
				named = false;
			} else if (c == '(' && named) {
				ps->p++;
				for (;;) {
					if (pgdump_lex_next(ps, &t) < 0)
						return -1;
					if (t.kind != PGDUMP_TOK_NUMBER)
						return pgdump_lex_unexpected(ps, &t, "a type modifier");
					if (pgdump_lex_next(ps, &t) < 0)
						return -1;
					if (pgdump_lex_is_punct(&t, ')'))
						break;
					if (!pgdump_lex_is_punct(&t, ','))
						return pgdump_lex_unexpected(ps, &t, "',' or ')'");
				}
			} else if (c == '[' && named) {
				ps->p++;
				if (pgdump_lex_next(ps, &t) < 0)
					return -1;
				if (t.kind == PGDUMP_TOK_NUMBER && pgdump_lex_next(ps, &t) < 0)
					return -1;
				if (!pgdump_lex_is_punct(&t, ']'))
					return pgdump_lex_unexpected(ps, &t, "']'");
			} else {
				break;
			}
		}
		if (!named)
			return pgdump_lex_fail(ps, line, "expected a type name after '::'");
	}
}

/* One value of a VALUES row, appended to ps->vals. */
static int
pgdump_value(struct pgdump_parser *ps, const struct pgdump_token *first)
{
	struct pgdump_value v = {.kind = PGDUMP_NULL};
	struct pgdump_token t = *first;
	char buf[64];

	switch (t.kind) {
	case PGDUMP_TOK_STRING:
	case PGDUMP_TOK_BITS:
		v.kind = PGDUMP_STRING;
		v.text = t.text;
		v.len = t.len;
		break;
	case PGDUMP_TOK_NUMBER:
		v.kind = PGDUMP_NUMBER;
		v.text = pgdump_lex_strndup(&ps->arena, t.text, t.len);
		v.len = t.len;
		break;
	case PGDUMP_TOK_PUNCT:
		if (t.c == '-' || t.c == '+') {
			char sign = t.c, *s;

			if (pgdump_lex_next(ps, &t) < 0)
				return -1;
			if (t.kind != PGDUMP_TOK_NUMBER)
				return pgdump_lex_unexpected(ps, &t, "a number after the sign");
			s = pgdump_lex_alloc(&ps->arena, t.len + 2, 1);
			s[0] = sign;
			memcpy(s + 1, t.text, t.len);
			s[t.len + 1] = '\0';
			v.kind = PGDUMP_NUMBER;
			v.text = s;
			v.len = t.len + 1;
			break;
		}
		return pgdump_lex_unexpected(ps, &t, "a value");
	case PGDUMP_TOK_WORD:
		if (pgdump_lex_is_word(&t, "null"))
			break;
		if (pgdump_lex_is_word(&t, "true") || pgdump_lex_is_word(&t, "false")) {
			v.kind = PGDUMP_BOOL;
			v.b = pgdump_lex_is_word(&t, "true");
			break;
		}
		if (pgdump_lex_is_word(&t, "default"))
			return pgdump_lex_fail(ps, t.line, "DEFAULT values are not supported");
		return pgdump_lex_fail(ps, t.line, "unexpected %s in VALUES (only literals are supported)",
		    pgdump_lex_tok_desc(&t, buf, sizeof(buf)));
	default:
		return pgdump_lex_unexpected(ps, &t, "a value");
	}
	if (pgdump_skip_casts(ps) < 0)
		return -1;
	pgdump_push_value(ps, &v);
	return 0;
}

/* ( value, ... ) -- the '(' is consumed; appends a pending row. */
static int
pgdump_row(struct pgdump_parser *ps, unsigned line, const char *table)
{
	struct pgdump_pending row = {.first = ps->nvals, .line = line};

	for (;;) {
		struct pgdump_token t;

		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (pgdump_lex_is_punct(&t, ')') && ps->nvals == row.first)
			return pgdump_lex_fail(ps, t.line, "INSERT INTO %s: empty VALUES row", table);
		if (pgdump_value(ps, &t) < 0)
			return -1;
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (pgdump_lex_is_punct(&t, ')'))
			break;
		if (!pgdump_lex_is_punct(&t, ','))
			return pgdump_lex_unexpected(ps, &t, "',' or ')' in VALUES");
	}
	row.n = ps->nvals - row.first;
	if (ps->ncols > 0 && row.n != ps->ncols)
		return pgdump_lex_fail(ps, line, "INSERT INTO %s: row has %zu values for %zu columns",
		    table, row.n, ps->ncols);
	if (ps->ncols == 0 && ps->nrows > 0 && row.n != ps->rows[0].n)
		return pgdump_lex_fail(ps, line,
		    "INSERT INTO %s: row has %zu values, the first row of the statement has %zu",
		    table, row.n, ps->rows[0].n);
	if (ps->nrows == ps->caprows) {
		ps->caprows = ps->caprows ? ps->caprows * 2 : 16;
		ps->rows = xrealloc(ps->rows, ps->caprows * sizeof(*ps->rows));
	}
	ps->rows[ps->nrows++] = row;
	return 0;
}

static int
pgdump_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ( name, ... ) -- the '(' is consumed; fills ps->cols. */
static int
pgdump_column_list(struct pgdump_parser *ps, unsigned line, const char *table)
{
	const char **sorted;

	for (;;) {
		struct pgdump_token t;

		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_QIDENT)
			return pgdump_lex_unexpected(ps, &t, "a column name");
		if (ps->ncols == ps->capcols) {
			ps->capcols = ps->capcols ? ps->capcols * 2 : 16;
			ps->cols = xrealloc(ps->cols, ps->capcols * sizeof(*ps->cols));
		}
		ps->cols[ps->ncols++] = pgdump_lex_ident(ps, &t);
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (pgdump_lex_is_punct(&t, ')'))
			break;
		if (!pgdump_lex_is_punct(&t, ','))
			return pgdump_lex_unexpected(ps, &t, "',' or ')' in the column list");
	}
	/* sorted, so that a duplicate costs O(n log n) to find, not O(n^2) */
	sorted = pgdump_lex_alloc(&ps->arena, ps->ncols * sizeof(*sorted), sizeof(void *));
	memcpy(sorted, ps->cols, ps->ncols * sizeof(*sorted));
	qsort(sorted, ps->ncols, sizeof(*sorted), pgdump_strcmp_ptr);
	for (size_t i = 1; i < ps->ncols; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			return pgdump_lex_fail(ps, line,
			    "INSERT INTO %s: column \"%.64s\" specified more than once", table,
			    sorted[i]);
	return 0;
}

static int
pgdump_insert(struct pgdump_parser *ps, unsigned start, const struct pgdump_callbacks *cb,
    void *arg, struct pgdump_stats *st)
{
	struct pgdump_row row;
	struct pgdump_token t;
	const char *schema, *table, **cols = NULL;

	if (pgdump_lex_expect_word(ps, "into") < 0 ||
	    pgdump_qualified_name(ps, &schema, &table, "a table name") < 0)
		return -1;
	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (pgdump_lex_is_punct(&t, '(')) {
		if (pgdump_column_list(ps, t.line, table) < 0 || pgdump_lex_next(ps, &t) < 0)
			return -1;
	}
	if (pgdump_lex_is_word(&t, "overriding")) {
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (!pgdump_lex_is_word(&t, "system") && !pgdump_lex_is_word(&t, "user"))
			return pgdump_lex_unexpected(ps, &t, "SYSTEM or USER");
		if (pgdump_lex_expect_word(ps, "value") < 0 || pgdump_lex_next(ps, &t) < 0)
			return -1;
	}
	if (!pgdump_lex_is_word(&t, "values"))
		return pgdump_lex_unexpected(ps, &t, "VALUES");
	for (;;) {
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (!pgdump_lex_is_punct(&t, '('))
			return pgdump_lex_unexpected(ps, &t, "'(' to start a VALUES row");
		if (pgdump_row(ps, t.line, table) < 0 || pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (pgdump_lex_is_punct(&t, ','))
			continue;
		if (pgdump_lex_is_word(&t, "on")) {
			if (pgdump_lex_expect_word(ps, "conflict") < 0 ||
			    pgdump_lex_expect_word(ps, "do") < 0 ||
			    pgdump_lex_expect_word(ps, "nothing") < 0 || pgdump_lex_next(ps, &t) < 0)
				return -1;
		}
		if (pgdump_lex_is_punct(&t, ';'))
			break;
		if (t.kind == PGDUMP_TOK_EOF)
			return pgdump_lex_fail(ps, start, "unterminated INSERT statement (missing ';')");
		return pgdump_lex_unexpected(ps, &t, "',' or ';' after a VALUES row");
	}

	st->statements++;
	if (ps->ncols > 0) {
		cols = pgdump_lex_alloc(&ps->arena, ps->ncols * sizeof(*cols), sizeof(void *));
		memcpy(cols, ps->cols, ps->ncols * sizeof(*cols));
	}
	row.schema = schema;
	row.table = table;
	row.columns = cols;
	row.ncolumns = ps->ncols;
	for (size_t i = 0; i < ps->nrows; i++) {
		char *cb_err = NULL;

		row.values = ps->vals + ps->rows[i].first;
		row.nvalues = ps->rows[i].n;
		row.line = ps->rows[i].line;
		if (cb->row != NULL && cb->row(arg, &row, &cb_err) != 0) {
			pgdump_lex_fail(ps, row.line, "%s", cb_err != NULL ? cb_err : "stopped by callback");
			free(cb_err);
			return -1;
		}
		st->rows++;
	}
	return 0;
}

/* SELECT [pg_catalog.]setval('seq', N [, true|false]);  "setval(" is consumed. */
static int
pgdump_setval(struct pgdump_parser *ps, unsigned start, const struct pgdump_callbacks *cb,
    void *arg)
{
	struct pgdump_setval sv = {.is_called = true, .line = start};
	struct pgdump_token t, name;
	struct pgdump_parser sub;
	char num[32], *endp;
	bool neg = false;

	if (pgdump_lex_next(ps, &name) < 0)
		return -1;
	if (name.kind != PGDUMP_TOK_STRING)
		return pgdump_lex_unexpected(ps, &name, "a sequence name");
	if (pgdump_lex_expect_punct(ps, ',') < 0 || pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (pgdump_lex_is_punct(&t, '-')) {
		neg = true;
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
	}
	if (t.kind != PGDUMP_TOK_NUMBER || t.len >= sizeof(num) - 1)
		return pgdump_lex_unexpected(ps, &t, "an integer sequence value");
	snprintf(num, sizeof(num), "%s%.*s", neg ? "-" : "", (int)t.len, t.text);
	errno = 0;
	sv.value = strtoll(num, &endp, 10);
	if (errno != 0 || *endp != '\0')
		return pgdump_lex_fail(ps, t.line, "bad sequence value %s", num);
	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (pgdump_lex_is_punct(&t, ',')) {
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (!pgdump_lex_is_word(&t, "true") && !pgdump_lex_is_word(&t, "false"))
			return pgdump_lex_unexpected(ps, &t, "true or false");
		sv.is_called = pgdump_lex_is_word(&t, "true");
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
	}
	if (!pgdump_lex_is_punct(&t, ')'))
		return pgdump_lex_unexpected(ps, &t, "')'");
	if (pgdump_lex_expect_punct(ps, ';') < 0)
		return -1;

	/* the sequence name is itself a (possibly quoted, qualified) name */
	memset(&sub, 0, sizeof(sub));
	sub.p = name.text;
	sub.end = name.text + name.len;
	sub.line = name.line;
	sub.std_strings = true;
	sub.arena = ps->arena;
	if (pgdump_qualified_name(&sub, &sv.schema, &sv.sequence, "a sequence name") == 0 &&
	    pgdump_lex_skip_space(&sub) == 0 && sub.p != sub.end)
		pgdump_lex_fail(&sub, name.line, "bad sequence name in setval");
	ps->arena = sub.arena;
	if (sub.err != NULL) {
		ps->err = sub.err;
		return -1;
	}

	if (cb->setval != NULL) {
		char *cb_err = NULL;

		if (cb->setval(arg, &sv, &cb_err) != 0) {
			pgdump_lex_fail(ps, start, "%s", cb_err != NULL ? cb_err : "stopped by callback");
			free(cb_err);
			return -1;
		}
	}
	return 0;
}

static int
pgdump_select(struct pgdump_parser *ps, unsigned start, const struct pgdump_callbacks *cb,
    void *arg)
{
	const char *save_p = ps->p;
	unsigned save_line = ps->line;
	struct pgdump_token t;

	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (pgdump_lex_is_word(&t, "pg_catalog")) {
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (pgdump_lex_is_punct(&t, '.') && pgdump_lex_next(ps, &t) < 0)
			return -1;
	}
	if (pgdump_lex_is_word(&t, "setval")) {
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (pgdump_lex_is_punct(&t, '('))
			return pgdump_setval(ps, start, cb, arg);
	}
	ps->p = save_p;
	ps->line = save_line;
	return pgdump_lex_skip_statement(ps, start, "SELECT");
}

static int
pgdump_set(struct pgdump_parser *ps, unsigned start)
{
	struct pgdump_token name, t;
	bool scs, enc;

	if (pgdump_lex_next(ps, &name) < 0)
		return -1;
	scs = pgdump_lex_is_word(&name, "standard_conforming_strings");
	enc = pgdump_lex_is_word(&name, "client_encoding");
	if (!scs && !enc)
		return pgdump_lex_skip_statement(ps, start, "SET");
	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (!pgdump_lex_is_punct(&t, '=') && !pgdump_lex_is_word(&t, "to"))
		return pgdump_lex_unexpected(ps, &t, "'=' or TO");
	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_STRING)
		return pgdump_lex_unexpected(ps, &t, "a setting value");
	if (scs) {
		char v[16];
		bool b;

		snprintf(v, sizeof(v), "%.*s", t.len > 15 ? 15 : (int)t.len, t.text);
		if (t.len > 15 || pgdump_parse_bool(v, &b) < 0)
			return pgdump_lex_fail(ps, t.line, "bad value for standard_conforming_strings");
		ps->std_strings = b;
	} else {
		char v[16];
		size_t n = 0;

		/* UTF8, UTF-8, utf_8, unicode: the names PostgreSQL takes for UTF-8 */
		for (size_t i = 0; i < t.len && n < sizeof(v) - 1; i++)
			if (t.text[i] != '-' && t.text[i] != '_')
				v[n++] = t.text[i];
		v[n] = '\0';
		if (strcasecmp(v, "utf8") != 0 && strcasecmp(v, "unicode") != 0)
			return pgdump_lex_fail(ps, t.line,
			    "client_encoding %.*s is not supported: dump with --encoding=UTF8",
			    t.len > 32 ? 32 : (int)t.len, t.text);
	}
	return pgdump_lex_expect_punct(ps, ';');
}

/* ALTER TABLE [ONLY] name DISABLE|ENABLE TRIGGER ALL;  (--disable-triggers) */
static int
pgdump_alter(struct pgdump_parser *ps)
{
	const char *schema, *table;
	struct pgdump_token t;
	const char *save_p;
	unsigned save_line;

	if (pgdump_lex_expect_word(ps, "table") < 0)
		return -1;
	save_p = ps->p;
	save_line = ps->line;
	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (!pgdump_lex_is_word(&t, "only")) {
		ps->p = save_p;
		ps->line = save_line;
	}
	if (pgdump_qualified_name(ps, &schema, &table, "a table name") < 0 ||
	    pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (!pgdump_lex_is_word(&t, "disable") && !pgdump_lex_is_word(&t, "enable"))
		return pgdump_lex_fail(ps, t.line,
		    "unsupported ALTER TABLE (only DISABLE/ENABLE TRIGGER ALL is accepted)");
	if (pgdump_lex_expect_word(ps, "trigger") < 0 || pgdump_lex_expect_word(ps, "all") < 0)
		return -1;
	return pgdump_lex_expect_punct(ps, ';');
}

/* \restrict KEY and \unrestrict KEY: psql meta-commands up to the end of the line. */
static int
pgdump_meta(struct pgdump_parser *ps)
{
	const char *s = ps->p + 1, *w = s, *nl;

	while (w < ps->end && ((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z')))
		w++;
	if (!((w - s == 8 && memcmp(s, "restrict", 8) == 0) ||
		(w - s == 10 && memcmp(s, "unrestrict", 10) == 0)))
		return pgdump_lex_fail(ps, ps->line, "unsupported psql meta-command \\%.*s",
		    (int)(w - s > 32 ? 32 : w - s), s);
	nl = memchr(w, '\n', (size_t)(ps->end - w));
	ps->p = nl != NULL ? nl : ps->end;
	return 0;
}

static int
pgdump_statement(struct pgdump_parser *ps, const struct pgdump_callbacks *cb, void *arg,
    struct pgdump_stats *st, bool *done_r)
{
	struct pgdump_token t;
	char buf[64];
	int rc;

	if (pgdump_lex_skip_space(ps) < 0)
		return -1;
	if (ps->p == ps->end) {
		*done_r = true;
		return 0;
	}
	if (*ps->p == '\\') {
		if (pgdump_meta(ps) < 0)
			return -1;
		st->statements++;
		st->skipped_statements++;
		return 0;
	}
	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (pgdump_lex_is_punct(&t, ';'))
		return 0; /* empty statement */
	if (pgdump_lex_is_word(&t, "insert"))
		return pgdump_insert(ps, t.line, cb, arg, st);
	if (pgdump_lex_is_word(&t, "set"))
		rc = pgdump_set(ps, t.line);
	else if (pgdump_lex_is_word(&t, "select"))
		rc = pgdump_select(ps, t.line, cb, arg);
	else if (pgdump_lex_is_word(&t, "begin") || pgdump_lex_is_word(&t, "commit"))
		rc = pgdump_lex_expect_punct(ps, ';');
	else if (pgdump_lex_is_word(&t, "alter"))
		rc = pgdump_alter(ps);
	else if (pgdump_lex_is_word(&t, "copy"))
		return pgdump_lex_fail(ps, t.line,
		    "COPY is not supported: dump with pg_dump --data-only --inserts "
		    "(or --column-inserts)");
	else if (t.kind == PGDUMP_TOK_WORD)
		return pgdump_lex_fail(ps, t.line,
		    "unsupported statement %s (a data-only dump has only SET, SELECT and "
		    "INSERT)", pgdump_lex_tok_desc(&t, buf, sizeof(buf)));
	else
		return pgdump_lex_unexpected(ps, &t, "a statement");
	if (rc < 0)
		return -1;
	st->statements++;
	st->skipped_statements++;
	return 0;
}

int
pgdump_parse_cb(const char *buf, size_t len, const struct pgdump_callbacks *cb, void *arg,
    struct pgdump_stats *st, char **err_r)
{
	struct pgdump_parser ps = {.p = buf, .end = buf + len, .line = 1, .std_strings = true};
	struct pgdump_callbacks none = {0};
	struct pgdump_stats local;
	const char *nul;
	bool done = false;
	int rc = 0;

	if (cb == NULL)
		cb = &none;
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (err_r != NULL)
		*err_r = NULL;
	if (len > 0 && (nul = memchr(buf, '\0', len)) != NULL) {
		rc = pgdump_lex_fail(&ps, 1 + pgdump_lex_count_lines(buf, nul), "NUL byte in input");
		goto out;
	}
	while (!done) {
		if (pgdump_statement(&ps, cb, arg, st, &done) < 0) {
			rc = -1;
			break;
		}
		ps.nvals = ps.nrows = ps.ncols = 0;
		pgdump_lex_reset(&ps.arena, true);
	}
out:
	pgdump_lex_reset(&ps.arena, false);
	free(ps.vals);
	free(ps.rows);
	free(ps.cols);
	if (rc < 0 && err_r != NULL)
		*err_r = ps.err;
	else
		free(ps.err);
	return rc;
}

int
pgdump_parse(const char *buf, size_t len, pgdump_row_fn fn, void *arg, struct pgdump_stats *st,
    char **err_r)
{
	struct pgdump_callbacks cb = {.row = fn};

	return pgdump_parse_cb(buf, len, &cb, arg, st, err_r);
}

