/*
 * test_metricsd_http.c: metricsd through the gateway, over real HTTP and a
 * real WebSocket, logged in as an admin (harness_auth.h).
 *
 *   routes      /api/networking/{stats,topology}, /api/monitoring/vm/... shapes
 *               (API.md section 4), 400 for a bad duration, 401 without a session
 *   ws_frames   a subscriber gets a {type:"network_metrics", timestamp, topology,
 *               stats} text frame about every second; Ping gets Pong; Close is
 *               answered
 *   ws_slow     a subscriber that never reads is dropped (and the gateway
 *               says so in its log) while a reading one keeps receiving
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_auth.h"
#include "ws_client.h"

/* ---- fixture /proc: host + one app whose counters grow by themselves ------------ */

static void
t_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
t_proc(struct harness *h, const char *dir)
{
	static const char *const pids[] = {"1", "300"};
	char path[700], cmd[1400];

	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s/net' '%s/%s/ns'", dir, pids[i], dir, pids[i]);
		assert_int_equal(system(cmd), 0);
		snprintf(path, sizeof(path), "%s/%s/ns/net", dir, pids[i]);
		assert_int_equal(symlink(i == 0 ? "net:[4026531840]" : "net:[4026532001]", path), 0);
		snprintf(path, sizeof(path), "%s/%s/net/dev", dir, pids[i]);
		t_put(path, "h\nh\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n");
		snprintf(path, sizeof(path), "%s/%s/cgroup", dir, pids[i]);
		t_put(path, i == 0 ? "0::/init.scope\n" : "0::/system.slice/jellyfin.service\n");
	}
	snprintf(path, sizeof(path), "%s/stat", dir);
	t_put(path, "cpu  1 0 1 8 0 0 0 0\ncpu0 1\n");
	snprintf(path, sizeof(path), "%s/meminfo", dir);
	t_put(path, "MemTotal: 1000 kB\nMemAvailable: 500 kB\n");
	assert_int_equal(harness_setenv(h, "KUBARR_PROC_ROOT", dir), 0);
}

static struct harness *
t_start(const char *interval_ms)
{
	struct harness *h;
	char dir[400];

	assert_int_equal(harness_init(&h), 0);
	snprintf(dir, sizeof(dir), "%s/proc", harness_tmp_dir(h));
	t_proc(h, dir);
	assert_int_equal(harness_setenv(h, "KUBARR_METRICS_INTERVAL_MS", interval_ms), 0);
	if (harness_launch(h) != 0) {
		harness_print_log_tails(h, 40);
		fail_msg("daemons did not start");
	}
	return h;
}

static json_t *
t_get(struct harness *h, struct http_client *c, const char *path, long status, struct http_resp *resp)
{
	json_t *j;

	if (http_client_request(c, "GET", path, NULL, NULL, resp) < 0)
		fail_msg("GET %s: %s", path, resp->error);
	if (resp->status != status)
		fail_msg("GET %s: %ld, expected %ld: %.300s", path, resp->status, status, resp->body);
	j = http_resp_json(resp);
	assert_non_null(j);
	(void)h;
	return j;
}

static void
t_has_numbers(json_t *o, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (!json_is_number(json_object_get(o, *keys)))
			fail_msg("field %s missing or not a number", *keys);
}

/* ---- routes ---------------------------------------------------------------------- */

