/* s3_xml: S3's XML answers through expat (see s3_xml.h). */
#include "s3_xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

enum s3_xml_doc {
	S3_XML_DOC_LIST,
	S3_XML_DOC_INITIATE,
	S3_XML_DOC_COMPLETE,
	S3_XML_DOC_ERROR,
};

/* What an open element is to us. */
enum s3_xml_el {
	S3_XML_EL_SKIP,              /* unknown: content ignored */
	S3_XML_EL_ROOT,
	S3_XML_EL_CONTENTS,
	S3_XML_EL_FIELD,             /* text collected, handled at its end */
};

struct s3_xml_ctx {
	XML_Parser p;
	enum s3_xml_doc doc;
	int depth;
	int skip_depth;              /* > 0: inside an element we skip */
	enum s3_xml_el stack[S3_XML_MAX_DEPTH + 1];
	char field[32];              /* name of the open field */
	char text[S3_XML_MAX_TEXT + 1];
	size_t tlen;
	char *err;
	bool root_seen, is_error;
	/* list */
	struct s3_xml_list *list;
	struct s3_xml_object cur;
	bool cur_key, cur_size, cur_mtime, seen_truncated;
	/* initiate */
	char *upload_id;
	/* error */
	struct s3_xml_error *e;
	bool seen_code, seen_message, seen_server, seen_request;
};

static void s3_xml_fail(struct s3_xml_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s3_xml_fail(struct s3_xml_ctx *c, const char *fmt, ...)
{
	if (c->err == NULL) {
		char buf[160];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		c->err = xasprintf("%s (line %lu)", buf,
		    (unsigned long)XML_GetCurrentLineNumber(c->p));
	}
	XML_StopParser(c->p, XML_FALSE);
}

static bool
s3_xml_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
s3_xml_num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
s3_xml_parse_time(const char *s, int64_t *ms_r)
{
	struct tm tm;
	const char *p;
	int64_t ms = 0;
	time_t t;

	if (strlen(s) < 20 || !s3_xml_digits(s, 4) || s[4] != '-' || !s3_xml_digits(s + 5, 2) ||
	    s[7] != '-' || !s3_xml_digits(s + 8, 2) || s[10] != 'T' ||
	    !s3_xml_digits(s + 11, 2) || s[13] != ':' || !s3_xml_digits(s + 14, 2) ||
	    s[16] != ':' || !s3_xml_digits(s + 17, 2))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = s3_xml_num(s, 4) - 1900;
	tm.tm_mon = s3_xml_num(s + 5, 2) - 1;
	tm.tm_mday = s3_xml_num(s + 8, 2);
	tm.tm_hour = s3_xml_num(s + 11, 2);
	tm.tm_min = s3_xml_num(s + 14, 2);
	tm.tm_sec = s3_xml_num(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		int digits = 0;

		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits > 9)
				return -1;
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		}
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms_r = (int64_t)t * 1000 + ms;
	return 0;
}

static const char *
s3_xml_root_name(enum s3_xml_doc doc)
{
	switch (doc) {
	case S3_XML_DOC_LIST:
		return "ListBucketResult";
	case S3_XML_DOC_INITIATE:
		return "InitiateMultipartUploadResult";
	case S3_XML_DOC_COMPLETE:
		return "CompleteMultipartUploadResult";
	case S3_XML_DOC_ERROR:
		break;
	}
	return "Error";
}

/* Is `name` a field we read under the current element? */
static bool
s3_xml_is_field(const struct s3_xml_ctx *c, const char *name)
{
	enum s3_xml_el parent = c->stack[c->depth];

	if (parent == S3_XML_EL_CONTENTS)
		return strcmp(name, "Key") == 0 || strcmp(name, "Size") == 0 ||
		    strcmp(name, "LastModified") == 0;
	if (parent != S3_XML_EL_ROOT)
		return false;
	if (c->is_error)
		return strcmp(name, "Code") == 0 || strcmp(name, "Message") == 0 ||
		    strcmp(name, "ServerTime") == 0 || strcmp(name, "RequestTime") == 0;
	switch (c->doc) {
	case S3_XML_DOC_LIST:
		return strcmp(name, "IsTruncated") == 0 ||
		    strcmp(name, "NextContinuationToken") == 0;
	case S3_XML_DOC_INITIATE:
		return strcmp(name, "UploadId") == 0;
	default:
		return false;
	}
}

