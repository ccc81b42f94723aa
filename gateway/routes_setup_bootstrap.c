/* routes_setup_bootstrap: the bootstrap routes under /api/setup/bootstrap
 * (API.md section 4 Setup, section 5, decision 14).
 *
 * kubarr installs nothing with helm: its components are checked, not
 * deployed, and reported with their real state:
 *   database  storaged answers PING as ready and lists bootstrap_status (its
 *             schema is migrated); then database_connected
 *   metrics   metricsd answers PING as ready and a snapshot it publishes
 *             reaches the gateway within SETUP_PUBLISH_WAIT_MS
 *   backup    storaged's BACKUP_STATUS: not configured -> healthy, "not
 *             configured"; state ok -> healthy (kind, redacted URL, sequence
 *             uploaded); starting -> installing with progress while the engine
 *             reaches its replica (SETUP_BACKUP_TRIES), then failed; degraded or
 *             failed -> failed with the engine's error.  storaged silent: healthy
 *             "not configured" when the gateway's KUBARR_BACKUP_URL is empty too,
 *             else failed with the reason
 * A run is one joinable thread (blocking IPC with deadlines, never on an HTTP
 * thread).  Each transition is stored with BOOTSTRAP_STATUS_SET (storaged
 * keeps the rows across restarts), kept in memory (the WebSocket's
 * initial_status and storaged-down answers) and broadcast on the bootstrap
 * WebSocket, a second hub of ws.c with a welcome message.
 *
 * Locks: the hub's lock is taken before s->lock (the welcome renders under
 * both); nothing broadcasts while holding s->lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "log.h"
#include "routes.h"
#include "setup.h"
#include "ws.h"
#include "xmalloc.h"

enum { SETUP_DATABASE, SETUP_METRICS, SETUP_BACKUP };

static const char *const setup_comp_names[SETUP_NCOMP][2] = {
	{"database", "Database"}, {"metrics", "Metrics"}, {"backup", "Backup"}};

#define SETUP_DB_TRIES 10
#define SETUP_TRY_PAUSE_MS 500
/* metricsd publishes every KUBARR_METRICS_INTERVAL_MS (1 s by default) */
#define SETUP_PUBLISH_WAIT_MS 5000
/* a configured backup engine reaching its replica: 20 x 500 ms */
#define SETUP_BACKUP_TRIES 20

/* ---- rendering (s->lock held) ------------------------------------------------- */

static bool
setup_complete_locked(const struct gw_setup *s)
{
	for (int i = 0; i < SETUP_NCOMP; i++)
		if (strcmp(s->comps[i].status, "healthy") != 0)
			return false;
	return true;
}

static bool
setup_started_locked(const struct gw_setup *s)
{
	if (s->started)
		return true;
	for (int i = 0; i < SETUP_NCOMP; i++)
		if (strcmp(s->comps[i].status, "pending") != 0)
			return true;
	return false;
}

static json_t *
setup_components_locked(const struct gw_setup *s)
{
	json_t *a = json_array();

	for (int i = 0; i < SETUP_NCOMP; i++) {
		const struct setup_comp *c = &s->comps[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "component", c->name,
		    "display_name", c->display_name, "status", c->status, "message",
		    c->message[0] ? c->message : NULL, "error", c->error[0] ? c->error : NULL);

		if (i == SETUP_BACKUP)   /* storaged's word once it has answered */
			json_object_set_new(o, "configured", json_boolean(s->backup_configured >= 0 ?
			    s->backup_configured == 1 : s->backup_url[0] != '\0'));
		json_array_append_new(a, o);
	}
	return a;
}

