/* ops_audit: the audit log (API.md section 10). */
#include <string.h>

#include "ops.h"

static const char ops_audit_sql_json[] = "SELECT json_valid(?)";
static const char ops_audit_sql_insert[] =
    "INSERT INTO audit_logs(timestamp, user_id, username, action, resource_type, resource_id,"
    " details, ip_address, user_agent, success, error_message)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

enum proto_status
ops_audit_append(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_audit_append_req *req = arg;
	struct proto_audit_append_rep rep;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (req->action[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "action must not be empty", "action");
	if (req->resource_type[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "resource_type must not be empty", "resource_type");
	if (req->has_details) {
		if ((st = db_stmt(ctx->c, ops_audit_sql_json)) == NULL)
			return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
		db_bind_text(st, 1, req->details);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1)
			return op_fail(ctx, PROTO_BAD_REQUEST, "details must be JSON", "details");
	}
	if ((st = db_stmt(ctx->c, ops_audit_sql_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, now);
	if (req->has_user_id)
		sqlite3_bind_int64(st, 2, req->user_id);
	db_bind_text(st, 3, req->has_username ? req->username : NULL);
	db_bind_text(st, 4, req->action);
	db_bind_text(st, 5, req->resource_type);
	db_bind_text(st, 6, req->has_resource_id ? req->resource_id : NULL);
	db_bind_text(st, 7, req->has_details ? req->details : NULL);
	db_bind_text(st, 8, req->has_ip_address ? req->ip_address : NULL);
	db_bind_text(st, 9, req->has_user_agent ? req->user_agent : NULL);
	sqlite3_bind_int(st, 10, req->success ? 1 : 0);
	db_bind_text(st, 11, req->has_error_message ? req->error_message : NULL);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.id = sqlite3_last_insert_rowid(ctx->c->db);
	rep.timestamp = now;
	*reply_r = proto_audit_append_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}
