/* routes_storage: /api/storage, the media file browser (API.md 4 Storage, 11,
 * decision 10).
 *
 * Who touches the media files: the gateway, on file descriptors only.  Every
 * request opens the root (KUBARR_STORAGE_PATH, trusted configuration) and
 * resolves the client's path beneath it with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) (storage_path.c); what follows (fstat, fdopendir,
 * mkdirat, unlinkat, the temporary file, renameat, the response body) works
 * on that descriptor or on a parent descriptor plus one final name, so no path
 * is resolved twice and nothing can be swapped between check and use.  Bytes
 * go from the file to the socket by MHD's sendfile on the same descriptor.
 * storaged keeps what it owns, the record: every write and delete is appended
 * to its audit log (AUDIT_APPEND) before the client gets its answer.  Why not
 * storaged: nng cannot pass a descriptor (no SCM_RIGHTS), so storaged could
 * only copy the bytes through IPC (two extra copies and a process hop per
 * chunk, no sendfile, memory per transfer) or check a path that the gateway
 * then opens again (a check-then-use race).  See README "Media storage".
 *
 * Downloads: one Range (206, 416), HEAD, ETag / Last-Modified / If-None-Match /
 * If-Range; memory is constant whatever the size.  Uploads (PUT, streamed via
 * ROUTE_F_STREAM_BODY): an unnamed O_TMPFILE in the target directory (a named
 * ".kubarr-upload-*" file where the filesystem lacks O_TMPFILE), linked and
 * renamed into place only once complete; an aborted upload leaves nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "gateway.h"
#include "json_body.h"
#include "log.h"
#include "routes.h"
#include "routes_storage.h"
#include "storage_path.h"
#include "xmalloc.h"

#define STORAGED(r) ((r)->gw->backend[GW_STORAGED])
#define STORAGE_MAX_ENTRIES 100000   /* a listing larger than this is cut (and says so) */

/* ---- common ----------------------------------------------------------------- */

int
routes_storage_root(struct gw_req *r)
{
	int fd = open(r->gw->storage_root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_warn("storage: root %s", r->gw->storage_root);
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, r->gw->storage_root_configured ?
		    "Storage path is configured but not mounted" : "Storage not configured");
	}
	return fd;
}

/* ?path= normalised into out (PATH_MAX bytes).  -1 after a 400/403. */
int
routes_storage_query_path(struct gw_req *r, bool required, char *out)
{
	const char *v = NULL;
	size_t len = 0;
	enum storage_path_err e;

	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, "path", 4, &v, &len) !=
	    MHD_YES || v == NULL) {
		if (required) {
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Query parameter 'path' is required");
			return -1;
		}
		v = "";
		len = 0;
	}
	if ((e = storage_path_normalise(v, len, out, PATH_MAX)) != STORAGE_PATH_OK) {
		gw_respond_detail(r, storage_path_status(e), storage_path_strerror(e));
		return -1;
	}
	return 0;
}

/* An errno of storage_path_open / *at(2) as the answer. */
void
routes_storage_errno(struct gw_req *r, int err, const char *what)
{
	switch (err) {
	case EXDEV:
	case ELOOP:
		gw_respond_detail(r, MHD_HTTP_FORBIDDEN, "Access denied: path traversal attempt detected");
		return;
	case ENOENT:
	case ENOTDIR:
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Path not found");
		return;
	case EACCES:
	case EPERM:
	case EROFS:
		gw_respond_detail(r, MHD_HTTP_FORBIDDEN, "Permission denied by the filesystem");
		return;
	case ENAMETOOLONG:
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Invalid path: too long");
		return;
	case ENOSPC:
	case EDQUOT:
		gw_respond_detail(r, MHD_HTTP_INSUFFICIENT_STORAGE, "No space left on the storage");
		return;
	default: {
		char msg[160];

		log_warnx("storage: %s: %s", what, strerror(err));
		snprintf(msg, sizeof(msg), "Storage error: %s", strerror(err));
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
	}
	}
}

