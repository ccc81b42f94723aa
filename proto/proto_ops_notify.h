/* Ops 400-499: notification channels, events, user preferences, the delivery
 * log, the inbox (user_notifications) and the outbox (storaged).
 * Same conventions as proto_ops.h.  Timestamps are RFC 3339 UTC with
 * milliseconds, 24 characters.
 *
 * Secrets (API.md decision 9): every read that the gateway may serve returns
 * channel configs masked (a top-level key containing password, secret, token or
 * api_key has the value "********") and destinations masked (email
 * "ab***@domain", other "abc***yz").  Two ops return them in clear, for the
 * sender inside storaged only; NO gateway route may call them:
 * CHANNEL_GET_SECRET and OUTBOX_TAKE. */
#ifndef KUBARR_PROTO_OPS_NOTIFY_H
#define KUBARR_PROTO_OPS_NOTIFY_H

#define PROTO_OPS_NOTIFY(X)                                                                  \
	X(400, CHANNEL_LIST, channel_list, "storaged", "every channel type, config masked")      \
	X(401, CHANNEL_GET_SECRET, channel_get_secret, "storaged", "a channel's clear config (storaged's sender only)") \
	X(402, CHANNEL_SET, channel_set, "storaged", "upsert a channel; masked values keep the stored ones") \
	X(410, EVENT_LIST, event_list, "storaged", "notification event types")                  \
	X(411, EVENT_SET, event_set, "storaged", "upsert an event type's enabled and severity")  \
	X(420, PREF_LIST, pref_list, "storaged", "a user's channel preferences, destinations masked") \
	X(421, PREF_SET, pref_set, "storaged", "upsert a preference; a new destination is unverified") \
	X(422, PREF_VERIFY, pref_verify, "storaged", "mark a destination verified (test message sent)") \
	X(430, INBOX_LIST, inbox_list, "storaged", "a page of a user's inbox, newest first")      \
	X(431, INBOX_COUNT, inbox_count, "storaged", "a user's unread count")                      \
	X(432, INBOX_READ, inbox_read, "storaged", "mark one of a user's items read")             \
	X(433, INBOX_READ_ALL, inbox_read_all, "storaged", "mark all of a user's items read")      \
	X(434, INBOX_DELETE, inbox_delete, "storaged", "delete one of a user's items")             \
	X(440, NOTIFY_EMIT, notify_emit, "storaged", "inbox rows and outbox rows for an enabled event") \
	X(441, NOTIFY_TEST, notify_test, "storaged", "send a test message now; success verifies the user's matching destination") \
	X(450, OUTBOX_TAKE, outbox_take, "storaged", "lease the due outbox rows (storaged's sender only)") \
	X(451, OUTBOX_RESULT, outbox_result, "storaged", "record a delivery attempt: sent, retry or give up") \
	X(460, LOG_LIST, log_list, "storaged", "a page of the delivery log, newest first")

#define PROTO_RECORDS_NOTIFY(R)                                                              \
	R(notify_channel) R(notify_event) R(notify_pref) R(notify_item) R(notify_uid)            \
	R(notify_out) R(notify_log)

/* ---- channels ----------------------------------------------------------- */

/* channel_type: email, telegram, messagebird, webhook, ntfy, gotify. */
#define PROTO_REC_notify_channel(F)                                                          \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(BOOL, enabled, "on", REQ, "deliveries go out")                                         \
	F(STR, config, "cfg", REQ, "JSON object text, secrets masked")                           \
	F(STR, created_at, "ca", OPT, "absent: never configured")                                \
	F(STR, updated_at, "ua", OPT, "absent: never configured")
#define PROTO_CTYPE_RECS_notify_channel struct proto_recs_notify_channel

/* CHANNEL_LIST: the six known types always (defaults when never set: off, "{}"),
 * then any other stored type, by type. */
#define PROTO_CHANNEL_LIST_REQ(F)
#define PROTO_CHANNEL_LIST_REP(F) F(RECS_notify_channel, channels, "l", REQ, "by type")

/* CHANNEL_GET_SECRET: the config in clear.  For storaged's own sender: no
 * gateway route may call it.  not_found "channel_type" when never set. */
