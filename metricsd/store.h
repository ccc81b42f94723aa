/* store: every series' counters, rates and history, bounded.
 *
 * A series is a network namespace (bare metal) or a Kubernetes namespace.
 * Each keeps the rates of its 8 network counters (and CPU seconds), and three
 * history rings of 4 channels (rx, tx bytes/s, CPU cores, memory bytes):
 *   15 s steps over 1 h (240), 60 s over 3 h (180), 120 s over 24 h (720):
 *   1140 slots x 4 floats = 18,240 bytes, plus ~900 bytes of rates and
 *   bookkeeping: STORE_SERIES_BYTES, fixed for the life of the series.
 * The cluster (host) has the same rings with 7 channels (rx, tx, CPU %,
 * memory %, storage %, pods, containers).
 *
 * Bounds: at most max_series series; a series not seen for ttl_ms is evicted
 * by store_sweep; a new series beyond the cap evicts the least recently seen
 * one (never one seen in the current cycle: then the newcomer waits).
 *
 * Threads: one writer (the collector thread: store_apply, store_sweep,
 * store_load, store_save), any number of readers (IPC handlers:
 * store_snapshot_msg, store_history_msg, store_stats), under one mutex taken
 * only for the in-memory update, never for I/O. */
#ifndef KUBARR_METRICSD_STORE_H
#define KUBARR_METRICSD_STORE_H

#include <nng/nng.h>
#include <stdint.h>

#include "collect.h"
#include "server.h"

struct store;

struct store_config {
	size_t max_series;
	int64_t ttl_ms;        /* evict a series not seen for this long */
	double alpha;          /* EMA weight of the newest window mean, (0, 1] */
	const char *source;    /* "proc" or "kubernetes" */
};

struct store *store_new(const struct store_config *cfg);
void store_free(struct store **st);
/* One cycle's counters, taken at now_ms (wall clock). */
void store_apply(struct store *st, const struct collect_result *res, int64_t now_ms);
/* Evicts series not seen for ttl_ms; returns how many. */
size_t store_sweep(struct store *st, int64_t now_ms);
/* METRICS_SNAPSHOT reply (also the published message, req_id 0). */
nng_msg *store_snapshot_msg(struct store *st, uint64_t req_id);
/* METRICS_HISTORY reply; series NULL for the cluster. */
nng_msg *store_history_msg(struct store *st, uint64_t req_id, const char *series,
    int64_t duration_s, int64_t now_ms);
void store_stats(struct store *st, struct proto_stats *ps);

/* persist.c: the state file (see there).  0 on success; -1 with a reason. */
int store_save(struct store *st, const char *path, int64_t now_ms, char **err_r);
/* Loads the file if it is at most max_age_ms old: 1 loaded, 0 absent or too
 * old (nothing changed), -1 unusable (reason in err_r, nothing changed). */
int store_load(struct store *st, const char *path, int64_t now_ms, int64_t max_age_ms,
    char **err_r);

#endif
