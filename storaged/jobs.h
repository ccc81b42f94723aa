/* jobs: storaged's scheduled maintenance, run by the writer as tasks in
 * bounded batches so a large backlog never holds back client writes.
 *   every hour: forget request ids older than an hour (request_log); delete
 *               expired sessions and revoked ones older than a day
 *   every day:  audit retention (KUBARR_AUDIT_RETENTION_DAYS; 0 disables)
 * The first run is a minute after start.  Each run logs its counts. */
#ifndef KUBARR_STORAGED_JOBS_H
#define KUBARR_STORAGED_JOBS_H

#include <stdint.h>

struct writer;

struct jobs_config {
	unsigned audit_retention_days;
	unsigned first_run_s;      /* delay before the first runs (60) */
};

struct jobs;
struct jobs *jobs_new(struct writer *w, const struct jobs_config *cfg);
/* Main thread, every tick: submits what is due. */
void jobs_tick(struct jobs *j, int64_t now_ms);
void jobs_free(struct jobs **j);
/* Counters for STATS. */
uint64_t jobs_audit_deleted(const struct jobs *j);

#endif
