#include "cadvisor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "xmalloc.h"

/* ---- parser ----------------------------------------------------------------- */

struct cadvisor_line {
	const char *p, *end;
};

static bool
cadvisor_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	    (!first && c >= '0' && c <= '9');
}

static void
cadvisor_skip_ws(struct cadvisor_line *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
		l->p++;
}

/* Reads an identifier into buf (NUL-terminated); false if none or too long. */
static bool
cadvisor_ident(struct cadvisor_line *l, char *buf, size_t len)
{
	size_t n = 0;

	if (l->p >= l->end || !cadvisor_name_char(*l->p, true))
		return false;
	while (l->p < l->end && cadvisor_name_char(*l->p, false)) {
		if (n + 1 >= len)
			return false;
		buf[n++] = *l->p++;
	}
	buf[n] = '\0';
	return true;
}

/* A quoted label value, unescaped into buf. */
static bool
cadvisor_quoted(struct cadvisor_line *l, char *buf, size_t len)
{
	size_t n = 0;

	if (l->p >= l->end || *l->p != '"')
		return false;
	l->p++;
	while (l->p < l->end && *l->p != '"') {
		char c = *l->p++;

		if (c == '\\') {
			if (l->p >= l->end)
				return false;
			c = *l->p++;
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				return false;
		}
		if (c == '\0' || n + 1 >= len)
			return false;
		buf[n++] = c;
	}
	if (l->p >= l->end)
		return false;
	l->p++;
	buf[n] = '\0';
	return true;
}

/* A float token (strtod on a bounded copy: the input is not NUL-terminated). */
static bool
cadvisor_number(struct cadvisor_line *l, double *v_r)
{
	char tok[64], *endp;
	size_t n = 0;

	while (l->p < l->end && *l->p != ' ' && *l->p != '\t') {
		if (n + 1 >= sizeof(tok))
			return false;
		tok[n++] = *l->p++;
	}
	if (n == 0)
		return false;
	tok[n] = '\0';
	*v_r = strtod(tok, &endp);
	return *endp == '\0';
}

enum { CADVISOR_L_NS, CADVISOR_L_POD, CADVISOR_L_IFACE, CADVISOR_L_CONTAINER, CADVISOR_L_N };

static bool
cadvisor_line_parse(struct cadvisor_line *l, char *metric, size_t mlen,
    char vals[CADVISOR_L_N][CADVISOR_LABEL_MAX], bool have[CADVISOR_L_N], double *v_r)
{
	static const char *const wanted[CADVISOR_L_N] = {"namespace", "pod", "interface", "container"};
	char label[128], scratch[CADVISOR_LABEL_MAX];

	memset(have, 0, sizeof(bool) * CADVISOR_L_N);
	if (!cadvisor_ident(l, metric, mlen))
		return false;
	if (l->p < l->end && *l->p == '{') {
		l->p++;
		for (;;) {
			int k;

			cadvisor_skip_ws(l);
			if (l->p < l->end && *l->p == '}') {
				l->p++;
				break;
			}
			if (!cadvisor_ident(l, label, sizeof(label)))
				return false;
			cadvisor_skip_ws(l);
			if (l->p >= l->end || *l->p != '=')
				return false;
			l->p++;
			cadvisor_skip_ws(l);
			for (k = 0; k < CADVISOR_L_N; k++)
				if (strcmp(label, wanted[k]) == 0)
					break;
			if (!cadvisor_quoted(l, k < CADVISOR_L_N ? vals[k] : scratch, CADVISOR_LABEL_MAX))
				return false;
			if (k < CADVISOR_L_N) {
				if (have[k])
					return false;   /* a label twice */
				have[k] = true;
			}
			cadvisor_skip_ws(l);
			if (l->p < l->end && *l->p == ',') {
				l->p++;
				continue;
			}
			if (l->p < l->end && *l->p == '}') {
				l->p++;
				break;
			}
			return false;
		}
	}
	if (l->p >= l->end || (*l->p != ' ' && *l->p != '\t'))
		return false;
	cadvisor_skip_ws(l);
	if (!cadvisor_number(l, v_r))
		return false;
	cadvisor_skip_ws(l);
	if (l->p < l->end) {
		double ts;

		if (!cadvisor_number(l, &ts))   /* optional timestamp */
			return false;
		cadvisor_skip_ws(l);
		if (l->p < l->end)
			return false;
	}
	return true;
}

void
cadvisor_parse(const char *text, size_t len, cadvisor_fn fn, void *arg, struct cadvisor_stats *st)
{
	const char *p = text, *end = text + len;
	char metric[256];
	char vals[CADVISOR_L_N][CADVISOR_LABEL_MAX];
	bool have[CADVISOR_L_N];

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct cadvisor_line l = {p, eol ? eol : end};
		struct cadvisor_sample s;

		p = eol ? eol + 1 : end;
		if (l.end > l.p && l.end[-1] == '\r')
			l.end--;
		cadvisor_skip_ws(&l);
		if (l.p == l.end || *l.p == '#')
			continue;
		st->lines++;
		if (!cadvisor_line_parse(&l, metric, sizeof(metric), vals, have, &s.value)) {
			st->skipped++;
			continue;
		}
		st->samples++;
		s.metric = metric;
		s.ns = have[CADVISOR_L_NS] ? vals[CADVISOR_L_NS] : NULL;
		s.pod = have[CADVISOR_L_POD] ? vals[CADVISOR_L_POD] : NULL;
		s.iface = have[CADVISOR_L_IFACE] ? vals[CADVISOR_L_IFACE] : NULL;
		s.container = have[CADVISOR_L_CONTAINER] ? vals[CADVISOR_L_CONTAINER] : NULL;
		fn(arg, &s);
	}
}

