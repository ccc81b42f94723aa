/* routes_notify: /api/notifications (API.md 4 Notifications, 9), answered by
 * storaged.  Inbox and preferences are the caller's own (any signed-in user);
 * channels and events need settings.view / settings.manage, the delivery log
 * audit.view.  Every read is masked by storaged (channel secrets "********",
 * destinations "ab***@domain" / "abc***yz"); no route asks for a clear one.
 * The channel test sends a real message from storaged (NOTIFY_TEST) and, when
 * it arrives, verifies the caller's matching destination. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "routes.h"
#include "routes_admin.h"
#include "xmalloc.h"

#define NOTIFY_STORAGED(r) ROUTES_ADMIN_STORAGED(r)
#define NOTIFY_TIMEOUT(r) ROUTES_ADMIN_TIMEOUT(r)
/* the test message waits on the network inside storaged (its own timeout) */
#define NOTIFY_TEST_TIMEOUT(r) (ROUTES_ADMIN_TIMEOUT(r) + 15000)
#define NOTIFY_INBOX_MAX 100
#define NOTIFY_LOG_MAX 200

/* CHANNEL_SET, EVENT_SET and PREF_SET answer with their record's fields (the
 * same field list, so the same layout): the callbacks read them as records. */
_Static_assert(sizeof(struct proto_rec_notify_channel) == sizeof(struct proto_channel_set_rep),
    "channel_set_rep is a notify_channel");
_Static_assert(sizeof(struct proto_rec_notify_event) == sizeof(struct proto_event_set_rep),
    "event_set_rep is a notify_event");
_Static_assert(sizeof(struct proto_rec_notify_pref) == sizeof(struct proto_pref_set_rep),
    "pref_set_rep is a notify_pref");

static void
notify_success(struct gw_req *r)
{
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b}", "success", 1));
}

/* ---- channels ----------------------------------------------------------- */

static json_t *
notify_channel_json(const struct proto_rec_notify_channel *c)
{
	json_t *cfg = json_loads(c->config, 0, NULL);

	if (cfg == NULL)
		cfg = json_object();
	return json_pack("{s:s, s:b, s:o, s:s?, s:s?}", "channel_type", c->channel_type,
	    "enabled", c->enabled, "config", cfg, "created_at",
	    c->has_created_at ? c->created_at : NULL, "updated_at",
	    c->has_updated_at ? c->updated_at : NULL);
}

static void
notify_channels_cb(void *arg, enum proto_status st, const struct proto_channel_list_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	const char *want = r->nparams > 0 ? r->params[0] : NULL;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else if (want == NULL) {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->channels.n; i++)
			json_array_append_new(a, notify_channel_json(&rep->channels.v[i]));
		gw_respond_json(r, MHD_HTTP_OK, a);
	} else {
		size_t i;

		for (i = 0; i < rep->channels.n; i++)
			if (strcmp(rep->channels.v[i].channel_type, want) == 0)
				break;
		if (i == rep->channels.n)
			gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Channel not found");
		else
			gw_respond_json(r, MHD_HTTP_OK, notify_channel_json(&rep->channels.v[i]));
	}
	gw_async_done(r);
}

/* GET /channels and GET /channels/{type}. */
void
routes_notify_channels(struct gw_req *r)
{
	struct proto_channel_list_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_channel_list_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_channels_cb, r);
}

static void
notify_channel_set_cb(void *arg, enum proto_status st, const struct proto_channel_set_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		char rid[80];

		gw_respond_json(r, MHD_HTTP_OK,
		    notify_channel_json((const struct proto_rec_notify_channel *)(const void *)rep));
		snprintf(rid, sizeof(rid), "notifications.channel.%s", rep->channel_type);
		routes_admin_audit(r, "system_setting_changed", "system", rid, NULL);
	}
	gw_async_done(r);
}

/* PUT /channels/{type} {enabled?, config?}: a masked value keeps the stored one. */
void
routes_notify_channel_set(struct gw_req *r)
{
	struct proto_channel_set_req req = {.channel_type = r->params[0]};
	json_t *b = json_body_object(r), *cfg;
	char *cfg_text = NULL;

	if (b == NULL)
		return;
	if (json_body_bool(r, b, "enabled", false, &req.enabled, &req.has_enabled) != 0) {
		json_decref(b);
		return;
	}
	if ((cfg = json_object_get(b, "config")) != NULL && !json_is_null(cfg)) {
		if (!json_is_object(cfg)) {
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'config' must be an object");
			json_decref(b);
			return;
		}
		cfg_text = json_dumps(cfg, JSON_COMPACT);
		req.has_config = true;
		req.config = cfg_text;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_channel_set_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_channel_set_cb, r);
	free(cfg_text);
	json_decref(b);
}

static void
notify_test_cb(void *arg, enum proto_status st, const struct proto_notify_test_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK)
		routes_admin_failed(r, st, detail);
	else {
		json_t *j = json_pack("{s:b, s:b}", "success", rep->success, "verified", rep->verified);

		if (rep->has_error)
			json_object_set_new(j, "error", json_string(rep->error));
		gw_respond_json(r, MHD_HTTP_OK, j);
	}
	gw_async_done(r);
}

