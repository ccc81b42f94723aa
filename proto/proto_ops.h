/* The list of every kubarr message: the single source of truth.
 *
 * PROTO_OPS(X): X(number, NAME, name, served_by, summary)
 *   Numbers are the wire values; never reuse or renumber one.
 * PROTO_<NAME>_REQ(F) / PROTO_<NAME>_REP(F): the fields of the request and the
 *   reply body, F(TYPE, c_name, "wire key", REQ|OPT, doc).  Wire keys are short;
 *   a receiver ignores keys it does not know, so a newer daemon may add OPT fields
 *   without breaking an older peer.
 *
 * Types: STR (UTF-8 text, no NUL), U64, I64, BOOL, BIN (bytes), STRS (array of
 * STR), KVS (array of [STR, I64] pairs), and RECS_<rec>: an array of records.
 *
 * Records: a family declares PROTO_RECORDS_<FAMILY>(R) listing R(rec) for each
 * record, its fields PROTO_REC_<rec>(F) (any type but RECS), and one line
 *   #define PROTO_CTYPE_RECS_<rec> struct proto_recs_<rec>
 * which gives struct proto_rec_<rec> {fields} and struct proto_recs_<rec>
 * {const struct proto_rec_<rec> *v; size_t n;}.
 *
 * Envelope of every message: msgpack [version, op, req_id, status, body-map].
 * A reply carries the request's op and req_id; an error reply (status != ok)
 * carries PROTO_ERROR_BODY instead of the op's reply fields. */
#ifndef KUBARR_PROTO_OPS_H
#define KUBARR_PROTO_OPS_H

/* Families of ops live in their own headers, each with its own number range:
 *   1-99 core (this file), 100-199 users and roles (proto_ops_users.h),
 *   200-299 sessions, invites, recovery codes, OAuth (proto_ops_sessions.h),
 *   300-399 audit (this file), 400-499 notifications (proto_ops_notify.h),
 *   500-599 VPN and Cloudflare (proto_ops_network.h), 600-699 authd (proto_ops_auth.h),
 *   700-799 metrics (proto_ops_metrics.h), 800-899 backup (proto_ops_backup.h). */
#include "proto_ops_auth.h"
#include "proto_ops_backup.h"
#include "proto_ops_metrics.h"
#include "proto_ops_network.h"
#include "proto_ops_notify.h"
#include "proto_ops_sessions.h"
#include "proto_ops_users.h"

#define PROTO_OPS(X)                                                              \
	PROTO_OPS_CORE(X) PROTO_OPS_USERS(X) PROTO_OPS_SESSIONS(X) PROTO_OPS_NOTIFY(X) \
	PROTO_OPS_NETWORK(X) PROTO_OPS_AUTH(X) PROTO_OPS_METRICS(X) PROTO_OPS_BACKUP(X)
#define PROTO_RECORDS(R)                                                          \
	PROTO_RECORDS_CORE(R) PROTO_RECORDS_USERS(R) PROTO_RECORDS_SESSIONS(R)       \
	PROTO_RECORDS_NOTIFY(R) PROTO_RECORDS_NETWORK(R) PROTO_RECORDS_AUTH(R)        \
	PROTO_RECORDS_METRICS(R) PROTO_RECORDS_BACKUP(R)

/* Core records. */
#define PROTO_RECORDS_CORE(R) R(echo_item) R(audit_entry)
#define PROTO_REC_audit_entry(F)                                                  \
	F(I64, id, "i", REQ, "entry id")                                              \
	F(STR, timestamp, "t", REQ, "RFC 3339 UTC")                                   \
	F(I64, user_id, "uid", OPT, "acting user")                                    \
	F(STR, username, "un", OPT, "acting user's name")                             \
	F(STR, action, "a", REQ, "audit action")                                      \
	F(STR, resource_type, "rt", REQ, "resource type")                             \
	F(STR, resource_id, "rid", OPT, "resource id")                                \
	F(STR, details, "det", OPT, "JSON text")                                      \
	F(STR, ip_address, "ip", OPT, "client address")                               \
	F(STR, user_agent, "ua", OPT, "client user agent")                            \
	F(BOOL, success, "ok", REQ, "succeeded")                                      \
	F(STR, error_message, "err", OPT, "why it failed")
#define PROTO_CTYPE_RECS_audit_entry struct proto_recs_audit_entry
#define PROTO_REC_echo_item(F)                                                    \
	F(STR, name, "n", REQ, "a name")                                              \
	F(I64, value, "v", REQ, "a value")                                            \
	F(STRS, tags, "t", OPT, "optional tags")
