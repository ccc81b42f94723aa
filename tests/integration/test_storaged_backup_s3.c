/* Continuous backup to an s3:// replica (BACKUP.md), end to end: the four real
 * daemons (harness), storaged shipping to moto_server with IAM authentication
 * on (every request must carry a valid SigV4 signature of the IAM user's key,
 * given to storaged in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), sometimes
 * through the fault proxy s3_fault_proxy.py.  Each test has its own bucket
 * and an empty prefix (s3://bucket: moto's signature check fails on a listing
 * whose prefix holds a '/').
 *
 *   ship_restore      writes -> s3 -> `restore -o` equals what was
 *                     acknowledged; `backup list` and `backup verify`
 *   restore_on_boot   the database moved aside: storaged restores it from s3
 *                     before it serves
 *   forbidden_at_boot no database and a wrong secret key: storaged exits 1
 *                     naming the refusal (no empty start); the right key again
 *                     and it restores
 *   store_down        the store answers 503 SlowDown for a while: upload
 *                     errors counted, the spool holds the commits; back:
 *                     everything shipped, restore equals
 *   multipart         a snapshot over 5 MiB goes up as a multipart upload and
 *                     restores
 *
 * A missing moto_server or python3 FAILS the test (it does not skip).
 * KUBARR_KEEP_TMP=1 keeps the temporary directories (logs of the doubles and
 * of the daemons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup_fx.h"
#include "moto_fx.h"

#define NBUCKETS 8

static const char *const buckets[NBUCKETS + 1] = {"kubarr-e2e-1", "kubarr-e2e-2",
    "kubarr-e2e-3", "kubarr-e2e-4", "kubarr-e2e-5", "kubarr-e2e-6", "kubarr-e2e-7",
    "kubarr-e2e-8", NULL};

static struct {
	char tmp[256];
	struct moto_fx m;
	int next_bucket;
} S;


/* ---- set-up -------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	/* only what the harness passes reaches the daemons */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	snprintf(S.tmp, sizeof(S.tmp), "%s/kubarr-bks3-XXXXXX", base && base[0] ? base : "/tmp");
	if (mkdtemp(S.tmp) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	fprintf(stderr, "test_storaged_backup_s3: temporary directory %s\n", S.tmp);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mfx_start_moto(&S.m, S.tmp, buckets) != 0 || mfx_start_proxy(&S.m) != 0) {
		fprintf(stderr, "test_storaged_backup_s3: FAILED: moto_server (Python moto) and "
				"python3 are required; they are not skipped\n");
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	const char *keep = getenv("KUBARR_KEEP_TMP");
	char cmd[400];

	(void)state;
	mfx_stop_all(&S.m);
	curl_global_cleanup();
	if (S.tmp[0] != '\0' && (keep == NULL || strcmp(keep, "1") != 0)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", S.tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", S.tmp);
	}
	return 0;
}

struct s3b {
	struct bfx b;
	char url[128];          /* s3://bucket */
};

/* storaged on a fresh bucket, through endpoint */
static int
start_s3(void **state, const char *endpoint, const char *retries)
{
	struct s3b *t = calloc(1, sizeof(*t));

	*state = t;
	if (S.next_bucket >= NBUCKETS) {
		fprintf(stderr, "test_storaged_backup_s3: out of buckets\n");
		return -1;
	}
	snprintf(t->url, sizeof(t->url), "s3://%s", buckets[S.next_bucket++]);
	{
		const char *env[] = {
			"KUBARR_BACKUP_URL", t->url,
			"KUBARR_S3_ENDPOINT", endpoint,
			"KUBARR_S3_REGION", MFX_REGION,
			"KUBARR_S3_PATH_STYLE", "true",
			"KUBARR_BACKUP_UPLOAD_TIMEOUT_MS", "10000",
			"KUBARR_BACKUP_RETRIES", retries,
			"AWS_ACCESS_KEY_ID", S.m.ak,
			"AWS_SECRET_ACCESS_KEY", S.m.sk,
			NULL, NULL,
		};

		return bfx_start(&t->b, env);
	}
}

static int
setup_moto(void **state)
{
	return start_s3(state, S.m.moto_url, "3");
}

static int
setup_proxied(void **state)
{
	mfx_fault(&S.m, NULL, 0, 0, NULL);
	return start_s3(state, S.m.proxy_url, "1");
}

/* ---- helpers ------------------------------------------------------------- */

