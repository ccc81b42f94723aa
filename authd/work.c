/* work: a small pool of threads for authd's slow ops.  Those block on
 * storaged (sync calls with deadlines) and on the password pool, which must
 * never happen on nng's callback threads: AUTH_CHECK, the hot path, stays on
 * those and is never queued behind a login. */
#include <pthread.h>
#include <stdlib.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define WORK_MAX_QUEUE 4096

struct work_item {
	work_fn fn;
	struct proto_request *r;
	struct work_item *next;
};

struct work {
	struct authd *ad;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work_item *head, *tail;
	size_t queued, max_queued;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
	uint64_t done, refused;
};

static void *
work_main(void *arg)
{
	struct work *w = arg;

	for (;;) {
		struct work_item *it;

		pthread_mutex_lock(&w->lock);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->head == NULL) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		it = w->head;
		w->head = it->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		pthread_mutex_unlock(&w->lock);
		log_set_req(it->r->env.req_id);
		it->fn(w->ad, it->r);
		log_set_req(0);
		free(it);
		pthread_mutex_lock(&w->lock);
		w->done++;
		pthread_mutex_unlock(&w->lock);
	}
}

int
work_open(struct work **w_r, struct authd *ad, unsigned threads, char **err_r)
{
	struct work *w = xcalloc(1, sizeof(*w));

	w->ad = ad;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->threads = xcalloc(threads, sizeof(*w->threads));
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&w->threads[i], NULL, work_main, w) != 0) {
			*err_r = xstrdup("cannot start the worker threads");
			work_close(&w);
			return -1;
		}
		w->nthreads++;
	}
	*w_r = w;
	return 0;
}

void
work_submit(struct work *w, work_fn fn, struct proto_request *r)
{
	struct work_item *it;

	pthread_mutex_lock(&w->lock);
	if (w->stopping || w->queued >= WORK_MAX_QUEUE) {
		w->refused++;
		pthread_mutex_unlock(&w->lock);
		proto_reply_error(r, PROTO_UNAVAILABLE, "authd busy", NULL);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->fn = fn;
	it->r = r;
	if (w->tail != NULL)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	if (++w->queued > w->max_queued)
		w->max_queued = w->queued;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
work_close(struct work **wp)
{
	struct work *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;   /* what is queued still runs: it was accepted */
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

void
work_stats(struct work *w, struct proto_stats *st)
{
	pthread_mutex_lock(&w->lock);
	proto_stats_add(st, "work_threads", w->nthreads);
	proto_stats_add(st, "work_queued", (int64_t)w->queued);
	proto_stats_add(st, "work_max_queued", (int64_t)w->max_queued);
	proto_stats_add(st, "work_done", (int64_t)w->done);
	proto_stats_add(st, "work_refused", (int64_t)w->refused);
	pthread_mutex_unlock(&w->lock);
}
