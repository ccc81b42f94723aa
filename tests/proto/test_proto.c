/* proto tests: every op round-trips (generated from proto_ops.h), malformed
 * input is refused with a reason naming the problem, the server answers bad
 * requests and unknown ops without dying. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "timeutil.h"
#include "xmalloc.h"

/* ---- sample values and comparison, by type ------------------------------ */

static const char *const sample_list[] = {"alpha", "", "ünïcødé \"q\" \\ /"};
static const struct proto_kv sample_kvs[] = {{"a", -1}, {"b", INT64_MAX}, {"c", INT64_MIN}};
static const uint8_t sample_bytes[] = {0, 1, 2, 0xff, 0xc1};

static void sample_STR(const char **v) { *v = "héllo \"world\"\t\n"; }
static void sample_U64(uint64_t *v) { *v = UINT64_MAX; }
static void sample_I64(int64_t *v) { *v = INT64_MIN + 1; }
static void sample_BOOL(bool *v) { *v = true; }
static void sample_BIN(struct proto_bin *v) { v->ptr = sample_bytes; v->len = sizeof(sample_bytes); }
static void sample_STRS(struct proto_strs *v) { v->v = (const char **)sample_list; v->n = 3; }
static void sample_KVS(struct proto_kvs *v) { v->v = sample_kvs; v->n = 3; }

static void cmp_STR(const char *const *a, const char *const *b) { assert_string_equal(*a, *b); }
static void cmp_U64(const uint64_t *a, const uint64_t *b) { assert_true(*a == *b); }
static void cmp_I64(const int64_t *a, const int64_t *b) { assert_true(*a == *b); }
static void cmp_BOOL(const bool *a, const bool *b) { assert_int_equal(*a, *b); }
static void
cmp_BIN(const struct proto_bin *a, const struct proto_bin *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->ptr, b->ptr, a->len);
}
static void
cmp_STRS(const struct proto_strs *a, const struct proto_strs *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}
static void
cmp_KVS(const struct proto_kvs *a, const struct proto_kvs *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->v[i].key, b->v[i].key);
		assert_true(a->v[i].val == b->v[i].val);
	}
}

#define SAMPLE_HAS_REQ(m, name)
#define SAMPLE_HAS_OPT(m, name) (m).has_##name = true;
#define SAMPLE_F(type, name, key, req, doc) sample_##type(&in.name); SAMPLE_HAS_##req(in, name)
#define CHECK_HAS_REQ(m, name)
#define CHECK_HAS_OPT(m, name) assert_true((m).has_##name);
#define CMP_F(type, name, key, req, doc) cmp_##type(&in.name, &out.name); CHECK_HAS_##req(out, name)

/* Records: two sample records per list, compared field by field. */
#define REC_SAMPLES(rec)                                                                   \
	static struct proto_rec_##rec sample_rec_##rec[2];                                     \
	__attribute__((unused)) static void sample_RECS_##rec(struct proto_recs_##rec *v)      \
	{                                                                                      \
		for (int i = 0; i < 2; i++) {                                                      \
			struct proto_rec_##rec in;                                                     \
			memset(&in, 0, sizeof(in));                                                    \
			PROTO_REC_##rec(SAMPLE_F)                                                      \
			sample_rec_##rec[i] = in;                                                      \
		}                                                                                  \
		v->v = sample_rec_##rec;                                                           \
		v->n = 2;                                                                          \
	}                                                                                      \
	__attribute__((unused)) static void cmp_RECS_##rec(const struct proto_recs_##rec *a,   \
	    const struct proto_recs_##rec *b)                                                  \
	{                                                                                      \
		assert_int_equal(a->n, b->n);                                                      \
		for (size_t i = 0; i < a->n; i++) {                                                \
			const struct proto_rec_##rec in = a->v[i], out = b->v[i];                      \
			PROTO_REC_##rec(CMP_F)                                                         \
		}                                                                                  \
	}
