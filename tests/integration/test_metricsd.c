/*
 * test_metricsd.c: kubarr-metricsd against the real binaries, through its
 * socket (metricsd.ipc) and its publications (metrics.ipc).
 *
 *   proc_rates     fixture /proc tree with scripted counters: growth gives
 *                  the expected rate, a counter reset never a negative one,
 *                  a vanished namespace leaves the snapshot and is evicted
 *                  after KUBARR_METRICS_SERIES_TTL_S; history has points;
 *                  a snapshot is published every cycle
 *   series_cap     more namespaces than KUBARR_METRICS_MAX_SERIES: capped,
 *                  the rest counted in STATS
 *   restart        kill -9, restart: rates and history are there at once
 *   kubernetes     a fake API server on loopback: nodes, cAdvisor per node
 *                  (bearer token checked), services and ingresses -> edges
 *
 * KUBARR_TEST_FILTER=<glob> runs only the matching tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "ipc.h"
#include "proto.h"

#define T_TIMEOUT_MS 3000

struct t_ctx {
	struct harness *h;
	struct ipc_client *c;
	struct ipc_sub *sub;
	char proc[300];
	atomic_int published;
};

/* ---- fixture /proc ----------------------------------------------------------- */

static void
t_write(const char *path, const char *text)
{
	char tmp[400];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);   /* the collector never reads half a file */
}

static void
t_mkdirs(const char *dir)
{
	char buf[400];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

static void
t_netdev(struct t_ctx *t, int pid, unsigned long long rx, unsigned long long tx)
{
	char path[400], text[512];

	snprintf(path, sizeof(path), "%s/%d/net/dev", t->proc, pid);
	snprintf(text, sizeof(text),
	    "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes ...\n"
	    "    lo: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n"
	    "  eth0: %llu %llu 0 0 0 0 0 0 %llu %llu 0 0 0 0 0 0\n", rx, rx / 100, tx, tx / 100);
	t_write(path, text);
}

static void
t_pid(struct t_ctx *t, int pid, unsigned long long ino, const char *cgroup, const char *comm)
{
	char path[400], link[64];

	snprintf(path, sizeof(path), "%s/%d/net", t->proc, pid);
	t_mkdirs(path);
	snprintf(path, sizeof(path), "%s/%d/ns", t->proc, pid);
	t_mkdirs(path);
	snprintf(path, sizeof(path), "%s/%d/ns/net", t->proc, pid);
	snprintf(link, sizeof(link), "net:[%llu]", ino);
	unlink(path);
	assert_int_equal(symlink(link, path), 0);
	snprintf(path, sizeof(path), "%s/%d/cgroup", t->proc, pid);
	t_write(path, cgroup);
	snprintf(path, sizeof(path), "%s/%d/comm", t->proc, pid);
	t_write(path, comm);
	t_netdev(t, pid, 0, 0);
}

static void
t_pid_remove(struct t_ctx *t, int pid)
{
	char cmd[500];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%d'", t->proc, pid);
	assert_int_equal(system(cmd), 0);
}

static void
t_proc_base(struct t_ctx *t)
{
	char path[400];

	snprintf(t->proc, sizeof(t->proc), "%s/proc", harness_tmp_dir(t->h));
	t_mkdirs(t->proc);
	snprintf(path, sizeof(path), "%s/stat", t->proc);
	t_write(path, "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1\ncpu1 1\n");
	snprintf(path, sizeof(path), "%s/meminfo", t->proc);
	t_write(path, "MemTotal: 1000000 kB\nMemAvailable: 600000 kB\n");
	t_pid(t, 1, 4026531840ULL, "0::/init.scope\n", "systemd\n");
}

/* ---- set-up -------------------------------------------------------------------- */

static void
t_published(void *arg, nng_msg *msg)
{
	struct t_ctx *t = arg;
	struct proto_env env;
	const char *err;

	if (proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err) == 0 &&
	    env.op == PROTO_OP_METRICS_SNAPSHOT)
		atomic_fetch_add(&t->published, 1);
	proto_env_fini(&env);
	nng_msg_free(msg);
}

