/* routes_2fa: the /api/users/me/2fa routes (API.md 3.4), answered by authd. */
#include <stdlib.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"

#define AUTHD(r) ((r)->gw->backend[GW_AUTHD])
#define TIMEOUT(r) ((r)->gw->ipc_timeout_ms)
#define CB_FAILED(r, st, rep, detail)                                              \
	((st) != PROTO_OK ? (auth_backend_failed((r), "authd", (st), (detail)), true) :  \
	    AUTH_OUTCOME_FAILED((r), (rep)))

static void
routes_2fa_setup_cb(void *arg, enum proto_status st, const struct proto_tfa_setup_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s}", "secret",
		    rep->has_secret ? rep->secret : "", "provisioning_uri",
		    rep->has_provisioning_uri ? rep->provisioning_uri : ""));
	gw_async_done(r);
}

void
routes_2fa_setup(struct gw_req *r)
{
	struct proto_tfa_setup_req req = {0};

	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_tfa_setup_call(AUTHD(r), &req, TIMEOUT(r), routes_2fa_setup_cb, r);
}

static void
routes_2fa_enable_cb(void *arg, enum proto_status st, const struct proto_tfa_enable_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!CB_FAILED(r, st, rep, detail)) {
		json_t *codes = json_array();

		for (size_t i = 0; i < rep->recovery_codes.n; i++)
			json_array_append_new(codes, json_string(rep->recovery_codes.v[i]));
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:o}", "message",
		    rep->has_message ? rep->message : "ok", "recovery_codes", codes));
	}
	gw_async_done(r);
}

void
routes_2fa_enable(struct gw_req *r)
{
	struct proto_tfa_enable_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "code", true, &req.code, NULL) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_tfa_enable_call(AUTHD(r), &req, TIMEOUT(r), routes_2fa_enable_cb, r);
	json_decref(b);
}

static void
routes_2fa_disable_cb(void *arg, enum proto_status st, const struct proto_tfa_disable_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s}", "message",
		    rep->has_message ? rep->message : "ok"));
	gw_async_done(r);
}

void
routes_2fa_disable(struct gw_req *r)
{
	struct proto_tfa_disable_req req = {0};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "password", true, &req.password, NULL) != 0) {
		json_decref(b);
		return;
	}
	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_tfa_disable_call(AUTHD(r), &req, TIMEOUT(r), routes_2fa_disable_cb, r);
	json_decref(b);
}

static void
routes_2fa_status_cb(void *arg, enum proto_status st, const struct proto_tfa_status_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:s?, s:b}", "enabled", rep->enabled,
		    "verified_at", rep->has_verified_at ? rep->verified_at : NULL, "required_by_role",
		    rep->required_by_role));
	gw_async_done(r);
}

void
routes_2fa_status(struct gw_req *r)
{
	struct proto_tfa_status_req req = {0};

	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_tfa_status_call(AUTHD(r), &req, TIMEOUT(r), routes_2fa_status_cb, r);
}

static void
routes_2fa_codes_cb(void *arg, enum proto_status st, const struct proto_tfa_codes_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (!CB_FAILED(r, st, rep, detail))
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:I}", "remaining",
		    (json_int_t)rep->remaining));
	gw_async_done(r);
}

void
routes_2fa_codes(struct gw_req *r)
{
	struct proto_tfa_codes_req req = {0};

	AUTH_CLIENT_FILL(req, r);
	gw_async_begin(r, 1, gw_async_noop);
	proto_tfa_codes_call(AUTHD(r), &req, TIMEOUT(r), routes_2fa_codes_cb, r);
}
