/* backup_fx: helpers of the backup tests (integration and fault): storaged
 * with a file replica in the harness's temp dir, marker writes (one
 * AUDIT_APPEND each, action "bk", resource_id = the marker), waiting until
 * the replica holds every commit, `kubarr-storaged restore` into a file, and
 * reading the markers of a database file (after PRAGMA integrity_check). */
#ifndef KUBARR_TESTS_BACKUP_FX_H
#define KUBARR_TESTS_BACKUP_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "ipc.h"

struct bfx {
	struct harness *h;
	struct ipc_client *c;
	char replica[256];       /* the file replica's directory */
	char url[300];           /* file://... */
	char db[256];            /* storaged's database file */
};

/* harness_init, replica dir, KUBARR_BACKUP_URL and env pairs (NULL-ended),
 * launch, connect.  0 or -1. */
int bfx_start(struct bfx *b, const char *const *env);
void bfx_connect(struct bfx *b);
/* Stops the daemons (harness_finish's verdict) and frees. */
int bfx_finish(struct bfx *b);
/* Writes marker k (request id req_id when nonzero); true when acknowledged. */
bool bfx_write(struct ipc_client *c, int k, uint64_t req_id, int timeout_ms);
/* The same with a details payload of about pad bytes that does not compress
 * (fills pages and spool fast). */
bool bfx_write_padded(struct ipc_client *c, int k, size_t pad, int timeout_ms);
/* A STATS counter of storaged (-1 when absent). */
int64_t bfx_stat(struct bfx *b, const char *name);
/* Waits until every commit is in the replica (spool empty, lag 0, something
 * uploaded).  0, or -1 after timeout_ms. */
int bfx_wait_shipped(struct bfx *b, int timeout_ms);
/* kubarr-storaged restore -o out [extra args...]: the exit code; stderr
 * copied into err (may be NULL). */
int bfx_restore(struct bfx *b, const char *out, const char *const *extra, char *err, size_t errlen);
/* counts[k] = rows of marker k in the database file (0..n-1), after
 * asserting PRAGMA integrity_check is ok.  Returns the number of markers. */
int bfx_markers(const char *db, int *counts, int n);
/* Objects in the replica whose key contains what ("segments/", ...). */
int bfx_count_objects(struct bfx *b, const char *what);
/* The path of the n-th (0-based, sorted) object whose key contains what,
 * or -1. */
int bfx_object_path(struct bfx *b, const char *what, int n, char *out, size_t len);

/* cmocka setup / teardown: *state is a struct bfx started with the defaults
 * (a file replica); bfx_setup_env with extra variables (NULL-ended pairs). */
int bfx_setup(void **state);
int bfx_setup_env(void **state, const char *const *env);
int bfx_teardown(void **state);
/* Writes markers [from, to), failing the test on one not acknowledged. */
void bfx_write_range(struct bfx *b, int from, int to);
/* "<harness tmp dir>/name" into out. */
void bfx_path(struct bfx *b, const char *name, char *out, size_t len);
/* Asserts that markers [0, n) are in db once and [n, m) not at all (and
 * PRAGMA integrity_check is ok). */
void bfx_expect_markers(const char *db, int n, int m);
/* Renames storaged's database, -wal and -shm to <name>.<tag>. */
void bfx_move_db_aside(struct bfx *b, const char *tag);
/* One integer from storaged's database file (a read-only connection of the
 * test process), -1 when the query gives no row. */
long long bfx_db_count(struct bfx *b, const char *sql);
/* Polls bfx_db_count until it is at least min (true) or timeout_ms pass
 * (false): for rows written through storaged's writer after an event. */
bool bfx_db_count_reaches(struct bfx *b, const char *sql, long long min, int timeout_ms);
/* Whether the daemon's log (<tmp>/<name>.log) contains what. */
bool bfx_log_has(struct bfx *b, const char *name, const char *what);

#endif
