/* Unit tests for metricsd's pieces: the /proc parsers and the collector on a
 * fixture tree, the cAdvisor aggregation (API.md section 7), the store
 * (rates, rings, TTL and LRU bounds, snapshot and history replies) and the
 * state file (round trip, damage, staleness). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cadvisor.h"
#include "kube.h"
#include "procfs.h"
#include "proto.h"
#include "store.h"

#ifndef CADVISOR_FIXTURE
#define CADVISOR_FIXTURE "fixtures/cadvisor/node1.txt"
#endif

/* ---- helpers ---------------------------------------------------------------- */

static char test_tmp[256];

static void
make_parents(const char *path)
{
	char dir[512], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = dir + strlen(test_tmp) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
}

static void
put_file(const char *rel, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", test_tmp, rel);
	make_parents(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
put_link(const char *rel, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", test_tmp, rel);
	make_parents(path);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

static int
setup_tmp(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(test_tmp, sizeof(test_tmp), "%s/test_metrics_XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(test_tmp));
	return 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
read_fixture(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return buf;
}

static const char net_dev_head[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

static char *
net_dev(unsigned long long rx, unsigned long long tx)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	    "%s    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0\n"
	    "  eth0: %llu 100 1 2 0 0 0 0 %llu 200 3 4 0 0 0 0\n"
	    " wg0:%llu 1 0 0 0 0 0 0 %llu 1 0 0 0 0 0 0\n",
	    net_dev_head, rx, tx, rx, tx);
	return buf;
}

/* ---- parsers ---------------------------------------------------------------- */

static void
test_parse_net_dev(void **state)
{
	double c[CTR_COUNT];

	(void)state;
	assert_int_equal(procfs_parse_net_dev(net_dev(1000, 2000), c), 3);
	assert_true(c[CTR_RX_BYTES] == 2000 && c[CTR_TX_BYTES] == 4000);   /* lo skipped */
	assert_true(c[CTR_RX_PACKETS] == 101 && c[CTR_TX_PACKETS] == 201);
	assert_true(c[CTR_RX_ERRORS] == 1 && c[CTR_RX_DROPPED] == 2);
	assert_true(c[CTR_TX_ERRORS] == 3 && c[CTR_TX_DROPPED] == 4);
	assert_int_equal(procfs_parse_net_dev("eth0: 1 2 3\n", c), -1);        /* short line */
	assert_int_equal(procfs_parse_net_dev("header only\n", c), 0);
}

static void
test_parse_cgroup(void **state)
{
	char name[64];

	(void)state;
	assert_int_equal(procfs_parse_cgroup("0::/system.slice/nginx.service\n", name, sizeof(name)), 0);
	assert_string_equal(name, "nginx");
	assert_int_equal(procfs_parse_cgroup("0::/system.slice/docker-0123456789abcdef.scope\n", name,
	    sizeof(name)), 1);
	assert_int_equal(procfs_parse_cgroup("0::/machine.slice/libpod-abc.scope/container\n", name,
	    sizeof(name)), 1);
	assert_int_equal(procfs_parse_cgroup(
	    "0::/user.slice/user-1000.slice/user@1000.service/app.slice/syncthing.service\n", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "syncthing");
	/* cgroup v1: the name=systemd hierarchy wins over the controllers */
	assert_int_equal(procfs_parse_cgroup("12:pids:/\n11:memory:/docker/abc\n"
	    "1:name=systemd:/system.slice/wireguard.service\n", name, sizeof(name)), 0);
	assert_string_equal(name, "wireguard");
	assert_int_equal(procfs_parse_cgroup("4:memory:/docker/0123abcd\n", name, sizeof(name)), 1);
	assert_int_equal(procfs_parse_cgroup("0::/lxc/pihole\n", name, sizeof(name)), 0);
	assert_string_equal(name, "pihole");
	assert_int_equal(procfs_parse_cgroup("0::/machine.slice/machine-web.scope\n", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "web");
	assert_int_equal(procfs_parse_cgroup("0::/\n", name, sizeof(name)), -1);
	assert_int_equal(procfs_parse_cgroup("garbage", name, sizeof(name)), -1);
	assert_int_equal(procfs_parse_cgroup("0::/init.scope\n", name, sizeof(name)), -1);
}

static void
test_parse_stat_meminfo(void **state)
{
	double busy, all, total, avail;
	unsigned ncpu;

	(void)state;
	assert_int_equal(procfs_parse_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n"
	    "cpu1 1 2 3 4\nintr 5\n", &busy, &all, &ncpu), 0);
	assert_true(all == 1000 && busy == 150 && ncpu == 2);
	assert_int_equal(procfs_parse_stat("intr 5\n", &busy, &all, &ncpu), -1);
	assert_int_equal(procfs_parse_meminfo("MemTotal:  1000 kB\nMemFree: 1 kB\n"
	    "MemAvailable:   250 kB\n", &total, &avail), 0);
	assert_true(total == 1024000 && avail == 256000);
	assert_int_equal(procfs_parse_meminfo("MemTotal: 5 kB\n", &total, &avail), -1);
}

static void
test_kube_quantity(void **state)
{
	(void)state;
	assert_true(kube_quantity("4") == 4);
	assert_true(fabs(kube_quantity("3500m") - 3.5) < 1e-9);
	assert_true(kube_quantity("16Gi") == 16.0 * 1073741824);
	assert_true(kube_quantity("16318464Ki") == 16318464.0 * 1024);
	assert_true(kube_quantity("1e9") == 1e9);
	assert_true(kube_quantity("500M") == 5e8);
	assert_true(kube_quantity("") < 0 && kube_quantity("12Qi") < 0 && kube_quantity(NULL) < 0);
	assert_true(kube_quantity("-1") < 0);
}

/* ---- cAdvisor ----------------------------------------------------------------- */

static void
test_cadvisor_aggregate(void **state)
{
	struct cadvisor_agg *agg = cadvisor_agg_new();
	struct collect_result res = {0};
	struct cadvisor_stats st = {0};
	struct collect_ns *media = NULL, *kubarr = NULL;
	size_t len;
	char *text = read_fixture(CADVISOR_FIXTURE, &len);

	(void)state;
	cadvisor_agg_add(agg, text, len, &res, &st);
	assert_int_equal(st.skipped, 2);   /* the broken line and "notanumber" */
	for (size_t i = 0; i < res.n; i++) {
		if (strcmp(res.ns[i].name, "media") == 0)
			media = &res.ns[i];
		if (strcmp(res.ns[i].name, "kubarr") == 0)
			kubarr = &res.ns[i];
		/* kube-system, default and "" never appear */
		assert_false(cadvisor_namespace_excluded(res.ns[i].name));
	}
	assert_non_null(media);
	assert_non_null(kubarr);
	assert_true(media->ctr[CTR_RX_BYTES] == 3000000);   /* eth0 of both pods, lo skipped */
	assert_true(media->ctr[CTR_TX_BYTES] == 3000500);
	assert_true(media->ctr[CTR_RX_PACKETS] == 1000 && media->ctr[CTR_TX_PACKETS] == 2000);
	assert_true(media->ctr[CTR_RX_ERRORS] == 3 && media->ctr[CTR_TX_ERRORS] == 4);
	assert_true(media->ctr[CTR_RX_DROPPED] == 5 && media->ctr[CTR_TX_DROPPED] == 6);
	assert_int_equal(media->pods, 2);
	assert_true(media->has_cpu && fabs(media->cpu_seconds - 1750.5) < 1e-6); /* not POD */
	assert_true(media->has_memory && media->memory_bytes == 524288000.0 + 104857600.0);
	assert_true(kubarr->ctr[CTR_RX_BYTES] == 450000 && kubarr->ctr[CTR_TX_BYTES] == 150000);
	/* the weird-but-valid escaped line: namespace wei"rd\ns, name sanitized */
	assert_int_equal(res.pods, 4);
	assert_int_equal(res.containers, 3);  /* jellyfin, sonarr, kubarr */
	/* a second node with the same pods adds counters but not pods */
	cadvisor_agg_add(agg, text, len, &res, &st);
	assert_true(media->ctr[CTR_RX_BYTES] == 6000000);
	assert_int_equal(media->pods, 2);
	assert_true(cadvisor_namespace_excluded("kube-public") && cadvisor_namespace_excluded("") &&
	    cadvisor_namespace_excluded("local-path-storage") && cadvisor_namespace_excluded("linux") &&
	    !cadvisor_namespace_excluded("kubernetes-dashboard"));
	collect_free(&res);
	cadvisor_agg_free(&agg);
	free(text);
}

/* ---- procfs collector on a fixture tree --------------------------------------- */

static void
fixture_proc(void)
{
	put_file("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1\ncpu1 1\n");
	put_file("proc/meminfo", "MemTotal: 1000 kB\nMemAvailable: 400 kB\n");
	/* pid 1: host */
	put_file("proc/1/net/dev", net_dev(5000, 6000));
	put_file("proc/1/cgroup", "0::/init.scope\n");
	put_link("proc/1/ns/net", "net:[4026531840]");
	/* pid 2: also host */
	put_file("proc/2/cgroup", "0::/system.slice/sshd.service\n");
	put_link("proc/2/ns/net", "net:[4026531840]");
	/* a container: pids 300 and 301 */
	put_file("proc/300/net/dev", net_dev(100, 200));
	put_file("proc/300/cgroup", "0::/system.slice/docker-0123456789.scope\n");
	put_file("proc/300/comm", "jellyfin\n");
	put_link("proc/300/ns/net", "net:[4026532001]");
	put_link("proc/301/ns/net", "net:[4026532001]");
	/* a unit with PrivateNetwork */
	put_file("proc/400/net/dev", net_dev(1, 2));
	put_file("proc/400/cgroup", "0::/system.slice/wireguard.service\n");
	put_link("proc/400/ns/net", "net:[4026532002]");
	/* a second namespace named like the first container: disambiguated */
	put_file("proc/500/net/dev", net_dev(7, 8));
	put_file("proc/500/cgroup", "0::/system.slice/docker-feedbeef.scope\n");
	put_file("proc/500/comm", "jellyfin\n");
	put_link("proc/500/ns/net", "net:[4026532003]");
	/* a process that vanished: no ns link */
	mkdir(strcat(strcpy((char[512]){0}, test_tmp), "/proc/600"), 0755);
}

static struct collect_ns *
find_ns(struct collect_result *res, const char *name)
{
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->ns[i].name, name) == 0)
			return &res->ns[i];
	return NULL;
}

static void
test_procfs_fixture(void **state)
{
	struct collect_result res = {0};
	struct collect_ns *ns;
	struct procfs *p;
	char root[300];

	(void)state;
	fixture_proc();
	snprintf(root, sizeof(root), "%s/proc", test_tmp);
	p = procfs_new(root, test_tmp);
	procfs_collect(p, &res);
	assert_true(res.ok);
	assert_int_equal(res.n, 4);
	assert_non_null(ns = find_ns(&res, "host"));
	assert_true(ns->ctr[CTR_RX_BYTES] == 10000 && ns->ctr[CTR_TX_BYTES] == 12000);
	assert_int_equal(ns->pods, 2);
	assert_non_null(ns = find_ns(&res, "jellyfin"));
	assert_int_equal(ns->pods, 2);
	assert_true(ns->ctr[CTR_RX_BYTES] == 200);
	assert_non_null(find_ns(&res, "wireguard"));
	assert_non_null(find_ns(&res, "jellyfin-4026532003"));
	assert_true(res.has_cpu_jiffies && res.cpu_all == 1000 && res.cpu_busy == 200);
	assert_true(res.cpu_cores == 2);
	assert_true(res.memory_total == 1024000 && res.memory_used == 1024000 - 409600);
	assert_true(res.storage_total > 0);
	assert_int_equal(res.pids_seen, 7);
	assert_int_equal(res.pods, 3);   /* namespaces other than the host's */

	/* growth, then the container goes away */
	put_file("proc/300/net/dev", net_dev(1100, 1200));
	put_link("proc/400/ns/net", "net:[4026532099]");   /* the unit restarted: new namespace */
	put_file("proc/301/cgroup", "");
	unlink(strcat(strcpy((char[512]){0}, test_tmp), "/proc/500/ns/net"));
	procfs_collect(p, &res);
	assert_int_equal(res.n, 3);
	assert_non_null(ns = find_ns(&res, "jellyfin"));
	assert_true(ns->ctr[CTR_RX_BYTES] == 2200);
	assert_non_null(find_ns(&res, "wireguard"));
	assert_null(find_ns(&res, "jellyfin-4026532003"));
	collect_free(&res);
	procfs_free(&p);

	p = procfs_new("/nonexistent/proc", test_tmp);
	procfs_collect(p, &res);
	assert_false(res.ok);
	assert_non_null(strstr(res.message, "cannot open"));
	collect_free(&res);
	procfs_free(&p);
}

/* ---- store -------------------------------------------------------------------- */

static void
decode_snapshot(nng_msg *msg, struct proto_env *env, struct proto_metrics_snapshot_rep *rep)
{
	const char *err = NULL;

	assert_non_null(msg);
	assert_int_equal(proto_env_decode(env, nng_msg_body(msg), nng_msg_len(msg), &err), 0);
	assert_int_equal(env->op, PROTO_OP_METRICS_SNAPSHOT);
	assert_int_equal(proto_metrics_snapshot_rep_decode(env, rep, &err), 0);
}

static const struct proto_rec_metrics_ns *
snap_ns(const struct proto_metrics_snapshot_rep *rep, const char *name)
{
	for (size_t i = 0; i < rep->namespaces.n; i++)
		if (strcmp(rep->namespaces.v[i].name, name) == 0)
			return &rep->namespaces.v[i];
	return NULL;
}

static void
feed(struct store *st, struct collect_result *res, const char *name, double rx, double tx,
    int64_t now_ms)
{
	struct collect_ns *ns = collect_ns_get(res, name);

	ns->ctr[CTR_RX_BYTES] = rx;
	ns->ctr[CTR_TX_BYTES] = tx;
	ns->pods = 1;
	res->ok = true;
	(void)st;
	(void)now_ms;
}

static void
test_store_rates_history(void **state)
{
	struct store_config cfg = {.max_series = 8, .ttl_ms = 300000, .alpha = 1.0, .source = "proc"};
	struct store *st = store_new(&cfg);
	struct collect_result res = {0};
	struct proto_env env;
	struct proto_metrics_snapshot_rep rep;
	struct proto_metrics_history_rep h;
	const struct proto_rec_metrics_ns *n;
	const char *err;
	int64_t t0 = 1700000000000LL - 1700000000000LL % 60000;
	nng_msg *msg;

	(void)state;
	/* 10 cycles, 1 s apart: app grows 1000 B/s rx, 500 B/s tx */
	for (int i = 0; i < 10; i++) {
		collect_reset(&res);
		feed(st, &res, "app", 1000.0 * i, 500.0 * i, t0 + 1000 * i);
		feed(st, &res, "host", 0, 0, t0 + 1000 * i);
		res.cpu_cores = 4;
		res.memory_total = 1000;
		res.memory_used = 250;
		res.storage_total = 100;
		res.storage_used = 10;
		store_apply(st, &res, t0 + 1000 * i);
	}
	msg = store_snapshot_msg(st, 7);
	decode_snapshot(msg, &env, &rep);
	assert_int_equal(env.req_id, 7);
	assert_int_equal(rep.namespaces.n, 2);
	assert_string_equal(rep.namespaces.v[0].name, "app");   /* sorted by name */
	n = snap_ns(&rep, "app");
	assert_true(n->rx_bytes_m == 1000000 && n->tx_bytes_m == 500000);
	assert_true(rep.memory_total == 1000 && rep.memory_used == 250 && rep.cpu_total_m == 4000);
	assert_true(rep.available);
	assert_string_equal(rep.source, "proc");
	proto_env_fini(&env);
	nng_msg_free(msg);

	/* history over 15 min: 15 s steps, the last one holds 1000 B/s */
	msg = store_history_msg(st, 8, "app", 900, t0 + 9000);
	assert_int_equal(proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err), 0);
	assert_int_equal(proto_metrics_history_rep_decode(&env, &h, &err), 0);
	assert_true(h.found);
	assert_int_equal(h.step_s, 15);
	assert_int_equal(h.points.n, 60);
	assert_true(h.points.v[59].has_a && h.points.v[59].a > 0 && h.points.v[59].a <= 1000000);
	assert_int_equal(h.points.v[59].t % 15, 0);
	assert_false(h.points.v[0].has_a);   /* before the first sample */
	assert_false(h.points.v[59].has_c);  /* no CPU on bare metal series */
	proto_env_fini(&env);
	nng_msg_free(msg);
	/* 3 h: 120 s steps; 24 h is capped to the ring */
	msg = store_history_msg(st, 9, NULL, 86400, t0 + 9000);
	assert_int_equal(proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err), 0);
	assert_int_equal(proto_metrics_history_rep_decode(&env, &h, &err), 0);
	assert_int_equal(h.step_s, 120);
	assert_int_equal(h.points.n, 720);
	assert_true(h.points.v[719].has_d && h.points.v[719].d == 25000);   /* memory 25 % */
	assert_true(h.points.v[719].has_e && h.points.v[719].e == 10000);   /* storage 10 % */
	proto_env_fini(&env);
	nng_msg_free(msg);
	msg = store_history_msg(st, 10, "nope", 3600, t0 + 9000);
	assert_int_equal(proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err), 0);
	assert_int_equal(proto_metrics_history_rep_decode(&env, &h, &err), 0);
	assert_false(h.found);
	assert_int_equal(h.step_s, 60);
	proto_env_fini(&env);
	nng_msg_free(msg);

	/* counter reset: the rate drops, never negative */
	collect_reset(&res);
	feed(st, &res, "app", 5, 5, t0 + 10000);
	store_apply(st, &res, t0 + 10000);
	msg = store_snapshot_msg(st, 11);
	decode_snapshot(msg, &env, &rep);
	n = snap_ns(&rep, "app");
	assert_true(n->rx_bytes_m == 800000);   /* window 1000,1000,1000,1000,0 */
	/* host was not in this cycle but is still fresh */
	assert_non_null(snap_ns(&rep, "host"));
	proto_env_fini(&env);
	nng_msg_free(msg);
	collect_free(&res);
	store_free(&st);
}

