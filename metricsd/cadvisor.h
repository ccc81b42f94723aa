/* cadvisor: the Prometheus text that kubelet's cAdvisor endpoint serves
 * (GET /api/v1/nodes/{node}/proxy/metrics/cadvisor), parsed without trusting
 * it, and summed per Kubernetes namespace as API.md section 7 says:
 *
 *   container_network_{receive,transmit}_{bytes,packets,errors,packets_dropped}_total
 *     with namespace, pod and interface labels, interface != lo
 *   container_cpu_usage_seconds_total, container_memory_working_set_bytes
 *     with a container label that is not "" or "POD" (per-container lines only)
 *   pod_count = distinct pods seen in network lines
 *   namespaces kube-*, local-path-storage, default, linux and "" are excluded.
 *
 * A line that does not parse is skipped and counted, never fatal. */
#ifndef KUBARR_METRICSD_CADVISOR_H
#define KUBARR_METRICSD_CADVISOR_H

#include <stdbool.h>
#include <stddef.h>

#include "collect.h"

#define CADVISOR_LABEL_MAX 256   /* longer label values make the line skipped */

struct cadvisor_sample {
	const char *metric;          /* NUL-terminated */
	const char *ns, *pod, *iface, *container;   /* NULL when absent */
	double value;
};

typedef void (*cadvisor_fn)(void *arg, const struct cadvisor_sample *s);

struct cadvisor_stats {
	unsigned long lines, samples, skipped;
};

/* Calls fn for every sample line (comments and blank lines are skipped).
 * text need not be NUL-terminated. */
void cadvisor_parse(const char *text, size_t len, cadvisor_fn fn, void *arg,
    struct cadvisor_stats *st);

bool cadvisor_namespace_excluded(const char *ns);

/* Adds one node's text into res (series per namespace, pods, containers).
 * The pod and container sets live in agg between nodes of one cycle. */
struct cadvisor_agg;
struct cadvisor_agg *cadvisor_agg_new(void);
void cadvisor_agg_free(struct cadvisor_agg **a);
/* Starts a cycle (forget the pods and containers seen). */
void cadvisor_agg_reset(struct cadvisor_agg *a);
void cadvisor_agg_add(struct cadvisor_agg *a, const char *text, size_t len,
    struct collect_result *res, struct cadvisor_stats *st);

#endif
