/* Fuzz target for metricsd/cadvisor: the Prometheus text parser and the
 * per-namespace aggregation on untrusted input (what any kubelet, or anything
 * answering for the API server, may send).  Checks the invariants store.c
 * relies on: every sample's strings are NUL-terminated and bounded, counts
 * add up, aggregated series have sane names and finite, non-negative sums,
 * and never an excluded namespace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cadvisor.h"
#include "fuzz.h"

static void
fuzz_cadvisor_check(bool ok)
{
	if (!ok)
		abort();
}

static void
fuzz_cadvisor_sample(void *arg, const struct cadvisor_sample *s)
{
	unsigned long *n = arg;

	(*n)++;
	fuzz_cadvisor_check(s->metric != NULL && s->metric[0] != '\0' && strlen(s->metric) < 256);
	fuzz_cadvisor_check(s->ns == NULL || strlen(s->ns) < CADVISOR_LABEL_MAX);
	fuzz_cadvisor_check(s->pod == NULL || strlen(s->pod) < CADVISOR_LABEL_MAX);
	fuzz_cadvisor_check(s->iface == NULL || strlen(s->iface) < CADVISOR_LABEL_MAX);
	fuzz_cadvisor_check(s->container == NULL || strlen(s->container) < CADVISOR_LABEL_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cadvisor_agg *agg;
	struct cadvisor_stats st = {0}, st2 = {0};
	struct collect_result res = {0};
	unsigned long n = 0;

	cadvisor_parse((const char *)data, size, fuzz_cadvisor_sample, &n, &st);
	fuzz_cadvisor_check(st.samples == n && st.samples + st.skipped == st.lines);

	if (agg == NULL)
		agg = cadvisor_agg_new();
	cadvisor_agg_reset(agg);
	/* twice, as for two nodes: sums and sets carry over within a cycle */
	cadvisor_agg_add(agg, (const char *)data, size, &res, &st2);
	cadvisor_agg_add(agg, (const char *)data, size, &res, &st2);
	fuzz_cadvisor_check(st2.lines == 2 * st.lines);
	for (size_t i = 0; i < res.n; i++) {
		const struct collect_ns *ns = &res.ns[i];

		fuzz_cadvisor_check(ns->name[0] != '\0' && strlen(ns->name) < COLLECT_NAME_MAX);
		fuzz_cadvisor_check(!cadvisor_namespace_excluded(ns->name) ||
		    strncmp(ns->name, "kube-", 5) != 0);
		for (int k = 0; k < CTR_COUNT; k++)
			fuzz_cadvisor_check(ns->ctr[k] >= 0 && !isnan(ns->ctr[k]));
		fuzz_cadvisor_check(ns->cpu_seconds >= 0 && ns->memory_bytes >= 0);
		fuzz_cadvisor_check(ns->pods <= res.pods);
	}
	collect_free(&res);
	return 0;
}
