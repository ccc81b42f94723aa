#include "collect.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void
collect_reset(struct collect_result *res)
{
	struct collect_ns *ns = res->ns;
	struct collect_edge *e = res->edges;
	size_t cap = res->cap, ecap = res->edges_cap;

	memset(res, 0, sizeof(*res));
	res->ns = ns;
	res->cap = cap;
	res->edges = e;
	res->edges_cap = ecap;
}

void
collect_free(struct collect_result *res)
{
	free(res->ns);
	free(res->edges);
	memset(res, 0, sizeof(*res));
}

struct collect_ns *
collect_ns_get(struct collect_result *res, const char *name)
{
	/* Linear: callers with many series (procfs) use collect_ns_add. */
	for (size_t i = res->n; i > 0; i--)
		if (strcmp(res->ns[i - 1].name, name) == 0)
			return &res->ns[i - 1];
	return collect_ns_add(res, name);
}

struct collect_ns *
collect_ns_add(struct collect_result *res, const char *name)
{
	struct collect_ns *ns;

	if (res->n == res->cap) {
		res->cap = res->cap ? res->cap * 2 : 64;
		res->ns = xrealloc(res->ns, res->cap * sizeof(*res->ns));
	}
	ns = &res->ns[res->n++];
	memset(ns, 0, sizeof(*ns));
	collect_name_copy(ns->name, name, strlen(name));
	return ns;
}

struct collect_edge *
collect_edge_add(struct collect_result *res)
{
	struct collect_edge *e;

	if (res->nedges == res->edges_cap) {
		res->edges_cap = res->edges_cap ? res->edges_cap * 2 : 16;
		res->edges = xrealloc(res->edges, res->edges_cap * sizeof(*res->edges));
	}
	e = &res->edges[res->nedges++];
	memset(e, 0, sizeof(*e));
	return e;
}

void
collect_name_copy(char *dst, const char *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && src[i] != '\0' && n < COLLECT_NAME_MAX - 1; i++) {
		char c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-';

		dst[n++] = ok ? c : '_';
	}
	dst[n] = '\0';
}
