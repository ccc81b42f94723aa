/* routes_system: health, readiness and version (public). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"
#include "routes.h"
#include "xmalloc.h"

void
routes_system_health_text(struct gw_req *r)
{
	gw_respond_text(r, MHD_HTTP_OK, "OK");
}

void
routes_system_version(struct gw_req *r)
{
	gw_respond_json(r, MHD_HTTP_OK,
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "version", daemon_version, "channel",
		r->gw->channel, "commit_hash", daemon_commit, "build_time", daemon_build_time,
		/* same field as the reference backend; we report the C compiler */
		"rust_version", "none (C11, " __VERSION__ ")", "backend", "c"));
}

/* ---- /api/system/health: storaged says whether an admin exists ---------- */

struct health_state {
	enum proto_status st;
	bool admin_exists;
};

static void
routes_system_health_finish(struct gw_req *r)
{
	struct health_state *hs = r->hctx;

	if (hs->st != PROTO_OK)
		gw_respond_unavailable(r, "storaged unavailable", NULL);
	else
		gw_respond_json(r, MHD_HTTP_OK,
		    json_pack("{s:s, s:b, s:b}", "status", "ok", "ready", hs->admin_exists,
			"setup_required", !hs->admin_exists));
	free(hs);
	r->hctx = NULL;
}

static void
routes_system_health_cb(void *arg, enum proto_status st, const struct proto_ping_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct health_state *hs = r->hctx;

	(void)detail;
	hs->st = st;
	hs->admin_exists = st == PROTO_OK && rep->has_admin_exists && rep->admin_exists;
	gw_async_done(r);
}

void
routes_system_health(struct gw_req *r)
{
	r->hctx = xcalloc(1, sizeof(struct health_state));
	gw_async_begin(r, 1, routes_system_health_finish);
	gateway_ping(r->gw, GW_STORAGED, routes_system_health_cb, r);
}

/* ---- /api/system/ready: the three backends are asked in parallel -------- */

struct ready_call {
	struct gw_req *r;
	enum proto_status st;
	bool ready;
	char reason[96];
};

struct ready_state {
	struct ready_call calls[GW_BACKEND_COUNT];
};

static void
routes_system_ready_finish(struct gw_req *r)
{
	struct ready_state *rs = r->hctx;
	json_t *components = json_object();
	char detail[512];
	size_t n = 0;

	detail[0] = '\0';
	for (int i = 0; i < GW_BACKEND_COUNT; i++) {
		const struct ready_call *c = &rs->calls[i];
		const char *state;

		if (c->st == PROTO_OK && c->ready) {
			json_object_set_new(components, gateway_backend_names[i], json_string("ok"));
			continue;
		}
		if (c->st == PROTO_OK)
			state = "not_ready";
		else if (c->st == PROTO_TIMEOUT)
			state = "timeout";
		else
			state = "unavailable";
		json_object_set_new(components, gateway_backend_names[i], json_string(state));
		if (n < sizeof(detail))
			n += (size_t)snprintf(detail + n, sizeof(detail) - n, "%s%s %s%s%s%s",
			    n ? ", " : "", gateway_backend_names[i],
			    c->st == PROTO_OK ? "not ready" : state, c->reason[0] ? " (" : "",
			    c->reason, c->reason[0] ? ")" : "");
	}
	if (n == 0)
		gw_respond_json(r, MHD_HTTP_OK,
		    json_pack("{s:s, s:o}", "status", "ready", "components", components));
	else
		gw_respond_unavailable(r, detail, json_pack("{s:o}", "components", components));
	free(rs);
	r->hctx = NULL;
}

static void
routes_system_ready_cb(void *arg, enum proto_status st, const struct proto_ping_rep *rep,
    const char *detail)
{
	struct ready_call *c = arg;

	(void)detail;
	c->st = st;
	c->ready = st == PROTO_OK && rep->ready;
	if (st == PROTO_OK && !rep->ready && rep->has_reason)
		snprintf(c->reason, sizeof(c->reason), "%s", rep->reason);
	gw_async_done(c->r);
}

void
routes_system_ready(struct gw_req *r)
{
	struct ready_state *rs = xcalloc(1, sizeof(*rs));
	struct gateway *gw = r->gw;

	r->hctx = rs;
	for (int i = 0; i < GW_BACKEND_COUNT; i++)
		rs->calls[i].r = r;
	gw_async_begin(r, GW_BACKEND_COUNT, routes_system_ready_finish);
	/* r may be answered and freed once the last ping is issued: use locals */
	for (int i = 0; i < GW_BACKEND_COUNT; i++)
		gateway_ping(gw, (enum gw_backend)i, routes_system_ready_cb, &rs->calls[i]);
}
