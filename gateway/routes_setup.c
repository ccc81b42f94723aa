/* routes_setup: the first-run API under /api/setup (API.md section 4 Setup,
 * decisions 3, 12, 17).  Public routes; every one that changes or reveals
 * anything is sealed (403) once an admin exists, as storaged's PING says
 * (setup_gate).  GET /required stays open: it is how a client learns that
 * setup is over.
 *
 *   GET  /required               {setup_required, database_pending}
 *   GET  /status                 what is done so far
 *   GET  /generate-credentials   a suggested admin with a random password
 *   POST /validate-path?path=,   in routes_setup_paths.c
 *   GET  /browse?path=
 *   GET  /server, POST /server   the server_config row
 *   POST /initialize             the first admin: AUTH_HASH (authd), then the
 *                                storage_path setting and USER_CREATE with the
 *                                admin role (storaged), both audited
 * The bootstrap routes live in routes_setup_bootstrap.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "log.h"
#include "routes.h"
#include "setup.h"
#include "xmalloc.h"

#define SETUP_MIN_PASSWORD 8
#define SETUP_STORAGED(r) ((r)->gw->backend[GW_STORAGED])
#define SETUP_TIMEOUT(r) ((r)->gw->ipc_timeout_ms)

/* ---- open / close ------------------------------------------------------------ */

int
gateway_setup_open(struct gateway *gw, const char *browse_prefix, const char *backup_url,
    char **err_r)
{
	struct gw_setup *s = xcalloc(1, sizeof(*s));

	gw->setup = s;
	s->gw = gw;
	s->browse_prefix = browse_prefix != NULL ? browse_prefix : "";
	s->backup_url = backup_url != NULL ? backup_url : "";
	s->backup_configured = -1;
	pthread_mutex_init(&s->lock, NULL);
	return setup_bootstrap_open(s, err_r);
}

void
gateway_setup_shutdown(struct gateway *gw)
{
	if (gw->setup != NULL)
		setup_bootstrap_shutdown(gw->setup);
}

void
gateway_setup_close(struct gateway *gw)
{
	struct gw_setup *s = gw->setup;

	if (s == NULL)
		return;
	gw->setup = NULL;
	setup_bootstrap_close(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* A storaged failure as HTTP: its bad_request and conflict keep their detail. */
static void
setup_storaged_failed(struct gw_req *r, enum proto_status st, const char *detail)
{
	if (st == PROTO_BAD_REQUEST || st == PROTO_CONFLICT || st == PROTO_NOT_FOUND)
		gw_respond_detail(r, st == PROTO_BAD_REQUEST ? MHD_HTTP_BAD_REQUEST :
		    st == PROTO_CONFLICT ? MHD_HTTP_CONFLICT : MHD_HTTP_NOT_FOUND,
		    detail != NULL ? detail : proto_status_name(st));
	else
		auth_backend_failed(r, "storaged", st, detail);
}

/* ---- the seal ---------------------------------------------------------------- */

struct setup_gate_state {
	void (*next)(struct gw_req *r);
	bool strict;
	enum proto_status st;
	bool admin_exists;
};

static void
setup_gate_finish(struct gw_req *r)
{
	struct setup_gate_state *g = r->hctx;
	struct gw_setup *s = r->gw->setup;
	void (*next)(struct gw_req *) = g->next;
	bool sealed, known = g->st == PROTO_OK, strict = g->strict;

	/* sticky: storaged's admin_exists is refreshed just after the commit
	 * that created the admin, so a PING racing POST /initialize can be stale */
	if (known && g->admin_exists)
		atomic_store(&s->sealed_seen, true);
	sealed = atomic_load(&s->sealed_seen);
	free(g);
	r->hctx = NULL;
	if (sealed) {
		gw_respond_detail(r, MHD_HTTP_FORBIDDEN, "Setup has already been completed");
		return;
	}
	if (!known && strict) {
		gw_respond_unavailable(r, "storaged unavailable: cannot tell whether setup is complete",
		    NULL);
		return;
	}
	next(r);
}

static void
setup_gate_cb(void *arg, enum proto_status st, const struct proto_ping_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct setup_gate_state *g = r->hctx;

	(void)detail;
	g->st = st;
	g->admin_exists = st == PROTO_OK && rep->has_admin_exists && rep->admin_exists;
	gw_async_done(r);
}

void
setup_gate(struct gw_req *r, bool strict, void (*next)(struct gw_req *r))
{
	struct setup_gate_state *g = xcalloc(1, sizeof(*g));

	g->next = next;
	g->strict = strict;
	r->hctx = g;
	gw_async_begin(r, 1, setup_gate_finish);
	gateway_ping(r->gw, GW_STORAGED, setup_gate_cb, r);
}

/* ---- GET /required --------------------------------------------------------- */

static void
routes_setup_required_cb(void *arg, enum proto_status st, const struct proto_ping_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	bool admin = st == PROTO_OK && rep->has_admin_exists && rep->admin_exists;

	(void)detail;
	if (admin)
		atomic_store(&r->gw->setup->sealed_seen, true);
	admin = atomic_load(&r->gw->setup->sealed_seen);
	/* storaged down or not migrated: the database is what setup waits for */
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:b}", "setup_required", !admin,
	    "database_pending", st != PROTO_OK || !rep->ready));
	gw_async_done(r);
}

