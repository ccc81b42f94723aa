/* Ops 100-199: users, roles, permissions, preferences (storaged).
 * Same conventions as proto_ops.h.
 *
 * A user's roles travel as names (role names are unique); role_refs in the
 * same reply gives id and description of every role named there, so that the
 * gateway can build UserResponse.roles without another call.  permissions,
 * allowed_apps and requires_2fa are computed by storaged (API.md 3.2, 3.8).
 *
 * Errors: bad_request (invalid field, named), not_found (no such user/role,
 * or an unknown role name: field "roles"), conflict (duplicate username,
 * email or role name, case-insensitive for users; or a change that would
 * leave no active admin), forbidden (renaming or deleting a system role,
 * removing users.manage or roles.manage from the admin role). */
#ifndef KUBARR_PROTO_OPS_USERS_H
#define KUBARR_PROTO_OPS_USERS_H

#define PROTO_OPS_USERS(X)                                                        \
	X(100, USER_CREATE, user_create, "storaged", "create a user, optionally with roles")   \
	X(101, USER_GET, user_get, "storaged", "one user by id, username or email")          \
	X(102, USER_LIST, user_list, "storaged", "a page of users, ordered by id")           \
	X(103, USER_LIST_PENDING, user_list_pending, "storaged", "a page of unapproved users") \
	X(104, USER_UPDATE, user_update, "storaged", "change email, flags or roles of a user") \
	X(105, USER_DELETE, user_delete, "storaged", "delete a user (cascades)")              \
	X(106, USER_SET_PASSWORD, user_set_password, "storaged", "replace a password hash")   \
	X(107, USER_SET_TOTP, user_set_totp, "storaged", "store, enable or clear TOTP")      \
	X(108, USER_PREFS_GET, user_prefs_get, "storaged", "a user's preferences")          \
	X(109, USER_PREFS_SET, user_prefs_set, "storaged", "upsert a user's preferences")    \
	X(120, ROLE_LIST, role_list, "storaged", "every role with permissions and apps")     \
	X(121, ROLE_GET, role_get, "storaged", "one role")                                  \
	X(122, ROLE_CREATE, role_create, "storaged", "create a role")                       \
	X(123, ROLE_UPDATE, role_update, "storaged", "rename, describe, require 2FA")       \
	X(124, ROLE_DELETE, role_delete, "storaged", "delete a non-system role")            \
	X(125, ROLE_SET_PERMISSIONS, role_set_permissions, "storaged",                      \
	    "replace permissions with the app.X split rule (API.md 3.8)")                    \
	X(126, ROLE_SET_APPS, role_set_apps, "storaged", "replace the app rows of a role")   \
	X(127, PERMISSION_CATALOGUE, permission_catalogue, "storaged", "known permissions")

#define PROTO_RECORDS_USERS(R) R(user) R(role_ref) R(role) R(perm)

/* A user without secrets.  theme is 'system' when the user has no preferences. */
#define PROTO_REC_user(F)                                                         \
	F(I64, id, "i", REQ, "user id")                                               \
	F(STR, username, "u", REQ, "username")                                        \
	F(STR, email, "e", REQ, "email")                                              \
	F(BOOL, is_active, "a", REQ, "may sign in")                                   \
	F(BOOL, is_approved, "ap", REQ, "approved by an administrator")               \
	F(STR, created_at, "c", REQ, "RFC 3339 UTC")                                  \
	F(STR, updated_at, "up", REQ, "RFC 3339 UTC")                                 \
	F(STR, theme, "th", REQ, "system, light or dark")                             \
	F(STRS, roles, "r", REQ, "role names, sorted")                                \
	F(STRS, permissions, "p", REQ, "sorted, de-duplicated, app.X included")       \
	F(STRS, allowed_apps, "aa", REQ, "[*] or the de-duplicated app names")        \
	F(BOOL, requires_2fa, "r2", REQ, "some role of the user requires 2FA")
#define PROTO_CTYPE_RECS_user struct proto_recs_user

#define PROTO_REC_role_ref(F)                                                     \
	F(I64, id, "i", REQ, "role id")                                               \
	F(STR, name, "n", REQ, "role name")                                           \
	F(STR, description, "d", OPT, "role description")
#define PROTO_CTYPE_RECS_role_ref struct proto_recs_role_ref

/* permissions: role_permissions rows plus app.<name> per app row (sorted,
 * de-duplicated); role_permissions: the rows alone (GET /roles/{id}/permissions). */
#define PROTO_REC_role(F)                                                         \
	F(I64, id, "i", REQ, "role id")                                               \
	F(STR, name, "n", REQ, "role name")                                           \
	F(STR, description, "d", OPT, "role description")                             \
	F(BOOL, is_system, "s", REQ, "seeded role: cannot be renamed or deleted")     \
	F(BOOL, requires_2fa, "r2", REQ, "members must use TOTP")                      \
	F(STR, created_at, "c", REQ, "RFC 3339 UTC")                                  \
	F(STRS, permissions, "p", REQ, "role_permissions plus app.X, sorted")         \
	F(STRS, role_permissions, "rp", REQ, "role_permissions rows only, sorted")    \
	F(STRS, app_names, "an", REQ, "role_app_permissions rows, sorted")
