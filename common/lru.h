/* lru: an intrusive string-keyed hash table with recency order.
 *
 * Embed a struct lru_node in your object; the table never allocates nodes,
 * only its bucket array (grown when the load passes 1).  lru_touch() makes a
 * node the most recent; lru_oldest() / lru_newer() walk from the least
 * recently touched, which is what a size cap and an age sweeper need.
 * Not thread-safe: one owner, or the owner's lock. */
#ifndef KUBARR_LRU_H
#define KUBARR_LRU_H

#include <stddef.h>
#include <stdint.h>

struct lru_node {
	struct lru_node *prev, *next; /* recency list: prev is older */
	struct lru_node *hnext;       /* bucket chain */
	uint64_t hash;
	const char *key;              /* owned by the embedding object */
};

struct lru {
	struct lru_node **buckets;
	size_t nbuckets;              /* a power of two */
	size_t n;
	struct lru_node head;         /* sentinel: head.next is the oldest, head.prev the newest */
};

void lru_init(struct lru *l);
/* Frees the bucket array; the nodes belong to the caller. */
void lru_fini(struct lru *l);
struct lru_node *lru_find(const struct lru *l, const char *key);
/* Inserts n (whose key must not be present) as the most recent. */
void lru_insert(struct lru *l, struct lru_node *n, const char *key);
void lru_touch(struct lru *l, struct lru_node *n);
void lru_remove(struct lru *l, struct lru_node *n);
/* The least recently touched node, or NULL. */
struct lru_node *lru_oldest(const struct lru *l);
/* The next more recent node after n, or NULL. */
struct lru_node *lru_newer(const struct lru *l, const struct lru_node *n);
uint64_t lru_hash(const char *key);

#define LRU_ENTRY(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
