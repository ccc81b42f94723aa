#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "lru.h"
#include "xmalloc.h"

#define PROCFS_BUF 65536

/* A namespace known from earlier cycles: its name is computed again only when
 * its lowest pid changes. */
struct procfs_ns {
	uint64_t ino;         /* 0: free slot */
	uint64_t seen;        /* cycle it was last seen in */
	int pid;              /* lowest pid this cycle */
	int name_pid;         /* pid the name was computed from */
	unsigned nproc;
	char name[COLLECT_NAME_MAX];
};

struct procfs {
	char *root;
	char *storage_path;
	struct procfs_ns *tab;
	size_t cap;           /* power of two */
	size_t used;
	uint64_t cycle;
	char *buf;            /* PROCFS_BUF */
	/* per-cycle name set, to keep series names unique */
	uint32_t *names;      /* index + 1 into res->ns, 0 free */
	size_t names_cap;
};

struct procfs *
procfs_new(const char *root, const char *storage_path)
{
	struct procfs *p = xcalloc(1, sizeof(*p));

	p->root = xstrdup(root);
	p->storage_path = xstrdup(storage_path);
	p->cap = 256;
	p->tab = xcalloc(p->cap, sizeof(*p->tab));
	p->buf = xmalloc(PROCFS_BUF);
	return p;
}

void
procfs_free(struct procfs **pp)
{
	struct procfs *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	free(p->root);
	free(p->storage_path);
	free(p->tab);
	free(p->buf);
	free(p->names);
	free(p);
}

/* ---- parsers ---------------------------------------------------------------- */

int
procfs_parse_net_dev(const char *text, double ctr_r[CTR_COUNT])
{
	const char *line = text;
	int n = 0;

	memset(ctr_r, 0, sizeof(double) * CTR_COUNT);
	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *colon = memchr(line, ':', eol ? (size_t)(eol - line) : strlen(line));
		unsigned long long v[16];
		char name[32];
		size_t nlen;
		const char *s;
		int k = 0;

		if (colon != NULL) {
			s = line;
			while (*s == ' ')
				s++;
			nlen = (size_t)(colon - s);
			if (nlen == 0 || nlen >= sizeof(name))
				return -1;
			memcpy(name, s, nlen);
			name[nlen] = '\0';
			s = colon + 1;
			for (k = 0; k < 16; k++) {
				char *end;

				while (*s == ' ' || *s == '\t')
					s++;
				if (*s < '0' || *s > '9')
					break;
				errno = 0;
				v[k] = strtoull(s, &end, 10);
				if (errno != 0)
					return -1;
				s = end;
			}
			if (k < 16)
				return -1;
			if (strcmp(name, "lo") != 0) {
				/* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ... */
				ctr_r[CTR_RX_BYTES] += (double)v[0];
				ctr_r[CTR_RX_PACKETS] += (double)v[1];
				ctr_r[CTR_RX_ERRORS] += (double)v[2];
				ctr_r[CTR_RX_DROPPED] += (double)v[3];
				ctr_r[CTR_TX_BYTES] += (double)v[8];
				ctr_r[CTR_TX_PACKETS] += (double)v[9];
				ctr_r[CTR_TX_ERRORS] += (double)v[10];
				ctr_r[CTR_TX_DROPPED] += (double)v[11];
			}
			n++;
		}
		if (eol == NULL)
			break;
		line = eol + 1;
	}
	return n;
}

static bool
procfs_suffix(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	return len >= sl && memcmp(s + len - sl, suffix, sl) == 0;
}

static bool
procfs_prefix(const char *s, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && memcmp(s, prefix, pl) == 0;
}

