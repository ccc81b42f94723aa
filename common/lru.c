#include "lru.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define LRU_MIN_BUCKETS 16

uint64_t
lru_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

void
lru_init(struct lru *l)
{
	l->nbuckets = LRU_MIN_BUCKETS;
	l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
	l->n = 0;
	l->head.prev = l->head.next = &l->head;
}

void
lru_fini(struct lru *l)
{
	free(l->buckets);
	l->buckets = NULL;
	l->nbuckets = 0;
	l->n = 0;
	l->head.prev = l->head.next = &l->head;
}

struct lru_node *
lru_find(const struct lru *l, const char *key)
{
	uint64_t h = lru_hash(key);

	for (struct lru_node *n = l->buckets[h & (l->nbuckets - 1)]; n != NULL; n = n->hnext)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

static void
lru_grow(struct lru *l)
{
	size_t nb = l->nbuckets * 2;
	struct lru_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < l->nbuckets; i++) {
		struct lru_node *n = l->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(l->buckets);
	l->buckets = b;
	l->nbuckets = nb;
}

static void
lru_link_newest(struct lru *l, struct lru_node *n)
{
	n->next = &l->head;
	n->prev = l->head.prev;
	l->head.prev->next = n;
	l->head.prev = n;
}

static void
lru_unlink(struct lru_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

void
lru_insert(struct lru *l, struct lru_node *n, const char *key)
{
	size_t b;

	if (l->n + 1 > l->nbuckets)
		lru_grow(l);
	n->key = key;
	n->hash = lru_hash(key);
	b = n->hash & (l->nbuckets - 1);
	n->hnext = l->buckets[b];
	l->buckets[b] = n;
	lru_link_newest(l, n);
	l->n++;
}

void
lru_touch(struct lru *l, struct lru_node *n)
{
	if (l->head.prev == n)
		return;
	lru_unlink(n);
	lru_link_newest(l, n);
}

void
lru_remove(struct lru *l, struct lru_node *n)
{
	struct lru_node **pp = &l->buckets[n->hash & (l->nbuckets - 1)];

	while (*pp != NULL && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp == n)
		*pp = n->hnext;
	n->hnext = NULL;
	lru_unlink(n);
	l->n--;
}

struct lru_node *
lru_oldest(const struct lru *l)
{
	return l->head.next == &l->head ? NULL : l->head.next;
}

struct lru_node *
lru_newer(const struct lru *l, const struct lru_node *n)
{
	return n->next == &l->head ? NULL : n->next;
}