static void XMLCALL
s3_xml_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct s3_xml_ctx *c = arg;
	enum s3_xml_el el;

	(void)attrs;
	if (c->depth >= S3_XML_MAX_DEPTH) {
		s3_xml_fail(c, "nesting deeper than %d", S3_XML_MAX_DEPTH);
		return;
	}
	if (c->skip_depth > 0) {
		c->skip_depth++;
		c->depth++;
		c->stack[c->depth] = S3_XML_EL_SKIP;
		return;
	}
	if (c->depth == 0) {
		if (c->root_seen) {
			s3_xml_fail(c, "a second root element <%s>", name);
			return;
		}
		c->root_seen = true;
		if (strcmp(name, "Error") == 0 &&
		    (c->doc == S3_XML_DOC_COMPLETE || c->doc == S3_XML_DOC_ERROR)) {
			c->is_error = true;
		} else if (c->doc == S3_XML_DOC_ERROR ||
		    (strcmp(name, s3_xml_root_name(c->doc)) != 0 &&
		    !(c->doc == S3_XML_DOC_COMPLETE &&
		    strcmp(name, "CompleteMultipartUploadResponse") == 0))) {
			s3_xml_fail(c, "unexpected root element <%s>", name);
			return;
		}
		el = S3_XML_EL_ROOT;
	} else if (c->doc == S3_XML_DOC_LIST && !c->is_error && c->stack[c->depth] ==
	    S3_XML_EL_ROOT && strcmp(name, "Contents") == 0) {
		memset(&c->cur, 0, sizeof(c->cur));
		c->cur_key = c->cur_size = c->cur_mtime = false;
		el = S3_XML_EL_CONTENTS;
	} else if (c->stack[c->depth] == S3_XML_EL_FIELD) {
		s3_xml_fail(c, "element <%s> inside a text field", name);
		return;
	} else if (s3_xml_is_field(c, name)) {
		el = S3_XML_EL_FIELD;
		snprintf(c->field, sizeof(c->field), "%s", name);
		c->tlen = 0;
	} else {
		el = S3_XML_EL_SKIP;
		c->skip_depth = 1;
	}
	c->depth++;
	c->stack[c->depth] = el;
}

static void XMLCALL
s3_xml_text(void *arg, const XML_Char *s, int len)
{
	struct s3_xml_ctx *c = arg;

	if (c->depth == 0 || c->skip_depth > 0)
		return;
	if (c->stack[c->depth] != S3_XML_EL_FIELD) {
		for (int i = 0; i < len; i++)
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
				s3_xml_fail(c, "text outside a field");
				return;
			}
		return;
	}
	if (c->tlen + (size_t)len > S3_XML_MAX_TEXT) {
		s3_xml_fail(c, "<%s> too long", c->field);
		return;
	}
	memcpy(c->text + c->tlen, s, (size_t)len);
	c->tlen += (size_t)len;
	c->text[c->tlen] = '\0';
}

static bool
s3_xml_once(struct s3_xml_ctx *c, bool *seen)
{
	if (*seen) {
		s3_xml_fail(c, "<%s> twice", c->field);
		return false;
	}
	*seen = true;
	return true;
}

