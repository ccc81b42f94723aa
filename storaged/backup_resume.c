/* backup_resume: the shipper's state file, and on start the choice between
 * resuming where shipping stopped (the WAL replayed over the database up to
 * the saved position, checksum and chain equal) and a new timeline. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "backup_int.h"
#include "db.h"
#include "log.h"
#include "ops_notify.h"
#include "segment.h"
#include "storaged.h"
#include "timeutil.h"
#include "wal.h"
#include "writer.h"
#include "xmalloc.h"
#include "backup_priv.h"
#include "fileio.h"

/* ---- state file ---------------------------------------------------------- */

int
bk_state_save(struct backup *b)
{
	char *tmp = xasprintf("%s.tmp", b->state_path), buf[512];
	int fd, n, rc = -1;

	n = snprintf(buf, sizeof(buf),
	    "%s\ntimeline %" PRIu32 "\nseq %" PRIu64 "\nhave_pos %d\nsalt1 %" PRIu32
	    "\nsalt2 %" PRIu32 "\noffset %" PRIu64 "\ncksum1 %" PRIu32 "\ncksum2 %" PRIu32
	    "\ndb_pages %" PRIu32 "\npage_size %" PRIu32 "\nsum %" PRIu64 "\nexpect_restart %d\n",
	    BK_STATE_MAGIC, b->timeline, b->seq, b->have_pos, b->pos.salt1, b->pos.salt2,
	    b->pos.offset, b->pos.cksum1, b->pos.cksum2, b->ih.n, b->ih.page_size, b->ih.sum,
	    b->expect_restart);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) >= 0) {
		if (write(fd, buf, (size_t)n) == n && fsync(fd) == 0)
			rc = 0;
		close(fd);
	}
	if (rc == 0 && rename(tmp, b->state_path) != 0)
		rc = -1;
	if (rc == 0)
		fileio_fsync_dir(b->cfg.spool_dir);
	else
		log_warnx("backup: saving %s: %m", b->state_path);
	free(tmp);
	return rc;
}

static bool
bk_state_load(struct backup *b, struct bk_state *s)
{
	FILE *f = fopen(b->state_path, "re");
	char magic[64];
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(magic, sizeof(magic), f) != NULL &&
	    strncmp(magic, BK_STATE_MAGIC, strlen(BK_STATE_MAGIC)) == 0 &&
	    fscanf(f,
		"timeline %" SCNu32 " seq %" SCNu64 " have_pos %d salt1 %" SCNu32 " salt2 %" SCNu32
		" offset %" SCNu64 " cksum1 %" SCNu32 " cksum2 %" SCNu32 " db_pages %" SCNu32
		" page_size %" SCNu32 " sum %" SCNu64 " expect_restart %d",
		&s->timeline, &s->seq, &s->have_pos, &s->salt1, &s->salt2, &s->offset, &s->cksum1,
		&s->cksum2, &s->db_pages, &s->page_size, &s->sum, &s->expect_restart) == 12;
	fclose(f);
	return ok;
}

/* ---- start: resume or a new timeline ------------------------------------- */

struct bk_replay {
	struct imghash *ih;
};

static int
bk_replay_frame(void *arg, uint32_t pgno, uint32_t commit_db_pages, const uint8_t *page,
    uint64_t off, char **err_r)
{
	struct bk_replay *r = arg;

	(void)off;
	if (imghash_set(r->ih, pgno, page) != 0 ||
	    (commit_db_pages != 0 && imghash_resize(r->ih, commit_db_pages) != 0)) {
		*err_r = xstrdup("out of memory");
		return -1;
	}
	return 0;
}

/* Replays the WAL over the database file up to the saved position; true
 * when the state file describes exactly this database and WAL. */
