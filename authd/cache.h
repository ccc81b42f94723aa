/* cache: authd's principal cache.  Keyed by a 16-byte BLAKE2b hash of the
 * whole token, so a hit proves the exact bytes were verified before and needs
 * no signature check (the token's and the session's expiry are still checked).
 *
 * Bounded: at most `max` entries, least recently used evicted first; each
 * entry lives at most ttl_ms (the safety net: storaged's events drop what
 * changed at once).  max == 0 disables the cache (every lookup misses, put
 * does nothing).  Thread-safe: one mutex, O(1) lookups; the drop_* calls
 * scan (they are rare: a change to a user, role or session). */
#ifndef KUBARR_AUTHD_CACHE_H
#define KUBARR_AUTHD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "principal.h"

#define CACHE_KEY_BYTES 16

struct cache;

struct cache *cache_new(size_t max, int64_t ttl_ms);
void cache_free(struct cache **c);
void cache_key(const char *token, unsigned char key_r[CACHE_KEY_BYTES]);

/* A reference to the cached principal (principal_unref it), or NULL.  Entries
 * past their TTL, token expiry (tok_exp) or session expiry are dropped here. */
struct principal *cache_get(struct cache *c, const unsigned char key[CACHE_KEY_BYTES],
    int64_t now_ms);
/* The invalidation generation: read it before asking storaged, give it to
 * cache_put, which refuses the answer when anything was invalidated meanwhile
 * (the answer may predate a revoke). */
uint64_t cache_generation(struct cache *c);
/* Stores p (takes a new reference) for a token that expires at tok_exp_s. */
void cache_put(struct cache *c, const unsigned char key[CACHE_KEY_BYTES], struct principal *p,
    int64_t tok_exp_s, int64_t now_ms, uint64_t gen);
size_t cache_drop_sid(struct cache *c, const char *sid);
size_t cache_drop_user(struct cache *c, int64_t user_id);
size_t cache_clear(struct cache *c);
/* Drops expired entries; returns how many. */
size_t cache_sweep(struct cache *c, int64_t now_ms);

struct cache_stats {
	uint64_t hits, misses, evictions, expired, invalidated, size, bytes, max;
};
void cache_stats(struct cache *c, struct cache_stats *st_r);

#endif