static void
s3_xml_field_end(struct s3_xml_ctx *c, enum s3_xml_el parent)
{
	const char *f = c->field, *t = c->text;

	c->text[c->tlen] = '\0';
	if (strlen(t) != c->tlen) {
		s3_xml_fail(c, "NUL in <%s>", f);
		return;
	}
	if (parent == S3_XML_EL_CONTENTS) {
		if (strcmp(f, "Key") == 0) {
			if (!s3_xml_once(c, &c->cur_key))
				return;
			if (c->tlen == 0 || c->tlen > 1024) {
				s3_xml_fail(c, "empty or over-long <Key>");
				return;
			}
			c->cur.key = xstrdup(t);
		} else if (strcmp(f, "Size") == 0) {
			uint64_t v = 0;

			if (!s3_xml_once(c, &c->cur_size))
				return;
			if (c->tlen == 0 || c->tlen > 20 || !s3_xml_digits(t, c->tlen)) {
				s3_xml_fail(c, "bad <Size> '%s'", t);
				return;
			}
			for (size_t i = 0; i < c->tlen; i++) {
				if (v > (UINT64_MAX - (uint64_t)(t[i] - '0')) / 10) {
					s3_xml_fail(c, "bad <Size> '%s'", t);
					return;
				}
				v = v * 10 + (uint64_t)(t[i] - '0');
			}
			c->cur.size = v;
		} else {
			if (!s3_xml_once(c, &c->cur_mtime))
				return;
			if (s3_xml_parse_time(t, &c->cur.mtime_ms) != 0) {
				s3_xml_fail(c, "bad <LastModified> '%s'", t);
				return;
			}
		}
		return;
	}
	if (c->is_error) {
		if (strcmp(f, "Code") == 0) {
			if (s3_xml_once(c, &c->seen_code))
				c->e->code = xstrdup(t);
		} else if (strcmp(f, "Message") == 0) {
			if (s3_xml_once(c, &c->seen_message))
				c->e->message = xstrdup(t);
		} else if (strcmp(f, "ServerTime") == 0) {
			if (s3_xml_once(c, &c->seen_server) &&
			    s3_xml_parse_time(t, &c->e->server_time_ms) != 0)
				c->e->server_time_ms = 0;
		} else if (s3_xml_once(c, &c->seen_request) &&
		    s3_xml_parse_time(t, &c->e->request_time_ms) != 0) {
			c->e->request_time_ms = 0;
		}
		return;
	}
	if (strcmp(f, "IsTruncated") == 0) {
		if (!s3_xml_once(c, &c->seen_truncated))
			return;
		if (strcmp(t, "true") == 0)
			c->list->truncated = true;
		else if (strcmp(t, "false") == 0)
			c->list->truncated = false;
		else
			s3_xml_fail(c, "bad <IsTruncated> '%s'", t);
	} else if (strcmp(f, "NextContinuationToken") == 0) {
		if (c->list->next_token != NULL) {
			s3_xml_fail(c, "<%s> twice", f);
			return;
		}
		c->list->next_token = xstrdup(t);
	} else if (strcmp(f, "UploadId") == 0) {
		if (c->upload_id != NULL) {
			s3_xml_fail(c, "<%s> twice", f);
			return;
		}
		c->upload_id = xstrdup(t);
	}
}

static void XMLCALL
s3_xml_end(void *arg, const XML_Char *name)
{
	struct s3_xml_ctx *c = arg;
	enum s3_xml_el el = c->stack[c->depth];

	(void)name;
	c->depth--;
	if (c->skip_depth > 0) {
		c->skip_depth--;
		return;
	}
	if (el == S3_XML_EL_FIELD) {
		s3_xml_field_end(c, c->stack[c->depth]);
	} else if (el == S3_XML_EL_CONTENTS) {
		struct s3_xml_list *l = c->list;

		if (!c->cur_key || !c->cur_size) {
			free(c->cur.key);
			c->cur.key = NULL;
			s3_xml_fail(c, "<Contents> without <Key> or <Size>");
			return;
		}
		if (l->n >= S3_XML_MAX_OBJECTS) {
			free(c->cur.key);
			c->cur.key = NULL;
			s3_xml_fail(c, "more than %d objects", S3_XML_MAX_OBJECTS);
			return;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n++] = c->cur;
		memset(&c->cur, 0, sizeof(c->cur));
	}
}

static void XMLCALL
s3_xml_doctype(void *arg, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
    int has_internal_subset)
{
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	s3_xml_fail(arg, "DOCTYPE <%s> not allowed", name);
}

static void XMLCALL
s3_xml_entity(void *arg, const XML_Char *name, int is_param, const XML_Char *value,
    int value_length, const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
    const XML_Char *notation)
{
	(void)is_param;
	(void)value;
	(void)value_length;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	s3_xml_fail(arg, "entity declaration '%s' not allowed", name);
}

