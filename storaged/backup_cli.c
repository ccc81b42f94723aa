/* backup_cli: the operator's commands and the restore on boot.
 *
 *   kubarr-storaged restore [--to TIME | --seq N] [--if-db-not-exists]
 *                           [--if-replica-exists] [-o PATH]
 *   kubarr-storaged backup list [--all]
 *   kubarr-storaged backup verify
 *   kubarr-storaged backup status | snapshot   (ask the running storaged)
 *
 * Exit codes: 0 done (or nothing to do under an --if-* flag), 1 failed,
 * 2 usage or configuration. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_cli.h"
#include "backup_int.h"
#include "client.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "timeutil.h"
#include "xmalloc.h"

const char backup_commands_help[] =
    "  restore [--to TIME|--seq N] [--if-db-not-exists] [--if-replica-exists] [-o PATH]\n"
    "                            rebuild the database from KUBARR_BACKUP_URL (restore --help)\n"
    "  backup list|verify|status|snapshot\n"
    "                            restore points, a restore drill, the running shipper's\n"
    "                            state, a snapshot now (backup --help)\n";

static const char restore_usage[] =
    "usage: kubarr-storaged restore [--to TIME | --seq N] [--if-db-not-exists]\n"
    "                               [--if-replica-exists] [-o PATH]\n"
    "\n"
    "Rebuilds the database from the replica KUBARR_BACKUP_URL: the newest snapshot at or\n"
    "before the target, then every segment after it in order, each checked (CRC, sequence,\n"
    "database checksum), then PRAGMA integrity_check, fsync and rename into place.\n"
    "\n"
    "  --to TIME            the last commit at or before TIME (RFC 3339 UTC,\n"
    "                       2026-11-23T10:00:00Z or with milliseconds)\n"
    "  --seq N              up to and including sequence N (backup list shows them)\n"
    "  -o, --output PATH    write PATH instead of KUBARR_DB_PATH (must not exist)\n"
    "  --if-db-not-exists   exit 0 doing nothing when the database file exists\n"
    "  --if-replica-exists  exit 0 doing nothing when the replica holds no backup\n"
    "\n"
    "Stop kubarr-storaged first when restoring over KUBARR_DB_PATH (move the old file\n"
    "aside: restore never overwrites a database).\n";

static const char backup_usage[] =
    "usage: kubarr-storaged backup list [--all] | verify | status | snapshot\n"
    "\n"
    "  list       timelines, snapshots and the newest restore points in KUBARR_BACKUP_URL\n"
    "             (--all: every segment)\n"
    "  verify     restore the newest point into a temporary folder and run\n"
    "             PRAGMA integrity_check (the validation drill, by hand)\n"
    "  status     the running storaged's shipper: state, lag, spool, last upload\n"
    "             (exit 0 when ok or off, 3 when starting, degraded or failed)\n"
    "  snapshot   ask the running storaged for a snapshot now\n";

int
backup_config_load(const struct daemon *d, struct backup_config *bc)
{
	const char *ps = config_str(&d->cfg, "KUBARR_S3_PATH_STYLE");
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN"), *region = getenv("KUBARR_S3_REGION");

	if ((region == NULL || region[0] == '\0') && getenv("AWS_REGION") != NULL &&
	    getenv("AWS_REGION")[0] != '\0')
		region = getenv("AWS_REGION"); /* the AWS tools' variable, as a fallback */
	else
		region = config_str(&d->cfg, "KUBARR_S3_REGION");

	*bc = (struct backup_config){
		.rc = {
			.url = config_str(&d->cfg, "KUBARR_BACKUP_URL"),
			.s3_endpoint = config_str(&d->cfg, "KUBARR_S3_ENDPOINT"),
			.s3_region = region,
			.s3_path_style = strcmp(ps, "true") == 0 ? 1 : strcmp(ps, "false") == 0 ? 0 : -1,
			.access_key = ak ? ak : "",
			.secret_key = sk ? sk : "",
			.session_token = tok ? tok : "",
			.credentials_file = config_str(&d->cfg, "KUBARR_S3_CREDENTIALS_FILE"),
			.timeout_ms = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_UPLOAD_TIMEOUT_MS"),
			.retries = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_RETRIES"),
		},
		.db_path = config_str(&d->cfg, "KUBARR_DB_PATH"),
		.spool_dir = config_str(&d->cfg, "KUBARR_BACKUP_SPOOL_DIR"),
		.sync_interval_ms = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_SYNC_INTERVAL_MS"),
		.snapshot_interval_s = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_SNAPSHOT_INTERVAL_S"),
		.retention_s = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_RETENTION_S"),
		.validate_interval_s = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_VALIDATE_INTERVAL_S"),
		.lease_ttl_s = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_LEASE_TTL_S"),
		.stale_s = (unsigned)config_int(&d->cfg, "KUBARR_BACKUP_STALE_S"),
		.spool_max_bytes = (uint64_t)config_int(&d->cfg, "KUBARR_BACKUP_SPOOL_MAX_BYTES"),
		.checkpoint_bytes = (uint64_t)config_int(&d->cfg, "KUBARR_BACKUP_CHECKPOINT_BYTES"),
		.wal_alert_bytes = (uint64_t)config_int(&d->cfg, "KUBARR_BACKUP_WAL_ALERT_BYTES"),
		.zstd_level = 3,
		.busy_timeout_ms = (int)config_int(&d->cfg, "KUBARR_DB_BUSY_TIMEOUT_MS"),
	};
	return bc->rc.url[0] != '\0' ? 1 : 0;
}

