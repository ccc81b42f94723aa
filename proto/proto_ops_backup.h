/* Ops 800-899: continuous backup of the database (BACKUP.md), answered by
 * storaged's backup engine (storaged/backup.h).  Same conventions as
 * proto_ops.h.
 *
 * BACKUP_STATUS, BACKUP_SNAPSHOT and BACKUP_VERIFY read or poke the engine's
 * state only: no database, no writer, answered at once.  BACKUP_POINTS lists
 * the replica (a remote call, possibly slow): it runs on storaged's reader
 * pool, never on the writer.
 *
 * Backup off (KUBARR_BACKUP_URL empty): STATUS answers configured false and
 * state "disabled"; POINTS, SNAPSHOT and VERIFY answer conflict "backup is not
 * configured (KUBARR_BACKUP_URL is empty)".  SNAPSHOT and VERIFY answer
 * conflict too while shipping has failed (the detail says why).
 *
 * Times of the status are milliseconds since the epoch (0: never) as in
 * struct backup_status; the wire has no floating point, so the lag travels in
 * milliseconds.  A point's time is RFC 3339 UTC with milliseconds. */
#ifndef KUBARR_PROTO_OPS_BACKUP_H
#define KUBARR_PROTO_OPS_BACKUP_H

#define PROTO_OPS_BACKUP(X)                                                                  \
	X(800, BACKUP_STATUS, backup_status, "storaged", "the backup engine's state and counters") \
	X(801, BACKUP_POINTS, backup_points, "storaged", "restore points of the replica, newest first") \
	X(802, BACKUP_SNAPSHOT, backup_snapshot, "storaged", "ask for a snapshot as soon as possible") \
	X(803, BACKUP_VERIFY, backup_verify, "storaged", "ask for a validation drill now")

#define PROTO_RECORDS_BACKUP(R) R(backup_point)

/* BACKUP_STATUS: every field of struct backup_status. */
#define PROTO_BACKUP_STATUS_REQ(F)
#define PROTO_BACKUP_STATUS_REP(F)                                                           \
	F(BOOL, configured, "on", REQ, "KUBARR_BACKUP_URL is set")                               \
	F(STR, url, "url", REQ, "the replica, credentials redacted (\"\" when off)")             \
	F(STR, kind, "k", REQ, "file, s3 (\"\" when off)")                                       \
	F(STR, state, "st", REQ, "ok, degraded, failed, disabled, starting")                     \
	F(STR, error, "err", OPT, "the last error; absent when none")                            \
	F(U64, timeline, "tl", REQ, "current timeline")                                          \
	F(U64, seq_spooled, "ss", REQ, "highest sequence written to the spool")                  \
	F(U64, seq_uploaded, "su", REQ, "highest sequence in the replica")                       \
	F(U64, lag_ms, "lag", REQ, "replication lag: oldest commit not yet in the replica, ms")  \
	F(U64, spool_bytes, "sb", REQ, "bytes waiting in the spool")                             \
	F(U64, spool_files, "sf", REQ, "files waiting in the spool")                             \
	F(U64, wal_bytes, "wb", REQ, "size of the WAL file")                                     \
	F(U64, uploads, "up", REQ, "objects uploaded since start")                               \
	F(U64, upload_bytes, "ub", REQ, "bytes uploaded since start")                            \
	F(U64, upload_errors, "ue", REQ, "failed upload attempts since start")                   \
	F(I64, last_upload_ms, "lu", REQ, "last successful upload, ms since the epoch, 0 never") \
	F(I64, last_snapshot_ms, "ls", REQ, "last snapshot uploaded, ms, 0 never")               \
	F(I64, last_segment_ms, "lg", REQ, "last segment uploaded, ms, 0 never")                 \
	F(I64, last_validation_ms, "lv", REQ, "last validation drill's end, ms, 0 never")         \
	F(STR, last_validation, "vr", REQ, "ok, failed, never, running")                         \
	F(STR, validation_error, "ve", OPT, "why the last drill failed; absent when none")       \
	F(U64, validated_seq, "vs", REQ, "sequence the last successful drill restored")          \
	F(BOOL, lease_held, "lh", REQ, "this storaged holds the replica's writer lease")         \
	F(BOOL, snapshot_pending, "sp", REQ, "a snapshot was asked for and is not taken yet")     \
	F(BOOL, validation_pending, "vp", REQ, "a drill was asked for and is not done yet")

/* One restore point: a snapshot, or the end of a segment. */
#define PROTO_REC_backup_point(F)                                                            \
	F(U64, timeline, "tl", REQ, "timeline")                                                  \
	F(U64, seq, "s", REQ, "sequence")                                                        \
	F(STR, kind, "k", REQ, "snapshot or segment")                                            \
	F(STR, time, "t", REQ, "last commit in it / when taken, RFC 3339 UTC with ms")           \
	F(U64, bytes, "b", REQ, "object size")
#define PROTO_CTYPE_RECS_backup_point struct proto_recs_backup_point

/* BACKUP_POINTS: a read on the reader pool (it lists the replica).
 * bad_request "limit" outside 1..1000, "before_seq" 0; conflict when backup is
 * off; internal "replica listing failed: ..." when the replica cannot be
 * listed. */
#define PROTO_BACKUP_POINTS_REQ(F)                                                           \
	F(U64, before_seq, "bs", OPT, "only points with seq < before_seq (a page's last seq)")   \
	F(U64, limit, "lim", OPT, "1..1000 (default 100)")
#define PROTO_BACKUP_POINTS_REP(F) F(RECS_backup_point, points, "l", REQ, "newest first")

/* BACKUP_SNAPSHOT / BACKUP_VERIFY: return at once; the result shows in
 * BACKUP_STATUS (last_snapshot_ms, last_validation).  conflict when backup is
 * off or failed. */
#define PROTO_BACKUP_SNAPSHOT_REQ(F)
#define PROTO_BACKUP_SNAPSHOT_REP(F) F(BOOL, accepted, "ok", REQ, "the request is queued")
#define PROTO_BACKUP_VERIFY_REQ(F)
#define PROTO_BACKUP_VERIFY_REP(F) F(BOOL, accepted, "ok", REQ, "the request is queued")

#endif