static bool
bk_resume(struct backup *b, const struct bk_state *s, char **why_r)
{
	struct imghash ih = {0};
	struct wal_hdr hdr;
	struct wal_pos pos;
	struct bk_replay rp = {.ih = &ih};
	char *err = NULL;
	int rc;

	if (imghash_file(&ih, bk_db_fd, &err) != 0) {
		*why_r = xasprintf("reading the database: %s", err);
		goto no;
	}
	if (ih.page_size != s->page_size) {
		*why_r = xstrdup("page size changed");
		goto no;
	}
	if (s->have_pos) {
		if (bk_wal_open(b, &err) != 0 || wal_hdr_read(b->wal_fd, &hdr, &err) != 0) {
			*why_r = xasprintf("the WAL shipped up to offset %" PRIu64 " is gone%s%s",
			    s->offset, err ? ": " : "", err ? err : "");
			goto no;
		}
		if (hdr.salt1 != s->salt1 || hdr.salt2 != s->salt2) {
			if (!s->expect_restart) {
				*why_r = xstrdup("the WAL was restarted by someone else");
				goto no;
			}
			/* restarted after our own complete checkpoint: the file is the image */
			wal_pos_init(&pos, &hdr);
			pos.db_pages = ih.n;
			if (ih.sum != s->sum) {
				*why_r = xstrdup("the database file is not the shipped image");
				goto no;
			}
			b->pos = pos;
			b->have_pos = true;
			b->expect_restart = true;
		} else {
			wal_pos_init(&pos, &hdr);
			pos.db_pages = ih.n;
			while (pos.offset < s->offset) {
				uint64_t left = (s->offset - pos.offset) / (WAL_FRAME_HDR_SIZE + pos.page_size);

				rc = wal_scan(b->wal_fd, &pos, left, bk_replay_frame, &rp, &err);
				if (rc <= 0)
					break;
			}
			if (pos.offset != s->offset || pos.cksum1 != s->cksum1 || pos.cksum2 != s->cksum2) {
				*why_r = xasprintf("the WAL does not hold the shipped frames (at %" PRIu64
				    ", expected %" PRIu64 ")%s%s", pos.offset, s->offset, err ? ": " : "",
				    err ? err : "");
				goto no;
			}
			if (ih.sum != s->sum) {
				*why_r = xstrdup("the database and WAL are not the shipped image");
				goto no;
			}
			b->pos = pos;
			b->have_pos = true;
			b->expect_restart = s->expect_restart;
		}
	} else {
		if (ih.sum != s->sum) {
			*why_r = xstrdup("the database file is not the shipped image");
			goto no;
		}
		b->have_pos = false;
	}
	imghash_free(&b->ih);
	b->ih = ih;
	free(err);
	return true;
no:
	imghash_free(&ih);
	free(err);
	return false;
}

/* Lists the replica, then resumes or asks for a new timeline.  0 or -1
 * (replica unreachable: retried). */
int
bk_establish(struct backup *b, struct replica *r, char **err_r)
{
	struct bk_catalog cat;
	struct bk_state s = {0};
	char *why = NULL;
	bool have_state;
	int rc;

	if ((rc = bk_catalog_load(r, &cat, err_r)) != REPLICA_OK)
		return -1;
	pthread_mutex_lock(&b->ship_mu);
	b->max_timeline = cat.max_timeline;
	have_state = bk_state_load(b, &s);
	/* an object spooled after the state was last saved (a crash between
	 * the two) would be shipped twice under one sequence: then a new
	 * timeline instead */
	if (have_state && s.timeline != 0 && s.timeline >= cat.max_timeline &&
	    s.seq >= cat.max_seq && s.seq >= b->spool_max_seq && bk_resume(b, &s, &why)) {
		b->timeline = s.timeline;
		b->seq = s.seq;
		b->need_timeline = false;
		log_info("backup: resuming timeline %u after seq %" PRIu64 " (%s)", b->timeline, b->seq,
		    replica_url(r));
	} else {
		if (why != NULL)
			log_warnx("backup: cannot resume the saved position: %s; new timeline", why);
		/* numbering continues after everything the replica, the saved
		 * state and the spool have seen */
		b->timeline = cat.max_timeline > s.timeline ? cat.max_timeline : s.timeline;
		b->max_timeline = b->timeline;
		b->seq = cat.max_seq > s.seq ? cat.max_seq : s.seq;
		if (b->spool_max_seq > b->seq)
			b->seq = b->spool_max_seq;
		if (b->spool_max_tl > b->timeline)
			b->timeline = b->spool_max_tl;
		b->need_timeline = true;
		log_info("backup: new timeline after seq %" PRIu64 " in %s (%zu objects there)", b->seq,
		    replica_url(r), cat.n);
	}
	b->ready = true;
	pthread_mutex_unlock(&b->ship_mu);
	free(why);
	pthread_mutex_lock(&b->lock);
	b->st.timeline = b->timeline;
	b->st.seq_uploaded = cat.max_seq;
	b->st.seq_spooled = b->seq;
	b->ready_status = true;
	/* the WAL may hold commits of an earlier run: lag counts from now
	 * until the first ship says otherwise */
	b->commit_pending = true;
	if (b->pending_first_ms == 0)
		b->pending_first_ms = time_wall_ms();
	pthread_mutex_unlock(&b->lock);
	bk_catalog_free(&cat);
	return 0;
}
