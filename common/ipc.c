#include "ipc.h"

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define IPC_SOCKET_MODE 0660
#define IPC_RECONNECT_MIN_MS 10
#define IPC_RECONNECT_MAX_MS 100

const char *
ipc_status_name(enum ipc_status st)
{
	switch (st) {
	case IPC_OK:
		return "ok";
	case IPC_DOWN:
		return "unavailable";
	case IPC_TIMEOUT:
		return "timeout";
	case IPC_BUSY:
		return "busy";
	case IPC_ERROR:
		break;
	}
	return "error";
}

/* ---- peer credentials ---------------------------------------------------- */

/* Pipes are tracked by id, not counted: nng can report the removal of a pipe
 * whose addition it never reported (a peer that died mid-handshake), and a
 * counter would drift below zero and call a live connection dead. */
#define IPC_MAX_PIPES 16

struct ipc_peer_check {
	atomic_ulong refused;
	atomic_ulong added;          /* pipes ever added: the stall monitor watches it */
	atomic_bool drop;            /* a call timed out: the dial monitor closes the pipes */
	atomic_int connected;        /* = npipes, readable without the lock */
	atomic_bool lost;            /* the last pipe went away: the dial monitor fails calls */
	void (*on_lost)(void *arg);  /* clients: fail the calls in flight (monitor thread) */
	void *on_lost_arg;
	pthread_mutex_t lock;
	uint32_t pipes[IPC_MAX_PIPES];
	int npipes;
	const char *url;
};

static void
ipc_peer_init(struct ipc_peer_check *pc, const char *url)
{
	pthread_mutex_init(&pc->lock, NULL);
	pc->url = url;
}

static void
ipc_peer_update(struct ipc_peer_check *pc, uint32_t id, bool up)
{
	pthread_mutex_lock(&pc->lock);
	for (int i = 0; i < pc->npipes; i++) {
		if (pc->pipes[i] == id) {
			if (!up)
				pc->pipes[i] = pc->pipes[--pc->npipes];
			up = false; /* present already (or now removed) */
			break;
		}
	}
	if (up && pc->npipes < IPC_MAX_PIPES)
		pc->pipes[pc->npipes++] = id;
	atomic_store(&pc->connected, pc->npipes);
	pthread_mutex_unlock(&pc->lock);
}

/* A request sent on a pipe that looks connected got no answer in time: the
 * pipe may be one the server accepted but never added (nng 1.5.2, see the
 * monitor below), so close them all and let the dialer make a fresh one.
 * Requests in flight are resent by nng; storaged applies a write once.
 * Runs on the dial monitor's thread: closing a pipe from inside an nng
 * completion callback can deadlock nng's task thread. */
static void
ipc_peer_drop(struct ipc_peer_check *pc)
{
	uint32_t ids[IPC_MAX_PIPES];
	int n;

	pthread_mutex_lock(&pc->lock);
	n = pc->npipes;
	memcpy(ids, pc->pipes, sizeof(ids[0]) * (size_t)n);
	pthread_mutex_unlock(&pc->lock);
	for (int i = 0; i < n; i++) {
		nng_pipe p = {.id = ids[i]};

		log_debug("ipc %s: closing pipe %u after a timeout", pc->url, ids[i]);
		nng_pipe_close(p);
	}
}

static void ipc_dial_wake(void);

static void
ipc_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct ipc_peer_check *pc = arg;
	uint64_t uid = 0, gid = 0;

	switch (ev) {
	case NNG_PIPE_EV_ADD_PRE:
		/* our uid, root, or our group (daemons may run as distinct users
		 * sharing one group, so storaged can tell authd from the gateway) */
		if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0 ||
		    nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_GID, &gid) != 0 ||
		    (uid != (uint64_t)geteuid() && uid != 0 && gid != (uint64_t)getegid())) {
			atomic_fetch_add(&pc->refused, 1);
			log_warnx("ipc %s: refused peer with uid %llu gid %llu", pc->url,
			    (unsigned long long)uid, (unsigned long long)gid);
			nng_pipe_close(p);
		}
		break;
	case NNG_PIPE_EV_ADD_POST:
		atomic_fetch_add(&pc->added, 1);
		ipc_peer_update(pc, (uint32_t)nng_pipe_id(p), true);
		log_debug("ipc %s: pipe %u up", pc->url, nng_pipe_id(p));
		break;
	case NNG_PIPE_EV_REM_POST:
		ipc_peer_update(pc, (uint32_t)nng_pipe_id(p), false);
		log_debug("ipc %s: pipe %u down", pc->url, nng_pipe_id(p));
		if (pc->on_lost != NULL && atomic_load(&pc->connected) == 0) {
			/* never from here (an nng callback): the dial monitor does it */
			atomic_store(&pc->lost, true);
			ipc_dial_wake();
		}
		break;
	default:
		break;
	}
}

