/* backup: continuous backup of the database (BACKUP.md), inside storaged.
 *
 *   shipper   (backup.c) WAL hook -> frames (wal.c) -> segment (segment.c)
 *             -> spool directory -> uploader -> replica (replica.h)
 *             checkpoints, snapshots, retention, validation drill, lease
 *   restore   (restore.c) replica -> verified database file
 *   commands  (backup_cli.c) kubarr-storaged restore | backup ...
 *
 * Off when KUBARR_BACKUP_URL is empty: then SQLite checkpoints by itself as
 * before and none of this runs. */
#ifndef KUBARR_STORAGED_BACKUP_H
#define KUBARR_STORAGED_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replica.h"

struct storaged;
struct backup;

/* What /api/backups/status, STATS and /metrics show. Times are ms since the
 * epoch, 0 = never. */
struct backup_status {
	bool configured;            /* KUBARR_BACKUP_URL set */
	char url[256];              /* redacted */
	char kind[8];               /* "file", "s3", "" */
	/* "ok": shipping and uploads current; "degraded": retrying (uploads
	 * failing, spool full, lease lost...) with nothing lost yet; "failed":
	 * shipping stopped (error says why); "disabled": not configured;
	 * "starting": before the first successful contact with the replica. */
	char state[16];
	char error[256];            /* the last error, "" when none */
	uint32_t timeline;
	uint64_t seq_spooled;       /* highest sequence written to the spool */
	uint64_t seq_uploaded;      /* highest sequence in the replica */
	double lag_s;               /* replication_lag_seconds: oldest commit not yet in the replica */
	uint64_t spool_bytes, spool_files;
	uint64_t wal_bytes;
	uint64_t uploads, upload_bytes, upload_errors;
	int64_t last_upload_ms, last_snapshot_ms, last_segment_ms;
	int64_t last_validation_ms;
	char last_validation[8];    /* "ok", "failed", "never"; backup_status_get: "running" */
	char validation_error[256];
	uint64_t validated_seq;
	bool lease_held;
	bool snapshot_pending, validation_pending;
};

/* One restore point: every segment's end, and every snapshot. */
struct backup_point {
	uint32_t timeline;
	uint64_t seq;
	bool snapshot;              /* a snapshot (else a segment) */
	int64_t time_ms;            /* last commit in it / when taken */
	uint64_t bytes;             /* object size */
};

void backup_status_get(struct backup *b, struct backup_status *st);
/* Asks for a snapshot (and a checkpoint) as soon as possible; returns at
 * once.  0, or -1 when backup is off or failed (*err_r). */
int backup_request_snapshot(struct backup *b, char **err_r);
/* Asks for a validation drill now; returns at once; the result shows in the
 * status.  0 or -1 (*err_r). */
int backup_request_verify(struct backup *b, char **err_r);
/* Lists the replica (a remote call: run it off the writer thread): the
 * restore points, newest first, at most max (0: all) with seq < before_seq
 * (0: no bound).  *pts_r is malloc'd (caller frees).  0 or -1 (*err_r). */
int backup_points(struct backup *b, uint64_t before_seq, size_t max,
    struct backup_point **pts_r, size_t *n_r, char **err_r);

#endif
