/* Unit tests for storaged/pgdump: every construct pg_dump --inserts writes,
 * every error (message and line), the timestamp and boolean conversions, and
 * real PostgreSQL 15 dumps (fixtures/pgdump_*.sql, made from
 * fixtures/pgdump_source.sql) checked value by value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgdump.h"
#include "xmalloc.h"

#ifndef PGDUMP_FIXTURE_DIR
#error "PGDUMP_FIXTURE_DIR must name tests/unit/fixtures"
#endif

#define TEST_MAX_ROWS 32
#define TEST_MAX_SETVALS 8

/* A row copied out of the callback, each value rendered by test_value_repr. */
struct test_row {
	char *table, *schema, *columns; /* columns joined by ',' ("" when none) */
	char **values;
	size_t nvalues;
	unsigned line;
};

struct test_setval {
	char *name; /* schema.sequence, or sequence */
	long long value;
	bool is_called;
	unsigned line;
};

struct test_sink {
	struct test_row rows[TEST_MAX_ROWS];
	size_t nrows;
	struct test_setval setvals[TEST_MAX_SETVALS];
	size_t nsetvals;
	size_t stop_at;	      /* fail on this row (1-based), 0 = never */
	const char *stop_msg; /* NULL: fail without a message */
	int ts_column;	      /* render this column through pgdump_timestamp_rfc3339, -1 none */
};

/* NULL -> N, booleans -> T/F, numbers -> #text, strings -> 'text' (raw bytes). */
static char *
test_value_repr(const struct pgdump_value *v)
{
	switch (v->kind) {
	case PGDUMP_NULL:
		assert_null(v->text);
		return xstrdup("N");
	case PGDUMP_BOOL:
		return xstrdup(v->b ? "T" : "F");
	case PGDUMP_NUMBER:
		assert_int_equal(strlen(v->text), v->len);
		return xasprintf("#%s", v->text);
	case PGDUMP_STRING:
		assert_int_equal(v->text[v->len], '\0');
		return xasprintf("'%s'", v->text);
	}
	fail();
	return NULL;
}

static int
test_on_row(void *arg, const struct pgdump_row *row, char **err_r)
{
	struct test_sink *sink = arg;
	struct test_row *r;
	size_t cap = 1;
	char *cols;

	if (sink->stop_at != 0 && sink->nrows + 1 == sink->stop_at) {
		if (sink->stop_msg != NULL)
			*err_r = xstrdup(sink->stop_msg);
		return -1;
	}
	assert_true(sink->nrows < TEST_MAX_ROWS);
	if (row->ncolumns != 0)
		assert_int_equal(row->ncolumns, row->nvalues);
	r = &sink->rows[sink->nrows++];
	r->table = xstrdup(row->table);
	r->schema = xstrdup(row->schema != NULL ? row->schema : "-");
	for (size_t i = 0; i < row->ncolumns; i++)
		cap += strlen(row->columns[i]) + 1;
	cols = xcalloc(1, cap);
	for (size_t i = 0; i < row->ncolumns; i++) {
		if (i > 0)
			strcat(cols, ",");
		strcat(cols, row->columns[i]);
	}
	r->columns = cols;
	r->nvalues = row->nvalues;
	r->line = row->line;
	r->values = xcalloc(row->nvalues, sizeof(*r->values));
	for (size_t i = 0; i < row->nvalues; i++) {
		char ts[25];
		const char *why;

		if ((int)i == sink->ts_column && row->values[i].kind == PGDUMP_STRING) {
			if (pgdump_timestamp_rfc3339(row->values[i].text, ts, &why) < 0)
				r->values[i] = xasprintf("bad timestamp: %s", why);
			else
				r->values[i] = xasprintf("@%s", ts);
		} else {
			r->values[i] = test_value_repr(&row->values[i]);
		}
	}
	return 0;
}

static int
test_on_setval(void *arg, const struct pgdump_setval *sv, char **err_r)
{
	struct test_sink *sink = arg;
	struct test_setval *s;

	(void)err_r;
	assert_true(sink->nsetvals < TEST_MAX_SETVALS);
	s = &sink->setvals[sink->nsetvals++];
	s->name = sv->schema != NULL ? xasprintf("%s.%s", sv->schema, sv->sequence)
				     : xstrdup(sv->sequence);
	s->value = sv->value;
	s->is_called = sv->is_called;
	s->line = sv->line;
	return 0;
}

static void
test_sink_free(struct test_sink *sink)
{
	for (size_t i = 0; i < sink->nrows; i++) {
		struct test_row *r = &sink->rows[i];

		for (size_t j = 0; j < r->nvalues; j++)
			free(r->values[j]);
		free(r->values);
		free(r->table);
		free(r->schema);
		free(r->columns);
	}
	for (size_t i = 0; i < sink->nsetvals; i++)
		free(sink->setvals[i].name);
	memset(sink, 0, sizeof(*sink));
	sink->ts_column = -1;
}

static int
test_parse(const char *sql, struct test_sink *sink, struct pgdump_stats *st, char **err_r)
{
	static const struct pgdump_callbacks cb = {.row = test_on_row, .setval = test_on_setval};

	return pgdump_parse_cb(sql, strlen(sql), &cb, sink, st, err_r);
}

/* All values of a row joined by '|'. */
static char *
test_row_joined(const struct test_row *r)
{
	size_t cap = 1;
	char *s;

	for (size_t i = 0; i < r->nvalues; i++)
		cap += strlen(r->values[i]) + 1;
	s = xcalloc(1, cap);
	for (size_t i = 0; i < r->nvalues; i++) {
		if (i > 0)
			strcat(s, "|");
		strcat(s, r->values[i]);
	}
	return s;
}