#define PROTO_CHANNEL_GET_SECRET_REQ(F) F(STR, channel_type, "ct", REQ, "channel type")
#define PROTO_CHANNEL_GET_SECRET_REP(F)                                                      \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(BOOL, enabled, "on", REQ, "deliveries go out")                                         \
	F(STR, config, "cfg", REQ, "JSON object text, unmasked")

/* CHANNEL_SET: upsert; absent fields are kept.  A config key whose value is
 * "********" keeps the stored value (dropped if none is stored), so a masked
 * config read back from CHANNEL_LIST can be sent again.  bad_request
 * "channel_type" (unknown type), "config" (not a JSON object). */
#define PROTO_CHANNEL_SET_REQ(F)                                                             \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(BOOL, enabled, "on", OPT, "deliveries go out (default off on create)")                 \
	F(STR, config, "cfg", OPT, "JSON object text (replaces the stored one)")
#define PROTO_CHANNEL_SET_REP(F) PROTO_REC_notify_channel(F)

/* ---- events ------------------------------------------------------------- */

#define PROTO_REC_notify_event(F)                                                            \
	F(STR, event_type, "et", REQ, "event type (API.md section 9)")                           \
	F(BOOL, enabled, "on", REQ, "emits notifications")                                       \
	F(STR, severity, "sev", REQ, "info, warning or critical")
#define PROTO_CTYPE_RECS_notify_event struct proto_recs_notify_event

/* EVENT_LIST: the event types of API.md section 9 always (defaults: off,
 * info), then any other stored type, by type. */
#define PROTO_EVENT_LIST_REQ(F)
#define PROTO_EVENT_LIST_REP(F) F(RECS_notify_event, events, "l", REQ, "by type")

/* EVENT_SET: upsert; bad_request "event_type" (not 1-64 of [a-z0-9_.]),
 * "severity". */
#define PROTO_EVENT_SET_REQ(F)                                                               \
	F(STR, event_type, "et", REQ, "event type")                                              \
	F(BOOL, enabled, "on", OPT, "emits notifications (default off on create)")               \
	F(STR, severity, "sev", OPT, "info, warning, critical (default info on create)")
#define PROTO_EVENT_SET_REP(F) PROTO_REC_notify_event(F)

/* ---- user preferences --------------------------------------------------- */

#define PROTO_REC_notify_pref(F)                                                             \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(BOOL, enabled, "on", REQ, "the user wants this channel")                               \
	F(STR, destination, "dst", OPT, "masked; absent when not set")                           \
	F(BOOL, verified, "ver", REQ, "a test message reached the destination")
#define PROTO_CTYPE_RECS_notify_pref struct proto_recs_notify_pref

#define PROTO_PREF_LIST_REQ(F) F(I64, user_id, "uid", REQ, "owner")
#define PROTO_PREF_LIST_REP(F) F(RECS_notify_pref, prefs, "l", REQ, "by channel type")

/* PREF_SET: upsert; a destination different from the stored one resets
 * verified (decision 8); "" clears it.  bad_request "channel_type",
 * "destination" (over 320 bytes); not_found "user_id". */
#define PROTO_PREF_SET_REQ(F)                                                                \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(BOOL, enabled, "on", OPT, "default on at create")                                      \
	F(STR, destination, "dst", OPT, "address, chat id, phone, URL or topic")
#define PROTO_PREF_SET_REP(F) PROTO_REC_notify_pref(F)

/* PREF_VERIFY: after a successful test message; not_found "channel_type" when
 * the user has no destination on that channel. */
#define PROTO_PREF_VERIFY_REQ(F)                                                             \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(STR, channel_type, "ct", REQ, "channel type")
#define PROTO_PREF_VERIFY_REP(F) PROTO_REC_notify_pref(F)

/* ---- inbox -------------------------------------------------------------- */

