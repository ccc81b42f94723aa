/* proto: the wire codec.  Everything here is generated from proto_ops.h.
 *
 * Ownership: a decoded message's strings live in the msgpack zone of the
 * proto_env they came from; copy what outlives proto_env_fini(). */
#ifndef KUBARR_PROTO_H
#define KUBARR_PROTO_H

#include <msgpack.h>
#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_ops.h"

#define PROTO_VERSION 1
#define PROTO_MAX_DEPTH 16
#define PROTO_MAX_MSG (16u * 1024 * 1024)

/* Every op number is below PROTO_OP_END (families own ranges of 100). */
#define PROTO_OP_END 900

enum proto_op {
	PROTO_OP_NONE = 0,
#define PROTO_X_ENUM(num, NAME, name, by, doc) PROTO_OP_##NAME = num,
	PROTO_OPS(PROTO_X_ENUM)
#undef PROTO_X_ENUM
};

#define PROTO_X_RANGE(num, NAME, name, by, doc) \
	_Static_assert((num) > 0 && (num) < PROTO_OP_END, "op " #NAME ": number out of range");
PROTO_OPS(PROTO_X_RANGE)
#undef PROTO_X_RANGE

enum proto_status {
	PROTO_OK = 0,
	PROTO_BAD_REQUEST = 1,
	PROTO_UNKNOWN_OP = 2,
	PROTO_NOT_FOUND = 3,
	PROTO_CONFLICT = 4,
	PROTO_FORBIDDEN = 5,
	PROTO_UNAUTHORIZED = 6,
	PROTO_UNAVAILABLE = 7, /* the peer is down or shutting down */
	PROTO_TIMEOUT = 8,     /* deadline passed (client side) */
	PROTO_INTERNAL = 9,
	PROTO_STATUS_END
};

const char *proto_op_name(unsigned op);
const char *proto_status_name(unsigned st);

struct proto_bin {
	const uint8_t *ptr;
	size_t len;
};
struct proto_strs {
	const char **v;
	size_t n;
};
struct proto_kv {
	const char *key;
	int64_t val;
};
struct proto_kvs {
	const struct proto_kv *v;
	size_t n;
};

#define PROTO_CTYPE_STR const char *
#define PROTO_CTYPE_U64 uint64_t
#define PROTO_CTYPE_I64 int64_t
#define PROTO_CTYPE_BOOL bool
#define PROTO_CTYPE_BIN struct proto_bin
#define PROTO_CTYPE_STRS struct proto_strs
#define PROTO_CTYPE_KVS struct proto_kvs
#define PROTO_HAS_REQ(name)
#define PROTO_HAS_OPT(name) bool has_##name;
#define PROTO_F_DECL(type, name, key, req, doc) PROTO_CTYPE_##type name; PROTO_HAS_##req(name)

/* Records first: struct proto_rec_<rec> and struct proto_recs_<rec>. */
#define PROTO_X_REC_STRUCTS(rec)                                                  \
	struct proto_rec_##rec { PROTO_REC_##rec(PROTO_F_DECL) char unused_; };         \
	struct proto_recs_##rec {                                                      \
		const struct proto_rec_##rec *v;                                           \
		size_t n;                                                                  \
	};
PROTO_RECORDS(PROTO_X_REC_STRUCTS)
#undef PROTO_X_REC_STRUCTS

/* struct proto_<op>_req / _rep, and struct proto_error. */
#define PROTO_X_STRUCTS(num, NAME, name, by, doc)                                 \
	struct proto_##name##_req { PROTO_##NAME##_REQ(PROTO_F_DECL) char unused_; };  \
	struct proto_##name##_rep { PROTO_##NAME##_REP(PROTO_F_DECL) char unused_; };
PROTO_OPS(PROTO_X_STRUCTS)
#undef PROTO_X_STRUCTS
struct proto_error { PROTO_ERROR_BODY(PROTO_F_DECL) char unused_; };

/* A decoded message.  `body` is a map object inside `up`'s zone. */
struct proto_env {
	unsigned version;
	unsigned op;
	uint64_t req_id;
	unsigned status;
	const msgpack_object *body;
	msgpack_unpacked up;
	bool live;
};

/* Checks the bytes (structure, sizes, depth, no trailing bytes) and decodes the
 * envelope.  0, or -1 with a reason in err_r (a static string or zone text). */
int proto_env_decode(struct proto_env *env, const void *buf, size_t len, const char **err_r);
void proto_env_fini(struct proto_env *env);
/* Structural check of msgpack bytes before any allocation; *end_r = bytes used. */
int proto_mpcheck(const uint8_t *buf, size_t len, size_t *end_r, const char **err_r);

/* Encoders/decoders for every op: proto_<op>_{req,rep}_{msg,decode}. */
#define PROTO_X_PROTOS(num, NAME, name, by, doc)                                         \
	nng_msg *proto_##name##_req_msg(uint64_t req_id, const struct proto_##name##_req *m); \
	nng_msg *proto_##name##_rep_msg(uint64_t req_id, const struct proto_##name##_rep *m); \
	int proto_##name##_req_decode(struct proto_env *env, struct proto_##name##_req *m,    \
	    const char **err_r);                                                              \
	int proto_##name##_rep_decode(struct proto_env *env, struct proto_##name##_rep *m,    \
	    const char **err_r);
PROTO_OPS(PROTO_X_PROTOS)
#undef PROTO_X_PROTOS

nng_msg *proto_error_msg(unsigned op, uint64_t req_id, enum proto_status st, const char *detail,
    const char *field);
int proto_error_decode(struct proto_env *env, struct proto_error *m, const char **err_r);

/* Process-unique request ids (random start, then +1). */
uint64_t proto_next_req_id(void);

#endif