static void
t_connect(struct t_ctx *t)
{
	char url[400], *err = NULL;
	long until = harness_now_ms() + T_TIMEOUT_MS;

	ipc_client_close(&t->c);
	snprintf(url, sizeof(url), "ipc://%s/metricsd.ipc", harness_runtime_dir(t->h));
	assert_int_equal(ipc_client_open(&t->c, url, 0, &err), 0);
	while (!ipc_client_connected(t->c) && harness_now_ms() < until)
		usleep(2000);
	assert_true(ipc_client_connected(t->c));
}

/* Starts the daemons with the fixture tree (made by prepare, if given) and env. */
static struct t_ctx *
t_start(const char *const *env, void (*prepare)(struct t_ctx *))
{
	struct t_ctx *t = calloc(1, sizeof(*t));
	char url[400], *err = NULL;

	assert_int_equal(harness_init(&t->h), 0);
	t_proc_base(t);
	if (prepare != NULL)
		prepare(t);
	assert_int_equal(harness_setenv(t->h, "KUBARR_PROC_ROOT", t->proc), 0);
	for (size_t i = 0; env != NULL && env[i] != NULL; i += 2)
		assert_int_equal(harness_setenv(t->h, env[i], env[i + 1]), 0);
	if (harness_launch(t->h) != 0) {
		harness_print_log_tails(t->h, 40);
		fail_msg("daemons did not start");
	}
	t_connect(t);
	snprintf(url, sizeof(url), "ipc://%s/metrics.ipc", harness_runtime_dir(t->h));
	assert_int_equal(ipc_sub_open(&t->sub, url, t_published, t, &err), 0);
	return t;
}

static void
t_finish(struct t_ctx *t)
{
	ipc_sub_close(&t->sub);
	ipc_client_close(&t->c);
	assert_int_equal(harness_finish(t->h), 0);
	harness_free(&t->h);
	free(t);
}

/* ---- queries ---------------------------------------------------------------------- */

struct t_snap {
	struct proto_metrics_snapshot_rep rep;
	struct proto_reply hold;
};

static void
t_snapshot(struct t_ctx *t, struct t_snap *s)
{
	struct proto_metrics_snapshot_req req = {0};
	long until = harness_now_ms() + 10000;
	enum proto_status st;

	/* Right after a restart the first call may meet nng 1.5.2's handshake
	 * stall, which common/ipc.c repairs within a few seconds: retry until then. */
	for (;;) {
		st = proto_metrics_snapshot_call_sync(t->c, &req, T_TIMEOUT_MS, &s->rep, &s->hold);
		if (st == PROTO_OK || (st != PROTO_TIMEOUT && st != PROTO_UNAVAILABLE) ||
		    harness_now_ms() > until)
			break;
		proto_reply_fini(&s->hold);
		usleep(100000);
	}
	if (st != PROTO_OK)
		fail_msg("METRICS_SNAPSHOT: %s", proto_status_name(st));
}

static const struct proto_rec_metrics_ns *
t_ns(const struct t_snap *s, const char *name)
{
	for (size_t i = 0; i < s->rep.namespaces.n; i++)
		if (strcmp(s->rep.namespaces.v[i].name, name) == 0)
			return &s->rep.namespaces.v[i];
	return NULL;
}

static int64_t
t_stat(struct t_ctx *t, const char *key)
{
	struct proto_stats_req req = {0};
	struct proto_stats_rep rep;
	struct proto_reply hold;
	int64_t v = -1;

	assert_int_equal(proto_stats_call_sync(t->c, &req, T_TIMEOUT_MS, &rep, &hold), PROTO_OK);
	for (size_t i = 0; i < rep.counters.n; i++)
		if (strcmp(rep.counters.v[i].key, key) == 0)
			v = rep.counters.v[i].val;
	proto_reply_fini(&hold);
	if (v < 0)
		fail_msg("STATS has no %s", key);
	return v;
}

/* Points of a history with channel a (rx) set. */
static size_t
t_history_points(struct t_ctx *t, const char *series, int64_t duration, bool *found_r)
{
	struct proto_metrics_history_req req = {.duration_s = duration};
	struct proto_metrics_history_rep rep;
	struct proto_reply hold;
	size_t n = 0;

	if (series != NULL) {
		req.series = series;
		req.has_series = true;
	}
	assert_int_equal(proto_metrics_history_call_sync(t->c, &req, T_TIMEOUT_MS, &rep, &hold),
	    PROTO_OK);
	for (size_t i = 0; i < rep.points.n; i++)
		n += rep.points.v[i].has_a;
	if (found_r != NULL)
		*found_r = rep.found;
	proto_reply_fini(&hold);
	return n;
}

