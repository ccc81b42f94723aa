/* TEMPORARY (not committed): until replica_s3.c and the backup ops land. */
#include <stdio.h>
#include "backup_cli.h"
#include "replica.h"
#include "xmalloc.h"
int replica_s3_open(struct replica *r, const char *bucket, const char *prefix,
    const struct replica_config *cfg, char **err_r)
{ (void)r; (void)bucket; (void)prefix; (void)cfg; *err_r = xstrdup("s3 not built yet"); return -1; }
int backup_ask_daemon(struct daemon *d, const char *what) { (void)d; (void)what; return 1; }
