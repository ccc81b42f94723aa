/*
 * bench-ipc-rtt: nng req/rep round-trip micro-benchmark against bench-echo.
 *
 * Usage: bench-ipc-rtt URL [COUNT [CONCURRENCY [SIZE]]]
 *        defaults: COUNT 20000 round trips, CONCURRENCY 1, SIZE 32 bytes
 *
 * CONCURRENCY threads each own one nng_ctx of a single req0 socket and do
 * COUNT/CONCURRENCY sequential round trips (after a short warm-up). Prints one
 * line:  ipc-rtt conc=K n=N size=S rtt_per_s=R p50_us=A p99_us=B
 * Exit 0 on success, 1 on an nng error, 2 on bad usage.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RTT_WARMUP 200
#define RTT_TIMEOUT_MS 5000

struct rtt_worker {
	pthread_t thread;
	nng_socket sock;
	size_t size;
	long count;
	uint64_t *lat_ns;		/* count entries */
	int err;
};

static uint64_t
rtt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One round trip on ctx; 0 or an nng error. */
static int
rtt_once(nng_ctx ctx, nng_aio *aio, const char *payload, size_t size)
{
	nng_msg *msg;
	int rv;

	if ((rv = nng_msg_alloc(&msg, 0)) != 0)
		return rv;
	nng_msg_append(msg, payload, size);
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		return rv;
	}
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		return rv;
	msg = nng_aio_get_msg(aio);
	rv = nng_msg_len(msg) == size ? 0 : NNG_EPROTO;
	nng_msg_free(msg);
	return rv;
}

static void *
rtt_worker_main(void *arg)
{
	struct rtt_worker *w = arg;
	char *payload;
	nng_ctx ctx;
	nng_aio *aio;
	uint64_t t0;
	long i;

	if ((payload = malloc(w->size)) == NULL) {
		w->err = NNG_ENOMEM;
		return NULL;
	}
	memset(payload, 'k', w->size);
	if ((w->err = nng_ctx_open(&ctx, w->sock)) != 0 ||
	    (w->err = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		free(payload);
		return NULL;
	}
	nng_aio_set_timeout(aio, RTT_TIMEOUT_MS);
	for (i = 0; i < RTT_WARMUP && w->err == 0; i++)
		w->err = rtt_once(ctx, aio, payload, w->size);
	for (i = 0; i < w->count && w->err == 0; i++) {
		t0 = rtt_now_ns();
		w->err = rtt_once(ctx, aio, payload, w->size);
		w->lat_ns[i] = rtt_now_ns() - t0;
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	free(payload);
	return NULL;
}

static int
rtt_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static double
rtt_pct_us(const uint64_t *sorted, long n, double pct)
{
	long i = (long)(pct / 100.0 * (double)(n - 1) + 0.5);

	return (double)sorted[i] / 1000.0;
}

int
main(int argc, char **argv)
{
	struct rtt_worker *w;
	nng_socket sock;
	uint64_t *all, t0, elapsed;
	long count = 20000, conc = 1, size = 32, per, n, k;
	int rv;

	if (argc < 2 || argc > 5 ||
	    (argc > 2 && (count = atol(argv[2])) <= 0) ||
	    (argc > 3 && ((conc = atol(argv[3])) <= 0 || conc > 4096)) ||
	    (argc > 4 && ((size = atol(argv[4])) <= 0 || size > (1 << 20)))) {
		fprintf(stderr, "usage: bench-ipc-rtt URL [COUNT [CONCURRENCY [SIZE]]]\n");
		return 2;
	}
	if ((per = count / conc) == 0)
		per = 1;
	n = per * conc;
	if ((rv = nng_req0_open(&sock)) != 0 ||
	    (rv = nng_dial(sock, argv[1], NULL, 0)) != 0) {
		fprintf(stderr, "bench-ipc-rtt: %s: %s\n", argv[1], nng_strerror(rv));
		return 1;
	}
	all = calloc((size_t)n, sizeof(*all));
	w = calloc((size_t)conc, sizeof(*w));
	if (all == NULL || w == NULL) {
		fprintf(stderr, "bench-ipc-rtt: out of memory\n");
		return 1;
	}
	t0 = rtt_now_ns();
	for (k = 0; k < conc; k++) {
		w[k].sock = sock;
		w[k].size = (size_t)size;
		w[k].count = per;
		w[k].lat_ns = all + k * per;
		if (pthread_create(&w[k].thread, NULL, rtt_worker_main, &w[k]) != 0) {
			fprintf(stderr, "bench-ipc-rtt: cannot start thread\n");
			return 1;
		}
	}
	rv = 0;
	for (k = 0; k < conc; k++) {
		pthread_join(w[k].thread, NULL);
		if (w[k].err != 0)
			rv = w[k].err;
	}
	elapsed = rtt_now_ns() - t0;
	if (rv != 0) {
		fprintf(stderr, "bench-ipc-rtt: round trip failed: %s\n", nng_strerror(rv));
		return 1;
	}
	qsort(all, (size_t)n, sizeof(*all), rtt_cmp);
	/* Elapsed includes the warm-up; count it so the rate stays honest. */
	printf("ipc-rtt conc=%ld n=%ld size=%ld rtt_per_s=%.0f p50_us=%.1f p99_us=%.1f\n",
	    conc, n, size,
	    (double)(n + conc * RTT_WARMUP) / ((double)elapsed / 1e9),
	    rtt_pct_us(all, n, 50.0), rtt_pct_us(all, n, 99.0));
	nng_close(sock);
	free(all);
	free(w);
	return 0;
}