int
routes_storage_open(struct gw_req *r, const char *rel, int flags)
{
	int root = routes_storage_root(r), fd, err;

	if (root < 0)
		return -1;
	fd = storage_path_open(root, rel, flags, 0, r->gw->storage_walk);
	err = errno;
	close(root);
	if (fd >= 0)
		return fd;
	if (err == ENOTDIR && (flags & O_DIRECTORY)) {
		/* the last segment is a file (a middle one would be ENOENT-like) */
		int probe = -1, root2 = routes_storage_root(r);

		if (root2 >= 0) {
			probe = storage_path_open(root2, rel, O_PATH, 0, r->gw->storage_walk);
			close(root2);
		}
		if (probe >= 0) {
			close(probe);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Path is not a directory");
			return -1;
		}
	}
	routes_storage_errno(r, err, rel);
	return -1;
}

/* Text that jansson accepts: invalid UTF-8 bytes become '?' (like the
 * reference's to_string_lossy, give or take the replacement character). */
json_t *
routes_storage_json_str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL)
		return j;
	copy = xstrdup(s);
	for (unsigned char *p = (unsigned char *)copy; *p != '\0'; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_string("");
}

void
routes_storage_iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* FileInfo {name, path, type, size, modified, permissions}. */
json_t *
routes_storage_info_json(const char *name, const char *rel, const struct stat *st)
{
	char mod[32], perm[8];

	routes_storage_iso(st->st_mtim.tv_sec, mod, sizeof(mod));
	snprintf(perm, sizeof(perm), "%o", (unsigned)(st->st_mode & 07777));
	return json_pack("{s:o, s:o, s:s, s:I, s:s, s:s}", "name", routes_storage_json_str(name), "path",
	    routes_storage_json_str(rel), "type", S_ISDIR(st->st_mode) ? "directory" : "file", "size",
	    (json_int_t)st->st_size, "modified", mod, "permissions", perm);
}

/* ---- audit ------------------------------------------------------------------ */

static void
routes_storage_audit_cb(void *arg, enum proto_status st, const struct proto_audit_append_rep *rep,
    const char *detail)
{
	struct gw_req *r = arg;

	(void)rep;
	if (st != PROTO_OK)
		log_warnx("storage: audit not written (%s%s%s): %s %s", proto_status_name(st),
		    detail != NULL ? ": " : "", detail != NULL ? detail : "", r->method, r->url);
	gw_async_done(r);
}

/* Appends the entry, then lets the answer already set go out. */
void
routes_storage_audit(struct gw_req *r, const char *action, const char *rel, bool ok, const char *err,
    json_t *details)
{
	struct proto_audit_append_req req = {0};
	char *det;

	if (details == NULL)
		details = json_object();
	json_object_set_new(details, "path", routes_storage_json_str(rel));
	det = json_dumps(details, JSON_COMPACT);
	json_decref(details);
	req.user_id = r->principal->user_id;
	req.has_user_id = true;
	req.username = r->principal->username;
	req.has_username = true;
	req.action = action;
	req.resource_type = "storage";
	req.resource_id = rel;
	req.has_resource_id = true;
	req.details = det;
	req.has_details = det != NULL;
	req.ip_address = r->client_addr;
	req.has_ip_address = r->client_addr[0] != '\0';
	req.user_agent = gw_header(r, "User-Agent");
	req.has_user_agent = req.user_agent != NULL;
	req.success = ok;
	req.error_message = err;
	req.has_error_message = err != NULL;
	log_info("storage: %s %s by %s: %s", action, rel, r->principal->username,
	    ok ? "ok" : err != NULL ? err : "failed");
	gw_async_begin(r, 1, gw_async_noop);
	proto_audit_append_call(STORAGED(r), &req, r->gw->ipc_timeout_ms, routes_storage_audit_cb, r);
	free(det);
}

/* ---- GET /api/storage/browse ------------------------------------------------ */

struct storage_ent {
	char *name;
	struct stat st;
};

