/* auth: session check, permissions, CSRF and the client address.  See auth.h. */
#include "auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway.h"
#include "log.h"
#include "router.h"
#include "xmalloc.h"

struct auth_proxy {
	int family;
	unsigned char addr[16];
	unsigned prefix;
};

/* ---- trusted proxies ----------------------------------------------------- */

static int
auth_parse_addr(const char *s, int *family_r, unsigned char *addr_r)
{
	if (inet_pton(AF_INET, s, addr_r) == 1) {
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr_r) == 1) {
		*family_r = AF_INET6;
		return 0;
	}
	return -1;
}

int
auth_open(struct gateway *gw, const char *text, char **err_r)
{
	char *copy = xstrdup(text != NULL ? text : ""), *save = NULL, *tok;

	gw->nproxies = 0;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		struct auth_proxy p = {0};
		char *slash = strchr(tok, '/');
		unsigned max;

		if (slash != NULL)
			*slash = '\0';
		if (auth_parse_addr(tok, &p.family, p.addr) != 0) {
			*err_r = xasprintf("KUBARR_TRUSTED_PROXIES: '%s' is not an IP address", tok);
			free(copy);
			return -1;
		}
		max = p.family == AF_INET ? 32 : 128;
		p.prefix = max;
		if (slash != NULL) {
			char *end;
			unsigned long n = strtoul(slash + 1, &end, 10);

			if (*end != '\0' || end == slash + 1 || n > max) {
				*err_r = xasprintf("KUBARR_TRUSTED_PROXIES: bad prefix length in '%s/%s'",
				    tok, slash + 1);
				free(copy);
				return -1;
			}
			p.prefix = (unsigned)n;
		}
		gw->proxies = xrealloc(gw->proxies, (gw->nproxies + 1) * sizeof(*gw->proxies));
		gw->proxies[gw->nproxies++] = p;
	}
	free(copy);
	return 0;
}

void
auth_close(struct gateway *gw)
{
	free(gw->proxies);
	gw->proxies = NULL;
	gw->nproxies = 0;
}

