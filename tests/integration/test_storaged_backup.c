/* Continuous backup with a file replica (BACKUP.md), the four real daemons:
 * every test writes acknowledged markers, lets the shipper upload them, and
 * ends with `kubarr-storaged restore` into a new file, PRAGMA
 * integrity_check, and a comparison with what was acknowledged.
 *
 *   ship_restore        writes -> replica -> restore equals; list; verify;
 *                       restore refuses to overwrite; --if-db-not-exists
 *   point_in_time       --seq and --to between two batches
 *   corrupt_objects     a flipped byte, a truncated and a missing segment each
 *                       stop the restore with a clear error and no file
 *   external_checkpoint a checkpoint by another process: a new timeline,
 *                       nothing lost
 *   torn_wal_tail       kill -9, garbage after the last frame: resumes
 *   restore_on_boot     the database deleted: storaged restores it before it
 *                       serves, numbering continues
 *   boot_fails_closed   replica missing at boot with no database: storaged
 *                       exits with a clear error instead of starting empty
 *   two_writers         a second storaged on the same replica is refused the
 *                       lease and uploads nothing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backup_fx.h"
#include "client.h"
#include "harness_auth.h"
#include "proto.h"



static void
test_ship_restore(void **state)
{
	struct bfx *b = *state;
	struct harness_run_result r = {0};
	char out[300], err[4096];
	const char *list[] = {"backup", "list", NULL}, *verify[] = {"backup", "verify", NULL};
	const char *ifnot[] = {"--if-db-not-exists", NULL};

	bfx_write_range(b, 0, 300);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_true(bfx_count_objects(b, "/snapshots/") >= 1);
	assert_true(bfx_count_objects(b, "/segments/") >= 1);
	bfx_path(b, "r1.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 300, 400);
	/* never over an existing file; --if-db-not-exists makes that a no-op */
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(bfx_restore(b, out, ifnot, err, sizeof(err)), 0);
	assert_int_equal(harness_run(b->h, "storaged", list, 20000, &r), 0);
	assert_int_equal(WEXITSTATUS(r.wait_status), 0);
	assert_non_null(strstr(r.out, "snapshot"));
	assert_non_null(strstr(r.out, "segment"));
	harness_run_result_free(&r);
	assert_int_equal(harness_run(b->h, "storaged", verify, 60000, &r), 0);
	assert_int_equal(WEXITSTATUS(r.wait_status), 0);
	assert_non_null(strstr(r.out, "integrity_check"));
	harness_run_result_free(&r);
}

static void
iso_time(int64_t ms, char *out, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), len - strlen(out), ".%03dZ", (int)(ms % 1000));
}

