/* Cloudflare tunnels (API.md 4 Cloudflare).  Rows hold what the deploy code
 * learns from the Cloudflare API (tunnel, zone, DNS record ids) and the status
 * of the cloudflared deployment.  The tokens are write-only here: records say
 * has_tunnel_token / has_api_token; CLOUDFLARE_TUNNEL_SECRET returns them. */
#include "ops_network.h"

#include <stdlib.h>
#include <string.h>


#define OPS_NET_CF_SELECT                                                                   \
	"SELECT id, name, status, error, created_at, updated_at, account_id, tunnel_id,"      \
	" zone_id, zone_name, subdomain, dns_record_id, hostname, tunnel_token <> '',"        \
	" COALESCE(api_token, '') <> '' FROM cloudflare_tunnels"
static const char ops_net_sql_cf_list[] = OPS_NET_CF_SELECT " ORDER BY id";
static const char ops_net_sql_cf_get[] = OPS_NET_CF_SELECT " WHERE id = ?";
static const char ops_net_sql_cf_insert[] =
    "INSERT INTO cloudflare_tunnels(name, tunnel_token, api_token, account_id, zone_id,"
    " zone_name, subdomain, created_at, updated_at) VALUES (?1, ?2, NULLIF(?3, ''),"
    " NULLIF(?4, ''), NULLIF(?5, ''), NULLIF(?6, ''), NULLIF(?7, ''), ?8, ?8) RETURNING id";
/* NULL keeps a column, '' clears a nullable one; a new status without an
 * error clears the error. */
#define OPS_NET_CF_KEEP(col, n) " " col " = CASE WHEN ?" n " IS NULL THEN " col " ELSE NULLIF(?" n ", '') END,"
static const char ops_net_sql_cf_update[] =
    "UPDATE cloudflare_tunnels SET name = COALESCE(?2, name), status = COALESCE(?3, status),"
    " error = CASE WHEN ?4 IS NOT NULL THEN NULLIF(?4, '') WHEN ?3 IS NOT NULL THEN NULL"
    "  ELSE error END,"
    OPS_NET_CF_KEEP("account_id", "5") OPS_NET_CF_KEEP("tunnel_id", "6")
    OPS_NET_CF_KEEP("zone_id", "7") OPS_NET_CF_KEEP("zone_name", "8")
    OPS_NET_CF_KEEP("subdomain", "9") OPS_NET_CF_KEEP("dns_record_id", "10")
    OPS_NET_CF_KEEP("hostname", "11")
    " tunnel_token = COALESCE(?12, tunnel_token),"
    OPS_NET_CF_KEEP("api_token", "13")
    " updated_at = ?14 WHERE id = ?1";
static const char ops_net_sql_cf_delete[] = "DELETE FROM cloudflare_tunnels WHERE id = ?";
static const char ops_net_sql_cf_secret[] =
    "SELECT tunnel_token, NULLIF(api_token, '') FROM cloudflare_tunnels WHERE id = ?";

_Static_assert(sizeof(struct proto_rec_cf_tunnel) == sizeof(struct proto_cloudflare_tunnel_get_rep) &&
	sizeof(struct proto_rec_cf_tunnel) == sizeof(struct proto_cloudflare_tunnel_create_rep) &&
	sizeof(struct proto_rec_cf_tunnel) == sizeof(struct proto_cloudflare_tunnel_update_rep),
    "tunnel replies share the record's shape");

#define OPS_NET_CF_OPT(row, col, i)                                                          \
	do {                                                                                     \
		(row)->col = op_pool_dup(pool, op_col(st, i));                   \
		(row)->has_##col = (row)->col != NULL;                                               \
	} while (0)

