/* throttle: failure counting and growing locks per login key (see throttle.h).
 *
 * Keys live in a chained hash table (SipHash-2-4 through libsodium's
 * crypto_shorthash with a random per-table key, so usernames chosen by an
 * attacker cannot pile up in one bucket) and on a list ordered by last
 * failure, most recent first.  The list gives the eviction order for max_keys,
 * lets throttle_sweep() stop at the first key still remembered, and lets
 * throttle_stats() stop at the first key whose lock must have ended (a lock
 * never lasts longer than max_ms after the failure that set it).
 *
 * Keys are compared as bytes after normalisation: user keys are lower-cased
 * (ASCII); keys longer than THROTTLE_KEY_MAX bytes are cut there.
 *
 * forget_ms is raised to max_ms when configured lower: forgetting a key would
 * otherwise lift its lock early. */
#include "throttle.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

#define THROTTLE_KEY_MAX 256
#define THROTTLE_BUCKETS_MIN 64

struct throttle_entry {
	struct throttle_entry *chain;             /* next in bucket */
	struct throttle_entry *newer, *older;     /* list by last failure */
	uint64_t hash;
	unsigned failures;
	int64_t last_fail_ms;
	int64_t locked_until_ms;
	size_t key_len;                           /* bytes of key[], kind first */
	unsigned char key[];
};

struct throttle {
	pthread_mutex_t mu;
	struct throttle_config cfg;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	struct throttle_entry **buckets;
	size_t n_buckets;                         /* power of two */
	struct throttle_entry *newest, *oldest;
	size_t count;
	uint64_t failures, refusals, evictions;
};

