/*
 * bench-onehop: the "one-hop reference" gateway.
 *
 * Usage: bench-onehop PORT URL       e.g. bench-onehop 8081 ipc:///tmp/x/echo.ipc
 *
 * For every GET it makes exactly one nng req/rep round trip (a 32-byte body) to
 * bench-echo at URL and answers 200 with a small JSON body (503 if the hop
 * fails within 2 s). It is the best a gateway of kubarr's shape can do per
 * backend hop, so a kubarr route's req/s divided by this one's shows what the
 * route costs beyond its IPC.
 *
 * Shape: libmicrohttpd with internal epoll threads (one per core), suspend the
 * connection, run the round trip on a pooled nng_ctx + nng_aio of one req0
 * socket, resume from the aio callback, queue the response on the resumed call.
 * libmicrohttpd 0.9.75 closes the connection after every response queued on the
 * first call of the handler, so the first call only marks the request.
 */
#include <microhttpd.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ONEHOP_TIMEOUT_MS 2000

enum hop_state { HOP_SEND, HOP_RECV, HOP_DONE };

struct hop {
	struct hop *next;		/* free list link */
	nng_ctx ctx;
	nng_aio *aio;
	struct MHD_Connection *conn;
	enum hop_state state;
	int ok;
};

struct onehop {
	nng_socket sock;
	pthread_mutex_t mtx;
	struct hop *free_hops;
	struct MHD_Response *ok_resp, *fail_resp, *method_resp;
};

static const char onehop_ok_body[] = "{\"status\":\"ok\"}";
static const char onehop_fail_body[] = "{\"detail\":\"backend unavailable\"}";
static const char onehop_method_body[] = "{\"detail\":\"method not allowed\"}";
static const char onehop_payload[32] = "kubarr-bench-onehop-payload-32b";
static int onehop_first_call_mark;	/* address only: "seen the first call" */

static void
onehop_hop_cb(void *arg)
{
	struct hop *h = arg;
	int rv = nng_aio_result(h->aio);

	if (h->state == HOP_SEND && rv == 0) {
		h->state = HOP_RECV;
		nng_ctx_recv(h->ctx, h->aio);
		return;
	}
	if (h->state == HOP_SEND)
		nng_msg_free(nng_aio_get_msg(h->aio));
	else if (rv == 0)
		nng_msg_free(nng_aio_get_msg(h->aio));
	h->ok = (rv == 0);
	h->state = HOP_DONE;
	MHD_resume_connection(h->conn);
}

static struct hop *
onehop_hop_get(struct onehop *oh)
{
	struct hop *h;

	pthread_mutex_lock(&oh->mtx);
	if ((h = oh->free_hops) != NULL)
		oh->free_hops = h->next;
	pthread_mutex_unlock(&oh->mtx);
	if (h != NULL)
		return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if (nng_aio_alloc(&h->aio, onehop_hop_cb, h) != 0) {
		free(h);
		return NULL;
	}
	if (nng_ctx_open(&h->ctx, oh->sock) != 0) {
		nng_aio_free(h->aio);
		free(h);
		return NULL;
	}
	nng_aio_set_timeout(h->aio, ONEHOP_TIMEOUT_MS);
	return h;
}

static void
onehop_hop_put(struct onehop *oh, struct hop *h)
{
	nng_aio_wait(h->aio);	/* the callback may still be returning */
	pthread_mutex_lock(&oh->mtx);
	h->next = oh->free_hops;
	oh->free_hops = h;
	pthread_mutex_unlock(&oh->mtx);
}

static enum MHD_Result
onehop_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct onehop *oh = cls;
	struct hop *h;
	nng_msg *msg;
	enum MHD_Result ret;

	(void)url, (void)version, (void)upload_data, (void)upload_data_size;
	if (*con_cls == NULL) {		/* first call: mark only (see top) */
		*con_cls = &onehop_first_call_mark;
		return MHD_YES;
	}
	if (*con_cls == &onehop_first_call_mark) {	/* second call: start the hop */
		if (strcmp(method, "GET") != 0)
			return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			    oh->method_resp);
		if ((h = onehop_hop_get(oh)) == NULL ||
		    nng_msg_alloc(&msg, 0) != 0)
			return MHD_NO;
		nng_msg_append(msg, onehop_payload, sizeof(onehop_payload));
		h->conn = conn;
		h->state = HOP_SEND;
		*con_cls = h;
		MHD_suspend_connection(conn);
		nng_aio_set_msg(h->aio, msg);
		nng_ctx_send(h->ctx, h->aio);
		return MHD_YES;
	}
	h = *con_cls;			/* resumed: the hop is done */
	ret = MHD_queue_response(conn, h->ok ? MHD_HTTP_OK :
	    MHD_HTTP_SERVICE_UNAVAILABLE, h->ok ? oh->ok_resp : oh->fail_resp);
	*con_cls = &onehop_first_call_mark;
	onehop_hop_put(oh, h);
	return ret;
}

/* A client that left while its hop ran never gets the resumed call. */
static void
onehop_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)conn, (void)toe;
	if (*con_cls != NULL && *con_cls != &onehop_first_call_mark)
		onehop_hop_put(cls, *con_cls);
	*con_cls = NULL;
}

static struct MHD_Response *
onehop_json_response(const char *body)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	if (r != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
	return r;
}

int
main(int argc, char **argv)
{
	struct onehop oh;
	struct MHD_Daemon *d;
	struct hop *h;
	sigset_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int port, sig, rv;

	if (argc != 3 || (port = atoi(argv[1])) <= 0 || port > 65535) {
		fprintf(stderr, "usage: bench-onehop PORT URL\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&oh, 0, sizeof(oh));
	pthread_mutex_init(&oh.mtx, NULL);
	oh.ok_resp = onehop_json_response(onehop_ok_body);
	oh.fail_resp = onehop_json_response(onehop_fail_body);
	oh.method_resp = onehop_json_response(onehop_method_body);
	if ((rv = nng_req0_open(&oh.sock)) != 0 ||
	    (rv = nng_dial(oh.sock, argv[2], NULL, NNG_FLAG_NONBLOCK)) != 0) {
		fprintf(stderr, "bench-onehop: %s: %s\n", argv[2], nng_strerror(rv));
		return 1;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL,
	    onehop_access, &oh,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(ncpu > 0 ? ncpu : 2),
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_NOTIFY_COMPLETED, onehop_completed, &oh,
	    MHD_OPTION_END);
	if (d == NULL || oh.ok_resp == NULL || oh.fail_resp == NULL ||
	    oh.method_resp == NULL) {
		fprintf(stderr, "bench-onehop: cannot start HTTP on port %d\n", port);
		return 1;
	}
	fprintf(stderr, "bench-onehop: http port %d, backend %s\n", port, argv[2]);

	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	nng_close(oh.sock);
	while ((h = oh.free_hops) != NULL) {
		oh.free_hops = h->next;
		nng_aio_free(h->aio);
		free(h);
	}
	MHD_destroy_response(oh.ok_resp);
	MHD_destroy_response(oh.fail_resp);
	MHD_destroy_response(oh.method_resp);
	return 0;
}