#define PROTO_CTYPE_RECS_role struct proto_recs_role

#define PROTO_REC_perm(F)                                                         \
	F(STR, key, "k", REQ, "permission string")                                    \
	F(STR, category, "c", REQ, "group, e.g. users or app")                        \
	F(STR, description, "d", REQ, "what it allows")
#define PROTO_CTYPE_RECS_perm struct proto_recs_perm

/* The reply of every op that returns one user.  The secrets are present only
 * in USER_GET's reply when the request sets with_secrets (authd). */
#define PROTO_USER_REPLY(F)                                                       \
	PROTO_REC_user(F)                                                             \
	F(RECS_role_ref, role_refs, "rr", REQ, "the roles named in roles")            \
	F(STR, hashed_password, "pw", OPT, "with_secrets only")                       \
	F(STR, totp_secret, "ts", OPT, "with_secrets only; opaque (authd encrypts)")  \
	F(BOOL, totp_enabled, "te", OPT, "with_secrets only")                         \
	F(STR, totp_verified_at, "tv", OPT, "with_secrets only")

/* USER_CREATE: username 3-64 of [A-Za-z0-9._-]; email with one @, <= 255. */
#define PROTO_USER_CREATE_REQ(F)                                                  \
	F(STR, username, "u", REQ, "unique, case-insensitive")                        \
	F(STR, email, "e", REQ, "unique, case-insensitive")                           \
	F(STR, hashed_password, "pw", REQ, "hash made by authd")                      \
	F(BOOL, is_active, "a", REQ, "may sign in")                                   \
	F(BOOL, is_approved, "ap", REQ, "approved")                                   \
	F(STRS, roles, "r", OPT, "role names; unknown -> not_found (roles)")
#define PROTO_USER_CREATE_REP(F) PROTO_USER_REPLY(F)

/* USER_GET: exactly one of id, username, email. */
#define PROTO_USER_GET_REQ(F)                                                     \
	F(I64, id, "i", OPT, "user id")                                               \
	F(STR, username, "u", OPT, "username (case-insensitive)")                     \
	F(STR, email, "e", OPT, "email (case-insensitive)")                           \
	F(BOOL, with_secrets, "sec", OPT, "include password hash and TOTP (authd only)")
#define PROTO_USER_GET_REP(F) PROTO_USER_REPLY(F)

/* USER_LIST / USER_LIST_PENDING: limit 1..1000 (default 100); total counts
 * every matching user. */
#define PROTO_USER_PAGE_REQ(F)                                                    \
	F(U64, skip, "s", OPT, "rows to skip (default 0)")                            \
	F(U64, limit, "l", OPT, "page size 1..1000 (default 100)")
#define PROTO_USER_PAGE_REP(F)                                                    \
	F(RECS_user, users, "us", REQ, "the page, ordered by id")                     \
	F(U64, total, "n", REQ, "matching users")                                     \
	F(RECS_role_ref, role_refs, "rr", REQ, "the roles named on the page")
#define PROTO_USER_LIST_REQ(F) PROTO_USER_PAGE_REQ(F)
#define PROTO_USER_LIST_REP(F) PROTO_USER_PAGE_REP(F)
#define PROTO_USER_LIST_PENDING_REQ(F) PROTO_USER_PAGE_REQ(F)
#define PROTO_USER_LIST_PENDING_REP(F) PROTO_USER_PAGE_REP(F)

/* USER_UPDATE: roles, when given, replace every role.  Refused (conflict)
 * when it would leave no active, approved admin. */
#define PROTO_USER_UPDATE_REQ(F)                                                  \
	F(I64, id, "i", REQ, "user id")                                               \
	F(STR, username, "u", OPT, "new username (3-64 of [A-Za-z0-9._-], unique)")   \
	F(STR, email, "e", OPT, "new email")                                          \
	F(BOOL, is_active, "a", OPT, "may sign in")                                   \
	F(BOOL, is_approved, "ap", OPT, "approved")                                   \
	F(STRS, roles, "r", OPT, "role names replacing all roles")
#define PROTO_USER_UPDATE_REP(F) PROTO_USER_REPLY(F)

#define PROTO_USER_DELETE_REQ(F) F(I64, id, "i", REQ, "user id")
#define PROTO_USER_DELETE_REP(F) F(I64, id, "i", REQ, "the deleted user's id")

/* USER_SET_PASSWORD: sessions are the caller's business (sessions family). */
#define PROTO_USER_SET_PASSWORD_REQ(F)                                            \
	F(I64, id, "i", REQ, "user id")                                               \
	F(STR, hashed_password, "pw", REQ, "hash made by authd")
