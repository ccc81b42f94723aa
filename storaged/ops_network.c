/* The network family (ops 500-599): VPN providers, app VPN configs, Cloudflare
 * tunnels.  This file holds the table, the helpers the family shares and the
 * VPN providers.
 *
 * Decision 9: credentials_json leaves storaged only through
 * VPN_PROVIDER_SECRET; the provider record says has_credentials (the stored
 * object has at least one key).  Deleting a provider still used by apps is
 * refused unless forced; forced, the schema's cascade removes the configs and
 * the reply names the apps (the gateway redeploys them). */
#include "ops_network.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const struct op_def ops_network_table[] = {
	OPS_DEF(VPN_PROVIDER_LIST, vpn_provider_list, false, ops_vpn_provider_list),
	OPS_DEF(VPN_PROVIDER_GET, vpn_provider_get, false, ops_vpn_provider_get),
	OPS_DEF(VPN_PROVIDER_CREATE, vpn_provider_create, true, ops_vpn_provider_create),
	OPS_DEF(VPN_PROVIDER_UPDATE, vpn_provider_update, true, ops_vpn_provider_update),
	OPS_DEF(VPN_PROVIDER_DELETE, vpn_provider_delete, true, ops_vpn_provider_delete),
	OPS_DEF_AUTHD(VPN_PROVIDER_SECRET, vpn_provider_secret, false, ops_vpn_provider_secret),
	OPS_DEF(APP_VPN_LIST, app_vpn_list, false, ops_app_vpn_list),
	OPS_DEF(APP_VPN_GET, app_vpn_get, false, ops_app_vpn_get),
	OPS_DEF(APP_VPN_SET, app_vpn_set, true, ops_app_vpn_set),
	OPS_DEF(APP_VPN_DELETE, app_vpn_delete, true, ops_app_vpn_delete),
	OPS_DEF(CLOUDFLARE_TUNNEL_LIST, cloudflare_tunnel_list, false, ops_cloudflare_tunnel_list),
	OPS_DEF(CLOUDFLARE_TUNNEL_GET, cloudflare_tunnel_get, false, ops_cloudflare_tunnel_get),
	OPS_DEF(CLOUDFLARE_TUNNEL_CREATE, cloudflare_tunnel_create, true,
	    ops_cloudflare_tunnel_create),
	OPS_DEF(CLOUDFLARE_TUNNEL_UPDATE, cloudflare_tunnel_update, true,
	    ops_cloudflare_tunnel_update),
	OPS_DEF(CLOUDFLARE_TUNNEL_DELETE, cloudflare_tunnel_delete, true,
	    ops_cloudflare_tunnel_delete),
	OPS_DEF_AUTHD(CLOUDFLARE_TUNNEL_SECRET, cloudflare_tunnel_secret, false,
	    ops_cloudflare_tunnel_secret),
};

const struct op_family ops_family_network = {ops_network_table,
    sizeof(ops_network_table) / sizeof(ops_network_table[0])};

#define OPS_NET_NAME_MAX 255
#define OPS_NET_SP_MAX 64
#define OPS_NET_CRED_MAX 65536
#define OPS_NET_SUBNETS_MAX 4096
#define OPS_NET_APP_MAX 63

#define OPS_NET_PROVIDER_SELECT                                                            \
	"SELECT p.id, p.name, p.vpn_type, p.service_provider, p.enabled, p.kill_switch,"      \
	" p.firewall_outbound_subnets, EXISTS (SELECT 1 FROM json_each(p.credentials_json)),"  \
	" (SELECT COUNT(*) FROM app_vpn_configs AS a WHERE a.vpn_provider_id = p.id),"        \
	" p.created_at, p.updated_at FROM vpn_providers AS p"
static const char ops_net_sql_provider_list[] = OPS_NET_PROVIDER_SELECT " ORDER BY p.id";
static const char ops_net_sql_provider_get[] = OPS_NET_PROVIDER_SELECT " WHERE p.id = ?";
static const char ops_net_sql_is_object[] =
    "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END";
static const char ops_net_sql_provider_insert[] =
    "INSERT INTO vpn_providers(name, vpn_type, service_provider, credentials_json, enabled,"
    " kill_switch, firewall_outbound_subnets, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id";
