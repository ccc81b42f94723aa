/* principal: who a session is, as authd caches it: the session, the user
 * (everything GET /api/users/me returns) and the user's permissions.  Built
 * from storaged's PRINCIPAL_GET + USER_GET replies; immutable once built and
 * reference counted, so a reader can use it outside the cache's lock. */
#ifndef KUBARR_AUTHD_PRINCIPAL_H
#define KUBARR_AUTHD_PRINCIPAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "token.h"

struct principal {
	atomic_int refs;
	char sid[TOKEN_SID_LEN + 1];
	int64_t session_exp;      /* epoch seconds */
	int64_t user_id;
	char *username, *email, *created_at, *updated_at, *theme;
	bool is_active, is_approved, requires_2fa, totp_enabled;
	struct proto_strs roles, permissions, allowed_apps;
	struct proto_recs_role_ref role_refs;
	char *user_json;          /* UserResponse, rendered once */
	size_t bytes;             /* approximate memory held */
	atomic_llong last_touch_ms; /* touch.c: when last_accessed_at was last noted */
};

/* A new principal (refs = 1) from the two replies; the strings are copied. */
struct principal *principal_new(const char *sid, const struct proto_principal_get_rep *pg,
    const struct proto_user_get_rep *u);
struct principal *principal_ref(struct principal *p);
void principal_unref(struct principal **p);
/* Points rep's user fields at p's (p must outlive the encoding of rep). */
void principal_fill_check(const struct principal *p, struct proto_auth_check_rep *rep);
bool principal_has(const struct principal *p, const char *permission);

#endif