/* ---- tests ---------------------------------------------------------------------- */

static void
t_prepare_apps(struct t_ctx *t)
{
	t_pid(t, 300, 4026532001ULL, "0::/system.slice/docker-0123abcd.scope\n", "jellyfin\n");
	t_pid(t, 301, 4026532001ULL, "0::/system.slice/docker-0123abcd.scope\n", "jellyfin\n");
	t_pid(t, 400, 4026532002ULL, "0::/system.slice/wireguard.service\n", "wg-quick\n");
}

static void
test_proc_rates(void **state)
{
	static const char *const env[] = {"KUBARR_METRICS_INTERVAL_MS", "200",
	    "KUBARR_METRICS_SERIES_TTL_S", "3", "KUBARR_METRICS_EMA_ALPHA", "1", NULL};
	struct t_ctx *t = t_start(env, t_prepare_apps);
	const struct proto_rec_metrics_ns *n;
	struct t_snap s;
	long t0 = harness_now_ms(), until;
	bool found;
	int published0;

	(void)state;
	/* growth: jellyfin receives 50,000 B/s and sends 10,000 B/s, counted by wall time */
	while (harness_now_ms() - t0 < 2500) {
		long ms = harness_now_ms() - t0;

		t_netdev(t, 300, 100000 + (unsigned long long)ms * 50, (unsigned long long)ms * 10);
		usleep(50000);
	}
	t_snapshot(t, &s);
	assert_string_equal(s.rep.source, "proc");
	assert_true(s.rep.available);
	assert_int_equal(s.rep.namespaces.n, 3);
	assert_non_null(n = t_ns(&s, "jellyfin"));
	assert_int_equal(n->pod_count, 2);                /* two processes */
	if (n->rx_bytes_m < 40000 * 1000 || n->rx_bytes_m > 60000 * 1000)
		fail_msg("jellyfin rx %.2f B/s, expected ~50000", n->rx_bytes_m / 1000.0);
	if (n->tx_bytes_m < 8000 * 1000 || n->tx_bytes_m > 12000 * 1000)
		fail_msg("jellyfin tx %.2f B/s, expected ~10000", n->tx_bytes_m / 1000.0);
	assert_non_null(n = t_ns(&s, "wireguard"));
	assert_int_equal(n->rx_bytes_m, 0);
	assert_non_null(t_ns(&s, "host"));
	assert_int_equal(s.rep.memory_total, 1000000LL * 1024);
	assert_int_equal(s.rep.memory_used, 400000LL * 1024);
	assert_int_equal(s.rep.cpu_total_m, 2000);
	proto_reply_fini(&s.hold);

	/* published every cycle (200 ms) */
	published0 = atomic_load(&t->published);
	usleep(1000000);
	if (atomic_load(&t->published) - published0 < 3)
		fail_msg("%d snapshots published in 1 s", atomic_load(&t->published) - published0);

	/* counter reset: the rate falls to 0 (window mean), never below */
	t_netdev(t, 300, 10, 10);
	until = harness_now_ms() + 3000;
	do {
		usleep(200000);
		t_snapshot(t, &s);
		n = t_ns(&s, "jellyfin");
		assert_non_null(n);
		assert_true(n->rx_bytes_m >= 0 && n->tx_bytes_m >= 0);
		found = n->rx_bytes_m == 0;
		proto_reply_fini(&s.hold);
	} while (!found && harness_now_ms() < until);
	assert_true(found);

	/* history: the 15 s ring has points for the app and the cluster */
	assert_true(t_history_points(t, "jellyfin", 900, &found) >= 1);
	assert_true(found);
	assert_true(t_history_points(t, NULL, 900, &found) >= 1);

	/* a vanished namespace leaves the snapshot at once... */
	t_pid_remove(t, 400);
	usleep(600000);
	t_snapshot(t, &s);
	/* (still listed while fresh: up to 5 s) */
	proto_reply_fini(&s.hold);
	/* ...and is evicted after the TTL (3 s) */
	until = harness_now_ms() + 8000;
	do {
		usleep(250000);
		t_history_points(t, "wireguard", 900, &found);
	} while (found && harness_now_ms() < until);
	assert_false(found);
	assert_true(t_stat(t, "series_evicted_ttl") >= 1);
	assert_int_equal(t_stat(t, "series"), 2);
	t_snapshot(t, &s);
	assert_null(t_ns(&s, "wireguard"));
	assert_int_equal(s.rep.namespaces.n, 2);
	proto_reply_fini(&s.hold);
	/* a bad request is refused, not fatal */
	{
		struct proto_metrics_history_req req = {.duration_s = 999999};
		struct proto_metrics_history_rep rep;
		struct proto_reply hold;

		assert_int_equal(proto_metrics_history_call_sync(t->c, &req, T_TIMEOUT_MS, &rep, &hold),
		    PROTO_BAD_REQUEST);
		proto_reply_fini(&hold);
	}
	t_finish(t);
}

