/* import_pg: `kubarr-storaged import-pg [--force] FILE`, loading a
 * `pg_dump --data-only --inserts` (or --column-inserts) of the reference
 * backend's PostgreSQL database into the kubarr database (see import_pg.c for
 * what is converted, replaced and reported). */
#ifndef KUBARR_STORAGED_IMPORT_PG_H
#define KUBARR_STORAGED_IMPORT_PG_H

struct daemon;

/* One line for daemon_ops.commands_help. */
extern const char import_pg_commands_help[];

/* argv[0] is "import-pg".  Returns the process exit code: 0 imported (rows
 * that could not be loaded are reported, not fatal), 1 failure (the database
 * is left as it was), 2 usage error. */
int import_pg_command(struct daemon *d, int argc, char **argv);

#endif