/* POST /channels/{type}/test {destination}. */
void
routes_notify_channel_test(struct gw_req *r)
{
	struct proto_notify_test_req req = {.user_id = r->principal->user_id,
	    .channel_type = r->params[0]};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_str(r, b, "destination", true, &req.destination, NULL) != 0) {
		json_decref(b);
		return;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_notify_test_call(NOTIFY_STORAGED(r), &req, NOTIFY_TEST_TIMEOUT(r), notify_test_cb, r);
	json_decref(b);
}

/* ---- events ------------------------------------------------------------- */

static json_t *
notify_event_json(const struct proto_rec_notify_event *e)
{
	return json_pack("{s:s, s:b, s:s}", "event_type", e->event_type, "enabled", e->enabled,
	    "severity", e->severity);
}

ROUTES_ADMIN_LIST(routes_notify_events, event_list, events, notify_event_json)

static void
notify_event_set_cb(void *arg, enum proto_status st, const struct proto_event_set_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		char rid[96];

		gw_respond_json(r, MHD_HTTP_OK,
		    notify_event_json((const struct proto_rec_notify_event *)(const void *)rep));
		snprintf(rid, sizeof(rid), "notifications.event.%s", rep->event_type);
		routes_admin_audit(r, "system_setting_changed", "system", rid, NULL);
	}
	gw_async_done(r);
}

/* PUT /events/{event_type} {enabled?, severity?}. */
void
routes_notify_event_set(struct gw_req *r)
{
	struct proto_event_set_req req = {.event_type = r->params[0]};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_bool(r, b, "enabled", false, &req.enabled, &req.has_enabled) != 0 ||
	    json_body_str(r, b, "severity", false, &req.severity, &req.has_severity) != 0) {
		json_decref(b);
		return;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_event_set_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_event_set_cb, r);
	json_decref(b);
}

/* ---- preferences -------------------------------------------------------- */

static json_t *
notify_pref_json(const struct proto_rec_notify_pref *p)
{
	return json_pack("{s:s, s:b, s:s?, s:b}", "channel_type", p->channel_type, "enabled",
	    p->enabled, "destination", p->has_destination ? p->destination : NULL, "verified",
	    p->verified);
}

static void
notify_prefs_cb(void *arg, enum proto_status st, const struct proto_pref_list_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->prefs.n; i++)
			json_array_append_new(a, notify_pref_json(&rep->prefs.v[i]));
		gw_respond_json(r, MHD_HTTP_OK, a);
	}
	gw_async_done(r);
}

void
routes_notify_prefs(struct gw_req *r)
{
	struct proto_pref_list_req req = {.user_id = r->principal->user_id};

	gw_async_begin(r, 1, gw_async_noop);
	proto_pref_list_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_prefs_cb, r);
}

static void
notify_pref_set_cb(void *arg, enum proto_status st, const struct proto_pref_set_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK)
		routes_admin_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK,
		    notify_pref_json((const struct proto_rec_notify_pref *)(const void *)rep));
	gw_async_done(r);
}

/* PUT /preferences/{type} {enabled?, destination?}: a new destination is
 * unverified until a test message reaches it. */
void
routes_notify_pref_set(struct gw_req *r)
{
	struct proto_pref_set_req req = {.user_id = r->principal->user_id,
	    .channel_type = r->params[0]};
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	if (json_body_bool(r, b, "enabled", false, &req.enabled, &req.has_enabled) != 0 ||
	    json_body_str(r, b, "destination", false, &req.destination, &req.has_destination) != 0) {
		json_decref(b);
		return;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_pref_set_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_pref_set_cb, r);
	json_decref(b);
}

/* ---- inbox -------------------------------------------------------------- */

static void
notify_inbox_cb(void *arg, enum proto_status st, const struct proto_inbox_list_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->items.n; i++) {
			const struct proto_rec_notify_item *it = &rep->items.v[i];

			json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s?, s:s, s:b, s:s}", "id",
			    (json_int_t)it->id, "title", it->title, "message", it->message,
			    "event_type", it->has_event_type ? it->event_type : NULL, "severity",
			    it->severity, "read", it->read, "created_at", it->created_at));
		}
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:o, s:I, s:I}", "notifications", a,
		    "total", (json_int_t)rep->total, "unread", (json_int_t)rep->unread));
	}
	gw_async_done(r);
}

/* GET /inbox?limit=20(<=100)&offset&unread_only. */
void
routes_notify_inbox(struct gw_req *r)
{
	struct proto_inbox_list_req req = {.user_id = r->principal->user_id, .has_limit = true,
	    .limit = 20};
	int64_t v;
	int rc;
	const char *uo = gw_query(r, "unread_only");

	if ((rc = routes_admin_query_int(r, "limit", 1, NOTIFY_INBOX_MAX, &v)) < 0)
		return;
	if (rc > 0)
		req.limit = (uint64_t)v;
	if ((rc = routes_admin_query_int(r, "offset", 0, INT64_MAX, &v)) < 0)
		return;
	if (rc > 0) {
		req.has_offset = true;
		req.offset = (uint64_t)v;
	}
	if (uo != NULL && strcmp(uo, "true") == 0) {
		req.has_unread_only = true;
		req.unread_only = true;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_inbox_list_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_inbox_cb, r);
}

