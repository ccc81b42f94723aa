/* import_pg: loads a `pg_dump --data-only --inserts` (or --column-inserts) of
 * the reference backend's PostgreSQL database into the kubarr database.
 *
 * Order: read the whole file and parse it once without touching anything
 * (a file that cannot be read or parsed writes nothing, not even a new
 * database); open and migrate the database; then in ONE transaction (BEGIN
 * IMMEDIATE): refuse if it holds data (unless --force, which deletes it), delete
 * the seed rows of every seeded table the dump has rows for, load the tables in
 * foreign-key order (one parse of the buffer per level: tables that reference
 * nothing, then the tables that reference them; pg_dump writes them
 * alphabetically), raise the AUTOINCREMENT sequences, check the foreign keys,
 * commit.
 *
 * Columns are matched by name: the --column-inserts list, or for positional
 * INSERTs kubarr's column order, which is the reference's.  Conversions,
 * by the column's SQLite type: INTEGER takes numbers, booleans (0/1) and
 * integer or boolean text; REAL numbers; TEXT keeps strings as they are (JSON,
 * bcrypt hashes), except timestamp columns (TEXT named `timestamp` or `*_at`)
 * whose timestamptz text becomes RFC 3339 UTC with milliseconds.  A column
 * the dump has and kubarr lacks is reported once and dropped.
 *
 * A row that cannot be loaded (conversion error, constraint failure such as a
 * username differing from another only in letter case, a parent row that was
 * not loaded) is reported with table, line and reason, and skipped; so are the
 * rows of unknown tables.  A nullable ON DELETE SET NULL reference naming no
 * row (invites.created_by_id / used_by_id, notification_logs.user_id) becomes
 * NULL, as if that user had been deleted. */
#include "import_pg.h"
#include "import_pg_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "pgdump.h"
#include "xmalloc.h"

#define IMPORT_PG_PROGRESS 10000 /* rows between progress lines */

const char import_pg_commands_help[] =
    "  import-pg [--force] FILE  load a pg_dump --data-only --inserts of the reference\n"
    "                            backend into the database (import-pg --help)\n";

static const char import_pg_usage[] =
    "usage: kubarr-storaged import-pg [--force] FILE\n"
    "\n"
    "Loads FILE, made by `pg_dump --data-only --inserts` (or --column-inserts) of the\n"
    "reference backend's PostgreSQL database, into the kubarr database KUBARR_DB_PATH\n"
    "(created and migrated if needed), in one transaction.  Stop kubarr-storaged first.\n"
    "\n"
    "A database that already holds data (a row in users, user_roles, sessions,\n"
    "pending_2fa_challenges, two_factor_recovery_codes, oauth_accounts, user_preferences,\n"
    "invites, audit_logs, notification_channels, user_notification_prefs,\n"
    "notification_logs, user_notifications, server_config, vpn_providers, app_vpn_configs,\n"
    "cloudflare_tunnels, notification_outbox or request_log, or a role that is not a\n"
    "system role) is refused and left untouched.\n"
    "  --force   delete every row of those tables first, then import as into a new\n"
    "            database (non-system roles go only if the dump has roles, see below;\n"
    "            schema_migrations and the id sequences are kept).\n"
    "\n"
    "Seed rows (roles, role_permissions, role_app_permissions, system_settings,\n"
    "oauth_providers, notification_events, bootstrap_status) are replaced by the dump's\n"
    "rows in each of those tables the dump has rows for (replacing roles also drops the\n"
    "seeded role permissions), and kept in the others.\n"
    "\n"
    "Rows that cannot be loaded (e.g. a username differing from another only in letter\n"
    "case) are reported with table, line and reason and skipped; the rest is imported.\n"
    "Exit codes: 0 imported (check the report for skipped rows), 1 failure (the database\n"
    "is left as it was), 2 usage error.\n";

/* The reference backend's tables, alphabetically (the report's order). */
static const struct import_pg_def import_pg_defs[] = {
	{"app_vpn_configs", false}, {"audit_logs", false}, {"bootstrap_status", true},
	{"cloudflare_tunnels", false}, {"invites", false}, {"notification_channels", false},
	{"notification_events", true}, {"notification_logs", false},
	{"oauth_accounts", false}, {"oauth_providers", true},
	{"pending_2fa_challenges", false}, {"role_app_permissions", true},
	{"role_permissions", true}, {"roles", true}, {"server_config", false},
	{"sessions", false}, {"system_settings", true}, {"two_factor_recovery_codes", false},
	{"user_notification_prefs", false}, {"user_notifications", false},
	{"user_preferences", false}, {"user_roles", false}, {"users", false},
	{"vpn_providers", false},
};
#define IMPORT_PG_NDEFS (sizeof(import_pg_defs) / sizeof(import_pg_defs[0]))
_Static_assert(IMPORT_PG_NDEFS == IMPORT_PG_NTABLES, "import_pg_defs and IMPORT_PG_NTABLES");

