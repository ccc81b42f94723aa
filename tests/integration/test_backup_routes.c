/* /api/backups and GET /metrics through the gateway, real daemons, real HTTP
 * (API.md decision 16, BACKUP.md section 12), with backup off (no
 * KUBARR_BACKUP_URL).  The gateway trusts loopback as a proxy here, so a
 * request with X-Forwarded-For plays a remote client.
 *
 *   guard         401 without a session, 403 without settings.view /
 *                 settings.manage, 403 for a cookie POST without the CSRF header
 *   status_off    configured false, state "disabled", every field present,
 *                 times null, lag_seconds a number
 *   points_off    409 "backup is not configured"; 400 naming limit / before_seq
 *   requests_off  snapshot and verify: 409 with the reason, nothing audited
 *   metrics_local a loopback client without a session: 200, text format
 *                 0.0.4, every line parses, HELP and TYPE before each family,
 *                 kubarr_up 1 for the four daemons, the backup series
 *   metrics_remote a remote client: 401 without a session, 403 without
 *                 monitoring.view, 200 with it
 *   metrics_down  metricsd stopped: still 200 at once, kubarr_up 0 for it and
 *                 none of its series; back again: 1 */
#include "admin_fx.h"

#include <ctype.h>
#include <math.h>
#include <signal.h>

#define T_REMOTE "X-Forwarded-For: 203.0.113.7"

static struct http_client *nobody;   /* a user without any permission */

/* ---- /api/backups ---------------------------------------------------------- */

static void
test_guard(void **state)
{
	struct afx *t = *state;
	struct http_resp resp = {0};

	afx_guard(t, "GET", "/api/backups/status", NULL, "settings.view");
	afx_guard(t, "GET", "/api/backups/points", NULL, "settings.view");
	afx_guard(t, "POST", "/api/backups/snapshot", NULL, "settings.manage");
	afx_guard(t, "POST", "/api/backups/verify", NULL, "settings.manage");
	afx_err(nobody, "GET", "/api/backups/status", NULL, 403, "settings.view");
	/* a cookie-authenticated POST without Origin, Referer or X-Requested-With */
	harness_expect(t->admin, "POST", "/api/backups/snapshot", NULL, NULL, 403, &resp);
	assert_non_null(strstr(resp.body, "CSRF"));
	http_resp_free(&resp);
	harness_expect(t->admin, "POST", "/api/backups/verify", NULL, NULL, 403, &resp);
	assert_non_null(strstr(resp.body, "CSRF"));
	http_resp_free(&resp);
}

static void
test_status_off(void **state)
{
	struct afx *t = *state;
	json_t *j = afx_req(t->admin, "GET", "/api/backups/status", NULL, 200);
	static const char *const ints[] = {"timeline", "seq_spooled", "seq_uploaded", "spool_bytes",
	    "spool_files", "wal_bytes", "uploads", "upload_bytes", "upload_errors", "validated_seq"};
	static const char *const times[] = {"last_upload_at", "last_snapshot_at", "last_segment_at",
	    "last_validation_at"};
	static const char *const bools[] = {"lease_held", "snapshot_pending", "validation_pending"};

	assert_true(json_is_false(json_object_get(j, "configured")));
	assert_string_equal(json_string_value(json_object_get(j, "state")), "disabled");
	assert_true(json_is_null(json_object_get(j, "kind")));
	assert_true(json_is_null(json_object_get(j, "url")));
	assert_true(json_is_null(json_object_get(j, "error")));
	assert_true(json_is_number(json_object_get(j, "lag_seconds")));
	assert_true(json_number_value(json_object_get(j, "lag_seconds")) == 0.0);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (!json_is_integer(json_object_get(j, ints[i])))
			fail_msg("%s is not an integer", ints[i]);
		assert_int_equal(json_integer_value(json_object_get(j, ints[i])), 0);
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (!json_is_null(json_object_get(j, times[i])))
			fail_msg("%s is not null", times[i]);
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (!json_is_false(json_object_get(j, bools[i])))
			fail_msg("%s is not false", bools[i]);
	assert_string_equal(json_string_value(json_object_get(j, "last_validation")), "never");
	assert_true(json_is_null(json_object_get(j, "validation_error")));
	assert_int_equal(json_object_size(j), 25);
	json_decref(j);
}