/* NULL parameters keep the column; ?4 '' clears service_provider. */
static const char ops_net_sql_provider_update[] =
    "UPDATE vpn_providers SET name = COALESCE(?2, name), vpn_type = COALESCE(?3, vpn_type),"
    " service_provider = CASE WHEN ?4 IS NULL THEN service_provider ELSE NULLIF(?4, '') END,"
    " credentials_json = COALESCE(?5, credentials_json), enabled = COALESCE(?6, enabled),"
    " kill_switch = COALESCE(?7, kill_switch),"
    " firewall_outbound_subnets = COALESCE(?8, firewall_outbound_subnets), updated_at = ?9"
    " WHERE id = ?1";
static const char ops_net_sql_provider_apps[] =
    "SELECT app_name FROM app_vpn_configs WHERE vpn_provider_id = ? ORDER BY app_name";
static const char ops_net_sql_provider_exists[] = "SELECT 1 FROM vpn_providers WHERE id = ?";
static const char ops_net_sql_provider_delete[] = "DELETE FROM vpn_providers WHERE id = ?";
static const char ops_net_sql_provider_secret[] =
    "SELECT credentials_json FROM vpn_providers WHERE id = ?";

static const char ops_net_default_subnets[] = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16";

_Static_assert(sizeof(struct proto_rec_vpn_provider) == sizeof(struct proto_vpn_provider_get_rep) &&
	sizeof(struct proto_rec_vpn_provider) == sizeof(struct proto_vpn_provider_create_rep) &&
	sizeof(struct proto_rec_vpn_provider) == sizeof(struct proto_vpn_provider_update_rep),
    "provider replies share the record's shape");

/* ---- shared helpers ------------------------------------------------------ */

bool
ops_network_valid_app_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OPS_NET_APP_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

enum proto_status
ops_network_step(struct op_ctx *ctx, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

/* ---- validation ----------------------------------------------------------- */

static bool
ops_net_valid_type(const char *s)
{
	return strcmp(s, "wireguard") == 0 || strcmp(s, "openvpn") == 0;
}

static bool
ops_net_valid_service_provider(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OPS_NET_SP_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
			s[i] == '-'))
			return false;
	return true;
}

/* One "address/prefix", IPv4 (prefix 0-32) or IPv6 (0-128). */
static bool
ops_net_valid_cidr(const char *s, size_t n)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	const char *slash = memchr(s, '/', n);
	size_t alen, plen;
	unsigned prefix = 0;
	unsigned max;

	if (slash == NULL || (alen = (size_t)(slash - s)) == 0 || alen >= sizeof(addr))
		return false;
	plen = n - alen - 1;
	if (plen == 0 || plen > 3)
		return false;
	for (size_t i = 0; i < plen; i++) {
		if (slash[1 + i] < '0' || slash[1 + i] > '9')
			return false;
		prefix = prefix * 10 + (unsigned)(slash[1 + i] - '0');
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max = 128;
	else
		return false;
	return prefix <= max;
}

/* Comma-separated CIDRs, no spaces, no empty item. */
static bool
ops_net_valid_subnets(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OPS_NET_SUBNETS_MAX)
		return false;
	for (const char *p = s;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (!ops_net_valid_cidr(p, len))
			return false;
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

/* PROTO_OK when s is a JSON object, bad_request "credentials_json" if not. */
static enum proto_status
ops_net_check_object(struct op_ctx *ctx, const char *s)
{
	sqlite3_stmt *st;
	int rc, ok = 0;

	if (strlen(s) > OPS_NET_CRED_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "credentials_json is too long",
		    "credentials_json");
	if ((st = db_stmt(ctx->c, ops_net_sql_is_object)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, s);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	return ok ? PROTO_OK :
	    op_fail(ctx, PROTO_BAD_REQUEST, "credentials_json must be a JSON object",
		"credentials_json");
}

/* The fields CREATE and UPDATE share; NULL pointers are absent fields. */
static enum proto_status
ops_net_check_provider(struct op_ctx *ctx, const char *name, const char *type, const char *sp,
    const char *cred, const char *subnets)
{
	if (name != NULL && (name[0] == '\0' || strlen(name) > OPS_NET_NAME_MAX))
		return op_fail(ctx, PROTO_BAD_REQUEST, "name must be 1-255 bytes", "name");
	if (type != NULL && !ops_net_valid_type(type))
		return op_fail(ctx, PROTO_BAD_REQUEST, "vpn_type must be wireguard or openvpn",
		    "vpn_type");
	if (sp != NULL && sp[0] != '\0' && !ops_net_valid_service_provider(sp))
		return op_fail(ctx, PROTO_BAD_REQUEST, "service_provider must be [a-z0-9_-]{1,64}",
		    "service_provider");
	if (subnets != NULL && !ops_net_valid_subnets(subnets))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "firewall_outbound_subnets must be comma-separated CIDRs",
		    "firewall_outbound_subnets");
	return cred != NULL ? ops_net_check_object(ctx, cred) : PROTO_OK;
}

/* ---- rows ---------------------------------------------------------------- */

static void
ops_net_provider_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_vpn_provider *r = rec;
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->name = op_pool_dup(pool, op_col(st, 1));
	r->vpn_type = op_pool_dup(pool, op_col(st, 2));
	r->service_provider = op_pool_dup(pool, op_col(st, 3));
	r->has_service_provider = r->service_provider != NULL;
	r->enabled = sqlite3_column_int(st, 4) != 0;
	r->kill_switch = sqlite3_column_int(st, 5) != 0;
	r->firewall_outbound_subnets = op_pool_dup(pool, op_col(st, 6));
	r->has_credentials = sqlite3_column_int(st, 7) != 0;
	r->app_count = sqlite3_column_int64(st, 8);
	r->created_at = op_pool_dup(pool, op_col(st, 9));
	r->updated_at = op_pool_dup(pool, op_col(st, 10));
}

