/* import-pg against a real PostgreSQL 15: a throw-away cluster (initdb on a
 * temporary data dir, listening only on a Unix socket in that dir; run as the
 * postgres user when the test runs as root) gets the reference schema
 * (fixtures/reference_pg.sql) and sample rows in every table: awkward strings
 * (quotes, backslashes, newlines, tabs, unicode, emoji), NULLs, bcrypt hashes,
 * timestamps with zones, booleans both ways, JSON text, invites naming no user.
 * pg_dump --data-only --inserts (session zone Asia/Kolkata) and --column-inserts
 * (America/St_Johns) are imported with the real kubarr-storaged into fresh data
 * dirs, and every row of every table is compared with what PostgreSQL holds
 * (timestamps rendered in UTC by PostgreSQL's to_char, booleans as 0/1).  Also:
 * the report's per-table counts, sequences, refusal of a non-empty database
 * without --force, a dump with a case-duplicate username, unreadable and
 * truncated dumps, usage errors.
 *
 * Needs /usr/lib/postgresql/15/bin (Debian package postgresql): fails if missing.
 * The PostgreSQL dir is made in $TMPDIR (else /tmp), which the postgres user must
 * be able to search; KUBARR_KEEP_TMP=1 keeps it (dumps, logs) and the harness dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"
#define PG_NULL "<NULL>"
#define PG_FS "\x1f"
#define PG_RS "\x1e"
#define IMPORT_TIMEOUT_MS 120000

/* The reference backend's 24 tables. */
static const char *const test_tables[] = {
	"app_vpn_configs", "audit_logs", "bootstrap_status", "cloudflare_tunnels", "invites",
	"notification_channels", "notification_events", "notification_logs", "oauth_accounts",
	"oauth_providers", "pending_2fa_challenges", "role_app_permissions", "role_permissions",
	"roles", "server_config", "sessions", "system_settings", "two_factor_recovery_codes",
	"user_notification_prefs", "user_notifications", "user_preferences", "user_roles", "users",
	"vpn_providers",
};
#define TEST_NTABLES (sizeof(test_tables) / sizeof(test_tables[0]))

/* Sample rows for every table.  Invite 2 names user 999 and invite 3 user 998:
 * neither exists, so kubarr stores NULL. */
