/* routes_backups: /api/backups (API.md decision 16, BACKUP.md section 12),
 * answered by storaged's backup engine (the backup family of ops).
 *
 *   GET  /status    settings.view    the engine's state and counters
 *   GET  /points    settings.view    restore points of the replica, newest first
 *                                    (?limit=1..1000, default 100; ?before_seq=)
 *   POST /snapshot  settings.manage  202 {"accepted":true}: a snapshot soon
 *   POST /verify    settings.manage  202 {"accepted":true}: a validation drill now
 *
 * Backup off (KUBARR_BACKUP_URL empty for storaged): status says configured
 * false and state "disabled"; points, snapshot and verify answer 409 with the
 * reason (so do snapshot and verify while shipping has failed).  The POSTs
 * that were accepted are audited (backup_snapshot_requested,
 * backup_verify_requested, resource system/backup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "routes.h"
#include "routes_admin.h"
#include "timeutil.h"
#include "xmalloc.h"

#define BACKUPS_STORAGED(r) ROUTES_ADMIN_STORAGED(r)
#define BACKUPS_TIMEOUT(r) ROUTES_ADMIN_TIMEOUT(r)
/* a listing waits on the replica inside storaged (the replica's own timeout) */
#define BACKUPS_POINTS_TIMEOUT(r) (ROUTES_ADMIN_TIMEOUT(r) + 15000)
#define BACKUPS_POINTS_DEFAULT 100
#define BACKUPS_POINTS_MAX 1000

/* A failed backup op: 409 (off or failed), 400, 503 (storaged down), 502 (the
 * replica could not be listed), else 500; storaged's detail is kept. */
static void
backups_failed(struct gw_req *r, enum proto_status st, const char *detail)
{
	switch (st) {
	case PROTO_CONFLICT:
		gw_respond_detail(r, MHD_HTTP_CONFLICT, detail != NULL ? detail :
		    "backup is not available");
		return;
	case PROTO_INTERNAL:
		gw_respond_detail(r, MHD_HTTP_BAD_GATEWAY, detail != NULL ? detail :
		    "replica listing failed");
		return;
	default:
		routes_admin_failed(r, st, detail);
		return;
	}
}

/* RFC 3339 with milliseconds, or null for 0 (never). */
static json_t *
backups_time(int64_t ms)
{
	char t[TIME_RFC3339_LEN];

	if (ms <= 0)
		return json_null();
	time_format_rfc3339(ms, t);
	return json_string(t);
}

json_t *
routes_backups_status_json(const struct proto_backup_status_rep *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "configured", json_boolean(s->configured));
	json_object_set_new(o, "state", json_string(s->state));
	json_object_set_new(o, "kind", s->kind[0] ? json_string(s->kind) : json_null());
	json_object_set_new(o, "url", s->url[0] ? json_string(s->url) : json_null());
	json_object_set_new(o, "error", s->has_error ? json_string(s->error) : json_null());
	json_object_set_new(o, "timeline", json_integer((json_int_t)s->timeline));
	json_object_set_new(o, "seq_spooled", json_integer((json_int_t)s->seq_spooled));
	json_object_set_new(o, "seq_uploaded", json_integer((json_int_t)s->seq_uploaded));
	json_object_set_new(o, "lag_seconds", json_real((double)s->lag_ms / 1000.0));
	json_object_set_new(o, "spool_bytes", json_integer((json_int_t)s->spool_bytes));
	json_object_set_new(o, "spool_files", json_integer((json_int_t)s->spool_files));
	json_object_set_new(o, "wal_bytes", json_integer((json_int_t)s->wal_bytes));
	json_object_set_new(o, "uploads", json_integer((json_int_t)s->uploads));
	json_object_set_new(o, "upload_bytes", json_integer((json_int_t)s->upload_bytes));
	json_object_set_new(o, "upload_errors", json_integer((json_int_t)s->upload_errors));
	json_object_set_new(o, "last_upload_at", backups_time(s->last_upload_ms));
	json_object_set_new(o, "last_snapshot_at", backups_time(s->last_snapshot_ms));
	json_object_set_new(o, "last_segment_at", backups_time(s->last_segment_ms));
	json_object_set_new(o, "last_validation_at", backups_time(s->last_validation_ms));
	json_object_set_new(o, "last_validation", json_string(s->last_validation));
	json_object_set_new(o, "validation_error", s->has_validation_error ?
	    json_string(s->validation_error) : json_null());
	json_object_set_new(o, "validated_seq", json_integer((json_int_t)s->validated_seq));
	json_object_set_new(o, "lease_held", json_boolean(s->lease_held));
	json_object_set_new(o, "snapshot_pending", json_boolean(s->snapshot_pending));
	json_object_set_new(o, "validation_pending", json_boolean(s->validation_pending));
	return o;
}