/* Reads provider id into *r (strings in pool): PROTO_OK, not_found "id" or an error. */
static enum proto_status
ops_net_provider_load(struct op_ctx *ctx, int64_t id, struct op_pool *pool,
    struct proto_rec_vpn_provider *r)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_net_sql_provider_get)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ops_net_provider_row(st, pool, r);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such VPN provider", "id");
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

/* The reply of GET, CREATE and UPDATE (same shape): the provider as stored. */
static enum proto_status
ops_net_provider_reply(struct op_ctx *ctx, int64_t id,
    nng_msg *(*enc)(uint64_t, const struct proto_vpn_provider_get_rep *), nng_msg **reply_r)
{
	struct op_pool pool = {0};
	struct proto_rec_vpn_provider row;
	struct proto_vpn_provider_get_rep rep;
	enum proto_status res;

	if ((res = ops_net_provider_load(ctx, id, &pool, &row)) == PROTO_OK) {
		memcpy(&rep, &row, sizeof(rep));
		*reply_r = enc(ctx->req_id, &rep);
	}
	op_pool_free(&pool);
	return res;
}

static nng_msg *
ops_net_enc_create(uint64_t req_id, const struct proto_vpn_provider_get_rep *rep)
{
	struct proto_vpn_provider_create_rep c;

	memcpy(&c, rep, sizeof(c));
	return proto_vpn_provider_create_rep_msg(req_id, &c);
}

static nng_msg *
ops_net_enc_update(uint64_t req_id, const struct proto_vpn_provider_get_rep *rep)
{
	struct proto_vpn_provider_update_rep u;

	memcpy(&u, rep, sizeof(u));
	return proto_vpn_provider_update_rep_msg(req_id, &u);
}

/* ---- VPN providers ------------------------------------------------------- */