/* "2026-11-23T10:00:00[.123]Z" -> epoch ms. */
static int
cli_parse_time(const char *s, int64_t *ms_r)
{
	int64_t sec;
	const char *dot = strchr(s, '.');
	char *base;
	int ms = 0, rc;

	if (dot != NULL) {
		const char *p = dot + 1;
		int scale = 100;

		while (*p >= '0' && *p <= '9') {
			ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
		if (strcmp(p, "Z") != 0 || p == dot + 1)
			return -1;
		base = xasprintf("%.*sZ", (int)(dot - s), s);
	} else {
		base = xstrdup(s);
	}
	rc = time_parse_rfc3339(base, &sec);
	free(base);
	if (rc != 0)
		return -1;
	*ms_r = sec * 1000 + ms;
	return 0;
}

static int
cli_replica(const struct daemon *d, struct backup_config *bc, struct replica **r_r)
{
	char *err = NULL;

	if (backup_config_load(d, bc) == 0) {
		fprintf(stderr, "kubarr-storaged: KUBARR_BACKUP_URL is not set: there is no replica\n");
		return 2;
	}
	if (replica_open(r_r, &bc->rc, &err) != 0) {
		fprintf(stderr, "kubarr-storaged: %s\n", err);
		free(err);
		return 2;
	}
	return 0;
}

static int
restore_command(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{"seq", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"if-db-not-exists", no_argument, NULL, 'd'},
		{"if-replica-exists", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct backup_config bc;
	struct restore_opts o = {.integrity = true};
	struct restore_result res;
	struct replica *r = NULL;
	struct bk_catalog cat;
	bool if_db = false, if_replica = false;
	char *err = NULL, *end, when[TIME_RFC3339_LEN];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (cli_parse_time(optarg, &o.to_ms) != 0) {
				fprintf(stderr, "restore: --to %s: expected RFC 3339 UTC, as "
				    "2026-11-23T10:00:00Z\n", optarg);
				return 2;
			}
			break;
		case 's':
			errno = 0;
			o.to_seq = strtoull(optarg, &end, 10);
			if (errno || *end || o.to_seq == 0) {
				fprintf(stderr, "restore: --seq %s: expected a sequence number >= 1\n", optarg);
				return 2;
			}
			break;
		case 'o': o.out_path = optarg; break;
		case 'd': if_db = true; break;
		case 'r': if_replica = true; break;
		case 'h': fputs(restore_usage, stdout); return 0;
		default: fputs(restore_usage, stderr); return 2;
		}
	}
	if (optind != argc || (o.to_ms != 0 && o.to_seq != 0)) {
		fputs(restore_usage, stderr);
		return 2;
	}
	if ((rc = cli_replica(d, &bc, &r)) != 0)
		return rc;
	if (o.out_path == NULL)
		o.out_path = bc.db_path;
	if (access(o.out_path, F_OK) == 0) {
		replica_close(&r);
		if (if_db) {
			printf("restore: %s exists; nothing to do (--if-db-not-exists)\n", o.out_path);
			return 0;
		}
		fprintf(stderr, "restore: %s exists; restore never overwrites a database (move it "
		    "aside, or use -o PATH)\n", o.out_path);
		return 1;
	}
	if (bk_catalog_load(r, &cat, &err) != REPLICA_OK) {
		fprintf(stderr, "restore: replica %s: %s\n", replica_url(r), err);
		free(err);
		replica_close(&r);
		return 1;
	}
	if (cat.n == 0) {
		bk_catalog_free(&cat);
		replica_close(&r);
		if (if_replica) {
			printf("restore: the replica holds no backup; nothing to do (--if-replica-exists)\n");
			return 0;
		}
		fprintf(stderr, "restore: the replica %s holds no backup\n", bc.rc.url);
		return 1;
	}
	bk_catalog_free(&cat);
	rc = restore_run(r, &o, &res, &err);
	if (rc != REPLICA_OK) {
		fprintf(stderr, "restore: %s\n", err ? err : replica_strerror(rc));
		free(err);
		replica_close(&r);
		return 1;
	}
	time_format_rfc3339(res.time_ms, when);
	printf("restore: %s restored: timeline %u, seq %" PRIu64 " (snapshot %" PRIu64
	    " + %zu segments), last commit %s, %u pages of %u bytes, checksum %016" PRIx64
	    ", integrity_check ok\n", o.out_path, res.timeline, res.seq, res.snapshot_seq,
	    res.segments, when, res.db_pages, res.page_size, res.db_checksum);
	replica_close(&r);
	return 0;
}

