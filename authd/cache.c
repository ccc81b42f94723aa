/* cache: see cache.h.  A chained hash table plus a doubly linked LRU list. */
#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct cache_entry {
	unsigned char key[CACHE_KEY_BYTES];
	struct principal *p;
	int64_t dies_ms;                     /* TTL, wall clock */
	int64_t tok_exp_s;
	struct cache_entry *hnext;           /* bucket chain */
	struct cache_entry *prev, *next;     /* LRU: head = most recent */
};

struct cache {
	pthread_mutex_t lock;
	size_t max, size, nbuckets;
	int64_t ttl_ms;
	struct cache_entry **buckets;
	struct cache_entry *head, *tail;
	uint64_t hits, misses, evictions, expired, invalidated, bytes, stale_puts;
	_Atomic uint64_t gen;
};

struct cache *
cache_new(size_t max, int64_t ttl_ms)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max = max;
	c->ttl_ms = ttl_ms;
	c->nbuckets = 16;
	while (c->nbuckets < max * 2 && c->nbuckets < (1u << 24))
		c->nbuckets <<= 1;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

void
cache_key(const char *token, unsigned char key_r[CACHE_KEY_BYTES])
{
	crypto_generichash(key_r, CACHE_KEY_BYTES, (const unsigned char *)token, strlen(token),
	    NULL, 0);
}

static size_t
cache_bucket(const struct cache *c, const unsigned char *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));   /* the key is already a uniform hash */
	return (size_t)(h & (c->nbuckets - 1));
}

static void
cache_lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
cache_lru_front(struct cache *c, struct cache_entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[cache_bucket(c, e->key)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	cache_lru_unlink(c, e);
	c->size--;
	c->bytes -= e->p->bytes;
	principal_unref(&e->p);
	free(e);
}

static bool
cache_dead(const struct cache_entry *e, int64_t now_ms)
{
	return now_ms >= e->dies_ms || now_ms / 1000 >= e->tok_exp_s ||
	    now_ms / 1000 >= e->p->session_exp;
}

struct principal *
cache_get(struct cache *c, const unsigned char key[CACHE_KEY_BYTES], int64_t now_ms)
{
	struct principal *p = NULL;
	struct cache_entry *e;

	pthread_mutex_lock(&c->lock);
	for (e = c->buckets[cache_bucket(c, key)]; e != NULL; e = e->hnext)
		if (memcmp(e->key, key, CACHE_KEY_BYTES) == 0)
			break;
	if (e != NULL && cache_dead(e, now_ms)) {
		cache_remove(c, e);
		c->expired++;
		e = NULL;
	}
	if (e != NULL) {
		cache_lru_unlink(c, e);
		cache_lru_front(c, e);
		p = principal_ref(e->p);
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return p;
}

uint64_t
cache_generation(struct cache *c)
{
	return atomic_load(&c->gen);
}

void
cache_put(struct cache *c, const unsigned char key[CACHE_KEY_BYTES], struct principal *p,
    int64_t tok_exp_s, int64_t now_ms, uint64_t gen)
{
	struct cache_entry *e;
	size_t b;

	if (c->max == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->gen) != gen) {
		c->stale_puts++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	b = cache_bucket(c, key);
	for (e = c->buckets[b]; e != NULL; e = e->hnext)
		if (memcmp(e->key, key, CACHE_KEY_BYTES) == 0)
			break;
	if (e != NULL)
		cache_remove(c, e);   /* replaced by the fresher answer */
	while (c->size >= c->max && c->tail != NULL) {
		cache_remove(c, c->tail);
		c->evictions++;
	}
	e = xcalloc(1, sizeof(*e));
	memcpy(e->key, key, CACHE_KEY_BYTES);
	e->p = principal_ref(p);
	e->dies_ms = now_ms + c->ttl_ms;
	e->tok_exp_s = tok_exp_s;
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	cache_lru_front(c, e);
	c->size++;
	c->bytes += p->bytes;
	pthread_mutex_unlock(&c->lock);
}

/* Drops every entry for which match() is true. */
static size_t
cache_drop_if(struct cache *c, bool (*match)(const struct principal *, const void *),
    const void *arg, bool count_invalidated)
{
	struct cache_entry *e, *next;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	atomic_fetch_add(&c->gen, 1);
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		if (match(e->p, arg)) {
			cache_remove(c, e);
			n++;
		}
	}
	if (count_invalidated)
		c->invalidated += n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static bool
cache_match_sid(const struct principal *p, const void *arg)
{
	return strcmp(p->sid, arg) == 0;
}

static bool
cache_match_user(const struct principal *p, const void *arg)
{
	return p->user_id == *(const int64_t *)arg;
}

static bool
cache_match_all(const struct principal *p, const void *arg)
{
	(void)p;
	(void)arg;
	return true;
}

size_t
cache_drop_sid(struct cache *c, const char *sid)
{
	return cache_drop_if(c, cache_match_sid, sid, true);
}

size_t
cache_drop_user(struct cache *c, int64_t user_id)
{
	return cache_drop_if(c, cache_match_user, &user_id, true);
}

size_t
cache_clear(struct cache *c)
{
	return cache_drop_if(c, cache_match_all, NULL, true);
}

size_t
cache_sweep(struct cache *c, int64_t now_ms)
{
	struct cache_entry *e, *next;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		if (cache_dead(e, now_ms)) {
			cache_remove(c, e);
			n++;
		}
	}
	c->expired += n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void
cache_stats(struct cache *c, struct cache_stats *st_r)
{
	pthread_mutex_lock(&c->lock);
	st_r->hits = c->hits;
	st_r->misses = c->misses;
	st_r->evictions = c->evictions;
	st_r->expired = c->expired;
	st_r->invalidated = c->invalidated;
	st_r->size = c->size;
	st_r->bytes = c->bytes;
	st_r->max = c->max;
	pthread_mutex_unlock(&c->lock);
}

void
cache_free(struct cache **cp)
{
	struct cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	while (c->head != NULL)
		cache_remove(c, c->head);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