void
routes_setup_required(struct gw_req *r)
{
	gw_async_begin(r, 1, gw_async_noop);
	gateway_ping(r->gw, GW_STORAGED, routes_setup_required_cb, r);
}

/* ---- GET /status -------------------------------------------------------------- */

struct setup_status_state {
	enum proto_status server_st;
	bool server_configured, storage_configured;
	enum proto_status boot_st;
	bool complete;
};

static void
routes_setup_status_finish(struct gw_req *r)
{
	struct setup_status_state *ss = r->hctx;

	if (ss->server_st != PROTO_OK && ss->server_st != PROTO_NOT_FOUND)
		auth_backend_failed(r, "storaged", ss->server_st, NULL);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:b, s:b, s:b, s:b}",
		    "setup_required", true, "bootstrap_complete", ss->complete,
		    "server_configured", ss->server_configured, "admin_user_exists", false,
		    "storage_configured", ss->storage_configured));
	free(ss);
	r->hctx = NULL;
}

static void
routes_setup_status_server_cb(void *arg, enum proto_status st,
    const struct proto_server_config_get_rep *rep, const char *detail)
{
	struct gw_req *r = arg;
	struct setup_status_state *ss = r->hctx;

	(void)detail;
	ss->server_st = st;
	ss->server_configured = st == PROTO_OK;
	ss->storage_configured = st == PROTO_OK && rep->storage_path[0] == '/';
	gw_async_done(r);
}

static void
routes_setup_status_boot_cb(void *arg, enum proto_status st,
    const struct proto_bootstrap_status_list_rep *rep, const char *detail)
{
	struct gw_req *r = arg;
	struct setup_status_state *ss = r->hctx;

	(void)detail;
	ss->boot_st = st;
	ss->complete = setup_bootstrap_absorb(r->gw->setup, st == PROTO_OK ? &rep->components :
	    NULL);
	gw_async_done(r);
}

static void
routes_setup_status_next(struct gw_req *r)
{
	struct proto_server_config_get_req sreq = {0};
	struct proto_bootstrap_status_list_req breq = {0};
	struct ipc_client *c = SETUP_STORAGED(r);
	int t = SETUP_TIMEOUT(r);

	r->hctx = xcalloc(1, sizeof(struct setup_status_state));
	gw_async_begin(r, 2, routes_setup_status_finish);
	proto_server_config_get_call(c, &sreq, t, routes_setup_status_server_cb, r);
	proto_bootstrap_status_list_call(c, &breq, t, routes_setup_status_boot_cb, r);
}

void
routes_setup_status(struct gw_req *r)
{
	setup_gate(r, false, routes_setup_status_next);
}

/* ---- GET /generate-credentials ----------------------------------------------- */

static void
routes_setup_credentials_next(struct gw_req *r)
{
	unsigned char raw[16];
	char hex[33];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no random bytes");
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s, s:s}", "admin_username", "admin",
	    "admin_email", "admin@example.com", "admin_password", hex));
}

