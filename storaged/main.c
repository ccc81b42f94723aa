/* kubarr-storaged: the only process that opens the SQLite database.
 *
 * Owns:    the database file: migrations (migrate.c), one writing connection
 *          driven by the writer thread with group commit (writer.c), read-only
 *          connections for the reader pool (readers.c), every table (ops_*.c).
 * Serves:  storaged.ipc (req/rep): PING, STATS, and the ops of ops.c;
 *          publishes events.ipc: EVENT after every commit that changed a user,
 *          role, session or setting, so authd and the gateway drop caches.
 * Commands: import-pg [--force] FILE (import_pg.c): load the reference
 *          backend's PostgreSQL data dump into a new database.
 * Sends:   notifications (notify_send.c): a thread drains the outbox over
 *          libcurl (SMTP, HTTP) through writer tasks, never in the writer.
 * Calls:   nobody (over IPC).
 * Keeps:   no privileges beyond its uid; files under KUBARR_DATA_DIR.
 * Ready:   only after migrations ran (it does not listen before). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup_cli.h"
#include "import_pg.h"
#include "log.h"
#include "migrate.h"
#include "timeutil.h"
#include "storaged.h"
#include "xmalloc.h"

static struct config_var storaged_vars[] = {
	{.name = "KUBARR_DB_PATH", .kind = CONFIG_PATH, .def = "${KUBARR_DATA_DIR}/kubarr.db",
	    .help = "the SQLite database file"},
	{.name = "KUBARR_DB_SYNCHRONOUS", .kind = CONFIG_ENUM, .def = "FULL", .choices = "FULL|NORMAL",
	    .help = "FULL: a reply means the commit is on disk; NORMAL may lose the last commits on power loss"},
	{.name = "KUBARR_DB_READERS", .kind = CONFIG_INT, .def = "2", .min = 1, .max = 64,
	    .help = "read-only connections serving reads in parallel"},
	{.name = "KUBARR_DB_BUSY_TIMEOUT_MS", .kind = CONFIG_INT, .def = "5000", .min = 0,
	    .max = 600000, .help = "wait this long for a lock held by another process (backup, sqlite3 shell)"},
	{.name = "KUBARR_AUTHD_UID", .kind = CONFIG_INT, .def = "-1", .min = -1, .max = 2147483647,
	    .help = "uid of kubarr-authd, the only peer allowed to read secrets (-1: storaged's own uid)"},
	{.name = "KUBARR_AUDIT_RETENTION_DAYS", .kind = CONFIG_INT, .def = "90", .min = 0, .max = 36500,
	    .help = "delete audit entries older than this, daily (0 keeps them forever)"},
	{.name = "KUBARR_JOBS_FIRST_RUN_S", .kind = CONFIG_INT, .def = "60", .min = 0, .max = 86400,
	    .help = "seconds after start before the first maintenance run"},
	{.name = "KUBARR_NOTIFY_MAX_ATTEMPTS", .kind = CONFIG_INT, .def = "5", .min = 1, .max = 100,
	    .help = "delivery attempts per notification before it is logged failed"},
	{.name = "KUBARR_NOTIFY_POLL_MS", .kind = CONFIG_INT, .def = "500", .min = 10, .max = 600000,
	    .help = "how often the sender checks the outbox for due notifications"},
	{.name = "KUBARR_NOTIFY_TIMEOUT_MS", .kind = CONFIG_INT, .def = "10000", .min = 100,
	    .max = 600000, .help = "time limit of one delivery (libcurl connect and transfer)"},
	{.name = "KUBARR_NOTIFY_BACKOFF_MS", .kind = CONFIG_INT, .def = "30000", .min = 1,
	    .max = 86400000, .help = "first retry delay; doubles per attempt, with jitter"},
	{.name = "KUBARR_NOTIFY_BACKOFF_MAX_MS", .kind = CONFIG_INT, .def = "3600000", .min = 1,
	    .max = 86400000, .help = "cap of the retry delay"},
	{.name = "KUBARR_NOTIFY_TELEGRAM_URL", .kind = CONFIG_STR, .def = "https://api.telegram.org",
	    .help = "Telegram Bot API base URL (a channel config \"url\" overrides it)"},
	{.name = "KUBARR_NOTIFY_MESSAGEBIRD_URL", .kind = CONFIG_STR,
	    .def = "https://rest.messagebird.com", .help = "MessageBird REST API base URL"},
	{.name = "KUBARR_NOTIFY_NTFY_URL", .kind = CONFIG_STR, .def = "https://ntfy.sh",
	    .help = "ntfy server base URL"},
	{.name = "KUBARR_NOTIFY_GOTIFY_URL", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "Gotify server base URL (none by default: set it or the channel's \"url\")"},
	{.name = "KUBARR_BACKUP_URL", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "continuous backup replica: file:///dir or s3://bucket/prefix (empty: off)"},
	{.name = "KUBARR_S3_ENDPOINT", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "S3-compatible endpoint URL (MinIO, B2, Garage, R2); empty: AWS"},
	{.name = "KUBARR_S3_REGION", .kind = CONFIG_STR, .def = "us-east-1",
	    .help = "S3 region (signing)"},
	{.name = "KUBARR_S3_PATH_STYLE", .kind = CONFIG_ENUM, .def = "auto", .choices = "auto|true|false",
	    .help = "path-style addressing; auto: on with a custom endpoint"},
	{.name = "KUBARR_S3_CREDENTIALS_FILE", .kind = CONFIG_STR, .def = "", .flags = CONFIG_EMPTY_OK,
	    .help = "AWS shared credentials file, when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are unset"},
	{.name = "KUBARR_BACKUP_SPOOL_DIR", .kind = CONFIG_PATH, .def = "${KUBARR_DATA_DIR}/backup",
	    .help = "local spool of segments waiting for upload, and the shipper's state"},
	{.name = "KUBARR_BACKUP_SPOOL_MAX_BYTES", .kind = CONFIG_INT, .def = "1073741824", .min = 1048576,
	    .max = 1099511627776LL, .help = "spool quota; beyond it shipping waits and the WAL keeps the commits"},
	{.name = "KUBARR_BACKUP_SYNC_INTERVAL_MS", .kind = CONFIG_INT, .def = "1000", .min = 10,
	    .max = 3600000, .help = "commits are batched into one segment for at most this long"},
	{.name = "KUBARR_BACKUP_SNAPSHOT_INTERVAL_S", .kind = CONFIG_INT, .def = "86400", .min = 60,
	    .max = 31536000, .help = "a full snapshot at least this often"},
	{.name = "KUBARR_BACKUP_RETENTION_S", .kind = CONFIG_INT, .def = "604800", .min = 60,
	    .max = 315360000, .help = "keep snapshots (and the segments after them) this long; the newest always stays"},
	{.name = "KUBARR_BACKUP_VALIDATE_INTERVAL_S", .kind = CONFIG_INT, .def = "43200", .min = 0,
	    .max = 31536000, .help = "restore drill into a temp dir with integrity_check this often (0: off)"},
	{.name = "KUBARR_BACKUP_LEASE_TTL_S", .kind = CONFIG_INT, .def = "60", .min = 3, .max = 86400,
	    .help = "the writer's lease on the replica; another storaged waits this long after a crash"},
	{.name = "KUBARR_BACKUP_STALE_S", .kind = CONFIG_INT, .def = "600", .min = 1, .max = 31536000,
	    .help = "notify backup_stale when the replica is this far behind"},
	{.name = "KUBARR_BACKUP_CHECKPOINT_BYTES", .kind = CONFIG_INT, .def = "4194304", .min = 65536,
	    .max = 1099511627776LL, .help = "the shipper checkpoints when the WAL is larger (after shipping it)"},
	{.name = "KUBARR_BACKUP_WAL_ALERT_BYTES", .kind = CONFIG_INT, .def = "268435456", .min = 65536,
	    .max = 1099511627776LL, .help = "warn when the WAL outgrows this because it cannot be checkpointed"},
	{.name = "KUBARR_BACKUP_UPLOAD_TIMEOUT_MS", .kind = CONFIG_INT, .def = "60000", .min = 100,
	    .max = 3600000, .help = "time limit of one replica request"},
	{.name = "KUBARR_BACKUP_RETRIES", .kind = CONFIG_INT, .def = "4", .min = 0, .max = 100,
	    .help = "retries of a failed replica request (5xx, 429, resets) before the uploader backs off"},
	{.name = "KUBARR_BACKUP_RESTORE_ON_BOOT", .kind = CONFIG_BOOL, .def = "true",
	    .help = "restore from the replica when the database file is missing (fails closed)"},
	{.name = "KUBARR_DB_WRITE_BATCH", .kind = CONFIG_INT, .def = "256", .min = 1, .max = 65536,
	    .help = "most write requests committed together in one transaction"},
};

static const char storaged_sql_admin[] =
    "SELECT EXISTS(SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id"
    " JOIN users u ON u.id = ur.user_id WHERE r.name = 'admin' AND u.is_active = 1)";

static void
storaged_check_admin(struct storaged *sd, struct db_conn *c)
{
	sqlite3_stmt *st = db_stmt(c, storaged_sql_admin);

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		atomic_store(&sd->admin_exists, sqlite3_column_int(st, 0) != 0);
	if (st != NULL)
		sqlite3_reset(st);
}

/* Writer thread, after each commit. */
static void
storaged_after_commit(void *arg, struct db_conn *c, bool users_changed)
{
	if (users_changed)
		storaged_check_admin(arg, c);
}

