/* The backup family (ops 800-899, proto_ops_backup.h): the HTTP view of the
 * backup engine (backup.h).
 *
 *   BACKUP_STATUS, BACKUP_SNAPSHOT, BACKUP_VERIFY   engine ops: they read or
 *       flag the engine's in-memory state, touch neither the database nor the
 *       writer, and are answered at once on the nng thread
 *   BACKUP_POINTS   lists the replica (a remote call): a read, on the reader
 *       pool, so a slow object store never holds up a commit
 *
 * sd->backup is NULL when KUBARR_BACKUP_URL is empty; the engine's functions
 * take that as "not configured". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "ops.h"
#include "storaged.h"
#include "timeutil.h"
#include "xmalloc.h"

#define OPS_BACKUP_POINTS_DEFAULT 100
#define OPS_BACKUP_POINTS_MAX 1000

/* seconds -> whole milliseconds, never negative (the wire has no floats). */
static uint64_t
ops_backup_lag_ms(double lag_s)
{
	return lag_s > 0 ? (uint64_t)(lag_s * 1000.0 + 0.5) : 0;
}

static enum proto_status
ops_backup_status(struct op_ctx *ctx, const void *reqp, nng_msg **reply_r)
{
	struct backup_status st;
	struct proto_backup_status_rep rep = {0};

	(void)reqp;
	backup_status_get(ctx->sd->backup, &st);
	rep.configured = st.configured;
	rep.url = st.url;
	rep.kind = st.kind;
	rep.state = st.state;
	rep.error = st.error;
	rep.has_error = st.error[0] != '\0';
	rep.timeline = st.timeline;
	rep.seq_spooled = st.seq_spooled;
	rep.seq_uploaded = st.seq_uploaded;
	rep.lag_ms = ops_backup_lag_ms(st.lag_s);
	rep.spool_bytes = st.spool_bytes;
	rep.spool_files = st.spool_files;
	rep.wal_bytes = st.wal_bytes;
	rep.uploads = st.uploads;
	rep.upload_bytes = st.upload_bytes;
	rep.upload_errors = st.upload_errors;
	rep.last_upload_ms = st.last_upload_ms;
	rep.last_snapshot_ms = st.last_snapshot_ms;
	rep.last_segment_ms = st.last_segment_ms;
	rep.last_validation_ms = st.last_validation_ms;
	rep.last_validation = st.last_validation[0] != '\0' ? st.last_validation : "never";
	rep.validation_error = st.validation_error;
	rep.has_validation_error = st.validation_error[0] != '\0';
	rep.validated_seq = st.validated_seq;
	rep.lease_held = st.lease_held;
	rep.snapshot_pending = st.snapshot_pending;
	rep.validation_pending = st.validation_pending;
	*reply_r = proto_backup_status_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* A refused request: conflict (backup off or failed) with the engine's words. */
static enum proto_status
ops_backup_refused(struct op_ctx *ctx, char *err)
{
	enum proto_status st = op_failf(ctx, PROTO_CONFLICT, NULL, "%s",
	    err != NULL ? err : "backup is not available");

	free(err);
	return st;
}

static enum proto_status
ops_backup_snapshot(struct op_ctx *ctx, const void *reqp, nng_msg **reply_r)
{
	struct proto_backup_snapshot_rep rep = {.accepted = true};
	char *err = NULL;

	(void)reqp;
	if (backup_request_snapshot(ctx->sd->backup, &err) != 0)
		return ops_backup_refused(ctx, err);
	free(err);
	*reply_r = proto_backup_snapshot_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

static enum proto_status
ops_backup_verify(struct op_ctx *ctx, const void *reqp, nng_msg **reply_r)
{
	struct proto_backup_verify_rep rep = {.accepted = true};
	char *err = NULL;

	(void)reqp;
	if (backup_request_verify(ctx->sd->backup, &err) != 0)
		return ops_backup_refused(ctx, err);
	free(err);
	*reply_r = proto_backup_verify_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

/* On the reader pool: ctx->c is a reader's connection, left unused. */
static enum proto_status
ops_backup_points(struct op_ctx *ctx, const void *reqp, nng_msg **reply_r)
{
	const struct proto_backup_points_req *req = reqp;
	struct proto_backup_points_rep rep = {0};
	struct proto_rec_backup_point *recs;
	struct backup_status bs;
	struct backup_point *pts = NULL;
	char (*times)[TIME_RFC3339_LEN];
	uint64_t limit = req->has_limit ? req->limit : OPS_BACKUP_POINTS_DEFAULT;
	size_t n = 0;
	char *err = NULL;

	if (limit < 1 || limit > OPS_BACKUP_POINTS_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "limit must be from 1 to 1000", "limit");
	if (req->has_before_seq && req->before_seq == 0)
		return op_fail(ctx, PROTO_BAD_REQUEST, "before_seq must be at least 1", "before_seq");
	/* off: a conflict, like the requests (not a failed listing) */
	backup_status_get(ctx->sd->backup, &bs);
	if (!bs.configured)
		return op_fail(ctx, PROTO_CONFLICT,
		    "backup is not configured (KUBARR_BACKUP_URL is empty)", NULL);
	if (backup_points(ctx->sd->backup, req->has_before_seq ? req->before_seq : 0,
	    (size_t)limit, &pts, &n, &err) != 0) {
		enum proto_status st = op_failf(ctx, PROTO_INTERNAL, NULL, "replica listing failed: %s",
		    err != NULL ? err : "unknown error");

		free(err);
		free(pts);
		return st;
	}
	free(err);
	if (n > limit)
		n = (size_t)limit;
	recs = xcalloc(n ? n : 1, sizeof(*recs));
	times = xcalloc(n ? n : 1, sizeof(*times));
	for (size_t i = 0; i < n; i++) {
		time_format_rfc3339(pts[i].time_ms, times[i]);
		recs[i].timeline = pts[i].timeline;
		recs[i].seq = pts[i].seq;
		recs[i].kind = pts[i].snapshot ? "snapshot" : "segment";
		recs[i].time = times[i];
		recs[i].bytes = pts[i].bytes;
	}
	rep.points.v = recs;
	rep.points.n = n;
	*reply_r = proto_backup_points_rep_msg(ctx->req_id, &rep);
	free(times);
	free(recs);
	free(pts);
	return PROTO_OK;
}

static const struct op_def ops_backup_table[] = {
	OPS_DEF_ENGINE(BACKUP_STATUS, backup_status, ops_backup_status),
	OPS_DEF(BACKUP_POINTS, backup_points, false, ops_backup_points),
	OPS_DEF_ENGINE(BACKUP_SNAPSHOT, backup_snapshot, ops_backup_snapshot),
	OPS_DEF_ENGINE(BACKUP_VERIFY, backup_verify, ops_backup_verify),
};

const struct op_family ops_family_backup = {ops_backup_table,
    sizeof(ops_backup_table) / sizeof(ops_backup_table[0])};