void
routes_setup_generate_credentials(struct gw_req *r)
{
	setup_gate(r, false, routes_setup_credentials_next);
}

/* ---- GET /server, POST /server ------------------------------------------------- */

static void
routes_setup_server_get_cb(void *arg, enum proto_status st,
    const struct proto_server_config_get_rep *rep, const char *detail)
{
	struct gw_req *r = arg;

	if (st == PROTO_NOT_FOUND)
		gw_respond_json_text(r, MHD_HTTP_OK, "null");
	else if (st != PROTO_OK)
		setup_storaged_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s, s:s}", "name", rep->name,
		    "storage_path", rep->storage_path, "created_at", rep->created_at));
	gw_async_done(r);
}

static void
routes_setup_server_get_next(struct gw_req *r)
{
	struct proto_server_config_get_req req = {0};

	gw_async_begin(r, 1, gw_async_noop);
	proto_server_config_get_call(SETUP_STORAGED(r), &req, SETUP_TIMEOUT(r),
	    routes_setup_server_get_cb, r);
}

void
routes_setup_server_get(struct gw_req *r)
{
	setup_gate(r, false, routes_setup_server_get_next);
}

static void
routes_setup_server_post_cb(void *arg, enum proto_status st,
    const struct proto_server_config_set_rep *rep, const char *detail)
{
	struct gw_req *r = arg;

	if (st != PROTO_OK)
		setup_storaged_failed(r, st, detail);
	else
		gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s, s:s}", "name", rep->name,
		    "storage_path", rep->storage_path, "created_at", rep->created_at));
	gw_async_done(r);
}

static void
routes_setup_server_post_next(struct gw_req *r)
{
	struct proto_server_config_set_req req = {0};
	char norm[PATH_MAX];
	json_t *b = json_body_object(r);
	const char *path;

	if (b == NULL)
		return;
	if (json_body_str(r, b, "name", true, &req.name, NULL) != 0 ||
	    json_body_str(r, b, "storage_path", true, &path, NULL) != 0)
		goto out;
	if (req.name[0] == '\0' || strlen(req.name) > 255) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'name' must be 1 to 255 characters");
		goto out;
	}
	if (setup_path_norm(r, "storage_path", path, norm, sizeof(norm)) != 0)
		goto out;
	req.storage_path = norm;
	gw_async_begin(r, 1, gw_async_noop);
	proto_server_config_set_call(SETUP_STORAGED(r), &req, SETUP_TIMEOUT(r),
	    routes_setup_server_post_cb, r);
out:
	json_decref(b);
}

void
routes_setup_server_post(struct gw_req *r)
{
	setup_gate(r, false, routes_setup_server_post_next);
}

/* ---- POST /initialize ------------------------------------------------------------ */

struct setup_init {
	json_t *body;
	const char *username, *email, *password;   /* in body */
	enum proto_status st;
	char detail[256];
	int64_t http;
	char *server_name, *storage_path, *hash;
	int64_t user_id;
	char *created_at;
	int audits;
};

static void
setup_init_free(struct gw_req *r)
{
	struct setup_init *si = r->hctx;

	json_decref(si->body);
	free(si->server_name);
	free(si->storage_path);
	if (si->hash != NULL)
		explicit_bzero(si->hash, strlen(si->hash));
	free(si->hash);
	free(si->created_at);
	free(si);
	r->hctx = NULL;
	atomic_store(&r->gw->setup->init_busy, false);
}

static void
setup_init_err(struct setup_init *si, enum proto_status st, const char *detail)
{
	si->st = st;
	snprintf(si->detail, sizeof(si->detail), "%s", detail != NULL ? detail : "");
}

