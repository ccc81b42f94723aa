/* backup_cli: kubarr-storaged restore | backup ..., and the restore on boot. */
#ifndef KUBARR_STORAGED_BACKUP_CLI_H
#define KUBARR_STORAGED_BACKUP_CLI_H

#include "backup_int.h"
#include "daemon.h"

extern const char backup_commands_help[];
/* An exit code, or -1 when argv[0] is not restore/backup. */
int backup_cli_command(struct daemon *d, int argc, char **argv);
/* Fills bc from the configuration; 1 when KUBARR_BACKUP_URL is set, else 0. */
int backup_config_load(const struct daemon *d, struct backup_config *bc);
/* Restores KUBARR_DB_PATH when it is missing (BACKUP.md 8): 0 restored, or
 * nothing to do (the file exists, or the replica is empty); -1 fail closed
 * (*err_r): unreachable, forbidden, or a restore that did not verify. */
int backup_boot_restore(const struct backup_config *bc, char **err_r);
/* backup status | snapshot: asks the running storaged over IPC. */
int backup_ask_daemon(struct daemon *d, const char *what);

#endif
