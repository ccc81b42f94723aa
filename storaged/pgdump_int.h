/* pgdump_int.h: private to the pgdump parser (pgdump_lex.c, pgdump.c); callers
 * include pgdump.h only.
 *
 * The parser state, the tokens of the lexer and the arena every decoded string
 * lives in.  The arena is made of 64 KB blocks and is reset after every
 * statement; pgdump.c keeps the values and rows of the statement being parsed
 * in vectors reused across statements. */
#ifndef KUBARR_PGDUMP_INT_H
#define KUBARR_PGDUMP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pgdump.h"

#define PGDUMP_BLOCK_SIZE 65536
#define PGDUMP_ERR_MAX 256

struct pgdump_block {
	struct pgdump_block *next;
	size_t size, used;
	char data[];
};

struct pgdump_arena {
	struct pgdump_block *head;
};

enum pgdump_tok {
	PGDUMP_TOK_EOF,
	PGDUMP_TOK_WORD,   /* unquoted identifier or keyword, text in the input */
	PGDUMP_TOK_QIDENT, /* "quoted identifier", decoded into the arena */
	PGDUMP_TOK_STRING, /* '...' / E'...', decoded into the arena */
	PGDUMP_TOK_BITS,   /* B'0101', its digits in the arena */
	PGDUMP_TOK_NUMBER, /* unsigned number, text in the input */
	PGDUMP_TOK_CAST,   /* :: */
	PGDUMP_TOK_PUNCT,  /* any other single byte, in c */
};

struct pgdump_token {
	enum pgdump_tok kind;
	const char *text;
	size_t len;
	char c;
	unsigned line;
};

/* A row of the INSERT being parsed: a slice of pgdump_parser.vals. */
struct pgdump_pending {
	size_t first, n;
	unsigned line;
};

struct pgdump_parser {
	const char *p, *end;
	unsigned line;
	bool std_strings; /* standard_conforming_strings */
	struct pgdump_arena arena;
	char *err;
	struct pgdump_value *vals;
	size_t nvals, capvals;
	struct pgdump_pending *rows;
	size_t nrows, caprows;
	const char **cols;
	size_t ncols, capcols;
};

/* ---- arena (pgdump_lex.c) ---- */

void *pgdump_lex_alloc(struct pgdump_arena *a, size_t n, size_t align);
/* Frees every block; keep: all but the first standard-size one, kept for reuse. */
void pgdump_lex_reset(struct pgdump_arena *a, bool keep);
char *pgdump_lex_strndup(struct pgdump_arena *a, const char *s, size_t n);

/* ---- errors ---- */

/* Records "line N: message" in ps->err (the first error wins); returns -1. */
int pgdump_lex_fail(struct pgdump_parser *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Describes a token for an error message ("'VALUES'", "end of file"...). */
const char *pgdump_lex_tok_desc(const struct pgdump_token *t, char *buf, size_t size);
/* "expected <wanted>, found <token>"; returns -1. */
int pgdump_lex_unexpected(struct pgdump_parser *ps, const struct pgdump_token *t,
    const char *wanted);

/* ---- lexer ---- */

bool pgdump_lex_is_ident_start(char c);
unsigned pgdump_lex_count_lines(const char *a, const char *b);
/* Skips whitespace, -- comments and (nested) block comments. */
int pgdump_lex_skip_space(struct pgdump_parser *ps);
/* The next token; -1 (ps->err set) on a lexical error. */
int pgdump_lex_next(struct pgdump_parser *ps, struct pgdump_token *t);
/* A WORD token equal to kw (lower case), ignoring case. */
bool pgdump_lex_is_word(const struct pgdump_token *t, const char *kw);
bool pgdump_lex_is_punct(const struct pgdump_token *t, char c);
int pgdump_lex_expect_word(struct pgdump_parser *ps, const char *kw);
int pgdump_lex_expect_punct(struct pgdump_parser *ps, char c);
/* The identifier a WORD or QIDENT token names, in the arena: words are
 * folded to lower case as PostgreSQL does. */
const char *pgdump_lex_ident(struct pgdump_parser *ps, const struct pgdump_token *t);
/* Consumes tokens up to and including ';'.  start: the statement's line. */
int pgdump_lex_skip_statement(struct pgdump_parser *ps, unsigned start, const char *what);

#endif
