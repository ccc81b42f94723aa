/* routes_settings: /api/settings (API.md 4 Settings, decision 9).  Only the
 * known public keys are read or written here: no route reveals a signing key
 * or any other row of system_settings.  A change is audited as
 * system_setting_changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"
#include "routes_admin.h"
#include "xmalloc.h"

static const struct settings_known {
	const char *key, *def, *description;
} settings_known[] = {
	{"registration_enabled", "true", "Allow new users to register"},
	{"registration_require_approval", "true", "New registrations need an administrator's approval"},
};
#define SETTINGS_N (sizeof(settings_known) / sizeof(settings_known[0]))

static const struct settings_known *
settings_find(const char *key)
{
	for (size_t i = 0; i < SETTINGS_N; i++)
		if (strcmp(settings_known[i].key, key) == 0)
			return &settings_known[i];
	return NULL;
}

static json_t *
settings_json(const struct settings_known *k, const char *value, const char *description)
{
	return json_pack("{s:s, s:s, s:s}", "key", k->key, "value", value, "description",
	    description != NULL ? description : k->description);
}

/* GET /: one SETTING_GET per known key, in one round. */
struct settings_all {
	json_t *settings;
	bool failed;
	enum proto_status st;
	char detail[160];
};

struct settings_call {
	struct gw_req *r;
	const struct settings_known *k;
};

static void
settings_all_cb(void *arg, enum proto_status st, const struct proto_setting_get_rep *rep,
    const char *detail)
{
	struct settings_call *sc = arg;
	struct gw_req *r = sc->r;
	struct settings_all *all = r->hctx;

	if (st == PROTO_OK) {
		json_object_set_new(all->settings, sc->k->key, settings_json(sc->k, rep->value,
		    rep->has_description ? rep->description : NULL));
	} else if (st == PROTO_NOT_FOUND) {
		json_object_set_new(all->settings, sc->k->key, settings_json(sc->k, sc->k->def, NULL));
	} else if (!all->failed) {
		all->failed = true;
		all->st = st;
		snprintf(all->detail, sizeof(all->detail), "%s", detail != NULL ? detail : "");
	}
	free(sc);
	gw_async_done(r);
}

static void
settings_all_finish(struct gw_req *r)
{
	struct settings_all *all = r->hctx;

	r->hctx = NULL;
	if (all->failed)
		routes_admin_failed(r, all->st, all->detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:O}", "settings", all->settings));
	json_decref(all->settings);
	free(all);
}

void
routes_settings_list(struct gw_req *r)
{
	struct settings_all *all = xcalloc(1, sizeof(*all));

	all->settings = json_object();
	r->hctx = all;
	gw_async_begin(r, (int)SETTINGS_N, settings_all_finish);
	for (size_t i = 0; i < SETTINGS_N; i++) {
		struct proto_setting_get_req req = {.key = settings_known[i].key};
		struct settings_call *sc = xmalloc(sizeof(*sc));

		sc->r = r;
		sc->k = &settings_known[i];
		proto_setting_get_call(ROUTES_ADMIN_STORAGED(r), &req, ROUTES_ADMIN_TIMEOUT(r),
		    settings_all_cb, sc);
	}
}

/* Only public keys answer: reading another key is "not found" (decision 9),
 * writing one is a bad request (API.md Settings). */
static const struct settings_known *
settings_path_key(struct gw_req *r, unsigned status)
{
	const struct settings_known *k = r->nparams > 0 ? settings_find(r->params[0]) : NULL;

	/* the key is not echoed: it comes from the URL and need not be UTF-8 */
	if (k == NULL)
		gw_respond_detail(r, status, status == MHD_HTTP_NOT_FOUND ? "Setting not found" :
		    "Unknown setting: only registration_enabled and registration_require_approval "
		    "can be written");
	return k;
}

static void
settings_get_cb(void *arg, enum proto_status st, const struct proto_setting_get_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	const struct settings_known *k = r->hctx;

	r->hctx = NULL;
	if (st == PROTO_OK)
		gw_respond_json(r, MHD_HTTP_OK, settings_json(k, rep->value,
		    rep->has_description ? rep->description : NULL));
	else if (st == PROTO_NOT_FOUND)
		gw_respond_json(r, MHD_HTTP_OK, settings_json(k, k->def, NULL));
	else
		routes_admin_failed(r, st, detail);
	gw_async_done(r);
}

void
routes_settings_get(struct gw_req *r)
{
	const struct settings_known *k = settings_path_key(r, MHD_HTTP_NOT_FOUND);
	struct proto_setting_get_req req = {0};

	if (k == NULL)
		return;
	req.key = k->key;
	r->hctx = (void *)k;
	gw_async_begin(r, 1, gw_async_noop);
	proto_setting_get_call(ROUTES_ADMIN_STORAGED(r), &req, ROUTES_ADMIN_TIMEOUT(r),
	    settings_get_cb, r);
}

static void
settings_set_cb(void *arg, enum proto_status st, const struct proto_setting_set_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	const struct settings_known *k = r->hctx;

	r->hctx = NULL;
	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		json_t *d = json_pack("{s:s, s:s}", "key", k->key, "value", rep->value);
		char *ds = json_dumps(d, JSON_COMPACT);

		gw_respond_json(r, MHD_HTTP_OK, settings_json(k, rep->value,
		    rep->has_description ? rep->description : NULL));
		routes_admin_audit(r, "system_setting_changed", "system", k->key, ds);
		free(ds);
		json_decref(d);
	}
	gw_async_done(r);
}

void
routes_settings_set(struct gw_req *r)
{
	const struct settings_known *k = settings_path_key(r, MHD_HTTP_BAD_REQUEST);
	struct proto_setting_set_req req = {0};
	json_t *b;

	if (k == NULL || (b = json_body_object(r)) == NULL)
		return;
	if (json_body_str(r, b, "value", true, &req.value, NULL) != 0) {
		json_decref(b);
		return;
	}
	/* both known keys are booleans written as text */
	if (strcmp(req.value, "true") != 0 && strcmp(req.value, "false") != 0) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'value' must be \"true\" or \"false\"");
		json_decref(b);
		return;
	}
	req.key = k->key;
	req.description = k->description;
	req.has_description = true;
	r->hctx = (void *)k;
	gw_async_begin(r, 1, gw_async_noop);
	proto_setting_set_call(ROUTES_ADMIN_STORAGED(r), &req, ROUTES_ADMIN_TIMEOUT(r),
	    settings_set_cb, r);
	json_decref(b);
}