/* Names one cgroup path (no newline); see procfs_parse_cgroup. */
static int
procfs_cgroup_path_name(const char *path, size_t plen, char *name_r, size_t len)
{
	const char *end = path + plen;

	while (end > path) {
		const char *c = end;
		size_t clen;

		while (c > path && c[-1] != '/')
			c--;
		clen = (size_t)(end - c);
		if (clen > 0) {
			if (procfs_suffix(c, clen, ".service")) {
				if (clen - 8 == 0)
					return -1;
				snprintf(name_r, len, "%.*s", (int)(clen - 8), c);
				return 0;
			}
			if (procfs_suffix(c, clen, ".scope") &&
			    (procfs_prefix(c, clen, "docker-") || procfs_prefix(c, clen, "libpod-") ||
				procfs_prefix(c, clen, "crio-") || procfs_prefix(c, clen, "cri-containerd-")))
				return 1;
			if (c - path >= 8 && (memcmp(c - 8, "/docker/", 8) == 0))
				return 1;
			if (c - path >= 5 && memcmp(c - 5, "/lxc/", 5) == 0) {
				snprintf(name_r, len, "%.*s", (int)clen, c);
				return 0;
			}
			if (procfs_prefix(c, clen, "machine-") && procfs_suffix(c, clen, ".scope") &&
			    clen > 14) {
				snprintf(name_r, len, "%.*s", (int)(clen - 14), c + 8);
				return 0;
			}
			if (procfs_prefix(c, clen, "kubepods") || procfs_prefix(c, clen, "pod"))
				return 1;
		}
		end = c > path ? c - 1 : path;
	}
	return -1;
}

int
procfs_parse_cgroup(const char *text, char *name_r, size_t len)
{
	const char *best = NULL, *line = text;
	size_t best_len = 0;
	int best_rank = 0;

	/* Prefer the v2 line ("0::"), then name=systemd, then any controller. */
	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', llen), *c2;
		int rank;

		if (c1 != NULL && (c2 = memchr(c1 + 1, ':', llen - (size_t)(c1 + 1 - line))) != NULL) {
			size_t ctl = (size_t)(c2 - c1 - 1);

			if (c1 - line == 1 && line[0] == '0' && ctl == 0)
				rank = 3;
			else if (ctl == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0)
				rank = 2;
			else
				rank = 1;
			if (rank > best_rank && (size_t)(line + llen - (c2 + 1)) > 1) {
				best = c2 + 1;
				best_len = (size_t)(line + llen - best);
				best_rank = rank;
			}
		}
		if (eol == NULL)
			break;
		line = eol + 1;
	}
	if (best == NULL)
		return -1;
	return procfs_cgroup_path_name(best, best_len, name_r, len);
}

int
procfs_parse_stat(const char *text, double *busy_r, double *all_r, unsigned *ncpu_r)
{
	unsigned long long v[8] = {0};
	const char *line = text;
	unsigned ncpu = 0;
	int found = 0;

	while (*line != '\0') {
		if (strncmp(line, "cpu ", 4) == 0) {
			if (sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
				&v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
				return -1;
			found = 1;
		} else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
			ncpu++;
		}
		line = strchr(line, '\n');
		if (line == NULL)
			break;
		line++;
	}
	if (!found)
		return -1;
	/* user nice system idle iowait irq softirq steal (guest is inside user) */
	*all_r = 0;
	for (int i = 0; i < 8; i++)
		*all_r += (double)v[i];
	*busy_r = *all_r - (double)v[3] - (double)v[4];
	*ncpu_r = ncpu ? ncpu : 1;
	return 0;
}

int
procfs_parse_meminfo(const char *text, double *total_r, double *available_r)
{
	const char *t = strstr(text, "MemTotal:"), *a = strstr(text, "MemAvailable:");
	unsigned long long tv, av;

	if (t == NULL || a == NULL || sscanf(t + 9, "%llu", &tv) != 1 ||
	    sscanf(a + 13, "%llu", &av) != 1)
		return -1;
	*total_r = (double)tv * 1024;
	*available_r = (double)av * 1024;
	return 0;
}

/* ---- reading ---------------------------------------------------------------- */

