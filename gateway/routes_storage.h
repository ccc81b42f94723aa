/* routes_storage: what routes_storage.c (browse, stats, file-info, mkdir,
 * delete) shares with routes_storage_io.c (download, upload). */
#ifndef KUBARR_GATEWAY_ROUTES_STORAGE_H
#define KUBARR_GATEWAY_ROUTES_STORAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "http.h"

/* The root as an O_PATH descriptor, or -1 after a 500. */
int routes_storage_root(struct gw_req *r);
/* ?path= normalised into out (PATH_MAX bytes); absent is the root unless
 * required.  -1 after a 400/403. */
int routes_storage_query_path(struct gw_req *r, bool required, char *out);
/* errno of a path operation as the answer (EXDEV: 403 traversal, ENOENT: 404...). */
void routes_storage_errno(struct gw_req *r, int err, const char *what);
/* rel opened beneath the root with open(2) flags; -1 after an answer. */
int routes_storage_open(struct gw_req *r, const char *rel, int flags);
json_t *routes_storage_json_str(const char *s);
void routes_storage_iso(time_t t, char *buf, size_t len);
json_t *routes_storage_info_json(const char *name, const char *rel, const struct stat *st);
/* Sets nothing: appends the audit entry (details: owned, may be NULL), then
 * lets the answer already set go out. */
void routes_storage_audit(struct gw_req *r, const char *action, const char *rel, bool ok,
    const char *err, json_t *details);

#endif
