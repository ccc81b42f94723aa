/* routes_storage_io: the bytes of /api/storage: GET/HEAD /download (one
 * Range, conditional requests, sendfile from the descriptor that was checked)
 * and PUT /upload (streamed into a temporary file in the target directory,
 * renamed into place only when complete).  See routes_storage.c for why the
 * gateway, not storaged, touches the files. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "gateway.h"
#include "log.h"
#include "routes.h"
#include "routes_storage.h"
#include "storage_path.h"
#include "xmalloc.h"

/* ---- download ------------------------------------------------------------------ */

/* "bytes=a-b" | "bytes=a-" | "bytes=-n" against size.  1: *off_r and *len_r set;
 * 0: ignore the header (malformed, or several ranges: the whole file is a valid
 * answer to those); -1: unsatisfiable (416). */
static int
storage_io_range(const char *h, uint64_t size, uint64_t *off_r, uint64_t *len_r)
{
	unsigned long long a = 0, b = 0;
	const char *p;
	char *end;
	bool has_a, has_b;

	if (strncasecmp(h, "bytes=", 6) != 0)
		return 0;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (strchr(p, ',') != NULL)
		return 0;
	has_a = *p >= '0' && *p <= '9';
	if (has_a) {
		errno = 0;
		a = strtoull(p, &end, 10);
		if (errno != 0)
			return 0;
		p = end;
	}
	if (*p++ != '-')
		return 0;
	has_b = *p >= '0' && *p <= '9';
	if (has_b) {
		errno = 0;
		b = strtoull(p, &end, 10);
		if (errno != 0)
			return 0;
		p = end;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0' || (!has_a && !has_b))
		return 0;
	if (!has_a) {                 /* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return -1;
		if (b > size)
			b = size;
		*off_r = size - b;
		*len_r = b;
		return 1;
	}
	if (has_b && b < a)
		return 0;                 /* syntactically invalid: ignored (RFC 9110 14.1.1) */
	if (a >= size)
		return -1;
	if (!has_b || b >= size)
		b = size - 1;
	*off_r = a;
	*len_r = b - a + 1;
	return 1;
}

/* Does an If-None-Match / If-Range list name etag ("*" matches; weak
 * comparison: a W/ prefix is ignored)? */
static bool
storage_io_etag_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = list;

	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == elen && memcmp(p, etag, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

static bool
storage_io_http_date(const char *s, time_t *t_r)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);

	if (end == NULL || *end != '\0')
		return false;
	*t_r = timegm(&tm);
	return true;
}

/* attachment; filename="ascii"; filename*=UTF-8''percent-encoded */
static char *
storage_io_disposition(const char *name)
{
	size_t n = strlen(name);
	char *ascii = xmalloc(n + 1), *pct = xmalloc(3 * n + 1), *out;
	size_t a = 0, q = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		ascii[a++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : (char)c;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&+-.^_`|~", c) != NULL)
			pct[q++] = (char)c;
		else
			q += (size_t)snprintf(pct + q, 4, "%%%02X", c);
	}
	ascii[a] = '\0';
	pct[q] = '\0';
	out = xasprintf("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, pct);
	free(ascii);
	free(pct);
	return out;
}

void
routes_storage_download(struct gw_req *r)
{
	char rel[PATH_MAX], parent[PATH_MAX], etag[80], lastmod[40], buf[96];
	const char *name, *h, *inm;
	uint64_t size, off = 0, len;
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	struct stat st;
	struct tm tm;
	int fd, rng = 0;
	bool not_modified = false;
	time_t ims = 0;
	char *disp;

	if (routes_storage_query_path(r, true, rel) != 0)
		return;
	if (rel[0] == '\0') {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Path is a directory");
		return;
	}
	/* O_NONBLOCK: opening a FIFO planted in the storage must not hang a thread */
	if ((fd = routes_storage_open(r, rel, O_RDONLY | O_NONBLOCK)) < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, S_ISDIR(st.st_mode) ?
		    "Path is a directory" : "Not a regular file");
		return;
	}
	size = (uint64_t)st.st_size;
	len = size;
	snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_ino,
	    size, (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
	gmtime_r(&st.st_mtim.tv_sec, &tm);
	strftime(lastmod, sizeof(lastmod), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if ((inm = gw_header(r, "If-None-Match")) != NULL)
		not_modified = storage_io_etag_match(inm, etag);
	else if ((h = gw_header(r, "If-Modified-Since")) != NULL && storage_io_http_date(h, &ims))
		not_modified = st.st_mtim.tv_sec <= ims;
	if (not_modified) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lastmod);
		gw_respond(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
		return;
	}
	if ((h = gw_header(r, "Range")) != NULL) {
		const char *ifr = gw_header(r, "If-Range");

		if (ifr == NULL || strcmp(ifr, etag) == 0 || strcmp(ifr, lastmod) == 0)
			rng = storage_io_range(h, size, &off, &len);
	}
	if (rng < 0) {
		close(fd);
		gw_respond_detail(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, "Requested range not satisfiable");
		snprintf(buf, sizeof(buf), "bytes */%" PRIu64, size);
		gw_add_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, buf);
		return;
	}
	/* MHD owns fd from here: sendfile(2) from it, closed with the response */
	resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
	if (resp == NULL) {
		close(fd);
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot create the response");
		return;
	}
	if (rng > 0) {
		status = MHD_HTTP_PARTIAL_CONTENT;
		snprintf(buf, sizeof(buf), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
		    off + len - 1, size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, buf);
	}
	name = storage_path_split(rel, parent);
	disp = storage_io_disposition(name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lastmod);
	free(disp);
	gw_respond(r, status, resp, (size_t)len);
	log_info("storage: download %s by %s: %s bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, rel,
	    r->principal->username, r->method, off, len > 0 ? off + len - 1 : off, size);
}

/* ---- upload --------------------------------------------------------------------- */

struct storage_upload {
	int dir;              /* the target's directory, resolved beneath the root */
	int fd;               /* the temporary file */
	char tmpname[64];     /* its name once linked (or created named); "" while unnamed */
	char rel[PATH_MAX];
	const char *name;     /* last segment of rel */
	uint64_t bytes, max;
	bool done, replaced;
};

static void
storage_io_upload_release(struct gw_req *r)
{
	struct storage_upload *up = r->hctx;

	r->sink = NULL;
	r->hctx = NULL;
	if (up == NULL)
		return;
	if (up->fd >= 0)
		close(up->fd);    /* an unlinked O_TMPFILE vanishes with it */
	if (!up->done) {
		if (up->tmpname[0] != '\0')
			unlinkat(up->dir, up->tmpname, 0);
		log_info("storage: upload %s aborted after %" PRIu64 " bytes", up->rel, up->bytes);
	}
	close(up->dir);
	free(up);
}

static int
storage_io_upload_chunk(struct gw_req *r, const char *data, size_t len)
{
	struct storage_upload *up = r->hctx;

	up->bytes += len;
	if (up->max > 0 && up->bytes > up->max) {
		gw_respond_detail(r, MHD_HTTP_CONTENT_TOO_LARGE, "Upload larger than KUBARR_UPLOAD_MAX_BYTES");
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(up->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			routes_storage_errno(r, n < 0 ? errno : EIO, up->rel);
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The temporary file gets a name in the target directory (an O_TMPFILE is
 * linked in through /proc/self/fd: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). */
static int
storage_io_upload_link(struct storage_upload *up)
{
	char proc[40];
	unsigned char rnd[8];

	if (up->tmpname[0] != '\0')
		return 0;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	snprintf(up->tmpname, sizeof(up->tmpname), ".kubarr-upload-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", up->fd);
	if (linkat(up->fd, "", up->dir, up->tmpname, AT_EMPTY_PATH) == 0 ||
	    linkat(AT_FDCWD, proc, up->dir, up->tmpname, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	up->tmpname[0] = '\0';
	return -1;
}

static void
storage_io_upload_end(struct gw_req *r)
{
	struct storage_upload *up = r->hctx;
	struct stat st;
	int err;

	if (fsync(up->fd) != 0 || storage_io_upload_link(up) != 0) {
		routes_storage_errno(r, errno, up->rel);
		return;
	}
	if (renameat(up->dir, up->tmpname, up->dir, up->name) != 0) {
		err = errno;
		unlinkat(up->dir, up->tmpname, 0);
		up->tmpname[0] = '\0';
		if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
			gw_respond_detail(r, MHD_HTTP_CONFLICT, "Path is a directory");
		else
			routes_storage_errno(r, err, up->rel);
		return;
	}
	up->done = true;
	up->tmpname[0] = '\0';
	if (fstat(up->fd, &st) != 0)
		memset(&st, 0, sizeof(st));
	gw_respond_json(r, up->replaced ? MHD_HTTP_OK : MHD_HTTP_CREATED,
	    routes_storage_info_json(up->name, up->rel, &st));
	routes_storage_audit(r, "storage_upload", up->rel, true, NULL, json_pack("{s:I, s:b}",
	    "size", (json_int_t)up->bytes, "replaced", up->replaced));
}

static const struct gw_body_sink storage_io_upload_sink = {
	.chunk = storage_io_upload_chunk,
	.end = storage_io_upload_end,
	.release = storage_io_upload_release,
};

void
routes_storage_upload(struct gw_req *r)
{
	char rel[PATH_MAX], parent[PATH_MAX];
	const char *name, *clen;
	struct storage_upload *up;
	struct stat st;
	int root, dir, fd, err;
	uint64_t max = r->gw->upload_max_bytes;

	if (routes_storage_query_path(r, true, rel) != 0)
		return;
	if ((name = storage_path_split(rel, parent)) == NULL) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Path must name a file");
		return;
	}
	clen = gw_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (max > 0 && clen != NULL && strtoull(clen, NULL, 10) > max) {
		gw_respond_detail(r, MHD_HTTP_CONTENT_TOO_LARGE, "Upload larger than KUBARR_UPLOAD_MAX_BYTES");
		return;
	}
	if ((root = routes_storage_root(r)) < 0)
		return;
	/* an existing target must itself resolve beneath the root */
	fd = storage_path_open(root, rel, O_PATH, 0, r->gw->storage_walk);
	err = errno;
	if (fd < 0 && err != ENOENT) {
		close(root);
		routes_storage_errno(r, err, rel);
		return;
	}
	if (fd >= 0) {
		bool isdir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);

		close(fd);
		if (isdir) {
			close(root);
			gw_respond_detail(r, MHD_HTTP_CONFLICT, "Path is a directory");
			return;
		}
	}
	dir = storage_path_open(root, parent, O_PATH | O_DIRECTORY, 0, r->gw->storage_walk);
	err = errno;
	close(root);
	if (dir < 0) {
		routes_storage_errno(r, err, rel);
		return;
	}
	up = xcalloc(1, sizeof(*up));
	up->dir = dir;
	up->max = max;
	snprintf(up->rel, sizeof(up->rel), "%s", rel);
	up->name = up->rel + (name - rel);
	up->replaced = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	up->fd = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0664);
	if (up->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* no O_TMPFILE here: a named temporary, removed on abort */
		unsigned char rnd[8];

		if (getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd)) {
			snprintf(up->tmpname, sizeof(up->tmpname),
			    ".kubarr-upload-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
			    rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
			up->fd = openat(dir, up->tmpname, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
			    O_CLOEXEC, 0664);
			if (up->fd < 0)
				up->tmpname[0] = '\0';
		}
	}
	if (up->fd < 0) {
		err = errno;
		close(dir);
		free(up);
		routes_storage_errno(r, err, rel);
		return;
	}
	r->hctx = up;
	r->sink = &storage_io_upload_sink;
}