/* Normalised key: one byte of kind, then the key.  Returns its length. */
static size_t
throttle_norm(enum throttle_kind kind, const char *key, unsigned char buf[THROTTLE_KEY_MAX + 1])
{
	size_t n = 0;

	buf[0] = (unsigned char)kind;
	for (; key[n] != '\0' && n < THROTTLE_KEY_MAX; n++) {
		unsigned char c = (unsigned char)key[n];

		if (kind == THROTTLE_USER && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		buf[n + 1] = c;
	}
	return n + 1;
}

static uint64_t
throttle_hash(const struct throttle *t, const unsigned char *k, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, k, len, t->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static struct throttle_entry **
throttle_slot(struct throttle *t, uint64_t hash, const unsigned char *k, size_t len)
{
	struct throttle_entry **pp = &t->buckets[hash & (t->n_buckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->chain) {
		if ((*pp)->hash == hash && (*pp)->key_len == len && memcmp((*pp)->key, k, len) == 0)
			break;
	}
	return pp;
}

static void
throttle_list_unlink(struct throttle *t, struct throttle_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
throttle_list_push(struct throttle *t, struct throttle_entry *e)
{
	e->newer = NULL;
	e->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
throttle_remove(struct throttle *t, struct throttle_entry *e)
{
	struct throttle_entry **pp = throttle_slot(t, e->hash, e->key, e->key_len);

	if (*pp != e) { /* cannot happen: every listed entry is in its bucket */
		log_error("throttle: entry missing from its bucket");
		abort();
	}
	*pp = e->chain;
	throttle_list_unlink(t, e);
	t->count--;
	free(e);
}

static void
throttle_grow(struct throttle *t)
{
	size_t n = t->n_buckets * 2;
	struct throttle_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < t->n_buckets; i++) {
		struct throttle_entry *e = t->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

static bool
throttle_forgotten(const struct throttle *t, const struct throttle_entry *e, int64_t now_ms)
{
	return now_ms - e->last_fail_ms >= t->cfg.forget_ms;
}

static unsigned
throttle_free_failures(const struct throttle *t, enum throttle_kind kind)
{
	unsigned long long n = t->cfg.free_failures;

	if (kind == THROTTLE_ADDR)
		n *= t->cfg.addr_factor;
	return n > 0xffffffffULL ? 0xffffffffu : (unsigned)n;
}

static int64_t
throttle_lock_ms(const struct throttle *t, unsigned failures, unsigned free_n)
{
	int64_t lock = t->cfg.base_ms;

	if (failures <= free_n)
		return 0;
	for (unsigned i = 1; i < failures - free_n && lock < t->cfg.max_ms; i++)
		lock = lock > INT64_MAX / 2 ? t->cfg.max_ms : lock * 2;
	return lock < t->cfg.max_ms ? lock : t->cfg.max_ms;
}

struct throttle *
throttle_new(const struct throttle_config *cfg)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	if (cfg != NULL)
		t->cfg = *cfg;
	if (t->cfg.free_failures == 0)
		t->cfg.free_failures = 5;
	if (t->cfg.addr_factor == 0)
		t->cfg.addr_factor = 4;
	if (t->cfg.base_ms <= 0)
		t->cfg.base_ms = 1000;
	if (t->cfg.max_ms <= 0)
		t->cfg.max_ms = 900000;
	if (t->cfg.forget_ms <= 0)
		t->cfg.forget_ms = 3600000;
	if (t->cfg.max_keys == 0)
		t->cfg.max_keys = 65536;
	if (t->cfg.forget_ms < t->cfg.max_ms)
		t->cfg.forget_ms = t->cfg.max_ms;
	if (sodium_init() < 0) {
		log_error("throttle: sodium_init failed");
		abort();
	}
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	t->n_buckets = THROTTLE_BUCKETS_MIN;
	t->buckets = xcalloc(t->n_buckets, sizeof(*t->buckets));
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void
throttle_free(struct throttle **tp)
{
	struct throttle *t = *tp;
	struct throttle_entry *e, *next;

	if (t == NULL)
		return;
	*tp = NULL;
	for (e = t->newest; e != NULL; e = next) {
		next = e->older;
		free(e);
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int64_t
throttle_check(struct throttle *t, enum throttle_kind kind, const char *key, int64_t now_ms)
{
	unsigned char k[THROTTLE_KEY_MAX + 1];
	size_t len;
	uint64_t hash;
	struct throttle_entry *e;
	int64_t wait = 0;

	if (key == NULL)
		return 0;
	len = throttle_norm(kind, key, k);
	hash = throttle_hash(t, k, len);
	pthread_mutex_lock(&t->mu);
	e = *throttle_slot(t, hash, k, len);
	if (e != NULL && throttle_forgotten(t, e, now_ms)) {
		throttle_remove(t, e);
	} else if (e != NULL && e->locked_until_ms > now_ms) {
		wait = e->locked_until_ms - now_ms;
		t->refusals++;
	}
	pthread_mutex_unlock(&t->mu);
	return wait;
}

int64_t
throttle_fail(struct throttle *t, enum throttle_kind kind, const char *key, int64_t now_ms)
{
	unsigned char k[THROTTLE_KEY_MAX + 1];
	size_t len;
	uint64_t hash;
	struct throttle_entry **pp, *e;
	int64_t lock;

	if (key == NULL)
		return 0;
	len = throttle_norm(kind, key, k);
	hash = throttle_hash(t, k, len);
	pthread_mutex_lock(&t->mu);
	t->failures++;
	pp = throttle_slot(t, hash, k, len);
	e = *pp;
	if (e != NULL) {
		throttle_list_unlink(t, e);
		if (throttle_forgotten(t, e, now_ms)) {
			e->failures = 0;
			e->locked_until_ms = 0;
		}
	} else {
		if (t->count >= t->cfg.max_keys) {
			throttle_remove(t, t->oldest);
			t->evictions++;
		}
		if (t->count >= t->n_buckets)
			throttle_grow(t);
		e = xcalloc(1, sizeof(*e) + len);
		e->hash = hash;
		e->key_len = len;
		memcpy(e->key, k, len);
		pp = &t->buckets[hash & (t->n_buckets - 1)];
		e->chain = *pp;
		*pp = e;
		t->count++;
	}
	if (e->failures < 0xffffffffu)
		e->failures++;
	e->last_fail_ms = now_ms;
	lock = throttle_lock_ms(t, e->failures, throttle_free_failures(t, kind));
	if (lock > 0 && now_ms + lock > e->locked_until_ms)
		e->locked_until_ms = now_ms + lock;
	lock = e->locked_until_ms > now_ms ? e->locked_until_ms - now_ms : 0;
	throttle_list_push(t, e);
	pthread_mutex_unlock(&t->mu);
	return lock;
}

void
throttle_success(struct throttle *t, enum throttle_kind kind, const char *key)
{
	unsigned char k[THROTTLE_KEY_MAX + 1];
	size_t len;
	uint64_t hash;
	struct throttle_entry *e;

	if (key == NULL || kind != THROTTLE_USER)
		return;
	len = throttle_norm(kind, key, k);
	hash = throttle_hash(t, k, len);
	pthread_mutex_lock(&t->mu);
	e = *throttle_slot(t, hash, k, len);
	if (e != NULL)
		throttle_remove(t, e);
	pthread_mutex_unlock(&t->mu);
}

size_t
throttle_sweep(struct throttle *t, int64_t now_ms)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	while (t->oldest != NULL && throttle_forgotten(t, t->oldest, now_ms)) {
		throttle_remove(t, t->oldest);
		n++;
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void
throttle_stats(struct throttle *t, int64_t now_ms, struct throttle_stats *st_r)
{
	uint64_t locked = 0;

	pthread_mutex_lock(&t->mu);
	for (struct throttle_entry *e = t->newest; e != NULL; e = e->older) {
		if (now_ms - e->last_fail_ms >= t->cfg.max_ms)
			break;
		if (e->locked_until_ms > now_ms)
			locked++;
	}
	st_r->keys = t->count;
	st_r->locked_now = locked;
	st_r->failures = t->failures;
	st_r->refusals = t->refusals;
	st_r->evictions = t->evictions;
	pthread_mutex_unlock(&t->mu);
}
