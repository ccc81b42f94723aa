/* pgdump_lex: the lexer of the pg_dump parser (see pgdump.h, pgdump_int.h).
 *
 * Whitespace and comments, words, quoted identifiers, string literals
 * ('...', E'...' with every escape PostgreSQL knows, B'...'), numbers and
 * punctuation, plus the arena that decoded strings live in and the error
 * helpers.  Everything is linear in the input: a literal is scanned once to
 * find its end and once to decode it. */
#include "pgdump_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

/* ---- arena ---- */

void *
pgdump_lex_alloc(struct pgdump_arena *a, size_t n, size_t align)
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
void
pgdump_lex_reset(struct pgdump_arena *a, bool keep)
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

char *
pgdump_lex_strndup(struct pgdump_arena *a, const char *s, size_t n)
{
	char *d = pgdump_lex_alloc(a, n + 1, 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ---- errors ---- */

int
pgdump_lex_fail(struct pgdump_parser *ps, unsigned line, const char *fmt, ...)
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
const char *
pgdump_lex_tok_desc(const struct pgdump_token *t, char *buf, size_t size)
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

int
pgdump_lex_unexpected(struct pgdump_parser *ps, const struct pgdump_token *t, const char *wanted)
{
	char buf[64];

	return pgdump_lex_fail(ps, t->line, "expected %s, found %s", wanted,
	    pgdump_lex_tok_desc(t, buf, sizeof(buf)));
}

/* ---- characters ---- */

static bool
pgdump_lex_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
pgdump_lex_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
pgdump_lex_is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (unsigned char)c >= 0x80;
}

static bool
pgdump_lex_is_ident_char(char c)
{
	return pgdump_lex_is_ident_start(c) || pgdump_lex_is_digit(c) || c == '$';
}

static int
pgdump_lex_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

unsigned
pgdump_lex_count_lines(const char *a, const char *b)
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
pgdump_lex_utf8_valid(const char *str, size_t n)
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
pgdump_lex_utf8_put(char *d, uint32_t cp)
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
int
pgdump_lex_skip_space(struct pgdump_parser *ps)
{
	const char *p = ps->p, *end = ps->end;

	for (;;) {
		while (p < end && pgdump_lex_is_space(*p)) {
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
					return pgdump_lex_fail(ps, start, "unterminated /* comment");
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
pgdump_lex_unescape(struct pgdump_parser *ps, unsigned line, const char *s, const char *e, char *d,
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
				return pgdump_lex_fail(ps, line, "NUL byte in string literal");
			*d++ = (char)(v & 0xff);
			break;
		}
		case 'x': {
			int h = s < e ? pgdump_lex_hex_value(*s) : -1;
			unsigned v;

			if (h < 0) {
				*d++ = 'x';
				break;
			}
			v = (unsigned)h;
			s++;
			if (s < e && (h = pgdump_lex_hex_value(*s)) >= 0) {
				v = (v << 4) | (unsigned)h;
				s++;
			}
			if (v == 0)
				return pgdump_lex_fail(ps, line, "NUL byte in string literal");
			*d++ = (char)v;
			break;
		}
		case 'u':
		case 'U': {
			int digits = c == 'u' ? 4 : 8;

			cp = 0;
			for (int i = 0; i < digits; i++) {
				int h = s < e ? pgdump_lex_hex_value(*s) : -1;

				if (h < 0)
					return pgdump_lex_fail(ps, line, "invalid Unicode escape in string literal");
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
						int h = s < e ? pgdump_lex_hex_value(*s) : -1;

						if (h < 0)
							return pgdump_lex_fail(ps, line,
							    "invalid Unicode escape in string literal");
						lo = (lo << 4) | (uint32_t)h;
						s++;
					}
				}
				if (n == 0 || lo < 0xdc00 || lo > 0xdfff)
					return pgdump_lex_fail(ps, line,
					    "invalid Unicode surrogate pair in string literal");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return pgdump_lex_fail(ps, line,
				    "invalid Unicode surrogate pair in string literal");
			}
			if (cp == 0 || cp > 0x10ffff)
				return pgdump_lex_fail(ps, line,
				    "invalid Unicode escape value in string literal");
			d += pgdump_lex_utf8_put(d, cp);
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
			return pgdump_lex_fail(ps, t->line, "unterminated string literal");
		}
		if (end - q >= 2 && q[1] == '\'') {
			q += 2;
			continue;
		}
		break;
	}
	d = pgdump_lex_alloc(&ps->arena, (size_t)(q - s) + 1, 1);
	if (escape) {
		if (pgdump_lex_unescape(ps, t->line, s, q, d, &n) < 0)
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
	ps->line += pgdump_lex_count_lines(s, q);
	ps->p = q + 1;
	if (!pgdump_lex_utf8_valid(d, n))
		return pgdump_lex_fail(ps, t->line, "invalid UTF-8 in string literal");
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
		return pgdump_lex_fail(ps, t->line, "bad bit string literal");
	t->kind = PGDUMP_TOK_BITS;
	t->text = pgdump_lex_strndup(&ps->arena, s, (size_t)(q - s));
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
			return pgdump_lex_fail(ps, t->line, "unterminated quoted identifier");
		}
		if (end - q >= 2 && q[1] == '"') {
			q += 2;
			continue;
		}
		break;
	}
	if (q == s)
		return pgdump_lex_fail(ps, t->line, "zero-length quoted identifier");
	d = w = pgdump_lex_alloc(&ps->arena, (size_t)(q - s) + 1, 1);
	for (r = s; r < q; r++) {
		*w++ = *r;
		if (*r == '"')
			r++;
	}
	*w = '\0';
	ps->line += pgdump_lex_count_lines(s, q);
	ps->p = q + 1;
	if (!pgdump_lex_utf8_valid(d, (size_t)(w - d)))
		return pgdump_lex_fail(ps, t->line, "invalid UTF-8 in identifier");
	t->kind = PGDUMP_TOK_QIDENT;
	t->text = d;
	t->len = (size_t)(w - d);
	return 0;
}

