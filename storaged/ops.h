/* ops: how storaged runs an operation.  Each op is a row in ops.c's table:
 * {op, write?, decoder, exec}.  The IPC handler decodes the request on an nng
 * thread and queues a job: writes go to the writer thread (group commit, each
 * job in its own savepoint), reads to the reader pool.  exec runs against the
 * connection it is given and returns a status; on PROTO_OK it sets *reply_r.
 * An engine op (OPS_DEF_ENGINE) reads state kept in memory by another part of
 * storaged (the backup engine) and touches no database: it runs at once on
 * the nng thread, with no connection (ctx->c is NULL) and no queue. */
#ifndef KUBARR_STORAGED_OPS_H
#define KUBARR_STORAGED_OPS_H

#include <stdbool.h>

#include "db.h"
#include "proto.h"
#include "server.h"

#define OP_MAX_EVENTS 8

struct storaged;

struct op_event {
	const char *kind;   /* "user", "role", "session", "setting" (static strings) */
	int64_t id;
	char key[64];
};

struct op_ctx {
	struct db_conn *c;
	struct storaged *sd;
	uint64_t req_id;
	unsigned op;
	const char *detail;          /* error text (static or from the request's zone) */
	const char *field;           /* the request field at fault */
	char detail_buf[200];        /* for details built by op_failf */
	struct op_event events[OP_MAX_EVENTS];
	size_t nevents;
	bool peer_is_authd;          /* the caller's uid is KUBARR_AUTHD_UID */
};

typedef enum proto_status (*op_exec_fn)(struct op_ctx *ctx, const void *req, nng_msg **reply_r);

struct op_def {
	unsigned op;
	bool write;
	bool authd_only;             /* secrets: only the uid KUBARR_AUTHD_UID may ask */
	size_t req_size;
	int (*decode)(struct proto_env *env, void *req, const char **err_r);
	op_exec_fn exec;
	bool engine;                 /* no database: exec runs on the nng thread, ctx->c NULL */
};

/* A maintenance task run by the writer in its own transaction; setting
 * *again_r queues it once more behind the writes waiting meanwhile. */
typedef int (*op_task_fn)(struct db_conn *c, void *arg, bool *again_r);

struct op_job {
	struct proto_request *r;
	const struct op_def *def;        /* NULL for a task */
	op_task_fn task;
	void *task_arg;
	void (*task_done)(void *arg, int rc); /* after the task's commit (or rollback) */
	bool notx;                   /* a task run outside any transaction (checkpoints) */
	void *req;                   /* decoded request; strings live in r's zone */
	struct op_ctx ctx;
	enum proto_status st;
	nng_msg *reply;
	struct op_job *next;
};

/* Decoders for every op's request, generated in ops.c: ops_decode_<name>. */
#define OPS_X_DECODER_DECL(num, NAME, name, by, doc) \
	int ops_decode_##name(struct proto_env *env, void *req, const char **err_r);
PROTO_OPS(OPS_X_DECODER_DECL)
#undef OPS_X_DECODER_DECL

/* A row of a family's table: OPS_DEF(AUDIT_APPEND, audit_append, true, ops_audit_append). */
#define OPS_DEF(NAME, name, is_write, fn) \
	{PROTO_OP_##NAME, is_write, false, sizeof(struct proto_##name##_req), ops_decode_##name, fn, \
	    false}
/* An op that returns secrets: refused (forbidden) to every peer but authd. */
#define OPS_DEF_AUTHD(NAME, name, is_write, fn) \
	{PROTO_OP_##NAME, is_write, true, sizeof(struct proto_##name##_req), ops_decode_##name, fn, \
	    false}
/* An op that reads in-memory engine state only: answered at once, never queued
 * behind the writer or the readers.  exec must not block. */
#define OPS_DEF_ENGINE(NAME, name, fn) \
	{PROTO_OP_##NAME, false, false, sizeof(struct proto_##name##_req), ops_decode_##name, fn, \
	    true}

/* Each family file (ops_<family>.c) exports its table; ops.c lists the families. */
struct op_family {
	const struct op_def *ops;
	size_t n;
};
extern const struct op_family ops_family_core, ops_family_users, ops_family_sessions,
    ops_family_notify, ops_family_network, ops_family_backup;

/* The handler for every op in the table (set in proto_service.handlers). */
void ops_handle(void *sd, struct proto_request *r);
void ops_register(proto_handler_fn handlers[PROTO_OP_END]);
/* Sends the job's reply (or its error) and frees it. */
void ops_finish(struct op_job *job);
/* Helpers for exec functions. */
enum proto_status op_fail(struct op_ctx *ctx, enum proto_status st, const char *detail,
    const char *field);
enum proto_status op_sqlite_fail(struct op_ctx *ctx, int rc);
/* op_fail with a formatted detail (kept in ctx until the reply is built). */
enum proto_status op_failf(struct op_ctx *ctx, enum proto_status st, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void op_event(struct op_ctx *ctx, const char *kind, int64_t id, const char *key);

/* Strings copied out of statement rows, freed together. */
struct op_pool {
	char **v;
	size_t n, cap;
};
const char *op_pool_dup(struct op_pool *p, const char *s);
void op_pool_free(struct op_pool *p);

/* Column text, or NULL for SQL NULL. */
const char *op_col(sqlite3_stmt *st, int i);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
bool op_valid_time(const char *s);
/* Now, and now plus delta_s seconds, from one clock reading, in that format. */
void op_times(char now[25], char later[25], int64_t delta_s);
/* Fills one zeroed record from the current row; strings go to the pool. */
typedef void (*op_row_fn)(sqlite3_stmt *st, struct op_pool *pool, void *rec);
/* Steps st to the end, one record of `size` bytes per row, resets st.  The
 * array (free it) and its length in *n_r; *rc_r is SQLITE_DONE or the
 * failing code, as from the loop it replaces. */
void *op_collect(sqlite3_stmt *st, size_t size, op_row_fn row, struct op_pool *pool,
    size_t *n_r, int *rc_r);
/* v (an array of *cap elements of size sz) grown to hold at least n + 1. */
void *op_grow(void *v, size_t *cap, size_t n, size_t sz);

/* ops_audit.c, ops_settings.c (the core family, listed in ops_core.c) */
enum proto_status ops_audit_append(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_audit_list(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_audit_stats(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_audit_clear(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
int ops_audit_clear_batch(struct db_conn *c, uint64_t days, uint64_t max_rows, uint64_t *deleted_r);
enum proto_status ops_setting_get(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_setting_set(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
enum proto_status ops_setting_get_secret(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
bool ops_setting_is_secret(const char *key);

#endif