PROTO_RECORDS(REC_SAMPLES)

static void
decode_env(struct proto_env *env, nng_msg *m)
{
	const char *err = NULL;

	if (proto_env_decode(env, nng_msg_body(m), nng_msg_len(m), &err) != 0)
		fail_msg("decode: %s", err);
}

/* Round trip of every op's request and reply, every field set. */
#define ROUNDTRIP(num, NAME, name, by, doc)                                                 \
	static void test_roundtrip_##name(void **state)                                         \
	{                                                                                       \
		(void)state;                                                                        \
		{                                                                                   \
			struct proto_##name##_req in, out;                                              \
			struct proto_env env;                                                           \
			const char *err = NULL;                                                         \
			nng_msg *m;                                                                     \
			memset(&in, 0, sizeof(in));                                                     \
			PROTO_##NAME##_REQ(SAMPLE_F)                                                    \
			m = proto_##name##_req_msg(77, &in);                                            \
			decode_env(&env, m);                                                            \
			assert_int_equal(env.op, num);                                                  \
			assert_true(env.req_id == 77);                                                  \
			assert_int_equal(env.status, PROTO_OK);                                         \
			assert_int_equal(proto_##name##_req_decode(&env, &out, &err), 0);               \
			PROTO_##NAME##_REQ(CMP_F)                                                       \
			proto_env_fini(&env);                                                           \
			nng_msg_free(m);                                                                \
		}                                                                                   \
		{                                                                                   \
			struct proto_##name##_rep in, out;                                              \
			struct proto_env env;                                                           \
			const char *err = NULL;                                                         \
			nng_msg *m;                                                                     \
			memset(&in, 0, sizeof(in));                                                     \
			PROTO_##NAME##_REP(SAMPLE_F)                                                    \
			m = proto_##name##_rep_msg(UINT64_MAX, &in);                                    \
			decode_env(&env, m);                                                            \
			assert_true(env.req_id == UINT64_MAX);                                          \
			assert_int_equal(proto_##name##_rep_decode(&env, &out, &err), 0);               \
			PROTO_##NAME##_REP(CMP_F)                                                       \
			proto_env_fini(&env);                                                           \
			nng_msg_free(m);                                                                \
		}                                                                                   \
	}
PROTO_OPS(ROUNDTRIP)

/* ---- hand-built messages ------------------------------------------------ */

struct raw {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
raw_init(struct raw *r)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void
raw_str(struct raw *r, const char *s, size_t len)
{
	msgpack_pack_str(&r->pk, len);
	msgpack_pack_str_body(&r->pk, s, len);
}

static void
raw_env(struct raw *r, unsigned op, unsigned status, size_t nfields)
{
	msgpack_pack_array(&r->pk, 5);
	msgpack_pack_uint8(&r->pk, PROTO_VERSION);
	msgpack_pack_unsigned_int(&r->pk, op);
	msgpack_pack_uint64(&r->pk, 5);
	msgpack_pack_unsigned_int(&r->pk, status);
	msgpack_pack_map(&r->pk, nfields);
}

/* A PING reply with every required field, optionally one replaced or left out. */
static void
raw_ping_rep(struct raw *r, const char *skip, const char *dup)
{
	const char *keys[] = {"d", "v", "p", "u", "r"};
	size_t n = 5 - (skip != NULL) + (dup != NULL);

	raw_init(r);
	raw_env(r, PROTO_OP_PING, PROTO_OK, n);
	for (size_t i = 0; i < 5; i++) {
		int times = 1 + (dup && strcmp(dup, keys[i]) == 0);

		if (skip && strcmp(skip, keys[i]) == 0)
			continue;
		while (times-- > 0) {
			raw_str(r, keys[i], strlen(keys[i]));
			if (i < 2)
				raw_str(r, "x", 1);
			else if (i < 4)
				msgpack_pack_uint64(&r->pk, 1);
			else
				msgpack_pack_true(&r->pk);
		}
	}
}

static const char *
decode_ping_rep_error(struct raw *r)
{
	static char buf[256];
	struct proto_env env;
	struct proto_ping_rep rep;
	const char *err = NULL;

	if (proto_env_decode(&env, r->sb.data, r->sb.size, &err) == 0) {
		if (proto_ping_rep_decode(&env, &rep, &err) == 0)
			err = NULL;
	}
	snprintf(buf, sizeof(buf), "%s", err ? err : "");
	proto_env_fini(&env);
	msgpack_sbuffer_destroy(&r->sb);
	return err ? buf : NULL;
}

static void
test_missing_field_is_named(void **state)
{
	struct raw r;
	const char *err;

	(void)state;
	raw_ping_rep(&r, NULL, NULL);
	assert_null(decode_ping_rep_error(&r));
	raw_ping_rep(&r, "p", NULL);
	err = decode_ping_rep_error(&r);
	assert_non_null(err);
	assert_string_equal(err, "missing field 'pid'");
	raw_ping_rep(&r, "d", NULL);
	assert_string_equal(decode_ping_rep_error(&r), "missing field 'daemon'");
}

static void
test_duplicate_field_refused(void **state)
{
	struct raw r;

	(void)state;
	raw_ping_rep(&r, NULL, "u");
	assert_string_equal(decode_ping_rep_error(&r), "field 'uptime_ms' appears twice");
}

static void
test_wrong_type_is_named(void **state)
{
	struct raw r;

	(void)state;
	raw_init(&r);
	raw_env(&r, PROTO_OP_PING, PROTO_OK, 5);
	raw_str(&r, "d", 1);
	raw_str(&r, "x", 1);
	raw_str(&r, "v", 1);
	raw_str(&r, "x", 1);
	raw_str(&r, "p", 1);
	raw_str(&r, "12", 2); /* should be an integer */
	raw_str(&r, "u", 1);
	msgpack_pack_uint64(&r.pk, 1);
	raw_str(&r, "r", 1);
	msgpack_pack_true(&r.pk);
	assert_string_equal(decode_ping_rep_error(&r), "field 'pid': expected an unsigned integer");

	raw_init(&r);
	raw_env(&r, PROTO_OP_PING, PROTO_OK, 5);
	raw_str(&r, "d", 1);
	raw_str(&r, "a\0b", 3); /* NUL inside text */
	raw_str(&r, "v", 1);
	raw_str(&r, "x", 1);
	raw_str(&r, "p", 1);
	msgpack_pack_int64(&r.pk, -1); /* negative where unsigned is required */
	raw_str(&r, "u", 1);
	msgpack_pack_uint64(&r.pk, 1);
	raw_str(&r, "r", 1);
	msgpack_pack_true(&r.pk);
	assert_string_equal(decode_ping_rep_error(&r), "field 'daemon': string contains a NUL byte");
}

static void
test_record_errors_name_the_record(void **state)
{
	struct raw r;
	struct proto_env env;
	struct proto_echo_req req;
	const char *err = NULL;

	(void)state;
	raw_init(&r);
	raw_env(&r, PROTO_OP_ECHO, PROTO_OK, 1);
	raw_str(&r, "r", 1);
	msgpack_pack_array(&r.pk, 2);
	msgpack_pack_map(&r.pk, 2);
	raw_str(&r, "n", 1);
	raw_str(&r, "a", 1);
	raw_str(&r, "v", 1);
	msgpack_pack_int64(&r.pk, -1);
	msgpack_pack_map(&r.pk, 1);
	raw_str(&r, "n", 1);
	raw_str(&r, "b", 1);
	assert_int_equal(proto_env_decode(&env, r.sb.data, r.sb.size, &err), 0);
	assert_int_equal(proto_echo_req_decode(&env, &req, &err), -1);
	assert_string_equal(err, "field 'items': record 1: missing field 'value'");
	proto_env_fini(&env);
	msgpack_sbuffer_destroy(&r.sb);
}

static void
test_unknown_fields_ignored(void **state)
{
	struct raw r;

	(void)state;
	raw_init(&r);
	raw_env(&r, PROTO_OP_PING, PROTO_OK, 6);
	raw_str(&r, "future", 6);
	msgpack_pack_array(&r.pk, 2);
	msgpack_pack_nil(&r.pk);
	msgpack_pack_double(&r.pk, 1.5);
	raw_str(&r, "d", 1);
	raw_str(&r, "x", 1);
	raw_str(&r, "v", 1);
	raw_str(&r, "x", 1);
	raw_str(&r, "p", 1);
	msgpack_pack_uint64(&r.pk, 1);
	raw_str(&r, "u", 1);
	msgpack_pack_uint64(&r.pk, 1);
	raw_str(&r, "r", 1);
	msgpack_pack_false(&r.pk);
	assert_null(decode_ping_rep_error(&r));
}

static const char *
env_error(const void *buf, size_t len)
{
	static char out[256];
	struct proto_env env;
	const char *err = NULL;
	int rc = proto_env_decode(&env, buf, len, &err);

	snprintf(out, sizeof(out), "%s", rc == 0 ? "" : err);
	proto_env_fini(&env);
	return rc == 0 ? NULL : out;
}

static void
test_envelope_errors(void **state)
{
	struct raw r;
	nng_msg *m;
	struct proto_ping_rep rep = {.daemon = "d", .version = "v"};

	(void)state;
	assert_string_equal(env_error("", 0), "message truncated");
	assert_string_equal(env_error("\x93\x01\x01\x01", 4), "envelope must be an array of 5 elements");
	assert_string_equal(env_error("\xc1", 1), "reserved msgpack byte 0xc1");
	assert_string_equal(env_error("\xd4\x01\x01", 3), "msgpack ext types are not accepted");
	/* array32 claiming 4 billion elements in 5 bytes */
	assert_string_equal(env_error("\xdd\xff\xff\xff\xff", 5), "element count exceeds message size");
	assert_string_equal(env_error("\xdf\x7f\xff\xff\xff\x01", 6), "element count exceeds message size");
	/* str32 longer than the message */
	assert_string_equal(env_error("\xdb\x00\x00\x10\x00" "abc", 8), "message truncated");

	/* nesting deeper than PROTO_MAX_DEPTH */
	{
		uint8_t deep[64];
		memset(deep, 0x91, sizeof(deep));
		deep[sizeof(deep) - 1] = 0x01;
		assert_string_equal(env_error(deep, sizeof(deep)), "message nested too deeply");
	}

	/* version, body type, op range */
	raw_init(&r);
	msgpack_pack_array(&r.pk, 5);
	msgpack_pack_uint8(&r.pk, 2);
	msgpack_pack_uint8(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 0);
	msgpack_pack_map(&r.pk, 0);
	assert_string_equal(env_error(r.sb.data, r.sb.size), "unsupported protocol version");
	msgpack_sbuffer_destroy(&r.sb);

	raw_init(&r);
	msgpack_pack_array(&r.pk, 5);
	msgpack_pack_uint8(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 0);
	msgpack_pack_array(&r.pk, 0);
	assert_string_equal(env_error(r.sb.data, r.sb.size), "envelope body must be a map");
	msgpack_sbuffer_destroy(&r.sb);

	raw_init(&r);
	msgpack_pack_array(&r.pk, 5);
	msgpack_pack_uint8(&r.pk, 1);
	raw_str(&r, "op", 2);
	msgpack_pack_uint8(&r.pk, 1);
	msgpack_pack_uint8(&r.pk, 0);
	msgpack_pack_map(&r.pk, 0);
	assert_string_equal(env_error(r.sb.data, r.sb.size), "envelope op must be an unsigned integer");
	msgpack_sbuffer_destroy(&r.sb);

	/* trailing bytes and every truncation of a valid message */
	m = proto_ping_rep_msg(1, &rep);
	{
		size_t len = nng_msg_len(m);
		uint8_t *buf = xmalloc(len + 1);

		memcpy(buf, nng_msg_body(m), len);
		buf[len] = 0x00;
		assert_null(env_error(buf, len));
		assert_string_equal(env_error(buf, len + 1), "trailing bytes after the message");
		for (size_t i = 0; i < len; i++)
			assert_non_null(env_error(buf, i));
		free(buf);
	}
	nng_msg_free(m);
}

static void
test_error_body(void **state)
{
	nng_msg *m = proto_error_msg(PROTO_OP_PING, 9, PROTO_CONFLICT, "taken", "username");
	struct proto_env env;
	struct proto_error e;
	const char *err;

	(void)state;
	decode_env(&env, m);
	assert_int_equal(env.status, PROTO_CONFLICT);
	assert_int_equal(proto_error_decode(&env, &e, &err), 0);
	assert_string_equal(e.detail, "taken");
	assert_true(e.has_field);
	assert_string_equal(e.field, "username");
	proto_env_fini(&env);
	nng_msg_free(m);
	assert_string_equal(proto_status_name(PROTO_CONFLICT), "conflict");
	assert_string_equal(proto_op_name(PROTO_OP_STATS), "stats");
	assert_string_equal(proto_op_name(999), "unknown");
}

static void
test_req_ids_unique(void **state)
{
	uint64_t a = proto_next_req_id(), b = proto_next_req_id();

	(void)state;
	assert_true(a != 0);
	assert_true(b == a + 1);
}

/* ---- through a real server ---------------------------------------------- */

struct srv_fixture {
	char dir[64];
	char url[128];
	struct proto_server *srv;
	struct ipc_client *c;
};

static int
srv_setup(void **state)
{
	struct srv_fixture *f = xcalloc(1, sizeof(*f));
	struct proto_service svc = {.daemon = "testd", .started_us = time_mono_us()};
	char *err = NULL;
	int64_t until;

	snprintf(f->dir, sizeof(f->dir), "/tmp/kubarr-proto-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->url, sizeof(f->url), "ipc://%s/t.ipc", f->dir);
	if (proto_server_open(&f->srv, f->url, 4, &svc, &err) != 0 ||
	    ipc_client_open(&f->c, f->url, 0, &err) != 0)
		return -1;
	until = time_mono_us() + 2000000;
	while (!ipc_client_connected(f->c) && time_mono_us() < until)
		usleep(1000);
	*state = f;
	return 0;
}

static int
srv_teardown(void **state)
{
	struct srv_fixture *f = *state;
	char path[160];

	ipc_client_close(&f->c);
	proto_server_close(&f->srv, time_mono_us() + 100000);
	snprintf(path, sizeof(path), "%s/t.ipc", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_server_ping_stats_echo(void **state)
{
	struct srv_fixture *f = *state;
	struct proto_ping_req preq = {0};
	struct proto_ping_rep prep;
	struct proto_stats_req sreq = {0};
	struct proto_stats_rep srep;
	struct proto_echo_req ereq = {.s = "round", .has_s = true, .i = -7, .has_i = true};
	struct proto_echo_rep erep;
	struct proto_reply hold;
	bool saw_ping = false;

	assert_int_equal(proto_ping_call_sync(f->c, &preq, 1000, &prep, &hold), PROTO_OK);
	assert_string_equal(prep.daemon, "testd");
	assert_true(prep.ready);
	assert_int_equal(prep.pid, (uint64_t)getpid());
	proto_reply_fini(&hold);

	assert_int_equal(proto_echo_call_sync(f->c, &ereq, 1000, &erep, &hold), PROTO_OK);
	assert_string_equal(erep.s, "round");
	assert_true(erep.i == -7);
	assert_false(erep.has_u);
	proto_reply_fini(&hold);

	assert_int_equal(proto_stats_call_sync(f->c, &sreq, 1000, &srep, &hold), PROTO_OK);
	for (size_t i = 0; i < srep.counters.n; i++) {
		if (strcmp(srep.counters.v[i].key, "op_ping") == 0) {
			assert_true(srep.counters.v[i].val == 1);
			saw_ping = true;
		}
	}
	assert_true(saw_ping);
	proto_reply_fini(&hold);
}

static unsigned
raw_call_status(struct srv_fixture *f, const void *buf, size_t len, char *detail, size_t dlen)
{
	nng_msg *req, *rep = NULL;
	struct proto_env env;
	struct proto_error e;
	const char *err;
	unsigned st;

	assert_int_equal(nng_msg_alloc(&req, 0), 0);
	assert_int_equal(nng_msg_append(req, buf, len), 0);
	assert_int_equal(ipc_client_call_sync(f->c, req, 1000, &rep), IPC_OK);
	decode_env(&env, rep);
	st = env.status;
	assert_int_equal(proto_error_decode(&env, &e, &err), 0);
	snprintf(detail, dlen, "%s", e.detail);
	proto_env_fini(&env);
	nng_msg_free(rep);
	return st;
}

static void
test_server_rejects_bad_input(void **state)
{
	struct srv_fixture *f = *state;
	struct proto_ping_req preq = {0};
	struct proto_ping_rep prep;
	struct proto_reply hold;
	char detail[128];
	struct raw r;

	assert_int_equal(raw_call_status(f, "\xdd\xff\xff\xff\xff", 5, detail, sizeof(detail)),
	    PROTO_BAD_REQUEST);
	assert_string_equal(detail, "element count exceeds message size");
	assert_int_equal(raw_call_status(f, "garbage", 7, detail, sizeof(detail)), PROTO_BAD_REQUEST);

	raw_init(&r);
	raw_env(&r, 4242, PROTO_OK, 0);
	assert_int_equal(raw_call_status(f, r.sb.data, r.sb.size, detail, sizeof(detail)),
	    PROTO_UNKNOWN_OP);
	msgpack_sbuffer_destroy(&r.sb);

	raw_init(&r);
	raw_env(&r, PROTO_OP_PING, PROTO_CONFLICT, 0);
	assert_int_equal(raw_call_status(f, r.sb.data, r.sb.size, detail, sizeof(detail)),
	    PROTO_BAD_REQUEST);
	assert_string_equal(detail, "a request must have status ok");
	msgpack_sbuffer_destroy(&r.sb);

	raw_init(&r);
	raw_env(&r, PROTO_OP_ECHO, PROTO_OK, 1);
	raw_str(&r, "u", 1);
	raw_str(&r, "x", 1);
	assert_int_equal(raw_call_status(f, r.sb.data, r.sb.size, detail, sizeof(detail)),
	    PROTO_BAD_REQUEST);
	assert_string_equal(detail, "field 'u': expected an unsigned integer");
	msgpack_sbuffer_destroy(&r.sb);

	/* still serving */
	assert_int_equal(proto_ping_call_sync(f->c, &preq, 1000, &prep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define ROUNDTRIP_TEST(num, NAME, name, by, doc) cmocka_unit_test(test_roundtrip_##name),
		PROTO_OPS(ROUNDTRIP_TEST)
		cmocka_unit_test(test_missing_field_is_named),
		cmocka_unit_test(test_duplicate_field_refused),
		cmocka_unit_test(test_wrong_type_is_named),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_record_errors_name_the_record),
		cmocka_unit_test(test_envelope_errors),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_req_ids_unique),
		cmocka_unit_test_setup_teardown(test_server_ping_stats_echo, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_server_rejects_bad_input, srv_setup, srv_teardown),
	};

	log_init("test");
	log_set_level(LOG_LEVEL_ERROR);
	{
		int rc = cmocka_run_group_tests(tests, NULL, NULL);

		ipc_fini(); /* let nng's reaper free closed sockets before exit */
		return rc;
	}
}
