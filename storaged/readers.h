/* readers: KUBARR_DB_READERS threads, each with its own read-only connection
 * (WAL lets them read while the writer commits), serving read jobs in order. */
#ifndef KUBARR_STORAGED_READERS_H
#define KUBARR_STORAGED_READERS_H

#include "ops.h"

struct readers;

int readers_start(struct readers **r_r, const struct db_config *cfg, int n, char **err_r);
void readers_submit(struct readers *rd, struct op_job *job);
void readers_stop(struct readers **rd);

#endif