static int
ipc_watch_pipes(nng_socket s, struct ipc_peer_check *pc)
{
	int rv;

	if ((rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, ipc_pipe_event, pc)) != 0 ||
	    (rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, ipc_pipe_event, pc)) != 0 ||
	    (rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, ipc_pipe_event, pc)) != 0)
		return rv;
	return 0;
}

static int
ipc_listen(nng_socket s, const char *url, nng_listener *l_r)
{
	int rv;

	if ((rv = nng_listener_create(l_r, s, url)) != 0)
		return rv;
	if ((rv = nng_listener_set_int(*l_r, NNG_OPT_IPC_PERMISSIONS, IPC_SOCKET_MODE)) != 0 ||
	    (rv = nng_listener_start(*l_r, 0)) != 0) {
		nng_listener_close(*l_r);
		return rv;
	}
	return 0;
}

/* Dialers: nng redials by itself, but a dialer whose peer died during the
 * handshake can stop redialing for good (the client side of nng issue #1518).
 * A monitor thread re-creates the dialer of every client or subscriber that
 * has stayed disconnected for IPC_REDIAL_MS; ipc_fini stops it. */
#define IPC_REDIAL_MS 1000

struct ipc_dial_ep {
	nng_socket sock;
	nng_dialer dialer;
	const char *url;
	struct ipc_peer_check *pc;
	int64_t last_dial_us;
	struct ipc_dial_ep *next;
};

static pthread_mutex_t ipc_dial_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ipc_dial_cond = PTHREAD_COND_INITIALIZER;
static struct ipc_dial_ep *ipc_dial_list;
static bool ipc_dial_running, ipc_dial_stop;
static pthread_t ipc_dial_thread;
static atomic_ullong ipc_redials;

static void
ipc_dial_wake(void)
{
	pthread_cond_signal(&ipc_dial_cond);
}

static int
ipc_dial_start(nng_socket s, const char *url, nng_dialer *d_r)
{
	int rv;

	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, IPC_RECONNECT_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, IPC_RECONNECT_MAX_MS)) != 0)
		return rv;
	/* NONBLOCK: the peer may not be up yet; nng keeps redialling. */
	return nng_dial(s, url, d_r, NNG_FLAG_NONBLOCK);
}

static void *
ipc_dial_monitor(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ipc_dial_lock);
	while (!ipc_dial_stop) {
		struct timespec ts;
		int64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ipc_dial_cond, &ipc_dial_lock, &ts);
		now = time_mono_us();
		for (struct ipc_dial_ep *ep = ipc_dial_list; ep != NULL; ep = ep->next) {
			if (atomic_exchange(&ep->pc->drop, false))
				ipc_peer_drop(ep->pc);
			/* the peer is gone: calls in flight fail now (503 at once), not at
			 * their deadline (nng would hold them for a resend) */
			if (atomic_exchange(&ep->pc->lost, false) &&
			    atomic_load(&ep->pc->connected) == 0 && ep->pc->on_lost != NULL)
				ep->pc->on_lost(ep->pc->on_lost_arg);
			if (atomic_load(&ep->pc->connected) > 0) {
				ep->last_dial_us = now;
				continue;
			}
			if (now - ep->last_dial_us < IPC_REDIAL_MS * 1000)
				continue;
			log_debug("ipc %s: still not connected, dialing again", ep->url);
			nng_dialer_close(ep->dialer);
			if (ipc_dial_start(ep->sock, ep->url, &ep->dialer) != 0)
				log_warnx("ipc %s: cannot dial again", ep->url);
			ep->last_dial_us = now;
			atomic_fetch_add(&ipc_redials, 1);
		}
	}
	pthread_mutex_unlock(&ipc_dial_lock);
	return NULL;
}

/* ---- bounded close --------------------------------------------------------
 * nng 1.5.2 (#1518) can leave a pipe whose peer hung up mid-handshake that is
 * never reaped, and nng_close() then waits for it forever: a daemon would not
 * exit on SIGTERM.  So sockets are closed from a helper thread with a
 * deadline; past it we log, keep what the socket uses reachable (it is not
 * freed: nng may still touch it), and ipc_fini() skips nng_fini(), which would
 * wait for the same pipe.  The process then exits normally. */

#define IPC_CLOSE_WAIT_US 2000000   /* clients, pub, sub: 2 s to close */

struct ipc_closer {
	nng_socket sock;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	void *keep;                   /* what must stay allocated if it never returns */
	struct ipc_closer *next;
};