static char *
setup_welcome(void *arg)
{
	struct gw_setup *s = arg;
	json_t *o;
	char *text;

	pthread_mutex_lock(&s->lock);
	o = json_pack("{s:s, s:o, s:b, s:b}", "type", "initial_status", "components",
	    setup_components_locked(s), "complete", setup_complete_locked(s), "started",
	    setup_started_locked(s));
	pthread_mutex_unlock(&s->lock);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static void
setup_broadcast(struct gw_setup *s, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	json_decref(msg);
	if (text == NULL)
		return;
	gw_ws_broadcast(s->ws, text, strlen(text));
	free(text);
}

bool
setup_bootstrap_absorb(struct gw_setup *s, const struct proto_recs_bootstrap_item *items)
{
	bool complete;

	pthread_mutex_lock(&s->lock);
	if (items != NULL && !s->running) {
		for (size_t k = 0; k < items->n; k++) {
			const struct proto_rec_bootstrap_item *it = &items->v[k];

			for (int i = 0; i < SETUP_NCOMP; i++) {
				struct setup_comp *c = &s->comps[i];

				if (strcmp(it->component, c->name) != 0)
					continue;
				snprintf(c->status, sizeof(c->status), "%s", it->status);
				snprintf(c->message, sizeof(c->message), "%s",
				    it->has_message ? it->message : "");
				snprintf(c->error, sizeof(c->error), "%s", it->has_error ? it->error : "");
			}
		}
	}
	complete = setup_complete_locked(s);
	pthread_mutex_unlock(&s->lock);
	return complete;
}

/* ---- the runner ------------------------------------------------------------------ */

/* One component's row in storaged (best effort: storaged may be the component
 * that is down; setup_store_all catches up once it answers). */
static void
setup_store(struct gw_setup *s, const char *name, const char *status, const char *message,
    const char *error)
{
	struct proto_bootstrap_status_set_req req = {0};
	struct proto_bootstrap_status_set_rep rep;
	struct proto_reply hold = {0};

	req.component = name;
	req.status = status;
	req.message = message;
	req.has_message = true;
	req.error = error;
	req.has_error = error != NULL && error[0] != '\0';
	if (proto_bootstrap_status_set_call_sync(s->gw->backend[GW_STORAGED], &req,
	    s->gw->ipc_timeout_ms, &rep, &hold) != PROTO_OK) {
		if (strcmp(status, "installing") == 0)
			log_debug("setup: %s: status %s not stored (storaged: %s)", name, status,
			    hold.detail != NULL ? hold.detail : "no answer");
		else
			log_warnx("setup: %s: status %s not stored (storaged: %s)", name, status,
			    hold.detail != NULL ? hold.detail : "no answer");
	}
	proto_reply_fini(&hold);
}

/* Once the database answers: every component as memory has it (what was
 * decided while storaged was down is not lost when the rows are read back). */
static void
setup_store_all(struct gw_setup *s)
{
	struct setup_comp copy[SETUP_NCOMP];

	pthread_mutex_lock(&s->lock);
	memcpy(copy, s->comps, sizeof(copy));
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < SETUP_NCOMP; i++)
		setup_store(s, copy[i].name, copy[i].status, copy[i].message, copy[i].error);
}

/* Memory, storaged, then the WebSocket. */
static void
setup_comp_set(struct gw_setup *s, int i, const char *status, const char *message,
    const char *error, const char *event, int progress)
{
	struct setup_comp *c = &s->comps[i];
	json_t *msg;

	pthread_mutex_lock(&s->lock);
	snprintf(c->status, sizeof(c->status), "%s", status);
	snprintf(c->message, sizeof(c->message), "%s", message);
	snprintf(c->error, sizeof(c->error), "%s", error != NULL ? error : "");
	pthread_mutex_unlock(&s->lock);
	setup_store(s, c->name, status, message, error);
	msg = json_pack("{s:s, s:s, s:s}", "type", event, "component", c->name, "message", message);
	if (progress >= 0)
		json_object_set_new(msg, "progress", json_integer(progress));
	if (error != NULL)
		json_object_set_new(msg, "error", json_string(error));
	setup_broadcast(s, msg);
}

static bool
setup_sleep_ms(struct gw_setup *s, int ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};

	for (int waited = 0; waited < ms; waited += 50) {
		if (atomic_load(&s->stopping))
			return false;
		nanosleep(&ts, NULL);
	}
	return !atomic_load(&s->stopping);
}

/* PING a backend: true when it answers as ready; else why in why_r. */
static bool
setup_ping_ready(struct gw_setup *s, enum gw_backend b, char *why, size_t whylen)
{
	struct proto_ping_req req = {0};
	struct proto_ping_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st = proto_ping_call_sync(s->gw->backend[b], &req, s->gw->ipc_timeout_ms,
	    &rep, &hold);
	bool ok = st == PROTO_OK && rep.ready;

	if (st != PROTO_OK)
		snprintf(why, whylen, "%s does not answer (%s)", gateway_backend_names[b],
		    proto_status_name(st));
	else if (!rep.ready)
		snprintf(why, whylen, "%s is not ready%s%s", gateway_backend_names[b],
		    rep.has_reason ? ": " : "", rep.has_reason ? rep.reason : "");
	proto_reply_fini(&hold);
	return ok;
}