static void
storaged_ping(void *arg, struct proto_ping_rep *rep)
{
	struct storaged *sd = arg;

	rep->admin_exists = atomic_load(&sd->admin_exists);
	rep->has_admin_exists = true;
}

static void
storaged_stats(void *arg, struct proto_stats *st)
{
	struct storaged *sd = arg;
	struct writer_stats ws = {0};

	if (sd->writer != NULL)
		writer_stats(sd->writer, &ws);
	proto_stats_add(st, "schema_version", sd->schema_to);
	proto_stats_add(st, "write_jobs", (int64_t)ws.jobs);
	proto_stats_add(st, "write_commits", (int64_t)ws.commits);
	proto_stats_add(st, "write_failed_commits", (int64_t)ws.failed_commits);
	proto_stats_add(st, "write_dedup_hits", (int64_t)ws.dedup_hits);
	proto_stats_add(st, "write_max_batch", (int64_t)ws.max_batch);
	proto_stats_add(st, "audit_retention_deleted", sd->jobs ? (int64_t)jobs_audit_deleted(sd->jobs) : 0);
	if (sd->backup != NULL) {
		struct backup_status bs;

		backup_status_get(sd->backup, &bs);
		proto_stats_add(st, "backup_seq_spooled", (int64_t)bs.seq_spooled);
		proto_stats_add(st, "backup_seq_uploaded", (int64_t)bs.seq_uploaded);
		proto_stats_add(st, "backup_uploads", (int64_t)bs.uploads);
		proto_stats_add(st, "backup_upload_errors", (int64_t)bs.upload_errors);
		proto_stats_add(st, "backup_spool_bytes", (int64_t)bs.spool_bytes);
		proto_stats_add(st, "backup_lag_ms", (int64_t)(bs.lag_s * 1000));
	}
}

