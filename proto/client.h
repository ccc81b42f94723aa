/* proto client stubs: the only code that builds requests.  One pair per op:
 *
 *   void proto_<op>_call(c, &req, timeout_ms, cb, arg);
 *       cb(arg, status, rep or NULL, detail or NULL) runs once, on an nng thread
 *       or (peer down) on the caller's thread; rep lives until cb returns.
 *   enum proto_status proto_<op>_call_sync(c, &req, timeout_ms, &rep, &hold);
 *       rep's strings live in hold until proto_reply_fini(&hold). */
#ifndef KUBARR_PROTO_CLIENT_H
#define KUBARR_PROTO_CLIENT_H

#include "ipc.h"
#include "proto.h"

struct proto_reply {
	struct proto_env env;
	nng_msg *msg;
	const char *detail;  /* error text, when status != ok */
};
void proto_reply_fini(struct proto_reply *hold);

#define PROTO_X_CLIENT(num, NAME, name, by, doc)                                              \
	typedef void (*proto_##name##_cb)(void *arg, enum proto_status st,                         \
	    const struct proto_##name##_rep *rep, const char *detail);                             \
	void proto_##name##_call(struct ipc_client *c, const struct proto_##name##_req *req,       \
	    int timeout_ms, proto_##name##_cb cb, void *arg);                                      \
	enum proto_status proto_##name##_call_sync(struct ipc_client *c,                           \
	    const struct proto_##name##_req *req, int timeout_ms, struct proto_##name##_rep *rep,  \
	    struct proto_reply *hold);
PROTO_OPS(PROTO_X_CLIENT)
#undef PROTO_X_CLIENT

#endif
