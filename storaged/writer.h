/* writer: the one thread that owns the writing connection.  It takes every
 * queued write job at once (up to a batch limit), runs them in one
 * transaction, each in its own savepoint (a failing job rolls back alone),
 * records each applied request id with its reply in request_log (a retried
 * request is answered from there, never applied twice), commits - durable with
 * synchronous=FULL - and only then replies and publishes change events. */
#ifndef KUBARR_STORAGED_WRITER_H
#define KUBARR_STORAGED_WRITER_H

#include <stdint.h>

#include "ops.h"

struct writer;
struct ipc_pub;

struct writer_stats {
	uint64_t jobs, commits, dedup_hits, failed_commits, max_batch;
};

int writer_start(struct writer **w_r, struct db_conn *c, struct ipc_pub *events,
    unsigned batch_max, void (*after_commit)(void *arg, struct db_conn *c, bool users_changed),
    void *arg, char **err_r);
void writer_submit(struct writer *w, struct op_job *job);
/* Runs fn(conn, arg, &again) in a transaction of its own, again while it says so. */
void writer_submit_task(struct writer *w, op_task_fn fn, void *arg);
/* The same; done(arg, rc) runs on the writer after the task's transaction
 * ended: rc 0 once it is committed (durable), -1 after a rollback or when the
 * writer stopped before running it. */
void writer_submit_task_done(struct writer *w, op_task_fn fn, void *arg,
    void (*done)(void *arg, int rc));
/* A task run alone on the writing connection outside any transaction, with
 * nothing committing meanwhile: the backup shipper's checkpoints (it ships
 * the WAL's end, then checkpoints, knowing no commit slips in between).  fn
 * must not leave a transaction open; *again is ignored. */
void writer_submit_exclusive(struct writer *w, op_task_fn fn, void *arg,
    void (*done)(void *arg, int rc));
void writer_stats(struct writer *w, struct writer_stats *st);
/* Finishes what is queued (until deadline), stops the thread. */
void writer_stop(struct writer **w, int64_t deadline_us);

#endif