enum proto_status
ops_vpn_provider_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_vpn_provider_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_vpn_provider *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_net_sql_provider_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	v = op_collect(st, sizeof(*v), ops_net_provider_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.providers.v = v;
		rep.providers.n = n;
		*reply_r = proto_vpn_provider_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_vpn_provider_get(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_vpn_provider_get_req *req = arg;

	return ops_net_provider_reply(ctx, req->id, proto_vpn_provider_get_rep_msg, reply_r);
}

enum proto_status
ops_vpn_provider_create(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_vpn_provider_create_req *req = arg;
	const char *subnets = req->has_firewall_outbound_subnets ? req->firewall_outbound_subnets :
								   ops_net_default_subnets;
	enum proto_status res;
	sqlite3_stmt *st;
	int64_t id = 0;
	char now[25];
	int rc;

	if (req->has_service_provider && req->service_provider[0] == '\0')
		return op_fail(ctx, PROTO_BAD_REQUEST, "service_provider must be [a-z0-9_-]{1,64}",
		    "service_provider");
	if ((res = ops_net_check_provider(ctx, req->name, req->vpn_type,
		 req->has_service_provider ? req->service_provider : NULL, req->credentials_json,
		 subnets)) != PROTO_OK)
		return res;
	if ((st = db_stmt(ctx->c, ops_net_sql_provider_insert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	db_bind_text(st, 1, req->name);
	db_bind_text(st, 2, req->vpn_type);
	db_bind_text(st, 3, req->has_service_provider ? req->service_provider : NULL);
	db_bind_text(st, 4, req->credentials_json);
	sqlite3_bind_int(st, 5, req->has_enabled ? req->enabled : 1);
	sqlite3_bind_int(st, 6, req->has_kill_switch ? req->kill_switch : 1);
	db_bind_text(st, 7, subnets);
	db_bind_text(st, 8, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	return ops_net_provider_reply(ctx, id, ops_net_enc_create, reply_r);
}

enum proto_status
ops_vpn_provider_update(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_vpn_provider_update_req *req = arg;
	enum proto_status res;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if ((res = ops_net_check_provider(ctx, req->has_name ? req->name : NULL,
		 req->has_vpn_type ? req->vpn_type : NULL,
		 req->has_service_provider ? req->service_provider : NULL,
		 req->has_credentials_json ? req->credentials_json : NULL,
		 req->has_firewall_outbound_subnets ? req->firewall_outbound_subnets : NULL)) !=
	    PROTO_OK)
		return res;
	if ((st = db_stmt(ctx->c, ops_net_sql_provider_update)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_now(now);
	sqlite3_bind_int64(st, 1, req->id);
	db_bind_text(st, 2, req->has_name ? req->name : NULL);
	db_bind_text(st, 3, req->has_vpn_type ? req->vpn_type : NULL);
	db_bind_text(st, 4, req->has_service_provider ? req->service_provider : NULL);
	db_bind_text(st, 5, req->has_credentials_json ? req->credentials_json : NULL);
	if (req->has_enabled)
		sqlite3_bind_int(st, 6, req->enabled);
	if (req->has_kill_switch)
		sqlite3_bind_int(st, 7, req->kill_switch);
	db_bind_text(st, 8, req->has_firewall_outbound_subnets ? req->firewall_outbound_subnets : NULL);
	db_bind_text(st, 9, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	if (sqlite3_changes(ctx->c->db) == 0)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such VPN provider", "id");
	return ops_net_provider_reply(ctx, req->id, ops_net_enc_update, reply_r);
}

enum proto_status
ops_vpn_provider_delete(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_vpn_provider_delete_req *req = arg;
	struct proto_vpn_provider_delete_rep rep;
	struct op_pool pool = {0};
	const char **apps = NULL;
	size_t n = 0, cap = 0;
	enum proto_status res;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_net_sql_provider_exists)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such VPN provider", "id");
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);

	if ((st = db_stmt(ctx->c, ops_net_sql_provider_apps)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		apps = op_grow(apps, &cap, n, sizeof(*apps));
		apps[n++] = op_pool_dup(&pool, op_col(st, 0));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		res = op_sqlite_fail(ctx, rc);
	else if (n > 0 && !(req->has_force && req->force))
		res = op_failf(ctx, PROTO_CONFLICT, "id", "VPN provider is used by %zu app%s", n,
		    n == 1 ? "" : "s");
	else if ((st = db_stmt(ctx->c, ops_net_sql_provider_delete)) == NULL)
		res = op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	else {
		sqlite3_bind_int64(st, 1, req->id);
		if ((res = ops_network_step(ctx, st)) == PROTO_OK) {
			memset(&rep, 0, sizeof(rep));
			rep.id = req->id;
			rep.apps.v = apps;
			rep.apps.n = n;
			*reply_r = proto_vpn_provider_delete_rep_msg(ctx->req_id, &rep);
		}
	}
	free(apps);
	op_pool_free(&pool);
	return res;
}

enum proto_status
ops_vpn_provider_secret(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_vpn_provider_secret_req *req = arg;
	struct proto_vpn_provider_secret_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_net_sql_provider_secret)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	sqlite3_bind_int64(st, 1, req->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(&rep, 0, sizeof(rep));
		rep.id = req->id;
		rep.credentials_json = op_col(st, 0);
		*reply_r = proto_vpn_provider_secret_rep_msg(ctx->req_id, &rep);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "no such VPN provider", "id");
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}