static void
setup_run_database(struct gw_setup *s)
{
	char why[160] = "", msg[200];

	setup_comp_set(s, SETUP_DATABASE, "installing", "Checking storaged and its database", NULL,
	    "component_started", -1);
	for (int t = 1; t <= SETUP_DB_TRIES; t++) {
		struct proto_bootstrap_status_list_req lreq = {0};
		struct proto_bootstrap_status_list_rep lrep;
		struct proto_reply hold = {0};
		enum proto_status st;

		if (setup_ping_ready(s, GW_STORAGED, why, sizeof(why))) {
			st = proto_bootstrap_status_list_call_sync(s->gw->backend[GW_STORAGED], &lreq,
			    s->gw->ipc_timeout_ms, &lrep, &hold);
			if (st != PROTO_OK)
				snprintf(why, sizeof(why), "storaged cannot read bootstrap_status (%s)",
				    hold.detail != NULL ? hold.detail : proto_status_name(st));
			proto_reply_fini(&hold);
			if (st == PROTO_OK) {
				setup_comp_set(s, SETUP_DATABASE, "healthy",
				    "storaged is reachable and its database is migrated", NULL,
				    "component_completed", 100);
				setup_store_all(s);
				setup_broadcast(s, json_pack("{s:s, s:s}", "type", "database_connected",
				    "message", "Database connected"));
				return;
			}
		}
		if (t == SETUP_DB_TRIES)
			break;
		snprintf(msg, sizeof(msg), "Waiting for storaged (try %d of %d): %s", t,
		    SETUP_DB_TRIES, why);
		setup_comp_set(s, SETUP_DATABASE, "installing", msg, NULL, "component_progress",
		    t * 100 / SETUP_DB_TRIES);
		if (!setup_sleep_ms(s, SETUP_TRY_PAUSE_MS))
			return;
	}
	setup_comp_set(s, SETUP_DATABASE, "failed", "The database is not available", why,
	    "component_failed", -1);
}

static void
setup_run_metrics(struct gw_setup *s)
{
	char why[160] = "";

	setup_comp_set(s, SETUP_METRICS, "installing", "Checking metricsd", NULL,
	    "component_started", -1);
	for (int t = 1; t <= 3; t++) {
		if (setup_ping_ready(s, GW_METRICSD, why, sizeof(why))) {
			/* and its snapshots reach the gateway */
			int64_t n0 = gateway_metrics_snapshots(s->gw);

			setup_comp_set(s, SETUP_METRICS, "installing",
			    "metricsd answers; waiting for a published snapshot", NULL,
			    "component_progress", 50);
			for (int w = 0; w < SETUP_PUBLISH_WAIT_MS / 50; w++) {
				if (gateway_metrics_snapshots(s->gw) > n0) {
					setup_comp_set(s, SETUP_METRICS, "healthy",
					    "metricsd answers and publishes snapshots", NULL,
					    "component_completed", 100);
					return;
				}
				if (!setup_sleep_ms(s, 50))
					return;
			}
			snprintf(why, sizeof(why), "metricsd answers but published no snapshot in %d s",
			    SETUP_PUBLISH_WAIT_MS / 1000);
			break;
		}
		if (t < 3 && !setup_sleep_ms(s, SETUP_TRY_PAUSE_MS))
			return;
	}
	setup_comp_set(s, SETUP_METRICS, "failed", "Metrics are not available", why,
	    "component_failed", -1);
}

static void
setup_backup_not_configured(struct gw_setup *s)
{
	setup_comp_set(s, SETUP_BACKUP, "healthy",
	    "Backups are not configured (KUBARR_BACKUP_URL is unset); nothing to set up", NULL,
	    "component_completed", 100);
}

/* One BACKUP_STATUS: 1 healthy (done), -1 failed (done), 0 still starting or
 * storaged silent (*silent_r; why says which). */