static void
test_store_bounds(void **state)
{
	struct store_config cfg = {.max_series = 3, .ttl_ms = 5000, .alpha = 0.3, .source = "proc"};
	struct store *st = store_new(&cfg);
	struct collect_result res = {0};
	struct proto_stats ps = {0};
	int64_t t = 1700000000000LL;
	char name[16];

	(void)state;
	/* 5 series in one cycle with a cap of 3: the first 3 stay, 2 are refused */
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "ns%d", i);
		feed(st, &res, name, 1, 1, t);
	}
	store_apply(st, &res, t);
	store_stats(st, &ps);
	for (size_t i = 0; i < ps.n; i++) {
		if (strcmp(ps.kv[i].key, "series") == 0)
			assert_int_equal(ps.kv[i].val, 3);
		if (strcmp(ps.kv[i].key, "series_refused") == 0)
			assert_int_equal(ps.kv[i].val, 2);
	}
	/* next cycle only ns3, ns4: they evict the least recently seen (LRU) */
	collect_reset(&res);
	feed(st, &res, "ns3", 2, 2, t + 1000);
	feed(st, &res, "ns4", 2, 2, t + 1000);
	store_apply(st, &res, t + 1000);
	ps.n = 0;
	store_stats(st, &ps);
	for (size_t i = 0; i < ps.n; i++) {
		if (strcmp(ps.kv[i].key, "series") == 0)
			assert_int_equal(ps.kv[i].val, 3);
		if (strcmp(ps.kv[i].key, "series_evicted_lru") == 0)
			assert_int_equal(ps.kv[i].val, 2);
	}
	/* the sweeper: ns0..2 seen at t, ns3/ns4 at t+1000; at t+5500 only the ones from t go */
	assert_int_equal(store_sweep(st, t + 5500), 1);
	assert_int_equal(store_sweep(st, t + 6000), 2);
	assert_int_equal(store_sweep(st, t + 6000), 0);
	collect_free(&res);
	store_free(&st);
}

