#include "client.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

union proto_any_cb {
#define PROTO_X_CBFIELD(num, NAME, name, by, doc) proto_##name##_cb name;
	PROTO_OPS(PROTO_X_CBFIELD)
#undef PROTO_X_CBFIELD
};

struct proto_call {
	unsigned op;
	uint64_t req_id;
	union proto_any_cb cb;
	void *arg;
};

void
proto_reply_fini(struct proto_reply *hold)
{
	proto_env_fini(&hold->env);
	if (hold->msg != NULL) {
		nng_msg_free(hold->msg);
		hold->msg = NULL;
	}
}

/* Transport status, envelope, op and req_id checks, error bodies: common to
 * every op.  Returns PROTO_OK when env holds a reply body for the op. */
static enum proto_status
proto_call_check(unsigned op, uint64_t req_id, enum ipc_status ist, nng_msg *msg,
    struct proto_reply *hold)
{
	struct proto_error e;
	const char *err;

	memset(hold, 0, sizeof(*hold));
	hold->msg = msg;
	switch (ist) {
	case IPC_OK:
		break;
	case IPC_DOWN:
		hold->detail = "peer unavailable";
		return PROTO_UNAVAILABLE;
	case IPC_BUSY:
		hold->detail = "too many calls in flight";
		return PROTO_UNAVAILABLE;
	case IPC_TIMEOUT:
		hold->detail = "deadline exceeded";
		return PROTO_TIMEOUT;
	case IPC_ERROR:
		hold->detail = "ipc error";
		return PROTO_INTERNAL;
	}
	if (proto_env_decode(&hold->env, nng_msg_body(msg), nng_msg_len(msg), &err) != 0) {
		hold->detail = err;
		return PROTO_INTERNAL;
	}
	if (hold->env.status != PROTO_OK) {
		hold->detail = proto_error_decode(&hold->env, &e, &err) == 0 ? e.detail : err;
		return hold->env.status;
	}
	if (hold->env.op != op || hold->env.req_id != req_id) {
		hold->detail = "reply does not match the request";
		return PROTO_INTERNAL;
	}
	return PROTO_OK;
}

#define PROTO_X_STUBS(num, NAME, name, by, doc)                                                \
	static void proto_##name##_done(void *arg, enum ipc_status ist, nng_msg *msg)              \
	{                                                                                          \
		struct proto_call *pc = arg;                                                           \
		struct proto_reply hold;                                                               \
		struct proto_##name##_rep rep;                                                         \
		enum proto_status st = proto_call_check(num, pc->req_id, ist, msg, &hold);             \
		if (st == PROTO_OK && proto_##name##_rep_decode(&hold.env, &rep, &hold.detail) != 0)   \
			st = PROTO_INTERNAL;                                                               \
		pc->cb.name(pc->arg, st, st == PROTO_OK ? &rep : NULL, hold.detail);                   \
		proto_reply_fini(&hold);                                                               \
		free(pc);                                                                              \
	}                                                                                          \
	void proto_##name##_call(struct ipc_client *c, const struct proto_##name##_req *req,       \
	    int timeout_ms, proto_##name##_cb cb, void *arg)                                       \
	{                                                                                          \
		struct proto_call *pc = xmalloc(sizeof(*pc));                                          \
		nng_msg *msg;                                                                          \
		pc->op = num;                                                                          \
		pc->req_id = proto_next_req_id();                                                      \
		pc->cb.name = cb;                                                                      \
		pc->arg = arg;                                                                         \
		if ((msg = proto_##name##_req_msg(pc->req_id, req)) == NULL) {                         \
			free(pc);                                                                          \
			cb(arg, PROTO_INTERNAL, NULL, "out of memory");                                    \
			return;                                                                            \
		}                                                                                      \
		ipc_client_call(c, msg, timeout_ms, proto_##name##_done, pc);                          \
	}                                                                                          \
	enum proto_status proto_##name##_call_sync(struct ipc_client *c,                           \
	    const struct proto_##name##_req *req, int timeout_ms, struct proto_##name##_rep *rep,  \
	    struct proto_reply *hold)                                                              \
	{                                                                                          \
		uint64_t req_id = proto_next_req_id();                                                 \
		nng_msg *msg = proto_##name##_req_msg(req_id, req), *repmsg = NULL;                    \
		enum ipc_status ist;                                                                   \
		enum proto_status st;                                                                  \
		if (msg == NULL) {                                                                     \
			memset(hold, 0, sizeof(*hold));                                                    \
			hold->detail = "out of memory";                                                    \
			return PROTO_INTERNAL;                                                             \
		}                                                                                      \
		ist = ipc_client_call_sync(c, msg, timeout_ms, &repmsg);                               \
		st = proto_call_check(num, req_id, ist, repmsg, hold);                                 \
		if (st == PROTO_OK && proto_##name##_rep_decode(&hold->env, rep, &hold->detail) != 0)  \
			st = PROTO_INTERNAL;                                                               \
		return st;                                                                             \
	}
PROTO_OPS(PROTO_X_STUBS)
#undef PROTO_X_STUBS