static int
setup_backup_check(struct gw_setup *s, char *why, size_t whylen, bool *silent_r)
{
	struct proto_backup_status_req req = {0};
	struct proto_backup_status_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st = proto_backup_status_call_sync(s->gw->backend[GW_STORAGED], &req,
	    s->gw->ipc_timeout_ms, &rep, &hold);
	char msg[200];
	int done = 0;

	*silent_r = st != PROTO_OK;
	if (st != PROTO_OK) {
		snprintf(why, whylen, "storaged does not answer (%s)",
		    hold.detail != NULL ? hold.detail : proto_status_name(st));
		proto_reply_fini(&hold);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	s->backup_configured = rep.configured ? 1 : 0;
	pthread_mutex_unlock(&s->lock);
	if (!rep.configured) {
		setup_backup_not_configured(s);
		done = 1;
	} else if (strcmp(rep.state, "ok") == 0) {
		snprintf(msg, sizeof(msg), "Backing up to the %s replica %s; sequence %llu uploaded",
		    rep.kind, rep.url, (unsigned long long)rep.seq_uploaded);
		setup_comp_set(s, SETUP_BACKUP, "healthy", msg, NULL, "component_completed", 100);
		done = 1;
	} else if (strcmp(rep.state, "starting") == 0) {
		snprintf(why, whylen, "backup is still starting%s%s", rep.has_error ? ": " : "",
		    rep.has_error ? rep.error : "");
	} else {   /* degraded, failed */
		snprintf(msg, sizeof(msg), "Backup is %s", rep.state);
		setup_comp_set(s, SETUP_BACKUP, "failed", msg, rep.has_error ? rep.error : rep.state,
		    "component_failed", -1);
		done = -1;
	}
	proto_reply_fini(&hold);
	return done;
}

static void
setup_run_backup(struct gw_setup *s)
{
	char why[300] = "", msg[200];

	setup_comp_set(s, SETUP_BACKUP, "installing", "Checking continuous backup", NULL,
	    "component_started", -1);
	for (int t = 1; t <= SETUP_BACKUP_TRIES; t++) {
		bool silent;

		if (setup_backup_check(s, why, sizeof(why), &silent) != 0)
			return;
		/* storaged silent and nothing configured here either: nothing to check */
		if (silent && s->backup_url[0] == '\0') {
			setup_backup_not_configured(s);
			return;
		}
		if (t == SETUP_BACKUP_TRIES)
			break;
		snprintf(msg, sizeof(msg), "Waiting for the backup replica (try %d of %d)", t,
		    SETUP_BACKUP_TRIES);
		setup_comp_set(s, SETUP_BACKUP, "installing", msg, NULL, "component_progress",
		    t * 100 / SETUP_BACKUP_TRIES);
		if (!setup_sleep_ms(s, SETUP_TRY_PAUSE_MS))
			return;
	}
	setup_comp_set(s, SETUP_BACKUP, "failed", "Backup is not available", why,
	    "component_failed", -1);
}

static void *
setup_thread(void *arg)
{
	struct gw_setup *s = arg;
	int only = s->only;
	bool complete;

	if ((only < 0 || only == SETUP_DATABASE) && !atomic_load(&s->stopping))
		setup_run_database(s);
	if ((only < 0 || only == SETUP_METRICS) && !atomic_load(&s->stopping))
		setup_run_metrics(s);
	if ((only < 0 || only == SETUP_BACKUP) && !atomic_load(&s->stopping))
		setup_run_backup(s);
	pthread_mutex_lock(&s->lock);
	complete = setup_complete_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (complete)
		setup_broadcast(s, json_pack("{s:s, s:s}", "type", "bootstrap_complete", "message",
		    "Bootstrap complete"));
	pthread_mutex_lock(&s->lock);
	s->running = false;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* s->lock held.  -1 when a run is in progress. */
static int
setup_start_locked(struct gw_setup *s, int only)
{
	if (s->running || atomic_load(&s->stopping))
		return -1;
	if (s->have_thread) {   /* finished: it no longer takes the lock */
		pthread_join(s->thread, NULL);
		s->have_thread = false;
	}
	s->only = only;
	s->running = true;
	s->started = true;
	if (pthread_create(&s->thread, NULL, setup_thread, s) != 0) {
		s->running = false;
		return -1;
	}
	s->have_thread = true;
	return 0;
}

int
setup_bootstrap_open(struct gw_setup *s, char **err_r)
{
	for (int i = 0; i < SETUP_NCOMP; i++) {
		s->comps[i].name = setup_comp_names[i][0];
		s->comps[i].display_name = setup_comp_names[i][1];
		snprintf(s->comps[i].status, sizeof(s->comps[i].status), "pending");
	}
	if ((s->ws = gw_ws_new(err_r)) == NULL)
		return -1;
	gw_ws_set_welcome(s->ws, setup_welcome, s);
	return 0;
}

void
setup_bootstrap_shutdown(struct gw_setup *s)
{
	bool join;

	atomic_store(&s->stopping, true);
	pthread_mutex_lock(&s->lock);
	join = s->have_thread;
	s->have_thread = false;
	pthread_mutex_unlock(&s->lock);
	if (join)
		pthread_join(s->thread, NULL);
	if (s->ws != NULL)
		gw_ws_shutdown(s->ws);
}

void
setup_bootstrap_close(struct gw_setup *s)
{
	setup_bootstrap_shutdown(s);
	gw_ws_free(&s->ws);
}

/* ---- routes ----------------------------------------------------------------------- */

/* Every bootstrap route first refreshes memory from storaged's rows. */
static void
setup_boot_list_cb(void *arg, enum proto_status st,
    const struct proto_bootstrap_status_list_rep *rep, const char *detail)
{
	struct gw_req *r = arg;

	(void)detail;
	setup_bootstrap_absorb(r->gw->setup, st == PROTO_OK ? &rep->components : NULL);
	gw_async_done(r);
}

static void
setup_boot_refresh(struct gw_req *r, void (*then)(struct gw_req *r))
{
	struct proto_bootstrap_status_list_req req = {0};

	gw_async_begin(r, 1, then);
	proto_bootstrap_status_list_call(r->gw->backend[GW_STORAGED], &req, r->gw->ipc_timeout_ms,
	    setup_boot_list_cb, r);
}

static void
setup_boot_status_render(struct gw_req *r)
{
	struct gw_setup *s = r->gw->setup;
	json_t *o;

	pthread_mutex_lock(&s->lock);
	o = json_pack("{s:o, s:b, s:b}", "components", setup_components_locked(s), "complete",
	    setup_complete_locked(s), "started", setup_started_locked(s));
	pthread_mutex_unlock(&s->lock);
	gw_respond_json(r, MHD_HTTP_OK, o);
}

static void
setup_boot_status_next(struct gw_req *r)
{
	setup_boot_refresh(r, setup_boot_status_render);
}

void
routes_setup_bootstrap_status(struct gw_req *r)
{
	setup_gate(r, false, setup_boot_status_next);
}

static void
setup_boot_start_render(struct gw_req *r)
{
	struct gw_setup *s = r->gw->setup;
	const char *msg;
	bool started;

	pthread_mutex_lock(&s->lock);
	if (s->running) {
		msg = "Bootstrap already in progress";
		started = true;
	} else if (setup_complete_locked(s)) {
		msg = "Bootstrap already complete";
		started = false;
	} else if (setup_start_locked(s, -1) == 0) {
		msg = "Bootstrap started";
		started = true;
	} else {
		msg = NULL;
		started = false;
	}
	pthread_mutex_unlock(&s->lock);
	if (msg == NULL)
		gw_respond_unavailable(r, "Bootstrap cannot start (shutting down)", NULL);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:b}", "message", msg, "started",
		    started));
}

