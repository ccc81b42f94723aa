/* replica_s3: what the s3 back end offers beyond struct replica_ops (see
 * replica.h for the interface).  Every function here takes a replica opened by
 * replica_s3_open. */
#ifndef KUBARR_STORAGED_REPLICA_S3_H
#define KUBARR_STORAGED_REPLICA_S3_H

#include <stddef.h>
#include <stdint.h>

#include "replica.h"

#define REPLICA_S3_BACKOFF_BASE_MS 200   /* first retry after ~this, doubling */
#define REPLICA_S3_BACKOFF_CAP_MS 5000
#define REPLICA_S3_MULTIPART_MIN (5u << 20) /* above this, put is multipart */
#define REPLICA_S3_PART_SIZE (8u << 20)

/* Downloads key into memory (replica_get_mem's contract; replica_ops has no
 * slot for it, so replica.c may call this for an s3 replica). */
int replica_s3_get_mem(struct replica *r, const char *key, size_t max, uint8_t **buf_r,
    size_t *len_r, char **err_r);
/* Creates the bucket (PUT Bucket; a LocationConstraint outside us-east-1);
 * an existing bucket we own is success.  For tests and first-time setup. */
int replica_s3_create_bucket(struct replica *r, char **err_r);
/* Retry pacing: full delays are base * 2^n capped at cap, jittered to
 * [d/2, d].  Tests shorten it. */
void replica_s3_set_backoff(struct replica *r, unsigned base_ms, unsigned cap_ms);
/* HTTP requests sent by the last call (all attempts), for tests. */
unsigned replica_s3_requests(const struct replica *r);

#endif
