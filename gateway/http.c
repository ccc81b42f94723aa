#include "http.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "gateway.h"
#include "log.h"
#include "router.h"
#include "timeutil.h"
#include "xmalloc.h"

struct gw_http {
	struct MHD_Daemon *mhd;
	struct gateway *gw;
	struct gw_http_limits lim;
	atomic_llong requests;
	atomic_llong in_flight;
	atomic_llong errors_5xx;
};

void
gw_respond(struct gw_req *r, unsigned status, struct MHD_Response *resp, size_t bytes)
{
	if (r->resp != NULL) {
		log_error("http: %s %s answered twice", r->method, r->url);
		MHD_destroy_response(r->resp);
	}
	r->resp = resp;
	r->status = status;
	r->resp_bytes = bytes;
}

static void
gw_respond_buf(struct gw_req *r, unsigned status, char *buf, size_t len, const char *ctype)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);

	if (resp == NULL) {
		free(buf);
		log_error("http: cannot create a response");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	gw_respond(r, status, resp, len);
}

void
gw_respond_json(struct gw_req *r, unsigned status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (s == NULL) {
		s = xstrdup("{\"detail\":\"Internal error\"}");
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	gw_respond_buf(r, status, s, strlen(s), "application/json");
}

void
gw_respond_json_text(struct gw_req *r, unsigned status, const char *json)
{
	gw_respond_buf(r, status, xstrdup(json), strlen(json), "application/json");
}

void
gw_respond_detail(struct gw_req *r, unsigned status, const char *detail)
{
	gw_respond_json(r, status, json_pack("{s:s}", "detail", detail));
}

void
gw_respond_unavailable(struct gw_req *r, const char *detail, json_t *extra)
{
	json_t *body = json_pack("{s:s}", "detail", detail);

	if (extra != NULL) {
		json_object_update(body, extra);
		json_decref(extra);
	}
	gw_respond_json(r, MHD_HTTP_SERVICE_UNAVAILABLE, body);
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

void
gw_respond_text(struct gw_req *r, unsigned status, const char *text)
{
	gw_respond_buf(r, status, xstrdup(text), strlen(text), "text/plain; charset=utf-8");
}

void
gw_async_begin(struct gw_req *r, int calls, void (*finish)(struct gw_req *r))
{
	r->finish = finish;
	atomic_fetch_add(&r->pending, calls);
	if (!r->suspended) {
		r->suspended = true;
		MHD_suspend_connection(r->conn);
	}
}

void
gw_async_done(struct gw_req *r)
{
	struct MHD_Connection *conn = r->conn;

	if (atomic_fetch_sub(&r->pending, 1) != 1)
		return;
	for (;;) {
		void (*finish)(struct gw_req *) = r->finish;

		/* a guard count: a round started by finish cannot complete under us */
		atomic_store(&r->pending, 1);
		r->finish = NULL;
		finish(r);
		if (atomic_fetch_sub(&r->pending, 1) != 1)
			return;   /* a new round is in flight; its last call comes back here */
		if (r->finish == NULL)
			break;    /* answered */
		/* the new round completed while finish ran: run its finish now */
	}
	/* r may be freed by an HTTP thread from here on. */
	MHD_resume_connection(conn);
}

void
gw_async_noop(struct gw_req *r)
{
	(void)r;
}

const char *
gw_header(struct gw_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
gw_query(struct gw_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void
gw_add_header(struct gw_req *r, const char *name, const char *value)
{
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, name, value);
}

static enum MHD_Result
gw_http_queue(struct gw_req *r)
{
	enum MHD_Result ret;

	if (r->resp == NULL)
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error");
	if (r->resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(r->conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	return ret;
}

static void
gw_http_dispatch(struct gw_req *r)
{
	char allow[128];

	switch (router_match(r, r->method, r->url, allow, sizeof(allow))) {
	case ROUTER_NO_PATH:
		gw_respond_detail(r, MHD_HTTP_NOT_FOUND, "Not Found");
		return;
	case ROUTER_NO_METHOD:
		gw_respond_detail(r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
		if (r->resp != NULL)
			MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW, allow);
		return;
	case ROUTER_FOUND:
		break;
	}
	auth_client_addr(r);
	if (r->route->permission != ROUTE_PUBLIC &&
	    !((r->route->flags & ROUTE_F_LOOPBACK_OPEN) && auth_client_loopback(r))) {
		auth_middleware(r);   /* checks the session, then runs the handler */
		return;
	}
	if ((r->route->flags & ROUTE_F_COOKIE) && !auth_csrf_ok(r))
		return;
	r->route->handler(r);
}

/* A ROUTE_F_STREAM_BODY request after its first call.  The checks and the
 * handler run when the first piece (or the end) arrives, the piece left
 * unconsumed while the connection is suspended; then the sink takes the body
 * piece by piece, nothing buffered here.  MHD 0.9.75 accepts a response only
 * before the body or after all of it, so an answer set mid-body (401, 403,
 * 413 counted, a write error) waits while the rest is read and dropped, up to
 * GW_STREAM_DRAIN_MAX bytes; beyond that the connection is closed unanswered. */
#define GW_STREAM_DRAIN_MAX (16u << 20)

static enum MHD_Result
gw_http_stream(struct gw_req *r, const char *data, size_t *size)
{
	if (!r->dispatched) {
		r->dispatched = true;
		gw_http_dispatch(r);
		if (r->suspended)
			return MHD_YES;   /* MHD keeps the piece and calls again after resume */
	}
	if (r->suspended)
		r->suspended = false; /* resumed: the handler or sink->end has run */
	if (r->resp == NULL && r->sink == NULL)
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error");
	if (*size > 0) {
		if (r->resp != NULL) {  /* answered: drop the rest of the body */
			r->body_len += *size;
			*size = 0;
			return r->body_len <= GW_STREAM_DRAIN_MAX ? MHD_YES : MHD_NO;
		}
		if (r->sink->chunk(r, data, *size) != 0)
			r->body_len = 0;  /* the answer is set; drain from here */
		*size = 0;
		return MHD_YES;
	}
	if (r->resp == NULL && !r->body_ended) {
		r->body_ended = true;
		r->sink->end(r);
		if (r->suspended)
			return MHD_YES;
	}
	return gw_http_queue(r);
}

static enum MHD_Result
gw_http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct gw_http *h = cls;
	struct gw_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		const char *clen;

		r = xcalloc(1, sizeof(*r));
		r->conn = conn;
		r->gw = h->gw;
		r->method = method;
		r->url = url;
		r->start_us = time_mono_us();
		*con_cls = r;
		atomic_fetch_add(&h->requests, 1);
		atomic_fetch_add(&h->in_flight, 1);
		if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0) {
			/* only PUT routes stream their body today: the rest skip this match */
			char allow[8];

			if (router_match(r, method, url, allow, sizeof(allow)) == ROUTER_FOUND &&
			    (r->route->flags & ROUTE_F_STREAM_BODY))
				r->stream = true;
			r->route = NULL;  /* matched again (and fully) at dispatch */
			free(r->path_params_buf);
			r->path_params_buf = NULL;
		}
		clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (r->stream) {
			/* before the body is the one moment a refusal can go out at once */
			if (clen != NULL && h->gw->upload_max_bytes > 0 &&
			    strtoull(clen, NULL, 10) > h->gw->upload_max_bytes) {
				gw_respond_detail(r, MHD_HTTP_CONTENT_TOO_LARGE,
				    "Upload larger than KUBARR_UPLOAD_MAX_BYTES");
				return gw_http_queue(r);
			}
			return MHD_YES;
		}
		if (clen != NULL && strtoull(clen, NULL, 10) > h->lim.max_body_bytes) {
			gw_respond_detail(r, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large");
			return gw_http_queue(r);
		}
		/* Mark only: queueing on the first call makes MHD 0.9.75 close the connection. */
		return MHD_YES;
	}
	if (r->stream)
		return gw_http_stream(r, upload_data, upload_data_size);
	if (*upload_data_size > 0) {
		if (r->body_len + *upload_data_size > h->lim.max_body_bytes) {
			*upload_data_size = 0;
			gw_respond_detail(r, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large");
			return gw_http_queue(r);
		}
		r->body = xrealloc(r->body, r->body_len + *upload_data_size + 1);
		memcpy(r->body + r->body_len, upload_data, *upload_data_size);
		r->body_len += *upload_data_size;
		r->body[r->body_len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->suspended) {
		/* Resumed: the finish function has set the response. */
		r->suspended = false;
		return gw_http_queue(r);
	}
	gw_http_dispatch(r);
	if (r->suspended)
		return MHD_YES;
	return gw_http_queue(r);
}

static void
gw_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct gw_http *h = cls;
	struct gw_req *r = *con_cls;

	(void)conn;
	if (r == NULL)
		return;
	*con_cls = NULL;
	if (r->status >= 500)
		atomic_fetch_add(&h->errors_5xx, 1);
	if (h->lim.access_log && log_enabled(LOG_LEVEL_INFO)) {
		/* method, path, status, bytes, microseconds; never headers or cookies. */
		log_info("access %s %s %u %zu %lldus%s", r->method, r->url, r->status, r->resp_bytes,
		    (long long)(time_mono_us() - r->start_us),
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
	}
	if (r->sink != NULL)
		r->sink->release(r);
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	free(r->body);
	free(r->path_params_buf);
	auth_principal_free(&r->principal);
	free(r);
	atomic_fetch_sub(&h->in_flight, 1);
}

static void gw_http_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
gw_http_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_warnx("http: %s", buf);
}

int
gw_http_start(struct gw_http **h_r, struct gateway *gw, const char *host, unsigned port,
    const struct gw_http_limits *lim, char **err_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	struct gw_http *h;
	char portstr[16];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
	int rv;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rv = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		*err_r = xasprintf("cannot resolve %s: %s", host, gai_strerror(rv));
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = xcalloc(1, sizeof(*h));
	h->gw = gw;
	h->lim = *lim;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, gw_http_access, h,
	    MHD_OPTION_EXTERNAL_LOGGER, gw_http_log, h, /* first, so every message uses it */
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)lim->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)lim->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)lim->idle_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->max_header_bytes,
	    MHD_OPTION_NOTIFY_COMPLETED, gw_http_completed, h,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->mhd == NULL) {
		*err_r = xasprintf("cannot listen on %s:%u (in use, or not a local address?)", host,
		    port);
		free(h);
		return -1;
	}
	*h_r = h;
	return 0;
}

void
gw_http_stop(struct gw_http **hp, int64_t deadline_us)
{
	struct gw_http *h = *hp;
	MHD_socket fd;

	if (h == NULL)
		return;
	*hp = NULL;
	fd = MHD_quiesce_daemon(h->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	while (atomic_load(&h->in_flight) > 0 && time_mono_us() < deadline_us) {
		struct timespec ts = {.tv_nsec = 2000000};
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&h->in_flight) > 0)
		log_warnx("http: stopping with %lld requests unfinished",
		    (long long)atomic_load(&h->in_flight));
	MHD_stop_daemon(h->mhd);
	free(h);
}

void
gw_http_stats(const struct gw_http *h, int64_t *requests_r, int64_t *in_flight_r,
    int64_t *errors_5xx_r)
{
	*requests_r = atomic_load(&h->requests);
	*in_flight_r = atomic_load(&h->in_flight);
	*errors_5xx_r = atomic_load(&h->errors_5xx);
}