#define PROTO_REC_notify_item(F)                                                             \
	F(I64, id, "i", REQ, "item id")                                                          \
	F(STR, title, "t", REQ, "title")                                                         \
	F(STR, message, "m", REQ, "body")                                                        \
	F(STR, event_type, "et", OPT, "the event that caused it")                                \
	F(STR, severity, "sev", REQ, "info, warning or critical")                                \
	F(BOOL, read, "r", REQ, "read")                                                          \
	F(STR, created_at, "ca", REQ, "RFC 3339 UTC")
#define PROTO_CTYPE_RECS_notify_item struct proto_recs_notify_item

/* INBOX_LIST: bad_request "limit" outside 1..200. */
#define PROTO_INBOX_LIST_REQ(F)                                                              \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(BOOL, unread_only, "ur", OPT, "only unread items")                                     \
	F(U64, limit, "lim", OPT, "1..200 (default 50)")                                         \
	F(U64, offset, "off", OPT, "items to skip (default 0)")
#define PROTO_INBOX_LIST_REP(F)                                                              \
	F(RECS_notify_item, items, "l", REQ, "newest first")                                     \
	F(U64, total, "n", REQ, "items matching the filter")                                     \
	F(U64, unread, "ur", REQ, "the user's unread items")

#define PROTO_INBOX_COUNT_REQ(F) F(I64, user_id, "uid", REQ, "owner")
#define PROTO_INBOX_COUNT_REP(F) F(U64, unread, "ur", REQ, "unread items")

/* INBOX_READ / INBOX_DELETE: not_found "id" when the item is not the user's. */
#define PROTO_INBOX_READ_REQ(F)                                                              \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(I64, id, "i", REQ, "item id")
#define PROTO_INBOX_READ_REP(F) F(U64, unread, "ur", REQ, "unread items left")

#define PROTO_INBOX_READ_ALL_REQ(F) F(I64, user_id, "uid", REQ, "owner")
#define PROTO_INBOX_READ_ALL_REP(F) F(U64, count, "n", REQ, "items marked read")

#define PROTO_INBOX_DELETE_REQ(F)                                                            \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(I64, id, "i", REQ, "item id")
#define PROTO_INBOX_DELETE_REP(F) F(I64, id, "i", REQ, "the deleted item's id")

/* ---- emission ----------------------------------------------------------- */

#define PROTO_REC_notify_uid(F) F(I64, id, "i", REQ, "user id")
#define PROTO_CTYPE_RECS_notify_uid struct proto_recs_notify_uid

/* NOTIFY_EMIT: one write.  Only when event_type is enabled: an inbox row per
 * user (duplicates once) and an outbox row per enabled channel x enabled,
 * verified destination of those users; 0/0 when disabled.  bad_request
 * "event_type", "title", "message", "severity"; not_found "user_ids" (nothing
 * written). */
#define PROTO_NOTIFY_EMIT_REQ(F)                                                             \
	F(STR, event_type, "et", REQ, "event type")                                              \
	F(STR, title, "t", REQ, "title")                                                         \
	F(STR, message, "m", REQ, "body")                                                        \
	F(RECS_notify_uid, user_ids, "u", REQ, "users concerned (may be empty)")                 \
	F(STR, severity, "sev", OPT, "default: the event's severity")
#define PROTO_NOTIFY_EMIT_REP(F)                                                             \
	F(U64, inbox, "in", REQ, "inbox rows written")                                           \
	F(U64, outbox, "out", REQ, "outbox rows written")

/* NOTIFY_TEST: a read (a reader thread waits on the network, never the
 * writer): sends a test message to destination through the channel's stored
 * config, logs the attempt (masked) and, when it succeeded and the user's
 * stored destination on that channel is this one, marks it verified (decision
 * 8) - both through a writer task before the reply.  bad_request
 * "channel_type", "destination" (empty or over 320 bytes). */
#define PROTO_NOTIFY_TEST_REQ(F)                                                             \
	F(I64, user_id, "uid", REQ, "who tests")                                                 \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(STR, destination, "dst", REQ, "where the test message goes")
#define PROTO_NOTIFY_TEST_REP(F)                                                             \
	F(BOOL, success, "ok", REQ, "delivered")                                                 \
	F(STR, error, "err", OPT, "why it failed")                                               \
	F(BOOL, verified, "ver", REQ, "the user's destination on the channel is now verified")