static void
test_points_off(void **state)
{
	struct afx *t = *state;

	/* off is a conflict, not an empty list: nothing was ever backed up */
	afx_err(t->admin, "GET", "/api/backups/points", NULL, 409, "backup is not configured");
	afx_err(t->admin, "GET", "/api/backups/points?limit=10&before_seq=5", NULL, 409,
	    "backup is not configured");
	afx_err(t->admin, "GET", "/api/backups/points?limit=0", NULL, 400, "'limit'");
	afx_err(t->admin, "GET", "/api/backups/points?limit=1001", NULL, 400, "'limit'");
	afx_err(t->admin, "GET", "/api/backups/points?limit=ten", NULL, 400, "'limit'");
	afx_err(t->admin, "GET", "/api/backups/points?before_seq=0", NULL, 400, "'before_seq'");
	afx_err(t->admin, "GET", "/api/backups/points?before_seq=-3", NULL, 400, "'before_seq'");
	afx_err(t->admin, "GET", "/api/backups/points?before_seq=99999999999999999999", NULL, 400,
	    "'before_seq'");
}

static void
test_requests_off(void **state)
{
	struct afx *t = *state;
	json_t *j;

	afx_err(t->admin, "POST", "/api/backups/snapshot", NULL, 409, "backup is not configured");
	afx_err(t->admin, "POST", "/api/backups/verify", NULL, 409, "backup is not configured");
	/* refused requests are not audited as requested */
	j = afx_req(t->admin, "GET", "/api/audit?action=backup_snapshot_requested", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "logs")), 0);
	json_decref(j);
	j = afx_req(t->admin, "GET", "/api/audit?action=backup_verify_requested", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "logs")), 0);
	json_decref(j);
}

/* ---- /metrics ---------------------------------------------------------------- */

static bool
t_name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

struct t_family {
	char name[128];
	bool help, type, samples, closed;
};

struct t_expo {
	struct t_family f[1024];
	size_t n;
	size_t samples;
};

static struct t_family *
t_family(struct t_expo *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->n; i++)
		if (strlen(e->f[i].name) == len && strncmp(e->f[i].name, name, len) == 0)
			return &e->f[i];
	if (e->n == sizeof(e->f) / sizeof(e->f[0]) || len >= sizeof(e->f[0].name))
		fail_msg("too many families or a name too long");
	snprintf(e->f[e->n].name, sizeof(e->f[0].name), "%.*s", (int)len, name);
	return &e->f[e->n++];
}

/* Checks every line of a text exposition (format 0.0.4): comments are HELP or
 * TYPE, once per family and before its samples; a family's samples are
 * together; names and labels are well formed; values are numbers. */
static void
t_parse(const char *body, struct t_expo *e)
{
	const char *p = body;
	struct t_family *cur = NULL;

	memset(e, 0, sizeof(*e));
	assert_true(body[0] != '\0');
	assert_true(body[strlen(body) - 1] == '\n');
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		char line[512];
		size_t len = (size_t)(nl - p);

		assert_non_null(nl);
		if (len >= sizeof(line))
			fail_msg("line too long: %.80s", p);
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (line[0] == '#') {
			char kw[8], name[160], rest[256];
			struct t_family *f;

			rest[0] = '\0';
			if (sscanf(line, "# %7s %159s %255[^\n]", kw, name, rest) < 2)
				fail_msg("bad comment: %s", line);
			if (!t_name_ok(name, strlen(name)))
				fail_msg("bad name in: %s", line);
			f = t_family(e, name, strlen(name));
			if (f->samples)
				fail_msg("%s after the samples: %s", kw, line);
			if (strcmp(kw, "HELP") == 0) {
				if (f->help)
					fail_msg("second HELP: %s", line);
				f->help = true;
			} else if (strcmp(kw, "TYPE") == 0) {
				if (f->type)
					fail_msg("second TYPE: %s", line);
				if (strcmp(rest, "counter") != 0 && strcmp(rest, "gauge") != 0 &&
				    strcmp(rest, "untyped") != 0)
					fail_msg("bad type: %s", line);
				f->type = true;
			} else {
				fail_msg("comment that is neither HELP nor TYPE: %s", line);
			}
			if (cur != NULL && cur != f)
				cur->closed = true;
			cur = f;
			continue;
		}
		{
			size_t n = strcspn(line, "{ ");
			const char *q = line + n;
			struct t_family *f;
			char *end;

			if (!t_name_ok(line, n))
				fail_msg("bad sample name: %s", line);
			f = t_family(e, line, n);
			if (!f->type || !f->help)
				fail_msg("sample before its HELP and TYPE: %s", line);
			if (f->closed || (cur != NULL && cur != f && f->samples))
				fail_msg("family split: %s", line);
			if (cur != NULL && cur != f)
				cur->closed = true;
			cur = f;
			if (*q == '{') {   /* name="value"(,name="value")*} */
				q++;
				while (*q != '}') {
					size_t ln = strcspn(q, "=");

					if (!t_name_ok(q, ln) || q[ln] != '=' || q[ln + 1] != '"')
						fail_msg("bad label: %s", line);
					q += ln + 2;
					while (*q != '"') {
						if (*q == '\0' || *q == '\n')
							fail_msg("unterminated label value: %s", line);
						q += *q == '\\' ? 2 : 1;
					}
					q++;
					if (*q == ',')
						q++;
					else if (*q != '}')
						fail_msg("bad label list: %s", line);
				}
				q++;
			}
			if (*q != ' ')
				fail_msg("no value: %s", line);
			q++;
			(void)strtod(q, &end);
			if (end == q || (*end != '\0' && *end != ' '))
				fail_msg("bad value: %s", line);
			if (*end == ' ') {   /* an optional timestamp */
				(void)strtoll(end + 1, &end, 10);
				if (*end != '\0')
					fail_msg("bad timestamp: %s", line);
			}
			f->samples = true;
			e->samples++;
		}
	}
}

