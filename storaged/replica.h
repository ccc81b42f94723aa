/* replica: where backup objects live.  One interface, two back ends:
 *   file:///path          a directory (replica_file.c): write to a temp file,
 *                         fsync, link/rename into place, fsync the folder
 *   s3://bucket/prefix    S3 and compatible stores (replica_s3.c): our own
 *                         SigV4 signer (s3_sign.c), multipart upload above
 *                         5 MiB, XML from expat (s3_xml.c), libcurl
 * Keys are relative to the replica's root (the directory, or the prefix),
 * '/'-separated, e.g. "00000001/segments/00000000000000000042.seg".
 *
 * Every call is synchronous and thread-safe on its own replica object only
 * from one thread at a time (each thread opens its own). */
#ifndef KUBARR_STORAGED_REPLICA_H
#define KUBARR_STORAGED_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results: 0 is success; the others are negative so "< 0" means failure. */
enum replica_rc {
	REPLICA_OK = 0,
	REPLICA_NOT_FOUND = -1,   /* no such object (GET, DELETE is idempotent: OK) */
	REPLICA_EXISTS = -2,      /* if_none_match and the object exists (412) */
	REPLICA_FORBIDDEN = -3,   /* credentials refused (403, bad signature): never retried */
	REPLICA_UNREACHABLE = -4, /* connect/DNS/timeout/reset, after the retries */
	REPLICA_FAILED = -5,      /* anything else: 5xx after retries, bad answer, local I/O */
	REPLICA_CLOCK_SKEW = -6,  /* RequestTimeTooSkewed: our clock is off */
};

struct replica_config {
	const char *url;            /* file:///abs/path or s3://bucket[/prefix] */
	const char *s3_endpoint;    /* "" = AWS (https://s3.<region>.amazonaws.com) */
	const char *s3_region;      /* "us-east-1" */
	int s3_path_style;          /* 1 path style, 0 virtual host, -1 auto (path for a custom endpoint) */
	const char *access_key;     /* AWS_ACCESS_KEY_ID, or from credentials_file */
	const char *secret_key;     /* AWS_SECRET_ACCESS_KEY */
	const char *session_token;  /* AWS_SESSION_TOKEN, "" none */
	const char *credentials_file; /* "" none: an AWS shared-credentials file ([default]) */
	unsigned timeout_ms;        /* one request's time limit (connect + transfer) */
	unsigned retries;           /* attempts after the first for retryable failures */
};

struct replica_obj {
	char *key;                  /* relative to the root */
	uint64_t size;
	int64_t mtime_ms;           /* last modified, ms since epoch (0 when unknown) */
};

struct replica_list {
	struct replica_obj *v;      /* sorted by key (bytewise) */
	size_t n, cap;
};

struct replica;

/* Parses the URL and prepares the back end; touches nothing remote.  0 or
 * -1 with *err_r (a configuration error: bad URL, missing credentials). */
int replica_open(struct replica **r_r, const struct replica_config *cfg, char **err_r);
void replica_close(struct replica **r);
/* The URL with any secret removed, for logs and status (owned by r). */
const char *replica_url(const struct replica *r);
/* "file" or "s3". */
const char *replica_kind(const struct replica *r);

/* Uploads the whole of fd (a regular file; read with pread from offset 0 to
 * its size) as key.  if_none_match: fail with REPLICA_EXISTS when the key
 * exists (S3: If-None-Match: *; file: link(2)).  *err_r on failure. */
int replica_put_fd(struct replica *r, const char *key, int fd, bool if_none_match, char **err_r);
int replica_put_mem(struct replica *r, const char *key, const void *buf, size_t len,
    bool if_none_match, char **err_r);
/* Downloads key into fd (truncated first, written from offset 0, not
 * fsynced).  *size_r gets the object's size. */
int replica_get_fd(struct replica *r, const char *key, int fd, uint64_t *size_r, char **err_r);
/* A replica on this machine (file://): the object opened read-only in place,
 * *fd_r and *size_r, so a restore reads it without a copy.  REPLICA_OK, or
 * REPLICA_FAILED when the back end has no local files (s3), or the error. */
int replica_open_local(struct replica *r, const char *key, int *fd_r, uint64_t *size_r,
    char **err_r);
/* Downloads key into a new buffer (malloc; caller frees) of at most max bytes
 * (a larger object is REPLICA_FAILED). */
int replica_get_mem(struct replica *r, const char *key, size_t max, uint8_t **buf_r,
    size_t *len_r, char **err_r);
/* Every object whose key starts with prefix ("" = all), sorted, appended to
 * *l (which the caller initialises to zero and frees with replica_list_free). */
int replica_list(struct replica *r, const char *prefix, struct replica_list *l, char **err_r);
void replica_list_free(struct replica_list *l);
/* Deletes key; a missing key is success. */
int replica_delete(struct replica *r, const char *key, char **err_r);
/* A short name of a result code: "not found", "forbidden", ... */
const char *replica_strerror(int rc);

/* ---- back ends (replica.c dispatches) ---------------------------------- */
struct replica_ops {
	const char *kind;
	void (*close)(struct replica *r);
	int (*put_fd)(struct replica *r, const char *key, int fd, bool if_none_match, char **err_r);
	int (*put_mem)(struct replica *r, const char *key, const void *buf, size_t len,
	    bool if_none_match, char **err_r);
	int (*get_fd)(struct replica *r, const char *key, int fd, uint64_t *size_r, char **err_r);
	int (*list)(struct replica *r, const char *prefix, struct replica_list *l, char **err_r);
	int (*del)(struct replica *r, const char *key, char **err_r);
	/* optional: local back ends only */
	int (*open_local)(struct replica *r, const char *key, int *fd_r, uint64_t *size_r,
	    char **err_r);
};

struct replica {
	const struct replica_ops *ops;
	char *url;                  /* redacted */
	void *be;                   /* the back end's state */
};

/* Back-end constructors: fill r->ops and r->be (url already parsed by the
 * scheme).  0 or -1 (*err_r). */
int replica_file_open(struct replica *r, const char *path, const struct replica_config *cfg,
    char **err_r);
int replica_s3_open(struct replica *r, const char *bucket, const char *prefix,
    const struct replica_config *cfg, char **err_r);

/* Appends an object to a list (strdup of key); for back ends. */
void replica_list_add(struct replica_list *l, const char *key, uint64_t size, int64_t mtime_ms);

#endif
