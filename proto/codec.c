/* codec: envelope and per-op body encoding, generated from proto_ops.h.
 * Decoding is strict: the bytes are checked structurally before msgpack-c
 * allocates anything (a 5-byte message must not claim 4 billion elements),
 * wrong types, missing required fields, duplicate keys and trailing bytes are
 * refused with a reason naming the field.  Unknown keys are skipped. */
#include "proto.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char *const proto_status_names[] = {
	"ok", "bad_request", "unknown_op", "not_found", "conflict", "forbidden",
	"unauthorized", "unavailable", "timeout", "internal",
};

const char *
proto_status_name(unsigned st)
{
	return st < PROTO_STATUS_END ? proto_status_names[st] : "invalid_status";
}

const char *
proto_op_name(unsigned op)
{
	switch (op) {
#define PROTO_X_NAME(num, NAME, name, by, doc) \
	case num:                                  \
		return #name;
		PROTO_OPS(PROTO_X_NAME)
#undef PROTO_X_NAME
	default:
		return "unknown";
	}
}

uint64_t
proto_next_req_id(void)
{
	static atomic_ullong next;
	unsigned long long cur = atomic_load(&next);

	if (cur == 0) {
		unsigned long long seed = 0;
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = (unsigned long long)(uintptr_t)&seed;
		seed = (seed & 0x00ffffffffffffffULL) | 1;
		atomic_compare_exchange_strong(&next, &cur, seed);
	}
	return atomic_fetch_add(&next, 1);
}

/* ---- encoding ----------------------------------------------------------- */

/* msgpack writes a message piece by piece: grow it geometrically, or each
 * append would copy the whole message (quadratic: 32 ms for 54 KB). */
static int
proto_write(void *data, const char *buf, size_t len)
{
	nng_msg *msg = data;
	size_t need = nng_msg_len(msg) + len;

	if (need > nng_msg_capacity(msg) && nng_msg_reserve(msg, need < 256 ? 512 : need * 2) != 0)
		return -1;
	return nng_msg_append(msg, buf, len) == 0 ? 0 : -1;
}

static nng_msg *
proto_begin(msgpack_packer *pk, unsigned op, uint64_t req_id, unsigned status)
{
	nng_msg *msg;

	if (nng_msg_alloc(&msg, 0) != 0)
		return NULL;
	msgpack_packer_init(pk, msg, proto_write);
	msgpack_pack_array(pk, 5);
	msgpack_pack_unsigned_int(pk, PROTO_VERSION);
	msgpack_pack_unsigned_int(pk, op);
	msgpack_pack_uint64(pk, req_id);
	msgpack_pack_unsigned_int(pk, status);
	return msg;
}

static void
proto_pack_key(msgpack_packer *pk, const char *key)
{
	size_t len = strlen(key);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, key, len);
}

static void
proto_put_STR(msgpack_packer *pk, const char *v)
{
	proto_pack_key(pk, v ? v : "");
}

static void
proto_put_U64(msgpack_packer *pk, uint64_t v)
{
	msgpack_pack_uint64(pk, v);
}

static void
proto_put_I64(msgpack_packer *pk, int64_t v)
{
	msgpack_pack_int64(pk, v);
}