#define T0 "'2024-01-01 00:00:00+00'"
#define T1 "'2024-03-01 10:00:00+00'"
#define BCRYPT "'$2b$12$KIXQJ9Jq0m1QvYb8FQm3UeY5H0f0hQv7C0p1rXo1yWm5m8s8Yc6yS'"
static const char test_sample_sql[] =
    "SET TIME ZONE 'UTC';\n"
    "INSERT INTO users VALUES (1, 'admin', 'admin@example.com',"
    " '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW', true, true, 'JBSWY3DPEHPK3PXP',"
    " true, '2024-03-01 12:00:00.123456+05:30', " T0 ", '2024-02-29 23:59:59.9999-08'),\n"
    " (2, 'o''brien \"the \\ one\"', 'ob@example.com', '$2y$10$abcdefghijklmnopqrstuu5Yd6n8sSWdV0Zp',"
    " false, false, NULL, false, NULL, '1999-12-31 23:00:00+00', '2000-01-01 00:00:00.5+14'),\n"
    " (3, E'multi\\nline\\ttab', 'ünïcødé@例え.jp', '$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGH',"
    " true, true, NULL, false, NULL, '1900-01-01 00:00:00+00', '2038-01-19 03:14:07.999999+00'),\n"
    " (4, 'emoji 😀🎉 Ωμέγα', 'emoji@example.com', '$2b$04$0123456789012345678901uQ0ZT2e7m7Z',"
    " true, false, 'SECRET', false, NULL, '2024-06-30 23:59:59.999+00', '2024-07-01 01:00:00-11:30'),\n"
    " (5, 'alice', 'alice@example.com', " BCRYPT ", true, true, NULL, false, NULL,"
    " '2023-03-26 02:30:00+01', '2023-10-29 02:30:00+02'),\n"
    " (7, 'bob', 'Bob@Example.com', " BCRYPT ", false, true, NULL, false, NULL, " T0 ", " T0 ");\n"
    "SELECT setval('users_id_seq', 100);\n"
    "INSERT INTO roles VALUES (1, 'admin', 'Full access', true, false, " T0 "),\n"
    " (2, 'viewer', NULL, true, false, " T0 "), (3, 'downloader', 'Downloads', true, false, " T0 "),\n"
    " (4, '2fa-required', E'needs\\\\2FA\\n', false, true, '2024-05-01 10:00:00+02');\n"
    "SELECT setval('roles_id_seq', 4);\n"
    "INSERT INTO user_roles VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 2), (7, 1);\n"
    "INSERT INTO role_permissions VALUES (1, 1, 'app.*'), (2, 1, 'users.manage'),"
    " (3, 2, 'apps.view'), (4, 4, 'storage.view');\n"
    "INSERT INTO role_app_permissions VALUES (1, 2, 'jellyfin'), (2, 3, 'qbittorrent'), (3, 4, '*');\n"
    "INSERT INTO sessions VALUES ('0f8fad5b-d9cb-469f-a165-70867728950e', 1,"
    " 'Mozilla/5.0 (X11; Linux x86_64) \"quoted\"', '192.168.1.10', " T1 ","
    " '2024-03-02 10:00:00+00', '2024-03-01 11:00:00.001+00', false),\n"
    " ('7c9e6679-7425-40de-944b-e07fc1f90ae7', 5, NULL, NULL, " T1 ", " T1 ", " T1 ", true);\n"
    "INSERT INTO pending_2fa_challenges VALUES (1, 1, 'tok-1', '2024-03-01 10:05:00+00', " T1 ");\n"
    "INSERT INTO two_factor_recovery_codes VALUES (1, 1, " BCRYPT ", NULL, " T1 "),\n"
    " (2, 1, '$2b$12$abcdefghijklmnopqrstuv', '2024-05-05 05:05:05.555+02', " T1 ");\n"
    "INSERT INTO oauth_accounts VALUES (1, 5, 'google', '1234567890', 'alice@gmail.com', 'Alice Ö',"
    " E'ya29.tok\\\\en', 'refresh', '2024-03-01 11:00:00+00', " T1 ", " T1 "),\n"
    " (2, 7, 'oidc-corp', 'sub|7', NULL, NULL, NULL, NULL, NULL, " T1 ", " T1 ");\n"
    "INSERT INTO oauth_providers VALUES ('google', 'Google', true, 'id.apps.googleusercontent.com',"
    " 's3cr''et', " T0 ", '2024-01-02 00:00:00+00'),\n"
    " ('microsoft', 'Microsoft', false, NULL, NULL, " T0 ", " T0 "),\n"
    " ('oidc-corp', 'Corp SSO', true, 'kubarr', 'x', " T0 ", " T0 ");\n"
    "INSERT INTO system_settings VALUES ('registration_enabled', 'true', 'Allow sign-up', " T0 "),\n"
    " ('registration_require_approval', 'false', NULL, " T0 "),\n"
    " ('jwt_private_key', E'-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg==\\n-----END PRIVATE KEY"
    "-----\\n', NULL, " T0 "),\n"
    " ('ui', '{\"theme\": \"dark\", \"langs\": [\"en\", \"de\"], \"q\": \"a\\\"b\"}', 'JSON', " T0 ");\n"
    "INSERT INTO user_preferences VALUES (1, 'dark', " T0 "), (5, 'light', " T0 ");\n"
    "INSERT INTO invites VALUES (1, 'INV-OK', 1, 7, true, '2024-02-01 00:00:00+00', " T0 ", " T1 "),\n"
    " (2, 'INV-ORPHAN', 999, NULL, false, NULL, " T0 ", NULL),\n"
    " (3, 'INV-USED-BY-GONE', 1, 998, true, NULL, " T0 ", '2024-01-02 00:00:00+00'),\n"
    " (4, 'INV-OPEN', 5, NULL, false, '2030-01-01 00:00:00+00', " T0 ", NULL);\n"
    "SELECT setval('invites_id_seq', 10);\n"
    "INSERT INTO audit_logs VALUES (1, '2024-03-01 10:00:00.123+00', 1, 'admin', 'login', 'auth',"
    " NULL, NULL, '10.0.0.1', 'curl/8.0', true, NULL),\n"
    " (2, '2024-03-01 10:00:01+03', 42, 'deleted-user', 'user_deleted', 'user', '42',"
    " '{\"reason\": \"multi\\nline\", \"emoji\": \"😀\", \"path\": \"C:\\\\\\\\x\"}', NULL, NULL,"
    " false, E'error: \"bad\"\\nsecond line'),\n"
    " (3, '2024-03-01 10:00:02-05', NULL, NULL, 'setting_changed', 'setting', 'ui', '[]', NULL,"
    " NULL, true, NULL);\n"
    "INSERT INTO notification_channels VALUES (1, 'email', true,"
    " '{\"smtp_host\": \"mail.example.com\", \"port\": 587}', " T0 ", " T0 "),\n"
    " (2, 'telegram', false, '{}', " T0 ", " T0 ");\n"
    "INSERT INTO notification_events VALUES (1, 'login', false, 'info'),"
    " (2, 'password_changed', true, 'warning'), (3, 'backup_failed', true, 'critical');\n"
    "INSERT INTO user_notification_prefs VALUES"
    " (1, 1, 'email', true, 'admin@example.com', true, " T0 ", " T0 "),\n"
    " (2, 5, 'telegram', false, NULL, false, " T0 ", " T0 ");\n"
    "INSERT INTO notification_logs VALUES"
    " (1, 1, 'email', 'login', 'admin@example.com', 'sent', NULL, " T1 "),\n"
    " (2, NULL, 'telegram', 'backup_failed', NULL, 'failed', E'timeout\\n\"retry\"', " T1 ");\n"
    "INSERT INTO user_notifications VALUES"
    " (1, 1, 'Welcome', 'Hello, admin! 👋', 'login', 'info', false, " T1 "),\n"
    " (2, 5, 'Disk', '90% full\\warn', NULL, 'critical', true, " T1 ");\n"
    "INSERT INTO bootstrap_status VALUES"
    " (1, 'postgresql', 'PostgreSQL', 'healthy', 'ok', " T0 ", '2024-01-01 00:01:00+00', NULL),\n"
    " (2, 'monitoring', 'Monitoring', 'failed', NULL, " T0 ", NULL, 'helm: timeout');\n"
    "INSERT INTO server_config VALUES (1, 'My Server', '/mnt/data', " T0 ");\n"
    "INSERT INTO vpn_providers VALUES (1, 'Mullvad', 'wireguard', 'mullvad',"
    " '{\"private_key\": \"abc=\", \"addresses\": [\"10.64.0.1/32\"]}', true, false, '10.0.0.0/8',"
    " " T0 ", " T0 "),\n"
    " (2, 'Corp', 'openvpn', NULL, '{}', false, true, '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16',"
    " " T0 ", " T0 ");\n"
    "INSERT INTO app_vpn_configs VALUES ('qbittorrent', 1, NULL, true, " T0 ", " T0 "),\n"
    " ('sabnzbd', 1, false, false, " T0 ", " T0 "), ('transmission', 2, true, false, " T0 ", " T0 ");\n"
    "INSERT INTO cloudflare_tunnels VALUES (1, 'home', 'eyJhIjoiYiJ9', 'deployed', NULL, " T0 ","
    " " T0 ", 'api-token', 'acc', 'tun', 'zone', 'example.com', 'media', 'dns1', 'media.example.com'),\n"
    " (2, 'bare', 'tok', 'not_deployed', 'err \"x\"', " T0 ", " T0 ", NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL);\n";