static void
test_routes(void **state)
{
	static const char *const stats_keys[] = {"rx_bytes_per_sec", "tx_bytes_per_sec",
	    "rx_packets_per_sec", "tx_packets_per_sec", "rx_errors_per_sec", "tx_errors_per_sec",
	    "rx_dropped_per_sec", "tx_dropped_per_sec", "pod_count", NULL};
	static const char *const node_keys[] = {"rx_bytes_per_sec", "tx_bytes_per_sec",
	    "total_traffic", "pod_count", NULL};
	static const char *const cluster_keys[] = {"total_cpu_cores", "total_memory_bytes",
	    "used_cpu_cores", "used_memory_bytes", "cpu_usage_percent", "memory_usage_percent",
	    "container_count", "pod_count", "network_receive_bytes_per_sec",
	    "network_transmit_bytes_per_sec", "total_storage_bytes", "used_storage_bytes",
	    "storage_usage_percent", NULL};
	static const char *const app_keys[] = {"cpu_usage_cores", "memory_usage_bytes",
	    "memory_usage_mb", "network_receive_bytes_per_sec", "network_transmit_bytes_per_sec", NULL};
	struct harness *h = t_start("1000");
	struct http_client *c, *anon;
	struct http_resp resp = {0};
	json_t *j, *e;
	size_t i;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	usleep(1500000);

	j = t_get(h, c, "/api/networking/stats", 200, &resp);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 2);
	json_array_foreach(j, i, e) {
		assert_true(json_is_string(json_object_get(e, "namespace")));
		assert_true(json_is_string(json_object_get(e, "app_name")));
		t_has_numbers(e, stats_keys);
	}
	http_resp_free(&resp);

	j = t_get(h, c, "/api/networking/topology", 200, &resp);
	assert_true(json_is_array(json_object_get(j, "edges")));
	json_array_foreach(json_object_get(j, "nodes"), i, e) {
		assert_true(json_is_string(json_object_get(e, "id")));
		assert_true(json_is_string(json_object_get(e, "name")));
		assert_true(json_is_string(json_object_get(e, "type")));
		assert_true(json_is_string(json_object_get(e, "color")));
		t_has_numbers(e, node_keys);
	}
	http_resp_free(&resp);

	j = t_get(h, c, "/api/monitoring/vm/cluster", 200, &resp);
	t_has_numbers(j, cluster_keys);
	assert_int_equal(json_integer_value(json_object_get(j, "total_memory_bytes")), 1024000);
	http_resp_free(&resp);

	j = t_get(h, c, "/api/monitoring/vm/apps", 200, &resp);
	assert_int_equal(json_array_size(j), 1);   /* the host is not an app */
	e = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(e, "app_name")), "jellyfin");
	t_has_numbers(e, app_keys);
	http_resp_free(&resp);

	j = t_get(h, c, "/api/monitoring/vm/cluster/network-history?duration=15m", 200, &resp);
	assert_true(json_array_size(json_object_get(j, "combined_series")) >= 1);
	e = json_array_get(json_object_get(j, "rx_series"), 0);
	assert_true(json_is_integer(json_object_get(e, "timestamp")));
	assert_true(json_is_number(json_object_get(e, "value")));
	assert_true(json_is_array(json_object_get(j, "tx_series")));
	http_resp_free(&resp);

	j = t_get(h, c, "/api/monitoring/vm/cluster/metrics-history?duration=1h", 200, &resp);
	assert_true(json_array_size(json_object_get(j, "memory_series")) >= 1);
	assert_true(json_is_array(json_object_get(j, "cpu_series")));
	assert_true(json_is_array(json_object_get(j, "storage_series")));
	assert_true(json_is_array(json_object_get(j, "pod_series")));
	assert_true(json_is_array(json_object_get(j, "container_series")));
	http_resp_free(&resp);

	j = t_get(h, c, "/api/monitoring/vm/app/jellyfin?duration=15m", 200, &resp);
	assert_string_equal(json_string_value(json_object_get(j, "app_name")), "jellyfin");
	assert_true(json_array_size(json_object_get(json_object_get(j, "historical"),
	    "network_rx_series")) >= 1);
	assert_true(json_is_number(json_object_get(json_object_get(j, "historical"),
	    "current_network_rx")));
	assert_true(json_is_array(json_object_get(j, "pods")));
	http_resp_free(&resp);

	j = t_get(h, c, "/api/monitoring/vm/available", 200, &resp);
	assert_true(json_is_true(json_object_get(j, "available")));
	http_resp_free(&resp);

	t_get(h, c, "/api/monitoring/vm/cluster/network-history?duration=2y", 400, &resp);
	http_resp_free(&resp);
	t_get(h, c, "/api/monitoring/vm/cluster/network-history?duration=25h", 400, &resp);
	http_resp_free(&resp);

	assert_int_equal(harness_client_new(h, &anon), 0);
	t_get(h, anon, "/api/networking/stats", 401, &resp);
	http_resp_free(&resp);
	t_get(h, anon, "/api/networking/ws", 401, &resp);
	http_resp_free(&resp);
	http_client_free(&anon);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* ---- the WebSocket: tests/integration/ws_client.c on a raw socket -------------- */