static void
assert_row(const struct test_row *r, const char *table, const char *columns, unsigned line,
    const char *values)
{
	char *joined = test_row_joined(r);

	assert_string_equal(r->table, table);
	assert_string_equal(r->columns, columns);
	assert_int_equal(r->line, line);
	assert_string_equal(joined, values);
	free(joined);
}

static struct test_sink
test_sink_new(void)
{
	struct test_sink sink;

	memset(&sink, 0, sizeof(sink));
	sink.ts_column = -1;
	return sink;
}

/* ---- constructs ---- */

static void
test_plain_inserts(void **state)
{
	const char *sql =
	    "--\n"
	    "-- PostgreSQL database dump\n"
	    "--\n"
	    "\n"
	    "SET statement_timeout = 0;\n"
	    "SET client_encoding = 'UTF8';\n"
	    "SET standard_conforming_strings = on;\n"
	    "SELECT pg_catalog.set_config('search_path', '', false);\n"
	    "SET default_table_access_method = heap;\n"
	    "\n"
	    "INSERT INTO public.users VALUES (1, 'a''b', NULL, true, 12.5, "
	    "'2024-01-01 00:00:00+00');\n"
	    "insert into public.users values (2, 'C:\\dir\\', null, FALSE, -7, '');\n"
	    "INSERT INTO users VALUES (3,'x',NULL,true,0,'y')  ;  -- trailing comment\n";
	struct test_sink sink = test_sink_new();
	struct pgdump_stats st;
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, &st, &err), 0);
	assert_null(err);
	assert_int_equal(sink.nrows, 3);
	assert_row(&sink.rows[0], "users", "", 11,
	    "#1|'a'b'|N|T|#12.5|'2024-01-01 00:00:00+00'");
	assert_string_equal(sink.rows[0].schema, "public");
	assert_row(&sink.rows[1], "users", "", 12, "#2|'C:\\dir\\'|N|F|#-7|''");
	assert_row(&sink.rows[2], "users", "", 13, "#3|'x'|N|T|#0|'y'");
	assert_string_equal(sink.rows[2].schema, "-");
	assert_int_equal(st.statements, 8);
	assert_int_equal(st.skipped_statements, 5);
	assert_int_equal(st.rows, 3);
	test_sink_free(&sink);
}

static void
test_column_inserts_and_identifiers(void **state)
{
	const char *sql =
	    "INSERT INTO public.\"user\" (\"ID\", \"select\", \"we\"\"ird\", Mixed_Case, id) "
	    "VALUES (1, 'from', 'w', true, 2);\n"
	    "INSERT INTO \"My Schema\".\"Tbl\" (a) VALUES ('x');\n"
	    "INSERT INTO db.public.t (a) VALUES (1);\n"
	    "INSERT INTO tablé (ÄÖ) VALUES (1);\n";
	struct test_sink sink = test_sink_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, NULL, &err), 0);
	assert_int_equal(sink.nrows, 4);
	assert_row(&sink.rows[0], "user", "ID,select,we\"ird,mixed_case,id", 1, "#1|'from'|'w'|T|#2");
	assert_row(&sink.rows[1], "Tbl", "a", 2, "'x'");
	assert_string_equal(sink.rows[1].schema, "My Schema");
	assert_row(&sink.rows[2], "t", "a", 3, "#1");
	assert_string_equal(sink.rows[2].schema, "public");
	/* only ASCII letters are folded, as PostgreSQL does for UTF-8 */
	assert_row(&sink.rows[3], "tablé", "ÄÖ", 4, "#1");
	test_sink_free(&sink);
}

static void
test_multi_row_and_clauses(void **state)
{
	const char *sql =
	    "INSERT INTO public.t (id, s) VALUES\n"
	    "\t(1, 'one'),\n"
	    "\t(2, 'two\n"
	    "lines'),\n"
	    "\t(3, NULL);\n"
	    "INSERT INTO public.e (id) OVERRIDING SYSTEM VALUE VALUES (7);\n"
	    "INSERT INTO public.e OVERRIDING USER VALUE VALUES (8), (9) ON CONFLICT DO NOTHING;\n";
	struct test_sink sink = test_sink_new();
	struct pgdump_stats st;
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, &st, &err), 0);
	assert_int_equal(sink.nrows, 6);
	assert_row(&sink.rows[0], "t", "id,s", 2, "#1|'one'");
	assert_row(&sink.rows[1], "t", "id,s", 3, "#2|'two\nlines'");
	assert_row(&sink.rows[2], "t", "id,s", 5, "#3|N");
	assert_row(&sink.rows[3], "e", "id", 6, "#7");
	assert_row(&sink.rows[4], "e", "", 7, "#8");
	assert_row(&sink.rows[5], "e", "", 7, "#9");
	assert_int_equal(st.statements, 3);
	assert_int_equal(st.skipped_statements, 0);
	assert_int_equal(st.rows, 6);
	test_sink_free(&sink);
}

