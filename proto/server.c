#include "server.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

struct proto_server {
	struct ipc_server *ipc;
	struct proto_service svc;
	atomic_ullong requests;
	atomic_ullong bad_requests;
	atomic_ullong unknown_ops;
	atomic_ullong per_op[PROTO_OP_END];
};

void
proto_stats_add(struct proto_stats *st, const char *key, int64_t val)
{
	if (st->n < PROTO_STATS_MAX) {
		st->kv[st->n].key = key;
		st->kv[st->n].val = val;
		st->n++;
	}
}

int64_t
proto_rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (int64_t)rss * (sysconf(_SC_PAGESIZE) / 1024);
}

void
proto_reply(struct proto_request *r, nng_msg *rep)
{
	struct ipc_call *call = r->call;

	if (rep == NULL)
		rep = proto_error_msg(r->env.op, r->env.req_id, PROTO_INTERNAL, "out of memory", NULL);
	proto_env_fini(&r->env);
	nng_msg_free(r->msg);
	free(r);
	ipc_call_reply(call, rep);
}

void
proto_reply_error(struct proto_request *r, enum proto_status st, const char *detail,
    const char *field)
{
	if (st == PROTO_BAD_REQUEST)
		atomic_fetch_add(&r->srv->bad_requests, 1);
	proto_reply(r, proto_error_msg(r->env.op, r->env.req_id, st, detail, field));
}