static int
storage_ent_cmp(const void *a, const void *b)
{
	const struct storage_ent *x = a, *y = b;
	bool dx = S_ISDIR(x->st.st_mode), dy = S_ISDIR(y->st.st_mode);
	int c;

	if (dx != dy)
		return dx ? -1 : 1;
	if ((c = strcasecmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

void
routes_storage_browse(struct gw_req *r)
{
	char rel[PATH_MAX], parent[PATH_MAX];
	struct storage_ent *ents = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	json_t *items;
	DIR *dir;
	int fd;

	if (routes_storage_query_path(r, false, rel) != 0 ||
	    (fd = routes_storage_open(r, rel, O_RDONLY | O_DIRECTORY)) < 0)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		routes_storage_errno(r, errno, rel);
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL && n < STORAGE_MAX_ENTRIES) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* lstat: a symlink is described, never followed (nothing outside leaks) */
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ents = xrealloc(ents, cap * sizeof(*ents));
		}
		ents[n].name = xstrdup(de->d_name);
		ents[n].st = st;
		n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(ents, n, sizeof(*ents), storage_ent_cmp);
	items = json_array();
	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s%s%s", rel, rel[0] ? "/" : "", ents[i].name);

		json_array_append_new(items, routes_storage_info_json(ents[i].name, p, &ents[i].st));
		free(p);
		free(ents[i].name);
	}
	free(ents);
	storage_path_split(rel, parent);
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:o, s:o, s:o, s:I}", "path",
	    routes_storage_json_str(rel), "parent", rel[0] ? routes_storage_json_str(parent) : json_null(), "items",
	    items, "total_items", (json_int_t)n));
}

/* ---- GET /api/storage/stats ------------------------------------------------- */

void
routes_storage_stats(struct gw_req *r)
{
	struct statvfs vfs;
	int root = routes_storage_root(r);
	uint64_t total, used, freeb;
	double pct;

	if (root < 0)
		return;
	if (fstatvfs(root, &vfs) != 0) {
		routes_storage_errno(r, errno, "statvfs");
		close(root);
		return;
	}
	close(root);
	/* df -B1: Size = blocks, Used = blocks - bfree, Avail = bavail */
	total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	freeb = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	pct = total > 0 ? (double)used / (double)total * 100.0 : 0.0;
	pct = (double)(int64_t)(pct * 100.0 + 0.5) / 100.0;
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:I, s:I, s:I, s:f}", "total_bytes",
	    (json_int_t)total, "used_bytes", (json_int_t)used, "free_bytes", (json_int_t)freeb,
	    "usage_percent", pct));
}

/* ---- GET /api/storage/file-info --------------------------------------------- */

void
routes_storage_file_info(struct gw_req *r)
{
	char rel[PATH_MAX], parent[PATH_MAX];
	const char *name;
	struct stat st;
	int fd;

	if (routes_storage_query_path(r, false, rel) != 0 || (fd = routes_storage_open(r, rel, O_PATH)) < 0)
		return;
	if (fstat(fd, &st) != 0) {
		routes_storage_errno(r, errno, rel);
		close(fd);
		return;
	}
	close(fd);
	name = storage_path_split(rel, parent);
	gw_respond_json(r, MHD_HTTP_OK, routes_storage_info_json(name != NULL ? name : "", rel, &st));
}

/* ---- POST /api/storage/mkdir ------------------------------------------------ */

