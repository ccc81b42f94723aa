/* persist: the store's state file, so rates and history survive a restart.
 *
 * Written every KUBARR_METRICS_PERSIST_INTERVAL_S and at SIGTERM: the whole
 * state into a temporary file beside it, fsync, rename over the old one,
 * fsync the directory; a crash leaves the old file or the new one, never a
 * mix.  Read at start when it is fresh enough.  The file is checked before
 * anything is used (magic, version, byte order, ring geometry, sizes, an
 * FNV-1a checksum of the whole); an unusable file is logged and ignored.
 *
 * Layout (host byte order, checked by a marker; the file never travels):
 *   "KMSTATE1" u32 version u32 0x01020304 i64 saved_ms
 *   u32 rings {i64 step u32 cap}* u32 series_width u32 cluster_width u32 nseries
 *   cluster: u8 has_prev f64 busy_prev f64 all_prev f64 cpu_pct rings
 *   series*: u16 len name i64 last_seen u32 pods u8 flags f64 memory
 *            rate[9] {f64 prev i64 prev_ms f64 win[5] u8 n u8 pos f64 value} rings
 *   rings:   per ring {i64 last u32 count f32 v[cap * width]}
 *   u64 checksum of everything before */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define PERSIST_MAGIC "KMSTATE1"
#define PERSIST_VERSION 1u
#define PERSIST_BOM 0x01020304u
#define PERSIST_MAX_BYTES (512u * 1024 * 1024)

struct persist_buf {
	uint8_t *p;
	size_t len, cap, off;  /* off: read position */
	bool bad;
};

