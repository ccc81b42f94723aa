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
 * STR), KVS (array of [STR, I64] pairs).
 *
 * Envelope of every message: msgpack [version, op, req_id, status, body-map].
 * A reply carries the request's op and req_id; an error reply (status != ok)
 * carries PROTO_ERROR_BODY instead of the op's reply fields. */
#ifndef KUBARR_PROTO_OPS_H
#define KUBARR_PROTO_OPS_H

#define PROTO_OPS(X)                                                              \
	X(1, PING, ping, "every daemon", "liveness and readiness of a daemon")         \
	X(2, STATS, stats, "every daemon", "counters and gauges of a daemon")          \
	X(3, ECHO, echo, "every daemon", "returns its fields: codec and IPC checks, benchmarks")

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
	F(KVS, kvs, "k", OPT, "name/value pairs")
#define PROTO_ECHO_REQ(F) PROTO_ECHO_FIELDS(F)
#define PROTO_ECHO_REP(F) PROTO_ECHO_FIELDS(F)

/* Body of every error reply. */
#define PROTO_ERROR_BODY(F)                                                       \
	F(STR, detail, "e", REQ, "human-readable reason")                             \
	F(STR, field, "f", OPT, "the request field at fault, if any")

#endif