/* ---- outbox and log ----------------------------------------------------- */

/* Unmasked: for storaged's sender only. */
#define PROTO_REC_notify_out(F)                                                              \
	F(I64, id, "i", REQ, "outbox id")                                                        \
	F(I64, user_id, "uid", OPT, "recipient user")                                            \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(STR, destination, "dst", REQ, "destination in clear")                                  \
	F(STR, event_type, "et", REQ, "event type")                                              \
	F(STR, title, "t", REQ, "title")                                                         \
	F(STR, message, "m", REQ, "body")                                                        \
	F(I64, attempts, "a", REQ, "failed attempts so far")
#define PROTO_CTYPE_RECS_notify_out struct proto_recs_notify_out

/* OUTBOX_TAKE: a write: the due rows (next_attempt_at <= now), oldest due
 * first, are leased (next_attempt_at = now + lease_s), so a sender that dies
 * mid-delivery has them retried after the lease (at-least-once).
 * bad_request "limit", "now", "lease_s". */
#define PROTO_OUTBOX_TAKE_REQ(F)                                                             \
	F(U64, limit, "lim", OPT, "1..200 (default 50)")                                         \
	F(STR, now, "now", OPT, "RFC 3339 UTC; default: now")                                    \
	F(U64, lease_s, "ls", OPT, "1..86400 seconds (default 300)")
#define PROTO_OUTBOX_TAKE_REP(F) F(RECS_notify_out, rows, "l", REQ, "leased rows")

/* OUTBOX_RESULT: ok -> row deleted, log 'sent'; failure -> attempts + 1,
 * next_attempt_at, log 'retrying' with the error; give_up -> row deleted, log
 * 'failed' with the error.  Logs carry the masked recipient.  not_found "id";
 * bad_request "next_attempt_at" (missing or malformed on a retry). */
#define PROTO_OUTBOX_RESULT_REQ(F)                                                           \
	F(I64, id, "i", REQ, "outbox id")                                                        \
	F(BOOL, ok, "ok", REQ, "delivered")                                                      \
	F(STR, error, "err", OPT, "why it failed")                                               \
	F(STR, next_attempt_at, "na", OPT, "retry time (RFC 3339 UTC)")                          \
	F(BOOL, give_up, "gu", OPT, "no more attempts")
#define PROTO_OUTBOX_RESULT_REP(F)                                                           \
	F(STR, status, "st", REQ, "sent, retrying or failed")                                    \
	F(I64, attempts, "a", REQ, "failed attempts so far")                                     \
	F(I64, log_id, "lid", REQ, "the notification_logs row written")

#define PROTO_REC_notify_log(F)                                                              \
	F(I64, id, "i", REQ, "log id")                                                           \
	F(I64, user_id, "uid", OPT, "recipient user")                                            \
	F(STR, channel_type, "ct", REQ, "channel type")                                          \
	F(STR, event_type, "et", REQ, "event type")                                              \
	F(STR, recipient, "rcp", OPT, "masked destination")                                      \
	F(STR, status, "st", REQ, "sent, retrying, failed (pending on imported rows)")           \
	F(STR, error_message, "err", OPT, "why it failed")                                       \
	F(STR, created_at, "ca", REQ, "RFC 3339 UTC")
#define PROTO_CTYPE_RECS_notify_log struct proto_recs_notify_log

/* LOG_LIST: filters combine with AND; bad_request "limit" outside 1..200. */
#define PROTO_LOG_LIST_REQ(F)                                                                \
	F(U64, limit, "lim", OPT, "1..200 (default 50)")                                         \
	F(U64, offset, "off", OPT, "entries to skip")                                            \
	F(I64, user_id, "uid", OPT, "only this user")                                            \
	F(STR, channel_type, "ct", OPT, "only this channel")                                     \
	F(STR, status, "st", OPT, "only this status")
#define PROTO_LOG_LIST_REP(F)                                                                \
	F(RECS_notify_log, logs, "l", REQ, "newest first")                                       \
	F(U64, total, "n", REQ, "entries matching the filters")

#endif