/* kubarr's own tables: not imported, but they make a database non-empty and
 * --force clears them. */
static const char *const import_pg_own[] = {"notification_outbox", "request_log"};

/* ---- parse callbacks ---- */

static void
import_pg_note_unknown(struct import_pg *ip, const struct pgdump_row *row)
{
	char *name = row->schema != NULL && strcmp(row->schema, "public") != 0 ?
	    xasprintf("%s.%s", row->schema, row->table) : xstrdup(row->table);

	for (size_t i = 0; i < ip->nunknown; i++)
		if (strcmp(ip->unknown[i].name, name) == 0) {
			ip->unknown[i].rows++;
			free(name);
			return;
		}
	ip->unknown = xrealloc(ip->unknown, (ip->nunknown + 1) * sizeof(*ip->unknown));
	ip->unknown[ip->nunknown++] = (struct import_pg_unknown){name, 1, row->line};
}

static int
import_pg_on_row(void *arg, const struct pgdump_row *row, char **err_r)
{
	struct import_pg *ip = arg;
	struct import_pg_tab *t = import_pg_row_find(ip, row->schema, row->table);

	if (ip->pass < 0) {
		if (t == NULL)
			import_pg_note_unknown(ip, row);
		else
			t->read++;
		ip->total++;
		return 0;
	}
	if (t == NULL) {
		if (ip->pass == 0)
			ip->done++;
		return 0;
	}
	if (t->depth != ip->pass)
		return 0;
	if (import_pg_row_load(ip, t, row, err_r) < 0)
		return -1;
	if (++ip->done % IMPORT_PG_PROGRESS == 0)
		log_info("import-pg: %lu of %lu rows (%lu%%)", ip->done, ip->total,
		    ip->done * 100 / ip->total);
	return 0;
}

/* SELECT pg_catalog.setval('public.users_id_seq', 57, true): users' last id is 57. */
static int
import_pg_on_setval(void *arg, const struct pgdump_setval *sv, char **err_r)
{
	struct import_pg *ip = arg;
	size_t n = strlen(sv->sequence);
	struct import_pg_tab *t;
	char *table;

	(void)err_r;
	if (ip->pass >= 0 || n <= 7 || strcmp(sv->sequence + n - 7, "_id_seq") != 0)
		return 0;
	table = xstrndup(sv->sequence, n - 7);
	t = import_pg_row_find(ip, sv->schema, table);
	free(table);
	if (t != NULL)
		t->seq = sv->is_called ? sv->value : sv->value - 1;
	return 0;
}

/* ---- the transaction ---- */

static int
import_pg_exec(struct import_pg *ip, const char *sql, char **err_r)
{
	return db_exec(ip->c, sql, err_r);
}

static long long
import_pg_scalar(struct import_pg *ip, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(ip->c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Tables holding data, as "users, sessions"; NULL when there are none. */
static char *
import_pg_data_tables(struct import_pg *ip)
{
	char *list = NULL, sql[128];

	for (size_t i = 0; i < IMPORT_PG_NDEFS + 2; i++) {
		const char *name = i < IMPORT_PG_NDEFS ? import_pg_defs[i].name :
		    import_pg_own[i - IMPORT_PG_NDEFS];
		char *next;

		if (i < IMPORT_PG_NDEFS && import_pg_defs[i].seed && strcmp(name, "roles") != 0)
			continue;
		snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM \"%s\"%s)", name,
		    strcmp(name, "roles") == 0 ? " WHERE is_system = 0" : "");
		if (import_pg_scalar(ip, sql) == 0)
			continue;
		next = xasprintf("%s%s%s%s", list ? list : "", list ? ", " : "", name,
		    strcmp(name, "roles") == 0 ? " (non-system roles)" : "");
		free(list);
		list = next;
	}
	return list;
}

static int
import_pg_clear(struct import_pg *ip, bool force, char **err_r)
{
	char sql[128];

	for (size_t i = 0; i < IMPORT_PG_NDEFS + 2; i++) {
		const char *name = i < IMPORT_PG_NDEFS ? import_pg_defs[i].name :
		    import_pg_own[i - IMPORT_PG_NDEFS];

		if (i < IMPORT_PG_NDEFS && import_pg_defs[i].seed ? ip->tabs[i].read == 0 : !force)
			continue;
		snprintf(sql, sizeof(sql), "DELETE FROM \"%s\"", name);
		if (import_pg_exec(ip, sql, err_r) < 0)
			return -1;
		if (i < IMPORT_PG_NDEFS && import_pg_defs[i].seed)
			log_info("import-pg: %s: seed rows replaced by the dump's", name);
	}
	return 0;
}

/* sqlite_sequence >= max(id) and >= the dump's sequence, for AUTOINCREMENT tables. */
static int
import_pg_sequences(struct import_pg *ip, char **err_r)
{
	for (size_t i = 0; i < IMPORT_PG_NDEFS; i++) {
		struct import_pg_tab *t = &ip->tabs[i];
		char sql[256];
		long long max;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		    " AND name = '%s' AND sql LIKE '%%AUTOINCREMENT%%'", t->def->name);
		if (import_pg_scalar(ip, sql) != 1)
			continue;
		snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(rowid), 0) FROM \"%s\"", t->def->name);
		max = import_pg_scalar(ip, sql);
		if (t->seq > max)
			max = t->seq;
		snprintf(sql, sizeof(sql), "INSERT INTO sqlite_sequence (name, seq) SELECT '%s', 0"
		    " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '%s')",
		    t->def->name, t->def->name);
		if (import_pg_exec(ip, sql, err_r) < 0)
			return -1;
		snprintf(sql, sizeof(sql), "UPDATE sqlite_sequence SET seq = MAX(seq, %lld)"
		    " WHERE name = '%s'", max, t->def->name);
		if (import_pg_exec(ip, sql, err_r) < 0)
			return -1;
	}
	return 0;
}

