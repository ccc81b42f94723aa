#include "readers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

struct reader {
	struct readers *rd;
	pthread_t thread;
	struct db_conn *c;
	bool started;
};

struct readers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct op_job *head, *tail;
	bool stopping;
	struct reader *threads;
	int n;
};

void
readers_submit(struct readers *rd, struct op_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&rd->lock);
	if (rd->tail)
		rd->tail->next = job;
	else
		rd->head = job;
	rd->tail = job;
	pthread_cond_signal(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
}

static void *
readers_main(void *arg)
{
	struct reader *self = arg;
	struct readers *rd = self->rd;

	for (;;) {
		struct op_job *job;

		pthread_mutex_lock(&rd->lock);
		while (rd->head == NULL && !rd->stopping)
			pthread_cond_wait(&rd->cond, &rd->lock);
		if ((job = rd->head) == NULL) {
			pthread_mutex_unlock(&rd->lock);
			break;
		}
		rd->head = job->next;
		if (rd->head == NULL)
			rd->tail = NULL;
		pthread_mutex_unlock(&rd->lock);
		job->ctx.c = self->c;
		/* a read runs in its own snapshot; nothing to roll back */
		job->st = job->def->exec(&job->ctx, job->req, &job->reply);
		/* a statement left mid-way would pin this connection to an old snapshot */
		db_stmts_settle(job->ctx.c);
		ops_finish(job);
	}
	return NULL;
}

int
readers_start(struct readers **rd_r, const struct db_config *cfg, int n, char **err_r)
{
	struct readers *rd = xcalloc(1, sizeof(*rd));

	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->cond, NULL);
	rd->threads = xcalloc((size_t)n, sizeof(*rd->threads));
	rd->n = n;
	*rd_r = rd;
	for (int i = 0; i < n; i++) {
		struct reader *r = &rd->threads[i];
		int rc;

		r->rd = rd;
		if (db_open(&r->c, cfg, true, err_r) != 0)
			goto fail;
		if ((rc = pthread_create(&r->thread, NULL, readers_main, r)) != 0) {
			*err_r = xasprintf("reader thread: %s", strerror(rc));
			goto fail;
		}
		r->started = true;
	}
	return 0;
fail:
	readers_stop(rd_r);
	return -1;
}

void
readers_stop(struct readers **rdp)
{
	struct readers *rd = *rdp;

	if (rd == NULL)
		return;
	*rdp = NULL;
	pthread_mutex_lock(&rd->lock);
	rd->stopping = true;
	pthread_cond_broadcast(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
	for (int i = 0; i < rd->n; i++) {
		if (rd->threads[i].started)
			pthread_join(rd->threads[i].thread, NULL);
		db_close(&rd->threads[i].c);
	}
	free(rd->threads);
	pthread_mutex_destroy(&rd->lock);
	pthread_cond_destroy(&rd->cond);
	free(rd);
}
