/* storage_path: media paths from the client, made safe (API.md 11, decision 10).
 *
 * Two steps, both needed:
 *  1. storage_path_normalise: lexical.  The client's text (already URL-decoded,
 *     with its length so an embedded NUL is seen) becomes a relative path
 *     "a/b/c" ("" = the root): one leading '/' is the root (the reference's
 *     client sends "/downloads"), empty and "." segments are dropped, and a
 *     ".." segment, a NUL or control byte, a segment over NAME_MAX or a path
 *     over PATH_MAX is refused.  Pure: unit-tested and fuzzed.
 *  2. storage_path_open: the kernel.  openat2(root_fd, rel, RESOLVE_BENEATH |
 *     RESOLVE_NO_MAGICLINKS): symlinks are followed only while they stay
 *     beneath the root; one that leaves it (absolute, or ".." past the root)
 *     fails with EXDEV.  Where openat2 is missing (ENOSYS, kernels < 5.6) a
 *     walk of openat(O_NOFOLLOW) per segment is used instead, which refuses
 *     every symlink (stricter; ELOOP -> EXDEV).  The caller then works on the
 *     fd it got: no path is resolved twice, so nothing can be swapped between
 *     the check and the use. */
#ifndef KUBARR_GATEWAY_STORAGE_PATH_H
#define KUBARR_GATEWAY_STORAGE_PATH_H

#include <stdbool.h>
#include <stddef.h>

enum storage_path_err {
	STORAGE_PATH_OK = 0,
	STORAGE_PATH_NUL,        /* 400: a NUL byte */
	STORAGE_PATH_CONTROL,    /* 400: a control character */
	STORAGE_PATH_TOO_LONG,   /* 400: over PATH_MAX, or a segment over NAME_MAX */
	STORAGE_PATH_TRAVERSAL,  /* 403: a ".." segment */
};

/* in[0..len) -> out (NUL-terminated, at most out_len bytes incl. the NUL;
 * out_len >= len + 1 always suffices). */
enum storage_path_err storage_path_normalise(const char *in, size_t len, char *out,
    size_t out_len);
/* The message of an error, for {"detail"}; and its HTTP status. */
const char *storage_path_strerror(enum storage_path_err e);
unsigned storage_path_status(enum storage_path_err e);

/* Opens rel (a normalised path; "" is the root itself) beneath root_fd with
 * open(2) flags and mode.  -1 with errno on failure: EXDEV when the path would
 * leave the root, else what open(2) says (ENOENT, ENOTDIR, EISDIR...).
 * force_walk uses the O_NOFOLLOW walk even when openat2 exists (tests). */
int storage_path_open(int root_fd, const char *rel, int flags, unsigned mode, bool force_walk);

/* Splits a normalised path: the last segment (a pointer into rel; NULL for
 * the root), its parent copied to parent_r ("" for a top-level entry;
 * parent_r must hold strlen(rel) + 1 bytes). */
const char *storage_path_split(const char *rel, char *parent_r);

#endif