void
routes_storage_mkdir(struct gw_req *r)
{
	char rel[PATH_MAX], prefix[PATH_MAX];
	const char *path;
	enum storage_path_err e;
	bool created = false;
	json_t *body;
	int root, dir, err = 0;
	size_t i = 0;

	if ((body = json_body_object(r)) == NULL)
		return;
	if (json_body_str(r, body, "path", true, &path, NULL) != 0) {
		json_decref(body);
		return;
	}
	e = storage_path_normalise(path, strlen(path), rel, sizeof(rel));
	json_decref(body);
	if (e != STORAGE_PATH_OK) {
		gw_respond_detail(r, storage_path_status(e), storage_path_strerror(e));
		return;
	}
	if (rel[0] == '\0') {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Path already exists");
		return;
	}
	if ((root = routes_storage_root(r)) < 0)
		return;
	/* create_dir_all, one segment at a time: mkdirat in a directory that was
	 * itself resolved beneath the root, then that prefix resolved again
	 * beneath the root (a symlink planted meanwhile can only lead inside). */
	dir = storage_path_open(root, "", O_PATH | O_DIRECTORY, 0, r->gw->storage_walk);
	while (dir >= 0) {
		size_t start = i;

		while (rel[i] != '\0' && rel[i] != '/')
			i++;
		memcpy(prefix, rel, i);
		prefix[i] = '\0';
		{
			char seg[NAME_MAX + 1];

			memcpy(seg, rel + start, i - start);
			seg[i - start] = '\0';
			created = mkdirat(dir, seg, 0775) == 0;
			if (!created && errno != EEXIST) {
				err = errno;
				break;
			}
		}
		close(dir);
		dir = storage_path_open(root, prefix, O_PATH | O_DIRECTORY, 0, r->gw->storage_walk);
		if (dir < 0) {
			err = errno;
			break;
		}
		if (rel[i] == '\0')
			break;
		i++;
	}
	if (dir >= 0)
		close(dir);
	close(root);
	if (err != 0) {
		if (err == ENOTDIR) {
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "A path segment is not a directory");
			return;
		}
		routes_storage_errno(r, err, rel);
		if (err != EXDEV && err != ELOOP)
			return;
		routes_storage_audit(r, "storage_mkdir", rel, false, "path traversal attempt", NULL);
		return;
	}
	if (!created) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Path already exists");
		return;
	}
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:s, s:o}", "success", 1, "message",
	    "Directory created", "path", routes_storage_json_str(rel)));
	routes_storage_audit(r, "storage_mkdir", rel, true, NULL, NULL);
}

/* ---- DELETE /api/storage/delete --------------------------------------------- */

void
routes_storage_delete(struct gw_req *r)
{
	char rel[PATH_MAX], parent[PATH_MAX];
	const char *name;
	struct stat st;
	int root, dir, fd;
	bool is_dir;

	if (routes_storage_query_path(r, true, rel) != 0)
		return;
	name = storage_path_split(rel, parent);
	if (name == NULL) {
		gw_respond_detail(r, MHD_HTTP_FORBIDDEN, "Cannot delete the storage root");
		return;
	}
	if (parent[0] == '\0' && (strcmp(name, "downloads") == 0 || strcmp(name, "media") == 0)) {
		gw_respond_detail(r, MHD_HTTP_FORBIDDEN, "Cannot delete a protected folder");
		return;
	}
	if ((root = routes_storage_root(r)) < 0)
		return;
	/* the whole path must resolve beneath the root (a symlink that leads out
	 * is refused, as the reference's canonicalize does)... */
	fd = storage_path_open(root, rel, O_PATH, 0, r->gw->storage_walk);
	if (fd < 0 && errno != ENOENT) {
		routes_storage_errno(r, errno, rel);
		close(root);
		return;
	}
	if (fd >= 0)
		close(fd);
	/* ...then the entry itself goes through its parent's descriptor: unlinkat
	 * removes the name in that directory (a symlink, not what it points to). */
	dir = storage_path_open(root, parent, O_PATH | O_DIRECTORY, 0, r->gw->storage_walk);
	close(root);
	if (dir < 0) {
		routes_storage_errno(r, errno, rel);
		return;
	}
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		routes_storage_errno(r, errno, rel);
		close(dir);
		return;
	}
	is_dir = S_ISDIR(st.st_mode);
	if (unlinkat(dir, name, is_dir ? AT_REMOVEDIR : 0) != 0) {
		int err = errno;

		close(dir);
		if (err == ENOTEMPTY || err == EEXIST)
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST,
			    "Directory is not empty; only empty directories can be deleted");
		else
			routes_storage_errno(r, err, rel);
		return;
	}
	close(dir);
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:s, s:o}", "success", 1, "message",
	    is_dir ? "Directory deleted" : "File deleted", "path", routes_storage_json_str(rel)));
	routes_storage_audit(r, "storage_delete", rel, true, NULL,
	    json_pack("{s:s, s:I}", "type", is_dir ? "directory" : "file", "size",
	    (json_int_t)st.st_size));
}