/* Reads dir/path into p->buf (NUL-terminated); length or -1 (errno set). */
static ssize_t
procfs_read(struct procfs *p, int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while (total < PROCFS_BUF - 1 &&
	    (n = read(fd, p->buf + total, (size_t)(PROCFS_BUF - 1 - total))) > 0)
		total += n;
	if (n < 0 && total == 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	p->buf[total] = '\0';
	return total;
}

/* The namespace id of a process: the inode in "net:[4026531840]", or a hash
 * of the link text when it has another shape.  0 on error (errno set). */
static uint64_t
procfs_ns_ino(int dirfd, const char *pid)
{
	char path[64], link[128];
	ssize_t n;
	const char *b;

	snprintf(path, sizeof(path), "%s/ns/net", pid);
	n = readlinkat(dirfd, path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	if ((b = strchr(link, '[')) != NULL) {
		unsigned long long v = strtoull(b + 1, NULL, 10);

		if (v != 0)
			return v;
	}
	return lru_hash(link) | 1;
}

static struct procfs_ns *
procfs_slot(struct procfs *p, uint64_t ino)
{
	size_t mask = p->cap - 1, i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & mask;

	while (p->tab[i].ino != 0 && p->tab[i].ino != ino)
		i = (i + 1) & mask;
	return &p->tab[i];
}

/* Keeps the table under half full, dropping namespaces not seen for a while. */
static void
procfs_rehash(struct procfs *p, size_t want)
{
	struct procfs_ns *old = p->tab;
	size_t ocap = p->cap;

	p->cap = 256;
	while (p->cap < want * 2)
		p->cap *= 2;
	p->tab = xcalloc(p->cap, sizeof(*p->tab));
	p->used = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].ino == 0 || old[i].seen + 2 < p->cycle)
			continue;
		*procfs_slot(p, old[i].ino) = old[i];
		p->used++;
	}
	free(old);
}

static bool
procfs_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void
procfs_name(struct procfs *p, int dirfd, struct procfs_ns *ns)
{
	char path[64], name[COLLECT_NAME_MAX];
	int kind = -1;

	name[0] = '\0';
	snprintf(path, sizeof(path), "%d/cgroup", ns->pid);
	if (procfs_read(p, dirfd, path) >= 0)
		kind = procfs_parse_cgroup(p->buf, name, sizeof(name));
	if (kind != 0) {
		snprintf(path, sizeof(path), "%d/comm", ns->pid);
		if (procfs_read(p, dirfd, path) > 0) {
			p->buf[strcspn(p->buf, "\n")] = '\0';
			snprintf(name, sizeof(name), "%s", p->buf);
		}
	}
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "netns-%llu", (unsigned long long)ns->ino);
	collect_name_copy(ns->name, name, strlen(name));
	ns->name_pid = ns->pid;
}

/* A series name unique in this cycle: the app's, else app-<inode>. */
static struct collect_ns *
procfs_add_unique(struct procfs *p, struct collect_result *res, const struct procfs_ns *ns,
    const char *name)
{
	char alt[COLLECT_NAME_MAX];
	size_t mask, i;
	uint64_t h;

	if ((res->n + 1) * 2 > p->names_cap) {
		/* (re)build the set for the current entries */
		p->names_cap = p->names_cap ? p->names_cap * 2 : 512;
		free(p->names);
		p->names = xcalloc(p->names_cap, sizeof(*p->names));
		mask = p->names_cap - 1;
		for (size_t k = 0; k < res->n; k++) {
			i = lru_hash(res->ns[k].name) & mask;
			while (p->names[i] != 0)
				i = (i + 1) & mask;
			p->names[i] = (uint32_t)k + 1;
		}
	}
	mask = p->names_cap - 1;
	for (int attempt = 0; attempt < 2; attempt++) {
		h = lru_hash(name);
		for (i = h & mask; p->names[i] != 0; i = (i + 1) & mask)
			if (strcmp(res->ns[p->names[i] - 1].name, name) == 0)
				break;
		if (p->names[i] == 0) {
			p->names[i] = (uint32_t)res->n + 1;
			return collect_ns_add(res, name);
		}
		snprintf(alt, sizeof(alt), "%.40s-%llu", ns->name, (unsigned long long)ns->ino);
		name = alt;
	}
	return NULL;
}