/* The value of the sample written exactly as `series` ("name" or
 * "name{labels}"), or NAN when absent. */
static double
t_value(const char *body, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = body; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NAN;
}

static bool
t_has_prefix_line(const char *body, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = body; p != NULL && *p != '\0';) {
		if (strncmp(p, prefix, n) == 0)
			return true;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}

static void
t_metrics(struct http_client *c, const char *const *headers, long want, struct http_resp *resp)
{
	harness_expect(c, "GET", "/metrics", NULL, headers, want, resp);
}

static void
test_metrics_local(void **state)
{
	struct afx *t = *state;
	struct http_resp resp = {0};
	struct t_expo *e = calloc(1, sizeof(*e));
	static const char *const daemons[] = {"gateway", "authd", "storaged", "metricsd"};
	static const char *const backup[] = {"kubarr_backup_replication_lag_seconds",
	    "kubarr_backup_spool_bytes", "kubarr_backup_wal_bytes",
	    "kubarr_backup_last_upload_timestamp_seconds",
	    "kubarr_backup_last_snapshot_timestamp_seconds", "kubarr_backup_uploads_total",
	    "kubarr_backup_upload_errors_total", "kubarr_backup_upload_bytes_total",
	    "kubarr_backup_seq_uploaded"};
	char series[128];

	/* no session from loopback */
	t_metrics(t->anon, NULL, 200, &resp);
	assert_non_null(strstr(http_resp_header(&resp, "Content-Type"), "text/plain"));
	assert_non_null(strstr(http_resp_header(&resp, "Content-Type"), "version=0.0.4"));
	t_parse(resp.body, e);
	assert_true(e->samples > 20);
	assert_non_null(strstr(resp.body, "# HELP kubarr_up "));
	assert_non_null(strstr(resp.body, "# TYPE kubarr_up gauge\n"));
	for (size_t i = 0; i < 4; i++) {
		snprintf(series, sizeof(series), "kubarr_up{daemon=\"%s\"}", daemons[i]);
		if (t_value(resp.body, series) != 1.0)
			fail_msg("%s is not 1:\n%s", series, resp.body);
		snprintf(series, sizeof(series), "kubarr_%s_uptime_ms", daemons[i]);
		assert_true(t_value(resp.body, series) >= 0);
		snprintf(series, sizeof(series), "# TYPE kubarr_%s_uptime_ms gauge\n", daemons[i]);
		assert_non_null(strstr(resp.body, series));
	}
	assert_true(t_value(resp.body, "kubarr_storaged_schema_version") >= 1);
	assert_non_null(strstr(resp.body, "# TYPE kubarr_authd_ipc_requests counter\n"));
	assert_true(t_value(resp.body, "kubarr_gateway_http_requests") >= 1);
	/* backup off: the series are there, at rest */
	for (size_t i = 0; i < sizeof(backup) / sizeof(backup[0]); i++) {
		if (t_value(resp.body, backup[i]) != 0.0)
			fail_msg("%s is not 0", backup[i]);
		snprintf(series, sizeof(series), "# HELP %s ", backup[i]);
		assert_non_null(strstr(resp.body, series));
	}
	assert_non_null(strstr(resp.body, "# TYPE kubarr_backup_uploads_total counter\n"));
	assert_non_null(strstr(resp.body, "# TYPE kubarr_backup_replication_lag_seconds gauge\n"));
	assert_true(t_value(resp.body, "kubarr_backup_last_validation_ok") == -1.0);
	assert_true(t_value(resp.body, "kubarr_backup_configured") == 0.0);
	assert_true(t_value(resp.body, "kubarr_backup_state{state=\"disabled\"}") == 1.0);
	assert_true(t_value(resp.body, "kubarr_backup_state{state=\"ok\"}") == 0.0);
	http_resp_free(&resp);
	/* HEAD is GET without the body */
	harness_expect(t->anon, "HEAD", "/metrics", NULL, NULL, 200, &resp);
	http_resp_free(&resp);
	free(e);
}

