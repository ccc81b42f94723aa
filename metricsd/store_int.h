/* store internals, shared by store.c and persist.c only. */
#ifndef KUBARR_METRICSD_STORE_INT_H
#define KUBARR_METRICSD_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "lru.h"
#include "rate.h"
#include "ring.h"
#include "store.h"

#define STORE_RINGS 3
#define STORE_SLOTS (240 + 180 + 720)
#define STORE_SERIES_WIDTH 4   /* rx B/s, tx B/s, CPU cores, memory bytes */
#define STORE_CLUSTER_WIDTH 7  /* rx, tx, CPU %, memory %, storage %, pods, containers */

struct store_ring_geom {
	int64_t step_s;
	uint32_t cap;
};
extern const struct store_ring_geom store_ring_geoms[STORE_RINGS];

struct series {
	struct lru_node node;
	char name[COLLECT_NAME_MAX];
	int64_t last_seen_ms;
	unsigned pods;
	bool has_cpu, has_memory;
	double memory;
	struct rate net[CTR_COUNT];
	struct rate cpu;             /* CPU seconds -> cores */
	struct ring rings[STORE_RINGS];
	float data[STORE_SLOTS * STORE_SERIES_WIDTH];
};

struct store_cluster {
	bool has_prev;               /* bare metal: previous /proc/stat jiffies */
	double busy_prev, all_prev;
	double cpu_pct, cpu_cores, cpu_used;
	double memory_total, memory_used, storage_total, storage_used;
	double rx, tx;
	unsigned pods, containers;
	struct ring rings[STORE_RINGS];
	float data[STORE_SLOTS * STORE_CLUSTER_WIDTH];
};

struct store {
	pthread_mutex_t lock;
	struct store_config cfg;
	char source[16];
	struct lru series;           /* of struct series, by name */
	struct store_cluster cluster;
	int64_t last_ms;             /* end of the last cycle (0: none yet) */
	bool available;
	char message[256];
	struct collect_edge *edges;
	size_t nedges;
	/* STATS */
	uint64_t cycles, created, evicted_ttl, evicted_lru, refused, loaded, saves, save_failures;
};

/* Rings over the embedded storage, empty. */
void store_series_rings_init(struct series *s);
void store_cluster_rings_init(struct store_cluster *c);
/* A new empty series (not inserted). */
struct series *store_series_alloc(const char *name);

#endif
