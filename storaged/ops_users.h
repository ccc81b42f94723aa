/* ops_users: private declarations of the users family (ops 100-199), shared by
 * ops_users.c (table, arena, reads), ops_users_write.c (user writes) and
 * ops_roles.c (roles, permissions, catalogue). */
#ifndef KUBARR_STORAGED_OPS_USERS_H
#define KUBARR_STORAGED_OPS_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"

/* A bump allocator for one reply: column text is copied here because sqlite
 * invalidates it on the next step; everything is freed at once. */
struct users_arena {
	struct users_arena_block *head;
};
void *users_arena_alloc(struct users_arena *a, size_t size);
const char *users_arena_strdup(struct users_arena *a, const char *s);
void users_arena_free(struct users_arena *a);

/* Validation (API.md 4 Users; role and app names). */
bool users_valid_username(const char *s);
bool users_valid_email(const char *s);
bool users_valid_role_name(const char *s);
bool users_valid_app_name(const char *s);
/* A permission string storaged accepts: one of the catalogue, app.*, or
 * app.<app name>. */
bool users_permission_known(const char *perm);

/* The admin role: the system role named "admin". */
#define USERS_ADMIN_ROLE "admin"
/* Users holding the admin role that are active and approved (can sign in). */
int users_count_active_admins(struct op_ctx *ctx, int64_t *n_r);
/* Replaces a user's roles by names; not_found (field "roles") on an unknown one. */
enum proto_status users_set_roles(struct op_ctx *ctx, int64_t user_id, const struct proto_strs *roles);
/* Builds the one-user reply (USER_GET shape) for any op in PROTO_USER_REPLY's
 * family; not_found naming `field` when the user does not exist. */
enum proto_status users_reply_one(struct op_ctx *ctx, int64_t id, bool with_secrets,
    const char *field, nng_msg **reply_r);
/* Whether a user exists: 0 no, 1 yes, -1 database error (ctx set). */
int users_exists(struct op_ctx *ctx, int64_t id);

/* ops_users.c: reads */
enum proto_status ops_user_get(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_list(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_list_pending(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_prefs_get(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
/* ops_users_write.c */
enum proto_status ops_user_create(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_update(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_delete(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_set_password(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_set_totp(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_user_prefs_set(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
/* ops_roles.c */
enum proto_status ops_role_list(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_role_get(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_role_create(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_role_update(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_role_delete(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_role_set_permissions(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_role_set_apps(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_permission_catalogue(struct op_ctx *ctx, const void *req, nng_msg **reply_r);

#endif