static int
backup_list(struct daemon *d, bool all)
{
	struct backup_config bc;
	struct replica *r = NULL;
	struct bk_catalog cat;
	char *err = NULL, when[TIME_RFC3339_LEN];
	size_t segs = 0, shown = 0;
	uint64_t bytes = 0;
	int rc;

	if ((rc = cli_replica(d, &bc, &r)) != 0)
		return rc;
	if (bk_catalog_load(r, &cat, &err) != REPLICA_OK) {
		fprintf(stderr, "backup list: replica %s: %s\n", replica_url(r), err);
		free(err);
		replica_close(&r);
		return 1;
	}
	for (size_t i = 0; i < cat.n; i++) {
		segs += !cat.v[i].snapshot;
		bytes += cat.v[i].bytes;
	}
	printf("replica %s: %zu snapshots, %zu segments, %.1f MiB; newest timeline %u, seq %" PRIu64
	    "%s\n", replica_url(r), cat.n - segs, segs, (double)bytes / 1048576.0, cat.max_timeline,
	    cat.max_seq, cat.has_lease ? "; a storaged holds the lease" : "");
	printf("%-8s %-16s %-8s %-24s %s\n", "TIMELINE", "SEQ", "KIND", "TIME", "BYTES");
	for (size_t i = cat.n; i-- > 0;) {
		const struct backup_point *p = &cat.v[i];

		if (!all && !p->snapshot && shown >= 20)
			continue;
		shown += !p->snapshot;
		time_format_rfc3339(p->time_ms, when);
		printf("%-8u %-16" PRIu64 " %-8s %-24s %" PRIu64 "\n", p->timeline, p->seq,
		    p->snapshot ? "snapshot" : "segment", when, p->bytes);
	}
	if (!all && segs > 20)
		printf("(%zu older segments not shown; --all lists every one)\n", segs - 20);
	bk_catalog_free(&cat);
	replica_close(&r);
	return 0;
}