static atomic_bool ipc_close_stuck;
static atomic_bool ipc_unclean_marked;

/* Runs before the sanitizers' exit-time leak check (registered after it, so
 * called first): flush and leave without it, whose report would be nng's
 * memory, not ours. */
static void
ipc_unclean_exit(int status, void *arg)
{
	(void)arg;
	fflush(NULL);
	_exit(status);
}

/* nng 1.5.2 now holds memory we cannot reclaim (a stalled listener's pipes,
 * a socket whose close never returned): the process, daemon or test, skips
 * the exit-time leak check.  Logged by the caller. */
static void
ipc_mark_unclean(void)
{
	if (!atomic_exchange(&ipc_unclean_marked, true))
		on_exit(ipc_unclean_exit, NULL);
}

/* nng 1.5.2 again: a pipe still in its handshake at a listener when the
 * listener closes (a peer that died mid-handshake, #1518) is never reaped,
 * and the listener, its endpoint and that pipe stay allocated, referring only
 * to each other: the exit-time leak check reports a cycle allocated entirely
 * by nng (seen once in a few dozen shutdowns under load, in any daemon).  So
 * a daemon's leak check runs when its shutdown begins, with every socket
 * still open: whatever of ours is unreachable by then is reported as before
 * (runtime leaks are what grow), and what nng orphans while closing is not.
 * Skipped when the process is already marked unclean (the relisten path:
 * nng then holds a closed listener's pipes). */

void
ipc_leak_check(void)
{
#if defined(__SANITIZE_ADDRESS__)
	if (atomic_load(&ipc_unclean_marked))
		return;
	__lsan_do_leak_check();
#endif
}

static pthread_mutex_t ipc_orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ipc_closer *ipc_orphans;   /* reachable on purpose */

static void *
ipc_closer_main(void *arg)
{
	struct ipc_closer *cl = arg;

	nng_close(cl->sock);
	pthread_mutex_lock(&cl->lock);
	cl->done = true;
	pthread_cond_signal(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
	return NULL;
}

/* 0 when closed; -1 when still stuck at the deadline (at least 1 s from now;
 * once a close of this process was stuck, at most 100 ms from now: the
 * process leaves uncleanly anyway, and a daemon with several sockets stuck
 * must still stop within its drain time plus a second). */
static int
ipc_close_bounded(nng_socket sock, int64_t deadline_us, const char *what, void *keep)
{
	struct ipc_closer *cl = xcalloc(1, sizeof(*cl));
	int64_t now = time_mono_us(), min_us = now + 1000000;
	struct timespec ts;
	bool done;

	if (deadline_us < min_us)
		deadline_us = min_us;
	if (atomic_load(&ipc_close_stuck) && deadline_us > now + 100000)
		deadline_us = now + 100000;
	cl->sock = sock;
	cl->keep = keep;
	pthread_mutex_init(&cl->lock, NULL);
	pthread_cond_init(&cl->cond, NULL);
	if (pthread_create(&cl->thread, NULL, ipc_closer_main, cl) != 0) {
		nng_close(sock);   /* no thread: close inline */
		pthread_mutex_destroy(&cl->lock);
		pthread_cond_destroy(&cl->cond);
		free(cl);
		return 0;
	}
	pthread_mutex_lock(&cl->lock);
	while (!cl->done && time_mono_us() < deadline_us) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cl->cond, &cl->lock, &ts);
	}
	done = cl->done;
	pthread_mutex_unlock(&cl->lock);
	if (done) {
		pthread_join(cl->thread, NULL);
		pthread_mutex_destroy(&cl->lock);
		pthread_cond_destroy(&cl->cond);
		free(cl);
		return 0;
	}
	log_warnx("ipc %s: nng_close is stuck on a half-open pipe (nng 1.5.2 #1518); "
	    "exiting without it", what);
	atomic_store(&ipc_close_stuck, true);
	ipc_mark_unclean();
	pthread_detach(cl->thread);
	pthread_mutex_lock(&ipc_orphans_lock);
	cl->next = ipc_orphans;
	ipc_orphans = cl;
	pthread_mutex_unlock(&ipc_orphans_lock);
	return -1;
}

void
ipc_fini(void)
{
	bool running;

	pthread_mutex_lock(&ipc_dial_lock);
	running = ipc_dial_running;
	ipc_dial_stop = true;
	pthread_cond_signal(&ipc_dial_cond);
	pthread_mutex_unlock(&ipc_dial_lock);
	if (running)
		pthread_join(ipc_dial_thread, NULL);
	if (atomic_load(&ipc_close_stuck)) {
		log_warnx("ipc: skipping nng_fini (a socket could not be closed)");
		return;
	}
	nng_fini();
}

