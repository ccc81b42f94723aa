/* fileio: the two file chores every durable writer repeats. */
#ifndef KUBARR_FILEIO_H
#define KUBARR_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pread until n bytes or end of file, retrying EINTR: the byte count (less
 * than n at end of file), or -1 with errno. */
ssize_t fileio_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* fsync of a folder, so a rename or link in it is durable: 0 or -1 (errno). */
int fileio_fsync_dir(const char *dir);

#endif