static void
t_prepare_many(struct t_ctx *t)
{
	for (int i = 0; i < 6; i++) {
		char cg[128];

		snprintf(cg, sizeof(cg), "0::/system.slice/app%d.service\n", i);
		t_pid(t, 1000 + i, 4026533000ULL + (unsigned)i, cg, "x\n");
	}
}

static void
test_series_cap(void **state)
{
	static const char *const env[] = {"KUBARR_METRICS_INTERVAL_MS", "200",
	    "KUBARR_METRICS_MAX_SERIES", "4", NULL};
	struct t_ctx *t = t_start(env, t_prepare_many);
	struct t_snap s;

	(void)state;
	usleep(800000);
	assert_int_equal(t_stat(t, "series"), 4);
	assert_int_equal(t_stat(t, "series_max"), 4);
	assert_true(t_stat(t, "series_refused") >= 3);   /* 7 namespaces, cap 4, every cycle */
	assert_true(t_stat(t, "series_bytes") <= 4 * t_stat(t, "series_bytes_each"));
	t_snapshot(t, &s);
	assert_int_equal(s.rep.namespaces.n, 4);
	proto_reply_fini(&s.hold);
	t_finish(t);
}

static void
test_restart_keeps_history(void **state)
{
	static const char *const env[] = {"KUBARR_METRICS_INTERVAL_MS", "200",
	    "KUBARR_METRICS_PERSIST_INTERVAL_S", "1", "KUBARR_METRICS_EMA_ALPHA", "1", NULL};
	struct t_ctx *t = t_start(env, t_prepare_apps);
	const struct proto_rec_metrics_ns *n;
	struct t_snap s;
	long t0 = harness_now_ms();
	bool found;

	(void)state;
	while (harness_now_ms() - t0 < 2500) {
		t_netdev(t, 300, (unsigned long long)(harness_now_ms() - t0) * 20, 0);
		usleep(50000);
	}
	/* kill only after a save that holds the series (on a loaded machine the
	 * first saves may predate it) */
	t_snapshot(t, &s);
	assert_non_null(t_ns(&s, "jellyfin"));
	proto_reply_fini(&s.hold);
	{
		int64_t saves = t_stat(t, "state_saves");
		long until = harness_now_ms() + 10000;

		while (t_stat(t, "state_saves") <= saves && harness_now_ms() < until) {
			t_netdev(t, 300, (unsigned long long)(harness_now_ms() - t0) * 20, 0);
			usleep(50000);
		}
		assert_true(t_stat(t, "state_saves") > saves);
	}
	assert_int_equal(harness_kill(t->h, "metricsd", SIGKILL), 0);
	/* the counters go on while it is down (under 300 s: rates continue) */
	t_netdev(t, 300, (unsigned long long)(harness_now_ms() - t0) * 20, 0);
	assert_int_equal(harness_restart(t->h, "metricsd"), 0);
	t_connect(t);
	/* at once: the series, its last rate and its history are back */
	t_snapshot(t, &s);
	assert_non_null(n = t_ns(&s, "jellyfin"));
	if (n->rx_bytes_m < 10000 * 1000 || n->rx_bytes_m > 30000 * 1000)
		fail_msg("after restart, jellyfin rx %.2f B/s, expected ~20000", n->rx_bytes_m / 1000.0);
	proto_reply_fini(&s.hold);
	assert_true(t_history_points(t, "jellyfin", 900, &found) >= 1);
	assert_true(found);
	assert_true(t_stat(t, "series_loaded") >= 3);
	t_finish(t);
}

/* ---- a fake API server ---------------------------------------------------------- */