static void
notify_count_cb(void *arg, enum proto_status st, const struct proto_inbox_count_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK)
		routes_admin_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:I}", "count", (json_int_t)rep->unread));
	gw_async_done(r);
}

void
routes_notify_inbox_count(struct gw_req *r)
{
	struct proto_inbox_count_req req = {.user_id = r->principal->user_id};

	gw_async_begin(r, 1, gw_async_noop);
	proto_inbox_count_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_count_cb, r);
}

static void
notify_item_failed(struct gw_req *r, enum proto_status st, const char *detail)
{
	if (st == PROTO_NOT_FOUND)
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Notification not found");
	else
		routes_admin_failed(r, st, detail);
}

/* POST /inbox/{id}/read and DELETE /inbox/{id}: one of the caller's own items. */
#define NOTIFY_ITEM_ROUTE(fn, op)                                                              \
	static void fn##_cb(void *arg, enum proto_status st, const struct proto_##op##_rep *rep,   \
	    const char *detail)                                                                   \
	{                                                                                         \
		struct gw_req *r = arg;                                                               \
                                                                                              \
		(void)rep;                                                                            \
		if (st != PROTO_OK)                                                                   \
			notify_item_failed(r, st, detail);                                                \
		else                                                                                  \
			notify_success(r);                                                                \
		gw_async_done(r);                                                                     \
	}                                                                                         \
	void fn(struct gw_req *r)                                                                 \
	{                                                                                         \
		struct proto_##op##_req req = {.user_id = r->principal->user_id};                     \
                                                                                              \
		if (routes_admin_path_id(r, 0, "notification", &req.id) != 0)                         \
			return;                                                                           \
		gw_async_begin(r, 1, gw_async_noop);                                                  \
		proto_##op##_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), fn##_cb, r);           \
	}

NOTIFY_ITEM_ROUTE(routes_notify_inbox_read, inbox_read)
NOTIFY_ITEM_ROUTE(routes_notify_inbox_delete, inbox_delete)

static void
notify_read_all_cb(void *arg, enum proto_status st, const struct proto_inbox_read_all_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	(void)rep;
	if (st != PROTO_OK)
		routes_admin_failed(r, st, detail);
	else
		notify_success(r);
	gw_async_done(r);
}

void
routes_notify_inbox_read_all(struct gw_req *r)
{
	struct proto_inbox_read_all_req req = {.user_id = r->principal->user_id};

	gw_async_begin(r, 1, gw_async_noop);
	proto_inbox_read_all_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_read_all_cb, r);
}

/* ---- delivery log ------------------------------------------------------- */

static void
notify_logs_cb(void *arg, enum proto_status st, const struct proto_log_list_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK) {
		routes_admin_failed(r, st, detail);
	} else {
		json_t *a = json_array();

		for (size_t i = 0; i < rep->logs.n; i++) {
			const struct proto_rec_notify_log *l = &rep->logs.v[i];

			json_array_append_new(a, json_pack("{s:I, s:o, s:s, s:s, s:s?, s:s, s:s?, s:s}",
			    "id", (json_int_t)l->id, "user_id",
			    l->has_user_id ? json_integer(l->user_id) : json_null(), "channel_type",
			    l->channel_type, "event_type", l->event_type, "recipient",
			    l->has_recipient ? l->recipient : NULL, "status", l->status,
			    "error_message", l->has_error_message ? l->error_message : NULL,
			    "created_at", l->created_at));
		}
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:o, s:I}", "logs", a, "total",
		    (json_int_t)rep->total));
	}
	gw_async_done(r);
}

/* GET /logs?limit=50&offset&channel_type&status&user_id. */
void
routes_notify_logs(struct gw_req *r)
{
	struct proto_log_list_req req = {.has_limit = true, .limit = 50};
	const char *ct = gw_query(r, "channel_type"), *status = gw_query(r, "status");
	int64_t v;
	int rc;

	if ((rc = routes_admin_query_int(r, "limit", 1, NOTIFY_LOG_MAX, &v)) < 0)
		return;
	if (rc > 0)
		req.limit = (uint64_t)v;
	if ((rc = routes_admin_query_int(r, "offset", 0, INT64_MAX, &v)) < 0)
		return;
	if (rc > 0) {
		req.has_offset = true;
		req.offset = (uint64_t)v;
	}
	if ((rc = routes_admin_query_int(r, "user_id", 1, INT64_MAX, &v)) < 0)
		return;
	if (rc > 0) {
		req.has_user_id = true;
		req.user_id = v;
	}
	if (ct != NULL && ct[0] != '\0') {
		req.has_channel_type = true;
		req.channel_type = ct;
	}
	if (status != NULL && status[0] != '\0') {
		req.has_status = true;
		req.status = status;
	}
	gw_async_begin(r, 1, gw_async_noop);
	proto_log_list_call(NOTIFY_STORAGED(r), &req, NOTIFY_TIMEOUT(r), notify_logs_cb, r);
}