static void
test_point_in_time(void **state)
{
	struct bfx *b = *state;
	char out[300], seq[32], when[64], err[4096];
	const char *by_seq[] = {"--seq", seq, NULL}, *by_time[] = {"--to", when, NULL};
	struct timespec ts;
	int64_t sa;

	bfx_write_range(b, 0, 100);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	sa = bfx_stat(b, "backup_seq_uploaded");
	assert_true(sa > 0);
	usleep(300000);
	clock_gettime(CLOCK_REALTIME, &ts);
	iso_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when, sizeof(when));
	usleep(300000);
	bfx_write_range(b, 100, 200);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_true(bfx_stat(b, "backup_seq_uploaded") > sa);

	snprintf(seq, sizeof(seq), "%lld", (long long)sa);
	bfx_path(b, "pitr-seq.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, by_seq, err, sizeof(err)), 0);
	bfx_expect_markers(out, 100, 200);
	bfx_path(b, "pitr-time.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, by_time, err, sizeof(err)), 0);
	bfx_expect_markers(out, 100, 200);
	bfx_path(b, "pitr-latest.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 200, 300);
	/* a time before any snapshot: nothing to restore, said plainly */
	snprintf(when, sizeof(when), "2001-01-01T00:00:00Z");
	bfx_path(b, "pitr-none.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, by_time, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no snapshot"));
	assert_int_not_equal(access(out, F_OK), 0);
}

static void
flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void
put_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* Runs the validation drill (BACKUP_VERIFY) and waits for its verdict. */
static const char *
drill(struct bfx *b)
{
	static char verdict[16];
	struct proto_backup_verify_req vreq = {0};
	struct proto_backup_verify_rep vrep;
	struct proto_reply hold = {0};

	assert_int_equal(proto_backup_verify_call_sync(b->c, &vreq, 3000, &vrep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	verdict[0] = '\0';
	for (long until = harness_now_ms() + 20000; harness_now_ms() < until; usleep(50000)) {
		struct proto_backup_status_req sreq = {0};
		struct proto_backup_status_rep st;

		assert_int_equal(proto_backup_status_call_sync(b->c, &sreq, 3000, &st, &hold), PROTO_OK);
		snprintf(verdict, sizeof(verdict), "%s", st.last_validation);
		proto_reply_fini(&hold);
		if (!st.validation_pending &&
		    (strcmp(verdict, "ok") == 0 || strcmp(verdict, "failed") == 0))
			break;
	}
	return verdict;
}

static void
test_corrupt_objects(void **state)
{
	struct bfx *b = *state;
	char out[300], seg[600], aside[700], err[4096], *orig;
	struct stat sb;
	FILE *f;
	int nseg;

	/* several segments: a batch per shipping window */
	for (int k = 0; k < 6; k++) {
		bfx_write_range(b, k * 10, k * 10 + 10);
		usleep(250000);
	}
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	nseg = bfx_count_objects(b, "/segments/");
	assert_true(nseg >= 3);
	assert_int_equal(bfx_object_path(b, "/segments/", nseg / 2, seg, sizeof(seg)), 0);
	assert_int_equal(stat(seg, &sb), 0);
	orig = malloc((size_t)sb.st_size);
	assert_non_null(f = fopen(seg, "r"));
	assert_int_equal(fread(orig, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	bfx_path(b, "bad.db", out, sizeof(out));

	/* a flipped byte in the body: the restore refuses, and the validation
	 * drill fails loudly (audit + a backup_failed notification to the admins) */
	assert_int_equal(harness_create_user(b->h, "boss", "correct horse 1", "admin", NULL), 0);
	flip_byte(seg, sb.st_size / 2);
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "corrupt"));
	assert_int_not_equal(access(out, F_OK), 0);
	assert_string_equal(drill(b), "failed");
	/* the drill's audit entry and notification go through the writer after
	 * its verdict */
	assert_true(bfx_db_count_reaches(b, "SELECT COUNT(*) FROM audit_logs WHERE action ="
	    " 'backup_validation_failed' AND success = 0", 1, 5000));
	assert_true(bfx_db_count_reaches(b, "SELECT COUNT(*) FROM user_notifications n JOIN users u"
	    " ON u.id = n.user_id WHERE u.username = 'boss' AND n.event_type = 'backup_failed'", 1,
	    5000));
	put_file(seg, orig, (size_t)sb.st_size);
	assert_string_equal(drill(b), "ok");
	assert_true(bfx_db_count_reaches(b, "SELECT COUNT(*) FROM audit_logs WHERE action ="
	    " 'backup_validated'", 1, 5000));
	/* a flipped byte in the header */
	flip_byte(seg, 20);
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "corrupt"));
	put_file(seg, orig, (size_t)sb.st_size);
	/* truncated */
	assert_int_equal(truncate(seg, sb.st_size - 7), 0);
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "corrupt"));
	assert_int_not_equal(access(out, F_OK), 0);
	put_file(seg, orig, (size_t)sb.st_size);
	/* missing */
	snprintf(aside, sizeof(aside), "%s.aside", b->replica);
	assert_int_equal(rename(seg, aside), 0);
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "missing"));
	assert_int_not_equal(access(out, F_OK), 0);
	assert_int_equal(rename(aside, seg), 0);
	/* whole again: the restore verifies */
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 60, 100);
	free(orig);
}