static void
proto_server_ping(struct proto_server *srv, struct proto_request *r)
{
	struct proto_ping_req req;
	struct proto_ping_rep rep = {
		.daemon = srv->svc.daemon,
		.version = daemon_version,
		.pid = (uint64_t)getpid(),
		.uptime_ms = (uint64_t)(time_mono_us() - srv->svc.started_us) / 1000,
		.ready = true,
	};
	const char *err;

	if (proto_ping_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	if (srv->svc.ping)
		srv->svc.ping(srv->svc.ctx, &rep);
	proto_reply(r, proto_ping_rep_msg(r->env.req_id, &rep));
}

void
proto_server_stats_collect(struct proto_server *srv, struct proto_stats *st)
{
	proto_stats_add(st, "uptime_ms", (time_mono_us() - srv->svc.started_us) / 1000);
	proto_stats_add(st, "rss_kib", proto_rss_kib());
	proto_stats_add(st, "ipc_requests", (int64_t)atomic_load(&srv->requests));
	proto_stats_add(st, "ipc_bad_requests", (int64_t)atomic_load(&srv->bad_requests));
	proto_stats_add(st, "ipc_unknown_ops", (int64_t)atomic_load(&srv->unknown_ops));
	proto_stats_add(st, "ipc_refused_peers", (int64_t)ipc_server_refused_peers(srv->ipc));
	proto_stats_add(st, "ipc_relistens", (int64_t)ipc_server_relistens(srv->ipc));
	proto_stats_add(st, "ipc_redials", (int64_t)ipc_redial_count());
	/* the daemon's own first; then the ops it has served (zero counts are
	 * left out: with 100+ ops they would crowd out everything else) */
	if (srv->svc.stats)
		srv->svc.stats(srv->svc.ctx, st);
#define PROTO_X_OPSTAT(num, NAME, name, by, doc)                               \
	if (atomic_load(&srv->per_op[num]) != 0)                                   \
		proto_stats_add(st, "op_" #name, (int64_t)atomic_load(&srv->per_op[num]));
	PROTO_OPS(PROTO_X_OPSTAT)
#undef PROTO_X_OPSTAT
}

static void
proto_server_stats(struct proto_server *srv, struct proto_request *r)
{
	struct proto_stats_req req;
	struct proto_stats_rep rep = {.daemon = srv->svc.daemon};
	struct proto_stats *st;
	const char *err;

	if (proto_stats_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	st = xcalloc(1, sizeof(*st));
	proto_server_stats_collect(srv, st);
	rep.counters.v = st->kv;
	rep.counters.n = st->n;
	proto_reply(r, proto_stats_rep_msg(r->env.req_id, &rep));
	free(st);
}

static void
proto_server_echo(struct proto_request *r)
{
	struct proto_echo_req req;
	struct proto_echo_rep rep;
	const char *err;

	if (proto_echo_req_decode(&r->env, &req, &err) != 0) {
		proto_reply_error(r, PROTO_BAD_REQUEST, err, NULL);
		return;
	}
	_Static_assert(sizeof(req) == sizeof(rep), "echo request and reply differ");
	memcpy(&rep, &req, sizeof(rep));
	proto_reply(r, proto_echo_rep_msg(r->env.req_id, &rep));
}

static void
proto_server_handle(void *arg, struct ipc_call *call, nng_msg *msg)
{
	struct proto_server *srv = arg;
	struct proto_request *r = xcalloc(1, sizeof(*r));
	const char *err = NULL;

	r->call = call;
	r->srv = srv;
	r->msg = msg;
	r->started_us = time_mono_us();
	r->has_peer_uid = ipc_msg_peer_uid(msg, &r->peer_uid) == 0;
	atomic_fetch_add(&srv->requests, 1);
	if (proto_env_decode(&r->env, nng_msg_body(msg), nng_msg_len(msg), &err) != 0) {
		log_warnx("ipc: bad message (%zu bytes): %s", nng_msg_len(msg), err);
		/* err may live in the zone that proto_reply frees: build the reply first. */
		nng_msg *rep = proto_error_msg(0, 0, PROTO_BAD_REQUEST, err, NULL);
		atomic_fetch_add(&srv->bad_requests, 1);
		proto_reply(r, rep);
		return;
	}
	log_set_req(r->env.req_id);
	log_debug("ipc: %s request", proto_op_name(r->env.op));
	if (ipc_server_draining(srv->ipc)) {
		proto_reply_error(r, PROTO_UNAVAILABLE, "shutting down", NULL);
	} else if (r->env.status != PROTO_OK) {
		proto_reply_error(r, PROTO_BAD_REQUEST, "a request must have status ok", NULL);
	} else if (r->env.op == PROTO_OP_PING) {
		atomic_fetch_add(&srv->per_op[PROTO_OP_PING], 1);
		proto_server_ping(srv, r);
	} else if (r->env.op == PROTO_OP_STATS) {
		atomic_fetch_add(&srv->per_op[PROTO_OP_STATS], 1);
		proto_server_stats(srv, r);
	} else if (r->env.op == PROTO_OP_ECHO) {
		atomic_fetch_add(&srv->per_op[PROTO_OP_ECHO], 1);
		proto_server_echo(r);
	} else if (r->env.op < PROTO_OP_END && srv->svc.handlers[r->env.op] != NULL) {
		atomic_fetch_add(&srv->per_op[r->env.op], 1);
		srv->svc.handlers[r->env.op](srv->svc.ctx, r);
	} else {
		atomic_fetch_add(&srv->unknown_ops, 1);
		proto_reply_error(r, PROTO_UNKNOWN_OP, "unknown op", NULL);
	}
	log_set_req(0);
}

int
proto_server_open(struct proto_server **srv_r, const char *url, int workers,
    const struct proto_service *svc, char **err_r)
{
	struct proto_server *srv = xcalloc(1, sizeof(*srv));

	srv->svc = *svc;
	if (ipc_server_open(&srv->ipc, url, workers, proto_server_handle, srv, err_r) != 0) {
		free(srv);
		return -1;
	}
	*srv_r = srv;
	return 0;
}

int
proto_server_open_daemon(struct proto_server **srv_r, const struct daemon *d, int workers,
    struct proto_service *svc, char **err_r)
{
	char *url = daemon_ipc_url(d, d->ops->name);
	int rc;

	svc->daemon = d->ops->name;
	svc->started_us = d->started_us;
	rc = proto_server_open(srv_r, url, workers ? workers : d->ipc_workers, svc, err_r);
	free(url);
	return rc;
}

void
proto_server_drain(struct proto_server *srv, int64_t deadline_us)
{
	if (srv != NULL)
		ipc_server_drain(srv->ipc, deadline_us);
}

void
proto_server_close(struct proto_server **srvp, int64_t deadline_us)
{
	struct proto_server *srv = *srvp;

	if (srv == NULL)
		return;
	*srvp = NULL;
	ipc_server_close(&srv->ipc, deadline_us);
	free(srv);
}
