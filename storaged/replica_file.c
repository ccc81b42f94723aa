/* replica_file: a replica in a local directory (NFS, a USB disk, a mounted
 * bucket).  The root must exist: a missing root is "unreachable", never
 * created, so an unmounted share cannot pass for an empty replica (which
 * would let a fresh storaged start empty instead of restoring).  Objects are
 * written to a temp file in the target folder, fsynced, then renamed (or
 * linked, for if_none_match) into place, and the folder is fsynced. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "replica.h"
#include "xmalloc.h"

struct replica_file {
	char *root;
};

static int
rf_errno_rc(int e)
{
	switch (e) {
	case ENOENT: return REPLICA_NOT_FOUND;
	case EACCES:
	case EPERM:
	case EROFS: return REPLICA_FORBIDDEN;
	case ENOTCONN:
	case ESTALE:
	case EIO:
	case ETIMEDOUT:
	case EHOSTDOWN:
	case ENODEV: return REPLICA_UNREACHABLE;
	default: return REPLICA_FAILED;
	}
}

/* The root exists and is a directory we can use. */
static int
rf_check_root(struct replica_file *f, char **err_r)
{
	struct stat sb;

	if (stat(f->root, &sb) != 0) {
		int e = errno;

		*err_r = xasprintf("replica directory %s: %s%s", f->root, strerror(e),
		    e == ENOENT ? " (create it, or mount the share)" : "");
		return e == ENOENT ? REPLICA_UNREACHABLE : rf_errno_rc(e);
	}
	if (!S_ISDIR(sb.st_mode)) {
		*err_r = xasprintf("replica %s is not a directory", f->root);
		return REPLICA_FAILED;
	}
	if (access(f->root, R_OK | W_OK | X_OK) != 0) {
		*err_r = xasprintf("replica directory %s: %m", f->root);
		return REPLICA_FORBIDDEN;
	}
	return REPLICA_OK;
}

static bool
rf_key_ok(const char *key)
{
	/* relative, no empty, "." or ".." component, no temp names */
	if (key[0] == '\0' || key[0] == '/' || strstr(key, ".tmp.") != NULL)
		return false;
	for (const char *p = key; *p != '\0';) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
		else
			break;
	}
	return key[strlen(key) - 1] != '/';
}

/* mkdir -p of the folders of key under root. */
static int
rf_mkdirs(const char *root, const char *key)
{
	char path[PATH_MAX];
	size_t rl = strlen(root);

	if (rl + 1 + strlen(key) >= sizeof(path))
		return -1;
	memcpy(path, root, rl);
	path[rl] = '/';
	strcpy(path + rl + 1, key);
	for (char *p = path + rl + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static int
rf_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies src (pread from 0 to its size, or the buffer) into a new temp file,
 * fsyncs, and moves it into place. */
static int
rf_put(struct replica *r, const char *key, int src, const void *buf, size_t len,
    bool if_none_match, char **err_r)
{
	struct replica_file *f = r->be;
	char *path = NULL, *tmp = NULL, *dir = NULL;
	int fd = -1, rc;

	if (!rf_key_ok(key)) {
		*err_r = xasprintf("bad replica key \"%s\"", key);
		return REPLICA_FAILED;
	}
	if ((rc = rf_check_root(f, err_r)) != REPLICA_OK)
		return rc;
	path = xasprintf("%s/%s", f->root, key);
	tmp = xasprintf("%s.tmp.%ld.%lx", path, (long)getpid(), (unsigned long)random());
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	if (rf_mkdirs(f->root, key) != 0 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", tmp);
		goto out;
	}
	if (src >= 0) {
		char chunk[1 << 16];
		off_t off = 0;
		ssize_t n;

		while ((n = pread(src, chunk, sizeof(chunk), off)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 || rf_write_all(fd, chunk, (size_t)n) != 0)
				break;
			off += n;
		}
		if (n != 0) {
			rc = rf_errno_rc(errno);
			*err_r = xasprintf("replica %s: copying: %m", key);
			goto out;
		}
	} else if (rf_write_all(fd, buf, len) != 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", key);
		goto out;
	}
	if (fsync(fd) != 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: fsync: %m", key);
		goto out;
	}
	close(fd);
	fd = -1;
	if (if_none_match) {
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST ? REPLICA_EXISTS : rf_errno_rc(errno);
			*err_r = xasprintf("replica %s: %m", key);
			goto out;
		}
	} else if (rename(tmp, path) != 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", key);
		goto out;
	}
	if (fileio_fsync_dir(dir) != 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: fsync: %m", dir);
		goto out;
	}
	rc = REPLICA_OK;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp); /* after link(2), or a failed write; gone after rename */
	free(path);
	free(tmp);
	free(dir);
	return rc;
}

static int
rf_put_fd(struct replica *r, const char *key, int fd, bool if_none_match, char **err_r)
{
	return rf_put(r, key, fd, NULL, 0, if_none_match, err_r);
}