/* ---- GET /status --------------------------------------------------------- */

static void
backups_status_cb(void *arg, enum proto_status st, const struct proto_backup_status_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK)
		backups_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, routes_backups_status_json(rep));
	gw_async_done(r);
}

void
routes_backups_status(struct gw_req *r)
{
	struct proto_backup_status_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_backup_status_call(BACKUPS_STORAGED(r), &req, BACKUPS_TIMEOUT(r), backups_status_cb, r);
}

/* ---- GET /points ---------------------------------------------------------- */

static void
backups_points_cb(void *arg, enum proto_status st, const struct proto_backup_points_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	uint64_t limit = (uint64_t)(uintptr_t)r->hctx;

	r->hctx = NULL;
	if (st != PROTO_OK) {
		backups_failed(r, st, detail);
	} else {
		json_t *a = json_array();
		uint64_t last = 0;

		for (size_t i = 0; i < rep->points.n; i++) {
			const struct proto_rec_backup_point *p = &rep->points.v[i];

			json_array_append_new(a, json_pack("{s:I, s:I, s:s, s:s, s:I}", "timeline",
			    (json_int_t)p->timeline, "seq", (json_int_t)p->seq, "kind", p->kind, "time",
			    p->time, "bytes", (json_int_t)p->bytes));
			last = p->seq;
		}
		/* a full page: the next one starts below its last point */
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:o, s:o}", "points", a,
		    "next_before_seq", rep->points.n == limit && last > 0 ?
		    json_integer((json_int_t)last) : json_null()));
	}
	gw_async_done(r);
}

void
routes_backups_points(struct gw_req *r)
{
	struct proto_backup_points_req req = {0};
	int64_t limit = BACKUPS_POINTS_DEFAULT, before = 0;
	int rc;

	if (routes_admin_query_int(r, "limit", 1, BACKUPS_POINTS_MAX, &limit) < 0)
		return;
	if ((rc = routes_admin_query_int(r, "before_seq", 1, INT64_MAX, &before)) < 0)
		return;
	req.limit = (uint64_t)limit;
	req.has_limit = true;
	req.before_seq = (uint64_t)before;
	req.has_before_seq = rc == 1;
	r->hctx = (void *)(uintptr_t)limit;
	gw_async_begin(r, 1, gw_async_noop);
	proto_backup_points_call(BACKUPS_STORAGED(r), &req, BACKUPS_POINTS_TIMEOUT(r),
	    backups_points_cb, r);
}

/* ---- POST /snapshot, /verify ---------------------------------------------- */

/* 202 {"accepted":true} and its audit entry, or the refusal. */
static void
backups_request_done(struct gw_req *r, enum proto_status st, const char *detail,
    const char *action)
{
	if (st != PROTO_OK) {
		backups_failed(r, st, detail);
	} else {
		gw_respond_json(r, MHD_HTTP_ACCEPTED, json_pack("{s:b}", "accepted", 1));
		routes_admin_audit(r, action, "system", "backup", NULL);
	}
	gw_async_done(r);
}

static void
backups_snapshot_cb(void *arg, enum proto_status st, const struct proto_backup_snapshot_rep *rep,
    const char *detail)
{
	(void)rep;
	backups_request_done(arg, st, detail, "backup_snapshot_requested");
}

void
routes_backups_snapshot(struct gw_req *r)
{
	struct proto_backup_snapshot_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_backup_snapshot_call(BACKUPS_STORAGED(r), &req, BACKUPS_TIMEOUT(r),
	    backups_snapshot_cb, r);
}

static void
backups_verify_cb(void *arg, enum proto_status st, const struct proto_backup_verify_rep *rep,
    const char *detail)
{
	(void)rep;
	backups_request_done(arg, st, detail, "backup_verify_requested");
}

void
routes_backups_verify(struct gw_req *r)
{
	struct proto_backup_verify_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_backup_verify_call(BACKUPS_STORAGED(r), &req, BACKUPS_TIMEOUT(r), backups_verify_cb, r);
}
