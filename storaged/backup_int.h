/* backup_int: what the backup files share inside storaged (backup.c,
 * restore.c, backup_cli.c); not for ops or the gateway. */
#ifndef KUBARR_STORAGED_BACKUP_INT_H
#define KUBARR_STORAGED_BACKUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup.h"
#include "replica.h"

/* Object keys (BACKUP.md 6), relative to the replica root; immutable, so a
 * retried upload is idempotent and a listing sorts in sequence order:
 *   TTTTTTTT/snapshots/SSSSSSSSSSSSSSSS-MMMMMMMMMMMMM.snap
 *   TTTTTTTT/segments/SSSSSSSSSSSSSSSS-MMMMMMMMMMMMM.seg
 * T timeline, S sequence, M the wall time (ms) of the object's last commit
 * (a snapshot: when taken), all zero-padded decimal: point-in-time restore
 * picks objects from the listing alone.  "lease" is the writer's lease. */
#define BK_KEY_MAX 64
#define BK_LEASE_KEY "lease"

void bk_key(char out[BK_KEY_MAX], uint32_t timeline, uint64_t seq, bool snapshot, int64_t time_ms);
/* Parses a key of the layout above: true and *p filled (bytes from size). */
bool bk_key_parse(const char *key, uint64_t size, struct backup_point *p);

/* The replica's objects, parsed: sorted by (seq, segment before snapshot). */
struct bk_catalog {
	struct backup_point *v;
	size_t n;
	uint32_t max_timeline;
	uint64_t max_seq;
	bool has_lease;
};
/* Lists the replica into a catalog.  REPLICA_OK or a replica error (*err_r). */
int bk_catalog_load(struct replica *r, struct bk_catalog *cat, char **err_r);
void bk_catalog_free(struct bk_catalog *cat);

/* ---- the shipper (backup.c) ------------------------------------------- */
struct backup_config {
	struct replica_config rc;
	const char *db_path;
	const char *spool_dir;
	unsigned sync_interval_ms;     /* batch commits for this long (1000) */
	unsigned snapshot_interval_s;  /* a snapshot at least this often (86400) */
	unsigned retention_s;          /* keep snapshots this long (604800) */
	unsigned validate_interval_s;  /* the drill (43200; 0 off) */
	unsigned lease_ttl_s;          /* the writer's lease (60) */
	unsigned stale_s;              /* backup_stale after this much lag (600) */
	uint64_t spool_max_bytes;      /* spool quota: beyond it, shipping waits (WAL kept) */
	uint64_t checkpoint_bytes;     /* checkpoint when the WAL is larger (4 MiB) */
	uint64_t wal_alert_bytes;      /* alert when the WAL outgrows this (256 MiB) */
	int zstd_level;
	int busy_timeout_ms;           /* restored after a checkpoint's short wait */
};

struct writer;
struct db_conn;
/* Before the writer thread starts: checks the spool, registers the WAL hook
 * on the writing connection.  0 or -1 (*err_r). */
int backup_start(struct backup **b_r, struct storaged *sd, struct db_conn *wconn,
    const struct backup_config *cfg, char **err_r);
/* After the writer started: the shipper and uploader threads. */
int backup_run(struct backup *b, struct writer *w, char **err_r);
/* Before the writer stops: ships what is committed and stops the threads
 * (an upload in flight finishes or fails; the spool keeps what is left). */
void backup_halt(struct backup *b);
/* After the writer stopped (the WAL hook points at b until then): frees. */
void backup_stop(struct backup **b);
/* After every SQLite connection of the process closed: the shipper's own
 * descriptor of the database file (kept open until then: see backup.c). */
void backup_release_db(void);

/* ---- restore (restore.c) ------------------------------------------------ */
struct restore_opts {
	uint64_t to_seq;            /* 0: no bound */
	int64_t to_ms;              /* 0: no bound (ms since epoch) */
	const char *out_path;       /* the database file to create (must not exist) */
	bool integrity;             /* integrity_check instead of quick_check */
	bool quiet;                 /* no progress log lines */
};
struct restore_result {
	uint32_t timeline;
	uint64_t snapshot_seq, seq; /* the base, and the last sequence applied */
	size_t segments;
	uint64_t db_checksum;
	uint32_t db_pages, page_size;
	int64_t time_ms;            /* the restored state's last commit */
	uint64_t bytes_read;        /* object bytes downloaded */
};
/* Restores into o->out_path (BACKUP.md 7): the newest restore point within
 * the bounds; verifies every object's CRC, the sequence chain and the
 * database checksum after every object, then quick_check (integrity_check),
 * fsync, rename into place.  Nothing is left at out_path on failure.
 * Returns REPLICA_OK, REPLICA_NOT_FOUND (no restore point: empty replica or
 * none within the bounds), another replica error, or REPLICA_FAILED for a
 * verification failure (*err_r says which object and why). */
int restore_run(struct replica *r, const struct restore_opts *o, struct restore_result *res,
    char **err_r);

/* Removes (renames aside) a stale "-wal"/"-shm" next to a database that does
 * not exist, so SQLite cannot replay them onto a restored file. */
void restore_move_stale(const char *db_path);

#endif
