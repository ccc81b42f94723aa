/* bench-metrics: what live network rates cost.
 *
 *   bench-metrics collector BIN_DIR   kubarr-metricsd on fixture /proc trees of
 *       10, 100 and 1000 network namespaces (3 processes each): CPU time per
 *       collection cycle (collector thread, from its own STATS) and of the
 *       whole process per second, and RSS, after 15 cycles.
 *   bench-metrics fanout              the gateway's WebSocket hub (ws.c) behind a
 *       libmicrohttpd server like the gateway's: a 100-namespace snapshot
 *       rendered (routes_metrics_ws_frame) and broadcast 10 times a second to 0,
 *       1 and 50 subscribers (reading in a child process); server CPU per frame.
 *
 * Prints one line per measurement; tests/bench/run.sh does not run it (it
 * takes ~1 min): run it alone.  TMPDIR holds the fixtures. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "collect.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "routes.h"
#include "store.h"
#include "ws.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
fixture(const char *root, int nns)
{
	char path[600], link[64], text[512];

	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/stat", root);
	put(path, "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1\ncpu1 1\n");
	snprintf(path, sizeof(path), "%s/meminfo", root);
	put(path, "MemTotal: 1000000 kB\nMemAvailable: 600000 kB\n");
	for (int ns = 0; ns < nns; ns++) {
		for (int k = 0; k < 3; k++) {
			int pid = 1 + ns * 3 + k;

			snprintf(path, sizeof(path), "%s/%d", root, pid);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/%d/ns", root, pid);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/%d/net", root, pid);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/%d/ns/net", root, pid);
			snprintf(link, sizeof(link), "net:[%ld]", 4026531840L + ns);
			if (symlink(link, path) != 0 && errno != EEXIST)
				perror(path);
			snprintf(path, sizeof(path), "%s/%d/net/dev", root, pid);
			snprintf(text, sizeof(text), "Inter-| Receive | Transmit\n face |bytes ...\n"
			    "    lo: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n"
			    "  eth0: %d 100 0 0 0 0 0 0 %d 200 0 0 0 0 0 0\n"
			    "  eth1: %d 100 0 0 0 0 0 0 %d 200 0 0 0 0 0 0\n", ns * 1000, ns * 500, ns, ns);
			put(path, text);
			snprintf(path, sizeof(path), "%s/%d/cgroup", root, pid);
			snprintf(text, sizeof(text), "0::/system.slice/app%d.service\n", ns);
			put(path, text);
			snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
			put(path, "app\n");
		}
	}
}

static int64_t
stat_of(struct ipc_client *c, const char *key)
{
	struct proto_stats_req req = {0};
	struct proto_stats_rep rep;
	struct proto_reply hold;
	int64_t v = -1;

	if (proto_stats_call_sync(c, &req, 3000, &rep, &hold) != PROTO_OK)
		return -1;
	for (size_t i = 0; i < rep.counters.n; i++)
		if (strcmp(rep.counters.v[i].key, key) == 0)
			v = rep.counters.v[i].val;
	proto_reply_fini(&hold);
	return v;
}

static double
proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL || fgets(buf, sizeof(buf), f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* fields after ") ": state(3) ... utime(14) stime(15) */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int
bench_collector(const char *bin_dir)
{
	static const int sizes[] = {10, 100, 1000};
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	printf("%-6s %12s %12s %14s %10s %8s\n", "netns", "cycle_cpu_us", "cycle_wall_us",
	    "proc_cpu_%core", "rss_kib", "series");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char dir[300], root[400], data[400], url[500], bin[400], cmd[700], *err = NULL;
		struct ipc_client *c = NULL;
		double c0, c1, t0, t1;
		pid_t pid;

		snprintf(dir, sizeof(dir), "%s/bench-metrics-XXXXXX", tmp);
		if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(root, sizeof(root), "%s/proc", dir);
		snprintf(data, sizeof(data), "%s/data", dir);
		fixture(root, sizes[i]);
		snprintf(bin, sizeof(bin), "%s/kubarr-metricsd", bin_dir);
		if ((pid = fork()) == 0) {
			setenv("KUBARR_DATA_DIR", data, 1);
			setenv("KUBARR_PROC_ROOT", root, 1);
			setenv("KUBARR_METRICS_MAX_SERIES", "2000", 1);
			setenv("KUBARR_LOG_LEVEL", "warn", 1);
			execl(bin, bin, (char *)NULL);
			_exit(127);
		}
		snprintf(url, sizeof(url), "ipc://%s/run/metricsd.ipc", data);
		usleep(300000);
		ipc_client_open(&c, url, 0, &err);
		for (int k = 0; k < 200 && !ipc_client_connected(c); k++)
			usleep(10000);
		sleep(3);   /* warm: first cycles, page faults */
		c0 = proc_cpu_s(pid);
		t0 = now_s();
		sleep(12);
		c1 = proc_cpu_s(pid);
		t1 = now_s();
		printf("%-6d %12lld %12lld %14.2f %10lld %8lld\n", sizes[i],
		    (long long)stat_of(c, "cycle_cpu_us_avg"), (long long)stat_of(c, "cycle_us_last"),
		    (c1 - c0) / (t1 - t0) * 100.0, (long long)stat_of(c, "rss_kib"),
		    (long long)stat_of(c, "series"));
		fflush(stdout);
		ipc_client_close(&c);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return 0;
}

