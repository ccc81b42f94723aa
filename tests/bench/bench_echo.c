/*
 * bench-echo: nng rep0 server that sends every request straight back.
 *
 * Usage: bench-echo URL [WORKERS]     e.g. bench-echo ipc:///tmp/x/echo.ipc
 *
 * The far end of the one-hop reference and of bench-ipc-rtt: it does no work,
 * so whatever they measure is the cost of the nng ipc hop itself. WORKERS
 * (default 64) contexts each keep one receive posted, as in nng's async demo
 * server; a reply is sent from the completion callback, so no thread blocks.
 * Runs until SIGINT or SIGTERM, then exits 0. Exit 1 on an nng error, 2 on
 * bad usage.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

enum echo_state { ECHO_RECV, ECHO_SEND };

struct echo_worker {
	enum echo_state state;
	nng_ctx ctx;
	nng_aio *aio;
};

static void
echo_worker_cb(void *arg)
{
	struct echo_worker *w = arg;
	int rv = nng_aio_result(w->aio);

	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (w->state == ECHO_RECV && rv == 0) {
		/* The message goes back as is; a successful send takes it. */
		w->state = ECHO_SEND;
		nng_ctx_send(w->ctx, w->aio);
		return;
	}
	if (w->state == ECHO_SEND && rv != 0)
		nng_msg_free(nng_aio_get_msg(w->aio));
	w->state = ECHO_RECV;
	nng_ctx_recv(w->ctx, w->aio);
}

int
main(int argc, char **argv)
{
	struct echo_worker *workers;
	nng_socket sock;
	sigset_t set;
	int nworkers = 64, sig, rv, i;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-echo URL [WORKERS]\n");
		return 2;
	}
	if (argc == 3 && (nworkers = atoi(argv[2])) <= 0) {
		fprintf(stderr, "bench-echo: bad worker count '%s'\n", argv[2]);
		return 2;
	}

	/* Block signals before nng starts its threads; consume them here. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((rv = nng_rep0_open(&sock)) != 0) {
		fprintf(stderr, "bench-echo: nng_rep0_open: %s\n", nng_strerror(rv));
		return 1;
	}
	workers = calloc((size_t)nworkers, sizeof(*workers));
	if (workers == NULL) {
		fprintf(stderr, "bench-echo: out of memory\n");
		return 1;
	}
	for (i = 0; i < nworkers; i++) {
		struct echo_worker *w = &workers[i];

		if ((rv = nng_aio_alloc(&w->aio, echo_worker_cb, w)) != 0 ||
		    (rv = nng_ctx_open(&w->ctx, sock)) != 0) {
			fprintf(stderr, "bench-echo: worker setup: %s\n", nng_strerror(rv));
			return 1;
		}
	}
	if ((rv = nng_listen(sock, argv[1], NULL, 0)) != 0) {
		fprintf(stderr, "bench-echo: listen %s: %s\n", argv[1], nng_strerror(rv));
		return 1;
	}
	for (i = 0; i < nworkers; i++) {
		workers[i].state = ECHO_RECV;
		nng_ctx_recv(workers[i].ctx, workers[i].aio);
	}
	fprintf(stderr, "bench-echo: listening on %s with %d workers\n", argv[1], nworkers);

	while (sigwait(&set, &sig) != 0)
		;
	nng_close(sock);
	for (i = 0; i < nworkers; i++)
		nng_aio_free(workers[i].aio);
	free(workers);
	return 0;
}