/* username 3-64 of [A-Za-z0-9._-]; email with one @ and something on each side */
static const char *
setup_init_check(const struct setup_init *si)
{
	const char *at;

	if (strlen(si->username) < 3 || strlen(si->username) > 64 ||
	    si->username[strspn(si->username,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] != '\0')
		return "Field 'admin_username' must be 3 to 64 letters, digits, '.', '_' or '-'";
	at = strchr(si->email, '@');
	if (strlen(si->email) > 255 || at == NULL || at == si->email || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strpbrk(si->email, " \t\r\n") != NULL)
		return "Field 'admin_email' must be an email address";
	if (strlen(si->password) < SETUP_MIN_PASSWORD)
		return "Field 'admin_password' must be at least 8 characters";
	return NULL;
}

static void
setup_init_audit_cb(void *arg, enum proto_status st, const struct proto_audit_append_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	(void)rep;
	if (st != PROTO_OK)
		log_warnx("setup: audit entry not written: %s%s%s", proto_status_name(st),
		    detail ? ": " : "", detail ? detail : "");
	gw_async_done(r);
}

static void
setup_init_done(struct gw_req *r)
{
	struct setup_init *si = r->hctx;

	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:s, s:{s:{s:I, s:s, s:s, s:b, s:b, s:[s]},"
	    " s:{s:s, s:s}}}", "success", true, "message", "Setup completed successfully", "data",
	    "admin_user", "id", (json_int_t)si->user_id, "username", si->username, "email",
	    si->email, "is_active", true, "is_approved", true, "roles", "admin", "server", "name",
	    si->server_name, "storage_path", si->storage_path));
	atomic_store(&r->gw->setup->sealed_seen, true);
	log_info("setup: administrator %s created", si->username);
	setup_init_free(r);
}

static void
setup_init_user_finish(struct gw_req *r)
{
	struct setup_init *si = r->hctx;
	struct proto_audit_append_req a = {0};
	char id[24];
	json_t *det;
	char *d1, *d2;

	if (si->st != PROTO_OK) {
		setup_storaged_failed(r, si->st, si->detail);
		setup_init_free(r);
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)si->user_id);
	a.has_ip_address = r->client_addr[0] != '\0';
	a.ip_address = r->client_addr;
	a.user_agent = gw_header(r, "User-Agent");
	a.has_user_agent = a.user_agent != NULL;
	a.success = true;
	a.user_id = si->user_id;
	a.has_user_id = true;
	a.username = si->username;
	a.has_username = true;
	det = json_pack("{s:s, s:s, s:[s], s:s}", "username", si->username, "email", si->email,
	    "roles", "admin", "via", "setup");
	d1 = json_dumps(det, JSON_COMPACT);
	json_decref(det);
	det = json_pack("{s:s, s:s, s:s}", "key", "storage_path", "value", si->storage_path, "via",
	    "setup");
	d2 = json_dumps(det, JSON_COMPACT);
	json_decref(det);
	gw_async_begin(r, 2, setup_init_done);
	a.action = "user_created";
	a.resource_type = "user";
	a.resource_id = id;
	a.has_resource_id = true;
	a.details = d1;
	a.has_details = true;
	proto_audit_append_call(SETUP_STORAGED(r), &a, SETUP_TIMEOUT(r), setup_init_audit_cb, r);
	a.action = "system_setting_changed";
	a.resource_type = "system";
	a.resource_id = "storage_path";
	a.details = d2;
	proto_audit_append_call(SETUP_STORAGED(r), &a, SETUP_TIMEOUT(r), setup_init_audit_cb, r);
	free(d1);
	free(d2);
}

static void
setup_init_user_cb(void *arg, enum proto_status st, const struct proto_user_create_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct setup_init *si = r->hctx;

	if (st != PROTO_OK)
		setup_init_err(si, st, detail);
	else
		si->user_id = rep->id;
	gw_async_done(r);
}

static void
setup_init_setting_finish(struct gw_req *r)
{
	struct setup_init *si = r->hctx;
	struct proto_user_create_req req = {0};
	static const char *const roles[] = {"admin"};

	if (si->st != PROTO_OK) {
		setup_storaged_failed(r, si->st, si->detail);
		setup_init_free(r);
		return;
	}
	req.username = si->username;
	req.email = si->email;
	req.hashed_password = si->hash;
	req.is_active = true;
	req.is_approved = true;
	req.roles.v = (const char **)roles;
	req.roles.n = 1;
	req.has_roles = true;
	gw_async_begin(r, 1, setup_init_user_finish);
	proto_user_create_call(SETUP_STORAGED(r), &req, SETUP_TIMEOUT(r), setup_init_user_cb, r);
}