static int
pgdump_lex_number(struct pgdump_parser *ps, struct pgdump_token *t)
{
	const char *s = ps->p, *p = s, *end = ps->end;

	while (p < end && pgdump_lex_is_digit(*p))
		p++;
	if (p < end && *p == '.') {
		p++;
		while (p < end && pgdump_lex_is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *q = p + 1;

		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q < end && pgdump_lex_is_digit(*q)) {
			p = q;
			while (p < end && pgdump_lex_is_digit(*p))
				p++;
		}
	}
	if (p < end && (pgdump_lex_is_ident_char(*p) || *p == '.'))
		return pgdump_lex_fail(ps, t->line, "trailing junk after numeric literal");
	t->kind = PGDUMP_TOK_NUMBER;
	t->text = s;
	t->len = (size_t)(p - s);
	ps->p = p;
	return 0;
}

int
pgdump_lex_next(struct pgdump_parser *ps, struct pgdump_token *t)
{
	const char *p, *end = ps->end;
	char c;

	if (pgdump_lex_skip_space(ps) < 0)
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
	if (pgdump_lex_is_ident_start(c)) {
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
		while (p < end && pgdump_lex_is_ident_char(*p))
			high |= (unsigned char)*p++ >= 0x80;
		t->len = (size_t)(p - t->text);
		ps->p = p;
		if (high && !pgdump_lex_utf8_valid(t->text, t->len))
			return pgdump_lex_fail(ps, t->line, "invalid UTF-8 in identifier");
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
	if (pgdump_lex_is_digit(c) || (c == '.' && end - p >= 2 && pgdump_lex_is_digit(p[1])))
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

bool
pgdump_lex_is_word(const struct pgdump_token *t, const char *kw)
{
	return t->kind == PGDUMP_TOK_WORD && strlen(kw) == t->len &&
	    strncasecmp(t->text, kw, t->len) == 0;
}

bool
pgdump_lex_is_punct(const struct pgdump_token *t, char c)
{
	return t->kind == PGDUMP_TOK_PUNCT && t->c == c;
}

int
pgdump_lex_expect_word(struct pgdump_parser *ps, const char *kw)
{
	struct pgdump_token t;
	char want[48];

	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (!pgdump_lex_is_word(&t, kw)) {
		snprintf(want, sizeof(want), "%s", kw);
		for (char *w = want; *w != '\0'; w++)
			if (*w >= 'a' && *w <= 'z')
				*w = (char)(*w - 'a' + 'A');
		return pgdump_lex_unexpected(ps, &t, want);
	}
	return 0;
}

int
pgdump_lex_expect_punct(struct pgdump_parser *ps, char c)
{
	struct pgdump_token t;
	char want[8];

	if (pgdump_lex_next(ps, &t) < 0)
		return -1;
	if (!pgdump_lex_is_punct(&t, c)) {
		snprintf(want, sizeof(want), "'%c'", c);
		return pgdump_lex_unexpected(ps, &t, want);
	}
	return 0;
}

/* The identifier a WORD or QIDENT token names, in the arena: words are
 * folded to lower case as PostgreSQL does. */
const char *
pgdump_lex_ident(struct pgdump_parser *ps, const struct pgdump_token *t)
{
	char *s;

	if (t->kind == PGDUMP_TOK_QIDENT)
		return t->text;
	s = pgdump_lex_strndup(&ps->arena, t->text, t->len);
	for (char *w = s; *w != '\0'; w++)
		if (*w >= 'A' && *w <= 'Z')
			*w = (char)(*w - 'A' + 'a');
	return s;
}

/* Consumes tokens up to and including ';'.  start: the statement's line. */
int
pgdump_lex_skip_statement(struct pgdump_parser *ps, unsigned start, const char *what)
{
	struct pgdump_token t;

	for (;;) {
		if (pgdump_lex_next(ps, &t) < 0)
			return -1;
		if (t.kind == PGDUMP_TOK_EOF)
			return pgdump_lex_fail(ps, start, "unterminated %s statement (missing ';')", what);
		if (pgdump_lex_is_punct(&t, ';'))
			return 0;
	}
}