static void
storaged_tick(struct daemon *d)
{
	struct storaged *sd = d->ctx;

	if (sd->jobs != NULL)
		jobs_tick(sd->jobs, time_wall_ms());
}

static int
storaged_start(struct daemon *d, char **err_r)
{
	struct storaged *sd = d->ctx;
	struct proto_service svc = {.ctx = sd, .ping = storaged_ping, .stats = storaged_stats};
	struct backup_config bc;

	sd->d = d;
	sd->authd_uid = config_int(&d->cfg, "KUBARR_AUTHD_UID") < 0 ? (uint64_t)geteuid() :
	    (uint64_t)config_int(&d->cfg, "KUBARR_AUTHD_UID");
	sd->dbc.path = config_str(&d->cfg, "KUBARR_DB_PATH");
	sd->dbc.synchronous = config_str(&d->cfg, "KUBARR_DB_SYNCHRONOUS");
	sd->dbc.busy_timeout_ms = (int)config_int(&d->cfg, "KUBARR_DB_BUSY_TIMEOUT_MS");
	if (daemon_mkdir_p(d->data_dir, 0750) != 0) {
		*err_r = xasprintf("cannot create %s", d->data_dir);
		return -1;
	}
	if (backup_config_load(d, &bc) == 1) {
		sd->dbc.ship_wal = true; /* checkpoints belong to the shipper */
		if (config_bool(&d->cfg, "KUBARR_BACKUP_RESTORE_ON_BOOT") &&
		    backup_boot_restore(&bc, err_r) != 0)
			return -1;
	}
	if (db_open(&sd->wconn, &sd->dbc, false, err_r) != 0)
		return -1;
	if (migrate_run(sd->wconn, sd->dbc.path, storaged_migrations, storaged_nmigrations,
		&sd->schema_from, &sd->schema_to, err_r) != 0)
		return -1;
	if (sd->schema_from != sd->schema_to)
		log_info("database %s migrated from version %d to %d", sd->dbc.path, sd->schema_from,
		    sd->schema_to);
	else
		log_info("database %s at schema version %d", sd->dbc.path, sd->schema_to);
	storaged_check_admin(sd, sd->wconn);
	if (sd->dbc.ship_wal && backup_start(&sd->backup, sd, sd->wconn, &bc, err_r) != 0)
		return -1;
	if (readers_start(&sd->readers, &sd->dbc, (int)config_int(&d->cfg, "KUBARR_DB_READERS"),
		err_r) != 0)
		return -1;
	if (daemon_pub_open(d, "events", &sd->events, err_r) != 0)
		return -1;
	if (writer_start(&sd->writer, sd->wconn, sd->events,
		(unsigned)config_int(&d->cfg, "KUBARR_DB_WRITE_BATCH"), storaged_after_commit, sd,
		err_r) != 0)
		return -1;
	if (sd->backup != NULL && backup_run(sd->backup, sd->writer, err_r) != 0)
		return -1;
	{
		struct jobs_config jc = {
			.audit_retention_days = (unsigned)config_int(&d->cfg, "KUBARR_AUDIT_RETENTION_DAYS"),
			.first_run_s = (unsigned)config_int(&d->cfg, "KUBARR_JOBS_FIRST_RUN_S"),
		};
		sd->jobs = jobs_new(sd->writer, &jc);
	}
	{
		struct notify_send_config nc = {
			.max_attempts = (unsigned)config_int(&d->cfg, "KUBARR_NOTIFY_MAX_ATTEMPTS"),
			.poll_ms = (unsigned)config_int(&d->cfg, "KUBARR_NOTIFY_POLL_MS"),
			.timeout_ms = (unsigned)config_int(&d->cfg, "KUBARR_NOTIFY_TIMEOUT_MS"),
			.backoff_base_ms = (unsigned)config_int(&d->cfg, "KUBARR_NOTIFY_BACKOFF_MS"),
			.backoff_max_ms = (unsigned)config_int(&d->cfg, "KUBARR_NOTIFY_BACKOFF_MAX_MS"),
			.telegram_url = config_str(&d->cfg, "KUBARR_NOTIFY_TELEGRAM_URL"),
			.messagebird_url = config_str(&d->cfg, "KUBARR_NOTIFY_MESSAGEBIRD_URL"),
			.ntfy_url = config_str(&d->cfg, "KUBARR_NOTIFY_NTFY_URL"),
			.gotify_url = config_str(&d->cfg, "KUBARR_NOTIFY_GOTIFY_URL"),
		};

		if (notify_send_start(&sd->sender, sd->writer, &sd->dbc, &nc, err_r) != 0)
			return -1;
	}
	ops_register(svc.handlers);
	return proto_server_open_daemon(&sd->srv, d, 0, &svc, err_r);
}