static void
test_strings(void **state)
{
	const char *sql =
	    "INSERT INTO t VALUES ('it''s', '', '''', 'back\\slash\\', 'semi;colon', "
	    "'paren)(', '-- no comment', '/* nor */', 'Zoë ☃ 😀', 'tab\there', 'a\r\nb');\n"
	    "INSERT INTO t VALUES (E'n\\nt\\t\\\\ \\'q\\' ''q''', E'\\x41\\x4a\\x7e\\xz', "
	    "e'\\101\\7\\1010', E'\\u00e9\\U0001F600\\uD83D\\uDE00', E'\\b\\f\\r\\q\\\"', "
	    "E'multi\nline', 'after');\n";
	struct test_sink sink = test_sink_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, NULL, &err), 0);
	assert_null(err);
	assert_int_equal(sink.nrows, 2);
	assert_row(&sink.rows[0], "t", "", 1,
	    "'it's'|''|'''|'back\\slash\\'|'semi;colon'|'paren)('|'-- no comment'|'/* nor */'|"
	    "'Zoë ☃ 😀'|'tab\there'|'a\r\nb'");
	assert_row(&sink.rows[1], "t", "", 3, /* 'a\r\nb' spans two lines */
	    "'n\nt\t\\ 'q' 'q''|'AJ~xz'|'A\a" "A0'|'é😀😀'|'\b\f\rq\"'|'multi\nline'|'after'");
	test_sink_free(&sink);
}

static void
test_standard_conforming_strings_off(void **state)
{
	const char *sql =
	    "SET standard_conforming_strings = off;\n"
	    "INSERT INTO t VALUES ('a\\nb', 'it\\'s');\n"
	    "SET standard_conforming_strings TO 'on';\n"
	    "INSERT INTO t VALUES ('a\\nb');\n";
	struct test_sink sink = test_sink_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, NULL, &err), 0);
	assert_int_equal(sink.nrows, 2);
	assert_row(&sink.rows[0], "t", "", 2, "'a\nb'|'it's'");
	assert_row(&sink.rows[1], "t", "", 4, "'a\\nb'");
	test_sink_free(&sink);
}

static void
test_numbers(void **state)
{
	const char *sql = "INSERT INTO t VALUES (0, -5, +3, 12.50, -0.005, .5, 1e+30, -1.5E-7, "
			  "9223372036854775807, -9223372036854775808, 7., - 4, 'NaN', '-Infinity');\n";
	struct test_sink sink = test_sink_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, NULL, &err), 0);
	assert_int_equal(sink.nrows, 1);
	assert_row(&sink.rows[0], "t", "", 1,
	    "#0|#-5|#+3|#12.50|#-0.005|#.5|#1e+30|#-1.5E-7|#9223372036854775807|"
	    "#-9223372036854775808|#7.|#-4|'NaN'|'-Infinity'");
	test_sink_free(&sink);
}

static void
test_casts_and_bits(void **state)
{
	const char *sql =
	    "INSERT INTO t VALUES ('{\"a\": 1}'::jsonb, 'x'::character varying(10), "
	    "'{a,b}'::text[], '1'::pg_catalog.int4, NULL::text, 'y'::\"MyType\", "
	    "'2024-01-01 00:00:00+00'::timestamp with time zone, 'z' :: text :: jsonb, "
	    "'1.5'::numeric(10,2), true::boolean, -2::bigint, '{}'::int[3][], B'1010', b'');\n";
	struct test_sink sink = test_sink_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, NULL, &err), 0);
	assert_null(err);
	assert_int_equal(sink.nrows, 1);
	assert_row(&sink.rows[0], "t", "", 1,
	    "'{\"a\": 1}'|'x'|'{a,b}'|'1'|N|'y'|'2024-01-01 00:00:00+00'|'z'|'1.5'|T|#-2|'{}'|"
	    "'1010'|''");
	test_sink_free(&sink);
}

static void
test_setval_and_skipped_statements(void **state)
{
	const char *sql =
	    "\\restrict abcDEF123\n"
	    "BEGIN;\n"
	    "ALTER TABLE public.users DISABLE TRIGGER ALL;\n"
	    "SELECT pg_catalog.setval('public.users_id_seq', 42, true);\n"
	    "SELECT pg_catalog.setval('public.\"User_Id_Seq\"', 1, false);\n"
	    "SELECT setval('Plain_seq', -9);\n"
	    "SELECT pg_catalog.lo_open('16393', 131072);\n"
	    "ALTER TABLE ONLY public.users ENABLE TRIGGER ALL;\n"
	    "COMMIT;\n"
	    ";\n"
	    "/* block /* nested */ comment */\n"
	    "\\unrestrict abcDEF123\n";
	struct test_sink sink = test_sink_new();
	struct pgdump_stats st;
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, &st, &err), 0);
	assert_null(err);
	assert_int_equal(sink.nrows, 0);
	assert_int_equal(sink.nsetvals, 3);
	assert_string_equal(sink.setvals[0].name, "public.users_id_seq");
	assert_int_equal(sink.setvals[0].value, 42);
	assert_true(sink.setvals[0].is_called);
	assert_int_equal(sink.setvals[0].line, 4);
	assert_string_equal(sink.setvals[1].name, "public.User_Id_Seq");
	assert_int_equal(sink.setvals[1].value, 1);
	assert_false(sink.setvals[1].is_called);
	assert_string_equal(sink.setvals[2].name, "plain_seq");
	assert_int_equal(sink.setvals[2].value, -9);
	assert_true(sink.setvals[2].is_called);
	assert_int_equal(st.statements, 10);
	assert_int_equal(st.skipped_statements, 10);
	assert_int_equal(st.rows, 0);
	test_sink_free(&sink);
}

