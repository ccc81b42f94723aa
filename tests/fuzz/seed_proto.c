/* Writes a seed corpus for fuzz_proto: one valid message per op direction
 * with every field set, and an error reply.  Generated from proto_ops.h, so a
 * new op gets seeds without anyone remembering to add them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static int
seed_write(const char *dir, const char *name, nng_msg *m)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		return -1;
	}
	fwrite(nng_msg_body(m), 1, nng_msg_len(m), f);
	fclose(f);
	nng_msg_free(m);
	return 0;
}

static const char *const seed_list[] = {"a", "bc"};
static const struct proto_kv seed_kvs[] = {{"k", -5}, {"j", 7}};
static const uint8_t seed_bytes[] = {1, 2, 3};

static void seed_STR(const char **x) { *x = "seed"; }
static void seed_U64(uint64_t *x) { *x = 300; }
static void seed_I64(int64_t *x) { *x = -300; }
static void seed_BOOL(bool *x) { *x = true; }
static void seed_BIN(struct proto_bin *x) { x->ptr = seed_bytes; x->len = sizeof(seed_bytes); }
static void seed_STRS(struct proto_strs *x) { x->v = (const char **)seed_list; x->n = 2; }
static void seed_KVS(struct proto_kvs *x) { x->v = seed_kvs; x->n = 2; }
#define SEED_HAS_REQ(m, name)
#define SEED_HAS_OPT(m, name) (m).has_##name = true;
#define SEED_F(type, name, key, req, doc) seed_##type(&m.name); SEED_HAS_##req(m, name)

/* One seed record per list. */
#define SEED_X_REC(rec)                                                       \
	static struct proto_rec_##rec seed_rec_##rec;                             \
	__attribute__((unused)) static void seed_RECS_##rec(struct proto_recs_##rec *x) \
	{                                                                         \
		struct proto_rec_##rec m;                                             \
		memset(&m, 0, sizeof(m));                                             \
		PROTO_REC_##rec(SEED_F)                                               \
		seed_rec_##rec = m;                                                   \
		x->v = &seed_rec_##rec;                                               \
		x->n = 1;                                                             \
	}
PROTO_RECORDS(SEED_X_REC)

int
main(int argc, char **argv)
{
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: seed_proto DIR\n");
		return 2;
	}
#define SEED_X(num, NAME, name, by, doc)                                              \
	{                                                                                \
		struct proto_##name##_req m;                                                 \
		memset(&m, 0, sizeof(m));                                                    \
		PROTO_##NAME##_REQ(SEED_F)                                                   \
		rc |= seed_write(argv[1], #name "_req", proto_##name##_req_msg(1, &m));       \
	}                                                                                \
	{                                                                                \
		struct proto_##name##_rep m;                                                 \
		memset(&m, 0, sizeof(m));                                                    \
		PROTO_##NAME##_REP(SEED_F)                                                   \
		rc |= seed_write(argv[1], #name "_rep", proto_##name##_rep_msg(2, &m));       \
	}
	PROTO_OPS(SEED_X)
	rc |= seed_write(argv[1], "error", proto_error_msg(1, 3, PROTO_NOT_FOUND, "no", "id"));
	return rc ? 1 : 0;
}