/* ---- persistence ---------------------------------------------------------------- */

static void
test_persist_roundtrip(void **state)
{
	struct store_config cfg = {.max_series = 16, .ttl_ms = 300000, .alpha = 0.3, .source = "proc"};
	struct store *st = store_new(&cfg), *st2;
	struct collect_result res = {0};
	struct proto_env env;
	struct proto_metrics_snapshot_rep rep;
	struct proto_metrics_history_rep h;
	char path[400], *err = NULL;
	const char *perr;
	int64_t t = 1700000000000LL;
	nng_msg *msg;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/metrics.state", test_tmp);
	for (int i = 0; i < 20; i++) {
		collect_reset(&res);
		feed(st, &res, "media", 2000.0 * i, 100.0 * i, t + 1000 * i);
		feed(st, &res, "host", 10.0 * i, 10.0 * i, t + 1000 * i);
		store_apply(st, &res, t + 1000 * i);
	}
	assert_int_equal(store_save(st, path, t + 19000, &err), 0);

	/* a fresh store loads it: rates and history are there at once */
	st2 = store_new(&cfg);
	assert_int_equal(store_load(st2, path, t + 20000, 86400000, &err), 1);
	msg = store_snapshot_msg(st2, 1);
	decode_snapshot(msg, &env, &rep);
	assert_int_equal(rep.namespaces.n, 2);
	assert_true(snap_ns(&rep, "media")->rx_bytes_m == 2000000);
	proto_env_fini(&env);
	nng_msg_free(msg);
	msg = store_history_msg(st2, 2, "media", 900, t + 20000);
	assert_int_equal(proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &perr), 0);
	assert_int_equal(proto_metrics_history_rep_decode(&env, &h, &perr), 0);
	assert_true(h.points.v[h.points.n - 1].has_a || h.points.v[h.points.n - 2].has_a);
	proto_env_fini(&env);
	nng_msg_free(msg);
	/* the counters continue: 1 s later, the rate is computed, not restarted */
	collect_reset(&res);
	feed(st2, &res, "media", 2000.0 * 20, 100.0 * 20, t + 20000);
	store_apply(st2, &res, t + 20000);
	msg = store_snapshot_msg(st2, 3);
	decode_snapshot(msg, &env, &rep);
	assert_true(snap_ns(&rep, "media")->rx_bytes_m == 2000000);
	proto_env_fini(&env);
	nng_msg_free(msg);
	store_free(&st2);

	/* too old: ignored, nothing loaded */
	st2 = store_new(&cfg);
	assert_int_equal(store_load(st2, path, t + 19000 + 3600001, 3600000, &err), 0);
	store_free(&st2);
	/* absent: 0 */
	st2 = store_new(&cfg);
	assert_int_equal(store_load(st2, "/nonexistent/metrics.state", t, 3600000, &err), 0);
	store_free(&st2);
	/* damaged: one flipped byte in the middle is caught by the checksum */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 5000), 1);
	close(fd);
	st2 = store_new(&cfg);
	assert_int_equal(store_load(st2, path, t + 20000, 86400000, &err), -1);
	assert_non_null(strstr(err, "checksum"));
	free(err);
	err = NULL;
	/* truncated */
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(store_load(st2, path, t + 20000, 86400000, &err), -1);
	free(err);
	store_free(&st2);
	/* an unwritable path fails cleanly */
	assert_int_equal(store_save(st, "/nonexistent/dir/metrics.state", t, &err), -1);
	assert_non_null(err);
	free(err);
	collect_free(&res);
	store_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_net_dev),
		cmocka_unit_test(test_parse_cgroup),
		cmocka_unit_test(test_parse_stat_meminfo),
		cmocka_unit_test(test_kube_quantity),
		cmocka_unit_test(test_cadvisor_aggregate),
		cmocka_unit_test_setup_teardown(test_procfs_fixture, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_store_rates_history),
		cmocka_unit_test(test_store_bounds),
		cmocka_unit_test_setup_teardown(test_persist_roundtrip, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