/* ---- fan-out ---------------------------------------------------------------- */

static struct gw_ws *bench_ws;

static enum MHD_Result
bench_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct gw_req r = {0};
	enum MHD_Result ret;

	(void)cls; (void)url; (void)version; (void)upload; (void)upload_size;
	if (*con_cls == NULL) {   /* mark on the first call (MHD 0.9.75) */
		*con_cls = conn;
		return MHD_YES;
	}
	r.conn = conn;
	r.method = method;
	r.url = url;
	gw_ws_accept(bench_ws, &r);
	ret = MHD_queue_response(conn, r.status, r.resp);
	MHD_destroy_response(r.resp);
	return ret;
}

/* n readers in one child process; each reads and discards. */
static pid_t
bench_readers(int port, int n)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int fds[64];
	char buf[65536];
	const char *req = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fds[i], (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
		    write(fds[i], req, strlen(req)) < 0)
			_exit(1);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
	for (;;) {
		for (int i = 0; i < n; i++)
			while (read(fds[i], buf, sizeof(buf)) > 0)
				;
		usleep(2000);
	}
}

static int
bench_fanout(void)
{
	static const int subs[] = {0, 1, 50};
	struct store_config sc = {.max_series = 200, .ttl_ms = 300000, .alpha = 0.3, .source = "proc"};
	struct store *st = store_new(&sc);
	struct collect_result res = {0};
	struct MHD_Daemon *mhd;
	char *err = NULL;
	nng_msg *snap;
	int port = 20000 + (int)(getpid() % 20000);
	double base = 0;

	/* a realistic snapshot: 100 namespaces with traffic */
	for (int k = 0; k < 2; k++) {
		collect_reset(&res);
		for (int i = 0; i < 100; i++) {
			char name[32];
			struct collect_ns *ns;

			snprintf(name, sizeof(name), "app-%03d", i);
			ns = collect_ns_add(&res, name);
			for (int c = 0; c < CTR_COUNT; c++)
				ns->ctr[c] = (k + 1) * 1000.0 * (i + c + 1);
			ns->pods = 1;
		}
		res.ok = true;
		store_apply(st, &res, 1700000000000LL + k * 1000);
	}
	snap = store_snapshot_msg(st, 0);
	if ((bench_ws = gw_ws_new(&err)) == NULL)
		return 1;
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_UPGRADE |
	    MHD_USE_ITC, (uint16_t)port, NULL, NULL, bench_access, NULL, MHD_OPTION_END);
	if (mhd == NULL)
		return 1;
	{
		char *frame = routes_metrics_ws_frame(snap);
		printf("frame: %zu bytes (100 namespaces)\n", strlen(frame));
		free(frame);
	}
	printf("%-12s %10s %16s %24s\n", "subscribers", "frames", "cpu_us_per_frame",
	    "extra_us_per_subscriber");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		struct rusage r0, r1;
		pid_t child = subs[i] > 0 ? bench_readers(port, subs[i]) : 0;
		int frames = 100;
		double us;

		for (int k = 0; k < 200 && (int)gw_ws_clients(bench_ws) < subs[i]; k++)
			usleep(10000);
		usleep(200000);
		getrusage(RUSAGE_SELF, &r0);
		for (int f = 0; f < frames; f++) {
			char *text = routes_metrics_ws_frame(snap);   /* what the gateway does per snapshot */

			if (gw_ws_clients(bench_ws) > 0)
				gw_ws_broadcast(bench_ws, text, strlen(text));
			free(text);
			usleep(100000);
		}
		getrusage(RUSAGE_SELF, &r1);
		us = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
		    r0.ru_stime.tv_sec) * 1e6 + (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
		    r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
		if (subs[i] == 0)
			base = us / frames;
		printf("%-12d %10d %16.1f %24.1f\n", subs[i], frames, us / frames,
		    subs[i] ? (us / frames - base) / subs[i] : 0.0);
		fflush(stdout);
		if (child > 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		}
		for (int k = 0; k < 200 && gw_ws_clients(bench_ws) > 0; k++)
			usleep(10000);
	}
	gw_ws_shutdown(bench_ws);
	MHD_stop_daemon(mhd);
	gw_ws_free(&bench_ws);
	nng_msg_free(snap);
	collect_free(&res);
	store_free(&st);
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("bench-metrics");
	log_set_level(LOG_LEVEL_WARN);
	if (argc >= 3 && strcmp(argv[1], "collector") == 0)
		return bench_collector(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "fanout") == 0)
		return bench_fanout();
	fprintf(stderr, "usage: bench-metrics collector BIN_DIR | fanout\n");
	return 2;
}
