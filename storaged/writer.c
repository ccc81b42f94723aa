#include "writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct op_job *head, *tail;
	bool stopping;
	struct db_conn *c;
	struct ipc_pub *events;
	unsigned batch_max;
	void (*after_commit)(void *arg, struct db_conn *c, bool users_changed);
	void *arg;
	atomic_ullong jobs, commits, dedup_hits, failed_commits, max_batch;
};

static const char writer_sql_dedup[] = "SELECT reply FROM request_log WHERE req_id = ?";
static const char writer_sql_log[] =
    "INSERT INTO request_log(req_id, op, status, reply, created_at) VALUES (?, ?, ?, ?, ?)";

void
writer_submit(struct writer *w, struct op_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
writer_submit_task(struct writer *w, op_task_fn fn, void *arg)
{
	struct op_job *job = xcalloc(1, sizeof(*job));

	job->task = fn;
	job->task_arg = arg;
	writer_submit(w, job);
}

void
writer_submit_task_done(struct writer *w, op_task_fn fn, void *arg,
    void (*done)(void *arg, int rc))
{
	struct op_job *job = xcalloc(1, sizeof(*job));

	job->task = fn;
	job->task_arg = arg;
	job->task_done = done;
	writer_submit(w, job);
}

void
writer_submit_exclusive(struct writer *w, op_task_fn fn, void *arg, void (*done)(void *arg, int rc))
{
	struct op_job *job = xcalloc(1, sizeof(*job));

	job->task = fn;
	job->task_arg = arg;
	job->task_done = done;
	job->notx = true;
	writer_submit(w, job);
}

/* The writer's fixed statements, prepared once (the per-job savepoints run
 * thousands of times a second under load). */
static const char writer_sql_begin[] = "BEGIN IMMEDIATE";
static const char writer_sql_commit[] = "COMMIT";
static const char writer_sql_rollback[] = "ROLLBACK";
static const char writer_sql_savepoint[] = "SAVEPOINT job";
static const char writer_sql_release[] = "RELEASE job";
static const char writer_sql_rollback_to[] = "ROLLBACK TO job";

static int
writer_sql(struct writer *w, const char *sql)
{
	sqlite3_stmt *st = db_stmt(w->c, sql);
	int rc;

	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		log_error("writer: %s: %s", sql, sqlite3_errmsg(w->c->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

/* A reply already recorded for this request id: the request was applied. */
static bool
writer_dedup(struct writer *w, struct op_job *job)
{
	sqlite3_stmt *st = db_stmt(w->c, writer_sql_dedup);

	if (st == NULL)
		return false;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)job->ctx.req_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return false;
	if (nng_msg_alloc(&job->reply, 0) != 0 ||
	    nng_msg_append(job->reply, sqlite3_column_blob(st, 0),
		(size_t)sqlite3_column_bytes(st, 0)) != 0) {
		nng_msg_free(job->reply);
		job->reply = NULL;
		return false;
	}
	job->st = PROTO_OK;
	sqlite3_reset(st);
	return true;
}

static void
writer_apply(struct writer *w, struct op_job *job)
{
	sqlite3_stmt *st;
	char now[25];

	if (writer_dedup(w, job)) {
		atomic_fetch_add(&w->dedup_hits, 1);
		log_info("writer: request %016llx already applied, answering from request_log",
		    (unsigned long long)job->ctx.req_id);
		return;
	}
	if (writer_sql(w, writer_sql_savepoint) != 0) {
		job->st = op_fail(&job->ctx, PROTO_INTERNAL, "database error", NULL);
		return;
	}
	job->ctx.c = w->c;
	job->st = job->def->exec(&job->ctx, job->req, &job->reply);
	if (job->st == PROTO_OK) {
		db_now(now);
		st = db_stmt(w->c, writer_sql_log);
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, (sqlite3_int64)job->ctx.req_id);
			sqlite3_bind_int(st, 2, (int)job->ctx.op);
			sqlite3_bind_int(st, 3, PROTO_OK);
			sqlite3_bind_blob(st, 4, nng_msg_body(job->reply), (int)nng_msg_len(job->reply),
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
		}
		if (st == NULL || sqlite3_step(st) != SQLITE_DONE) {
			log_error("writer: request_log: %s", sqlite3_errmsg(w->c->db));
			nng_msg_free(job->reply);
			job->reply = NULL;
			job->st = op_fail(&job->ctx, PROTO_INTERNAL, "database error", NULL);
		}
	}
	if (job->st != PROTO_OK) {
		nng_msg_free(job->reply);
		job->reply = NULL;
		job->ctx.nevents = 0;
		writer_sql(w, writer_sql_rollback_to);
	}
	writer_sql(w, writer_sql_release);
}

static void
writer_publish(struct writer *w, const struct op_job *job)
{
	for (size_t i = 0; i < job->ctx.nevents; i++) {
		const struct op_event *e = &job->ctx.events[i];
		struct proto_event_req ev = {
			.kind = e->kind,
			.id = e->id,
			.key = e->key,
			.has_key = e->key[0] != '\0',
		};
		nng_msg *m = proto_event_req_msg(0, &ev);

		if (m != NULL && w->events != NULL)
			ipc_pub_send(w->events, m);
		else
			nng_msg_free(m);
	}
}

static void
writer_batch(struct writer *w, struct op_job *batch, size_t n)
{
	bool ok = writer_sql(w, writer_sql_begin) == 0, users_changed = false;
	struct op_job *job, *next;

	for (job = batch; ok && job != NULL; job = job->next)
		writer_apply(w, job);
	if (ok && writer_sql(w, writer_sql_commit) != 0) {
		writer_sql(w, writer_sql_rollback);
		ok = false;
	}
	if (!ok) {
		atomic_fetch_add(&w->failed_commits, 1);
		log_error("writer: batch of %zu not committed; every request in it failed", n);
	} else {
		atomic_fetch_add(&w->commits, 1);
	}
	for (job = batch; job != NULL; job = next) {
		next = job->next;
		if (!ok) {
			nng_msg_free(job->reply);
			job->reply = NULL;
			job->ctx.nevents = 0;
			job->st = op_fail(&job->ctx, PROTO_INTERNAL, "database commit failed", NULL);
		}
		for (size_t i = 0; i < job->ctx.nevents; i++)
			if (strcmp(job->ctx.events[i].kind, "user") == 0 ||
			    strcmp(job->ctx.events[i].kind, "role") == 0)
				users_changed = true;
		writer_publish(w, job);
		ops_finish(job);
	}
	if (w->after_commit)
		w->after_commit(w->arg, w->c, users_changed);
}

static void
writer_task(struct writer *w, struct op_job *job)
{
	bool again = false;
	int rc = -1;

	if (job->notx) {
		rc = job->task(w->c, job->task_arg, &again);
		again = false;
	} else if (writer_sql(w, writer_sql_begin) == 0) {
		rc = job->task(w->c, job->task_arg, &again);
		if (writer_sql(w, rc == 0 ? writer_sql_commit : writer_sql_rollback) != 0) {
			writer_sql(w, writer_sql_rollback);
			rc = -1;
		}
	}
	if (rc == 0 && again) {
		writer_submit(w, job); /* behind whatever queued meanwhile */
		return;
	}
	if (job->task_done != NULL)
		job->task_done(job->task_arg, rc);
	free(job);
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	for (;;) {
		struct op_job *batch, *last;
		size_t n = 1;

		pthread_mutex_lock(&w->lock);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->head == NULL) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		batch = last = w->head;
		if (batch->task != NULL) {
			/* a task runs alone, in its own transaction */
			w->head = batch->next;
			if (w->head == NULL)
				w->tail = NULL;
			batch->next = NULL;
			pthread_mutex_unlock(&w->lock);
			writer_task(w, batch);
			continue;
		}
		while (last->next != NULL && last->next->task == NULL && n < w->batch_max) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (w->head == NULL)
			w->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w->lock);
		atomic_fetch_add(&w->jobs, n);
		if (n > atomic_load(&w->max_batch))
			atomic_store(&w->max_batch, n);
		writer_batch(w, batch, n);
	}
	return NULL;
}

