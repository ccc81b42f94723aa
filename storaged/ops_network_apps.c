/* Per-app VPN configs (API.md 4 VPN per app, 13).  One row per app, keyed by
 * app name; the provider must exist.  effective_kill_switch is the override,
 * else the provider's kill_switch: what the helm values get. */
#include "ops_network.h"

#include <stdlib.h>
#include <string.h>

#define OPS_NET_APP_SELECT                                                                  \
	"SELECT a.app_name, a.vpn_provider_id, p.name, a.kill_switch_override,"               \
	" COALESCE(a.kill_switch_override, p.kill_switch), a.port_forwarding, a.created_at,"  \
	" a.updated_at FROM app_vpn_configs AS a JOIN vpn_providers AS p"                     \
	" ON p.id = a.vpn_provider_id"
static const char ops_net_sql_app_list[] = OPS_NET_APP_SELECT " ORDER BY a.app_name";
static const char ops_net_sql_app_get[] = OPS_NET_APP_SELECT " WHERE a.app_name = ?";
static const char ops_net_sql_app_provider[] = "SELECT 1 FROM vpn_providers WHERE id = ?";
/* ?3: the override or NULL; ?4: port_forwarding or NULL (kept; new rows 0). */
static const char ops_net_sql_app_set[] =
    "INSERT INTO app_vpn_configs(app_name, vpn_provider_id, kill_switch_override,"
    " port_forwarding, created_at, updated_at) VALUES (?1, ?2, ?3, COALESCE(?4, 0), ?5, ?5)"
    " ON CONFLICT(app_name) DO UPDATE SET vpn_provider_id = excluded.vpn_provider_id,"
    " kill_switch_override = excluded.kill_switch_override,"
    " port_forwarding = COALESCE(?4, port_forwarding), updated_at = excluded.updated_at";
static const char ops_net_sql_app_delete[] =
    "DELETE FROM app_vpn_configs WHERE app_name = ? RETURNING vpn_provider_id";

_Static_assert(sizeof(struct proto_rec_app_vpn) == sizeof(struct proto_app_vpn_get_rep) &&
	sizeof(struct proto_rec_app_vpn) == sizeof(struct proto_app_vpn_set_rep),
    "app VPN replies share the record's shape");

static void
ops_net_app_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_app_vpn *r = rec;
	memset(r, 0, sizeof(*r));
	r->app_name = op_pool_dup(pool, op_col(st, 0));
	r->vpn_provider_id = sqlite3_column_int64(st, 1);
	r->provider_name = op_pool_dup(pool, op_col(st, 2));
	r->has_kill_switch_override = sqlite3_column_type(st, 3) != SQLITE_NULL;
	r->kill_switch_override = sqlite3_column_int(st, 3) != 0;
	r->effective_kill_switch = sqlite3_column_int(st, 4) != 0;
	r->port_forwarding = sqlite3_column_int(st, 5) != 0;
	r->created_at = op_pool_dup(pool, op_col(st, 6));
	r->updated_at = op_pool_dup(pool, op_col(st, 7));
}

/* The config of app into *r: PROTO_OK, not_found "app_name" or an error. */
static enum proto_status
ops_net_app_load(struct op_ctx *ctx, const char *app, struct op_pool *pool,
    struct proto_rec_app_vpn *r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_net_sql_app_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, app);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ops_net_app_row(st, pool, r);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no VPN config for this app", "app_name");
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_app_vpn_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_app_vpn_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_app_vpn *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_net_sql_app_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	v = op_collect(st, sizeof(*v), ops_net_app_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.configs.v = v;
		rep.configs.n = n;
		*reply_r = proto_app_vpn_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_app_vpn_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_app_vpn_get_req *req = arg;
	struct op_pool pool = {0};
	struct proto_app_vpn_get_rep rep;
	struct proto_rec_app_vpn row;
	enum proto_status res;

	if (!ops_network_valid_app_name(req->app_name))
		return op_fail(ctx, PROTO_BAD_REQUEST, "app_name must be [a-z0-9-]{1,63}", "app_name");
	if ((res = ops_net_app_load(ctx, req->app_name, &pool, &row)) == PROTO_OK) {
		memcpy(&rep, &row, sizeof(rep));
		*reply_r = proto_app_vpn_get_rep_msg(ctx->req_id, &rep);
	}
	op_pool_free(&pool);
	return res;
}

enum proto_status
ops_app_vpn_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_app_vpn_set_req *req = arg;
	struct op_pool pool = {0};
	struct proto_app_vpn_set_rep rep;
	struct proto_rec_app_vpn row;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (!ops_network_valid_app_name(req->app_name))
		return op_fail(ctx, PROTO_BAD_REQUEST, "app_name must be [a-z0-9-]{1,63}", "app_name");
	if ((st = db_stmt(ctx->c, ops_net_sql_app_provider)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->vpn_provider_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such VPN provider", "vpn_provider_id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);

	if ((st = db_stmt(ctx->c, ops_net_sql_app_set)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->app_name);
	sqlite3_bind_int64(st, 2, req->vpn_provider_id);
	if (req->has_kill_switch_override)
		sqlite3_bind_int(st, 3, req->kill_switch_override);
	if (req->has_port_forwarding)
		sqlite3_bind_int(st, 4, req->port_forwarding);
	db_bind_text(st, 5, now);
	if ((res = ops_network_step(ctx, st)) != PROTO_OK)
		return res;
	if ((res = ops_net_app_load(ctx, req->app_name, &pool, &row)) == PROTO_OK) {
		memcpy(&rep, &row, sizeof(rep));
		*reply_r = proto_app_vpn_set_rep_msg(ctx->req_id, &rep);
	}
	op_pool_free(&pool);
	return res;
}

enum proto_status
ops_app_vpn_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_app_vpn_delete_req *req = arg;
	struct proto_app_vpn_delete_rep rep;
	sqlite3_stmt *st;
	int rc;

	if (!ops_network_valid_app_name(req->app_name))
		return op_fail(ctx, PROTO_BAD_REQUEST, "app_name must be [a-z0-9-]{1,63}", "app_name");
	if ((st = db_stmt(ctx->c, ops_net_sql_app_delete)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->app_name);
	memset(&rep, 0, sizeof(rep));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rep.vpn_provider_id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_ROW;
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return op_fail(ctx, PROTO_NOT_FOUND, "no VPN config for this app", "app_name");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	rep.app_name = req->app_name;
	*reply_r = proto_app_vpn_delete_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}
