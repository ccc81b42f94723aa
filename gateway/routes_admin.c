/* routes_admin: see routes_admin.h. */
#include "routes_admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "log.h"
#include "xmalloc.h"

void
routes_admin_failed(struct gw_req *r, enum proto_status st, const char *detail)
{
	unsigned code;

	switch (st) {
	case PROTO_UNAVAILABLE:
	case PROTO_TIMEOUT:
		gw_respond_unavailable(r, "storaged unavailable", NULL);
		return;
	case PROTO_NOT_FOUND:
		code = MHD_HTTP_NOT_FOUND;
		break;
	case PROTO_BAD_REQUEST:
	case PROTO_CONFLICT:
	case PROTO_FORBIDDEN:
		code = MHD_HTTP_BAD_REQUEST;
		break;
	default:
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		break;
	}
	gw_respond_detail(r, code, detail != NULL ? detail : proto_status_name(st));
}

static void
routes_admin_audit_cb(void *arg, enum proto_status st, const struct proto_audit_append_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	(void)rep;
	if (st != PROTO_OK)
		log_warnx("gateway: audit entry lost: %s: %s", proto_status_name(st),
		    detail != NULL ? detail : "");
	gw_async_done(r);
}

void
routes_admin_audit(struct gw_req *r, const char *action, const char *resource_type,
    const char *resource_id, const char *details)
{
	struct proto_audit_append_req req = {0};

	if (r->principal != NULL) {
		req.user_id = r->principal->user_id;
		req.has_user_id = true;
		req.username = r->principal->username;
		req.has_username = true;
	}
	req.action = action;
	req.resource_type = resource_type;
	req.resource_id = resource_id;
	req.has_resource_id = resource_id != NULL;
	req.details = details;
	req.has_details = details != NULL;
	req.ip_address = r->client_addr;
	req.has_ip_address = r->client_addr[0] != '\0';
	req.user_agent = gw_header(r, "User-Agent");
	req.has_user_agent = req.user_agent != NULL;
	req.success = true;
	gw_async_begin(r, 1, gw_async_noop);
	proto_audit_append_call(ROUTES_ADMIN_STORAGED(r), &req, ROUTES_ADMIN_TIMEOUT(r),
	    routes_admin_audit_cb, r);
}

static int
routes_admin_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
routes_admin_path_id(struct gw_req *r, size_t idx, const char *what, int64_t *id_r)
{
	char msg[160];

	if (idx < r->nparams && routes_admin_parse_int(r->params[idx], 1, INT64_MAX, id_r) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "Invalid %s id: must be a positive integer", what);
	gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
	return -1;
}

int
routes_admin_query_int(struct gw_req *r, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
	const char *s = gw_query(r, name);
	char msg[160];

	if (s == NULL)
		return 0;
	if (routes_admin_parse_int(s, lo, hi, out) == 0)
		return 1;
	snprintf(msg, sizeof(msg), "Query parameter '%s' must be an integer from %lld to %lld", name,
	    (long long)lo, (long long)hi);
	gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
	return -1;
}

static json_t *
routes_admin_array(struct gw_req *r, json_t *obj, const char *field, bool required, bool *has_r)
{
	json_t *v = json_object_get(obj, field);
	char msg[160];

	*has_r = false;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			snprintf(msg, sizeof(msg), "Field '%s' is required", field);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		}
		return NULL;
	}
	if (!json_is_array(v)) {
		snprintf(msg, sizeof(msg), "Field '%s' must be an array", field);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		return NULL;
	}
	if (json_array_size(v) > 1000) {
		snprintf(msg, sizeof(msg), "Field '%s' has more than 1000 entries", field);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		return NULL;
	}
	*has_r = true;
	return v;
}

int
routes_admin_strs(struct gw_req *r, json_t *obj, const char *field, bool required,
    struct proto_strs *out, bool *has_r)
{
	bool has;
	json_t *a = routes_admin_array(r, obj, field, required, &has), *e;
	size_t i;
	char msg[160];

	if (has_r != NULL)
		*has_r = has;
	out->v = NULL;
	out->n = 0;
	if (a == NULL)
		return has || required || r->resp != NULL ? -1 : 0;
	out->v = xcalloc(json_array_size(a) + 1, sizeof(*out->v));
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    strlen(json_string_value(e)) != json_string_length(e)) {
			free(out->v);
			out->v = NULL;
			snprintf(msg, sizeof(msg), "Field '%s' must be an array of non-empty strings",
			    field);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
			return -1;
		}
		out->v[i] = json_string_value(e);
	}
	out->n = json_array_size(a);
	return 0;
}

int
routes_admin_ids(struct gw_req *r, json_t *obj, const char *field, bool required, int64_t **v_r,
    size_t *n_r, bool *has_r)
{
	bool has;
	json_t *a = routes_admin_array(r, obj, field, required, &has), *e;
	size_t i;
	char msg[160];

	if (has_r != NULL)
		*has_r = has;
	*v_r = NULL;
	*n_r = 0;
	if (a == NULL)
		return has || required || r->resp != NULL ? -1 : 0;
	*v_r = xcalloc(json_array_size(a) + 1, sizeof(**v_r));
	json_array_foreach(a, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1) {
			free(*v_r);
			*v_r = NULL;
			snprintf(msg, sizeof(msg), "Field '%s' must be an array of positive integers",
			    field);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
			return -1;
		}
		(*v_r)[i] = json_integer_value(e);
	}
	*n_r = json_array_size(a);
	return 0;
}

json_t *
routes_admin_strs_json(const struct proto_strs *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}