static int
backup_verify(struct daemon *d)
{
	struct backup_config bc;
	struct replica *r = NULL;
	struct restore_opts o = {.integrity = true};
	struct restore_result res;
	const char *tmpdir = getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
	char *dir = xasprintf("%s/kubarr-verify-XXXXXX", tmpdir), *out, *err = NULL;
	int rc;

	if ((rc = cli_replica(d, &bc, &r)) != 0) {
		free(dir);
		return rc;
	}
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "backup verify: %s: %s\n", dir, strerror(errno));
		replica_close(&r);
		free(dir);
		return 1;
	}
	out = xasprintf("%s/kubarr.db", dir);
	o.out_path = out;
	rc = restore_run(r, &o, &res, &err);
	if (rc == REPLICA_OK)
		printf("backup verify: ok: timeline %u seq %" PRIu64 " (snapshot %" PRIu64 " + %zu "
		    "segments, %.1f MiB read) restored and passed integrity_check; checksum %016"
		    PRIx64 "\n", res.timeline, res.seq, res.snapshot_seq, res.segments,
		    (double)res.bytes_read / 1048576.0, res.db_checksum);
	else
		fprintf(stderr, "backup verify: FAILED: %s\n", err ? err : replica_strerror(rc));
	unlink(out);
	rmdir(dir);
	free(dir);
	free(out);
	free(err);
	replica_close(&r);
	return rc == REPLICA_OK ? 0 : 1;
}

static int
backup_command(struct daemon *d, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(backup_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "list") == 0 && (argc == 2 || (argc == 3 && strcmp(argv[2], "--all") == 0)))
		return backup_list(d, argc == 3);
	if (strcmp(argv[1], "verify") == 0 && argc == 2)
		return backup_verify(d);
	if ((strcmp(argv[1], "status") == 0 || strcmp(argv[1], "snapshot") == 0) && argc == 2)
		return backup_ask_daemon(d, argv[1]);
	fputs(backup_usage, stderr);
	return 2;
}

int
backup_cli_command(struct daemon *d, int argc, char **argv)
{
	if (strcmp(argv[0], "restore") == 0)
		return restore_command(d, argc, argv);
	if (strcmp(argv[0], "backup") == 0)
		return backup_command(d, argc, argv);
	return -1;
}

int
backup_boot_restore(const struct backup_config *bc, char **err_r)
{
	struct replica *r = NULL;
	struct restore_opts o = {.out_path = bc->db_path};
	struct restore_result res;
	struct bk_catalog cat;
	char *err = NULL;
	int rc;

	if (access(bc->db_path, F_OK) == 0 || errno != ENOENT)
		return 0;
	if (replica_open(&r, &bc->rc, err_r) != 0)
		return -1;
	log_info("backup: %s does not exist; restoring from %s", bc->db_path, replica_url(r));
	if ((rc = bk_catalog_load(r, &cat, &err)) != REPLICA_OK) {
		*err_r = xasprintf("refusing to start with an empty database: the replica %s is %s: %s "
		    "(fix it, or unset KUBARR_BACKUP_RESTORE_ON_BOOT to start empty on purpose)",
		    replica_url(r), replica_strerror(rc), err);
		free(err);
		replica_close(&r);
		return -1;
	}
	if (cat.n == 0) {
		log_info("backup: the replica %s is empty: starting a new database", replica_url(r));
		bk_catalog_free(&cat);
		replica_close(&r);
		return 0;
	}
	bk_catalog_free(&cat);
	if ((rc = restore_run(r, &o, &res, &err)) != REPLICA_OK) {
		*err_r = xasprintf("refusing to start with an empty database: restoring from %s failed: "
		    "%s", replica_url(r), err ? err : replica_strerror(rc));
		free(err);
		replica_close(&r);
		return -1;
	}
	log_info("backup: restored %s from %s: timeline %u seq %" PRIu64 " (snapshot %" PRIu64
	    " + %zu segments, %.1f MiB read), quick_check ok", bc->db_path, replica_url(r),
	    res.timeline, res.seq, res.snapshot_seq, res.segments, (double)res.bytes_read / 1048576.0);
	replica_close(&r);
	return 0;
}