static int
ws_open(struct harness *h, struct http_client *c, int rcvbuf)
{
	char cookie[4096], head[2048];
	int fd;

	assert_int_equal(http_client_cookie_header(c, cookie, sizeof(cookie)), 0);
	fd = ws_client_open(h, "/api/networking/ws", cookie, rcvbuf, head, sizeof(head));
	if (fd < 0)
		fail_msg("WebSocket handshake: %s", head);
	assert_non_null(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
	return fd;
}

static void
test_ws_frames(void **state)
{
	struct harness *h = t_start("1000");
	struct http_client *c;
	json_int_t prev_ts = 0;
	long t0;
	int fd, op;
	char *p;
	size_t len;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	fd = ws_open(h, c, 0);
	t0 = harness_now_ms();
	for (int i = 0; i < 3; i++) {
		json_t *j;
		json_error_t jerr;

		assert_int_equal(ws_client_read_frame(fd, &op, &p, &len), 0);
		assert_int_equal(op, 1);
		j = json_loads(p, 0, &jerr);
		if (j == NULL)
			fail_msg("frame %d is not JSON: %.200s", i, p);
		assert_string_equal(json_string_value(json_object_get(j, "type")), "network_metrics");
		assert_true(json_is_integer(json_object_get(j, "timestamp")));
		assert_true(json_integer_value(json_object_get(j, "timestamp")) > prev_ts);
		prev_ts = json_integer_value(json_object_get(j, "timestamp"));
		assert_true(json_is_array(json_object_get(json_object_get(j, "topology"), "nodes")));
		assert_true(json_is_array(json_object_get(json_object_get(j, "topology"), "edges")));
		assert_int_equal(json_array_size(json_object_get(j, "stats")), 2);
		json_decref(j);
		free(p);
	}
	/* three frames at 1 s: between ~1 and ~3.5 s */
	assert_true(harness_now_ms() - t0 >= 900 && harness_now_ms() - t0 < 3500);
	/* Ping -> Pong (a data frame may come first) */
	ws_client_send(fd, 9, "hi", 2);
	do {
		assert_int_equal(ws_client_read_frame(fd, &op, &p, &len), 0);
		if (op == 10)
			assert_string_equal(p, "hi");
		free(p);
	} while (op != 10);
	/* Close -> Close, then the server closes */
	ws_client_send(fd, 8, "\x03\xe8", 2);
	do {
		assert_int_equal(ws_client_read_frame(fd, &op, &p, &len), 0);
		free(p);
	} while (op != 8);
	close(fd);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
}

/* Whether the gateway logged a slow subscriber's drop.  (Its STATS has
 * ws_dropped_slow too, but proto/server.h's PROTO_STATS_MAX cuts the list
 * before it once every op has its counter.) */
static bool
t_gateway_logged(struct harness *h, const char *needle)
{
	char path[400], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/gateway.log", harness_tmp_dir(h));
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static void
test_ws_slow_client_dropped(void **state)
{
	struct harness *h = t_start("100");   /* 10 frames a second fill buffers sooner */
	struct http_client *c;
	long until;
	int slow, fast, op, frames = 0;
	char *p;
	size_t len;

	(void)state;
	assert_int_equal(harness_client_new(h, &c), 0);
	assert_int_equal(harness_login_admin(h, c), 0);
	slow = ws_open(h, c, 2048);   /* never read from */
	fast = ws_open(h, c, 0);
	until = harness_now_ms() + 60000;
	while (!t_gateway_logged(h, "ws: connection closed (slow reader") &&
	    harness_now_ms() < until) {
		for (int i = 0; i < 5; i++) {
			assert_int_equal(ws_client_read_frame(fast, &op, &p, &len), 0);
			free(p);
			frames++;
		}
	}
	assert_true(t_gateway_logged(h, "ws: connection closed (slow reader"));
	/* the slow socket was closed by the server: draining it ends in EOF or a reset */
	{
		char buf[65536];
		ssize_t n;

		while ((n = read(slow, buf, sizeof(buf))) > 0)
			;
		assert_true(n == 0 || errno == ECONNRESET);
	}
	/* the reader still gets frames */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ws_client_read_frame(fast, &op, &p, &len), 0);
		assert_int_equal(op, 1);
		free(p);
	}
	close(slow);
	close(fast);
	http_client_free(&c);
	assert_int_equal(harness_finish(h), 0);
	harness_free(&h);
	(void)frames;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_ws_frames),
		cmocka_unit_test(test_ws_slow_client_dropped),
	};
	const char *filter = getenv("KUBARR_TEST_FILTER");

	if (filter != NULL)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
