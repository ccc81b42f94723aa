/* principal: see principal.h. */
#include "principal.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "xmalloc.h"

static char *
principal_dup(const char *s, size_t *bytes)
{
	if (s == NULL)
		s = "";
	*bytes += strlen(s) + 1;
	return xstrdup(s);
}

static void
principal_strs(struct proto_strs *dst, const struct proto_strs *src, size_t *bytes)
{
	const char **v = xcalloc(src->n + 1, sizeof(*v));

	for (size_t i = 0; i < src->n; i++)
		v[i] = principal_dup(src->v[i], bytes);
	*bytes += (src->n + 1) * sizeof(*v);
	dst->v = v;
	dst->n = src->n;
}

static void
principal_strs_free(struct proto_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free((char *)s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static json_t *
principal_strs_json(const struct proto_strs *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

/* UserResponse (API.md Users), as GET /api/users/me returns it. */
static char *
principal_render(const struct principal *p)
{
	json_t *roles = json_array(), *o;
	char *s;

	for (size_t i = 0; i < p->role_refs.n; i++) {
		const struct proto_rec_role_ref *rr = &p->role_refs.v[i];

		json_array_append_new(roles, json_pack("{s:I, s:s, s:s?}", "id", (json_int_t)rr->id,
		    "name", rr->name, "description", rr->description));
	}
	o = json_pack("{s:I, s:s, s:s, s:b, s:b, s:s, s:s, s:o, s:{s:s}, s:o, s:o}", "id",
	    (json_int_t)p->user_id, "username", p->username, "email", p->email, "is_active",
	    p->is_active, "is_approved", p->is_approved, "created_at", p->created_at, "updated_at",
	    p->updated_at, "roles", roles, "preferences", "theme", p->theme, "permissions",
	    principal_strs_json(&p->permissions), "allowed_apps",
	    principal_strs_json(&p->allowed_apps));
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s != NULL ? s : xstrdup("{}");
}

struct principal *
principal_new(const char *sid, const struct proto_principal_get_rep *pg,
    const struct proto_user_get_rep *u)
{
	struct principal *p = xcalloc(1, sizeof(*p));
	struct proto_rec_role_ref *refs;
	size_t bytes = sizeof(*p);
	int64_t exp = 0;

	atomic_init(&p->refs, 1);
	snprintf(p->sid, sizeof(p->sid), "%s", sid);
	if (pg->has_expires_at && time_parse_rfc3339(pg->expires_at, &exp) == 0)
		p->session_exp = exp;
	else
		p->session_exp = INT64_MAX;
	p->user_id = u->id;
	p->username = principal_dup(u->username, &bytes);
	p->email = principal_dup(u->email, &bytes);
	p->created_at = principal_dup(u->created_at, &bytes);
	p->updated_at = principal_dup(u->updated_at, &bytes);
	p->theme = principal_dup(u->theme, &bytes);
	p->is_active = u->is_active;
	p->is_approved = u->is_approved;
	p->requires_2fa = u->requires_2fa;
	p->totp_enabled = pg->has_totp_enabled && pg->totp_enabled;
	principal_strs(&p->roles, &u->roles, &bytes);
	principal_strs(&p->permissions, &u->permissions, &bytes);
	principal_strs(&p->allowed_apps, &u->allowed_apps, &bytes);
	refs = xcalloc(u->role_refs.n + 1, sizeof(*refs));
	for (size_t i = 0; i < u->role_refs.n; i++) {
		refs[i].id = u->role_refs.v[i].id;
		refs[i].name = principal_dup(u->role_refs.v[i].name, &bytes);
		refs[i].has_description = u->role_refs.v[i].has_description;
		refs[i].description = u->role_refs.v[i].has_description ?
		    principal_dup(u->role_refs.v[i].description, &bytes) : NULL;
	}
	bytes += (u->role_refs.n + 1) * sizeof(*refs);
	p->role_refs.v = refs;
	p->role_refs.n = u->role_refs.n;
	p->user_json = principal_render(p);
	bytes += strlen(p->user_json) + 1;
	p->bytes = bytes;
	return p;
}

struct principal *
principal_ref(struct principal *p)
{
	atomic_fetch_add(&p->refs, 1);
	return p;
}

void
principal_unref(struct principal **pp)
{
	struct principal *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	free(p->username);
	free(p->email);
	free(p->created_at);
	free(p->updated_at);
	free(p->theme);
	free(p->user_json);
	principal_strs_free(&p->roles);
	principal_strs_free(&p->permissions);
	principal_strs_free(&p->allowed_apps);
	for (size_t i = 0; i < p->role_refs.n; i++) {
		free((char *)p->role_refs.v[i].name);
		free((char *)p->role_refs.v[i].description);
	}
	free((void *)p->role_refs.v);
	free(p);
}

void
principal_fill_check(const struct principal *p, struct proto_auth_check_rep *rep)
{
	rep->session_id = p->sid;
	rep->has_session_id = true;
	rep->user_id = p->user_id;
	rep->has_user_id = true;
	rep->username = p->username;
	rep->has_username = true;
	rep->email = p->email;
	rep->has_email = true;
	rep->permissions = p->permissions;
	rep->has_permissions = true;
	rep->user_json = p->user_json;
	rep->has_user_json = true;
}

bool
principal_has(const struct principal *p, const char *permission)
{
	for (size_t i = 0; i < p->permissions.n; i++)
		if (strcmp(p->permissions.v[i], permission) == 0)
			return true;
	return false;
}