static int
ipc_dial(nng_socket s, const char *url, struct ipc_peer_check *pc, struct ipc_dial_ep **ep_r)
{
	struct ipc_dial_ep *ep = xcalloc(1, sizeof(*ep));
	int rv;

	ep->sock = s;
	ep->url = url;
	ep->pc = pc;
	ep->last_dial_us = time_mono_us();
	if ((rv = ipc_dial_start(s, url, &ep->dialer)) != 0) {
		free(ep);
		return rv;
	}
	pthread_mutex_lock(&ipc_dial_lock);
	ep->next = ipc_dial_list;
	ipc_dial_list = ep;
	if (!ipc_dial_running && !ipc_dial_stop &&
	    pthread_create(&ipc_dial_thread, NULL, ipc_dial_monitor, NULL) == 0)
		ipc_dial_running = true;
	pthread_mutex_unlock(&ipc_dial_lock);
	*ep_r = ep;
	return 0;
}

/* Before the socket closes: the monitor must not touch it any more. */
static void
ipc_undial(struct ipc_dial_ep **ep_r)
{
	struct ipc_dial_ep *ep = *ep_r;

	if (ep == NULL)
		return;
	*ep_r = NULL;
	pthread_mutex_lock(&ipc_dial_lock);
	for (struct ipc_dial_ep **p = &ipc_dial_list; *p != NULL; p = &(*p)->next) {
		if (*p == ep) {
			*p = ep->next;
			break;
		}
	}
	pthread_cond_signal(&ipc_dial_cond);
	pthread_mutex_unlock(&ipc_dial_lock);
	free(ep);
}

uint64_t
ipc_redial_count(void)
{
	return atomic_load(&ipc_redials);
}

/* ---- server -------------------------------------------------------------- */

enum ipc_call_state { IPC_CALL_RECV, IPC_CALL_BUSY, IPC_CALL_SEND };

struct ipc_call {
	struct ipc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum ipc_call_state state;
};

struct ipc_server {
	nng_socket sock;
	nng_listener listener;
	struct ipc_call *calls;
	int ncalls;
	ipc_handler_fn fn;
	void *arg;
	atomic_int busy;
	atomic_bool draining;
	atomic_ullong served;
	atomic_ullong relistens;
	struct ipc_peer_check peers;
	char *url;
	/* listener watchdog: see ipc_server_monitor */
	pthread_t monitor;
	bool monitor_started;
	pthread_mutex_t mlock;
	pthread_cond_t mcond;
	bool mstop;
};

static void
ipc_call_cb(void *arg)
{
	struct ipc_call *call = arg;
	struct ipc_server *srv = call->srv;
	int rv = nng_aio_result(call->aio);

	if (call->state == IPC_CALL_SEND) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(call->aio));
		atomic_fetch_sub(&srv->busy, 1);
		call->state = IPC_CALL_RECV;
		if (atomic_load(&srv->draining))
			return;
		nng_ctx_recv(call->ctx, call->aio);
		return;
	}
	/* IPC_CALL_RECV */
	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED && !atomic_load(&srv->draining))
			nng_ctx_recv(call->ctx, call->aio);
		return;
	}
	call->state = IPC_CALL_BUSY;
	atomic_fetch_add(&srv->busy, 1);
	srv->fn(srv->arg, call, nng_aio_get_msg(call->aio));
}

int
ipc_msg_peer_uid(nng_msg *msg, uint64_t *uid_r)
{
	return nng_pipe_get_uint64(nng_msg_get_pipe(msg), NNG_OPT_IPC_PEER_UID, uid_r) == 0 ? 0 : -1;
}

void
ipc_call_reply(struct ipc_call *call, nng_msg *rep)
{
	atomic_fetch_add(&call->srv->served, 1);
	call->state = IPC_CALL_SEND;
	nng_aio_set_msg(call->aio, rep);
	nng_ctx_send(call->ctx, call->aio);
}

/* nng 1.5.2 (Debian 12) has a bug (nng issue #1518, fixed after 1.5.2): a
 * peer that disconnects during the connection handshake leaves the listener
 * accepting connections it never reads.  Clients then hold pipes that look
 * connected and every request times out, until the server restarts.  So every
 * second the server dials itself on a fresh connection and checks that its own
 * socket adds the pipe: a slow answer does not count, only a pipe the server
 * never sees.  After three misses in a row the listener is closed and opened
 * again (which also drops the connections it held). */
#define IPC_MONITOR_PERIOD_MS 1000
#define IPC_PROBE_WAIT_MS 1000
#define IPC_PROBE_MISSES 3

