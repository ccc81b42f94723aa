/* ops_notify: the notify family (ops 400-499), private to storaged.
 *
 *   ops_notify.c       table, shared helpers, channels and events
 *   ops_notify_user.c  user preferences and the inbox
 *   ops_notify_emit.c  emission (NOTIFY_EMIT, ops_notify_emit), outbox, log
 *   ops_notify_test.c  NOTIFY_TEST: a test message, then verified
 *
 * Secrets: channel configs are masked in SQL (JSON1: a top-level key whose
 * name contains password, secret, token or api_key gets "********"), and
 * destinations in C (ops_notify_mask_dest).  Only CHANNEL_GET_SECRET and
 * OUTBOX_TAKE return them in clear, for storaged's own sender.
 *
 * The string helpers (pool, column text, time shape) are the op framework's
 * (ops.h). */
#ifndef KUBARR_STORAGED_OPS_NOTIFY_H
#define KUBARR_STORAGED_OPS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"

#define OPS_NOTIFY_PAGE_DEFAULT 50
#define OPS_NOTIFY_PAGE_MAX 200
#define OPS_NOTIFY_DEST_MAX 320

/* Emits event_type for the users (duplicates count once) on the caller's
 * writing connection, inside the caller's transaction: when the event is
 * enabled in notification_events, one inbox row per user and one outbox row
 * per enabled channel x enabled, verified destination of those users; nothing
 * when it is disabled or unknown (0/0).  The severity is the event's.  Unknown
 * user ids fail the foreign key: -1, and the caller's savepoint undoes the
 * rest.  0 or -1 (logged). */
int ops_notify_emit(struct db_conn *c, const char *event_type, const char *title,
    const char *message, const int64_t *user_ids, size_t n, int *inbox_r, int *outbox_r);

/* A security event (API.md 9: login_new_address, 2fa_disabled,
 * password_changed, backup_failed; enabled by the seed) for user_id and every
 * active admin, in the caller's transaction like ops_notify_emit; the message
 * is before + the user's name + after.  0 or -1 (logged). */
int ops_notify_emit_security(struct db_conn *c, const char *event_type, const char *title,
    int64_t user_id, const char *before, const char *after);

/* The same for every active admin, and user_id too when include_user
 * (user_id names the user in the message either way; 0: a system event,
 * the message is before + after). */
int ops_notify_emit_admins(struct db_conn *c, const char *event_type, const char *title,
    int64_t user_id, bool include_user, const char *before, const char *after);

/* Leases the due outbox rows (OUTBOX_TAKE's statement) on the writer's
 * connection, oldest due first: fn sees each row with the columns id,
 * user_id, channel_type, destination, event_type, title, message, attempts.
 * 0 or -1 (logged). */
int ops_notify_outbox_lease(struct db_conn *c, int64_t limit, int64_t lease_s,
    void (*fn)(void *arg, sqlite3_stmt *row), void *arg);

/* email, gotify, messagebird, ntfy, telegram, webhook */
bool ops_notify_valid_channel(const char *s);
/* 1-64 of [a-z0-9_.] */
bool ops_notify_valid_event(const char *s);
bool ops_notify_valid_severity(const char *s);
/* The masked form of a destination (API.md section 9), in a fresh string
 * (xmalloc; free it): email "ab***@domain", other "abc***yz", "***" when too
 * short to show any of it.  Cuts at UTF-8 character boundaries. */
char *ops_notify_mask_dest(const char *channel_type, const char *dest);
/* limit (OPT) within 1..OPS_NOTIFY_PAGE_MAX, default OPS_NOTIFY_PAGE_DEFAULT. */
bool ops_notify_limit(bool has, uint64_t v, int64_t *limit_r);
/* Steps a statement without result rows and resets it. */
enum proto_status ops_notify_step(struct op_ctx *ctx, sqlite3_stmt *st);
/* One integer from a statement bound by the caller (reset after). */
enum proto_status ops_notify_scalar(struct op_ctx *ctx, sqlite3_stmt *st, int64_t *v_r);

#define OPS_NOTIFY_EXEC(name) \
	enum proto_status ops_##name(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
OPS_NOTIFY_EXEC(channel_list)
OPS_NOTIFY_EXEC(channel_get_secret)
OPS_NOTIFY_EXEC(channel_set)
OPS_NOTIFY_EXEC(event_list)
OPS_NOTIFY_EXEC(event_set)
OPS_NOTIFY_EXEC(pref_list)
OPS_NOTIFY_EXEC(pref_set)
OPS_NOTIFY_EXEC(pref_verify)
OPS_NOTIFY_EXEC(inbox_list)
OPS_NOTIFY_EXEC(inbox_count)
OPS_NOTIFY_EXEC(inbox_read)
OPS_NOTIFY_EXEC(inbox_read_all)
OPS_NOTIFY_EXEC(inbox_delete)
OPS_NOTIFY_EXEC(notify_emit_op)
OPS_NOTIFY_EXEC(notify_test)
OPS_NOTIFY_EXEC(outbox_take)
OPS_NOTIFY_EXEC(outbox_result)
OPS_NOTIFY_EXEC(log_list)
#undef OPS_NOTIFY_EXEC

#endif
