/* kube: the Kubernetes collector, a small libcurl client of the API server.
 *
 * In-cluster credentials: the service-account token file and CA; the API URL
 * is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT unless
 * KUBARR_METRICS_KUBE_API names one (tests use a plain-http fake on loopback).
 * Each cycle: GET /api/v1/nodes (names, CPU and memory capacity), then each
 * node's cAdvisor text through the API server proxy
 * (/api/v1/nodes/{node}/proxy/metrics/cadvisor), summed per namespace
 * (cadvisor.c).  Every 30 s: Services and Ingresses, for the topology's edges
 * (LoadBalancer/NodePort services and Ingresses: external -> namespace).
 * Every request has a deadline; a failing cycle leaves res->ok false. */
#ifndef KUBARR_METRICSD_KUBE_H
#define KUBARR_METRICSD_KUBE_H

#include <stdbool.h>

#include "collect.h"

struct kube;

struct kube_config {
	const char *api_url;     /* "" for the in-cluster default */
	const char *token_file;
	const char *ca_file;     /* "" or unreadable: the system CAs */
	int timeout_ms;
};

/* Whether in-cluster credentials (or an explicit API URL) exist. */
bool kube_available(const struct kube_config *cfg);
/* NULL with a reason when the API URL cannot be made. */
struct kube *kube_new(const struct kube_config *cfg, char **err_r);
void kube_free(struct kube **k);
void kube_collect(struct kube *k, struct collect_result *res, const char *storage_path);
/* Requests made and failed, cAdvisor lines skipped (for STATS). */
void kube_stats(const struct kube *k, unsigned long *requests_r, unsigned long *failures_r,
    unsigned long *lines_skipped_r);
/* "4", "3500m" (cores); "16Gi", "16318464Ki", "1e9", "500M" (bytes). -1 if not a quantity. */
double kube_quantity(const char *s);

#endif
