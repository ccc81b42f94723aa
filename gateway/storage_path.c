/* storage_path: see storage_path.h. */
#include "storage_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xmalloc.h"

enum storage_path_err
storage_path_normalise(const char *in, size_t len, char *out, size_t out_len)
{
	size_t i = 0, o = 0;

	if (out_len == 0)
		return STORAGE_PATH_TOO_LONG;
	out[0] = '\0';
	if (len >= PATH_MAX)
		return STORAGE_PATH_TOO_LONG;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)in[k];

		if (c == '\0')
			return STORAGE_PATH_NUL;
		if (c < 0x20 || c == 0x7f)
			return STORAGE_PATH_CONTROL;
	}
	while (i < len) {
		size_t start, seg;

		while (i < len && in[i] == '/')
			i++;
		start = i;
		while (i < len && in[i] != '/')
			i++;
		seg = i - start;
		if (seg == 0 || (seg == 1 && in[start] == '.'))
			continue;
		if (seg == 2 && in[start] == '.' && in[start + 1] == '.')
			return STORAGE_PATH_TRAVERSAL;
		if (seg > NAME_MAX)
			return STORAGE_PATH_TOO_LONG;
		if (o + (o > 0) + seg + 1 > out_len)
			return STORAGE_PATH_TOO_LONG;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, in + start, seg);
		o += seg;
	}
	out[o] = '\0';
	return STORAGE_PATH_OK;
}

const char *
storage_path_strerror(enum storage_path_err e)
{
	switch (e) {
	case STORAGE_PATH_OK:
		return "ok";
	case STORAGE_PATH_NUL:
		return "Invalid path: contains a NUL byte";
	case STORAGE_PATH_CONTROL:
		return "Invalid path: contains a control character";
	case STORAGE_PATH_TOO_LONG:
		return "Invalid path: too long";
	case STORAGE_PATH_TRAVERSAL:
		return "Access denied: path traversal attempt detected";
	}
	return "Invalid path";
}

unsigned
storage_path_status(enum storage_path_err e)
{
	return e == STORAGE_PATH_TRAVERSAL ? 403 : e == STORAGE_PATH_OK ? 200 : 400;
}

/* The fallback: one openat per segment, never following a symlink. */
static int
storage_path_walk(int root_fd, const char *rel, int flags, unsigned mode)
{
	char *copy = xstrdup(rel), *p = copy;
	int dir = root_fd, fd = -1, saved;

	if (*p == '\0') {
		free(copy);
		return openat(root_fd, ".", flags | O_NOFOLLOW, mode);
	}
	for (;;) {
		char *slash = strchr(p, '/');

		if (slash != NULL)
			*slash = '\0';
		if (strcmp(p, "..") == 0) {
			/* the normaliser never lets one through; this wall holds anyway */
			if (dir != root_fd)
				close(dir);
			free(copy);
			errno = EXDEV;
			return -1;
		}
		if (slash != NULL) {
			fd = openat(dir, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		} else {
			fd = openat(dir, p, flags | O_NOFOLLOW, mode);
		}
		saved = errno;
		if (fd < 0 && saved == ENOTDIR) {
			struct stat st;

			/* O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR */
			if (fstatat(dir, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				saved = EXDEV;
		}
		if (dir != root_fd)
			close(dir);
		if (fd < 0) {
			/* O_NOFOLLOW on a symlink: ELOOP (or ENOTDIR with O_DIRECTORY) */
			if (saved == ELOOP)
				saved = EXDEV;
			free(copy);
			errno = saved;
			return -1;
		}
		if (slash == NULL) {
			struct stat st;

			/* O_PATH | O_NOFOLLOW opens a symlink itself: refused all the same */
			if ((flags & O_PATH) && (fstat(fd, &st) != 0 || S_ISLNK(st.st_mode))) {
				close(fd);
				free(copy);
				errno = EXDEV;
				return -1;
			}
			break;
		}
		dir = fd;
		p = slash + 1;
	}
	free(copy);
	return fd;
}

int
storage_path_open(int root_fd, const char *rel, int flags, unsigned mode, bool force_walk)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!force_walk) {
		fd = syscall(SYS_openat2, root_fd, rel[0] != '\0' ? rel : ".", &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
	}
	return storage_path_walk(root_fd, rel, flags | O_CLOEXEC, mode);
}

const char *
storage_path_split(const char *rel, char *parent_r)
{
	const char *slash = strrchr(rel, '/');

	parent_r[0] = '\0';
	if (rel[0] == '\0')
		return NULL;
	if (slash == NULL)
		return rel;
	memcpy(parent_r, rel, (size_t)(slash - rel));
	parent_r[slash - rel] = '\0';
	return slash + 1;
}