static char *
read_log(struct bfx *b, const char *name)
{
	char path[300], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s.log", harness_tmp_dir(b->h), name);
	if ((f = fopen(path, "r")) == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* `kubarr-storaged backup <what>`: its exit code, stdout in *out_r (free it) */
static int
backup_cmd(struct bfx *b, const char *what, char **out_r)
{
	const char *args[] = {"backup", what, NULL};
	struct harness_run_result r = {0};
	int code;

	assert_int_equal(harness_run(b->h, "storaged", args, 60000, &r), 0);
	code = WIFEXITED(r.wait_status) ? WEXITSTATUS(r.wait_status) : 128;
	if (code != 0)
		fprintf(stderr, "backup %s exited %d: %s%s\n", what, code, r.out ? r.out : "",
		    r.err ? r.err : "");
	*out_r = strdup(r.out ? r.out : "");
	harness_run_result_free(&r);
	return code;
}

/* `backup list`: snapshots and segments in the replica, and the largest
 * snapshot's size */
static void
replica_counts(struct bfx *b, int *snaps, int *segs, uint64_t *max_snap)
{
	char *out = NULL, url[200];
	const char *p;

	assert_int_equal(backup_cmd(b, "list", &out), 0);
	if (sscanf(out, "replica %199s %d snapshots, %d segments", url, snaps, segs) != 3)
		fail_msg("backup list: %s", out);
	*max_snap = 0;
	for (p = strstr(out, " snapshot "); p != NULL; p = strstr(p + 1, " snapshot ")) {
		const char *eol = strchr(p, '\n'), *sp;
		unsigned long long n;

		if (eol == NULL)
			break;
		for (sp = eol; sp > p && sp[-1] != ' '; sp--)
			;
		if (sscanf(sp, "%llu", &n) == 1 && n > *max_snap)
			*max_snap = n;
	}
	free(out);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_ship_restore(void **state)
{
	struct s3b *t = *state;
	struct bfx *b = &t->b;
	char out[300], err[4096], *text = NULL;
	int snaps = 0, segs = 0;
	uint64_t max_snap;

	bfx_write_range(b, 0, 300);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_true(bfx_stat(b, "backup_uploads") >= 2);
	assert_int_equal(bfx_stat(b, "backup_upload_errors"), 0);
	bfx_path(b, "r1.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 300, 400);
	/* never over an existing file */
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "exists"));

	replica_counts(b, &snaps, &segs, &max_snap);
	assert_true(snaps >= 1);
	assert_true(segs >= 1);
	assert_int_equal(backup_cmd(b, "list", &text), 0);
	assert_non_null(strstr(text, t->url));
	assert_non_null(strstr(text, "snapshot"));
	assert_non_null(strstr(text, "segment"));
	free(text);
	assert_int_equal(backup_cmd(b, "verify", &text), 0);
	assert_non_null(strstr(text, "backup verify: ok"));
	assert_non_null(strstr(text, "integrity_check"));
	free(text);
}

static void
test_restore_on_boot(void **state)
{
	struct s3b *t = *state;
	struct bfx *b = &t->b;
	char out[300], err[4096], *log;
	int64_t before;

	bfx_write_range(b, 0, 150);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	before = bfx_stat(b, "backup_seq_uploaded");
	assert_int_equal(harness_kill(b->h, "storaged", SIGTERM), 0);
	bfx_move_db_aside(b, "lost");
	assert_int_equal(harness_restart(b->h, "storaged"), 0);
	bfx_connect(b);
	/* restored before it served: the live file holds every marker */
	bfx_expect_markers(b->db, 150, 200);
	log = read_log(b, "storaged");
	assert_non_null(strstr(log, "restoring from s3://"));
	assert_non_null(strstr(log, "backup: restored"));
	free(log);
	/* the new timeline's snapshot (labelled with the replica's highest
	 * sequence) up first: commits made before it would be inside it, and
	 * numbering would not move */
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	bfx_write_range(b, 150, 200);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_true(bfx_stat(b, "backup_seq_uploaded") > before); /* numbering goes on */
	bfx_path(b, "boot.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, 200, 300);
}

static void
test_forbidden_at_boot(void **state)
{
	struct s3b *t = *state;
	struct bfx *b = &t->b;
	struct harness_daemon_info info;
	char bad[160], *log;
	const char *p;

	bfx_write_range(b, 0, 30);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	assert_int_equal(harness_kill(b->h, "storaged", SIGTERM), 0);
	bfx_move_db_aside(b, "gone");
	/* the right key id with a wrong secret: moto answers 403 SignatureDoesNotMatch */
	snprintf(bad, sizeof(bad), "%.40sWRONG", S.m.sk);
	assert_int_equal(harness_setenv(b->h, "AWS_SECRET_ACCESS_KEY", bad), 0);
	assert_int_not_equal(harness_restart(b->h, "storaged"), 0);
	assert_int_equal(harness_daemon_info(b->h, "storaged", &info), 0);
	assert_false(info.running);
	assert_true(info.has_status && WIFEXITED(info.wait_status) &&
	    WEXITSTATUS(info.wait_status) == 1);
	log = read_log(b, "storaged");
	p = strstr(log, "refusing to start with an empty database");
	if (p == NULL || strstr(p, "forbidden") == NULL)
		fail_msg("storaged's log does not refuse an empty start naming 'forbidden':\n%s", log);
	assert_null(strstr(log, bad));      /* the secret is never logged */
	free(log);
	assert_int_not_equal(access(b->db, F_OK), 0);
	/* the right key again: restored, the markers are there */
	assert_int_equal(harness_setenv(b->h, "AWS_SECRET_ACCESS_KEY", S.m.sk), 0);
	assert_int_equal(harness_restart(b->h, "storaged"), 0);
	bfx_connect(b);
	bfx_expect_markers(b->db, 30, 60);
}

static void
test_store_down(void **state)
{
	struct s3b *t = *state;
	struct bfx *b = &t->b;
	char out[300], err[4096];
	int64_t errors0, spool = 0;
	long until;
	int k = 50;

	bfx_write_range(b, 0, k);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	errors0 = bfx_stat(b, "backup_upload_errors");
	assert_true(errors0 >= 0);
	/* every request answered 503 SlowDown, never forwarded */
	mfx_fault(&S.m, "503", 1000000, 0, NULL);
	until = harness_now_ms() + 15000;
	while (harness_now_ms() < until) {
		bfx_write_range(b, k, k + 10);
		k += 10;
		spool = bfx_stat(b, "backup_spool_bytes");
		if (bfx_stat(b, "backup_upload_errors") > errors0 && spool > 0 && k >= 150)
			break;
		usleep(100000);
	}
	if (!(bfx_stat(b, "backup_upload_errors") > errors0 && spool > 0))
		fail_msg("store down: upload errors %lld (before %lld), spool %lld bytes",
		    (long long)bfx_stat(b, "backup_upload_errors"), (long long)errors0,
		    (long long)spool);
	assert_true(mfx_proxy_stat(&S.m, "faults") > 0);
	assert_true(bfx_stat(b, "backup_seq_spooled") > bfx_stat(b, "backup_seq_uploaded"));
	/* the store back; a few more commits on top */
	mfx_fault(&S.m, NULL, 0, 0, NULL);
	bfx_write_range(b, k, k + 10);
	k += 10;
	assert_int_equal(bfx_wait_shipped(b, 30000), 0);
	bfx_path(b, "down.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, k, k + 100);
}

static void
test_multipart(void **state)
{
	struct s3b *t = *state;
	struct bfx *b = &t->b;
	char out[300], err[4096], *text = NULL;
	int snaps0 = 0, snaps = 0, segs = 0, n = 900;
	uint64_t max_snap = 0;
	long until;

	/* about 9 MiB of rows that do not compress */
	for (int k = 0; k < n; k++)
		if (!bfx_write_padded(b->c, k, 10000, 5000))
			fail_msg("padded marker %d not acknowledged", k);
	assert_int_equal(bfx_wait_shipped(b, 30000), 0);
	replica_counts(b, &snaps0, &segs, &max_snap);
	assert_true(snaps0 >= 1);
	/* count the multipart initiations of snapshots (forwarded untouched) */
	mfx_fault(&S.m, "delay", 1000000, 0, ".snap?uploads");
	assert_int_equal(backup_cmd(b, "snapshot", &text), 0);
	free(text);
	until = harness_now_ms() + 30000;
	do {
		usleep(200000);
		replica_counts(b, &snaps, &segs, &max_snap);
	} while (snaps <= snaps0 && harness_now_ms() < until);
	assert_true(snaps > snaps0);
	assert_int_equal(bfx_wait_shipped(b, 30000), 0);
	if (max_snap <= (5u << 20))
		fail_msg("the largest snapshot is %llu bytes, not over 5 MiB",
		    (unsigned long long)max_snap);
	assert_true(mfx_proxy_stat(&S.m, "faults") >= 1);    /* POST ...snap?uploads */
	mfx_fault(&S.m, NULL, 0, 0, NULL);
	/* restored from the multipart snapshot */
	bfx_write_range(b, n, n + 5);
	assert_int_equal(bfx_wait_shipped(b, 20000), 0);
	bfx_path(b, "big.db", out, sizeof(out));
	assert_int_equal(bfx_restore(b, out, NULL, err, sizeof(err)), 0);
	bfx_expect_markers(out, n + 5, n + 50);
	{
		struct stat sb;

		assert_int_equal(stat(out, &sb), 0);
		assert_true(sb.st_size > (5 << 20));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ship_restore, setup_moto, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_restore_on_boot, setup_moto, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_forbidden_at_boot, setup_moto, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_store_down, setup_proxied, bfx_teardown),
		cmocka_unit_test_setup_teardown(test_multipart, setup_proxied, bfx_teardown),
	};

	if (getenv("KUBARR_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("KUBARR_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
