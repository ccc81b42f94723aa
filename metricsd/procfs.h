/* procfs: the bare-metal collector.
 *
 * Every cycle it lists the processes under the proc root (KUBARR_PROC_ROOT,
 * /proc by default), groups them by network namespace (the link text of
 * <pid>/ns/net, "net:[inode]"), reads one member's <pid>/net/dev per
 * namespace (every interface but lo, summed), and names each namespace after
 * the app that owns it: the systemd unit of its lowest pid, from
 * <pid>/cgroup (v1 or v2), else that process's comm (containers).  The
 * namespace of pid 1 (or, when pid 1 is unreadable, our own) is "host".
 * A process whose ns link we may not read (EACCES: ptrace-read permission)
 * is skipped and counted.  Host CPU from <root>/stat, memory from
 * <root>/meminfo, storage from statvfs(storage_path). */
#ifndef KUBARR_METRICSD_PROCFS_H
#define KUBARR_METRICSD_PROCFS_H

#include "collect.h"

struct procfs;

struct procfs *procfs_new(const char *root, const char *storage_path);
void procfs_free(struct procfs **p);
/* One cycle into res (reset first).  Never fails: res->ok and res->message
 * say what came out. */
void procfs_collect(struct procfs *p, struct collect_result *res);

/* Parsers, exported for the unit tests.  Each takes NUL-terminated text. */
/* Sums the counters of every interface but lo; returns the interfaces read, -1 if malformed. */
int procfs_parse_net_dev(const char *text, double ctr_r[CTR_COUNT]);
/* The app a cgroup file names: 0 and a unit name ("nginx" for nginx.service),
 * 1 for a container scope (the caller names it after its process), -1 for
 * nothing useful. */
int procfs_parse_cgroup(const char *text, char *name_r, size_t len);
/* "cpu ..." line: busy and total jiffies, and the number of cpuN lines. */
int procfs_parse_stat(const char *text, double *busy_r, double *all_r, unsigned *ncpu_r);
int procfs_parse_meminfo(const char *text, double *total_r, double *available_r);

#endif