static void
ops_net_cf_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_cf_tunnel *r = rec;
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->name = op_pool_dup(pool, op_col(st, 1));
	r->status = op_pool_dup(pool, op_col(st, 2));
	OPS_NET_CF_OPT(r, error, 3);
	r->created_at = op_pool_dup(pool, op_col(st, 4));
	r->updated_at = op_pool_dup(pool, op_col(st, 5));
	OPS_NET_CF_OPT(r, account_id, 6);
	OPS_NET_CF_OPT(r, tunnel_id, 7);
	OPS_NET_CF_OPT(r, zone_id, 8);
	OPS_NET_CF_OPT(r, zone_name, 9);
	OPS_NET_CF_OPT(r, subdomain, 10);
	OPS_NET_CF_OPT(r, dns_record_id, 11);
	OPS_NET_CF_OPT(r, hostname, 12);
	r->has_tunnel_token = sqlite3_column_int(st, 13) != 0;
	r->has_api_token = sqlite3_column_int(st, 14) != 0;
}

/* Reads tunnel id and encodes it with enc (GET, CREATE and UPDATE replies
 * share the record's shape). */
static enum proto_status
ops_net_cf_reply(struct op_ctx *ctx, int64_t id, unsigned op, nng_msg **reply_r)
{
	struct op_pool pool = {0};
	struct proto_rec_cf_tunnel row;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_net_sql_cf_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ops_net_cf_row(st, &pool, &row);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		if (op == PROTO_OP_CLOUDFLARE_TUNNEL_CREATE) {
			struct proto_cloudflare_tunnel_create_rep rep;

			memcpy(&rep, &row, sizeof(rep));
			*reply_r = proto_cloudflare_tunnel_create_rep_msg(ctx->req_id, &rep);
		} else if (op == PROTO_OP_CLOUDFLARE_TUNNEL_UPDATE) {
			struct proto_cloudflare_tunnel_update_rep rep;

			memcpy(&rep, &row, sizeof(rep));
			*reply_r = proto_cloudflare_tunnel_update_rep_msg(ctx->req_id, &rep);
		} else {
			struct proto_cloudflare_tunnel_get_rep rep;

			memcpy(&rep, &row, sizeof(rep));
			*reply_r = proto_cloudflare_tunnel_get_rep_msg(ctx->req_id, &rep);
		}
	}
	op_pool_free(&pool);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such tunnel", "id");
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

/* A field of at most max bytes; nonempty: "" refused.  Absent (NULL) passes. */
static bool
ops_net_cf_ok(const char *s, size_t max, bool nonempty)
{
	size_t n;

	if (s == NULL)
		return true;
	n = strlen(s);
	return n <= max && (!nonempty || n > 0);
}