static void
persist_put(struct persist_buf *b, const void *v, size_t n)
{
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap ? b->cap * 2 : 65536;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void
persist_get(struct persist_buf *b, void *v, size_t n)
{
	if (b->bad || b->len - b->off < n) {
		b->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, b->p + b->off, n);
	b->off += n;
}

#define PUT(b, x) persist_put((b), &(x), sizeof(x))
#define GET(b, x) persist_get((b), &(x), sizeof(x))

static uint64_t
persist_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
persist_put_rings(struct persist_buf *b, const struct ring *rings)
{
	for (int i = 0; i < STORE_RINGS; i++) {
		PUT(b, rings[i].last);
		PUT(b, rings[i].count);
		persist_put(b, rings[i].v, RING_FLOATS(rings[i].cap, rings[i].width) * sizeof(float));
	}
}

/* A ring's newest step must be empty or between 0 and now (+1 min of clock skew). */
static void
persist_get_rings(struct persist_buf *b, struct ring *rings, int64_t now_s)
{
	for (int i = 0; i < STORE_RINGS; i++) {
		GET(b, rings[i].last);
		GET(b, rings[i].count);
		persist_get(b, rings[i].v, RING_FLOATS(rings[i].cap, rings[i].width) * sizeof(float));
		if (rings[i].last != RING_EMPTY &&
		    (rings[i].last < 0 || rings[i].last > (now_s + 60) / rings[i].step_s))
			b->bad = true;
	}
}

static void
persist_put_rate(struct persist_buf *b, const struct rate *r)
{
	PUT(b, r->prev);
	PUT(b, r->prev_ms);
	persist_put(b, r->win, sizeof(r->win));
	PUT(b, r->n);
	PUT(b, r->pos);
	PUT(b, r->value);
}

static void
persist_get_rate(struct persist_buf *b, struct rate *r)
{
	GET(b, r->prev);
	GET(b, r->prev_ms);
	persist_get(b, r->win, sizeof(r->win));
	GET(b, r->n);
	GET(b, r->pos);
	GET(b, r->value);
	if (r->n > RATE_WINDOW || r->pos >= RATE_WINDOW)
		b->bad = true;
}

static void
persist_header(struct persist_buf *b, int64_t saved_ms, uint32_t nseries)
{
	uint32_t v = PERSIST_VERSION, bom = PERSIST_BOM, nrings = STORE_RINGS;
	uint32_t sw = STORE_SERIES_WIDTH, cw = STORE_CLUSTER_WIDTH;

	persist_put(b, PERSIST_MAGIC, 8);
	PUT(b, v);
	PUT(b, bom);
	PUT(b, saved_ms);
	PUT(b, nrings);
	for (int i = 0; i < STORE_RINGS; i++) {
		PUT(b, store_ring_geoms[i].step_s);
		PUT(b, store_ring_geoms[i].cap);
	}
	PUT(b, sw);
	PUT(b, cw);
	PUT(b, nseries);
}

/* The collector thread is the only writer: reading without the lock is safe. */
int
store_save(struct store *st, const char *path, int64_t now_ms, char **err_r)
{
	struct persist_buf b = {0};
	struct store_cluster *c = &st->cluster;
	struct lru_node *n;
	char *tmp = xasprintf("%s.tmp", path), *dirc = xstrdup(path);
	uint8_t hp = c->has_prev;
	uint64_t h;
	int fd = -1, dfd, rc = -1;
	size_t off = 0;

	persist_header(&b, now_ms, (uint32_t)st->series.n);
	PUT(&b, hp);
	PUT(&b, c->busy_prev);
	PUT(&b, c->all_prev);
	PUT(&b, c->cpu_pct);
	persist_put_rings(&b, c->rings);
	for (n = lru_oldest(&st->series); n != NULL; n = lru_newer(&st->series, n)) {
		struct series *s = LRU_ENTRY(n, struct series, node);
		uint16_t len = (uint16_t)strlen(s->name);
		uint8_t flags = (uint8_t)((s->has_cpu ? 1 : 0) | (s->has_memory ? 2 : 0));
		uint32_t pods = s->pods;

		PUT(&b, len);
		persist_put(&b, s->name, len);
		PUT(&b, s->last_seen_ms);
		PUT(&b, pods);
		PUT(&b, flags);
		PUT(&b, s->memory);
		for (int k = 0; k < CTR_COUNT; k++)
			persist_put_rate(&b, &s->net[k]);
		persist_put_rate(&b, &s->cpu);
		persist_put_rings(&b, s->rings);
	}
	h = persist_hash(b.p, b.len);
	PUT(&b, h);

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		*err_r = xasprintf("create %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < b.len) {
		ssize_t w = write(fd, b.p + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err_r = xasprintf("write %s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		*err_r = xasprintf("fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		*err_r = xasprintf("rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((dfd = open(dirname(dirc), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	pthread_mutex_lock(&st->lock);
	if (rc == 0)
		st->saves++;
	else
		st->save_failures++;
	pthread_mutex_unlock(&st->lock);
	free(b.p);
	free(tmp);
	free(dirc);
	return rc;
}

static int
persist_read_file(const char *path, struct persist_buf *b, char **err_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	ssize_t r;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*err_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || sb.st_size < 0 || (uint64_t)sb.st_size > PERSIST_MAX_BYTES) {
		*err_r = xasprintf("%s: unreadable or too large", path);
		close(fd);
		return -1;
	}
	b->cap = (size_t)sb.st_size + 1;
	b->p = xmalloc(b->cap);
	while (b->len < (size_t)sb.st_size && (r = read(fd, b->p + b->len, (size_t)sb.st_size - b->len)) > 0)
		b->len += (size_t)r;
	close(fd);
	return 1;
}

int
store_load(struct store *st, const char *path, int64_t now_ms, int64_t max_age_ms, char **err_r)
{
	struct persist_buf b = {0};
	struct store_cluster *cl = NULL;
	struct series **list = NULL;
	char magic[8];
	uint32_t version, bom, nrings, sw, cw, nseries = 0;
	int64_t saved_ms;
	uint64_t h, want;
	uint8_t hp;
	int rc;

	if ((rc = persist_read_file(path, &b, err_r)) <= 0)
		return rc;
	rc = -1;
	if (b.len < 8 + sizeof(h)) {
		*err_r = xasprintf("%s: truncated", path);
		goto out;
	}
	memcpy(&want, b.p + b.len - sizeof(want), sizeof(want));
	h = persist_hash(b.p, b.len - sizeof(want));
	b.len -= sizeof(want);
	if (h != want) {
		*err_r = xasprintf("%s: checksum mismatch (torn or damaged)", path);
		goto out;
	}
	persist_get(&b, magic, sizeof(magic));
	GET(&b, version);
	GET(&b, bom);
	GET(&b, saved_ms);
	if (b.bad || memcmp(magic, PERSIST_MAGIC, 8) != 0 || version != PERSIST_VERSION ||
	    bom != PERSIST_BOM) {
		*err_r = xasprintf("%s: not a metricsd state file of this version", path);
		goto out;
	}
	if (now_ms - saved_ms > max_age_ms || saved_ms > now_ms + 60000) {
		log_info("state file %s is %lld s old: starting empty", path,
		    (long long)((now_ms - saved_ms) / 1000));
		rc = 0;
		goto out;
	}
	GET(&b, nrings);
	if (nrings != STORE_RINGS) {
		*err_r = xasprintf("%s: other ring geometry", path);
		goto out;
	}
	for (int i = 0; i < STORE_RINGS; i++) {
		int64_t step;
		uint32_t cap;

		GET(&b, step);
		GET(&b, cap);
		if (step != store_ring_geoms[i].step_s || cap != store_ring_geoms[i].cap) {
			*err_r = xasprintf("%s: other ring geometry", path);
			goto out;
		}
	}
	GET(&b, sw);
	GET(&b, cw);
	GET(&b, nseries);
	if (b.bad || sw != STORE_SERIES_WIDTH || cw != STORE_CLUSTER_WIDTH ||
	    nseries > (b.len - b.off) / (sizeof(float) * STORE_SLOTS * STORE_SERIES_WIDTH)) {
		*err_r = xasprintf("%s: bad header", path);
		goto out;
	}
	/* Everything into new objects first: the store changes only if all of it is good. */
	cl = xcalloc(1, sizeof(*cl));
	store_cluster_rings_init(cl);
	GET(&b, hp);
	cl->has_prev = hp != 0;
	GET(&b, cl->busy_prev);
	GET(&b, cl->all_prev);
	GET(&b, cl->cpu_pct);
	persist_get_rings(&b, cl->rings, now_ms / 1000);
	list = xcalloc(nseries + 1, sizeof(*list));
	for (uint32_t i = 0; i < nseries && !b.bad; i++) {
		struct series *s;
		char name[COLLECT_NAME_MAX];
		uint16_t len;
		uint32_t pods;
		uint8_t flags;

		GET(&b, len);
		if (len == 0 || len >= sizeof(name)) {
			b.bad = true;
			break;
		}
		persist_get(&b, name, len);
		name[len] = '\0';
		if (strlen(name) != len) {
			b.bad = true;
			break;
		}
		s = list[i] = store_series_alloc(name);
		GET(&b, s->last_seen_ms);
		GET(&b, pods);
		GET(&b, flags);
		GET(&b, s->memory);
		s->pods = pods;
		s->has_cpu = flags & 1;
		s->has_memory = (flags & 2) != 0;
		for (int k = 0; k < CTR_COUNT; k++)
			persist_get_rate(&b, &s->net[k]);
		persist_get_rate(&b, &s->cpu);
		persist_get_rings(&b, s->rings, now_ms / 1000);
	}
	if (b.bad || b.off != b.len) {
		*err_r = xasprintf("%s: malformed body", path);
		goto out;
	}
	pthread_mutex_lock(&st->lock);
	for (uint32_t i = 0; i < nseries; i++) {
		if (lru_find(&st->series, list[i]->name) != NULL || st->series.n >= st->cfg.max_series) {
			free(list[i]);
			continue;
		}
		/* oldest first in the file: inserting in order keeps the recency order */
		lru_insert(&st->series, &list[i]->node, list[i]->name);
		st->loaded++;
	}
	st->cluster.has_prev = cl->has_prev;
	st->cluster.busy_prev = cl->busy_prev;
	st->cluster.all_prev = cl->all_prev;
	st->cluster.cpu_pct = cl->cpu_pct;
	memcpy(st->cluster.data, cl->data, sizeof(cl->data));
	for (int i = 0; i < STORE_RINGS; i++) {
		st->cluster.rings[i].last = cl->rings[i].last;
		st->cluster.rings[i].count = cl->rings[i].count;
	}
	pthread_mutex_unlock(&st->lock);
	free(list);
	list = NULL;
	nseries = 0;
	rc = 1;
out:
	if (list != NULL)
		for (uint32_t i = 0; i < nseries; i++)
			free(list[i]);
	free(list);
	free(cl);
	free(b.p);
	return rc;
}