/* ---- backup status | snapshot: the running storaged ---------------------- */

static void
cli_time(const char *label, int64_t ms)
{
	char when[TIME_RFC3339_LEN];

	if (ms == 0) {
		printf("%-18s never\n", label);
		return;
	}
	time_format_rfc3339(ms, when);
	printf("%-18s %s\n", label, when);
}

int
backup_ask_daemon(struct daemon *d, const char *what)
{
	struct ipc_client *c = NULL;
	struct proto_reply hold = {0};
	char *err = NULL;
	int64_t until = time_mono_us() + 3000000;
	int rc = 1, st;

	if (daemon_client_open(d, "storaged", &c, &err) != 0) {
		fprintf(stderr, "backup %s: cannot open the storaged socket: %s\n", what, err);
		free(err);
		return 1;
	}
	while (!ipc_client_connected(c) && time_mono_us() < until)
		usleep(20000);
	if (!ipc_client_connected(c)) {
		fprintf(stderr, "backup %s: storaged is not running (no answer on %s/storaged.ipc); "
		    "`backup list` and `backup verify` read the replica directly\n", what,
		    d->runtime_dir);
		ipc_client_close(&c);
		return 1;
	}
	if (strcmp(what, "snapshot") == 0) {
		struct proto_backup_snapshot_req req = {0};
		struct proto_backup_snapshot_rep rep;

		st = proto_backup_snapshot_call_sync(c, &req, d->ipc_timeout_ms, &rep, &hold);
		if (st == PROTO_OK) {
			printf("backup snapshot: asked; `backup status` shows when it is uploaded\n");
			rc = 0;
		} else {
			fprintf(stderr, "backup snapshot: %s\n", hold.detail ? hold.detail : "refused");
		}
	} else {
		struct proto_backup_status_req req = {0};
		struct proto_backup_status_rep s;

		st = proto_backup_status_call_sync(c, &req, d->ipc_timeout_ms, &s, &hold);
		if (st != PROTO_OK) {
			fprintf(stderr, "backup status: %s\n", hold.detail ? hold.detail : "no answer");
		} else {
			printf("%-18s %s\n", "state", s.state);
			if (s.has_error)
				printf("%-18s %s\n", "error", s.error);
			printf("%-18s %s (%s)\n", "replica", s.configured ? s.url : "-",
			    s.configured ? s.kind : "KUBARR_BACKUP_URL is empty");
			printf("%-18s %" PRIu64 "\n", "timeline", s.timeline);
			printf("%-18s %" PRIu64 " spooled, %" PRIu64 " uploaded\n", "sequence",
			    s.seq_spooled, s.seq_uploaded);
			printf("%-18s %.3f s\n", "lag", (double)s.lag_ms / 1000.0);
			printf("%-18s %" PRIu64 " files, %" PRIu64 " bytes\n", "spool", s.spool_files,
			    s.spool_bytes);
			printf("%-18s %" PRIu64 " bytes\n", "wal", s.wal_bytes);
			printf("%-18s %" PRIu64 " (%" PRIu64 " bytes), %" PRIu64 " failed attempts\n",
			    "uploads", s.uploads, s.upload_bytes, s.upload_errors);
			cli_time("last upload", s.last_upload_ms);
			cli_time("last snapshot", s.last_snapshot_ms);
			cli_time("last validation", s.last_validation_ms);
			printf("%-18s %s%s%s\n", "validation", s.last_validation,
			    s.has_validation_error ? ": " : "",
			    s.has_validation_error ? s.validation_error : "");
			printf("%-18s %s\n", "lease", s.lease_held ? "held" : "not held");
			rc = strcmp(s.state, "ok") == 0 || strcmp(s.state, "disabled") == 0 ? 0 : 3;
		}
	}
	proto_reply_fini(&hold);
	ipc_client_close(&c);
	return rc;
}