static void
storaged_stop(struct daemon *d, int64_t deadline_us)
{
	struct storaged *sd = d->ctx;

	/* No new work; what was accepted finishes and is answered while the
	 * socket is open; then the threads stop; only then the socket closes. */
	proto_server_drain(sd->srv, deadline_us);
	notify_send_stop(&sd->sender);
	backup_halt(sd->backup);   /* ships what is committed; the writer still runs */
	writer_stop(&sd->writer, deadline_us);
	backup_stop(&sd->backup);
	jobs_free(&sd->jobs);
	readers_stop(&sd->readers);
	proto_server_close(&sd->srv, deadline_us);
	ipc_pub_close(&sd->events);
	db_close(&sd->wconn);
	backup_release_db();
}

static int
storaged_command(struct daemon *d, int argc, char **argv)
{
	if (strcmp(argv[0], "import-pg") == 0)
		return import_pg_command(d, argc, argv);
	return backup_cli_command(d, argc, argv);
}

static const struct daemon_ops storaged_ops = {
	.name = "storaged",
	.summary = "kubarr-storaged: owner of the kubarr database (the only process that opens it).",
	.vars = storaged_vars,
	.nvars = sizeof(storaged_vars) / sizeof(storaged_vars[0]),
	.start = storaged_start,
	.tick = storaged_tick,
	.stop = storaged_stop,
	.command = storaged_command,
	.commands_help = import_pg_commands_help,
};

int
main(int argc, char **argv)
{
	static char help[1024];
	struct storaged sd = {0};
	struct daemon_ops ops = storaged_ops;

	snprintf(help, sizeof(help), "%s%s", import_pg_commands_help, backup_commands_help);
	ops.commands_help = help;
	return daemon_main(&ops, &sd, argc, argv);
}
