/* replica: URL parsing and dispatch to the back ends (replica.h). */
#include "replica.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include "xmalloc.h"

int
replica_open(struct replica **r_r, const struct replica_config *cfg, char **err_r)
{
	struct replica *r = xcalloc(1, sizeof(*r));
	const char *url = cfg->url != NULL ? cfg->url : "";
	int rc = -1;

	if (strncmp(url, "file://", 7) == 0) {
		const char *path = url + 7;

		if (path[0] != '/' || path[1] == '\0') {
			*err_r = xasprintf("KUBARR_BACKUP_URL %s: a file replica needs an absolute "
			    "directory, as file:///var/backups/kubarr", url);
		} else {
			r->url = xstrdup(url);
			rc = replica_file_open(r, path, cfg, err_r);
		}
	} else if (strncmp(url, "s3://", 5) == 0) {
		const char *b = url + 5, *slash = strchr(b, '/');
		char *bucket = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
		char *prefix = xstrdup(slash ? slash + 1 : "");
		size_t pl = strlen(prefix);

		while (pl > 0 && prefix[pl - 1] == '/')
			prefix[--pl] = '\0';
		if (bucket[0] == '\0' || strchr(bucket, '@') != NULL || strchr(bucket, ':') != NULL) {
			*err_r = xasprintf("KUBARR_BACKUP_URL %s: expected s3://bucket[/prefix] "
			    "(credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, never the URL)",
			    url);
		} else {
			r->url = xasprintf("s3://%s%s%s", bucket, pl ? "/" : "", prefix);
			rc = replica_s3_open(r, bucket, prefix, cfg, err_r);
		}
		free(bucket);
		free(prefix);
	} else {
		*err_r = xasprintf("KUBARR_BACKUP_URL %s: unsupported scheme (file:///dir or "
		    "s3://bucket/prefix)", url);
	}
	if (rc != 0) {
		free(r->url);
		free(r);
		return -1;
	}
	*r_r = r;
	return 0;
}

void
replica_close(struct replica **rp)
{
	struct replica *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	if (r->ops != NULL && r->ops->close != NULL)
		r->ops->close(r);
	free(r->url);
	free(r);
}

const char *
replica_url(const struct replica *r)
{
	return r->url;
}

const char *
replica_kind(const struct replica *r)
{
	return r->ops->kind;
}

int
replica_put_fd(struct replica *r, const char *key, int fd, bool if_none_match, char **err_r)
{
	return r->ops->put_fd(r, key, fd, if_none_match, err_r);
}

int
replica_put_mem(struct replica *r, const char *key, const void *buf, size_t len,
    bool if_none_match, char **err_r)
{
	return r->ops->put_mem(r, key, buf, len, if_none_match, err_r);
}

int
replica_get_fd(struct replica *r, const char *key, int fd, uint64_t *size_r, char **err_r)
{
	return r->ops->get_fd(r, key, fd, size_r, err_r);
}

int
replica_open_local(struct replica *r, const char *key, int *fd_r, uint64_t *size_r, char **err_r)
{
	if (r->ops->open_local == NULL) {
		*err_r = xasprintf("a %s replica has no local files", r->ops->kind);
		return REPLICA_FAILED;
	}
	return r->ops->open_local(r, key, fd_r, size_r, err_r);
}

int
replica_get_mem(struct replica *r, const char *key, size_t max, uint8_t **buf_r, size_t *len_r,
    char **err_r)
{
	FILE *f = tmpfile();
	uint64_t size = 0;
	uint8_t *buf;
	int rc;

	if (f == NULL) {
		*err_r = xasprintf("temporary file: %m");
		return REPLICA_FAILED;
	}
	rc = replica_get_fd(r, key, fileno(f), &size, err_r);
	if (rc == REPLICA_OK && size > max) {
		*err_r = xasprintf("%s: %llu bytes, more than the %zu expected", key,
		    (unsigned long long)size, max);
		rc = REPLICA_FAILED;
	}
	if (rc == REPLICA_OK) {
		buf = xmalloc(size ? (size_t)size : 1);
		if (pread(fileno(f), buf, (size_t)size, 0) != (ssize_t)size) {
			*err_r = xasprintf("%s: reading the temporary copy: %m", key);
			free(buf);
			rc = REPLICA_FAILED;
		} else {
			*buf_r = buf;
			*len_r = (size_t)size;
		}
	}
	fclose(f);
	return rc;
}

static int
replica_obj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct replica_obj *)a)->key, ((const struct replica_obj *)b)->key);
}

int
replica_list(struct replica *r, const char *prefix, struct replica_list *l, char **err_r)
{
	size_t first = l->n;
	int rc = r->ops->list(r, prefix != NULL ? prefix : "", l, err_r);

	if (rc == REPLICA_OK && l->n > first)
		qsort(l->v + first, l->n - first, sizeof(*l->v), replica_obj_cmp);
	return rc;
}

void
replica_list_add(struct replica_list *l, const char *key, uint64_t size, int64_t mtime_ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct replica_obj){.key = xstrdup(key), .size = size, .mtime_ms = mtime_ms};
}

void
replica_list_free(struct replica_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	*l = (struct replica_list){0};
}

int
replica_delete(struct replica *r, const char *key, char **err_r)
{
	return r->ops->del(r, key, err_r);
}

const char *
replica_strerror(int rc)
{
	switch (rc) {
	case REPLICA_OK: return "ok";
	case REPLICA_NOT_FOUND: return "not found";
	case REPLICA_EXISTS: return "already exists";
	case REPLICA_FORBIDDEN: return "forbidden";
	case REPLICA_UNREACHABLE: return "unreachable";
	case REPLICA_CLOCK_SKEW: return "clock skew";
	default: return "failed";
	}
}
