/* pgdump: parser for `pg_dump --data-only --inserts` output (see pgdump.h).
 *
 * One pass over the buffer: a small lexer (whitespace and comments, words,
 * quoted identifiers, string literals, numbers, punctuation) feeding one
 * function per statement.  Decoded strings, identifiers and column lists live
 * in an arena of 64 KB blocks that is reset after every statement; the values
 * and rows of the statement being parsed live in vectors reused across
 * statements.  Rows are handed to the callback once their whole INSERT has
 * parsed.  Everything is linear in the input: a literal is scanned once to
 * find its end and once to decode it. */
#include "pgdump.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

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

/* ---- arena ---- */

static void *
pgdump_arena_alloc(struct pgdump_arena *a, size_t n, size_t align)
{
	struct pgdump_block *b = a->head;
	size_t size;

	if (b != NULL) {
		size_t off = (b->used + align - 1) & ~(align - 1);

		if (off <= b->size && n <= b->size - off) {
			b->used = off + n;
			return b->data + off;
		}
	}
	size = n > PGDUMP_BLOCK_SIZE ? n : PGDUMP_BLOCK_SIZE;
	b = xmalloc(sizeof(*b) + size);
	b->size = size;
	b->used = n;
	b->next = a->head;
	a->head = b;
	return b->data;
}

/* Frees every block but the first standard-size one, which is kept for reuse. */
static void
pgdump_arena_reset(struct pgdump_arena *a, bool keep)
{
	struct pgdump_block *b = a->head, *next, *kept = NULL;

	for (; b != NULL; b = next) {
		next = b->next;
		if (keep && kept == NULL && next == NULL && b->size == PGDUMP_BLOCK_SIZE) {
			kept = b;
			kept->used = 0;
		} else {
			free(b);
		}
	}
	a->head = kept;
}

