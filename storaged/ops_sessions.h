/* ops_sessions: the sessions family (ops 200-299), private to storaged.
 *
 *   ops_sessions.c           table, shared helpers, session rows, cleanup
 *   ops_sessions_principal.c PRINCIPAL_GET (authd's cache miss)
 *   ops_invites.c            invites and REGISTER
 *   ops_sessions_recovery.c  2FA recovery codes
 *   ops_sessions_setup.c     OAuth providers/accounts, bootstrap status, server config */
#ifndef KUBARR_STORAGED_OPS_SESSIONS_H
#define KUBARR_STORAGED_OPS_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"

#define OPS_SESSIONS_TTL_DEFAULT_S (7 * 24 * 3600)
#define OPS_SESSIONS_RECOVERY_CODES 8

/* Hourly job: deletes expired sessions and revoked ones older than a day, on
 * the writer's connection (the caller owns the transaction).  No events: an
 * expired session is refused by its expires_at already.  0 or -1. */
int ops_sessions_cleanup(struct db_conn *c, long long *deleted_r);

/* Exec functions (ops.h's op_exec_fn). */
#define OPS_SESSIONS_EXEC(name) \
	enum proto_status ops_##name(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
OPS_SESSIONS_EXEC(session_create)
OPS_SESSIONS_EXEC(principal_get)
OPS_SESSIONS_EXEC(session_get)
OPS_SESSIONS_EXEC(session_list_user)
OPS_SESSIONS_EXEC(session_delete)
OPS_SESSIONS_EXEC(session_delete_user)
OPS_SESSIONS_EXEC(session_touch)
OPS_SESSIONS_EXEC(session_cleanup)
OPS_SESSIONS_EXEC(invite_create)
OPS_SESSIONS_EXEC(invite_get_by_code)
OPS_SESSIONS_EXEC(invite_list)
OPS_SESSIONS_EXEC(invite_delete)
OPS_SESSIONS_EXEC(register_user)
OPS_SESSIONS_EXEC(recovery_codes_replace)
OPS_SESSIONS_EXEC(recovery_codes_list)
OPS_SESSIONS_EXEC(recovery_code_use)
OPS_SESSIONS_EXEC(oauth_provider_list)
OPS_SESSIONS_EXEC(oauth_provider_set)
OPS_SESSIONS_EXEC(oauth_account_link)
OPS_SESSIONS_EXEC(oauth_account_find)
OPS_SESSIONS_EXEC(bootstrap_status_list)
OPS_SESSIONS_EXEC(bootstrap_status_set)
OPS_SESSIONS_EXEC(server_config_get)
OPS_SESSIONS_EXEC(server_config_set)
#undef OPS_SESSIONS_EXEC

#endif
