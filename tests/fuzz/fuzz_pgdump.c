/* Fuzz target for storaged/pgdump: the dump parser on the whole input, and
 * the timestamp and boolean conversions on every string it decodes (and on
 * the first line of the input), checking the invariants the importer relies
 * on: NUL-terminated values of the stated length, as many values as columns,
 * an error of the form "line N: ..." whenever the parse fails. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pgdump.h"

static void
fuzz_pgdump_check(bool ok)
{
	if (!ok)
		abort();
}

static void
fuzz_pgdump_convert(const char *s)
{
	char out[25];
	const char *why = NULL;
	bool b;

	if (pgdump_timestamp_rfc3339(s, out, &why) == 0) {
		fuzz_pgdump_check(strlen(out) == 24 && out[10] == 'T' && out[23] == 'Z');
	} else {
		fuzz_pgdump_check(why != NULL);
	}
	(void)pgdump_parse_bool(s, &b);
}

static int
fuzz_pgdump_row(void *arg, const struct pgdump_row *row, char **err_r)
{
	unsigned long *n = arg;

	(void)err_r;
	fuzz_pgdump_check(row->table != NULL && row->table[0] != '\0');
	fuzz_pgdump_check(row->nvalues > 0);
	fuzz_pgdump_check(row->ncolumns == 0 || row->ncolumns == row->nvalues);
	for (size_t i = 0; i < row->ncolumns; i++)
		fuzz_pgdump_check(row->columns[i] != NULL && row->columns[i][0] != '\0');
	for (size_t i = 0; i < row->nvalues; i++) {
		const struct pgdump_value *v = &row->values[i];

		switch (v->kind) {
		case PGDUMP_STRING:
		case PGDUMP_NUMBER:
			fuzz_pgdump_check(v->text != NULL && v->text[v->len] == '\0' &&
			    memchr(v->text, '\0', v->len) == NULL);
			if (v->kind == PGDUMP_STRING)
				fuzz_pgdump_convert(v->text);
			break;
		case PGDUMP_NULL:
		case PGDUMP_BOOL:
			fuzz_pgdump_check(v->text == NULL);
			break;
		}
	}
	/* stop now and then, to cover the callback error path */
	return ++*n % 1000 == 0 ? -1 : 0;
}

static int
fuzz_pgdump_setval(void *arg, const struct pgdump_setval *sv, char **err_r)
{
	(void)arg;
	fuzz_pgdump_check(sv->sequence != NULL);
	if (sv->value == 4242) {
		*err_r = strdup("setval refused");
		return -1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pgdump_callbacks cb = {.row = fuzz_pgdump_row,
	    .setval = fuzz_pgdump_setval};
	struct pgdump_stats st;
	unsigned long rows = 0;
	char *err = NULL, line[64];
	size_t n;

	if (pgdump_parse_cb((const char *)data, size, &cb, &rows, &st, &err) == 0) {
		fuzz_pgdump_check(err == NULL && st.rows == rows);
	} else {
		fuzz_pgdump_check(err != NULL && strncmp(err, "line ", 5) == 0);
		fuzz_pgdump_check(st.rows <= rows);
	}
	free(err);
	fuzz_pgdump_check(st.skipped_statements <= st.statements);

	/* the first line alone, as a timestamp / boolean */
	for (n = 0; n < size && n < sizeof(line) - 1 && data[n] != '\n'; n++)
		line[n] = (char)data[n];
	line[n] = '\0';
	fuzz_pgdump_convert(line);
	return 0;
}
