/* routes_setup_paths: POST /api/setup/validate-path and GET /api/setup/browse
 * (API.md section 4 Setup, decision 10).  A client path is absolute, has no
 * "." or ".." segment, and is read under KUBARR_HOST_BROWSE_PREFIX (where the
 * host's / is mounted); once resolved it must stay there, symlinks included.
 * Both routes are sealed strictly: when storaged cannot say whether an admin
 * exists, they answer 503 rather than show the file system. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"
#include "routes.h"
#include "setup.h"
#include "xmalloc.h"

#define SETUP_MAX_DIRS 5000

/* ---- paths: validate-path and browse (decision 10: normalised first) --------- */

/* An absolute client path without "." or ".." segments, "//" collapsed, no
 * trailing "/" (except "/" itself).  0, or -1 and a 400 set. */
int
setup_path_norm(struct gw_req *r, const char *field, const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = in;
	char msg[160];

	if (in == NULL || in[0] == '\0') {
		snprintf(msg, sizeof(msg), "Field '%s' is required", field);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		return -1;
	}
	if (in[0] != '/') {
		snprintf(msg, sizeof(msg), "Field '%s' must be an absolute path", field);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		return -1;
	}
	while (*p != '\0') {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(msg, sizeof(msg), "Field '%s' must not contain '.' or '..' segments",
			    field);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
			return -1;
		}
		if (n + 1 + len + 1 > outlen) {
			snprintf(msg, sizeof(msg), "Field '%s' is too long", field);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
			return -1;
		}
		out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return 0;
}

/* Whether a resolved path lies in the resolved prefix. */
static bool
setup_path_inside(const char *rprefix, const char *rpath)
{
	size_t plen = strlen(rprefix);

	return strcmp(rprefix, "/") == 0 || (strncmp(rpath, rprefix, plen) == 0 &&
	    (rpath[plen] == '\0' || rpath[plen] == '/'));
}

/* The host path for a client path: KUBARR_HOST_BROWSE_PREFIX + path.  When it
 * exists, its resolved form must stay under the resolved prefix (a symlink
 * cannot lead out).  0, or -1 and a 400 set. */
static int
setup_path_host(struct gw_req *r, const char *norm, char *host, size_t hostlen, bool *exists_r)
{
	const char *prefix = r->gw->setup->browse_prefix;
	char rprefix[PATH_MAX], rhost[PATH_MAX];

	if (snprintf(host, hostlen, "%s%s", prefix, strcmp(norm, "/") == 0 && prefix[0] ?
	    "" : norm) >= (int)hostlen) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'path' is too long");
		return -1;
	}
	if (host[0] == '\0')
		snprintf(host, hostlen, "/");
	*exists_r = realpath(host, rhost) != NULL;
	if (!*exists_r || prefix[0] == '\0')
		return 0;
	if (realpath(prefix, rprefix) == NULL) {
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "KUBARR_HOST_BROWSE_PREFIX does not exist");
		return -1;
	}
	if (!setup_path_inside(rprefix, rhost)) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Field 'path' leads outside the browsable tree");
		return -1;
	}
	return 0;
}

static void
routes_setup_validate_next(struct gw_req *r)
{
	char norm[PATH_MAX], host[PATH_MAX];
	const char *msg;
	struct stat sb;
	bool exists, dir = false, writable = false;

	if (setup_path_norm(r, "path", gw_query(r, "path"), norm, sizeof(norm)) != 0 ||
	    setup_path_host(r, norm, host, sizeof(host), &exists) != 0)
		return;
	if (exists && stat(host, &sb) == 0) {
		dir = S_ISDIR(sb.st_mode);
		writable = dir && access(host, W_OK | X_OK) == 0;
	} else {
		exists = false;
	}
	msg = !exists ? "Path does not exist" : !dir ? "Path is not a directory" :
	    !writable ? "Path is not writable" : "Path exists and is writable";
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:b, s:b, s:b, s:s, s:s}", "valid",
	    exists && dir && writable, "exists", exists, "writable", writable, "message", msg,
	    "path", norm));
}

void
routes_setup_validate_path(struct gw_req *r)
{
	setup_gate(r, true, routes_setup_validate_next);
}

/* Kept out of the listing at the top of the tree (API.md: pseudo and volatile
 * file systems). */
static bool
setup_browse_excluded(const char *path)
{
	static const char *const skip[] = {"/proc", "/sys", "/dev", "/run", "/tmp", "/var/run"};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(path, skip[i]) == 0)
			return true;
	return false;
}

static int
setup_browse_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
routes_setup_browse_next(struct gw_req *r)
{
	const char *q = gw_query(r, "path"), *prefix = r->gw->setup->browse_prefix;
	char norm[PATH_MAX], host[PATH_MAX], rprefix[PATH_MAX], rpath[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	json_t *dirs, *parent;
	bool exists;
	DIR *d;

	if (setup_path_norm(r, "path", q != NULL ? q : "/", norm, sizeof(norm)) != 0 ||
	    setup_path_host(r, norm, host, sizeof(host), &exists) != 0)
		return;
	if (prefix[0] != '\0' && realpath(prefix, rprefix) == NULL)
		prefix = "";   /* setup_path_host has answered the request otherwise */
	if (!exists || (d = opendir(host)) == NULL) {
		if (exists && errno == ENOTDIR)
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Path is not a directory");
		else if (exists && errno == EACCES)
			gw_respond_detail(r, MHD_HTTP_FORBIDDEN, "Permission denied");
		else
			gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Directory not found");
		return;
	}
	while ((de = readdir(d)) != NULL && n < SETUP_MAX_DIRS) {
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;   /* hidden, and . and .. */
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
				continue;
			if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISDIR(sb.st_mode))
				continue;
			if (de->d_type == DT_LNK || prefix[0] != '\0') {
				/* a link is listed only when it stays in the tree */
				char *full = xasprintf("%s/%s", host, de->d_name);
				bool in = prefix[0] == '\0' || (realpath(full, rpath) != NULL &&
				    setup_path_inside(rprefix, rpath));

				free(full);
				if (!in)
					continue;
			}
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), setup_browse_cmp);
	dirs = json_array();
	for (size_t i = 0; i < n; i++) {
		char *child = xasprintf("%s/%s", strcmp(norm, "/") == 0 ? "" : norm, names[i]);

		if (!setup_browse_excluded(child))
			json_array_append_new(dirs, json_pack("{s:s, s:s}", "name", names[i], "path",
			    child));
		free(child);
		free(names[i]);
	}
	free(names);
	if (strcmp(norm, "/") == 0) {
		parent = json_null();
	} else {
		char *slash = strrchr(norm, '/');
		char *up = xstrdup(norm);

		up[slash == norm ? 1 : slash - norm] = '\0';
		parent = json_string(up);
		free(up);
	}
	gw_respond_json(r, MHD_HTTP_OK, json_pack("{s:s, s:o, s:o}", "path", norm, "parent",
	    parent, "directories", dirs));
}

void
routes_setup_browse(struct gw_req *r)
{
	setup_gate(r, true, routes_setup_browse_next);
}