static int
import_pg_fk_check(struct import_pg *ip, char **err_r)
{
	sqlite3_stmt *st;
	char *list = NULL;
	int n = 0;

	if (import_pg_row_prepare(ip, "PRAGMA foreign_key_check", &st, err_r) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ < 5) {
			char *next = xasprintf("%s%s%s rowid %lld -> %s", list ? list : "",
			    list ? "; " : "", sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
			    sqlite3_column_text(st, 2));

			free(list);
			list = next;
		}
	}
	sqlite3_finalize(st);
	if (n == 0)
		return 0;
	*err_r = xasprintf("foreign key check failed for %d rows (%s)", n, list);
	free(list);
	return -1;
}

static int
import_pg_load(struct import_pg *ip, const char *buf, size_t len, bool force, char **err_r)
{
	struct pgdump_callbacks cb = {.row = import_pg_on_row, .setval = import_pg_on_setval};
	char *data;
	int maxdepth = 0;

	if ((data = import_pg_data_tables(ip)) != NULL && !force) {
		*err_r = xasprintf("the database already holds data (%s); nothing was imported. "
				   "import-pg --force replaces it (see import-pg --help)", data);
		free(data);
		return -1;
	}
	if (data != NULL)
		log_warnx("import-pg: --force: deleting the data of %s", data);
	free(data);
	if (import_pg_clear(ip, force, err_r) < 0)
		return -1;
	for (size_t i = 0; i < ip->nunknown; i++)
		log_warnx("import-pg: line %u: table %s is not a kubarr table: its %lu rows are skipped",
		    ip->unknown[i].line, ip->unknown[i].name, ip->unknown[i].rows);
	for (size_t i = 0; i < IMPORT_PG_NDEFS; i++)
		if (ip->tabs[i].depth > maxdepth)
			maxdepth = ip->tabs[i].depth;
	for (ip->pass = 0; ip->pass <= maxdepth; ip->pass++)
		if (pgdump_parse_cb(buf, len, &cb, ip, NULL, err_r) < 0)
			return -1;
	if (import_pg_sequences(ip, err_r) < 0 || import_pg_fk_check(ip, err_r) < 0)
		return -1;
	return 0;
}

/* ---- the command ---- */