int
writer_start(struct writer **w_r, struct db_conn *c, struct ipc_pub *events, unsigned batch_max,
    void (*after_commit)(void *arg, struct db_conn *c, bool users_changed), void *arg,
    char **err_r)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	int rc;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->c = c;
	w->events = events;
	w->batch_max = batch_max ? batch_max : 256;
	w->after_commit = after_commit;
	w->arg = arg;
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		*err_r = xasprintf("writer thread: %s", strerror(rc));
		free(w);
		return -1;
	}
	*w_r = w;
	return 0;
}

void
writer_stats(struct writer *w, struct writer_stats *st)
{
	st->jobs = atomic_load(&w->jobs);
	st->commits = atomic_load(&w->commits);
	st->dedup_hits = atomic_load(&w->dedup_hits);
	st->failed_commits = atomic_load(&w->failed_commits);
	st->max_batch = atomic_load(&w->max_batch);
}

void
writer_stop(struct writer **wp, int64_t deadline_us)
{
	struct writer *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	(void)deadline_us; /* the queue is bounded by the IPC workers: it drains quickly */
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	/* tasks left in the queue are dropped: they run again on schedule */
	for (struct op_job **p = &w->head; *p != NULL;) {
		struct op_job *j = *p;

		if (j->task != NULL) {
			*p = j->next;
			if (j->task_done != NULL)
				j->task_done(j->task_arg, -1);
			free(j);
		} else {
			p = &j->next;
		}
	}
	w->tail = NULL;
	for (struct op_job *j = w->head; j != NULL; j = j->next)
		w->tail = j;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
