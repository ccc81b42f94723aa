/* replica_s3_testshim: minimal replica_list_add / replica_list_free /
 * replica_strerror so the s3 back end's tests link while replica.c is being
 * written on another branch.  Linked ONLY by tests/integration/test_replica_s3
 * (never by kubarr_storaged_core); delete it once replica.c lands. */
#include <stdlib.h>
#include <string.h>

#include "replica.h"
#include "xmalloc.h"

void
replica_list_add(struct replica_list *l, const char *key, uint64_t size, int64_t mtime_ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].size = size;
	l->v[l->n].mtime_ms = mtime_ms;
	l->n++;
}

void
replica_list_free(struct replica_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *
replica_strerror(int rc)
{
	switch (rc) {
	case REPLICA_OK:
		return "ok";
	case REPLICA_NOT_FOUND:
		return "not found";
	case REPLICA_EXISTS:
		return "exists";
	case REPLICA_FORBIDDEN:
		return "forbidden";
	case REPLICA_UNREACHABLE:
		return "unreachable";
	case REPLICA_CLOCK_SKEW:
		return "clock skew";
	default:
		return "failed";
	}
}