#define PROTO_USER_SET_PASSWORD_REP(F)                                            \
	F(I64, id, "i", REQ, "user id")                                               \
	F(STR, updated_at, "up", REQ, "RFC 3339 UTC")

/* USER_SET_TOTP: totp_secret replaces the secret when given, else it is kept;
 * clear removes it (with totp_enabled false: "disable clears everything").
 * totp_verified_at is set to the given value, or NULL when absent. */
#define PROTO_USER_SET_TOTP_REQ(F)                                                \
	F(I64, id, "i", REQ, "user id")                                               \
	F(BOOL, totp_enabled, "te", REQ, "TOTP required at login")                    \
	F(STR, totp_secret, "ts", OPT, "opaque secret (encrypted by authd)")          \
	F(STR, totp_verified_at, "tv", OPT, "RFC 3339 UTC, 24 characters")            \
	F(BOOL, clear, "clr", OPT, "remove the secret")
#define PROTO_USER_SET_TOTP_REP(F)                                                \
	F(I64, id, "i", REQ, "user id")                                               \
	F(BOOL, totp_enabled, "te", REQ, "TOTP required at login")                    \
	F(STR, updated_at, "up", REQ, "RFC 3339 UTC")

#define PROTO_USER_PREFS_GET_REQ(F) F(I64, user_id, "u", REQ, "user id")
#define PROTO_USER_PREFS_REP(F)                                                   \
	F(STR, theme, "th", REQ, "system, light or dark")                             \
	F(STR, updated_at, "up", OPT, "absent when never set")
#define PROTO_USER_PREFS_GET_REP(F) PROTO_USER_PREFS_REP(F)
#define PROTO_USER_PREFS_SET_REQ(F)                                               \
	F(I64, user_id, "u", REQ, "user id")                                          \
	F(STR, theme, "th", REQ, "system, light or dark")
#define PROTO_USER_PREFS_SET_REP(F) PROTO_USER_PREFS_REP(F)

/* Roles.  Role names are case-sensitive, 1-64 characters. */
#define PROTO_ROLE_LIST_REQ(F)
#define PROTO_ROLE_LIST_REP(F) F(RECS_role, roles, "rs", REQ, "every role, ordered by id")
#define PROTO_ROLE_GET_REQ(F) F(I64, id, "i", REQ, "role id")
#define PROTO_ROLE_GET_REP(F) PROTO_REC_role(F)

/* ROLE_CREATE: permissions follow ROLE_SET_PERMISSIONS' split rule; then
 * app_names, when given, replace the app rows. */
#define PROTO_ROLE_CREATE_REQ(F)                                                  \
	F(STR, name, "n", REQ, "unique")                                              \
	F(STR, description, "d", OPT, "what the role is for")                         \
	F(BOOL, requires_2fa, "r2", OPT, "default false")                             \
	F(STRS, permissions, "p", OPT, "permission strings, app.X included")          \
	F(STRS, app_names, "an", OPT, "app names (* for every app)")
#define PROTO_ROLE_CREATE_REP(F) PROTO_REC_role(F)

#define PROTO_ROLE_UPDATE_REQ(F)                                                  \
	F(I64, id, "i", REQ, "role id")                                               \
	F(STR, name, "n", OPT, "new name (system roles: forbidden)")                  \
	F(STR, description, "d", OPT, "new description")                              \
	F(BOOL, requires_2fa, "r2", OPT, "members must use TOTP")
#define PROTO_ROLE_UPDATE_REP(F) PROTO_REC_role(F)

#define PROTO_ROLE_DELETE_REQ(F) F(I64, id, "i", REQ, "role id")
#define PROTO_ROLE_DELETE_REP(F) F(I64, id, "i", REQ, "the deleted role's id")

/* ROLE_SET_PERMISSIONS: app.X entries replace the app rows (app.* is stored
 * as app row *), the rest replace role_permissions (API.md 3.8). */
#define PROTO_ROLE_SET_PERMISSIONS_REQ(F)                                         \
	F(I64, id, "i", REQ, "role id")                                               \
	F(STRS, permissions, "p", REQ, "the complete new list")
#define PROTO_ROLE_SET_PERMISSIONS_REP(F) PROTO_REC_role(F)

#define PROTO_ROLE_SET_APPS_REQ(F)                                                \
	F(I64, id, "i", REQ, "role id")                                               \
	F(STRS, app_names, "an", REQ, "the complete new list")
#define PROTO_ROLE_SET_APPS_REP(F) PROTO_REC_role(F)

#define PROTO_PERMISSION_CATALOGUE_REQ(F)
#define PROTO_PERMISSION_CATALOGUE_REP(F) F(RECS_perm, perms, "ps", REQ, "known permissions")

#endif