/* A fresh connection to our own socket: true when our listener added it. */
static bool
ipc_probe(struct ipc_server *srv)
{
	struct ipc_client *c = NULL;
	unsigned long before = atomic_load(&srv->peers.added);
	int64_t until = time_mono_us() + IPC_PROBE_WAIT_MS * 1000;
	char *err = NULL;
	bool seen = false;

	if (ipc_client_open(&c, srv->url, 1, &err) != 0) {
		free(err);
		return true; /* cannot tell: not a listener stall */
	}
	while (time_mono_us() < until) {
		struct timespec ts = {.tv_nsec = 2000000};

		if (ipc_client_connected(c) && atomic_load(&srv->peers.added) > before) {
			seen = true;
			break;
		}
		nanosleep(&ts, NULL);
	}
	ipc_client_close(&c);
	return seen;
}

static void
ipc_server_relisten(struct ipc_server *srv)
{
	int rv;

	log_warnx("ipc %s: listener stalled (nng 1.5.2 handshake bug); listening again", srv->url);
	atomic_fetch_add(&srv->relistens, 1);
	ipc_mark_unclean();
	nng_listener_close(srv->listener);
	if ((rv = ipc_listen(srv->sock, srv->url, &srv->listener)) != 0)
		log_warnx("ipc %s: listen again: %s", srv->url, nng_strerror(rv));
}

static void *
ipc_server_monitor(void *arg)
{
	struct ipc_server *srv = arg;
	int failures = 0;

	pthread_mutex_lock(&srv->mlock);
	while (!srv->mstop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += IPC_MONITOR_PERIOD_MS / 1000;
		pthread_cond_timedwait(&srv->mcond, &srv->mlock, &ts);
		if (srv->mstop)
			break;
		pthread_mutex_unlock(&srv->mlock);
		failures = ipc_probe(srv) ? 0 : failures + 1;
		if (failures >= IPC_PROBE_MISSES) {
			ipc_server_relisten(srv);
			failures = 0;
		}
		pthread_mutex_lock(&srv->mlock);
	}
	pthread_mutex_unlock(&srv->mlock);
	return NULL;
}

int
ipc_server_open(struct ipc_server **srv_r, const char *url, int workers, ipc_handler_fn fn,
    void *arg, char **err_r)
{
	struct ipc_server *srv = xcalloc(1, sizeof(*srv));
	int rv;

	srv->fn = fn;
	srv->arg = arg;
	srv->url = xstrdup(url);
	ipc_peer_init(&srv->peers, srv->url);
	if ((rv = nng_rep0_open(&srv->sock)) != 0) {
		*err_r = xasprintf("nng_rep0_open: %s", nng_strerror(rv));
		free(srv->url);
		free(srv);
		return -1;
	}
	srv->calls = xcalloc((size_t)workers, sizeof(*srv->calls));
	if ((rv = ipc_watch_pipes(srv->sock, &srv->peers)) != 0)
		goto fail;
	for (int i = 0; i < workers; i++) {
		struct ipc_call *call = &srv->calls[i];

		call->srv = srv;
		if ((rv = nng_aio_alloc(&call->aio, ipc_call_cb, call)) != 0)
			goto fail;
		if ((rv = nng_ctx_open(&call->ctx, srv->sock)) != 0) {
			nng_aio_free(call->aio);
			call->aio = NULL;
			goto fail;
		}
		srv->ncalls++;
	}
	if ((rv = ipc_listen(srv->sock, url, &srv->listener)) != 0) {
		*err_r = xasprintf("listen on %s: %s", url, nng_strerror(rv));
		ipc_server_close(&srv, 0);
		return -1;
	}
	for (int i = 0; i < srv->ncalls; i++)
		nng_ctx_recv(srv->calls[i].ctx, srv->calls[i].aio);
	pthread_mutex_init(&srv->mlock, NULL);
	pthread_cond_init(&srv->mcond, NULL);
	if (pthread_create(&srv->monitor, NULL, ipc_server_monitor, srv) != 0) {
		*err_r = xasprintf("ipc server %s: cannot start its monitor", url);
		ipc_server_close(&srv, 0);
		return -1;
	}
	srv->monitor_started = true;
	*srv_r = srv;
	return 0;
fail:
	*err_r = xasprintf("ipc server %s: %s", url, nng_strerror(rv));
	ipc_server_close(&srv, 0);
	return -1;
}

void
ipc_server_drain(struct ipc_server *srv, int64_t deadline_us)
{
	if (srv == NULL)
		return;
	if (!atomic_exchange(&srv->draining, true))
		nng_listener_close(srv->listener);
	while (atomic_load(&srv->busy) > 0 && time_mono_us() < deadline_us) {
		struct timespec ts = {.tv_nsec = 1000000};
		nanosleep(&ts, NULL);
	}
}

