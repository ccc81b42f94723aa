/* backup_upload: the writer's lease on the replica (BACKUP.md 11) and the
 * uploader thread draining the spool in name order. */
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

/* ---- the lease (BACKUP.md 11) -------------------------------------------- */

/* Takes or renews the lease.  0 held; 1 another storaged holds it (*err_r);
 * -1 the replica failed (*err_r). */
static int
bk_lease(struct backup *b, struct replica *r, char **err_r)
{
	int64_t now = time_wall_ms(), expires = now + (int64_t)b->cfg.lease_ttl_s * 1000;
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *j, *mine;
	char *text;
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = replica_get_mem(r, BK_LEASE_KEY, 4096, &buf, &len, err_r);
		if (rc == REPLICA_OK) {
			json_error_t je;
			const char *owner = NULL;
			json_int_t until = 0;

			j = json_loadb((const char *)buf, len, 0, &je);
			free(buf);
			buf = NULL;
			if (j == NULL || json_unpack(j, "{s:s, s:I}", "owner", &owner, "expires_ms",
				&until) != 0) {
				log_warnx("backup: the lease object is unreadable; replacing it");
			} else if (strcmp(owner, b->owner) != 0 && until > now) {
				*err_r = xasprintf("another storaged (%s) holds the lease on this replica "
				    "for %lld s more; not uploading (two writers on one prefix would "
				    "corrupt it)", owner, (long long)((until - now) / 1000));
				json_decref(j);
				return 1;
			} else if (strcmp(owner, b->owner) != 0) {
				log_warnx("backup: taking over the expired lease of %s", owner);
			}
			json_decref(j);
		} else if (rc != REPLICA_NOT_FOUND) {
			return -1;
		} else {
			free(*err_r);
			*err_r = NULL;
		}
		mine = json_pack("{s:s, s:I, s:I}", "owner", b->owner, "expires_ms",
		    (json_int_t)expires, "renewed_ms", (json_int_t)now);
		text = json_dumps(mine, JSON_COMPACT);
		json_decref(mine);
		rc = replica_put_mem(r, BK_LEASE_KEY, text, strlen(text), rc == REPLICA_NOT_FOUND,
		    err_r);
		free(text);
		if (rc == REPLICA_EXISTS) { /* someone created it meanwhile: read it again */
			free(*err_r);
			*err_r = NULL;
			continue;
		}
		if (rc != REPLICA_OK)
			return -1;
		/* read back: of two takers at once, the one whose write landed last wins */
		if (replica_get_mem(r, BK_LEASE_KEY, 4096, &buf, &len, err_r) != REPLICA_OK)
			return -1;
		rc = memmem(buf, len, b->owner, strlen(b->owner)) != NULL ? 0 : 1;
		free(buf);
		if (rc != 0)
			*err_r = xstrdup("lost the lease to another storaged");
		return rc;
	}
	*err_r = xstrdup("the lease keeps changing under us");
	return 1;
}

/* ---- the uploader thread ------------------------------------------------- */

static int
bk_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The spool's objects in upload order (names; caller frees), with totals. */
char **
bk_spool_scan(struct backup *b, size_t *n_r, uint64_t *bytes_r)
{
	DIR *d = opendir(b->cfg.spool_dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	uint64_t bytes = 0;

	*n_r = 0;
	*bytes_r = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || strlen(de->d_name) != 41) /* bk_spool_name */
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
		bytes += (uint64_t)sb.st_size;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), bk_name_cmp);
	*n_r = n;
	*bytes_r = bytes;
	return v;
}

void
bk_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Uploads one spool file.  REPLICA_OK (also when it was there already). */
static int
bk_upload_one(struct backup *b, struct replica *r, const char *name, uint64_t *bytes_r,
    struct seg_hdr *h, char **err_r)
{
	char *path = xasprintf("%s/%s", b->cfg.spool_dir, name), key[BK_KEY_MAX];
	uint8_t hb[SEG_HDR_SIZE];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	free(path);
	if (fd < 0 || fstat(fd, &sb) != 0 || pread(fd, hb, sizeof(hb), 0) != (ssize_t)sizeof(hb) ||
	    seg_hdr_decode(hb, sizeof(hb), h, err_r) != 0) {
		if (*err_r == NULL)
			*err_r = xasprintf("spool %s: %m", name);
		if (fd >= 0)
			close(fd);
		return REPLICA_FAILED;
	}
	bk_key(key, h->timeline, h->seq, h->kind == SEG_KIND_SNAPSHOT, h->time_ms);
	rc = replica_put_fd(r, key, fd, true, err_r);
	close(fd);
	if (rc == REPLICA_EXISTS) {
		log_info("backup: %s is in the replica already (an upload retried after a crash)", key);
		free(*err_r);
		*err_r = NULL;
		rc = REPLICA_OK;
	}
	*bytes_r = (uint64_t)sb.st_size;
	return rc;
}