static void
procfs_host(struct procfs *p, int dirfd, struct collect_result *res)
{
	struct statvfs sv;
	double avail;
	unsigned ncpu;

	if (procfs_read(p, dirfd, "stat") > 0 &&
	    procfs_parse_stat(p->buf, &res->cpu_busy, &res->cpu_all, &ncpu) == 0) {
		res->has_cpu_jiffies = true;
		res->cpu_cores = ncpu;
	}
	if (procfs_read(p, dirfd, "meminfo") > 0 &&
	    procfs_parse_meminfo(p->buf, &res->memory_total, &avail) == 0)
		res->memory_used = res->memory_total - avail;
	if (statvfs(p->storage_path, &sv) == 0) {
		res->storage_total = (double)sv.f_blocks * (double)sv.f_frsize;
		res->storage_used = (double)(sv.f_blocks - sv.f_bfree) * (double)sv.f_frsize;
	}
}

void
procfs_collect(struct procfs *p, struct collect_result *res)
{
	DIR *dir;
	struct dirent *de;
	int dfd;
	uint64_t host_ino;
	unsigned live = 0, processes = 0;

	collect_reset(res);
	p->cycle++;
	if ((dir = opendir(p->root)) == NULL) {
		snprintf(res->message, sizeof(res->message), "cannot open %s: %s", p->root,
		    strerror(errno));
		return;
	}
	dfd = dirfd(dir);
	while ((de = readdir(dir)) != NULL) {
		struct procfs_ns *ns;
		uint64_t ino;

		if (!procfs_all_digits(de->d_name))
			continue;
		res->pids_seen++;
		if ((ino = procfs_ns_ino(dfd, de->d_name)) == 0) {
			if (errno == EACCES || errno == EPERM)
				res->ns_unreadable++;
			continue;
		}
		if ((p->used + 1) * 2 > p->cap)
			procfs_rehash(p, p->used + 1);
		ns = procfs_slot(p, ino);
		if (ns->ino == 0) {
			ns->ino = ino;
			ns->name_pid = 0;
			p->used++;
		}
		if (ns->seen != p->cycle) {
			ns->seen = p->cycle;
			ns->pid = atoi(de->d_name);
			ns->nproc = 0;
		} else if (atoi(de->d_name) < ns->pid) {
			ns->pid = atoi(de->d_name);
		}
		ns->nproc++;
		processes++;
	}
	host_ino = procfs_ns_ino(dfd, "1");
	if (host_ino == 0)
		host_ino = procfs_ns_ino(dfd, "self");
	procfs_host(p, dfd, res);
	for (size_t i = 0; i < p->cap; i++) {
		struct procfs_ns *ns = &p->tab[i];
		struct collect_ns *out;
		char path[64];
		double ctr[CTR_COUNT];

		if (ns->ino == 0 || ns->seen != p->cycle)
			continue;
		snprintf(path, sizeof(path), "%d/net/dev", ns->pid);
		if (procfs_read(p, dfd, path) < 0) {
			res->ns_vanished++;   /* exited between the listing and now */
			continue;
		}
		if (procfs_parse_net_dev(p->buf, ctr) < 0) {
			res->lines_skipped++;
			continue;
		}
		if (ns->ino == host_ino) {
			snprintf(ns->name, sizeof(ns->name), "host");
			ns->name_pid = ns->pid;
		} else if (ns->name_pid != ns->pid || ns->name[0] == '\0') {
			procfs_name(p, dfd, ns);
		}
		if ((out = procfs_add_unique(p, res, ns, ns->name)) == NULL)
			continue;
		memcpy(out->ctr, ctr, sizeof(ctr));
		out->pods = ns->nproc;
		if (ns->ino != host_ino)
			live++;
	}
	closedir(dir);
	/* drop namespaces gone for two cycles */
	if (p->used > 64 && p->used > 2 * (size_t)(live + 1))
		procfs_rehash(p, live + 1);
	res->pods = live;
	res->containers = processes;
	res->ok = res->n > 0;
	snprintf(res->message, sizeof(res->message), "%zu network namespaces, %u processes", res->n,
	    processes);
	if (!res->ok && res->message[0] == '\0')
		snprintf(res->message, sizeof(res->message), "no readable network namespace");
	if (p->names != NULL)
		memset(p->names, 0, p->names_cap * sizeof(*p->names));
}