static bool
auth_proxy_trusted(const struct gateway *gw, const char *addr)
{
	unsigned char a[16];
	int family;

	if (gw->nproxies == 0 || auth_parse_addr(addr, &family, a) != 0)
		return false;
	for (size_t i = 0; i < gw->nproxies; i++) {
		const struct auth_proxy *p = &gw->proxies[i];
		unsigned full = p->prefix / 8, rest = p->prefix % 8;

		if (p->family != family || memcmp(a, p->addr, full) != 0)
			continue;
		if (rest == 0 || ((a[full] ^ p->addr[full]) & (0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

/* The peer, then X-Forwarded-For from right to left while the hop is a
 * trusted proxy: the first untrusted address is the client. */
void
auth_client_addr(struct gw_req *r)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[64] = "";
	const char *xff;

	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, peer,
			    sizeof(peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			    peer, sizeof(peer));
	}
	snprintf(r->client_addr, sizeof(r->client_addr), "%s", peer);
	r->via_proxy = auth_proxy_trusted(r->gw, peer);
	if (!r->via_proxy || (xff = gw_header(r, "X-Forwarded-For")) == NULL)
		return;
	{
		char *copy = xstrdup(xff), *end = copy + strlen(copy);

		while (end > copy) {
			char *start = end, *s, *e;
			unsigned char tmp[16];
			int fam;

			while (start > copy && start[-1] != ',')
				start--;
			s = start;
			e = end;
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*e = '\0';
			if (auth_parse_addr(s, &fam, tmp) != 0)
				break;   /* garbage: keep the last good hop */
			snprintf(r->client_addr, sizeof(r->client_addr), "%s", s);
			if (!auth_proxy_trusted(r->gw, s))
				break;
			end = start > copy ? start - 1 : copy;
		}
		free(copy);
	}
}

bool
auth_client_loopback(const struct gw_req *r)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	unsigned char a[16];
	int fam;

	if (auth_parse_addr(r->client_addr, &fam, a) != 0)
		return false;
	if (fam == AF_INET)
		return a[0] == 127;
	return memcmp(a, one, 16) == 0 || (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
}

/* ---- CSRF (decision 5) ---------------------------------------------------- */

static bool
auth_method_unsafe(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

/* "scheme://host[:port][/...]" -> does host[:port] equal `host`? */
static bool
auth_origin_matches(const char *origin, const char *host)
{
	const char *p = strstr(origin, "://");
	size_t n;

	if (p == NULL || host == NULL)
		return false;
	p += 3;
	n = strcspn(p, "/?#");
	return strlen(host) == n && strncasecmp(p, host, n) == 0;
}

bool
auth_csrf_ok(struct gw_req *r)
{
	const char *origin, *referer, *host;

	if (!auth_method_unsafe(r->method) || gw_header(r, "Cookie") == NULL)
		return true;   /* not cookie-authenticated: nothing to forge */
	if (gw_header(r, "X-Requested-With") != NULL)
		return true;   /* a cross-site form cannot set it without CORS approval */
	host = gw_header(r, "Host");
	if (r->via_proxy && gw_header(r, "X-Forwarded-Host") != NULL)
		host = gw_header(r, "X-Forwarded-Host");
	origin = gw_header(r, "Origin");
	if (origin != NULL && strcmp(origin, "null") != 0) {
		if (auth_origin_matches(origin, host))
			return true;
	} else if ((referer = gw_header(r, "Referer")) != NULL) {
		if (auth_origin_matches(referer, host))
			return true;
	}
	atomic_fetch_add(&r->gw->csrf_refused, 1);
	gw_respond_detail(r, MHD_HTTP_FORBIDDEN,
	    "CSRF check failed: the request must come from the same origin (Origin or Referer), "
	    "or carry X-Requested-With");
	return false;
}

/* ---- the middleware ------------------------------------------------------- */

bool
auth_has(const struct gw_principal *p, const char *permission)
{
	size_t lo = 0, hi = p->npermissions;

	while (lo < hi) {   /* authd sends them sorted */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->permissions[mid], permission);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void
auth_principal_free(struct gw_principal **pp)
{
	struct gw_principal *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	free(p->username);
	free(p->email);
	free(p->session_id);
	free(p->permissions);
	free(p->user_json);
	free(p);
}

/* The permissions in one block: pointers first, then the strings. */
static char **
auth_strs_copy(const struct proto_strs *s)
{
	size_t bytes = (s->n + 1) * sizeof(char *);
	char **v, *q;

	for (size_t i = 0; i < s->n; i++)
		bytes += strlen(s->v[i]) + 1;
	v = xmalloc(bytes);
	q = (char *)(v + s->n + 1);
	for (size_t i = 0; i < s->n; i++) {
		size_t n = strlen(s->v[i]) + 1;

		memcpy(q, s->v[i], n);
		v[i] = q;
		q += n;
	}
	v[s->n] = NULL;
	return v;
}

struct auth_state {
	int http;
	char detail[160];
};

static void
auth_finish(struct gw_req *r)
{
	struct auth_state *as = r->hctx;
	const char *perm = r->route->permission;
	char msg[200];

	r->hctx = NULL;
	if (as->http == 503) {
		gw_respond_unavailable(r, as->detail, NULL);
	} else if (as->http != 200 || r->principal == NULL) {
		atomic_fetch_add(&r->gw->auth_denied, 1);
		gw_respond_detail(r, MHD_HTTP_UNAUTHORIZED, as->detail[0] ? as->detail :
		    "Not authenticated");
	} else if (perm[0] != '\0' && !auth_has(r->principal, perm)) {
		snprintf(msg, sizeof(msg), "Permission denied: %s required", perm);
		gw_respond_detail(r, MHD_HTTP_FORBIDDEN, msg);
	} else {
		free(as);
		r->route->handler(r);
		return;
	}
	free(as);
}

static void
auth_check_cb(void *arg, enum proto_status st, const struct proto_auth_check_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;
	struct auth_state *as = r->hctx;

	if (st != PROTO_OK) {
		as->http = 503;
		snprintf(as->detail, sizeof(as->detail), "authd unavailable%s%s",
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	} else if (rep->http != 200 || !rep->has_user_id || !rep->has_username ||
	    !rep->has_email || !rep->has_user_json) {
		as->http = rep->http == 200 ? 401 : (int)rep->http;
		snprintf(as->detail, sizeof(as->detail), "%s",
		    rep->has_detail ? rep->detail : "Not authenticated");
	} else {
		struct gw_principal *p = xcalloc(1, sizeof(*p));

		p->user_id = rep->user_id;
		p->username = xstrdup(rep->username);
		p->email = xstrdup(rep->email);
		p->session_id = xstrdup(rep->has_session_id ? rep->session_id : "");
		p->slot = rep->has_slot ? (int)rep->slot : 0;
		p->permissions = auth_strs_copy(&rep->permissions);
		p->npermissions = rep->has_permissions ? rep->permissions.n : 0;
		p->user_json = xstrdup(rep->user_json);
		r->principal = p;
		as->http = 200;
	}
	gw_async_done(r);
}

void
auth_middleware(struct gw_req *r)
{
	struct proto_auth_check_req req = {0};

	if (!auth_csrf_ok(r))
		return;
	atomic_fetch_add(&r->gw->auth_checks, 1);
	AUTH_CLIENT_FILL(req, r);
	r->hctx = xcalloc(1, sizeof(struct auth_state));
	gw_async_begin(r, 1, auth_finish);
	proto_auth_check_call(r->gw->backend[GW_AUTHD], &req, r->gw->ipc_timeout_ms, auth_check_cb, r);
}

/* ---- outcomes of authd's ops ---------------------------------------------- */

void
auth_set_cookies(struct gw_req *r, const struct proto_strs *cookies)
{
	if (cookies == NULL)
		return;
	for (size_t i = 0; i < cookies->n; i++)
		gw_add_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookies->v[i]);
}

bool
auth_outcome_failed(struct gw_req *r, int64_t http, const char *detail, int64_t retry_after,
    const struct proto_strs *cookies)
{
	char ra[24];

	if (http >= 200 && http < 400)
		return false;
	if (http < 100 || http > 599)
		http = 500;
	if (http == 503)
		gw_respond_unavailable(r, detail != NULL ? detail : "Service unavailable", NULL);
	else
		gw_respond_detail(r, (unsigned)http, detail != NULL ? detail : "Request failed");
	if (retry_after > 0 && http != 503) {
		snprintf(ra, sizeof(ra), "%lld", (long long)retry_after);
		gw_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	auth_set_cookies(r, cookies);
	return true;
}

void
auth_backend_failed(struct gw_req *r, const char *backend, enum proto_status st,
    const char *detail)
{
	char msg[200];

	if (st == PROTO_UNAVAILABLE || st == PROTO_TIMEOUT) {
		snprintf(msg, sizeof(msg), "%s unavailable", backend);
		gw_respond_unavailable(r, msg, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: %s%s%s", backend, proto_status_name(st),
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	gw_respond_detail(r, st == PROTO_BAD_REQUEST ? MHD_HTTP_BAD_REQUEST :
	    MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
}