void *
bk_up_main(void *arg)
{
	struct backup *b = arg;
	struct replica *r = NULL;
	char *err = NULL;
	unsigned attempt = 0;
	int64_t lease_until = 0;
	int64_t renew_ms = (int64_t)b->cfg.lease_ttl_s * 1000 / 3;

	if (replica_open(&r, &b->cfg.rc, &err) != 0) {
		free(err);
		return NULL;
	}
	for (;;) {
		size_t n;
		uint64_t bytes;
		char **names;
		int64_t now = time_wall_ms();
		int rc;

		pthread_mutex_lock(&b->lock);
		if (b->stopping) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		pthread_mutex_unlock(&b->lock);
		if (now >= lease_until - 2 * renew_ms) {
			rc = bk_lease(b, r, &err);
			pthread_mutex_lock(&b->lock);
			b->lease_conflict = rc == 1;
			b->st.lease_held = rc == 0;
			if (rc != 0)
				bk_seterr(b->err_up, err);
			if (rc < 0)
				b->st.upload_errors++; /* the replica failed a request */
			pthread_mutex_unlock(&b->lock);
			if (rc != 0) {
				if (rc == 1)
					log_error("backup: %s", err);
				else
					log_warnx("backup: lease: %s", err);
				free(err);
				err = NULL;
				lease_until = 0;
				if (!bk_wait(b, &b->up_cond, rc == 1 ? renew_ms : bk_backoff(&attempt)))
					break;
				continue;
			}
			lease_until = now + (int64_t)b->cfg.lease_ttl_s * 1000;
		}
		names = bk_spool_scan(b, &n, &bytes);
		if (n == 0) {
			bk_names_free(names, n);
			if (!bk_wait(b, &b->up_cond, renew_ms))
				break;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct seg_hdr h = {0};
			uint64_t sz = 0;
			char *path;

			if (time_wall_ms() >= lease_until - renew_ms)
				break; /* renew first */
			rc = bk_upload_one(b, r, names[i], &sz, &h, &err);
			if (rc != REPLICA_OK) {
				log_warnx("backup: upload %s: %s", names[i], err ? err : replica_strerror(rc));
				pthread_mutex_lock(&b->lock);
				bk_seterr(b->err_up, err ? err : replica_strerror(rc));
				b->st.upload_errors++;
				pthread_mutex_unlock(&b->lock);
				free(err);
				err = NULL;
				if (!bk_wait(b, &b->up_cond, bk_backoff(&attempt))) {
					bk_names_free(names, n);
					goto out;
				}
				break;
			}
			attempt = 0;
			path = xasprintf("%s/%s", b->cfg.spool_dir, names[i]);
			unlink(path);
			free(path);
			fileio_fsync_dir(b->cfg.spool_dir);
			pthread_mutex_lock(&b->lock);
			b->err_up[0] = '\0';
			b->st.uploads++;
			b->st.upload_bytes += sz;
			b->st.last_upload_ms = time_wall_ms();
			if (h.seq > b->st.seq_uploaded || h.kind == SEG_KIND_SEGMENT)
				b->st.seq_uploaded = h.seq;
			bk_queue_pop(b, names[i]);
			pthread_cond_signal(&b->cond); /* a shipper waiting for spool room */
			pthread_mutex_unlock(&b->lock);
			pthread_mutex_lock(&b->lock);
			if (b->stopping) {
				pthread_mutex_unlock(&b->lock);
				bk_names_free(names, n);
				goto out;
			}
			pthread_mutex_unlock(&b->lock);
		}
		bk_names_free(names, n);
	}
out:
	/* a clean stop hands the lease back: a successor need not wait out its TTL */
	if (lease_until > time_wall_ms()) {
		char *e2 = NULL;

		replica_delete(r, BK_LEASE_KEY, &e2);
		free(e2);
	}
	replica_close(&r);
	return NULL;
}