bool
ipc_server_draining(const struct ipc_server *srv)
{
	return atomic_load(&srv->draining);
}

void
ipc_server_close(struct ipc_server **srvp, int64_t deadline_us)
{
	struct ipc_server *srv = *srvp;

	if (srv == NULL)
		return;
	*srvp = NULL;
	if (srv->monitor_started) {
		pthread_mutex_lock(&srv->mlock);
		srv->mstop = true;
		pthread_cond_signal(&srv->mcond);
		pthread_mutex_unlock(&srv->mlock);
		pthread_join(srv->monitor, NULL);
		pthread_mutex_destroy(&srv->mlock);
		pthread_cond_destroy(&srv->mcond);
	}
	ipc_server_drain(srv, deadline_us);
	if (atomic_load(&srv->busy) > 0)
		log_warnx("ipc %s: closing with %d calls unfinished", srv->url, atomic_load(&srv->busy));
	for (int i = 0; i < srv->ncalls; i++)
		nng_aio_stop(srv->calls[i].aio);
	if (ipc_close_bounded(srv->sock, deadline_us, srv->url, srv) != 0)
		return;   /* srv stays allocated, reachable from the orphan list */
	for (int i = 0; i < srv->ncalls; i++) {
		nng_ctx_close(srv->calls[i].ctx);
		nng_aio_free(srv->calls[i].aio);
	}
	free(srv->calls);
	free(srv->url);
	free(srv);
}

uint64_t
ipc_server_served(const struct ipc_server *srv)
{
	return atomic_load(&srv->served);
}

uint64_t
ipc_server_relistens(const struct ipc_server *srv)
{
	return atomic_load(&srv->relistens);
}

uint64_t
ipc_server_refused_peers(const struct ipc_server *srv)
{
	return atomic_load(&srv->peers.refused);
}

/* ---- client -------------------------------------------------------------- */

enum ipc_op_state { IPC_OP_SEND, IPC_OP_RECV };

struct ipc_op {
	struct ipc_client *c;
	nng_ctx ctx;
	nng_aio *aio;
	enum ipc_op_state state;
	int64_t deadline_us;
	ipc_reply_fn cb;
	void *arg;
	bool busy;                   /* a call is in flight (guarded by the client's lock) */
	struct ipc_op *next;
};

struct ipc_client {
	nng_socket sock;
	pthread_mutex_t lock;
	struct ipc_op *idle;     /* free list */
	struct ipc_op *all;      /* every op, for close (linked through next_all) */
	struct ipc_op **ops;
	size_t nops, capops;
	atomic_uint inflight;
	unsigned max_inflight;
	struct ipc_peer_check peers;
	struct ipc_dial_ep *dial;
	char *url;
};

static enum ipc_status
ipc_status_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return IPC_OK;
	case NNG_ETIMEDOUT:
		return IPC_TIMEOUT;
	case NNG_ECONNRESET:
	case NNG_ECONNREFUSED:
	case NNG_ECONNSHUT:
	case NNG_ECANCELED:   /* failed by ipc_client_fail_inflight: the peer went away */
		return IPC_DOWN;
	default:
		return IPC_ERROR;
	}
}

static void
ipc_op_release(struct ipc_op *op)
{
	struct ipc_client *c = op->c;

	pthread_mutex_lock(&c->lock);
	op->busy = false;
	op->next = c->idle;
	c->idle = op;
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_sub(&c->inflight, 1);
}

static void
ipc_op_cb(void *arg)
{
	struct ipc_op *op = arg;
	int rv = nng_aio_result(op->aio);
	ipc_reply_fn cb = op->cb;
	void *cbarg = op->arg;
	nng_msg *rep = NULL;
	enum ipc_status st;

	if (op->state == IPC_OP_SEND && rv == 0) {
		int64_t left_ms = (op->deadline_us - time_mono_us()) / 1000;

		op->state = IPC_OP_RECV;
		nng_aio_set_timeout(op->aio, left_ms > 0 ? (nng_duration)left_ms : 1);
		nng_ctx_recv(op->ctx, op->aio);
		return;
	}
	if (op->state == IPC_OP_SEND)
		nng_msg_free(nng_aio_get_msg(op->aio));
	else if (rv == 0)
		rep = nng_aio_get_msg(op->aio);
	nng_aio_set_msg(op->aio, NULL);
	st = ipc_status_from_nng(rv);
	if (st == IPC_TIMEOUT && op->state == IPC_OP_RECV)
		atomic_store(&op->c->peers.drop, true);
	cb(cbarg, st, rep);
	ipc_op_release(op);
}