static int
s3_xml_run(struct s3_xml_ctx *c, const char *buf, size_t len, char **err_r)
{
	int rc = 0;

	/* S3 may send whitespace ahead of a slow CompleteMultipartUpload's answer. */
	while (len > 0 && (*buf == ' ' || *buf == '\t' || *buf == '\r' || *buf == '\n')) {
		buf++;
		len--;
	}
	if (len == 0 || len > S3_XML_MAX_DOC) {
		*err_r = xasprintf("XML answer of %zu bytes (1 to %u allowed)", len,
		    (unsigned)S3_XML_MAX_DOC);
		return -1;
	}
	c->p = XML_ParserCreate("UTF-8");
	if (c->p == NULL) {
		*err_r = xstrdup("XML parser: out of memory");
		return -1;
	}
	XML_SetUserData(c->p, c);
	XML_SetElementHandler(c->p, s3_xml_start, s3_xml_end);
	XML_SetCharacterDataHandler(c->p, s3_xml_text);
	XML_SetStartDoctypeDeclHandler(c->p, s3_xml_doctype);
	XML_SetEntityDeclHandler(c->p, s3_xml_entity);
	XML_SetParamEntityParsing(c->p, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(c->p, buf, (int)len, XML_TRUE) != XML_STATUS_OK) {
		if (c->err == NULL)
			c->err = xasprintf("%s (line %lu)", XML_ErrorString(XML_GetErrorCode(c->p)),
			    (unsigned long)XML_GetCurrentLineNumber(c->p));
		rc = -1;
	} else if (!c->root_seen) {
		c->err = xstrdup("no root element");
		rc = -1;
	}
	XML_ParserFree(c->p);
	c->p = NULL;
	free(c->cur.key);
	c->cur.key = NULL;
	if (rc != 0) {
		*err_r = xasprintf("malformed %s: %s",
		    c->is_error ? "Error" : s3_xml_root_name(c->doc), c->err);
		free(c->err);
		c->err = NULL;
	}
	return rc;
}

void
s3_xml_list_fini(struct s3_xml_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int
s3_xml_parse_list(const char *buf, size_t len, struct s3_xml_list *out, char **err_r)
{
	struct s3_xml_ctx c = {.doc = S3_XML_DOC_LIST, .list = out};

	memset(out, 0, sizeof(*out));
	if (s3_xml_run(&c, buf, len, err_r) != 0) {
		s3_xml_list_fini(out);
		return -1;
	}
	if (!c.seen_truncated || (out->truncated &&
	    (out->next_token == NULL || out->next_token[0] == '\0'))) {
		*err_r = xstrdup("malformed ListBucketResult: no <IsTruncated>, or truncated "
				 "without <NextContinuationToken>");
		s3_xml_list_fini(out);
		return -1;
	}
	return 0;
}

int
s3_xml_parse_initiate(const char *buf, size_t len, char **upload_id_r, char **err_r)
{
	struct s3_xml_ctx c = {.doc = S3_XML_DOC_INITIATE};

	*upload_id_r = NULL;
	if (s3_xml_run(&c, buf, len, err_r) != 0) {
		free(c.upload_id);
		return -1;
	}
	if (c.upload_id == NULL || c.upload_id[0] == '\0') {
		free(c.upload_id);
		*err_r = xstrdup("malformed InitiateMultipartUploadResult: no <UploadId>");
		return -1;
	}
	*upload_id_r = c.upload_id;
	return 0;
}

void
s3_xml_error_fini(struct s3_xml_error *e)
{
	free(e->code);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

static int
s3_xml_error_doc(enum s3_xml_doc doc, const char *buf, size_t len, struct s3_xml_error *e,
    char **err_r)
{
	struct s3_xml_ctx c = {.doc = doc, .e = e};

	memset(e, 0, sizeof(*e));
	if (s3_xml_run(&c, buf, len, err_r) != 0) {
		s3_xml_error_fini(e);
		return -1;
	}
	if (!c.is_error)
		return 0;
	if (e->code == NULL || e->code[0] == '\0') {
		s3_xml_error_fini(e);
		*err_r = xstrdup("malformed Error: no <Code>");
		return -1;
	}
	if (e->message == NULL)
		e->message = xstrdup("");
	return 1;
}

int
s3_xml_parse_complete(const char *buf, size_t len, struct s3_xml_error *e, char **err_r)
{
	return s3_xml_error_doc(S3_XML_DOC_COMPLETE, buf, len, e, err_r);
}

int
s3_xml_parse_error(const char *buf, size_t len, struct s3_xml_error *e, char **err_r)
{
	return s3_xml_error_doc(S3_XML_DOC_ERROR, buf, len, e, err_r) == 1 ? 0 : -1;
}