static int
rf_put_mem(struct replica *r, const char *key, const void *buf, size_t len, bool if_none_match,
    char **err_r)
{
	return rf_put(r, key, -1, buf, len, if_none_match, err_r);
}

static int
rf_get_fd(struct replica *r, const char *key, int out, uint64_t *size_r, char **err_r)
{
	struct replica_file *f = r->be;
	char chunk[1 << 16], *path;
	uint64_t total = 0;
	ssize_t n;
	int fd, rc;

	if (!rf_key_ok(key)) {
		*err_r = xasprintf("bad replica key \"%s\"", key);
		return REPLICA_FAILED;
	}
	if ((rc = rf_check_root(f, err_r)) != REPLICA_OK)
		return rc;
	path = xasprintf("%s/%s", f->root, key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", key);
		return rc;
	}
	if (ftruncate(out, 0) != 0) {
		*err_r = xasprintf("replica %s: truncating the local copy: %m", key);
		close(fd);
		return REPLICA_FAILED;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rf_errno_rc(errno);
			*err_r = xasprintf("replica %s: %m", key);
			close(fd);
			return rc;
		}
		if (pwrite(out, chunk, (size_t)n, (off_t)total) != n) {
			*err_r = xasprintf("replica %s: writing the local copy: %m", key);
			close(fd);
			return REPLICA_FAILED;
		}
		total += (uint64_t)n;
	}
	close(fd);
	if (size_r != NULL)
		*size_r = total;
	return REPLICA_OK;
}

static int
rf_open_local(struct replica *r, const char *key, int *fd_r, uint64_t *size_r, char **err_r)
{
	struct replica_file *f = r->be;
	struct stat sb;
	char *path;
	int fd, rc;

	if (!rf_key_ok(key)) {
		*err_r = xasprintf("bad replica key \"%s\"", key);
		return REPLICA_FAILED;
	}
	if ((rc = rf_check_root(f, err_r)) != REPLICA_OK)
		return rc;
	path = xasprintf("%s/%s", f->root, key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", key);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*fd_r = fd;
	*size_r = (uint64_t)sb.st_size;
	return REPLICA_OK;
}

static int
rf_walk(const char *root, const char *rel, const char *prefix, struct replica_list *l,
    int depth, char **err_r)
{
	char *dirpath = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dirpath);
	struct dirent *de;
	int rc = REPLICA_OK;

	if (d == NULL) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", dirpath);
		free(dirpath);
		return rc;
	}
	while (rc == REPLICA_OK && (de = readdir(d)) != NULL) {
		char *key;
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		key = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		/* prune folders that cannot hold a key with the prefix */
		if (strncmp(key, prefix, strlen(key) < strlen(prefix) ? strlen(key) : strlen(prefix)) != 0) {
			free(key);
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			free(key);
			continue; /* deleted meanwhile (retention) */
		}
		if (S_ISDIR(sb.st_mode) && depth < 16)
			rc = rf_walk(root, key, prefix, l, depth + 1, err_r);
		else if (S_ISREG(sb.st_mode) && strncmp(key, prefix, strlen(prefix)) == 0)
			replica_list_add(l, key, (uint64_t)sb.st_size,
			    (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000);
		free(key);
	}
	closedir(d);
	free(dirpath);
	return rc;
}

static int
rf_list(struct replica *r, const char *prefix, struct replica_list *l, char **err_r)
{
	struct replica_file *f = r->be;
	int rc;

	if ((rc = rf_check_root(f, err_r)) != REPLICA_OK)
		return rc;
	return rf_walk(f->root, "", prefix, l, 0, err_r);
}

static int
rf_del(struct replica *r, const char *key, char **err_r)
{
	struct replica_file *f = r->be;
	char *path;
	int rc = REPLICA_OK;

	if (!rf_key_ok(key)) {
		*err_r = xasprintf("bad replica key \"%s\"", key);
		return REPLICA_FAILED;
	}
	path = xasprintf("%s/%s", f->root, key);
	if (unlink(path) != 0 && errno != ENOENT) {
		rc = rf_errno_rc(errno);
		*err_r = xasprintf("replica %s: %m", key);
	}
	free(path);
	return rc;
}

static void
rf_close(struct replica *r)
{
	struct replica_file *f = r->be;

	free(f->root);
	free(f);
}

static const struct replica_ops replica_file_ops = {
	.kind = "file",
	.close = rf_close,
	.put_fd = rf_put_fd,
	.put_mem = rf_put_mem,
	.get_fd = rf_get_fd,
	.list = rf_list,
	.del = rf_del,
	.open_local = rf_open_local,
};

int
replica_file_open(struct replica *r, const char *path, const struct replica_config *cfg,
    char **err_r)
{
	struct replica_file *f = xcalloc(1, sizeof(*f));
	size_t n = strlen(path);

	(void)cfg;
	(void)err_r;
	f->root = xstrdup(path);
	while (n > 1 && f->root[n - 1] == '/')
		f->root[--n] = '\0';
	r->ops = &replica_file_ops;
	r->be = f;
	return 0;
}