static void
setup_init_setting_cb(void *arg, enum proto_status st, const struct proto_setting_set_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	(void)rep;
	if (st != PROTO_OK)
		setup_init_err(r->hctx, st, detail);
	gw_async_done(r);
}

static void
setup_init_hash_finish(struct gw_req *r)
{
	struct setup_init *si = r->hctx;
	struct proto_setting_set_req req = {0};

	if (si->st != PROTO_OK) {
		auth_backend_failed(r, "authd", si->st, si->detail);
		setup_init_free(r);
		return;
	}
	if (si->http >= 400 || si->hash == NULL) {
		gw_respond_detail(r, si->http >= 400 ? (unsigned)si->http : 500,
		    si->detail[0] ? si->detail : "password could not be hashed");
		setup_init_free(r);
		return;
	}
	req.key = "storage_path";
	req.value = si->storage_path;
	req.description = "media storage path chosen at setup";
	req.has_description = true;
	gw_async_begin(r, 1, setup_init_setting_finish);
	proto_setting_set_call(SETUP_STORAGED(r), &req, SETUP_TIMEOUT(r), setup_init_setting_cb, r);
}

static void
setup_init_hash_cb(void *arg, enum proto_status st, const struct proto_auth_hash_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct setup_init *si = r->hctx;

	if (st != PROTO_OK) {
		setup_init_err(si, st, detail);
	} else {
		si->http = rep->http;
		if (rep->has_detail)
			snprintf(si->detail, sizeof(si->detail), "%s", rep->detail);
		if (rep->has_hash)
			si->hash = xstrdup(rep->hash);
	}
	gw_async_done(r);
}

static void
setup_init_server_finish(struct gw_req *r)
{
	struct setup_init *si = r->hctx;
	struct proto_auth_hash_req req = {0};

	if (si->st == PROTO_NOT_FOUND) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
		    "Server configuration required: POST /api/setup/server first");
		setup_init_free(r);
		return;
	}
	if (si->st != PROTO_OK) {
		setup_storaged_failed(r, si->st, si->detail);
		setup_init_free(r);
		return;
	}
	req.password = si->password;
	gw_async_begin(r, 1, setup_init_hash_finish);
	proto_auth_hash_call(r->gw->backend[GW_AUTHD], &req, SETUP_TIMEOUT(r), setup_init_hash_cb,
	    r);
}

static void
setup_init_server_cb(void *arg, enum proto_status st,
    const struct proto_server_config_get_rep *rep, const char *detail)
{
	struct gw_req *r = arg;
	struct setup_init *si = r->hctx;

	if (st != PROTO_OK) {
		setup_init_err(si, st, detail);
	} else {
		si->server_name = xstrdup(rep->name);
		si->storage_path = xstrdup(rep->storage_path);
	}
	gw_async_done(r);
}

static void
routes_setup_initialize_next(struct gw_req *r)
{
	struct proto_server_config_get_req req = {0};
	struct setup_init *si;
	const char *bad;
	json_t *b = json_body_object(r);

	if (b == NULL)
		return;
	si = xcalloc(1, sizeof(*si));
	si->body = b;
	if (json_body_str(r, b, "admin_username", true, &si->username, NULL) != 0 ||
	    json_body_str(r, b, "admin_email", true, &si->email, NULL) != 0 ||
	    json_body_str(r, b, "admin_password", true, &si->password, NULL) != 0) {
		json_decref(b);
		free(si);
		return;
	}
	if ((bad = setup_init_check(si)) != NULL) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, bad);
		json_decref(b);
		free(si);
		return;
	}
	if (atomic_exchange(&r->gw->setup->init_busy, true)) {
		gw_respond_detail(r, MHD_HTTP_CONFLICT, "Setup is already being initialized");
		json_decref(b);
		free(si);
		return;
	}
	r->hctx = si;
	gw_async_begin(r, 1, setup_init_server_finish);
	proto_server_config_get_call(SETUP_STORAGED(r), &req, SETUP_TIMEOUT(r),
	    setup_init_server_cb, r);
}

void
routes_setup_initialize(struct gw_req *r)
{
	setup_gate(r, true, routes_setup_initialize_next);
}
