/* cookies: Cookie header parsing and Set-Cookie values.  See cookies.h. */
#include "cookies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const char cookies_prefix[] = "kubarr_session";

static char *
cookies_trim(char *s, char **end)
{
	while (s < *end && (*s == ' ' || *s == '\t'))
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
	return s;
}

/* One "name=value" pair, NUL-terminated in place (the caller cut at ';'). */
static void
cookies_pair(struct cookie_jar *jar, char *s, char *end)
{
	char *eq, *name, *value, *vend;
	size_t nlen, plen = sizeof(cookies_prefix) - 1;

	s = cookies_trim(s, &end);
	eq = memchr(s, '=', (size_t)(end - s));
	if (eq == NULL)
		return;
	vend = eq;
	name = cookies_trim(s, &vend);
	nlen = (size_t)(vend - name);
	value = eq + 1;
	value = cookies_trim(value, &end);
	if (end - value >= 2 && *value == '"' && end[-1] == '"') {
		value++;
		end--;
	}
	*end = '\0';
	if ((size_t)(end - value) > COOKIES_MAX_VALUE || end == value)
		return;
	if (nlen == 13 && memcmp(name, "kubarr_active", 13) == 0) {
		if (jar->active == -1 && end - value == 1 && *value >= '0' &&
		    *value < '0' + COOKIES_SLOTS)
			jar->active = *value - '0';
		else if (jar->active == -1)
			jar->active = -2;   /* present but invalid: first occurrence wins */
		return;
	}
	if (nlen < plen || memcmp(name, cookies_prefix, plen) != 0)
		return;
	if (nlen == plen) {
		if (jar->legacy == NULL)
			jar->legacy = value;
		return;
	}
	if (nlen == plen + 2 && name[plen] == '_' && name[plen + 1] >= '0' &&
	    name[plen + 1] < '0' + COOKIES_SLOTS) {
		int slot = name[plen + 1] - '0';

		if (jar->slot[slot] == NULL)
			jar->slot[slot] = value;
	}
}

int
cookies_parse(const char *header, struct cookie_jar *jar, const char **err_r)
{
	size_t len;
	char *p, *end;

	memset(jar, 0, sizeof(*jar));
	jar->active = -1;
	if (header == NULL)
		return 0;
	len = strlen(header);
	if (len > COOKIES_MAX_HEADER) {
		*err_r = "Cookie header too large";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)header[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*err_r = "control character in Cookie header";
			return -1;
		}
	}
	jar->buf = xmalloc(len + 1);
	memcpy(jar->buf, header, len + 1);
	p = jar->buf;
	end = p + len;
	while (p < end) {
		char *semi = memchr(p, ';', (size_t)(end - p));
		char *stop = semi != NULL ? semi : end;

		cookies_pair(jar, p, stop);
		p = stop + 1;
	}
	if (jar->active < -1)
		jar->active = -1;
	return 0;
}

void
cookies_jar_fini(struct cookie_jar *jar)
{
	free(jar->buf);
	memset(jar, 0, sizeof(*jar));
	jar->active = -1;
}

const char *
cookies_pick(const struct cookie_jar *jar, int *slot_r)
{
	int active = jar->active >= 0 ? jar->active : 0;

	if (jar->slot[active] != NULL) {
		*slot_r = active;
		return jar->slot[active];
	}
	for (int i = 0; i < COOKIES_SLOTS; i++)
		if (jar->slot[i] != NULL) {
			*slot_r = i;
			return jar->slot[i];
		}
	*slot_r = COOKIES_LEGACY;
	return jar->legacy;
}

static void
cookies_format(char *out, const char *name, const char *value, long max_age, bool http_only,
    bool secure)
{
	snprintf(out, COOKIES_SET_MAX, "%s=%s; Path=/; Max-Age=%ld; SameSite=Lax%s%s", name,
	    value != NULL ? value : "", value != NULL ? max_age : 0L, http_only ? "; HttpOnly" : "",
	    secure ? "; Secure" : "");
}

void
cookies_set_session(char *out, int slot, const char *value, long max_age, bool secure)
{
	char name[32];

	if (slot == COOKIES_LEGACY)
		snprintf(name, sizeof(name), "%s", cookies_prefix);
	else
		snprintf(name, sizeof(name), "%s_%d", cookies_prefix, slot);
	cookies_format(out, name, value, max_age, true, secure);
}

void
cookies_set_active(char *out, int slot, long max_age, bool secure)
{
	char v[2] = {(char)('0' + (slot < 0 || slot >= COOKIES_SLOTS ? 0 : slot)), '\0'};

	cookies_format(out, "kubarr_active", slot < 0 ? NULL : v, max_age, false, secure);
}