static void
test_no_callbacks_and_empty_input(void **state)
{
	struct pgdump_stats st;
	char *err = NULL;
	const char *sql = "INSERT INTO t VALUES (1), (2);\n";

	(void)state;
	assert_int_equal(pgdump_parse(sql, strlen(sql), NULL, NULL, &st, &err), 0);
	assert_int_equal(st.rows, 2);
	assert_int_equal(pgdump_parse("", 0, NULL, NULL, &st, &err), 0);
	assert_int_equal(st.statements, 0);
	assert_int_equal(pgdump_parse("  -- only a comment", 19, NULL, NULL, NULL, NULL), 0);
	/* not NUL-terminated: the parser must stop at len */
	assert_int_equal(pgdump_parse("SET a = 1;garbage", 10, NULL, NULL, &st, &err), 0);
	assert_int_equal(st.statements, 1);
}

static void
test_callback_stops_parse(void **state)
{
	const char *sql =
	    "INSERT INTO t VALUES (1);\n"
	    "INSERT INTO t VALUES\n"
	    " (2),\n"
	    " (3);\n";
	struct test_sink sink = test_sink_new();
	struct pgdump_stats st;
	char *err = NULL;

	(void)state;
	sink.stop_at = 3;
	sink.stop_msg = "users: duplicate key";
	assert_int_equal(test_parse(sql, &sink, &st, &err), -1);
	assert_string_equal(err, "line 4: users: duplicate key");
	assert_int_equal(sink.nrows, 2);
	assert_int_equal(st.rows, 2);
	free(err);
	test_sink_free(&sink);

	sink.stop_at = 1;
	assert_int_equal(test_parse(sql, &sink, &st, &err), -1);
	assert_string_equal(err, "line 1: stopped by callback");
	free(err);
	test_sink_free(&sink);
}

/* ---- errors ---- */

struct test_error_case {
	const char *sql;
	size_t len; /* 0: strlen */
	const char *err;
	size_t rows; /* rows delivered before the failure */
};

