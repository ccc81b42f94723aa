/* backup_priv: the state the backup module's files share (backup.c and
 * backup_{ship,resume,watch,upload}.c), never included outside them.  The
 * module's internal functions carry the prefix bk_:
 *   backup.c         the WAL hook, the shipper thread, the public API
 *   backup_ship.c    WAL frames -> segments in the spool; checkpoint jobs;
 *                    snapshots
 *   backup_resume.c  the state file; on start: resume or a new timeline
 *   backup_watch.c   audit + notifications, retention, the drill, alerts
 *   backup_upload.c  the lease and the uploader thread */
#ifndef KUBARR_STORAGED_BACKUP_PRIV_H
#define KUBARR_STORAGED_BACKUP_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "backup_int.h"
#include "db.h"
#include "segment.h"
#include "wal.h"

#define BK_RECENT 4096
#define BK_STATE_MAGIC "kubarr-backup-state 1"
#define BK_BACKOFF_MIN_MS 500
#define BK_BACKOFF_MAX_MS 60000
#define BK_ALERT_AFTER_MS 60000 /* degraded this long: backup_failed */
#define BK_SEG_MAX_FRAMES 8192  /* frames per segment (32 MiB of 4 KiB pages) */
/* A snapshot also once the segments since the last one outweigh the database
 * (and this floor): a restore then never applies more segment bytes than the
 * database's own size, however long since the daily snapshot. */
#define BK_SNAP_SEG_FLOOR (8u << 20)

/* An object waiting in the spool: what lag and quota are computed from. */
struct bk_spooled {
	char name[48];
	uint64_t bytes;
	int64_t first_ms;
};

struct bk_page {
	uint32_t pgno;
	uint64_t off;  /* of the page in the WAL */
};

struct backup {
	struct storaged *sd;
	struct backup_config cfg;
	struct writer *writer;
	struct db_conn *wconn;
	char *wal_path, *state_path, *validate_dir;
	char owner[128];

	pthread_t ship_thread, up_thread, drill_thread;
	bool ship_started, up_started, drill_running, drill_joinable;

	/* lock: flags and status */
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* shipper wakes */
	pthread_cond_t up_cond;     /* uploader wakes */
	pthread_cond_t job_cond;    /* exclusive jobs done */
	bool stopping, commit_pending, snapshot_req, verify_req;
	int64_t pending_first_ms;   /* first commit not yet spooled */
	int64_t shipping_first_ms;  /* first commit of the segment being made */
	int64_t last_commit_ms;
	uint64_t hooked;            /* commits the hook saw, not yet in a segment */
	struct bk_spooled *q;       /* the spool's objects, oldest first (accounting) */
	size_t nq, capq;
	uint64_t spool_bytes, spool_files;
	struct backup_status st;
	char err_ship[256], err_up[256];
	int64_t degraded_since_ms;
	bool lease_conflict;
	bool alert_failed_sent, alert_stale_sent;
	bool ready_status;          /* the replica was listed and a timeline chosen */
	struct { uint64_t seq, sum; } recent[BK_RECENT];
	size_t nrecent;

	/* ship_mu: the shipping state */
	pthread_mutex_t ship_mu;
	int wal_fd;
	ino_t wal_ino;
	struct wal_pos pos;
	bool have_pos, expect_restart, need_timeline, ready;
	uint32_t timeline, max_timeline;
	uint64_t seq, spool_max_seq;
	uint32_t spool_max_tl;
	struct imghash ih;
	uint64_t seg_bytes;         /* segment bytes spooled since the last snapshot */
	struct bk_page *pages;
	size_t npages, cap_pages;

	/* shipper-thread only */
	int64_t next_snapshot_ms, next_retention_ms, next_validate_ms;
};

/* Writes one object into the spool: fn adds its pages. */
typedef int (*bk_pages_fn)(struct backup *b, struct seg_writer *w, void *arg, char **err_r);

struct bk_ckpt {
	struct backup *b;
	bool for_snapshot;
	bool done, complete;
	bool new_timeline;
	uint32_t timeline;
	uint64_t seq;
	char err[256];
};

struct bk_state {
	uint32_t timeline, salt1, salt2, cksum1, cksum2, db_pages, page_size;
	uint64_t seq, offset, sum;
	int have_pos, expect_restart;
};

/* The database file, opened once (backup.c explains why it is never closed
 * before SQLite's connections). */
extern int bk_db_fd;

void bk_alerts(struct backup *b);
int64_t bk_backoff(unsigned *attempt);
void bk_ckpt_run(struct backup *b, struct bk_ckpt *j);
void bk_drill_start(struct backup *b);
int bk_establish(struct backup *b, struct replica *r, char **err_r);
double bk_lag_locked(struct backup *b, int64_t now);
void bk_names_free(char **v, size_t n);
int64_t bk_now_ceil_ms(void);
void bk_queue_pop(struct backup *b, const char *name);
void bk_queue_push(struct backup *b, const char *name, uint64_t bytes, int64_t first_ms);
void bk_retention(struct backup *b, struct replica *r);
void bk_seterr(char *dst, const char *msg);
int bk_ship_locked(struct backup *b, char **err_r);
int bk_snapshot(struct backup *b, char **err_r);
void bk_spool_name(char *out, size_t n, uint64_t seq, bool snap, uint32_t tl, int64_t ms);
char **bk_spool_scan(struct backup *b, size_t *n_r, uint64_t *bytes_r);
int bk_state_save(struct backup *b);
void *bk_up_main(void *arg);
bool bk_wait(struct backup *b, pthread_cond_t *cv, int64_t ms);
int bk_wal_open(struct backup *b, char **err_r);
uint64_t bk_wal_size(struct backup *b);

#endif