/* The "bad" database: ref plus a user whose name differs from alice's only in
 * case (kubarr refuses it), with a role and preferences that then name no user. */
static const char test_bad_sql[] =
    "INSERT INTO users (id, username, email, hashed_password, created_at, updated_at) VALUES"
    " (50, 'ALICE', 'alice-upper@example.com', '$2b$12$abcdefghijklmnopqrstuv', now(), now());\n"
    "INSERT INTO user_roles VALUES (50, 2);\n"
    "INSERT INTO user_preferences VALUES (50, 'dark', now());\n";

struct fx {
	struct harness *h;
	char dir[64]; /* $TMPDIR/kpg.XXXXXX (0755): dumps, query output */
	char pg[96];  /* dir/pg, the postgres user's: data/, socket, logs */
	char log[128];
	uid_t uid;
	gid_t gid;
	bool drop; /* running as root: the PostgreSQL tools run as postgres */
	bool started;
	int imports;
};

/* ---- processes ---- */

/* Runs argv with stdin from in (or /dev/null), stdout to out (or the log), as
 * the postgres user when running as root, with PGTZ=tz if given.  Exit status,
 * or -1. */
static int
pg_run(struct fx *f, const char *tz, const char *in, const char *out, const char *const *argv)
{
	int in_fd = open(in ? in : "/dev/null", O_RDONLY | O_CLOEXEC);
	int log_fd = open(f->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	int out_fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	int status = -1;
	pid_t pid;

	if (in_fd < 0 || log_fd < 0 || (out != NULL && out_fd < 0)) {
		fprintf(stderr, "test_import_pg: open: %s\n", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == 0) {
		dup2(in_fd, 0);
		dup2(out_fd >= 0 ? out_fd : log_fd, 1);
		dup2(log_fd, 2);
		if (f->drop && (setgroups(0, NULL) != 0 || setgid(f->gid) != 0 || setuid(f->uid) != 0))
			_exit(126);
		if (tz != NULL)
			setenv("PGTZ", tz, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	else
		status = -1;
out:
	for (int i = 0, fds[] = {in_fd, log_fd, out_fd}; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (status != 0)
		fprintf(stderr, "test_import_pg: %s exited with %d (see %s)\n", argv[0], status, f->log);
	return status;
}

/* psql -c sql (or stdin from in when sql is NULL) on database db. */
static int
pg_psql(struct fx *f, const char *db, const char *sql, const char *in, const char *out)
{
	const char *argv[] = {PG_BIN "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", f->pg,
	    "-U", "postgres", "-d", db, "-At", "-F", PG_FS, "-R", PG_RS, "-P", "null=" PG_NULL,
	    sql ? "-c" : NULL, sql, NULL};

	return pg_run(f, NULL, in, out, argv);
}

static char *
test_slurp(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);

	assert_non_null(fp);
	while ((n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	fclose(fp);
	buf[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return buf;
}

/* The result of a query: records joined by PG_RS, fields by PG_FS. */
static char *
pg_query(struct fx *f, const char *db, const char *sql)
{
	char out[160];
	char *s;
	size_t len;

	snprintf(out, sizeof(out), "%s/query.out", f->dir);
	assert_int_equal(pg_psql(f, db, sql, NULL, out), 0);
	s = test_slurp(out, &len);
	if (len > 0 && s[len - 1] == '\n')
		s[len - 1] = '\0'; /* psql ends its output with a newline */
	return s;
}

static int
test_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

static void
pg_cleanup(struct fx *f)
{
	if (f->started) {
		char data[128];
		const char *stop[] = {PG_BIN "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop",
		    NULL};

		snprintf(data, sizeof(data), "%s/data", f->pg);
		pg_run(f, NULL, NULL, NULL, stop);
		f->started = false;
	}
	if (f->dir[0] != '\0') {
		const char *keep = getenv("KUBARR_KEEP_TMP");

		if (keep != NULL && strcmp(keep, "1") == 0)
			fprintf(stderr, "test_import_pg: kept %s\n", f->dir);
		else
			nftw(f->dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		f->dir[0] = '\0';
	}
}

static int
pg_dump(struct fx *f, const char *db, const char *mode, const char *tz, const char *name)
{
	char out[160];
	const char *argv[] = {PG_BIN "/pg_dump", "-h", f->pg, "-U", "postgres", "--data-only", mode,
	    db, NULL};

	snprintf(out, sizeof(out), "%s/%s", f->dir, name);
	return pg_run(f, tz, NULL, out, argv);
}

/* initdb, start, the reference schema, the sample rows, the dumps. */
static int
pg_setup(struct fx *f)
{
	char data[128], opts[256], sample[160];
	const char *initdb[] = {PG_BIN "/initdb", "-D", data, "-U", "postgres", "-A", "trust",
	    "-E", "UTF8", "--no-locale", "--no-sync", NULL};
	const char *start[] = {PG_BIN "/pg_ctl", "-D", data, "-w", "-t", "60", "-l", NULL, "-o",
	    opts, "start", NULL};
	char server_log[140];
	const char *base;
	FILE *fp;

	if (access(PG_BIN "/initdb", X_OK) != 0) {
		fprintf(stderr, "test_import_pg: FAIL: PostgreSQL 15 is not installed (%s missing): "
				"install the Debian package postgresql (tools/deps.sh lists it)\n",
		    PG_BIN "/initdb");
		return -1;
	}
	f->uid = getuid();
	f->gid = getgid();
	if (getuid() == 0) {
		struct passwd *pw = getpwnam("postgres");

		if (pw == NULL) {
			fprintf(stderr, "test_import_pg: running as root and there is no postgres user\n");
			return -1;
		}
		f->uid = pw->pw_uid;
		f->gid = pw->pw_gid;
		f->drop = true;
	}
	base = getenv("TMPDIR"); /* as the harness: short, for the socket path */
	if (base == NULL || base[0] == '\0' || strlen(base) > 40)
		base = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/kpg.XXXXXX", base);
	if (mkdtemp(f->dir) == NULL || chmod(f->dir, 0755) != 0) {
		f->dir[0] = '\0';
		return -1;
	}
	snprintf(f->pg, sizeof(f->pg), "%s/pg", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/tools.log", f->dir);
	snprintf(data, sizeof(data), "%s/data", f->pg);
	snprintf(server_log, sizeof(server_log), "%s/server.log", f->pg);
	snprintf(opts, sizeof(opts), "-k %s -c listen_addresses='' -c fsync=off", f->pg);
	start[7] = server_log;
	if (mkdir(f->pg, 0700) != 0 || chown(f->pg, f->uid, f->gid) != 0)
		return -1;
	if (pg_run(f, NULL, NULL, NULL, initdb) != 0 || pg_run(f, NULL, NULL, NULL, start) != 0)
		return -1;
	f->started = true;
	snprintf(sample, sizeof(sample), "%s/sample.sql", f->dir);
	if ((fp = fopen(sample, "w")) == NULL)
		return -1;
	fputs(test_sample_sql, fp);
	fclose(fp);
	if (pg_psql(f, "postgres", "CREATE DATABASE ref", NULL, NULL) != 0 ||
	    pg_psql(f, "ref", NULL, IMPORT_PG_REFERENCE_SQL, NULL) != 0 ||
	    pg_psql(f, "ref", NULL, sample, NULL) != 0 ||
	    pg_psql(f, "postgres", "CREATE DATABASE bad TEMPLATE ref", NULL, NULL) != 0 ||
	    pg_psql(f, "bad", test_bad_sql, NULL, NULL) != 0)
		return -1;
	if (pg_dump(f, "ref", "--inserts", "Asia/Kolkata", "inserts.sql") != 0 ||
	    pg_dump(f, "ref", "--column-inserts", "America/St_Johns", "column_inserts.sql") != 0 ||
	    pg_dump(f, "bad", "--inserts", "Europe/Paris", "bad.sql") != 0)
		return -1;
	return 0;
}

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	*state = f;
	if (pg_setup(f) != 0 || harness_init(&f->h) != 0) {
		pg_cleanup(f);
		harness_free(&f->h);
		free(f);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	pg_cleanup(f);
	harness_free(&f->h);
	free(f);
	return 0;
}

/* Each test ends with harness_test_pass (no sanitizer report in the logs of
 * the runs); a failed one gets the tails of those logs printed. */
static int
test_begin(void **state)
{
	harness_test_begin(((struct fx *)*state)->h);
	return 0;
}

static int
test_end(void **state)
{
	harness_test_end(((struct fx *)*state)->h);
	return 0;
}

static void
test_pass(struct fx *f)
{
	assert_int_equal(harness_test_pass(f->h), 0);
}

/* ---- the importer ---- */

struct test_import {
	int status; /* exit code */
	char *out, *err;
	char db[256];
};

/* Imports dir/name into data dir n (a new one when n is 0, not created first). */
static void
test_import(struct fx *f, const char *name, bool force, int n, struct test_import *r)
{
	struct harness_run_result run;
	char path[160], data[200];
	const char *args[] = {"import-pg", force ? "--force" : path, force ? path : NULL, NULL};

	if (n == 0)
		n = ++f->imports;
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	snprintf(data, sizeof(data), "%s/import%d/data", harness_tmp_dir(f->h), n);
	snprintf(r->db, sizeof(r->db), "%s/kubarr.db", data);
	assert_int_equal(harness_setenv(f->h, "KUBARR_DATA_DIR", data), 0);
	assert_int_equal(harness_run(f->h, "storaged", args, IMPORT_TIMEOUT_MS, &run), 0);
	assert_false(run.timed_out);
	assert_true(WIFEXITED(run.wait_status));
	r->status = WEXITSTATUS(run.wait_status);
	r->out = run.out;
	r->err = run.err;
}

static void
test_import_free(struct test_import *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ---- comparison ---- */

static void
test_append(char **s, size_t *len, const char *add, size_t n)
{
	*s = realloc(*s, *len + n + 1);
	memcpy(*s + *len, add, n);
	*len += n;
	(*s)[*len] = '\0';
}

/* Rows of a kubarr table as psql prints them (PG_FS, PG_RS, PG_NULL). */
static char *
sqlite_rows(const char *db, const char *sql)
{
	sqlite3 *conn;
	sqlite3_stmt *st;
	char *s = calloc(1, 1);
	size_t len = 0;
	int rows = 0;

	assert_int_equal(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (rows++ > 0)
			test_append(&s, &len, PG_RS, 1);
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);

			if (c > 0)
				test_append(&s, &len, PG_FS, 1);
			if (v == NULL)
				test_append(&s, &len, PG_NULL, strlen(PG_NULL));
			else
				test_append(&s, &len, v, (size_t)sqlite3_column_bytes(st, c));
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(conn);
	return s;
}

/* Every row of table in PostgreSQL database pgdb (optionally WHERE where) is
 * in kubarr's db, and nothing else; returns the number of rows. */
static size_t
compare_table(struct fx *f, const char *pgdb, const char *db, const char *table, const char *where)
{
	char sql[4096], lite[2048], order[128], lorder[128], *cols, *pg, *kb, *save = NULL;
	size_t n, pos = 0, lpos, opos = 0, lopos = 0;
	int ncols = 0;

	snprintf(sql, sizeof(sql), "SELECT column_name, data_type FROM information_schema.columns"
	    " WHERE table_schema = 'public' AND table_name = '%s' ORDER BY ordinal_position", table);
	cols = pg_query(f, pgdb, sql);
	pos = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	lpos = (size_t)snprintf(lite, sizeof(lite), "SELECT ");
	for (char *rec = strtok_r(cols, PG_RS, &save); rec != NULL; rec = strtok_r(NULL, PG_RS, &save)) {
		char *type = strchr(rec, PG_FS[0]), expr[512];

		assert_non_null(type);
		*type++ = '\0';
		if (strcmp(type, "boolean") == 0)
			snprintf(expr, sizeof(expr), "CASE WHEN t.\"%s\" THEN '1' WHEN NOT t.\"%s\""
			    " THEN '0' END", rec, rec);
		else if (strcmp(type, "timestamp with time zone") == 0)
			snprintf(expr, sizeof(expr), "to_char(t.\"%s\" AT TIME ZONE 'UTC', "
			    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", rec);
		else if (strcmp(table, "invites") == 0 && strstr(rec, "_by_id") != NULL)
			snprintf(expr, sizeof(expr), "CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.id ="
			    " t.\"%s\") THEN t.\"%s\"::text END", rec, rec);
		else
			snprintf(expr, sizeof(expr), "t.\"%s\"::text", rec);
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, "%s%s", ncols ? ", " : "", expr);
		lpos += (size_t)snprintf(lite + lpos, sizeof(lite) - lpos, "%s\"%s\"", ncols ? ", " : "",
		    rec);
		/* ORDER BY the table's columns (t."id", not the text output named id) */
		if (ncols < 2) {
			opos += (size_t)snprintf(order + opos, sizeof(order) - opos, "%st.\"%s\"",
			    ncols ? ", " : "", rec);
			lopos += (size_t)snprintf(lorder + lopos, sizeof(lorder) - lopos, "%s\"%s\"",
			    ncols ? ", " : "", rec);
		}
		ncols++;
	}
	free(cols);
	assert_true(ncols > 0);
	snprintf(sql + pos, sizeof(sql) - pos, " FROM %s t%s%s ORDER BY %s", table,
	    where ? " WHERE " : "", where ? where : "", order);
	snprintf(lite + lpos, sizeof(lite) - lpos, " FROM \"%s\"%s%s ORDER BY %s", table,
	    where ? " WHERE " : "", where ? where : "", lorder);
	pg = pg_query(f, pgdb, sql);
	kb = sqlite_rows(db, lite);
	if (strcmp(pg, kb) != 0) {
		for (char *c = pg; *c; c++)
			*c = *c == PG_RS[0] ? '\n' : *c == PG_FS[0] ? '|' : *c;
		for (char *c = kb; *c; c++)
			*c = *c == PG_RS[0] ? '\n' : *c == PG_FS[0] ? '|' : *c;
		fail_msg("%s differs:\n--- PostgreSQL\n%s\n--- kubarr\n%s", table, pg, kb);
	}
	n = pg[0] != '\0';
	for (const char *c = pg; *c != '\0'; c++)
		n += *c == PG_RS[0];
	free(pg);
	free(kb);
	return n;
}

/* The report line of a table: "<table> <read> <written> <skipped>". */
static void
check_report(const char *out, const char *table, unsigned long read, unsigned long written)
{
	char want[64];
	const char *p;
	unsigned long r, w, s;

	snprintf(want, sizeof(want), "\n%s ", table);
	p = strstr(out, want);
	if (p == NULL)
		fail_msg("no report line for %s in:\n%s", table, out);
	assert_int_equal(sscanf(p + strlen(want), "%lu %lu %lu", &r, &w, &s), 3);
	if (r != read || w != written || s != read - written)
		fail_msg("%s: report says %lu read, %lu written, %lu skipped; expected %lu, %lu, %lu",
		    table, r, w, s, read, written, read - written);
}

/* Every table equal to PostgreSQL's ref, every report line right. */
static void
check_full_import(struct fx *f, const struct test_import *r)
{
	unsigned long total = 0;
	char *seqs;

	if (r->status != 0)
		fail_msg("import-pg exited with %d:\n%s\n%s", r->status, r->out, r->err);
	for (size_t i = 0; i < TEST_NTABLES; i++) {
		size_t n = compare_table(f, "ref", r->db, test_tables[i], NULL);

		if (n == 0)
			fail_msg("%s: no sample rows", test_tables[i]);
		check_report(r->out, test_tables[i], n, n);
		total += n;
	}
	check_report(r->out, "total", total, total);
	assert_non_null(strstr(r->out, "every row imported"));
	assert_non_null(strstr(r->out, "invites: ids naming no users row set to NULL: 2"));
	/* ids are never reused: the dump's sequence positions, or the highest id */
	seqs = sqlite_rows(r->db, "SELECT group_concat(name || '=' || seq, ' ') FROM"
	    " (SELECT * FROM sqlite_sequence ORDER BY name)");
	assert_string_equal(seqs, "audit_logs=3 invites=10 roles=4 users=100");
	free(seqs);
	seqs = sqlite_rows(r->db, "SELECT count(*) FROM pragma_foreign_key_check");
	assert_string_equal(seqs, "0");
	free(seqs);
}

/* Every row of every table of the database, to see that nothing changed. */
static char *
sqlite_snapshot(const char *db)
{
	char *names = sqlite_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
	char *all = calloc(1, 1), *save = NULL;
	size_t len = 0;

	for (char *t = strtok_r(names, PG_RS, &save); t != NULL; t = strtok_r(NULL, PG_RS, &save)) {
		char sql[160], *rows;

		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1, 2", t);
		rows = sqlite_rows(db, sql);
		test_append(&all, &len, t, strlen(t));
		test_append(&all, &len, rows, strlen(rows));
		free(rows);
	}
	free(names);
	return all;
}

/* ---- tests ---- */

static void
test_inserts(void **state)
{
	struct test_import r;

	test_import(*state, "inserts.sql", false, 0, &r);
	check_full_import(*state, &r);
	test_import_free(&r);
	test_pass(*state);
}

static void
test_column_inserts(void **state)
{
	struct test_import r;

	test_import(*state, "column_inserts.sql", false, 0, &r);
	check_full_import(*state, &r);
	test_import_free(&r);
	test_pass(*state);
}

static void
test_refuses_non_empty(void **state)
{
	struct fx *f = *state;
	struct test_import r;
	char *before, *after;
	int n;

	test_import(f, "inserts.sql", false, 0, &r);
	assert_int_equal(r.status, 0);
	test_import_free(&r);
	n = f->imports;
	before = sqlite_snapshot(r.db);
	test_import(f, "column_inserts.sql", false, n, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "already holds data (app_vpn_configs, audit_logs, "));
	assert_non_null(strstr(r.err, "nothing was imported"));
	assert_non_null(strstr(r.err, "--force"));
	after = sqlite_snapshot(r.db);
	assert_string_equal(before, after);
	free(after);
	test_import_free(&r);

	test_import(f, "column_inserts.sql", true, n, &r);
	assert_non_null(strstr(r.err, "--force: deleting the data of"));
	check_full_import(f, &r);
	test_import_free(&r);
	free(before);
	test_pass(*state);
}

static void
test_bad_row(void **state)
{
	struct fx *f = *state;
	struct test_import r;
	char path[160], want[160], *dump, *hit;
	unsigned line = 1;

	snprintf(path, sizeof(path), "%s/bad.sql", f->dir);
	dump = test_slurp(path, NULL);
	hit = strstr(dump, "'ALICE'");
	assert_non_null(hit);
	for (char *c = dump; c < hit; c++)
		line += *c == '\n';
	free(dump);

	test_import(f, "bad.sql", false, 0, &r);
	if (r.status != 0)
		fail_msg("import-pg exited with %d:\n%s", r.status, r.err);
	snprintf(want, sizeof(want), "users line %u: row skipped: UNIQUE constraint failed: "
	    "users.username (kubarr compares usernames", line);
	if (strstr(r.err, want) == NULL)
		fail_msg("no \"%s\" in:\n%s", want, r.err);
	assert_non_null(strstr(r.err, "user_roles line "));
	assert_non_null(strstr(r.err, "row skipped: user_id 50 names no users row"));
	assert_non_null(strstr(r.err, "user_preferences line "));
	check_report(r.out, "users", 7, 6);
	check_report(r.out, "user_roles", 7, 6);
	check_report(r.out, "user_preferences", 3, 2);
	assert_non_null(strstr(r.out, "INCOMPLETE: 3 rows were skipped"));
	for (size_t i = 0; i < TEST_NTABLES; i++) {
		const char *t = test_tables[i], *where = NULL;

		if (strcmp(t, "users") == 0)
			where = "id <> 50";
		else if (strcmp(t, "user_roles") == 0 || strcmp(t, "user_preferences") == 0)
			where = "user_id <> 50";
		compare_table(f, "bad", r.db, t, where);
	}
	test_import_free(&r);
	test_pass(*state);
}

static void
test_unreadable_and_truncated(void **state)
{
	struct fx *f = *state;
	struct test_import r;
	char path[160], *dump;
	size_t len;
	FILE *fp;

	test_import(f, "no-such-dump.sql", false, 0, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "cannot open"));
	assert_int_not_equal(access(r.db, F_OK), 0); /* nothing created */
	test_import_free(&r);

	snprintf(path, sizeof(path), "%s/inserts.sql", f->dir);
	dump = test_slurp(path, &len);
	snprintf(path, sizeof(path), "%s/truncated.sql", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(dump, 1, (size_t)(strstr(dump, "'INV-ORPHAN'") - dump), fp);
	fclose(fp);
	free(dump);
	test_import(f, "truncated.sql", false, 0, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "cannot parse"));
	assert_non_null(strstr(r.err, "nothing was written"));
	assert_int_not_equal(access(r.db, F_OK), 0);
	test_import_free(&r);
	test_pass(*state);
}

static void
test_usage(void **state)
{
	struct fx *f = *state;
	struct harness_run_result run;
	const char *none[] = {"import-pg", NULL};
	const char *bogus[] = {"import-pg", "--bogus", "x.sql", NULL};

	assert_int_equal(harness_run(f->h, "storaged", none, 10000, &run), 0);
	assert_true(WIFEXITED(run.wait_status));
	assert_int_equal(WEXITSTATUS(run.wait_status), 2);
	assert_non_null(strstr(run.err, "usage: kubarr-storaged import-pg [--force] FILE"));
	assert_non_null(strstr(run.err, "--force   delete every row"));
	harness_run_result_free(&run);
	assert_int_equal(harness_run(f->h, "storaged", bogus, 10000, &run), 0);
	assert_int_equal(WEXITSTATUS(run.wait_status), 2);
	assert_non_null(strstr(run.err, "unknown option --bogus"));
	harness_run_result_free(&run);
	test_pass(*state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inserts, test_begin, test_end),
		cmocka_unit_test_setup_teardown(test_column_inserts, test_begin, test_end),
		cmocka_unit_test_setup_teardown(test_refuses_non_empty, test_begin, test_end),
		cmocka_unit_test_setup_teardown(test_bad_row, test_begin, test_end),
		cmocka_unit_test_setup_teardown(test_unreadable_and_truncated, test_begin, test_end),
		cmocka_unit_test_setup_teardown(test_usage, test_begin, test_end),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
