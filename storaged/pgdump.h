/* pgdump: a parser for the plain-text output of PostgreSQL 15
 * `pg_dump --data-only --inserts` (or `--column-inserts`, with or without
 * `--rows-per-insert=N`), and the value conversions the importer needs.
 * Pure parsing: no SQLite, no I/O.
 *
 * Accepted statements, exactly as pg_dump writes them:
 *   -- and nested block comments, blank lines;
 *   \restrict KEY / \unrestrict KEY (psql meta-commands, pg_dump >= 15.14);
 *   SET name = value;  (standard_conforming_strings = off makes '...' an
 *                       escape string; client_encoding must be UTF8);
 *   SELECT ...;        (skipped; pg_catalog.setval is reported, see below);
 *   BEGIN; COMMIT; ALTER TABLE ... DISABLE|ENABLE TRIGGER ALL;  (skipped;
 *                       pg_dump --disable-triggers and large objects emit them);
 *   INSERT INTO [schema.]table [(col, ...)] [OVERRIDING SYSTEM|USER VALUE]
 *       VALUES (v, ...)[, (v, ...)]... [ON CONFLICT DO NOTHING];
 * Values: NULL, TRUE/FALSE, numbers with an optional sign, '...' (with ''),
 * E'...' (\b \f \n \r \t \ooo \xHH \uXXXX \UXXXXXXXX, \c for any other c),
 * B'0101' bit strings (as the string "0101"), each optionally followed by
 * casts ('{}'::jsonb, 'x'::character varying(10)[]), which are dropped.
 * COPY is refused (dump with --inserts); anything else is an error.
 *
 * Strings must be valid UTF-8 without NUL bytes.  Unquoted identifiers are
 * folded to lower case, quoted ones kept as written (without the quotes).
 *
 * Ownership: every pointer in a row or setval passed to a callback lives in
 * a per-statement arena freed after the statement; copy what must outlive
 * the callback.  The rows of one INSERT are delivered only after the whole
 * statement has parsed, so a callback never sees a row of a broken statement
 * (rows of the statements before it have been delivered). */
#ifndef KUBARR_PGDUMP_H
#define KUBARR_PGDUMP_H

#include <stdbool.h>
#include <stddef.h>

enum pgdump_kind { PGDUMP_NULL, PGDUMP_STRING, PGDUMP_NUMBER, PGDUMP_BOOL };

struct pgdump_value {
	enum pgdump_kind kind;
	/* STRING: decoded bytes; NUMBER: as written, e.g. "-12.50", "1e+30";
	 * NUL-terminated for both, NULL for NULL and BOOL. */
	const char *text;
	size_t len;
	bool b; /* BOOL only */
};

struct pgdump_row {
	const char *schema; /* "public", or NULL when the name is unqualified */
	const char *table;  /* without schema, e.g. "users" */
	const char *const *columns;
	size_t ncolumns; /* 0 when the INSERT has no column list */
	const struct pgdump_value *values;
	size_t nvalues; /* == ncolumns when ncolumns != 0 */
	unsigned line;  /* line of the row's opening parenthesis */
};

/* SELECT pg_catalog.setval('schema.seq', value, is_called); */
struct pgdump_setval {
	const char *schema; /* NULL when unqualified */
	const char *sequence;
	long long value;
	bool is_called;
	unsigned line;
};

/* A callback returns 0 to go on; non-zero stops the parse, which then fails
 * with "line N: " followed by the message the callback put in *err_r (which
 * the parser frees), or "stopped by callback" when it left it NULL. */
typedef int (*pgdump_row_fn)(void *arg, const struct pgdump_row *row, char **err_r);
typedef int (*pgdump_setval_fn)(void *arg, const struct pgdump_setval *sv, char **err_r);

struct pgdump_callbacks {
	pgdump_row_fn row;	 /* may be NULL */
	pgdump_setval_fn setval; /* may be NULL */
};

struct pgdump_stats {
	unsigned long statements;	  /* every statement, meta-commands included */
	unsigned long rows;		  /* rows delivered */
	unsigned long skipped_statements; /* everything but INSERT */
};

/* Parses the whole buffer (need not be NUL-terminated) and calls fn for every
 * row of every INSERT.  st (may be NULL) is zeroed first and counts what was
 * done, also on failure.  Returns 0, or -1 with "line N: reason" in *err_r
 * (malloc'd; err_r may be NULL). */
int pgdump_parse(const char *buf, size_t len, pgdump_row_fn fn, void *arg,
    struct pgdump_stats *st, char **err_r);
/* The same, with a callback for sequence values too. */
int pgdump_parse_cb(const char *buf, size_t len, const struct pgdump_callbacks *cb, void *arg,
    struct pgdump_stats *st, char **err_r);

/* PostgreSQL timestamptz text (DateStyle ISO), e.g. '2024-01-31 23:59:59.123456+02',
 * zones +HH, +HH:MM, +HH:MM:SS (local mean time), or no zone (taken as UTC),
 * -> '2024-01-31T21:59:59.123Z': RFC 3339 in UTC, always milliseconds, fixed
 * width, NUL-terminated.  Extra fraction digits are truncated, not rounded,
 * so a value never moves to the next second (or day).  The result must fall in
 * years 0001..9999 (years > 9999 are accepted when the zone brings them back).
 * Returns -1 with a static reason on anything else: 'infinity', BC dates,
 * Feb 30, 24:00:00, leap seconds, offsets beyond +-15:59:59, junk. */
int pgdump_timestamp_rfc3339(const char *in, char out[25], const char **err_r);

/* PostgreSQL boolean input: t/true/y/yes/on/1 and f/false/n/no/off/0, any case,
 * unique prefixes ("tr", "fa", "of"), surrounding spaces ignored, as boolin().
 * Returns 0 and *b_r, or -1. */
int pgdump_parse_bool(const char *in, bool *b_r);

#endif