static char *
pgdump_arena_strndup(struct pgdump_arena *a, const char *s, size_t n)
{
	char *d = pgdump_arena_alloc(a, n + 1, 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ---- errors ---- */

static int pgdump_fail(struct pgdump_parser *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
pgdump_fail(struct pgdump_parser *ps, unsigned line, const char *fmt, ...)
{
	char msg[PGDUMP_ERR_MAX];
	va_list ap;

	if (ps->err != NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->err = xasprintf("line %u: %s", line, msg);
	return -1;
}

/* Describes a token for an error message ("'VALUES'", "end of file"...). */
static const char *
pgdump_tok_desc(const struct pgdump_token *t, char *buf, size_t size)
{
	switch (t->kind) {
	case PGDUMP_TOK_EOF:
		return "end of file";
	case PGDUMP_TOK_WORD:
	case PGDUMP_TOK_NUMBER:
		snprintf(buf, size, "'%.*s'", t->len > 40 ? 40 : (int)t->len, t->text);
		return buf;
	case PGDUMP_TOK_QIDENT:
		snprintf(buf, size, "identifier \"%.40s\"", t->text);
		return buf;
	case PGDUMP_TOK_STRING:
	case PGDUMP_TOK_BITS:
		return "a string";
	case PGDUMP_TOK_CAST:
		return "'::'";
	case PGDUMP_TOK_PUNCT:
		break;
	}
	if ((unsigned char)t->c >= 0x20 && (unsigned char)t->c < 0x7f)
		snprintf(buf, size, "'%c'", t->c);
	else
		snprintf(buf, size, "byte 0x%02x", (unsigned char)t->c);
	return buf;
}

static int
pgdump_unexpected(struct pgdump_parser *ps, const struct pgdump_token *t, const char *wanted)
{
	char buf[64];

	return pgdump_fail(ps, t->line, "expected %s, found %s", wanted,
	    pgdump_tok_desc(t, buf, sizeof(buf)));
}

/* ---- characters ---- */

static bool
pgdump_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
pgdump_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
pgdump_is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (unsigned char)c >= 0x80;
}

static bool
pgdump_is_ident_char(char c)
{
	return pgdump_is_ident_start(c) || pgdump_is_digit(c) || c == '$';
}

static int
pgdump_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned
pgdump_count_lines(const char *a, const char *b)
{
	unsigned n = 0;

	while (a < b && (a = memchr(a, '\n', (size_t)(b - a))) != NULL) {
		n++;
		a++;
	}
	return n;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool
pgdump_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + n;

	while (s < e) {
		unsigned c = *s, need, cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(e - s) <= need)
			return false;
		for (unsigned i = 1; i <= need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		s += need + 1;
	}
	return true;
}

static size_t
pgdump_utf8_put(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- lexer ---- */

/* Skips whitespace, -- comments and (nested) block comments. */
static int
pgdump_skip_space(struct pgdump_parser *ps)
{
	const char *p = ps->p, *end = ps->end;

	for (;;) {
		while (p < end && pgdump_is_space(*p)) {
			if (*p == '\n')
				ps->line++;
			p++;
		}
		if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl != NULL ? nl : end;
			continue;
		}
		if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
			unsigned start = ps->line, depth = 1;

			p += 2;
			while (depth > 0) {
				if (end - p < 2) {
					ps->p = end;
					return pgdump_fail(ps, start, "unterminated /* comment");
				}
				if (p[0] == '*' && p[1] == '/') {
					depth--;
					p += 2;
				} else if (p[0] == '/' && p[1] == '*') {
					depth++;
					p += 2;
				} else {
					if (*p == '\n')
						ps->line++;
					p++;
				}
			}
			continue;
		}
		break;
	}
	ps->p = p;
	return 0;
}

/* Decodes the escapes of E'...' from [s, e) into d; returns the length or -1. */
static int
pgdump_unescape(struct pgdump_parser *ps, unsigned line, const char *s, const char *e, char *d,
    size_t *len_r)
{
	char *d0 = d;

	while (s < e) {
		char c = *s++;
		uint32_t cp;

		if (c == '\'') { /* '' (the lexer checked that it is doubled) */
			*d++ = '\'';
			s++;
			continue;
		}
		if (c != '\\') {
			*d++ = c;
			continue;
		}
		c = *s++; /* the lexer guarantees a byte after every backslash */
		switch (c) {
		case 'b':
			*d++ = '\b';
			break;
		case 'f':
			*d++ = '\f';
			break;
		case 'n':
			*d++ = '\n';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case 't':
			*d++ = '\t';
			break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
			unsigned v = (unsigned)(c - '0');

			for (int i = 0; i < 2 && s < e && *s >= '0' && *s <= '7'; i++)
				v = (v << 3) | (unsigned)(*s++ - '0');
			if ((v & 0xff) == 0)
				return pgdump_fail(ps, line, "NUL byte in string literal");
			*d++ = (char)(v & 0xff);
			break;
		}
		case 'x': {
			int h = s < e ? pgdump_hex_value(*s) : -1;
			unsigned v;

			if (h < 0) {
				*d++ = 'x';
				break;
			}
			v = (unsigned)h;
			s++;
			if (s < e && (h = pgdump_hex_value(*s)) >= 0) {
				v = (v << 4) | (unsigned)h;
				s++;
			}
			if (v == 0)
				return pgdump_fail(ps, line, "NUL byte in string literal");
			*d++ = (char)v;
			break;
		}
		case 'u':
		case 'U': {
			int digits = c == 'u' ? 4 : 8;

			cp = 0;
			for (int i = 0; i < digits; i++) {
				int h = s < e ? pgdump_hex_value(*s) : -1;

				if (h < 0)
					return pgdump_fail(ps, line, "invalid Unicode escape in string literal");
				cp = (cp << 4) | (uint32_t)h;
				s++;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo = 0;
				int n = 0;

				if (e - s >= 2 && s[0] == '\\' && (s[1] == 'u' || s[1] == 'U')) {
					n = s[1] == 'u' ? 4 : 8;
					s += 2;
					for (int i = 0; i < n; i++) {
						int h = s < e ? pgdump_hex_value(*s) : -1;

						if (h < 0)
							return pgdump_fail(ps, line,
							    "invalid Unicode escape in string literal");
						lo = (lo << 4) | (uint32_t)h;
						s++;
					}
				}
				if (n == 0 || lo < 0xdc00 || lo > 0xdfff)
					return pgdump_fail(ps, line,
					    "invalid Unicode surrogate pair in string literal");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return pgdump_fail(ps, line,
				    "invalid Unicode surrogate pair in string literal");
			}
			if (cp == 0 || cp > 0x10ffff)
				return pgdump_fail(ps, line,
				    "invalid Unicode escape value in string literal");
			d += pgdump_utf8_put(d, cp);
			break;
		}
		default:
			*d++ = c;
			break;
		}
	}
	*d = '\0';
	*len_r = (size_t)(d - d0);
	return 0;
}

/* ps->p is just past the opening quote.  escape: E'...' syntax. */
static int
pgdump_lex_string(struct pgdump_parser *ps, struct pgdump_token *t, bool escape)
{
	const char *s = ps->p, *q = s, *end = ps->end;
	char *d;
	size_t n = 0;

	/* find the closing quote */
	for (;;) {
		if (escape) {
			while (q < end && *q != '\'' && *q != '\\')
				q++;
			if (q < end && *q == '\\') {
				if (end - q < 2)
					q = end;
				else {
					q += 2;
					continue;
				}
			}
		} else {
			q = memchr(q, '\'', (size_t)(end - q));
			if (q == NULL)
				q = end;
		}
		if (q == end) {
			ps->p = end;
			return pgdump_fail(ps, t->line, "unterminated string literal");
		}
		if (end - q >= 2 && q[1] == '\'') {
			q += 2;
			continue;
		}
		break;
	}
	d = pgdump_arena_alloc(&ps->arena, (size_t)(q - s) + 1, 1);
	if (escape) {
		if (pgdump_unescape(ps, t->line, s, q, d, &n) < 0)
			return -1;
	} else {
		const char *r = s;
		char *w = d;

		while (r < q) {
			const char *quote = memchr(r, '\'', (size_t)(q - r));
			size_t chunk = (size_t)((quote != NULL ? quote + 1 : q) - r);

			memcpy(w, r, chunk);
			w += chunk;
			r += chunk + (quote != NULL); /* skip the second quote of '' */
		}
		*w = '\0';
		n = (size_t)(w - d);
	}
	ps->line += pgdump_count_lines(s, q);
	ps->p = q + 1;
	if (!pgdump_utf8_valid(d, n))
		return pgdump_fail(ps, t->line, "invalid UTF-8 in string literal");
	t->kind = PGDUMP_TOK_STRING;
	t->text = d;
	t->len = n;
	return 0;
}

/* ps->p is just past B' */
static int
pgdump_lex_bits(struct pgdump_parser *ps, struct pgdump_token *t)
{
	const char *s = ps->p, *q = s;

	while (q < ps->end && (*q == '0' || *q == '1'))
		q++;
	if (q == ps->end || *q != '\'')
		return pgdump_fail(ps, t->line, "bad bit string literal");
	t->kind = PGDUMP_TOK_BITS;
	t->text = pgdump_arena_strndup(&ps->arena, s, (size_t)(q - s));
	t->len = (size_t)(q - s);
	ps->p = q + 1;
	return 0;
}

/* ps->p is just past the opening double quote. */
static int
pgdump_lex_qident(struct pgdump_parser *ps, struct pgdump_token *t)
{
	const char *s = ps->p, *q = s, *end = ps->end, *r;
	char *d, *w;

	for (;;) {
		q = memchr(q, '"', (size_t)(end - q));
		if (q == NULL) {
			ps->p = end;
			return pgdump_fail(ps, t->line, "unterminated quoted identifier");
		}
		if (end - q >= 2 && q[1] == '"') {
			q += 2;
			continue;
		}
		break;
	}
	if (q == s)
		return pgdump_fail(ps, t->line, "zero-length quoted identifier");
	d = w = pgdump_arena_alloc(&ps->arena, (size_t)(q - s) + 1, 1);
	for (r = s; r < q; r++) {
		*w++ = *r;
		if (*r == '"')
			r++;
	}
	*w = '\0';
	ps->line += pgdump_count_lines(s, q);
	ps->p = q + 1;
	if (!pgdump_utf8_valid(d, (size_t)(w - d)))
		return pgdump_fail(ps, t->line, "invalid UTF-8 in identifier");
	t->kind = PGDUMP_TOK_QIDENT;
	t->text = d;
	t->len = (size_t)(w - d);
	return 0;
}

static int
pgdump_lex_number(struct pgdump_parser *ps, struct pgdump_token *t)
{
	const char *s = ps->p, *p = s, *end = ps->end;

	while (p < end && pgdump_is_digit(*p))
		p++;
	if (p < end && *p == '.') {
		p++;
		while (p < end && pgdump_is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *q = p + 1;

		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q < end && pgdump_is_digit(*q)) {
			p = q;
			while (p < end && pgdump_is_digit(*p))
				p++;
		}
	}
	if (p < end && (pgdump_is_ident_char(*p) || *p == '.'))
		return pgdump_fail(ps, t->line, "trailing junk after numeric literal");
	t->kind = PGDUMP_TOK_NUMBER;
	t->text = s;
	t->len = (size_t)(p - s);
	ps->p = p;
	return 0;
}

static int
pgdump_lex(struct pgdump_parser *ps, struct pgdump_token *t)
{
	const char *p, *end = ps->end;
	char c;

	if (pgdump_skip_space(ps) < 0)
		return -1;
	p = ps->p;
	t->line = ps->line;
	t->text = NULL;
	t->len = 0;
	t->c = 0;
	if (p == end) {
		t->kind = PGDUMP_TOK_EOF;
		return 0;
	}
	c = *p;
	if (pgdump_is_ident_start(c)) {
		if (end - p >= 2 && p[1] == '\'') {
			if (c == 'e' || c == 'E') {
				ps->p = p + 2;
				return pgdump_lex_string(ps, t, true);
			}
			if (c == 'b' || c == 'B') {
				ps->p = p + 2;
				return pgdump_lex_bits(ps, t);
			}
		}
		bool high = false;

		t->kind = PGDUMP_TOK_WORD;
		t->text = p;
		while (p < end && pgdump_is_ident_char(*p))
			high |= (unsigned char)*p++ >= 0x80;
		t->len = (size_t)(p - t->text);
		ps->p = p;
		if (high && !pgdump_utf8_valid(t->text, t->len))
			return pgdump_fail(ps, t->line, "invalid UTF-8 in identifier");
		return 0;
	}
	if (c == '\'') {
		ps->p = p + 1;
		return pgdump_lex_string(ps, t, !ps->std_strings);
	}
	if (c == '"') {
		ps->p = p + 1;
		return pgdump_lex_qident(ps, t);
	}
	if (pgdump_is_digit(c) || (c == '.' && end - p >= 2 && pgdump_is_digit(p[1])))
		return pgdump_lex_number(ps, t);
	if (c == ':' && end - p >= 2 && p[1] == ':') {
		t->kind = PGDUMP_TOK_CAST;
		ps->p = p + 2;
		return 0;
	}
	t->kind = PGDUMP_TOK_PUNCT;
	t->c = c;
	ps->p = p + 1;
	return 0;
}

static bool
pgdump_is_word(const struct pgdump_token *t, const char *kw)
{
	return t->kind == PGDUMP_TOK_WORD && strlen(kw) == t->len &&
	    strncasecmp(t->text, kw, t->len) == 0;
}

static bool
pgdump_is_punct(const struct pgdump_token *t, char c)
{
	return t->kind == PGDUMP_TOK_PUNCT && t->c == c;
}

static int
pgdump_expect_word(struct pgdump_parser *ps, const char *kw)
{
	struct pgdump_token t;
	char want[48];

	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (!pgdump_is_word(&t, kw)) {
		snprintf(want, sizeof(want), "%s", kw);
		for (char *w = want; *w != '\0'; w++)
			if (*w >= 'a' && *w <= 'z')
				*w = (char)(*w - 'a' + 'A');
		return pgdump_unexpected(ps, &t, want);
	}
	return 0;
}

static int
pgdump_expect_punct(struct pgdump_parser *ps, char c)
{
	struct pgdump_token t;
	char want[8];

	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (!pgdump_is_punct(&t, c)) {
		snprintf(want, sizeof(want), "'%c'", c);
		return pgdump_unexpected(ps, &t, want);
	}
	return 0;
}

/* The identifier a WORD or QIDENT token names, in the arena: words are
 * folded to lower case as PostgreSQL does. */
static const char *
pgdump_ident(struct pgdump_parser *ps, const struct pgdump_token *t)
{
	char *s;

	if (t->kind == PGDUMP_TOK_QIDENT)
		return t->text;
	s = pgdump_arena_strndup(&ps->arena, t->text, t->len);
	for (char *w = s; *w != '\0'; w++)
		if (*w >= 'A' && *w <= 'Z')
			*w = (char)(*w - 'A' + 'a');
	return s;
}

/* Consumes tokens up to and including ';'.  start: the statement's line. */
static int
pgdump_skip_statement(struct pgdump_parser *ps, unsigned start, const char *what)
{
	struct pgdump_token t;

	for (;;) {
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (t.kind == PGDUMP_TOK_EOF)
			return pgdump_fail(ps, start, "unterminated %s statement (missing ';')", what);
		if (pgdump_is_punct(&t, ';'))
			return 0;
	}
}

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

		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_QIDENT)
			return pgdump_unexpected(ps, &t, what);
		if (n == 3)
			return pgdump_fail(ps, t.line, "improper qualified name (too many dotted names)");
		parts[n++] = pgdump_ident(ps, &t);
		if (pgdump_skip_space(ps) < 0)
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

		if (pgdump_skip_space(ps) < 0)
			return -1;
		if (ps->end - ps->p < 2 || ps->p[0] != ':' || ps->p[1] != ':')
			return 0;
		ps->p += 2;
		line = ps->line;
		for (;;) {
			struct pgdump_token t;
			char c;

			if (pgdump_skip_space(ps) < 0)
				return -1;
			c = ps->p < ps->end ? *ps->p : '\0';
			if ((pgdump_is_ident_start(c) || c == '"') && !named) {
				if (pgdump_lex(ps, &t) < 0)
					return -1;
				if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_QIDENT)
					return pgdump_unexpected(ps, &t, "a type name");
				named = true;
			} else if (pgdump_is_ident_start(c) && named) {
				/* multi-word names: double precision, timestamp with time zone */
				if (pgdump_lex(ps, &t) < 0)
					return -1;
				if (t.kind != PGDUMP_TOK_WORD)
					return pgdump_unexpected(ps, &t, "a type name");
			} else if (c == '.' && named) {
				ps->p++;
				named = false;
			} else if (c == '(' && named) {
				ps->p++;
				for (;;) {
					if (pgdump_lex(ps, &t) < 0)
						return -1;
					if (t.kind != PGDUMP_TOK_NUMBER)
						return pgdump_unexpected(ps, &t, "a type modifier");
					if (pgdump_lex(ps, &t) < 0)
						return -1;
					if (pgdump_is_punct(&t, ')'))
						break;
					if (!pgdump_is_punct(&t, ','))
						return pgdump_unexpected(ps, &t, "',' or ')'");
				}
			} else if (c == '[' && named) {
				ps->p++;
				if (pgdump_lex(ps, &t) < 0)
					return -1;
				if (t.kind == PGDUMP_TOK_NUMBER && pgdump_lex(ps, &t) < 0)
					return -1;
				if (!pgdump_is_punct(&t, ']'))
					return pgdump_unexpected(ps, &t, "']'");
			} else {
				break;
			}
		}
		if (!named)
			return pgdump_fail(ps, line, "expected a type name after '::'");
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
		v.text = pgdump_arena_strndup(&ps->arena, t.text, t.len);
		v.len = t.len;
		break;
	case PGDUMP_TOK_PUNCT:
		if (t.c == '-' || t.c == '+') {
			char sign = t.c, *s;

			if (pgdump_lex(ps, &t) < 0)
				return -1;
			if (t.kind != PGDUMP_TOK_NUMBER)
				return pgdump_unexpected(ps, &t, "a number after the sign");
			s = pgdump_arena_alloc(&ps->arena, t.len + 2, 1);
			s[0] = sign;
			memcpy(s + 1, t.text, t.len);
			s[t.len + 1] = '\0';
			v.kind = PGDUMP_NUMBER;
			v.text = s;
			v.len = t.len + 1;
			break;
		}
		return pgdump_unexpected(ps, &t, "a value");
	case PGDUMP_TOK_WORD:
		if (pgdump_is_word(&t, "null"))
			break;
		if (pgdump_is_word(&t, "true") || pgdump_is_word(&t, "false")) {
			v.kind = PGDUMP_BOOL;
			v.b = pgdump_is_word(&t, "true");
			break;
		}
		if (pgdump_is_word(&t, "default"))
			return pgdump_fail(ps, t.line, "DEFAULT values are not supported");
		return pgdump_fail(ps, t.line, "unexpected %s in VALUES (only literals are supported)",
		    pgdump_tok_desc(&t, buf, sizeof(buf)));
	default:
		return pgdump_unexpected(ps, &t, "a value");
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

		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (pgdump_is_punct(&t, ')') && ps->nvals == row.first)
			return pgdump_fail(ps, t.line, "INSERT INTO %s: empty VALUES row", table);
		if (pgdump_value(ps, &t) < 0)
			return -1;
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (pgdump_is_punct(&t, ')'))
			break;
		if (!pgdump_is_punct(&t, ','))
			return pgdump_unexpected(ps, &t, "',' or ')' in VALUES");
	}
	row.n = ps->nvals - row.first;
	if (ps->ncols > 0 && row.n != ps->ncols)
		return pgdump_fail(ps, line, "INSERT INTO %s: row has %zu values for %zu columns",
		    table, row.n, ps->ncols);
	if (ps->ncols == 0 && ps->nrows > 0 && row.n != ps->rows[0].n)
		return pgdump_fail(ps, line,
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

		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_QIDENT)
			return pgdump_unexpected(ps, &t, "a column name");
		if (ps->ncols == ps->capcols) {
			ps->capcols = ps->capcols ? ps->capcols * 2 : 16;
			ps->cols = xrealloc(ps->cols, ps->capcols * sizeof(*ps->cols));
		}
		ps->cols[ps->ncols++] = pgdump_ident(ps, &t);
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (pgdump_is_punct(&t, ')'))
			break;
		if (!pgdump_is_punct(&t, ','))
			return pgdump_unexpected(ps, &t, "',' or ')' in the column list");
	}
	/* sorted, so that a duplicate costs O(n log n) to find, not O(n^2) */
	sorted = pgdump_arena_alloc(&ps->arena, ps->ncols * sizeof(*sorted), sizeof(void *));
	memcpy(sorted, ps->cols, ps->ncols * sizeof(*sorted));
	qsort(sorted, ps->ncols, sizeof(*sorted), pgdump_strcmp_ptr);
	for (size_t i = 1; i < ps->ncols; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			return pgdump_fail(ps, line,
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

	if (pgdump_expect_word(ps, "into") < 0 ||
	    pgdump_qualified_name(ps, &schema, &table, "a table name") < 0)
		return -1;
	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (pgdump_is_punct(&t, '(')) {
		if (pgdump_column_list(ps, t.line, table) < 0 || pgdump_lex(ps, &t) < 0)
			return -1;
	}
	if (pgdump_is_word(&t, "overriding")) {
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (!pgdump_is_word(&t, "system") && !pgdump_is_word(&t, "user"))
			return pgdump_unexpected(ps, &t, "SYSTEM or USER");
		if (pgdump_expect_word(ps, "value") < 0 || pgdump_lex(ps, &t) < 0)
			return -1;
	}
	if (!pgdump_is_word(&t, "values"))
		return pgdump_unexpected(ps, &t, "VALUES");
	for (;;) {
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (!pgdump_is_punct(&t, '('))
			return pgdump_unexpected(ps, &t, "'(' to start a VALUES row");
		if (pgdump_row(ps, t.line, table) < 0 || pgdump_lex(ps, &t) < 0)
			return -1;
		if (pgdump_is_punct(&t, ','))
			continue;
		if (pgdump_is_word(&t, "on")) {
			if (pgdump_expect_word(ps, "conflict") < 0 ||
			    pgdump_expect_word(ps, "do") < 0 ||
			    pgdump_expect_word(ps, "nothing") < 0 || pgdump_lex(ps, &t) < 0)
				return -1;
		}
		if (pgdump_is_punct(&t, ';'))
			break;
		if (t.kind == PGDUMP_TOK_EOF)
			return pgdump_fail(ps, start, "unterminated INSERT statement (missing ';')");
		return pgdump_unexpected(ps, &t, "',' or ';' after a VALUES row");
	}

	st->statements++;
	if (ps->ncols > 0) {
		cols = pgdump_arena_alloc(&ps->arena, ps->ncols * sizeof(*cols), sizeof(void *));
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
			pgdump_fail(ps, row.line, "%s", cb_err != NULL ? cb_err : "stopped by callback");
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

	if (pgdump_lex(ps, &name) < 0)
		return -1;
	if (name.kind != PGDUMP_TOK_STRING)
		return pgdump_unexpected(ps, &name, "a sequence name");
	if (pgdump_expect_punct(ps, ',') < 0 || pgdump_lex(ps, &t) < 0)
		return -1;
	if (pgdump_is_punct(&t, '-')) {
		neg = true;
		if (pgdump_lex(ps, &t) < 0)
			return -1;
	}
	if (t.kind != PGDUMP_TOK_NUMBER || t.len >= sizeof(num) - 1)
		return pgdump_unexpected(ps, &t, "an integer sequence value");
	snprintf(num, sizeof(num), "%s%.*s", neg ? "-" : "", (int)t.len, t.text);
	errno = 0;
	sv.value = strtoll(num, &endp, 10);
	if (errno != 0 || *endp != '\0')
		return pgdump_fail(ps, t.line, "bad sequence value %s", num);
	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (pgdump_is_punct(&t, ',')) {
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (!pgdump_is_word(&t, "true") && !pgdump_is_word(&t, "false"))
			return pgdump_unexpected(ps, &t, "true or false");
		sv.is_called = pgdump_is_word(&t, "true");
		if (pgdump_lex(ps, &t) < 0)
			return -1;
	}
	if (!pgdump_is_punct(&t, ')'))
		return pgdump_unexpected(ps, &t, "')'");
	if (pgdump_expect_punct(ps, ';') < 0)
		return -1;

	/* the sequence name is itself a (possibly quoted, qualified) name */
	memset(&sub, 0, sizeof(sub));
	sub.p = name.text;
	sub.end = name.text + name.len;
	sub.line = name.line;
	sub.std_strings = true;
	sub.arena = ps->arena;
	if (pgdump_qualified_name(&sub, &sv.schema, &sv.sequence, "a sequence name") == 0 &&
	    pgdump_skip_space(&sub) == 0 && sub.p != sub.end)
		pgdump_fail(&sub, name.line, "bad sequence name in setval");
	ps->arena = sub.arena;
	if (sub.err != NULL) {
		ps->err = sub.err;
		return -1;
	}

	if (cb->setval != NULL) {
		char *cb_err = NULL;

		if (cb->setval(arg, &sv, &cb_err) != 0) {
			pgdump_fail(ps, start, "%s", cb_err != NULL ? cb_err : "stopped by callback");
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

	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (pgdump_is_word(&t, "pg_catalog")) {
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (pgdump_is_punct(&t, '.') && pgdump_lex(ps, &t) < 0)
			return -1;
	}
	if (pgdump_is_word(&t, "setval")) {
		if (pgdump_lex(ps, &t) < 0)
			return -1;
		if (pgdump_is_punct(&t, '('))
			return pgdump_setval(ps, start, cb, arg);
	}
	ps->p = save_p;
	ps->line = save_line;
	return pgdump_skip_statement(ps, start, "SELECT");
}

static int
pgdump_set(struct pgdump_parser *ps, unsigned start)
{
	struct pgdump_token name, t;
	bool scs, enc;

	if (pgdump_lex(ps, &name) < 0)
		return -1;
	scs = pgdump_is_word(&name, "standard_conforming_strings");
	enc = pgdump_is_word(&name, "client_encoding");
	if (!scs && !enc)
		return pgdump_skip_statement(ps, start, "SET");
	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (!pgdump_is_punct(&t, '=') && !pgdump_is_word(&t, "to"))
		return pgdump_unexpected(ps, &t, "'=' or TO");
	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (t.kind != PGDUMP_TOK_WORD && t.kind != PGDUMP_TOK_STRING)
		return pgdump_unexpected(ps, &t, "a setting value");
	if (scs) {
		char v[16];
		bool b;

		snprintf(v, sizeof(v), "%.*s", t.len > 15 ? 15 : (int)t.len, t.text);
		if (t.len > 15 || pgdump_parse_bool(v, &b) < 0)
			return pgdump_fail(ps, t.line, "bad value for standard_conforming_strings");
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
			return pgdump_fail(ps, t.line,
			    "client_encoding %.*s is not supported: dump with --encoding=UTF8",
			    t.len > 32 ? 32 : (int)t.len, t.text);
	}
	return pgdump_expect_punct(ps, ';');
}

/* ALTER TABLE [ONLY] name DISABLE|ENABLE TRIGGER ALL;  (--disable-triggers) */
static int
pgdump_alter(struct pgdump_parser *ps)
{
	const char *schema, *table;
	struct pgdump_token t;
	const char *save_p;
	unsigned save_line;

	if (pgdump_expect_word(ps, "table") < 0)
		return -1;
	save_p = ps->p;
	save_line = ps->line;
	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (!pgdump_is_word(&t, "only")) {
		ps->p = save_p;
		ps->line = save_line;
	}
	if (pgdump_qualified_name(ps, &schema, &table, "a table name") < 0 ||
	    pgdump_lex(ps, &t) < 0)
		return -1;
	if (!pgdump_is_word(&t, "disable") && !pgdump_is_word(&t, "enable"))
		return pgdump_fail(ps, t.line,
		    "unsupported ALTER TABLE (only DISABLE/ENABLE TRIGGER ALL is accepted)");
	if (pgdump_expect_word(ps, "trigger") < 0 || pgdump_expect_word(ps, "all") < 0)
		return -1;
	return pgdump_expect_punct(ps, ';');
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
		return pgdump_fail(ps, ps->line, "unsupported psql meta-command \\%.*s",
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

	if (pgdump_skip_space(ps) < 0)
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
	if (pgdump_lex(ps, &t) < 0)
		return -1;
	if (pgdump_is_punct(&t, ';'))
		return 0; /* empty statement */
	if (pgdump_is_word(&t, "insert"))
		return pgdump_insert(ps, t.line, cb, arg, st);
	if (pgdump_is_word(&t, "set"))
		rc = pgdump_set(ps, t.line);
	else if (pgdump_is_word(&t, "select"))
		rc = pgdump_select(ps, t.line, cb, arg);
	else if (pgdump_is_word(&t, "begin") || pgdump_is_word(&t, "commit"))
		rc = pgdump_expect_punct(ps, ';');
	else if (pgdump_is_word(&t, "alter"))
		rc = pgdump_alter(ps);
	else if (pgdump_is_word(&t, "copy"))
		return pgdump_fail(ps, t.line,
		    "COPY is not supported: dump with pg_dump --data-only --inserts "
		    "(or --column-inserts)");
	else if (t.kind == PGDUMP_TOK_WORD)
		return pgdump_fail(ps, t.line,
		    "unsupported statement %s (a data-only dump has only SET, SELECT and "
		    "INSERT)", pgdump_tok_desc(&t, buf, sizeof(buf)));
	else
		return pgdump_unexpected(ps, &t, "a statement");
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
		rc = pgdump_fail(&ps, 1 + pgdump_count_lines(buf, nul), "NUL byte in input");
		goto out;
	}
	while (!done) {
		if (pgdump_statement(&ps, cb, arg, st, &done) < 0) {
			rc = -1;
			break;
		}
		ps.nvals = ps.nrows = ps.ncols = 0;
		pgdump_arena_reset(&ps.arena, true);
	}
out:
	pgdump_arena_reset(&ps.arena, false);
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

/* ---- conversions ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
pgdump_days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
pgdump_civil_from_days(long long z, long long *y_r, unsigned *m_r, unsigned *d_r)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = yoe + era * 400 + (*m_r <= 2);
}

static bool
pgdump_is_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n digits. */
static int
pgdump_fixed(const char **s, int n, unsigned *v_r)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (!pgdump_is_digit((*s)[i]))
			return -1;
		v = v * 10 + (unsigned)((*s)[i] - '0');
	}
	*s += n;
	*v_r = v;
	return 0;
}

static void
pgdump_put(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
pgdump_timestamp_rfc3339(const char *in, char out[25], const char **err_r)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s = in;
	unsigned mo, d, h, mi, sec, ms = 0, zh = 0, zm = 0, zs = 0, year = 0, y;
	long long secs, days, yy;
	int ydigits = 0, zsign = 0;

	if (strcasecmp(in, "infinity") == 0 || strcasecmp(in, "-infinity") == 0 ||
	    strcasecmp(in, "+infinity") == 0) {
		*err_r = "infinite timestamps cannot be converted";
		return -1;
	}
	while (pgdump_is_digit(*s) && ydigits < 6) {
		year = year * 10 + (unsigned)(*s++ - '0');
		ydigits++;
	}
	if (ydigits < 4 || *s++ != '-' || pgdump_fixed(&s, 2, &mo) < 0 || *s++ != '-' ||
	    pgdump_fixed(&s, 2, &d) < 0 || *s++ != ' ' || pgdump_fixed(&s, 2, &h) < 0 ||
	    *s++ != ':' || pgdump_fixed(&s, 2, &mi) < 0 || *s++ != ':' ||
	    pgdump_fixed(&s, 2, &sec) < 0) {
		*err_r = "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]])";
		return -1;
	}
	if (*s == '.') {
		int n = 0;

		s++;
		for (; pgdump_is_digit(*s); s++, n++)
			if (n < 3)
				ms = ms * 10 + (unsigned)(*s - '0');
		if (n == 0) {
			*err_r = "not a timestamp (empty fraction)";
			return -1;
		}
		for (; n < 3; n++)
			ms *= 10;
	}
	if (*s == '+' || *s == '-') {
		zsign = *s++ == '-' ? -1 : 1;
		if (pgdump_fixed(&s, 2, &zh) < 0 ||
		    (*s == ':' && (s++, pgdump_fixed(&s, 2, &zm) < 0)) ||
		    (*s == ':' && (s++, pgdump_fixed(&s, 2, &zs) < 0))) {
			*err_r = "not a timestamp (bad time zone offset)";
			return -1;
		}
	}
	if (strcmp(s, " BC") == 0) {
		*err_r = "BC dates are not supported";
		return -1;
	}
	if (*s != '\0') {
		*err_r = "not a timestamp (trailing characters)";
		return -1;
	}
	if (mo < 1 || mo > 12) {
		*err_r = "month out of range";
		return -1;
	}
	if (d < 1 || d > mdays[mo - 1] + (mo == 2 && pgdump_is_leap(year))) {
		*err_r = "day out of range";
		return -1;
	}
	if (h > 23 || mi > 59 || sec > 59) {
		*err_r = "time out of range";
		return -1;
	}
	if (zh > 15 || zm > 59 || zs > 59) {
		*err_r = "time zone offset out of range";
		return -1;
	}
	secs = pgdump_days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    zsign * (long long)(zh * 3600 + zm * 60 + zs);
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	secs -= days * 86400;
	pgdump_civil_from_days(days, &yy, &mo, &d);
	if (yy < 1 || yy > 9999) {
		*err_r = "year out of range (0001..9999 in UTC)";
		return -1;
	}
	y = (unsigned)yy;
	pgdump_put(out, y, 4);
	out[4] = '-';
	pgdump_put(out + 5, mo, 2);
	out[7] = '-';
	pgdump_put(out + 8, d, 2);
	out[10] = 'T';
	pgdump_put(out + 11, (unsigned)(secs / 3600), 2);
	out[13] = ':';
	pgdump_put(out + 14, (unsigned)(secs / 60 % 60), 2);
	out[16] = ':';
	pgdump_put(out + 17, (unsigned)(secs % 60), 2);
	out[19] = '.';
	pgdump_put(out + 20, ms, 3);
	out[23] = 'Z';
	out[24] = '\0';
	return 0;
}

int
pgdump_parse_bool(const char *in, bool *b_r)
{
	const char *s = in, *e;
	size_t n;

	while (pgdump_is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && pgdump_is_space(e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n == 0)
		return -1;
	switch (*s) {
	case 't': case 'T':
		if (n <= 4 && strncasecmp(s, "true", n) == 0)
			return *b_r = true, 0;
		break;
	case 'f': case 'F':
		if (n <= 5 && strncasecmp(s, "false", n) == 0)
			return *b_r = false, 0;
		break;
	case 'y': case 'Y':
		if (n <= 3 && strncasecmp(s, "yes", n) == 0)
			return *b_r = true, 0;
		break;
	case 'n': case 'N':
		if (n <= 2 && strncasecmp(s, "no", n) == 0)
			return *b_r = false, 0;
		break;
	case 'o': case 'O':
		/* "o" alone is ambiguous */
		if (n == 2 && strncasecmp(s, "on", n) == 0)
			return *b_r = true, 0;
		if (n >= 2 && n <= 3 && strncasecmp(s, "off", n) == 0)
			return *b_r = false, 0;
		break;
	case '1':
		if (n == 1)
			return *b_r = true, 0;
		break;
	case '0':
		if (n == 1)
			return *b_r = false, 0;
		break;
	}
	return -1;
}
