/* backup_stub: TEMPORARY stand-in for backup.c (the engine of backup.h),
 * built only until it lands.  Backup is always off here: the status says
 * "disabled", every request fails with "backup is not configured".  Delete
 * this file (and its line in CMakeLists.txt) when backup.c arrives. */
#include "backup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define BACKUP_STUB_OFF "backup is not configured (KUBARR_BACKUP_URL is empty)"

void
backup_status_get(struct backup *b, struct backup_status *st)
{
	(void)b;
	memset(st, 0, sizeof(*st));
	st->configured = false;
	snprintf(st->state, sizeof(st->state), "disabled");
	snprintf(st->last_validation, sizeof(st->last_validation), "never");
}

int
backup_request_snapshot(struct backup *b, char **err_r)
{
	(void)b;
	*err_r = xstrdup(BACKUP_STUB_OFF);
	return -1;
}

int
backup_request_verify(struct backup *b, char **err_r)
{
	(void)b;
	*err_r = xstrdup(BACKUP_STUB_OFF);
	return -1;
}

int
backup_points(struct backup *b, uint64_t before_seq, size_t max, struct backup_point **pts_r,
    size_t *n_r, char **err_r)
{
	(void)b;
	(void)before_seq;
	(void)max;
	*pts_r = NULL;
	*n_r = 0;
	*err_r = xstrdup(BACKUP_STUB_OFF);
	return -1;
}