static void
test_errors(void **state)
{
	static const struct test_error_case cases[] = {
	    {"SET a = 1;\n\nCOPY public.users (id) FROM stdin;\n1\n\\.\n", 0,
		"line 3: COPY is not supported: dump with pg_dump --data-only --inserts "
		"(or --column-inserts)", 0},
	    {"INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2, 'open\n\n", 0,
		"line 2: unterminated string literal", 1},
	    {"INSERT INTO t VALUES (E'ends in backslash\\", 0,
		"line 1: unterminated string literal", 0},
	    {"INSERT INTO t VALUES (E'it\\'s);\n", 0, "line 1: unterminated string literal", 0},
	    {"INSERT INTO \"t VALUES (1);\n", 0, "line 1: unterminated quoted identifier", 0},
	    {"\n/* open /* nested */\nINSERT INTO t VALUES (1);\n", 0,
		"line 2: unterminated /* comment", 0},
	    {"INSERT INTO t VALUES (1, @);\n", 0, "line 1: expected a value, found '@'", 0},
	    {"INSERT INTO t VALUES (1,\n now());\n", 0,
		"line 2: unexpected 'now' in VALUES (only literals are supported)", 0},
	    {"INSERT INTO t VALUES (DEFAULT);\n", 0, "line 1: DEFAULT values are not supported", 0},
	    {"INSERT INTO t VALUES (1,);\n", 0, "line 1: expected a value, found ')'", 0},
	    {"INSERT INTO t VALUES ();\n", 0, "line 1: INSERT INTO t: empty VALUES row", 0},
	    {"INSERT INTO t VALUES (1 2);\n", 0,
		"line 1: expected ',' or ')' in VALUES, found '2'", 0},
	    {"INSERT INTO t (a, b) VALUES (1);\n", 0,
		"line 1: INSERT INTO t: row has 1 values for 2 columns", 0},
	    {"INSERT INTO t (a) VALUES\n (1),\n (2, 3);\n", 0,
		"line 3: INSERT INTO t: row has 2 values for 1 columns", 0},
	    {"INSERT INTO t VALUES (1, 2),\n (3);\n", 0,
		"line 2: INSERT INTO t: row has 1 values, the first row of the statement has 2", 0},
	    {"INSERT INTO t (a, \"b\", A) VALUES (1, 2, 3);\n", 0,
		"line 1: INSERT INTO t: column \"a\" specified more than once", 0},
	    {"SET a = 1;\nINSERT\0 INTO t VALUES (1);\n", 36, "line 2: NUL byte in input", 0},
	    {"INSERT INTO t VALUES (1);\nCREATE TABLE t (a int);\n", 0,
		"line 2: unsupported statement 'CREATE' (a data-only dump has only SET, SELECT "
		"and INSERT)", 1},
	    {"INSERT INTO t VALUES (1)", 0,
		"line 1: unterminated INSERT statement (missing ';')", 0},
	    {"INSERT INTO t VALUES (1)\nINSERT INTO t VALUES (2);\n", 0,
		"line 2: expected ',' or ';' after a VALUES row, found 'INSERT'", 0},
	    {"SET search_path = public", 0, "line 1: unterminated SET statement (missing ';')", 0},
	    {"SELECT pg_catalog.set_config('search_path', '', false)\n", 0,
		"line 1: unterminated SELECT statement (missing ';')", 0},
	    {"INSERT INTO t VALUES (12abc);\n", 0, "line 1: trailing junk after numeric literal", 0},
	    {"INSERT INTO t VALUES (1e);\n", 0, "line 1: trailing junk after numeric literal", 0},
	    {"INSERT INTO t VALUES (- 'x');\n", 0,
		"line 1: expected a number after the sign, found a string", 0},
	    {"INSERT INTO t VALUES ('\xff\xfe');\n", 0, "line 1: invalid UTF-8 in string literal", 0},
	    {"INSERT INTO t VALUES ('\xed\xa0\x80');\n", 0,
		"line 1: invalid UTF-8 in string literal", 0},
	    {"INSERT INTO t VALUES (E'\\xc3');\n", 0, "line 1: invalid UTF-8 in string literal", 0},
	    {"INSERT INTO t\xe9 VALUES (1);\n", 0, "line 1: invalid UTF-8 in identifier", 0},
	    {"INSERT INTO \"t\xe9\" VALUES (1);\n", 0, "line 1: invalid UTF-8 in identifier", 0},
	    {"INSERT INTO t VALUES (E'a\\x00b');\n", 0, "line 1: NUL byte in string literal", 0},
	    {"INSERT INTO t VALUES (E'a\\000b');\n", 0, "line 1: NUL byte in string literal", 0},
	    {"INSERT INTO t VALUES (E'\\u0000');\n", 0,
		"line 1: invalid Unicode escape value in string literal", 0},
	    {"INSERT INTO t VALUES (E'\\u12');\n", 0,
		"line 1: invalid Unicode escape in string literal", 0},
	    {"INSERT INTO t VALUES (E'\\uD800x');\n", 0,
		"line 1: invalid Unicode surrogate pair in string literal", 0},
	    {"INSERT INTO t VALUES (E'\\uDC00');\n", 0,
		"line 1: invalid Unicode surrogate pair in string literal", 0},
	    {"INSERT INTO t VALUES (E'\\U00110000');\n", 0,
		"line 1: invalid Unicode escape value in string literal", 0},
	    {"INSERT INTO t VALUES (B'102');\n", 0, "line 1: bad bit string literal", 0},
	    {"INSERT INTO \"\" VALUES (1);\n", 0, "line 1: zero-length quoted identifier", 0},
	    {"INSERT INTO a.b.c.d VALUES (1);\n", 0,
		"line 1: improper qualified name (too many dotted names)", 0},
	    {"INSERT INTO t SELECT 1;\n", 0, "line 1: expected VALUES, found 'SELECT'", 0},
	    {"INSERT t VALUES (1);\n", 0, "line 1: expected INTO, found 't'", 0},
	    {"INSERT INTO t VALUES 1;\n", 0,
		"line 1: expected '(' to start a VALUES row, found '1'", 0},
	    {"INSERT INTO t VALUES ('x'::);\n", 0, "line 1: expected a type name after '::'", 0},
	    {"INSERT INTO t VALUES ('x'::numeric(a));\n", 0,
		"line 1: expected a type modifier, found 'a'", 0},
	    {"INSERT INTO t OVERRIDING VALUE VALUES (1);\n", 0,
		"line 1: expected SYSTEM or USER, found 'VALUE'", 0},
	    {"INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE;\n", 0,
		"line 1: expected NOTHING, found 'UPDATE'", 0},
	    {"SET client_encoding = 'LATIN1';\n", 0,
		"line 1: client_encoding LATIN1 is not supported: dump with --encoding=UTF8", 0},
	    {"SET standard_conforming_strings = maybe;\n", 0,
		"line 1: bad value for standard_conforming_strings", 0},
	    {"\\connect kubarr\n", 0, "line 1: unsupported psql meta-command \\connect", 0},
	    {"ALTER TABLE t ADD COLUMN b int;\n", 0,
		"line 1: unsupported ALTER TABLE (only DISABLE/ENABLE TRIGGER ALL is accepted)", 0},
	    {"SELECT pg_catalog.setval('s', 'x', true);\n", 0,
		"line 1: expected an integer sequence value, found a string", 0},
	    {"SELECT pg_catalog.setval('s', 99999999999999999999, true);\n", 0,
		"line 1: bad sequence value 99999999999999999999", 0},
	    {"SELECT pg_catalog.setval('a b', 1, true);\n", 0,
		"line 1: bad sequence name in setval", 0},
	    {"\n(1);\n", 0, "line 2: expected a statement, found '('", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct test_error_case *c = &cases[i];
		static const struct pgdump_callbacks cb = {.row = test_on_row,
		    .setval = test_on_setval};
		struct test_sink sink = test_sink_new();
		struct pgdump_stats st;
		char *err = NULL;
		int rc;

		rc = pgdump_parse_cb(c->sql, c->len ? c->len : strlen(c->sql), &cb, &sink, &st, &err);
		if (rc != -1 || err == NULL || strcmp(err, c->err) != 0 || sink.nrows != c->rows)
			print_error("case %zu: rc %d, %zu rows, err \"%s\"\n", i, rc, sink.nrows,
			    err != NULL ? err : "(null)");
		assert_int_equal(rc, -1);
		assert_non_null(err);
		assert_string_equal(err, c->err);
		assert_int_equal(sink.nrows, c->rows);
		assert_int_equal(st.rows, c->rows);
		free(err);
		test_sink_free(&sink);
	}
}

static void
test_error_line_after_multiline_values(void **state)
{
	const char *sql =
	    "INSERT INTO t VALUES ('a\nb\nc', E'd\\ne\n');\n"
	    "-- comment\n"
	    "INSERT INTO \"x\ny\" VALUES (1);\n"
	    "/* a\nb */ INSERT INTO t VALUES (1, ?);\n";
	struct test_sink sink = test_sink_new();
	char *err = NULL;

	(void)state;
	assert_int_equal(test_parse(sql, &sink, NULL, &err), -1);
	assert_string_equal(err, "line 9: expected a value, found '?'");
	assert_int_equal(sink.nrows, 2);
	assert_string_equal(sink.rows[1].table, "x\ny");
	assert_int_equal(sink.rows[1].line, 7);
	free(err);
	test_sink_free(&sink);
}

/* ---- conversions ---- */

static void
test_timestamp_conversions(void **state)
{
	static const char *const ok[][2] = {
	    {"2024-01-31 23:59:59.123456+02", "2024-01-31T21:59:59.123Z"},
	    {"2024-03-01 05:30:00+05:30", "2024-03-01T00:00:00.000Z"},
	    {"2024-02-29 12:00:00-07", "2024-02-29T19:00:00.000Z"},
	    {"2024-01-01 00:00:00", "2024-01-01T00:00:00.000Z"},
	    {"2024-01-01 00:00:00+00", "2024-01-01T00:00:00.000Z"},
	    {"2024-01-01 00:00:00-00", "2024-01-01T00:00:00.000Z"},
	    {"1970-01-01 00:00:00+00", "1970-01-01T00:00:00.000Z"},
	    /* fractions: truncated to milliseconds, never rounded up */
	    {"2024-12-31 23:59:59.9999+00", "2024-12-31T23:59:59.999Z"},
	    {"2024-12-31 23:59:59.999999", "2024-12-31T23:59:59.999Z"},
	    {"2024-06-01 10:00:00.5+00", "2024-06-01T10:00:00.500Z"},
	    {"2024-06-01 10:00:00.12+00", "2024-06-01T10:00:00.120Z"},
	    {"2024-06-01 10:00:00.0019+00", "2024-06-01T10:00:00.001Z"},
	    /* leap days and crossing them */
	    {"2024-02-29 23:30:00-01", "2024-03-01T00:30:00.000Z"},
	    {"2024-03-01 00:30:00+01", "2024-02-29T23:30:00.000Z"},
	    {"2023-03-01 00:30:00+01", "2023-02-28T23:30:00.000Z"},
	    {"2000-02-29 12:00:00+00", "2000-02-29T12:00:00.000Z"},
	    {"2024-12-31 23:00:00-01", "2025-01-01T00:00:00.000Z"},
	    {"2025-01-01 00:59:59.001+01", "2024-12-31T23:59:59.001Z"},
	    /* local mean time offsets with seconds, as pg_dump writes pre-1900 times */
	    {"1890-06-15 13:21:10+05:21:10", "1890-06-15T08:00:00.000Z"},
	    {"1890-06-15 04:29:08-03:30:52", "1890-06-15T08:00:00.000Z"},
	    {"1969-12-31 23:59:59.999-00:00:01", "1970-01-01T00:00:00.999Z"},
	    {"2024-01-01 00:00:00+15:59:59", "2023-12-31T08:00:01.000Z"},
	    /* range edges */
	    {"0001-01-01 00:00:00+00", "0001-01-01T00:00:00.000Z"},
	    {"9999-12-31 23:59:59.999+00", "9999-12-31T23:59:59.999Z"},
	    {"10000-01-01 05:29:59.999+05:30", "9999-12-31T23:59:59.999Z"},
	};
	static const char *const bad[][2] = {
	    {"infinity", "infinite timestamps cannot be converted"},
	    {"-infinity", "infinite timestamps cannot be converted"},
	    {"2023-02-29 00:00:00+00", "day out of range"},
	    {"1900-02-29 00:00:00+00", "day out of range"},
	    {"2024-02-30 00:00:00+00", "day out of range"},
	    {"2024-04-31 00:00:00+00", "day out of range"},
	    {"2024-01-00 00:00:00+00", "day out of range"},
	    {"2024-13-01 00:00:00+00", "month out of range"},
	    {"2024-00-10 00:00:00+00", "month out of range"},
	    {"2024-01-01 24:00:00+00", "time out of range"},
	    {"2024-01-01 23:60:00+00", "time out of range"},
	    {"2016-12-31 23:59:60+00", "time out of range"},
	    {"2024-01-01 00:00:00+16", "time zone offset out of range"},
	    {"2024-01-01 00:00:00+05:60", "time zone offset out of range"},
	    {"0001-01-01 00:00:00+01", "year out of range (0001..9999 in UTC)"},
	    {"9999-12-31 23:00:00-01", "year out of range (0001..9999 in UTC)"},
	    {"0000-06-01 00:00:00+00", "year out of range (0001..9999 in UTC)"},
	    {"0044-03-15 12:00:00+00 BC", "BC dates are not supported"},
	    {"2024-01-01T00:00:00Z", "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff]"
				     "[+HH[:MM[:SS]]])"},
	    {"", "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]])"},
	    {"2024-1-01 00:00:00", "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff]"
				   "[+HH[:MM[:SS]]])"},
	    {"24-01-01 00:00:00", "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff]"
				  "[+HH[:MM[:SS]]])"},
	    {"2024-01-01 00:00", "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff]"
				 "[+HH[:MM[:SS]]])"},
	    {"2024-01-01 00:00:00.", "not a timestamp (empty fraction)"},
	    {"2024-01-01 00:00:00+5", "not a timestamp (bad time zone offset)"},
	    {"2024-01-01 00:00:00+05:3", "not a timestamp (bad time zone offset)"},
	    {"2024-01-01 00:00:00+00 ", "not a timestamp (trailing characters)"},
	    {"2024-01-01 00:00:00 UTC", "not a timestamp (trailing characters)"},
	    {"2024-01-01 00:00:00+0530", "not a timestamp (trailing characters)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[25];
		const char *why = NULL;

		memset(out, 'x', sizeof(out));
		if (pgdump_timestamp_rfc3339(ok[i][0], out, &why) != 0)
			print_error("%s: %s\n", ok[i][0], why);
		assert_int_equal(pgdump_timestamp_rfc3339(ok[i][0], out, &why), 0);
		assert_string_equal(out, ok[i][1]);
		assert_int_equal(strlen(out), 24);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[25];
		const char *why = NULL;

		if (pgdump_timestamp_rfc3339(bad[i][0], out, &why) != -1)
			print_error("accepted %s\n", bad[i][0]);
		assert_int_equal(pgdump_timestamp_rfc3339(bad[i][0], out, &why), -1);
		assert_non_null(why);
		assert_string_equal(why, bad[i][1]);
	}
}

static void
test_bool_literals(void **state)
{
	static const char *const yes[] = {"t", "true", "TRUE", "True", "tr", "y", "yes", "YeS",
	    "on", "ON", "1", " t ", "\ttrue\n"};
	static const char *const no[] = {"f", "false", "FALSE", "fa", "n", "no", "NO", "off", "of",
	    "OFF", "0"};
	static const char *const neither[] = {"", " ", "o", "tru e", "truee", "yess", "onn", "2",
	    "01", "-1", "null", "x", "offf"};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		bool b = false;

		assert_int_equal(pgdump_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		bool b = true;

		assert_int_equal(pgdump_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(neither) / sizeof(neither[0]); i++) {
		bool b = true;

		if (pgdump_parse_bool(neither[i], &b) != -1)
			print_error("accepted \"%s\"\n", neither[i]);
		assert_int_equal(pgdump_parse_bool(neither[i], &b), -1);
	}
}

/* ---- real pg_dump output ---- */

static char *
test_read_fixture(const char *name, size_t *len_r)
{
	char *path = xasprintf("%s/%s", PGDUMP_FIXTURE_DIR, name);
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[8192];

	if (f == NULL)
		fail_msg("cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = xrealloc(buf, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	free(path);
	assert_non_null(buf);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

static const char *const test_users_columns =
    "id,username,email,hashed_password,is_active,totp_secret,created_at,score,big,ratio,details,"
    "note";
/* The rows of pgdump_source.sql, created_at converted to UTC. */
static const char *const test_users_rows[5][12] = {
    {"#1", "'alice'", "'alice@example.com'",
	"'$2b$12$KIXQJ9Jq0m1QvYb8FQm3UeY5H0f0hQv7C0p1rXo1yWm5m8s8Yc6yS'", "T", "N",
	"@2024-01-31T21:59:59.123Z", "#12.5", "#9223372036854775807", "#0.1",
	"'{\"a\": \"b\\\"c\", \"n\": [1, 2.5, null], \"u\": \"Zoë ☃\"}'", "'plain'"},
    {"#2", "'o'brien'", "N", "'$2b$12$abcdefghijklmnopqrstuv'", "F", "'JBSWY3DPEHPK3PXP'",
	"@2024-02-29T19:00:00.000Z", "#-0.005", "#-9223372036854775808", "#-1.5e+30", "'[]'",
	"'it's a \\backslash\\ and a 'quote''"},
    {"#3", "'multi\nline'", "'tab\there'", "'$2y$10$xyz'", "T", "''",
	"@2024-03-01T00:00:00.999Z", "#0", "#0", "'NaN'", "N", "'line1\nline2\r\nline3\ttabbed'"},
    {"#4", "'unicode 😀 Ωμέγα'", "'C:\\path\\to\\file'", "'x'", "F", "N",
	"@1890-06-15T08:00:00.000Z", "N", "#42", "'-Infinity'",
	"'{\"nested\": {\"k\": \"v\\\\w\"}}'", "'\\x00 is not a NUL here'"},
    {"#5", "'edge'", "''", "'x'", "T", "N", "@9999-12-31T23:59:59.999Z", "#0.0000001", "#-1",
	"'Infinity'", "'null'", "'-- not a comment; /* nor this */ INSERT INTO x VALUES (1);'"},
};
static const char *const test_user_rows[3][4] = {
    {"#1", "'from'", "'we\"ird value'", "T"},
    {"#2", "N", "''", "F"},
    {"#-3", "'semi;colon'", "'paren)('", "N"},
};
static const char *const test_events_rows[2][5] = {
    {"#1", "'{a,\"b c\",\"d\\\"e\"}'", "'\\x00ff'", "'1010'", "@2024-01-01T00:00:00.000Z"},
    {"#2", "N", "N", "N", "N"},
};

struct test_fixture {
	const char *file;
	bool column_inserts;
	unsigned events_lines[2], user_lines[3], users_lines[5];
	unsigned long statements;
};

/* Parses a fixture table by table (ts_column differs per table) and checks
 * every value of every row. */
static void
test_check_fixture(const struct test_fixture *fx)
{
	static const struct pgdump_callbacks cb = {.row = test_on_row, .setval = test_on_setval};
	struct test_sink sink = test_sink_new();
	struct pgdump_stats st;
	char *err = NULL;
	size_t len;
	char *buf = test_read_fixture(fx->file, &len);

	/* users.created_at is column 6, events.at column 4: convert both */
	for (int pass = 0; pass < 2; pass++) {
		size_t nusers = 0, nuser = 0, nevents = 0;

		sink.ts_column = pass == 0 ? 6 : 4;
		assert_int_equal(pgdump_parse_cb(buf, len, &cb, &sink, &st, &err), 0);
		assert_null(err);
		assert_int_equal(st.rows, 10);
		assert_int_equal(st.statements, fx->statements);
		assert_int_equal(st.skipped_statements, 14);
		assert_int_equal(sink.nrows, 10);
		assert_int_equal(sink.nsetvals, 2);
		assert_string_equal(sink.setvals[0].name, "public.events_id_seq");
		assert_int_equal(sink.setvals[0].value, 2);
		assert_true(sink.setvals[0].is_called);
		assert_string_equal(sink.setvals[1].name, "public.users_id_seq");
		assert_int_equal(sink.setvals[1].value, 5);
		for (size_t i = 0; i < sink.nrows; i++) {
			const struct test_row *r = &sink.rows[i];
			const char *const *want;
			const char *cols;
			size_t n;
			unsigned line;

			assert_string_equal(r->schema, "public");
			if (strcmp(r->table, "users") == 0) {
				if (pass != 0)
					continue;
				assert_true(nusers < 5);
				want = test_users_rows[nusers];
				n = 12;
				cols = test_users_columns;
				line = fx->users_lines[nusers++];
			} else if (strcmp(r->table, "user") == 0) {
				assert_true(nuser < 3);
				want = test_user_rows[nuser];
				n = 4;
				cols = "ID,select,we\"ird,Mixed Case";
				line = fx->user_lines[nuser++];
			} else {
				assert_string_equal(r->table, "events");
				if (pass != 1)
					continue;
				assert_true(nevents < 2);
				want = test_events_rows[nevents];
				n = 5;
				cols = "id,tags,payload,flags,at";
				line = fx->events_lines[nevents++];
			}
			assert_string_equal(r->columns, fx->column_inserts ? cols : "");
			assert_int_equal(r->line, line);
			assert_int_equal(r->nvalues, n);
			for (size_t j = 0; j < n; j++) {
				if (strcmp(r->values[j], want[j]) != 0)
					print_error("%s row %zu column %zu\n", r->table, i, j);
				assert_string_equal(r->values[j], want[j]);
			}
		}
		assert_int_equal(nuser, 3);
		assert_int_equal(pass == 0 ? nusers : nevents, pass == 0 ? 5 : 2);
		test_sink_free(&sink);
	}
	free(buf);
}

static void
test_real_dump_inserts(void **state)
{
	static const struct test_fixture fx = {
	    .file = "pgdump_inserts.sql",
	    .events_lines = {25, 26},
	    .user_lines = {33, 34, 35},
	    .users_lines = {42, 43, 44, 48, 49},
	    .statements = 24,
	};

	(void)state;
	test_check_fixture(&fx);
}

static void
test_real_dump_column_inserts(void **state)
{
	static const struct test_fixture fx = {
	    .file = "pgdump_column_inserts.sql",
	    .column_inserts = true,
	    .events_lines = {26, 27},
	    .user_lines = {35, 36, 38},
	    .users_lines = {46, 47, 49, 53, 55},
	    .statements = 20,
	};

	(void)state;
	test_check_fixture(&fx);
}

/* Every prefix of a real dump either parses or fails with a "line N: "
 * message, and the rows it delivers are exactly the first rows of the whole
 * dump: a cut never yields a half-parsed or shortened row. */
static void
test_real_dump_truncated(void **state)
{
	static const struct pgdump_callbacks cb = {.row = test_on_row};
	struct test_sink full = test_sink_new();
	size_t len;
	char *buf = test_read_fixture("pgdump_column_inserts.sql", &len);
	char *err = NULL;

	(void)state;
	assert_int_equal(pgdump_parse_cb(buf, len, &cb, &full, NULL, &err), 0);
	assert_int_equal(full.nrows, 10);
	for (size_t cut = 0; cut < len; cut++) {
		struct test_sink sink = test_sink_new();
		char *copy = xmalloc(cut + 1);
		int rc;

		memcpy(copy, buf, cut);
		rc = pgdump_parse_cb(copy, cut, &cb, &sink, NULL, &err);
		if (rc != 0) {
			assert_non_null(err);
			assert_memory_equal(err, "line ", 5);
		}
		assert_true(sink.nrows <= full.nrows);
		for (size_t i = 0; i < sink.nrows; i++) {
			char *a = test_row_joined(&sink.rows[i]), *b = test_row_joined(&full.rows[i]);

			assert_string_equal(a, b);
			assert_int_equal(sink.rows[i].line, full.rows[i].line);
			free(a);
			free(b);
		}
		free(err);
		err = NULL;
		free(copy);
		test_sink_free(&sink);
	}
	test_sink_free(&full);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_inserts),
	    cmocka_unit_test(test_column_inserts_and_identifiers),
	    cmocka_unit_test(test_multi_row_and_clauses),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_standard_conforming_strings_off),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_casts_and_bits),
	    cmocka_unit_test(test_setval_and_skipped_statements),
	    cmocka_unit_test(test_no_callbacks_and_empty_input),
	    cmocka_unit_test(test_callback_stops_parse),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_line_after_multiline_values),
	    cmocka_unit_test(test_timestamp_conversions),
	    cmocka_unit_test(test_bool_literals),
	    cmocka_unit_test(test_real_dump_inserts),
	    cmocka_unit_test(test_real_dump_column_inserts),
	    cmocka_unit_test(test_real_dump_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