static void
setup_boot_start_next(struct gw_req *r)
{
	setup_boot_refresh(r, setup_boot_start_render);
}

void
routes_setup_bootstrap_start(struct gw_req *r)
{
	setup_gate(r, false, setup_boot_start_next);
}

static void
setup_boot_retry_next(struct gw_req *r)
{
	struct gw_setup *s = r->gw->setup;
	int comp = -1, rc;
	char msg[64];

	for (int i = 0; i < SETUP_NCOMP; i++)
		if (strcmp(r->params[0], setup_comp_names[i][0]) == 0)
			comp = i;
	if (comp < 0) {
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND,
		    "Unknown component (expected database, metrics or backup)");
		return;
	}
	pthread_mutex_lock(&s->lock);
	rc = setup_start_locked(s, comp);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0) {
		gw_respond_detail(r, MHD_HTTP_CONFLICT, "Bootstrap already in progress");
		return;
	}
	snprintf(msg, sizeof(msg), "Retrying %s", setup_comp_names[comp][0]);
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:b}", "message", msg, "started", true));
}

void
routes_setup_bootstrap_retry(struct gw_req *r)
{
	setup_gate(r, false, setup_boot_retry_next);
}

static void
setup_boot_ws_accept(struct gw_req *r)
{
	gw_ws_accept(r->gw->setup->ws, r);
}

static void
setup_boot_ws_next(struct gw_req *r)
{
	setup_boot_refresh(r, setup_boot_ws_accept);
}

void
routes_setup_bootstrap_ws(struct gw_req *r)
{
	setup_gate(r, false, setup_boot_ws_next);
}