static void
test_external_checkpoint(void **state)
{
	struct bfx *b = *state;
	char out[300], err[4096];
	sqlite3 *db;
	int rc = SQLITE_BUSY;

	bfx_write_range(b, 0, 50);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_int_equal(bfx_count_objects(b, "00000002/"), 0);
	assert_int_equal(sqlite3_open_v2(b->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	for (int i = 0; i < 50 && rc != SQLITE_OK; i++) {
		/* what an operator's sqlite3 shell does (the C call alone would be a
		 * no-op on a connection that has not read the schema yet) */
		rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			usleep(20000);
	}
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
	bfx_write_range(b, 50, 100);
	/* the shipper sees a WAL it did not restart: a new timeline with a snapshot */
	for (int i = 0; i < 200 && bfx_count_objects(b, "00000002/snapshots/") == 0; i++)
		usleep(50000);
	assert_int_equal(bfx_count_objects(b, "00000002/snapshots/"), 1);
	bfx_write_range(b, 100, 120);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	bfx_path(b, "ext.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 120, 200);
}

static void
test_torn_wal_tail(void **state)
{
	struct bfx *b = *state;
	char out[300], wal[300], err[4096], junk[3000];
	int fd;

	bfx_write_range(b, 0, 40);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_int_equal(harness_kill(b->h, "storaged", SIGKILL), 0);
	snprintf(wal, sizeof(wal), "%s-wal", b->db);
	fd = open(wal, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(harness_restart(b->h, "storaged"), 0);
	bfx_connect(b);
	bfx_write_range(b, 40, 80);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	bfx_path(b, "torn.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 80, 120);
}

static void
test_restore_on_boot(void **state)
{
	struct bfx *b = *state;
	char out[300], err[4096], seq[32];
	const char *by_seq[] = {"--seq", seq, NULL};
	int64_t before;

	bfx_write_range(b, 0, 150);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	before = bfx_stat(b, "backup_seq_uploaded");
	assert_int_equal(harness_kill(b->h, "storaged", SIGTERM), 0);
	bfx_move_db_aside(b, "lost");
	assert_int_equal(harness_restart(b->h, "storaged"), 0);
	bfx_connect(b);
	bfx_expect_markers(b->db, 150, 200); /* served from the restored file */
	bfx_write_range(b, 150, 180);
	/* a new timeline whose snapshot continues the numbering (never from 0) */
	for (int i = 0; i < 200 && bfx_count_objects(b, "00000002/snapshots/") == 0; i++)
		usleep(50000);
	assert_int_equal(bfx_count_objects(b, "00000002/snapshots/"), 1);
	bfx_write_range(b, 180, 200);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_true(bfx_stat(b, "backup_seq_uploaded") > before);
	bfx_path(b, "boot.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 200, 300);
	/* the old timeline's last point is still exactly what it was: the new
	 * timeline's snapshot (holding later commits) has a sequence of its own */
	snprintf(seq, sizeof(seq), "%lld", (long long)before);
	bfx_path(b, "boot-before.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, by_seq, err, sizeof(err)), 0);
	bfx_expect_markers(out, 150, 300);
}

static void
test_boot_fails_closed(void **state)
{
	struct bfx *b = *state;
	char missing[300];
	struct harness_daemon_info info;

	bfx_write_range(b, 0, 30);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_int_equal(harness_kill(b->h, "storaged", SIGTERM), 0);
	bfx_move_db_aside(b, "gone");
	/* the replica's folder is not there (an unmounted share): no empty start */
	snprintf(missing, sizeof(missing), "file://%s/not-mounted", harness_tmp_dir(b->h));
	assert_int_equal(harness_setenv(b->h, "KUBARR_BACKUP_URL", missing), 0);
	assert_int_not_equal(harness_restart(b->h, "storaged"), 0);
	assert_int_equal(harness_daemon_info(b->h, "storaged", &info), 0);
	assert_false(info.running);
	assert_true(info.has_status && WIFEXITED(info.wait_status) && WEXITSTATUS(info.wait_status) == 1);
	assert_true(bfx_log_has(b, "storaged", "refusing to start with an empty database"));
	assert_int_not_equal(access(b->db, F_OK), 0);
	/* the replica back: restored, the markers are there */
	assert_int_equal(harness_setenv(b->h, "KUBARR_BACKUP_URL", b->url), 0);
	assert_int_equal(harness_restart(b->h, "storaged"), 0);
	bfx_connect(b);
	bfx_expect_markers(b->db, 30, 60);
}

static void
test_two_writers(void **state)
{
	struct bfx *b = *state;
	struct harness_run_result r = {0};
	char data2[300], run2[300], out[300], err[4096];
	const char *args[] = {NULL};

	bfx_write_range(b, 0, 60);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	snprintf(data2, sizeof(data2), "%s/data2", harness_tmp_dir(b->h));
	snprintf(run2, sizeof(run2), "%s/run2", harness_tmp_dir(b->h));
	mkdir(data2, 0750);
	mkdir(run2, 0750);
	assert_int_equal(harness_setenv(b->h, "KUBARR_DATA_DIR", data2), 0);
	assert_int_equal(harness_setenv(b->h, "KUBARR_RUNTIME_DIR", run2), 0);
	/* the second storaged restores the replica (its database is missing),
	 * then must not upload a single object: the first holds the lease */
	assert_int_equal(harness_run(b->h, "storaged", args, 5000, &r), 0);
	assert_true(r.timed_out);
	assert_non_null(strstr(r.err, "holds the lease"));
	harness_run_result_free(&r);
	assert_int_equal(harness_setenv(b->h, "KUBARR_DATA_DIR", harness_data_dir(b->h)), 0);
	assert_int_equal(harness_setenv(b->h, "KUBARR_RUNTIME_DIR", harness_runtime_dir(b->h)), 0);
	assert_int_equal(bfx_count_objects(b, "00000002/"), 0);
	bfx_write_range(b, 60, 90);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	bfx_path(b, "two.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 90, 150);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ship_restore, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_point_in_time, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_objects, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_external_checkpoint, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_torn_wal_tail, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_on_boot, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_boot_fails_closed, bfx_setup, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_two_writers, bfx_setup, bfx_teardown),
	};

	if (getenv("KUBARR_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("KUBARR_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