static void
proto_put_BOOL(msgpack_packer *pk, bool v)
{
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static void
proto_put_BIN(msgpack_packer *pk, struct proto_bin v)
{
	msgpack_pack_bin(pk, v.len);
	msgpack_pack_bin_body(pk, v.ptr, v.len);
}

static void
proto_put_STRS(msgpack_packer *pk, struct proto_strs v)
{
	msgpack_pack_array(pk, v.n);
	for (size_t i = 0; i < v.n; i++)
		proto_put_STR(pk, v.v[i]);
}

static void
proto_put_KVS(msgpack_packer *pk, struct proto_kvs v)
{
	msgpack_pack_array(pk, v.n);
	for (size_t i = 0; i < v.n; i++) {
		msgpack_pack_array(pk, 2);
		proto_put_STR(pk, v.v[i].key);
		msgpack_pack_int64(pk, v.v[i].val);
	}
}

#define PROTO_PRESENT_REQ(m, name) 1
#define PROTO_PRESENT_OPT(m, name) ((m)->has_##name)
#define PROTO_F_COUNT(type, name, key, req, doc) n += PROTO_PRESENT_##req(m, name) ? 1 : 0;
#define PROTO_F_PACK(type, name, key, req, doc) \
	if (PROTO_PRESENT_##req(m, name)) {         \
		proto_pack_key(pk, key);                \
		proto_put_##type(pk, m->name);          \
	}

/* Records: each one a map like a body; a list of them an array. */
#define PROTO_X_REC_ENCODER(rec)                                                  \
	__attribute__((unused)) static void proto_put_RECS_##rec(msgpack_packer *pk,   \
	    struct proto_recs_##rec v)                                                \
	{                                                                             \
		msgpack_pack_array(pk, v.n);                                              \
		for (size_t i = 0; i < v.n; i++) {                                        \
			const struct proto_rec_##rec *m = &v.v[i];                            \
			size_t n = 0;                                                         \
			PROTO_REC_##rec(PROTO_F_COUNT)                                        \
			msgpack_pack_map(pk, n);                                              \
			PROTO_REC_##rec(PROTO_F_PACK)                                         \
			(void)m;                                                              \
		}                                                                         \
	}
PROTO_RECORDS(PROTO_X_REC_ENCODER)

#define PROTO_GEN_ENCODER(fn, stype, FIELDS)                            \
	static void fn##_body(msgpack_packer *pk, const stype *m)           \
	{                                                                    \
		size_t n = 0;                                                    \
		FIELDS(PROTO_F_COUNT)                                            \
		msgpack_pack_map(pk, n);                                         \
		FIELDS(PROTO_F_PACK)                                             \
		(void)m;                                                         \
	}

#define PROTO_X_ENCODERS(num, NAME, name, by, doc)                                          \
	PROTO_GEN_ENCODER(proto_##name##_req, struct proto_##name##_req, PROTO_##NAME##_REQ)     \
	PROTO_GEN_ENCODER(proto_##name##_rep, struct proto_##name##_rep, PROTO_##NAME##_REP)     \
	nng_msg *proto_##name##_req_msg(uint64_t req_id, const struct proto_##name##_req *m)     \
	{                                                                                        \
		msgpack_packer pk;                                                                   \
		nng_msg *msg = proto_begin(&pk, num, req_id, PROTO_OK);                              \
		if (msg != NULL)                                                                     \
			proto_##name##_req_body(&pk, m);                                                 \
		return msg;                                                                          \
	}                                                                                        \
	nng_msg *proto_##name##_rep_msg(uint64_t req_id, const struct proto_##name##_rep *m)     \
	{                                                                                        \
		msgpack_packer pk;                                                                   \
		nng_msg *msg = proto_begin(&pk, num, req_id, PROTO_OK);                              \
		if (msg != NULL)                                                                     \
			proto_##name##_rep_body(&pk, m);                                                 \
		return msg;                                                                          \
	}
PROTO_OPS(PROTO_X_ENCODERS)
PROTO_GEN_ENCODER(proto_error, struct proto_error, PROTO_ERROR_BODY)

nng_msg *
proto_error_msg(unsigned op, uint64_t req_id, enum proto_status st, const char *detail,
    const char *field)
{
	struct proto_error e = {.detail = detail, .field = field, .has_field = field != NULL};
	msgpack_packer pk;
	nng_msg *msg = proto_begin(&pk, op, req_id, st);

	if (msg != NULL)
		proto_error_body(&pk, &e);
	return msg;
}

/* ---- decoding ----------------------------------------------------------- */

static const char *
proto_zfmt(msgpack_zone *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
proto_zfmt(msgpack_zone *z, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return "bad message";
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if ((out = msgpack_zone_malloc(z, (size_t)n + 1)) == NULL)
		return "bad message";
	memcpy(out, buf, (size_t)n + 1);
	return out;
}

static const char *
proto_zstr(msgpack_zone *z, const msgpack_object_str *s, const char **why)
{
	char *out;

	if (memchr(s->ptr, '\0', s->size) != NULL) {
		*why = "string contains a NUL byte";
		return NULL;
	}
	if ((out = msgpack_zone_malloc(z, (size_t)s->size + 1)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	memcpy(out, s->ptr, s->size);
	out[s->size] = '\0';
	return out;
}

static int
proto_get_STR(const msgpack_object *o, msgpack_zone *z, const char **v, const char **why)
{
	if (o->type != MSGPACK_OBJECT_STR) {
		*why = "expected a string";
		return -1;
	}
	return (*v = proto_zstr(z, &o->via.str, why)) != NULL ? 0 : -1;
}

static int
proto_get_U64(const msgpack_object *o, msgpack_zone *z, uint64_t *v, const char **why)
{
	(void)z;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*why = "expected an unsigned integer";
		return -1;
	}
	*v = o->via.u64;
	return 0;
}

static int
proto_get_I64(const msgpack_object *o, msgpack_zone *z, int64_t *v, const char **why)
{
	(void)z;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return 0;
	}
	*why = "expected a signed 64-bit integer";
	return -1;
}

static int
proto_get_BOOL(const msgpack_object *o, msgpack_zone *z, bool *v, const char **why)
{
	(void)z;
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		*why = "expected a boolean";
		return -1;
	}
	*v = o->via.boolean;
	return 0;
}

static int
proto_get_BIN(const msgpack_object *o, msgpack_zone *z, struct proto_bin *v, const char **why)
{
	(void)z;
	if (o->type != MSGPACK_OBJECT_BIN) {
		*why = "expected bytes";
		return -1;
	}
	v->ptr = (const uint8_t *)o->via.bin.ptr;
	v->len = o->via.bin.size;
	return 0;
}

static int
proto_get_STRS(const msgpack_object *o, msgpack_zone *z, struct proto_strs *v, const char **why)
{
	const char **out;

	if (o->type != MSGPACK_OBJECT_ARRAY) {
		*why = "expected an array of strings";
		return -1;
	}
	out = msgpack_zone_malloc(z, sizeof(*out) * (o->via.array.size + 1u));
	if (out == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		if (proto_get_STR(&o->via.array.ptr[i], z, &out[i], why) != 0)
			return -1;
	}
	v->v = out;
	v->n = o->via.array.size;
	return 0;
}

static int
proto_get_KVS(const msgpack_object *o, msgpack_zone *z, struct proto_kvs *v, const char **why)
{
	struct proto_kv *out;

	if (o->type != MSGPACK_OBJECT_ARRAY) {
		*why = "expected an array of [name, value] pairs";
		return -1;
	}
	out = msgpack_zone_malloc(z, sizeof(*out) * (o->via.array.size + 1u));
	if (out == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		const msgpack_object *pair = &o->via.array.ptr[i];

		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2) {
			*why = "expected a [name, value] pair";
			return -1;
		}
		if (proto_get_STR(&pair->via.array.ptr[0], z, &out[i].key, why) != 0 ||
		    proto_get_I64(&pair->via.array.ptr[1], z, &out[i].val, why) != 0)
			return -1;
	}
	v->v = out;
	v->n = o->via.array.size;
	return 0;
}

/* Field index enums give each field a bit in the `seen` mask. */
#define PROTO_F_IDX(type, name, key, req, doc) PROTO_IDX_##name,
#define PROTO_SET_HAS_REQ(m, name)
#define PROTO_SET_HAS_OPT(m, name) (m)->has_##name = true;
#define PROTO_IS_REQ_REQ 1
#define PROTO_IS_REQ_OPT 0
#define PROTO_F_MATCH(type, name, key, req, doc)                                           \
	if (klen == sizeof(key) - 1 && memcmp(kptr, key, klen) == 0) {                         \
		if (seen & (1ull << PROTO_IDX_##name)) {                                           \
			*err_r = proto_zfmt(z, "field '%s' appears twice", #name);                     \
			return -1;                                                                     \
		}                                                                                  \
		seen |= 1ull << PROTO_IDX_##name;                                                  \
		if (proto_get_##type(val, z, &m->name, &why) != 0) {                               \
			*err_r = proto_zfmt(z, "field '%s': %s", #name, why);                          \
			return -1;                                                                     \
		}                                                                                  \
		PROTO_SET_HAS_##req(m, name) continue;                                             \
	}
#define PROTO_F_REQUIRED(type, name, key, req, doc)                                        \
	if (PROTO_IS_REQ_##req && !(seen & (1ull << PROTO_IDX_##name))) {                      \
		*err_r = proto_zfmt(z, "missing field '%s'", #name);                               \
		return -1;                                                                         \
	}

#define PROTO_GEN_MAP_DECODER(fn, stype, FIELDS)                                           \
	static int fn(const msgpack_object *obj, msgpack_zone *z, stype *m, const char **err_r) \
	{                                                                                      \
		enum { FIELDS(PROTO_F_IDX) PROTO_IDX_END_ };                                       \
		const msgpack_object_map *map = &obj->via.map;                                     \
		uint64_t seen = 0;                                                                 \
		const char *why = NULL;                                                            \
		_Static_assert(PROTO_IDX_END_ <= 64, "too many fields");                           \
		memset(m, 0, sizeof(*m));                                                          \
		for (uint32_t i = 0; i < map->size; i++) {                                         \
			const msgpack_object *kobj = &map->ptr[i].key;                                 \
			const msgpack_object *val = &map->ptr[i].val;                                  \
			const char *kptr;                                                              \
			size_t klen;                                                                   \
			if (kobj->type != MSGPACK_OBJECT_STR) {                                        \
				*err_r = "body keys must be strings";                                      \
				return -1;                                                                 \
			}                                                                              \
			kptr = kobj->via.str.ptr;                                                      \
			klen = kobj->via.str.size;                                                     \
			FIELDS(PROTO_F_MATCH)                                                          \
			(void)kptr; (void)klen; (void)val;                                             \
		}                                                                                  \
		FIELDS(PROTO_F_REQUIRED)                                                           \
		(void)z; (void)why; (void)seen;                                                    \
		return 0;                                                                          \
	}

/* Records decode like bodies; a failure names the record's index. */
#define PROTO_X_REC_DECODER(rec)                                                             \
	PROTO_GEN_MAP_DECODER(proto_rec_##rec##_decode, struct proto_rec_##rec, PROTO_REC_##rec)  \
	__attribute__((unused)) static int proto_get_RECS_##rec(const msgpack_object *o,         \
	    msgpack_zone *z,                                                                     \
	    struct proto_recs_##rec *v, const char **why)                                        \
	{                                                                                        \
		struct proto_rec_##rec *out;                                                         \
		if (o->type != MSGPACK_OBJECT_ARRAY) {                                               \
			*why = "expected an array of records";                                           \
			return -1;                                                                       \
		}                                                                                    \
		out = msgpack_zone_malloc(z, sizeof(*out) * (o->via.array.size + 1u));               \
		if (out == NULL) {                                                                   \
			*why = "out of memory";                                                          \
			return -1;                                                                       \
		}                                                                                    \
		for (uint32_t i = 0; i < o->via.array.size; i++) {                                   \
			const char *err = NULL;                                                          \
			if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {                            \
				*why = proto_zfmt(z, "record %u: expected a map", i);                        \
				return -1;                                                                   \
			}                                                                                \
			if (proto_rec_##rec##_decode(&o->via.array.ptr[i], z, &out[i], &err) != 0) {     \
				*why = proto_zfmt(z, "record %u: %s", i, err);                               \
				return -1;                                                                   \
			}                                                                                \
		}                                                                                    \
		v->v = out;                                                                          \
		v->n = o->via.array.size;                                                            \
		return 0;                                                                            \
	}
PROTO_RECORDS(PROTO_X_REC_DECODER)

#define PROTO_GEN_DECODER(fn, stype, FIELDS)                                                 \
	PROTO_GEN_MAP_DECODER(fn##_map, stype, FIELDS)                                           \
	int fn(struct proto_env *env, stype *m, const char **err_r)                              \
	{                                                                                        \
		return fn##_map(env->body, env->up.zone, m, err_r);                                  \
	}

#define PROTO_X_DECODERS(num, NAME, name, by, doc)                                           \
	PROTO_GEN_DECODER(proto_##name##_req_decode, struct proto_##name##_req, PROTO_##NAME##_REQ) \
	PROTO_GEN_DECODER(proto_##name##_rep_decode, struct proto_##name##_rep, PROTO_##NAME##_REP)
PROTO_OPS(PROTO_X_DECODERS)
PROTO_GEN_DECODER(proto_error_decode, struct proto_error, PROTO_ERROR_BODY)

int
proto_env_decode(struct proto_env *env, const void *buf, size_t len, const char **err_r)
{
	const msgpack_object *a;
	size_t end = 0, off = 0;

	memset(env, 0, sizeof(*env));
	if (len > PROTO_MAX_MSG) {
		*err_r = "message too large";
		return -1;
	}
	if (proto_mpcheck(buf, len, &end, err_r) != 0)
		return -1;
	if (end != len) {
		*err_r = "trailing bytes after the message";
		return -1;
	}
	msgpack_unpacked_init(&env->up);
	env->live = true;
	if (msgpack_unpack_next(&env->up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
		*err_r = "malformed msgpack";
		goto fail;
	}
	a = &env->up.data;
	if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 5) {
		*err_r = "envelope must be an array of 5 elements";
		goto fail;
	}
	for (int i = 0; i < 4; i++) {
		static const char *const what[] = {"version", "op", "req_id", "status"};
		if (a->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			*err_r = proto_zfmt(env->up.zone, "envelope %s must be an unsigned integer",
			    what[i]);
			goto fail;
		}
	}
	if (a->via.array.ptr[0].via.u64 != PROTO_VERSION) {
		*err_r = "unsupported protocol version";
		goto fail;
	}
	if (a->via.array.ptr[1].via.u64 > 0xffff || a->via.array.ptr[3].via.u64 >= PROTO_STATUS_END) {
		*err_r = "envelope op or status out of range";
		goto fail;
	}
	if (a->via.array.ptr[4].type != MSGPACK_OBJECT_MAP) {
		*err_r = "envelope body must be a map";
		goto fail;
	}
	env->version = (unsigned)a->via.array.ptr[0].via.u64;
	env->op = (unsigned)a->via.array.ptr[1].via.u64;
	env->req_id = a->via.array.ptr[2].via.u64;
	env->status = (unsigned)a->via.array.ptr[3].via.u64;
	env->body = &a->via.array.ptr[4];
	return 0;
fail:
	/* err_r may point into the zone: keep the zone until proto_env_fini. */
	return -1;
}

void
proto_env_fini(struct proto_env *env)
{
	if (env->live) {
		msgpack_unpacked_destroy(&env->up);
		env->live = false;
	}
	env->body = NULL;
}
