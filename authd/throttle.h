/* throttle: brute-force protection for logins (API.md decision 4).
 *
 * Failures are counted per key (the login's username, lower-cased, and the
 * client address, as separate keys).  The first `free_failures` failures of a
 * key cost nothing; every further failure locks the key for
 * base_ms * 2^(extra failures - 1), capped at max_ms.  A key with no failure
 * for `forget_ms` is forgotten; a success clears the username key (not the
 * address key).  Address keys allow `addr_factor` times more free failures
 * (many users behind one NAT).
 *
 * Bounded: at most `max_keys` keys; beyond, the least recently failed key is
 * dropped.  Thread-safe (one mutex); every call is O(1) on average. */
#ifndef KUBARR_AUTHD_THROTTLE_H
#define KUBARR_AUTHD_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct throttle_config {
	unsigned free_failures;   /* default 5 */
	unsigned addr_factor;     /* default 4 */
	int64_t base_ms;          /* default 1000 */
	int64_t max_ms;           /* default 900000 (15 min) */
	int64_t forget_ms;        /* default 3600000 (1 h) */
	size_t max_keys;          /* default 65536 */
};

enum throttle_kind { THROTTLE_USER, THROTTLE_ADDR };

struct throttle;
struct throttle *throttle_new(const struct throttle_config *cfg);
void throttle_free(struct throttle **t);

/* Milliseconds the caller must still wait before trying (0: go ahead).
 * now_ms is monotonic milliseconds. */
int64_t throttle_check(struct throttle *t, enum throttle_kind kind, const char *key, int64_t now_ms);
/* Records a failure; returns the lock now in force for that key (0: none). */
int64_t throttle_fail(struct throttle *t, enum throttle_kind kind, const char *key, int64_t now_ms);
void throttle_success(struct throttle *t, enum throttle_kind kind, const char *key);
/* Drops keys not failed for forget_ms; returns how many. */
size_t throttle_sweep(struct throttle *t, int64_t now_ms);

struct throttle_stats {
	uint64_t keys, locked_now, failures, refusals, evictions;
};
void throttle_stats(struct throttle *t, int64_t now_ms, struct throttle_stats *st_r);

#endif