static struct ipc_op *
ipc_op_get(struct ipc_client *c)
{
	struct ipc_op *op;

	pthread_mutex_lock(&c->lock);
	if ((op = c->idle) != NULL) {
		c->idle = op->next;
		pthread_mutex_unlock(&c->lock);
		return op;
	}
	op = xcalloc(1, sizeof(*op));
	op->c = c;
	if (nng_aio_alloc(&op->aio, ipc_op_cb, op) != 0) {
		free(op);
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	if (nng_ctx_open(&op->ctx, c->sock) != 0) {
		nng_aio_free(op->aio);
		free(op);
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	/* Resends would apply a write twice: the caller retries with the same req_id. */
	nng_ctx_set_ms(op->ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if (c->nops == c->capops) {
		c->capops = c->capops ? c->capops * 2 : 16;
		c->ops = xrealloc(c->ops, c->capops * sizeof(*c->ops));
	}
	c->ops[c->nops++] = op;
	pthread_mutex_unlock(&c->lock);
	return op;
}

void
ipc_client_call(struct ipc_client *c, nng_msg *req, int timeout_ms, ipc_reply_fn cb, void *arg)
{
	struct ipc_op *op;

	if (atomic_load(&c->peers.connected) <= 0) {
		nng_msg_free(req);
		cb(arg, IPC_DOWN, NULL);
		return;
	}
	if (atomic_fetch_add(&c->inflight, 1) >= c->max_inflight) {
		atomic_fetch_sub(&c->inflight, 1);
		nng_msg_free(req);
		cb(arg, IPC_BUSY, NULL);
		return;
	}
	if ((op = ipc_op_get(c)) == NULL) {
		atomic_fetch_sub(&c->inflight, 1);
		nng_msg_free(req);
		cb(arg, IPC_ERROR, NULL);
		return;
	}
	pthread_mutex_lock(&c->lock);
	op->busy = true;
	pthread_mutex_unlock(&c->lock);
	op->cb = cb;
	op->arg = arg;
	op->state = IPC_OP_SEND;
	op->deadline_us = time_mono_us() + (int64_t)timeout_ms * 1000;
	nng_aio_set_timeout(op->aio, timeout_ms);
	nng_aio_set_msg(op->aio, req);
	nng_ctx_send(op->ctx, op->aio);
}

struct ipc_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	enum ipc_status st;
	nng_msg *rep;
};

static void
ipc_sync_cb(void *arg, enum ipc_status st, nng_msg *rep)
{
	struct ipc_sync *s = arg;

	pthread_mutex_lock(&s->lock);
	s->st = st;
	s->rep = rep;
	s->done = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

enum ipc_status
ipc_client_call_sync(struct ipc_client *c, nng_msg *req, int timeout_ms, nng_msg **rep_r)
{
	struct ipc_sync s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

	ipc_client_call(c, req, timeout_ms, ipc_sync_cb, &s);
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.cond);
	*rep_r = s.rep;
	return s.st;
}

bool
ipc_client_connected(const struct ipc_client *c)
{
	return atomic_load(&c->peers.connected) > 0;
}

/* Dial monitor thread, when the client's last pipe went away: every call in
 * flight completes now with IPC_DOWN.  nng_aio_cancel does not run the
 * callback inline (it is dispatched to nng's task threads), so holding our
 * lock here is safe. */
static void
ipc_client_fail_inflight(void *arg)
{
	struct ipc_client *c = arg;
	int n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nops; i++)
		if (c->ops[i]->busy) {
			nng_aio_cancel(c->ops[i]->aio);
			n++;
		}
	pthread_mutex_unlock(&c->lock);
	if (n > 0)
		log_debug("ipc %s: peer gone, %d call(s) failed at once", c->url, n);
}

int
ipc_client_open(struct ipc_client **c_r, const char *url, unsigned max_inflight, char **err_r)
{
	struct ipc_client *c = xcalloc(1, sizeof(*c));
	int rv;

	pthread_mutex_init(&c->lock, NULL);
	c->url = xstrdup(url);
	ipc_peer_init(&c->peers, c->url);
	c->peers.on_lost = ipc_client_fail_inflight;
	c->peers.on_lost_arg = c;
	c->max_inflight = max_inflight ? max_inflight : 1024;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		*err_r = xasprintf("nng_req0_open: %s", nng_strerror(rv));
		free(c->url);
		free(c);
		return -1;
	}
	if ((rv = ipc_watch_pipes(c->sock, &c->peers)) != 0 ||
	    (rv = ipc_dial(c->sock, c->url, &c->peers, &c->dial)) != 0) {
		*err_r = xasprintf("dial %s: %s", url, nng_strerror(rv));
		ipc_client_close(&c);
		return -1;
	}
	*c_r = c;
	return 0;
}

