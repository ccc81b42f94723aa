#include "ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ctype.h>
#include <string.h>

#include "log.h"
#include "storaged.h"
#include "xmalloc.h"

#define OPS_X_DECODER(num, NAME, name, by, doc)                                          \
	int ops_decode_##name(struct proto_env *env, void *req, const char **err_r)          \
	{                                                                                    \
		return proto_##name##_req_decode(env, req, err_r);                               \
	}
PROTO_OPS(OPS_X_DECODER)
#undef OPS_X_DECODER

/* Every family of ops storaged serves (PING, STATS and ECHO are answered by
 * proto/server.c). */
static const struct op_family *const ops_families[] = {
	&ops_family_core,
	&ops_family_users,
	&ops_family_sessions,
	&ops_family_notify,
	&ops_family_network,
	&ops_family_backup,
};
#define OPS_NFAMILIES (sizeof(ops_families) / sizeof(ops_families[0]))

static const struct op_def *ops_by_op[PROTO_OP_END];

static const struct op_def *
ops_find(unsigned op)
{
	return op < PROTO_OP_END ? ops_by_op[op] : NULL;
}

void
ops_register(proto_handler_fn handlers[PROTO_OP_END])
{
	for (size_t f = 0; f < OPS_NFAMILIES; f++) {
		for (size_t i = 0; i < ops_families[f]->n; i++) {
			const struct op_def *def = &ops_families[f]->ops[i];

			if (def->op >= PROTO_OP_END || ops_by_op[def->op] != NULL) {
				log_error("ops: op %u registered twice or out of range", def->op);
				abort();
			}
			ops_by_op[def->op] = def;
			handlers[def->op] = ops_handle;
		}
	}
}

void
ops_handle(void *arg, struct proto_request *r)
{
	struct storaged *sd = arg;
	const struct op_def *def = ops_find(r->env.op);
	struct op_job *job;
	const char *err = NULL;
	bool from_authd = r->has_peer_uid && r->peer_uid == sd->authd_uid;

	if (def == NULL) {
		proto_reply_error(r, PROTO_UNKNOWN_OP, "unknown op", NULL);
		return;
	}
	if (def->authd_only && !from_authd) {
		log_warnx("op %s refused: peer uid %llu is not authd's", proto_op_name(def->op),
		    (unsigned long long)r->peer_uid);
		proto_reply_error(r, PROTO_FORBIDDEN, "only authd may use this op", NULL);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->r = r;
	job->def = def;
	job->req = xcalloc(1, def->req_size);
	job->ctx.sd = sd;
	job->ctx.req_id = r->env.req_id;
	job->ctx.op = r->env.op;
	job->ctx.peer_is_authd = from_authd;
	if (def->decode(&r->env, job->req, &err) != 0) {
		job->st = op_fail(&job->ctx, PROTO_BAD_REQUEST, err, NULL);
		ops_finish(job);
		return;
	}
	if (def->engine) {   /* in-memory state: no connection, no queue */
		job->st = def->exec(&job->ctx, job->req, &job->reply);
		ops_finish(job);
		return;
	}
	log_debug("op %s queued for the %s", proto_op_name(def->op), def->write ? "writer" : "readers");
	if (def->write)
		writer_submit(sd->writer, job);
	else
		readers_submit(sd->readers, job);
}

void
ops_finish(struct op_job *job)
{
	log_debug("op %s done: %s", proto_op_name(job->def->op), proto_status_name(job->st));
	if (job->st == PROTO_OK && job->reply != NULL)
		proto_reply(job->r, job->reply);
	else
		proto_reply_error(job->r, job->st == PROTO_OK ? PROTO_INTERNAL : job->st,
		    job->ctx.detail ? job->ctx.detail : proto_status_name(job->st), job->ctx.field);
	free(job->req);
	free(job);
}

enum proto_status
op_fail(struct op_ctx *ctx, enum proto_status st, const char *detail, const char *field)
{
	ctx->detail = detail;
	ctx->field = field;
	return st;
}

enum proto_status
op_failf(struct op_ctx *ctx, enum proto_status st, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->detail_buf, sizeof(ctx->detail_buf), fmt, ap);
	va_end(ap);
	return op_fail(ctx, st, ctx->detail_buf, field);
}

/* Maps a failed statement to a typed error; constraint failures name the column. */
enum proto_status
op_sqlite_fail(struct op_ctx *ctx, int rc)
{
	const char *msg = sqlite3_errmsg(ctx->c->db);
	const char *dot = strrchr(msg, '.');
	const char *field = dot != NULL ? dot + 1 : NULL;

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return op_fail(ctx, PROTO_CONFLICT, "already exists", field);
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return op_fail(ctx, PROTO_NOT_FOUND, "a referenced row does not exist", NULL);
	case SQLITE_CONSTRAINT_NOTNULL:
		return op_fail(ctx, PROTO_BAD_REQUEST, "a required field is missing", field);
	case SQLITE_CONSTRAINT_CHECK:
		return op_fail(ctx, PROTO_BAD_REQUEST, "a field has an invalid value", NULL);
	default:
		log_error("db: %s (%d)", msg, rc);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
}

void
op_event(struct op_ctx *ctx, const char *kind, int64_t id, const char *key)
{
	struct op_event *e;

	if (ctx->nevents == OP_MAX_EVENTS) {
		log_error("ops: too many events in one request");
		return;
	}
	e = &ctx->events[ctx->nevents++];
	e->kind = kind;
	e->id = id;
	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
}

/* ---- helpers for exec functions ------------------------------------------ */

const char *
op_pool_dup(struct op_pool *p, const char *s)
{
	if (s == NULL)
		return NULL;
	p->v = op_grow(p->v, &p->cap, p->n, sizeof(p->v[0]));
	p->v[p->n] = xstrdup(s);
	return p->v[p->n++];
}

void
op_pool_free(struct op_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

void *
op_grow(void *v, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(v, *cap * sz);
}

const char *
op_col(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(st, i);
}

bool
op_valid_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

static void
op_time_fmt(char out[25], time_t t, long ms)
{
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 25, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 25 - n, ".%03uZ", (unsigned)ms % 1000u);
}

void
op_times(char now[25], char later[25], int64_t delta_s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	op_time_fmt(now, ts.tv_sec, ts.tv_nsec / 1000000);
	op_time_fmt(later, ts.tv_sec + (time_t)delta_s, ts.tv_nsec / 1000000);
}

void *
op_collect(sqlite3_stmt *st, size_t size, op_row_fn row, struct op_pool *pool, size_t *n_r,
    int *rc_r)
{
	char *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = op_grow(v, &cap, n, size);
		memset(v + n * size, 0, size);
		row(st, pool, v + n * size);
		n++;
	}
	sqlite3_reset(st);
	*n_r = n;
	*rc_r = rc;
	return v;
}