struct t_api {
	int fd;
	int port;
	pthread_t thread;
	atomic_bool stop;
	atomic_int cadvisor_gets, bad_auth;
	long t0;
};

static const char t_nodes[] =
    "{\"kind\":\"NodeList\",\"items\":[{\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":"
    "{\"cpu\":\"4\",\"memory\":\"8Gi\"}}},{\"metadata\":{\"name\":\"n2\"},\"status\":{\"capacity\":"
    "{\"cpu\":\"2500m\",\"memory\":\"4194304Ki\"}}}]}";
static const char t_services[] =
    "{\"items\":[{\"metadata\":{\"name\":\"jellyfin\",\"namespace\":\"media\"},\"spec\":{\"type\":"
    "\"LoadBalancer\",\"ports\":[{\"port\":8096,\"protocol\":\"TCP\"}]}},{\"metadata\":{\"name\":"
    "\"x\",\"namespace\":\"kube-system\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":1}]}},"
    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"media\"},\"spec\":{\"type\":\"ClusterIP\"}}]}";
static const char t_ingresses[] =
    "{\"items\":[{\"metadata\":{\"name\":\"web\",\"namespace\":\"kubarr\"}}]}";

static void
t_api_answer(int fd, int status, const char *ctype, const char *body)
{
	char head[256];
	size_t len = strlen(body);
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, ctype, len);

	(void)!write(fd, head, (size_t)n);
	(void)!write(fd, body, len);
}

static void *
t_api_thread(void *arg)
{
	struct t_api *a = arg;

	while (!atomic_load(&a->stop)) {
		char req[8192], path[512], body[4096];
		size_t len = 0;
		ssize_t r;
		int fd = accept(a->fd, NULL, NULL);

		if (fd < 0)
			continue;
		while (len < sizeof(req) - 1 && (r = read(fd, req + len, sizeof(req) - 1 - len)) > 0) {
			len += (size_t)r;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[len] = '\0';
		if (sscanf(req, "GET %511s", path) != 1) {
			close(fd);
			continue;
		}
		if (strstr(req, "Authorization: Bearer sekret-token\r\n") == NULL) {
			atomic_fetch_add(&a->bad_auth, 1);
			t_api_answer(fd, 401, "application/json", "{}");
		} else if (strcmp(path, "/api/v1/nodes") == 0) {
			t_api_answer(fd, 200, "application/json", t_nodes);
		} else if (strncmp(path, "/api/v1/nodes/", 14) == 0 &&
		    strstr(path, "/proxy/metrics/cadvisor") != NULL) {
			/* media receives 2000 B/s per node, counted by wall time */
			long ms = harness_now_ms() - a->t0;

			atomic_fetch_add(&a->cadvisor_gets, 1);
			snprintf(body, sizeof(body),
			    "# TYPE container_network_receive_bytes_total counter\n"
			    "container_network_receive_bytes_total{interface=\"eth0\",namespace=\"media\",pod=\"jf-%s\"} %ld\n"
			    "container_network_transmit_bytes_total{interface=\"eth0\",namespace=\"media\",pod=\"jf-%s\"} 1e3\n"
			    "container_network_receive_bytes_total{interface=\"eth0\",namespace=\"kube-system\",pod=\"dns\"} %ld\n"
			    "container_network_receive_bytes_total{interface=\"eth0\",namespace=\"kubarr\",pod=\"kubarr-0\"} 5\n"
			    "container_cpu_usage_seconds_total{container=\"jellyfin\",namespace=\"media\",pod=\"jf-%s\"} %.3f\n"
			    "container_memory_working_set_bytes{container=\"jellyfin\",namespace=\"media\",pod=\"jf-%s\"} 1048576\n",
			    strstr(path, "/n1/") ? "a" : "b", ms * 2, strstr(path, "/n1/") ? "a" : "b",
			    ms * 100, strstr(path, "/n1/") ? "a" : "b", (double)ms / 4000.0,
			    strstr(path, "/n1/") ? "a" : "b");
			t_api_answer(fd, 200, "text/plain; version=0.0.4", body);
		} else if (strcmp(path, "/api/v1/services") == 0) {
			t_api_answer(fd, 200, "application/json", t_services);
		} else if (strcmp(path, "/apis/networking.k8s.io/v1/ingresses") == 0) {
			t_api_answer(fd, 200, "application/json", t_ingresses);
		} else {
			t_api_answer(fd, 404, "application/json", "{}");
		}
		close(fd);
	}
	return NULL;
}

static void
t_api_start(struct t_api *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};

	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(a->fd >= 0);
	assert_int_equal(bind(a->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(a->fd, 16), 0);
	setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));   /* accept wakes to check stop */
	getsockname(a->fd, (struct sockaddr *)&sin, &sl);
	a->port = ntohs(sin.sin_port);
	a->t0 = harness_now_ms();
	assert_int_equal(pthread_create(&a->thread, NULL, t_api_thread, a), 0);
}