#define PROTO_CTYPE_RECS_echo_item struct proto_recs_echo_item

#define PROTO_OPS_CORE(X)                                                         \
	X(1, PING, ping, "every daemon", "liveness and readiness of a daemon")         \
	X(2, STATS, stats, "every daemon", "counters and gauges of a daemon")          \
	X(3, ECHO, echo, "every daemon", "returns its fields: codec and IPC checks, benchmarks") \
	X(4, EVENT, event, "storaged, published", "a committed change; caches drop what it names") \
	X(5, AUDIT_APPEND, audit_append, "storaged", "append one audit log entry")             \
	X(6, SETTING_GET, setting_get, "storaged", "one public system setting")               \
	X(7, SETTING_SET, setting_set, "storaged", "create or update a system setting")   \
	X(8, SETTING_GET_SECRET, setting_get_secret, "storaged (authd only)", "any setting, secrets too") \
	X(300, AUDIT_LIST, audit_list, "storaged", "a filtered page of the audit log")        \
	X(301, AUDIT_STATS, audit_stats, "storaged", "audit totals, top actions, failures")  \
	X(302, AUDIT_CLEAR, audit_clear, "storaged", "delete old audit entries, one batch")

/* PING: answered by every daemon.  `ready` is false while a daemon that needs a
 * peer (authd needs storaged) cannot reach it. */
#define PROTO_PING_REQ(F)
#define PROTO_PING_REP(F)                                                         \
	F(STR, daemon, "d", REQ, "daemon name, e.g. storaged")                         \
	F(STR, version, "v", REQ, "build version")                                    \
	F(U64, pid, "p", REQ, "process id")                                           \
	F(U64, uptime_ms, "u", REQ, "milliseconds since start")                       \
	F(BOOL, ready, "r", REQ, "able to serve every op it owns")                    \
	F(STR, reason, "why", OPT, "why not ready")                                   \
	F(BOOL, admin_exists, "adm", OPT, "storaged: a user with the admin role exists")

/* STATS: name -> value counters and gauges; names are snake_case, stable. */
#define PROTO_STATS_REQ(F)
#define PROTO_STATS_REP(F)                                                        \
	F(STR, daemon, "d", REQ, "daemon name")                                        \
	F(KVS, counters, "c", REQ, "name/value pairs")

/* ECHO: every field type once; the reply carries back what was sent. */
#define PROTO_ECHO_FIELDS(F)                                                      \
	F(STR, s, "s", OPT, "text")                                                   \
	F(U64, u, "u", OPT, "unsigned")                                               \
	F(I64, i, "i", OPT, "signed")                                                 \
	F(BOOL, b, "b", OPT, "boolean")                                               \
	F(BIN, bin, "x", OPT, "bytes")                                                \
	F(STRS, strs, "l", OPT, "list of text")                                       \
	F(KVS, kvs, "k", OPT, "name/value pairs")                                     \
	F(RECS_echo_item, items, "r", OPT, "records")
#define PROTO_ECHO_REQ(F) PROTO_ECHO_FIELDS(F)
#define PROTO_ECHO_REP(F) PROTO_ECHO_FIELDS(F)

/* EVENT: published on events.ipc by storaged after the commit that caused it
 * (envelope op EVENT, req_id 0).  kind: user, role, session, setting. */
#define PROTO_EVENT_REQ(F)                                                        \
	F(STR, kind, "k", REQ, "what changed: user, role, session, setting")          \
	F(I64, id, "i", REQ, "its id (0 when keyed by text)")                         \
	F(STR, key, "s", OPT, "its text key (session id, setting key)")
#define PROTO_EVENT_REP(F)

/* AUDIT_APPEND: one entry of the audit log (API.md section 10). */
#define PROTO_AUDIT_APPEND_REQ(F)                                                 \
	F(I64, user_id, "uid", OPT, "acting user")                                    \
	F(STR, username, "un", OPT, "acting user's name at the time")                 \
	F(STR, action, "a", REQ, "audit action, e.g. login_failed")                   \
	F(STR, resource_type, "rt", REQ, "user, role, app, system, invite, session")  \
	F(STR, resource_id, "rid", OPT, "the resource's id")                          \
	F(STR, details, "det", OPT, "JSON text")                                      \
	F(STR, ip_address, "ip", OPT, "client address")                               \
	F(STR, user_agent, "ua", OPT, "client user agent")                            \
	F(BOOL, success, "ok", REQ, "whether the action succeeded")                   \
	F(STR, error_message, "err", OPT, "why it failed")