#define OPS_NET_CF_CHECK(ctx, s, max, nonempty, field)                                       \
	do {                                                                                     \
		if (!ops_net_cf_ok((s), (max), (nonempty)))                                          \
			return op_fail((ctx), PROTO_BAD_REQUEST,                                         \
			    (nonempty) ? field " must be 1-" #max " bytes" : field " is too long", field); \
	} while (0)
#define OPS_NET_CF_ARG(req, f) ((req)->has_##f ? (req)->f : NULL)

enum proto_status
ops_cloudflare_tunnel_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_cloudflare_tunnel_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_cf_tunnel *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_net_sql_cf_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	v = op_collect(st, sizeof(*v), ops_net_cf_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.tunnels.v = v;
		rep.tunnels.n = n;
		*reply_r = proto_cloudflare_tunnel_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_cloudflare_tunnel_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_cloudflare_tunnel_get_req *req = arg;

	return ops_net_cf_reply(ctx, req->id, PROTO_OP_CLOUDFLARE_TUNNEL_GET, reply_r);
}

enum proto_status
ops_cloudflare_tunnel_create(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_cloudflare_tunnel_create_req *req = arg;
	sqlite3_stmt *st;
	int64_t id = 0;
	char now[25];
	int rc;

	OPS_NET_CF_CHECK(ctx, req->name, 1024, true, "name");
	OPS_NET_CF_CHECK(ctx, req->tunnel_token, 4096, true, "tunnel_token");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, api_token), 4096, false, "api_token");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, account_id), 1024, false, "account_id");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, zone_id), 1024, false, "zone_id");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, zone_name), 1024, false, "zone_name");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, subdomain), 1024, false, "subdomain");
	if ((st = db_stmt(ctx->c, ops_net_sql_cf_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->name);
	db_bind_text(st, 2, req->tunnel_token);
	db_bind_text(st, 3, OPS_NET_CF_ARG(req, api_token));
	db_bind_text(st, 4, OPS_NET_CF_ARG(req, account_id));
	db_bind_text(st, 5, OPS_NET_CF_ARG(req, zone_id));
	db_bind_text(st, 6, OPS_NET_CF_ARG(req, zone_name));
	db_bind_text(st, 7, OPS_NET_CF_ARG(req, subdomain));
	db_bind_text(st, 8, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	return ops_net_cf_reply(ctx, id, PROTO_OP_CLOUDFLARE_TUNNEL_CREATE, reply_r);
}

enum proto_status
ops_cloudflare_tunnel_update(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_cloudflare_tunnel_update_req *req = arg;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];

	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, name), 1024, true, "name");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, status), 64, true, "status");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, error), 4096, false, "error");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, account_id), 1024, false, "account_id");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, tunnel_id), 1024, false, "tunnel_id");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, zone_id), 1024, false, "zone_id");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, zone_name), 1024, false, "zone_name");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, subdomain), 1024, false, "subdomain");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, dns_record_id), 1024, false, "dns_record_id");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, hostname), 1024, false, "hostname");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, tunnel_token), 4096, true, "tunnel_token");
	OPS_NET_CF_CHECK(ctx, OPS_NET_CF_ARG(req, api_token), 4096, false, "api_token");
	if ((st = db_stmt(ctx->c, ops_net_sql_cf_update)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->id);
	db_bind_text(st, 2, OPS_NET_CF_ARG(req, name));
	db_bind_text(st, 3, OPS_NET_CF_ARG(req, status));
	db_bind_text(st, 4, OPS_NET_CF_ARG(req, error));
	db_bind_text(st, 5, OPS_NET_CF_ARG(req, account_id));
	db_bind_text(st, 6, OPS_NET_CF_ARG(req, tunnel_id));
	db_bind_text(st, 7, OPS_NET_CF_ARG(req, zone_id));
	db_bind_text(st, 8, OPS_NET_CF_ARG(req, zone_name));
	db_bind_text(st, 9, OPS_NET_CF_ARG(req, subdomain));
	db_bind_text(st, 10, OPS_NET_CF_ARG(req, dns_record_id));
	db_bind_text(st, 11, OPS_NET_CF_ARG(req, hostname));
	db_bind_text(st, 12, OPS_NET_CF_ARG(req, tunnel_token));
	db_bind_text(st, 13, OPS_NET_CF_ARG(req, api_token));
	db_bind_text(st, 14, now);
	if ((res = ops_network_step(ctx, st)) != PROTO_OK)
		return res;
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such tunnel", "id");
	return ops_net_cf_reply(ctx, req->id, PROTO_OP_CLOUDFLARE_TUNNEL_UPDATE, reply_r);
}

enum proto_status
ops_cloudflare_tunnel_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_cloudflare_tunnel_delete_req *req = arg;
	struct proto_cloudflare_tunnel_delete_rep rep;
	enum proto_status res;
	sqlite3_stmt *st;

	if ((st = db_stmt(ctx->c, ops_net_sql_cf_delete)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	if ((res = ops_network_step(ctx, st)) != PROTO_OK)
		return res;
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such tunnel", "id");
	memset(&rep, 0, sizeof(rep));
	rep.id = req->id;
	*reply_r = proto_cloudflare_tunnel_delete_rep_msg(ctx->req_id, &rep);
	return PROTO_OK;
}

enum proto_status
ops_cloudflare_tunnel_secret(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_cloudflare_tunnel_secret_req *req = arg;
	struct proto_cloudflare_tunnel_secret_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_net_sql_cf_secret)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(&rep, 0, sizeof(rep));
		rep.id = req->id;
		rep.tunnel_token = op_col(st, 0);
		rep.api_token = op_col(st, 1);
		rep.has_api_token = rep.api_token != NULL;
		*reply_r = proto_cloudflare_tunnel_secret_rep_msg(ctx->req_id, &rep);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such tunnel", "id");
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}