static void
test_kubernetes(void **state)
{
	struct t_api api = {0};
	struct t_ctx *t = calloc(1, sizeof(*t));
	const struct proto_rec_metrics_ns *n;
	struct t_snap s;
	char url[64], token[400], *err = NULL;
	FILE *f;

	(void)state;
	t_api_start(&api);
	assert_int_equal(harness_init(&t->h), 0);
	snprintf(token, sizeof(token), "%s/token", harness_tmp_dir(t->h));
	f = fopen(token, "w");
	assert_non_null(f);
	fputs("sekret-token\n", f);
	fclose(f);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", api.port);
	assert_int_equal(harness_setenv(t->h, "KUBARR_METRICS_SOURCE", "kubernetes"), 0);
	assert_int_equal(harness_setenv(t->h, "KUBARR_METRICS_KUBE_API", url), 0);
	assert_int_equal(harness_setenv(t->h, "KUBARR_METRICS_KUBE_TOKEN_FILE", token), 0);
	assert_int_equal(harness_setenv(t->h, "KUBARR_METRICS_KUBE_CA_FILE", ""), 0);
	assert_int_equal(harness_setenv(t->h, "KUBARR_METRICS_INTERVAL_MS", "250"), 0);
	assert_int_equal(harness_setenv(t->h, "KUBARR_METRICS_EMA_ALPHA", "1"), 0);
	if (harness_launch(t->h) != 0) {
		harness_print_log_tails(t->h, 40);
		fail_msg("daemons did not start");
	}
	t_connect(t);
	usleep(2500000);
	t_snapshot(t, &s);
	assert_string_equal(s.rep.source, "kubernetes");
	assert_true(s.rep.available);
	assert_null(t_ns(&s, "kube-system"));
	assert_non_null(n = t_ns(&s, "media"));
	assert_int_equal(n->pod_count, 2);                /* one pod on each node */
	/* 2 nodes x 2000 B/s */
	if (n->rx_bytes_m < 3000 * 1000 || n->rx_bytes_m > 5000 * 1000)
		fail_msg("media rx %.2f B/s, expected ~4000", n->rx_bytes_m / 1000.0);
	assert_int_equal(n->tx_bytes_m, 0);               /* constant counter */
	assert_true(n->has_cpu_cores_m && n->cpu_cores_m > 300 && n->cpu_cores_m < 700); /* 2 x 0.25 */
	assert_true(n->has_memory_bytes && n->memory_bytes == 2 * 1048576);
	assert_non_null(t_ns(&s, "kubarr"));
	assert_int_equal(s.rep.cpu_total_m, 6500);
	assert_int_equal(s.rep.memory_total, 12LL * 1024 * 1024 * 1024);
	assert_int_equal(s.rep.pod_count, 3);
	assert_int_equal(s.rep.container_count, 2);
	assert_int_equal(s.rep.edges.n, 2);               /* media LoadBalancer, kubarr ingress */
	for (size_t i = 0; i < s.rep.edges.n; i++) {
		assert_string_equal(s.rep.edges.v[i].source, "external");
		assert_string_equal(s.rep.edges.v[i].type, "ingress");
		if (strcmp(s.rep.edges.v[i].target, "media") == 0)
			assert_int_equal(s.rep.edges.v[i].port, 8096);
		else
			assert_string_equal(s.rep.edges.v[i].target, "kubarr");
	}
	proto_reply_fini(&s.hold);
	assert_true(atomic_load(&api.cadvisor_gets) >= 8);
	assert_int_equal(atomic_load(&api.bad_auth), 0);
	t_finish(t);
	atomic_store(&api.stop, true);
	pthread_join(api.thread, NULL);
	close(api.fd);
	(void)err;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_rates),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_restart_keeps_history),
		cmocka_unit_test(test_kubernetes),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