void
ipc_client_drain(struct ipc_client *c, int64_t deadline_us)
{
	while (c != NULL && atomic_load(&c->inflight) > 0 && time_mono_us() < deadline_us) {
		struct timespec ts = {.tv_nsec = 2000000};

		nanosleep(&ts, NULL);
	}
}

void
ipc_client_close(struct ipc_client **cp)
{
	struct ipc_client *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	ipc_undial(&c->dial);
	if (ipc_close_bounded(c->sock, time_mono_us() + IPC_CLOSE_WAIT_US, c->url, c) != 0)
		return;
	for (size_t i = 0; i < c->nops; i++) {
		nng_aio_stop(c->ops[i]->aio);
		nng_aio_free(c->ops[i]->aio);
		free(c->ops[i]);
	}
	free(c->ops);
	pthread_mutex_destroy(&c->lock);
	free(c->url);
	free(c);
}

/* ---- pub/sub ------------------------------------------------------------- */

struct ipc_pub {
	nng_socket sock;
	struct ipc_peer_check peers;
	char *url;
};

int
ipc_pub_open(struct ipc_pub **p_r, const char *url, char **err_r)
{
	struct ipc_pub *p = xcalloc(1, sizeof(*p));
	nng_listener l;
	int rv;

	p->url = xstrdup(url);
	ipc_peer_init(&p->peers, p->url);
	if ((rv = nng_pub0_open(&p->sock)) != 0) {
		*err_r = xasprintf("nng_pub0_open: %s", nng_strerror(rv));
		free(p->url);
		free(p);
		return -1;
	}
	if ((rv = ipc_watch_pipes(p->sock, &p->peers)) != 0 ||
	    (rv = ipc_listen(p->sock, url, &l)) != 0) {
		*err_r = xasprintf("listen on %s: %s", url, nng_strerror(rv));
		ipc_pub_close(&p);
		return -1;
	}
	*p_r = p;
	return 0;
}

void
ipc_pub_send(struct ipc_pub *p, nng_msg *msg)
{
	if (nng_sendmsg(p->sock, msg, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(msg);
}

void
ipc_pub_close(struct ipc_pub **pp)
{
	struct ipc_pub *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	if (ipc_close_bounded(p->sock, time_mono_us() + IPC_CLOSE_WAIT_US, p->url, p) != 0)
		return;
	free(p->url);
	free(p);
}

struct ipc_sub {
	nng_socket sock;
	nng_aio *aio;
	ipc_msg_fn fn;
	void *arg;
	struct ipc_peer_check peers;
	struct ipc_dial_ep *dial;
	char *url;
};

static void
ipc_sub_cb(void *arg)
{
	struct ipc_sub *s = arg;
	int rv = nng_aio_result(s->aio);

	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv == 0)
		s->fn(s->arg, nng_aio_get_msg(s->aio));
	nng_recv_aio(s->sock, s->aio);
}

int
ipc_sub_open(struct ipc_sub **s_r, const char *url, ipc_msg_fn fn, void *arg, char **err_r)
{
	struct ipc_sub *s = xcalloc(1, sizeof(*s));
	int rv;

	s->fn = fn;
	s->arg = arg;
	s->url = xstrdup(url);
	ipc_peer_init(&s->peers, s->url);
	if ((rv = nng_sub0_open(&s->sock)) != 0) {
		*err_r = xasprintf("nng_sub0_open: %s", nng_strerror(rv));
		free(s->url);
		free(s);
		return -1;
	}
	if ((rv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0 ||
	    (rv = nng_aio_alloc(&s->aio, ipc_sub_cb, s)) != 0 ||
	    (rv = ipc_watch_pipes(s->sock, &s->peers)) != 0 ||
	    (rv = ipc_dial(s->sock, s->url, &s->peers, &s->dial)) != 0) {
		*err_r = xasprintf("subscribe %s: %s", url, nng_strerror(rv));
		ipc_sub_close(&s);
		return -1;
	}
	nng_recv_aio(s->sock, s->aio);
	*s_r = s;
	return 0;
}

void
ipc_sub_close(struct ipc_sub **sp)
{
	struct ipc_sub *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	ipc_undial(&s->dial);
	if (s->aio)
		nng_aio_stop(s->aio);
	if (ipc_close_bounded(s->sock, time_mono_us() + IPC_CLOSE_WAIT_US, s->url, s) != 0)
		return;
	nng_aio_free(s->aio);
	free(s->url);
	free(s);
}