static int
import_pg_read(const char *path, char **buf_r, size_t *len_r, char **err_r)
{
	size_t len = 0, cap = 1 << 16;
	struct stat sb;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*err_r = xasprintf("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size >= cap)
		cap = (size_t)sb.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("cannot read %s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*buf_r = buf;
	*len_r = len;
	return 0;
}

static void
import_pg_report(const struct import_pg *ip, const char *file, const char *db)
{
	unsigned long read = 0, written = 0;

	printf("import-pg: %s -> %s\n%-28s %10s %13s %8s\n", file, db, "table", "rows read",
	    "rows written", "skipped");
	for (size_t i = 0; i < IMPORT_PG_NDEFS; i++) {
		const struct import_pg_tab *t = &ip->tabs[i];

		if (t->read == 0)
			continue;
		printf("%-28s %10lu %13lu %8lu\n", t->def->name, t->read, t->written,
		    t->read - t->written);
		read += t->read;
		written += t->written;
	}
	for (size_t i = 0; i < ip->nunknown; i++) {
		printf("%-28s %10lu %13d %8lu  (not a kubarr table)\n", ip->unknown[i].name,
		    ip->unknown[i].rows, 0, ip->unknown[i].rows);
		read += ip->unknown[i].rows;
	}
	printf("%-28s %10lu %13lu %8lu\n", "total", read, written, read - written);
	for (size_t i = 0; i < IMPORT_PG_NDEFS; i++)
		for (size_t f = 0; f < ip->tabs[i].nfks && ip->tabs[i].nulled > 0; f++)
			if (ip->tabs[i].fks[f].set_null) {
				printf("%s: ids naming no %s row set to NULL: %lu\n", ip->tabs[i].def->name,
				    ip->tabs[i].fks[f].parent, ip->tabs[i].nulled);
				break;
			}
	if (read == written)
		printf("import-pg: every row imported\n");
	else
		printf("import-pg: INCOMPLETE: %lu rows were skipped (reasons above, on stderr)\n",
		    read - written);
}

int
import_pg_command(struct daemon *d, int argc, char **argv)
{
	struct import_pg ip = {.pass = -1};
	struct db_config cfg = {0};
	const char *file = NULL;
	char *buf = NULL, *err = NULL, *dir;
	bool force = false, opts = true;
	size_t len = 0;
	int from, to, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (opts && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
			fputs(import_pg_usage, stdout);
			return 0;
		} else if (opts && strcmp(argv[i], "--") == 0) {
			opts = false;
		} else if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "kubarr-storaged import-pg: unknown option %s\n\n%s", argv[i],
			    import_pg_usage);
			return 2;
		} else if (file == NULL) {
			file = argv[i];
		} else {
			fprintf(stderr, "kubarr-storaged import-pg: one FILE only\n\n%s", import_pg_usage);
			return 2;
		}
	}
	if (file == NULL) {
		fprintf(stderr, "kubarr-storaged import-pg: FILE missing\n\n%s", import_pg_usage);
		return 2;
	}
	cfg.path = config_str(&d->cfg, "KUBARR_DB_PATH");
	cfg.synchronous = config_str(&d->cfg, "KUBARR_DB_SYNCHRONOUS");
	cfg.busy_timeout_ms = (int)config_int(&d->cfg, "KUBARR_DB_BUSY_TIMEOUT_MS");

	for (size_t i = 0; i < IMPORT_PG_NDEFS; i++) {
		ip.tabs[i].def = &import_pg_defs[i];
		ip.tabs[i].seq = -1;
	}

	/* 1. read and parse: nothing is touched if this fails */
	if (import_pg_read(file, &buf, &len, &err) < 0)
		goto out;
	{
		struct pgdump_callbacks cb = {.row = import_pg_on_row, .setval = import_pg_on_setval};

		if (pgdump_parse_cb(buf, len, &cb, &ip, NULL, &err) < 0) {
			char *e = xasprintf("cannot parse %s: %s; nothing was written", file, err);

			free(err);
			err = e;
			goto out;
		}
	}
	if (ip.total == 0) {
		err = xasprintf("%s holds no INSERT rows (is it a pg_dump --data-only --inserts "
				"dump?); nothing was written", file);
		goto out;
	}
	log_info("import-pg: %s: %lu rows; importing into %s", file, ip.total, cfg.path);

	/* 2. the database, migrated */
	dir = xstrdup(cfg.path);
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	if (daemon_mkdir_p(d->data_dir, 0750) != 0 || (dir[0] != '\0' && strchr(cfg.path, '/') &&
	    daemon_mkdir_p(dir, 0750) != 0)) {
		err = xasprintf("cannot create the directory of %s", cfg.path);
		free(dir);
		goto out;
	}
	free(dir);
	if (db_open(&ip.c, &cfg, false, &err) < 0 ||
	    migrate_run(ip.c, cfg.path, storaged_migrations, storaged_nmigrations, &from, &to, &err) < 0 ||
	    import_pg_exec(&ip, "PRAGMA cache_size = -65536", &err) < 0 ||
	    import_pg_row_schema(&ip, &err) < 0)
		goto out;

	/* 3. one transaction */
	if (import_pg_exec(&ip, "BEGIN IMMEDIATE", &err) < 0)
		goto out;
	if (import_pg_load(&ip, buf, len, force, &err) < 0 || import_pg_exec(&ip, "COMMIT", &err) < 0) {
		char *e = NULL;

		if (import_pg_exec(&ip, "ROLLBACK", &e) < 0) {
			log_error("import-pg: rollback: %s", e);
			free(e);
		}
		goto out;
	}
	import_pg_report(&ip, file, cfg.path);
	rc = 0;
out:
	if (err != NULL) {
		log_error("import-pg: %s", err);
		free(err);
	}
	import_pg_row_free(&ip);
	db_close(&ip.c);
	free(buf);
	return rc;
}