bool
cadvisor_namespace_excluded(const char *ns)
{
	return ns == NULL || ns[0] == '\0' || strncmp(ns, "kube-", 5) == 0 ||
	    strcmp(ns, "local-path-storage") == 0 || strcmp(ns, "default") == 0 ||
	    strcmp(ns, "linux") == 0;
}

/* ---- aggregation ------------------------------------------------------------ */

/* A set of 64-bit hashes (pods, containers) for one cycle. */
struct cadvisor_set {
	uint64_t *v;
	size_t cap, n;
};

struct cadvisor_agg {
	struct cadvisor_set pods, containers;
	struct collect_result *res;
};

static bool
cadvisor_set_add(struct cadvisor_set *s, uint64_t h)
{
	size_t i;

	h |= 1;
	if ((s->n + 1) * 2 > s->cap) {
		uint64_t *old = s->v;
		size_t ocap = s->cap;

		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xcalloc(s->cap, sizeof(*s->v));
		s->n = 0;
		for (size_t k = 0; k < ocap; k++)
			if (old[k] != 0)
				cadvisor_set_add(s, old[k]);
		free(old);
	}
	for (i = h & (s->cap - 1); s->v[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == h)
			return false;
	s->v[i] = h;
	s->n++;
	return true;
}

static uint64_t
cadvisor_hash2(const char *a, const char *b, const char *c)
{
	uint64_t h = lru_hash(a);

	h = (h ^ lru_hash(b)) * 1099511628211ULL + 0x9e3779b97f4a7c15ULL;
	if (c != NULL)
		h = (h ^ lru_hash(c)) * 1099511628211ULL;
	return h;
}

struct cadvisor_agg *
cadvisor_agg_new(void)
{
	return xcalloc(1, sizeof(struct cadvisor_agg));
}

void
cadvisor_agg_free(struct cadvisor_agg **ap)
{
	struct cadvisor_agg *a = *ap;

	if (a == NULL)
		return;
	*ap = NULL;
	free(a->pods.v);
	free(a->containers.v);
	free(a);
}

void
cadvisor_agg_reset(struct cadvisor_agg *a)
{
	if (a->pods.v != NULL)
		memset(a->pods.v, 0, a->pods.cap * sizeof(uint64_t));
	if (a->containers.v != NULL)
		memset(a->containers.v, 0, a->containers.cap * sizeof(uint64_t));
	a->pods.n = a->containers.n = 0;
}

static int
cadvisor_network_ctr(const char *m)
{
	static const struct {
		const char *name;
		int ctr;
	} map[] = {
		{"container_network_receive_bytes_total", CTR_RX_BYTES},
		{"container_network_transmit_bytes_total", CTR_TX_BYTES},
		{"container_network_receive_packets_total", CTR_RX_PACKETS},
		{"container_network_transmit_packets_total", CTR_TX_PACKETS},
		{"container_network_receive_errors_total", CTR_RX_ERRORS},
		{"container_network_transmit_errors_total", CTR_TX_ERRORS},
		{"container_network_receive_packets_dropped_total", CTR_RX_DROPPED},
		{"container_network_transmit_packets_dropped_total", CTR_TX_DROPPED},
	};

	if (strncmp(m, "container_network_", 18) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(m, map[i].name) == 0)
			return map[i].ctr;
	return -1;
}

static void
cadvisor_agg_sample(void *arg, const struct cadvisor_sample *s)
{
	struct cadvisor_agg *a = arg;
	struct collect_result *res = a->res;
	struct collect_ns *ns;
	double v = s->value;
	int ctr;

	if (!(v >= 0.0) || v > 1e300)   /* NaN, negative, infinite */
		return;
	if (cadvisor_namespace_excluded(s->ns) || s->pod == NULL || s->pod[0] == '\0')
		return;
	if ((ctr = cadvisor_network_ctr(s->metric)) >= 0) {
		if (s->iface == NULL || strcmp(s->iface, "lo") == 0)
			return;
		ns = collect_ns_get(res, s->ns);
		ns->ctr[ctr] += v;
		if (cadvisor_set_add(&a->pods, cadvisor_hash2(s->ns, s->pod, NULL))) {
			ns->pods++;
			res->pods++;
		}
		return;
	}
	if (s->container == NULL || s->container[0] == '\0' || strcmp(s->container, "POD") == 0)
		return;
	if (strcmp(s->metric, "container_cpu_usage_seconds_total") == 0) {
		ns = collect_ns_get(res, s->ns);
		ns->cpu_seconds += v;
		ns->has_cpu = true;
		if (cadvisor_set_add(&a->containers, cadvisor_hash2(s->ns, s->pod, s->container)))
			res->containers++;
	} else if (strcmp(s->metric, "container_memory_working_set_bytes") == 0) {
		ns = collect_ns_get(res, s->ns);
		ns->memory_bytes += v;
		ns->has_memory = true;
	}
}

void
cadvisor_agg_add(struct cadvisor_agg *a, const char *text, size_t len, struct collect_result *res,
    struct cadvisor_stats *st)
{
	a->res = res;
	cadvisor_parse(text, len, cadvisor_agg_sample, a, st);
	a->res = NULL;
}