#define PROTO_AUDIT_APPEND_REP(F)                                                 \
	F(I64, id, "i", REQ, "the new entry's id")                                    \
	F(STR, timestamp, "t", REQ, "RFC 3339 UTC")

/* AUDIT_LIST: newest first; filters combine with AND; from/to are RFC 3339
 * UTC (24 chars, as stored); search is a case-sensitive substring of
 * username, action, resource_id or details. */
#define PROTO_AUDIT_LIST_REQ(F)                                                   \
	F(U64, page, "p", OPT, "1-based page (default 1)")                            \
	F(U64, per_page, "pp", OPT, "entries per page, 1..100 (default 50)")          \
	F(I64, user_id, "uid", OPT, "only this user")                                 \
	F(STR, action, "a", OPT, "only this action")                                  \
	F(STR, resource_type, "rt", OPT, "only this resource type")                   \
	F(BOOL, success, "ok", OPT, "only successes or only failures")                \
	F(STR, from, "from", OPT, "at or after (RFC 3339 UTC)")                       \
	F(STR, to, "to", OPT, "at or before (RFC 3339 UTC)")                          \
	F(STR, search, "q", OPT, "substring, case-sensitive")
#define PROTO_AUDIT_LIST_REP(F)                                                   \
	F(RECS_audit_entry, logs, "l", REQ, "the page")                               \
	F(U64, total, "n", REQ, "entries matching the filters")                       \
	F(U64, page, "p", REQ, "this page")                                           \
	F(U64, per_page, "pp", REQ, "page size")                                      \
	F(U64, total_pages, "tp", REQ, "pages")

/* AUDIT_STATS: all from indexes (GROUP BY / COUNT), constant memory. */
#define PROTO_AUDIT_STATS_REQ(F)
#define PROTO_AUDIT_STATS_REP(F)                                                  \
	F(U64, total_events, "n", REQ, "all entries")                                 \
	F(U64, successful_events, "ok", REQ, "successes")                             \
	F(U64, failed_events, "ko", REQ, "failures")                                  \
	F(U64, events_today, "d", REQ, "since UTC midnight")                          \
	F(U64, events_this_week, "w", REQ, "last 7 days")                             \
	F(KVS, top_actions, "top", REQ, "10 most frequent actions with counts")       \
	F(RECS_audit_entry, recent_failures, "rf", REQ, "the last 10 failures")

/* AUDIT_CLEAR: deletes at most max_rows entries older than `days` days in one
 * commit; `more` says whether older entries remain (call again), so a huge
 * backlog never holds the writer for long. */
#define PROTO_AUDIT_CLEAR_REQ(F)                                                  \
	F(U64, days, "d", OPT, "keep this many days (default 90; 0 clears all)")      \
	F(U64, max_rows, "m", OPT, "batch size, 1..100000 (default 10000)")
#define PROTO_AUDIT_CLEAR_REP(F)                                                  \
	F(U64, deleted, "n", REQ, "entries deleted")                                  \
	F(BOOL, more, "more", REQ, "older entries remain")

/* SETTING_GET / SETTING_SET: system_settings rows.  Secret keys (signing keys)
 * are refused by SETTING_GET: no read through the gateway returns them. */
#define PROTO_SETTING_FIELDS(F)                                                   \
	F(STR, key, "k", REQ, "setting key")                                          \
	F(STR, value, "v", REQ, "value (text)")                                       \
	F(STR, description, "d", OPT, "what it is for")                               \
	F(STR, updated_at, "t", REQ, "RFC 3339 UTC")
#define PROTO_SETTING_GET_REQ(F) F(STR, key, "k", REQ, "setting key")
#define PROTO_SETTING_GET_REP(F) PROTO_SETTING_FIELDS(F)
#define PROTO_SETTING_SET_REQ(F)                                                  \
	F(STR, key, "k", REQ, "setting key")                                          \
	F(STR, value, "v", REQ, "value (text)")                                       \
	F(STR, description, "d", OPT, "what it is for")
#define PROTO_SETTING_SET_REP(F) PROTO_SETTING_FIELDS(F)
/* SETTING_GET_SECRET: refused (forbidden) unless the caller's uid is
 * storaged's KUBARR_AUTHD_UID. */
#define PROTO_SETTING_GET_SECRET_REQ(F) F(STR, key, "k", REQ, "setting key")
#define PROTO_SETTING_GET_SECRET_REP(F) PROTO_SETTING_FIELDS(F)

/* Body of every error reply. */
#define PROTO_ERROR_BODY(F)                                                       \
	F(STR, detail, "e", REQ, "human-readable reason")                             \
	F(STR, field, "f", OPT, "the request field at fault, if any")

#endif
