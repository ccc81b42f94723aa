/* collect: what one collection cycle found, whatever the source.
 *
 * A collector (procfs.c on bare metal, kube.c in Kubernetes) fills a struct
 * collect_result with raw counters; store.c turns them into rates and history.
 * Counters are cumulative (bytes, packets, CPU seconds); gauges are current. */
#ifndef KUBARR_METRICSD_COLLECT_H
#define KUBARR_METRICSD_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COLLECT_NAME_MAX 64

/* Network counters of a series, in this order everywhere (wire, state file). */
enum collect_ctr {
	CTR_RX_BYTES, CTR_TX_BYTES, CTR_RX_PACKETS, CTR_TX_PACKETS,
	CTR_RX_ERRORS, CTR_TX_ERRORS, CTR_RX_DROPPED, CTR_TX_DROPPED,
	CTR_COUNT
};

struct collect_ns {
	char name[COLLECT_NAME_MAX];     /* series key: Kubernetes namespace, app, "host" */
	double ctr[CTR_COUNT];
	double cpu_seconds;              /* cumulative, when has_cpu */
	double memory_bytes;             /* gauge, when has_memory */
	bool has_cpu, has_memory;
	unsigned pods;                   /* pods, or processes on bare metal */
};

struct collect_edge {
	char source[COLLECT_NAME_MAX];
	char target[COLLECT_NAME_MAX];
	char type[16];
	char protocol[8];
	char label[COLLECT_NAME_MAX];
	int port;                        /* 0: none */
};

struct collect_result {
	struct collect_ns *ns;
	size_t n, cap;
	struct collect_edge *edges;
	size_t nedges, edges_cap;
	/* host or cluster */
	bool has_cpu_jiffies;            /* bare metal: /proc/stat */
	double cpu_busy, cpu_all;        /* jiffies, cumulative */
	double cpu_cores;                /* capacity */
	double cpu_used_cores;           /* Kubernetes: filled by store from the per-namespace rates */
	double memory_total, memory_used;
	double storage_total, storage_used;
	unsigned pods, containers;
	bool ok;                         /* produced data */
	char message[256];               /* why not, or a summary */
	/* what went wrong, cumulative counts for STATS */
	unsigned pids_seen, ns_unreadable, ns_vanished, lines_skipped;
};

void collect_reset(struct collect_result *res);
void collect_free(struct collect_result *res);
/* The series called name (created zeroed when new). */
struct collect_ns *collect_ns_get(struct collect_result *res, const char *name);
/* A new series without looking for an existing one (the caller knows the
 * name is unique). */
struct collect_ns *collect_ns_add(struct collect_result *res, const char *name);
struct collect_edge *collect_edge_add(struct collect_result *res);
/* Copies src into dst (COLLECT_NAME_MAX), keeping [A-Za-z0-9._@-] and
 * replacing anything else by '_'. */
void collect_name_copy(char *dst, const char *src, size_t len);

#endif
