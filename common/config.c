#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "xmalloc.h"

static struct config_var *
config_find(const struct config *cfg, const char *name, size_t limit)
{
	for (size_t i = 0; i < limit; i++) {
		if (strcmp(cfg->vars[i].name, name) == 0)
			return &cfg->vars[i];
	}
	return NULL;
}

/* Expands ${NAME} references to variables already loaded (index < limit). */
static char *
config_expand(const struct config *cfg, const char *text, size_t limit)
{
	size_t cap = strlen(text) + 1, len = 0;
	char *out = xmalloc(cap);

	for (const char *p = text; *p != '\0';) {
		const char *end;
		const char *rep = NULL;
		size_t rlen = 1;

		if (p[0] == '$' && p[1] == '{' && (end = strchr(p, '}')) != NULL) {
			char name[128];
			size_t nlen = (size_t)(end - p - 2);
			struct config_var *v = NULL;

			if (nlen < sizeof(name)) {
				memcpy(name, p + 2, nlen);
				name[nlen] = '\0';
				v = config_find(cfg, name, limit);
			}
			if (v != NULL) {
				rep = v->value;
				rlen = strlen(rep);
				p = end + 1;
			}
		}
		if (rep == NULL)
			rep = p++;
		if (len + rlen + 1 > cap) {
			cap = (len + rlen + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, rep, rlen);
		len += rlen;
	}
	out[len] = '\0';
	return out;
}

int
config_parse_addr(const char *text, char **host_r, unsigned *port_r)
{
	const char *colon, *host = text;
	size_t hlen;
	char *end;
	unsigned long port;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		host = text + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
			return -1;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || colon[1] == '\0')
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -1;
	*host_r = xstrndup(host, hlen);
	*port_r = (unsigned)port;
	return 0;
}

static int
config_parse_bool(const char *s, long long *num_r)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*num_r = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*num_r = 0;
			return 0;
		}
	}
	return -1;
}

static int
config_check(struct config_var *v, char **err_r)
{
	const char *s = v->value;

	if (*s == '\0') {
		if (v->flags & CONFIG_EMPTY_OK)
			return 0;
		*err_r = xasprintf("%s: must not be empty", v->name);
		return -1;
	}
	switch (v->kind) {
	case CONFIG_STR:
	case CONFIG_PATH:
		return 0;
	case CONFIG_INT: {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0') {
			*err_r = xasprintf("%s: '%s' is not an integer", v->name, s);
			return -1;
		}
		if (n < v->min || n > v->max) {
			*err_r = xasprintf("%s: %lld is outside %lld..%lld", v->name, n, v->min, v->max);
			return -1;
		}
		v->num = n;
		return 0;
	}
	case CONFIG_BOOL:
		if (config_parse_bool(s, &v->num) != 0) {
			*err_r = xasprintf("%s: '%s' is not a boolean (1/0, true/false, yes/no, on/off)",
			    v->name, s);
			return -1;
		}
		return 0;
	case CONFIG_ENUM: {
		size_t len = strlen(s);
		for (const char *c = v->choices; c != NULL && *c != '\0';) {
			const char *bar = strchr(c, '|');
			size_t clen = bar ? (size_t)(bar - c) : strlen(c);
			if (clen == len && strncmp(c, s, len) == 0)
				return 0;
			c = bar ? bar + 1 : NULL;
		}
		*err_r = xasprintf("%s: '%s' is not one of %s", v->name, s, v->choices);
		return -1;
	}
	case CONFIG_ADDR: {
		char *host;
		unsigned port;

		if (config_parse_addr(s, &host, &port) != 0) {
			*err_r = xasprintf("%s: '%s' is not host:port", v->name, s);
			return -1;
		}
		free(host);
		return 0;
	}
	}
	*err_r = xasprintf("%s: unknown kind", v->name);
	return -1;
}

int
config_load(struct config *cfg, char **err_r)
{
	for (size_t i = 0; i < cfg->n; i++) {
		struct config_var *v = &cfg->vars[i];
		const char *env = getenv(v->name);

		free(v->value);
		v->from_env = env != NULL;
		v->value = config_expand(cfg, env != NULL ? env : (v->def ? v->def : ""), i);
		if (config_check(v, err_r) != 0)
			return -1;
	}
	return 0;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->vars[i].value);
		cfg->vars[i].value = NULL;
	}
}

static const struct config_var *
config_must(const struct config *cfg, const char *name)
{
	const struct config_var *v = config_find(cfg, name, cfg->n);

	if (v == NULL || v->value == NULL) {
		log_error("config: %s is not declared or not loaded", name);
		abort();
	}
	return v;
}

const char *
config_str(const struct config *cfg, const char *name)
{
	return config_must(cfg, name)->value;
}

long long
config_int(const struct config *cfg, const char *name)
{
	return config_must(cfg, name)->num;
}

bool
config_bool(const struct config *cfg, const char *name)
{
	return config_must(cfg, name)->num != 0;
}

void
config_log(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct config_var *v = &cfg->vars[i];
		int secret = (v->flags & CONFIG_SECRET) && *v->value != '\0';

		log_info("config %s=%s%s", v->name, secret ? "<redacted>" : v->value,
		    v->from_env ? "" : " (default)");
	}
}

void
config_usage(const struct config *cfg, FILE *out)
{
	fprintf(out, "Environment (defaults in brackets):\n");
	for (size_t i = 0; i < cfg->n; i++) {
		const struct config_var *v = &cfg->vars[i];

		fprintf(out, "  %-30s %s [%s]\n", v->name, v->help, v->def ? v->def : "");
	}
}