static void
test_metrics_remote(void **state)
{
	struct afx *t = *state;
	struct http_resp resp = {0};
	static const char *const remote[] = {T_REMOTE, NULL};
	struct t_expo *e = calloc(1, sizeof(*e));

	t_metrics(t->anon, remote, 401, &resp);
	http_resp_free(&resp);
	t_metrics(nobody, remote, 403, &resp);
	assert_non_null(strstr(resp.body, "monitoring.view"));
	http_resp_free(&resp);
	/* the viewer role has monitoring.view */
	t_metrics(t->viewer, remote, 200, &resp);
	t_parse(resp.body, e);
	assert_true(t_value(resp.body, "kubarr_up{daemon=\"storaged\"}") == 1.0);
	http_resp_free(&resp);
	free(e);
}

static void
test_metrics_down(void **state)
{
	struct afx *t = *state;
	struct http_resp resp = {0};
	struct t_expo *e = calloc(1, sizeof(*e));

	assert_int_equal(harness_kill(t->h, "metricsd", SIGTERM), 0);
	t_metrics(t->anon, NULL, 200, &resp);
	/* a dead peer answers "unavailable" at once: no IPC deadline is waited */
	if (resp.elapsed_ms > HARNESS_DEFAULT_IPC_TIMEOUT_MS)
		fail_msg("/metrics took %.0f ms with metricsd down", resp.elapsed_ms);
	t_parse(resp.body, e);
	assert_true(t_value(resp.body, "kubarr_up{daemon=\"metricsd\"}") == 0.0);
	assert_true(t_value(resp.body, "kubarr_up{daemon=\"storaged\"}") == 1.0);
	assert_false(t_has_prefix_line(resp.body, "kubarr_metricsd_"));
	assert_false(t_has_prefix_line(resp.body, "# TYPE kubarr_metricsd_"));
	assert_true(t_value(resp.body, "kubarr_storaged_schema_version") >= 1);
	assert_true(t_value(resp.body, "kubarr_backup_configured") == 0.0);
	http_resp_free(&resp);

	assert_int_equal(harness_restart(t->h, "metricsd"), 0);
	for (long until = harness_now_ms() + 5000;; usleep(50000)) {
		t_metrics(t->anon, NULL, 200, &resp);
		if (t_value(resp.body, "kubarr_up{daemon=\"metricsd\"}") == 1.0)
			break;
		http_resp_free(&resp);
		if (harness_now_ms() > until)
			fail_msg("metricsd never came back in /metrics");
	}
	assert_true(t_has_prefix_line(resp.body, "kubarr_metricsd_uptime_ms "));
	http_resp_free(&resp);
	free(e);
}

/* ---- fixture: afx_setup's, with loopback as a trusted proxy --------------- */

static int
setup(void **state)
{
	struct afx *t = calloc(1, sizeof(*t));
	char name[64];
	long st = 0;
	int64_t id;

	*state = t;
	if (harness_init(&t->h) != 0 ||
	    harness_setenv(t->h, "KUBARR_TRUSTED_PROXIES", "127.0.0.0/8,::1") != 0 ||
	    harness_launch(t->h) != 0)
		return -1;
	if (harness_client_new(t->h, &t->admin) != 0 || harness_login_admin(t->h, t->admin) != 0 ||
	    harness_client_new(t->h, &t->viewer) != 0 || harness_client_new(t->h, &t->anon) != 0 ||
	    harness_client_new(t->h, &nobody) != 0)
		return -1;
	snprintf(name, sizeof(name), "viewer%d", getpid());
	if (harness_create_user(t->h, name, "password-123", "viewer", &t->viewer_id) != 0 ||
	    harness_login(t->h, t->viewer, name, "password-123", &st) != 0)
		return -1;
	snprintf(name, sizeof(name), "nobody%d", getpid());
	if (harness_create_user(t->h, name, "password-123", NULL, &id) != 0 ||
	    harness_login(t->h, nobody, name, "password-123", &st) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	http_client_free(&nobody);
	return afx_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		AFX_T(test_guard),
		AFX_T(test_status_off),
		AFX_T(test_points_off),
		AFX_T(test_requests_off),
		AFX_T(test_metrics_local),
		AFX_T(test_metrics_remote),
		AFX_T(test_metrics_down),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
