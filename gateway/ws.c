#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define GW_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { WS_OP_CONT = 0, WS_OP_TEXT = 1, WS_OP_BIN = 2, WS_OP_CLOSE = 8, WS_OP_PING = 9,
	WS_OP_PONG = 10 };

/* A frame shared by every client it was queued for. */
struct gw_ws_frame {
	atomic_int refs;
	size_t len;
	uint8_t data[];
};

struct gw_ws_client {
	struct gw_ws_client *next;
	int fd;
	struct MHD_UpgradeResponseHandle *urh;
	struct gw_ws_frame *q[GW_WS_QUEUE];
	int64_t q_ms[GW_WS_QUEUE];         /* when each was queued (monotonic ms) */
	unsigned qhead, qlen;
	size_t off;                        /* bytes of q[qhead] already sent */
	bool want_out;                     /* EPOLLOUT registered */
	bool dead;
	const char *why;
	uint8_t in[GW_WS_MAX_IN + 14];
	size_t inlen;
};

struct gw_ws {
	pthread_mutex_t lock;
	struct gw_ws_client *clients;
	size_t nclients;
	int epfd, evfd;
	pthread_t thread;
	bool running, closed;
	gw_ws_welcome_fn welcome;          /* see gw_ws_set_welcome */
	void *welcome_arg;
	atomic_llong accepted, dropped_slow, closed_count, frames, bytes;
};

/* ---- frames ----------------------------------------------------------------- */

size_t
gw_ws_frame_header(uint8_t *hdr, int opcode, uint64_t len)
{
	hdr[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		hdr[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

static struct gw_ws_frame *
gw_ws_frame_new(int opcode, const void *payload, size_t len)
{
	uint8_t hdr[10];
	size_t h = gw_ws_frame_header(hdr, opcode, len);
	struct gw_ws_frame *f = xmalloc(sizeof(*f) + h + len);

	atomic_init(&f->refs, 1);
	memcpy(f->data, hdr, h);
	if (len > 0)
		memcpy(f->data + h, payload, len);
	f->len = h + len;
	return f;
}

static void
gw_ws_frame_unref(struct gw_ws_frame *f)
{
	if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
		free(f);
}

int
gw_ws_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *cat = xasprintf("%s%s", key, GW_WS_GUID);
	int ok = EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL);

	free(cat);
	if (!ok || mdlen != 20)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, md, 20) == 28 ? 0 : -1;
}

/* ---- clients (lock held) ---------------------------------------------------- */

static void
gw_ws_client_push(struct gw_ws *ws, struct gw_ws_client *c, struct gw_ws_frame *f)
{
	(void)ws;
	if (c->dead)
		return;
	if (c->qlen == GW_WS_QUEUE) {
		c->dead = true;
		c->why = "slow reader (queue full)";
		atomic_fetch_add(&ws->dropped_slow, 1);
		return;
	}
	atomic_fetch_add(&f->refs, 1);
	c->q[(c->qhead + c->qlen) % GW_WS_QUEUE] = f;
	c->q_ms[(c->qhead + c->qlen) % GW_WS_QUEUE] = time_mono_us() / 1000;
	c->qlen++;
}

static void
gw_ws_client_flush(struct gw_ws *ws, struct gw_ws_client *c)
{
	while (!c->dead && c->qlen > 0) {
		struct gw_ws_frame *f = c->q[c->qhead];
		ssize_t n = send(c->fd, f->data + c->off, f->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			c->dead = true;
			c->why = "send failed";
			return;
		}
		atomic_fetch_add(&ws->bytes, n);
		c->off += (size_t)n;
		if (c->off == f->len) {
			gw_ws_frame_unref(f);
			c->q[c->qhead] = NULL;
			c->qhead = (c->qhead + 1) % GW_WS_QUEUE;
			c->qlen--;
			c->off = 0;
			atomic_fetch_add(&ws->frames, 1);
		}
	}
	if (!c->dead && c->qlen > 0 && time_mono_us() / 1000 - c->q_ms[c->qhead] > GW_WS_STALL_MS) {
		c->dead = true;
		c->why = "slow reader (stalled)";
		atomic_fetch_add(&ws->dropped_slow, 1);
		return;
	}
	if (!c->dead && (c->qlen > 0) != c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN | (c->qlen > 0 ? EPOLLOUT : 0), .data.ptr = c};

		c->want_out = c->qlen > 0;
		epoll_ctl(ws->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

/* Unlinks dead clients (lock held) and returns them: they are closed with
 * gw_ws_close_list() once the lock is released (MHD takes its own locks). */
static struct gw_ws_client *
gw_ws_reap(struct gw_ws *ws)
{
	struct gw_ws_client **pp = &ws->clients, *dead = NULL;

	while (*pp != NULL) {
		struct gw_ws_client *c = *pp;

		if (c->dead) {
			*pp = c->next;
			ws->nclients--;
			epoll_ctl(ws->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->next = dead;
			dead = c;
		} else {
			pp = &c->next;
		}
	}
	return dead;
}

static void
gw_ws_close_list(struct gw_ws *ws, struct gw_ws_client *c)
{
	while (c != NULL) {
		struct gw_ws_client *next = c->next;

		for (unsigned i = 0; i < c->qlen; i++)
			gw_ws_frame_unref(c->q[(c->qhead + i) % GW_WS_QUEUE]);
		log_info("ws: connection closed (%s)", c->why ? c->why : "closed");
		MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
		atomic_fetch_add(&ws->closed_count, 1);
		free(c);
		c = next;
	}
}

/* Sends a control frame at once, bypassing the queue (best effort). */
static void
gw_ws_send_control(struct gw_ws_client *c, int opcode, const uint8_t *payload, size_t len)
{
	uint8_t buf[2 + 125];

	if (len > 125 || (c->qlen > 0 && c->off > 0))
		return;   /* never inside a data frame being sent */
	gw_ws_frame_header(buf, opcode, len);
	memcpy(buf + 2, payload, len);
	(void)send(c->fd, buf, 2 + len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Parses what the client sent: returns false when the connection must close. */
static bool
gw_ws_client_input(struct gw_ws_client *c)
{
	for (;;) {
		uint8_t *p = c->in;
		uint64_t len;
		size_t h = 2;
		int op;

		if (c->inlen < 2)
			return true;
		op = p[0] & 0x0f;
		if ((p[1] & 0x80) == 0) {
			c->why = "unmasked client frame";
			return false;
		}
		len = p[1] & 0x7f;
		if (len == 126) {
			if (c->inlen < 4)
				return true;
			len = ((uint64_t)p[2] << 8) | p[3];
			h = 4;
		} else if (len == 127) {
			if (c->inlen < 10)
				return true;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | p[2 + i];
			h = 10;
		}
		if (len > GW_WS_MAX_IN || ((op & 0x08) && len > 125)) {
			c->why = "client frame too large";
			return false;
		}
		if (c->inlen < h + 4 + len)
			return true;
		uint8_t *mask = p + h, *data = p + h + 4;
		for (uint64_t i = 0; i < len; i++)
			data[i] ^= mask[i % 4];
		switch (op) {
		case WS_OP_CLOSE:
			gw_ws_send_control(c, WS_OP_CLOSE, data, len >= 2 ? 2 : 0);
			c->why = "client closed";
			return false;
		case WS_OP_PING:
			gw_ws_send_control(c, WS_OP_PONG, data, (size_t)len);
			break;
		case WS_OP_PONG:
		case WS_OP_TEXT:
		case WS_OP_BIN:
		case WS_OP_CONT:
			break;   /* the API ignores incoming frames */
		default:
			c->why = "unknown opcode";
			return false;
		}
		memmove(c->in, c->in + h + 4 + len, c->inlen - (h + 4 + len));
		c->inlen -= h + 4 + (size_t)len;
	}
}

static void
gw_ws_client_read(struct gw_ws_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);

		if (n == 0) {
			c->dead = true;
			c->why = "peer closed";
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				c->dead = true;
				c->why = "recv failed";
			}
			return;
		}
		c->inlen += (size_t)n;
		if (!gw_ws_client_input(c)) {
			c->dead = true;
			return;
		}
		if (c->inlen == sizeof(c->in)) {
			c->dead = true;
			c->why = "client frame too large";
			return;
		}
	}
}

/* ---- the I/O thread ----------------------------------------------------------- */

static void *
gw_ws_thread(void *arg)
{
	struct gw_ws *ws = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(ws->epfd, evs, 64, 1000);
		struct gw_ws_client *dead;
		bool stop;

		pthread_mutex_lock(&ws->lock);
		stop = !ws->running;
		for (int i = 0; i < n && !stop; i++) {
			struct gw_ws_client *c = evs[i].data.ptr;
			uint64_t v;

			if (c == NULL) {
				(void)!read(ws->evfd, &v, sizeof(v));
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				gw_ws_client_read(c);
		}
		/* write what is queued, check for stalls, drop the dead */
		for (struct gw_ws_client *c = ws->clients; c != NULL && !stop; c = c->next)
			gw_ws_client_flush(ws, c);
		dead = gw_ws_reap(ws);
		pthread_mutex_unlock(&ws->lock);
		gw_ws_close_list(ws, dead);
		if (stop)
			return NULL;
	}
}

struct gw_ws *
gw_ws_new(char **err_r)
{
	struct gw_ws *ws = xcalloc(1, sizeof(*ws));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	pthread_mutex_init(&ws->lock, NULL);
	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	ws->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ws->epfd < 0 || ws->evfd < 0 || epoll_ctl(ws->epfd, EPOLL_CTL_ADD, ws->evfd, &ev) != 0) {
		*err_r = xasprintf("ws: epoll/eventfd: %s", strerror(errno));
		goto fail;
	}
	ws->running = true;
	if (pthread_create(&ws->thread, NULL, gw_ws_thread, ws) != 0) {
		*err_r = xstrdup("ws: cannot start the I/O thread");
		ws->running = false;
		goto fail;
	}
	return ws;
fail:
	if (ws->epfd >= 0)
		close(ws->epfd);
	if (ws->evfd >= 0)
		close(ws->evfd);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
	return NULL;
}

static void
gw_ws_wake(struct gw_ws *ws)
{
	uint64_t one = 1;

	(void)!write(ws->evfd, &one, sizeof(one));
}

void
gw_ws_shutdown(struct gw_ws *ws)
{
	static const uint8_t going_away[2] = {0x03, 0xe9}; /* 1001 */
	struct gw_ws_client *dead;
	bool was_running;

	if (ws == NULL)
		return;
	pthread_mutex_lock(&ws->lock);
	was_running = ws->running;
	ws->running = false;
	ws->closed = true;
	pthread_mutex_unlock(&ws->lock);
	if (was_running) {
		gw_ws_wake(ws);
		pthread_join(ws->thread, NULL);
	}
	pthread_mutex_lock(&ws->lock);
	for (struct gw_ws_client *c = ws->clients; c != NULL; c = c->next) {
		gw_ws_send_control(c, WS_OP_CLOSE, going_away, 2);
		c->dead = true;
		c->why = "server shutting down";
	}
	dead = gw_ws_reap(ws);
	pthread_mutex_unlock(&ws->lock);
	gw_ws_close_list(ws, dead);
}

void
gw_ws_free(struct gw_ws **wsp)
{
	struct gw_ws *ws = *wsp;

	if (ws == NULL)
		return;
	*wsp = NULL;
	gw_ws_shutdown(ws);
	close(ws->epfd);
	close(ws->evfd);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
}

/* MHD calls this once the 101 is on the wire: the socket is ours. */
static void
gw_ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
    size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct gw_ws *ws = cls;
	struct gw_ws_client *c;
	struct epoll_event ev = {.events = EPOLLIN};
	int sndbuf = GW_WS_SNDBUF, fl;
	bool welcomed;

	(void)conn;
	(void)con_cls;
	pthread_mutex_lock(&ws->lock);
	if (ws->closed || ws->nclients >= GW_WS_MAX_CLIENTS) {
		pthread_mutex_unlock(&ws->lock);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = sock;
	c->urh = urh;
	if ((fl = fcntl(sock, F_GETFL)) >= 0)
		fcntl(sock, F_SETFL, fl | O_NONBLOCK);
	/* a small kernel buffer: a stalled reader shows up in our queue quickly */
	setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (extra_in_size > 0 && extra_in_size <= sizeof(c->in)) {
		memcpy(c->in, extra_in, extra_in_size);
		c->inlen = extra_in_size;
		if (!gw_ws_client_input(c))
			c->dead = true;
	}
	ev.data.ptr = c;
	if (c->dead || epoll_ctl(ws->epfd, EPOLL_CTL_ADD, sock, &ev) != 0) {
		pthread_mutex_unlock(&ws->lock);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(c);
		return;
	}
	c->next = ws->clients;
	ws->clients = c;
	ws->nclients++;
	atomic_fetch_add(&ws->accepted, 1);
	welcomed = ws->welcome != NULL;
	if (welcomed) {
		/* under the lock: no broadcast can reach c before its welcome */
		char *text = ws->welcome(ws->welcome_arg);

		if (text != NULL) {
			struct gw_ws_frame *f = gw_ws_frame_new(WS_OP_TEXT, text, strlen(text));

			gw_ws_client_push(ws, c, f);
			gw_ws_frame_unref(f);
			free(text);
		}
	}
	pthread_mutex_unlock(&ws->lock);
	if (welcomed)
		gw_ws_wake(ws);
	log_info("ws: connection opened (%zu subscribers)", ws->nclients);
}

static bool
gw_ws_header_has(struct MHD_Connection *conn, const char *name, const char *token)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
	size_t tl = strlen(token);

	while (v != NULL && *v != '\0') {
		while (*v == ' ' || *v == ',' || *v == '\t')
			v++;
		size_t n = strcspn(v, ",");
		size_t m = n;

		while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
			m--;
		if (m == tl && strncasecmp(v, token, tl) == 0)
			return true;
		v += n;
	}
	return false;
}

void
gw_ws_accept(struct gw_ws *ws, struct gw_req *r)
{
	const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Key");
	const char *ver = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Version");
	struct MHD_Response *resp;
	char accept[29];
	bool full;

	if (strcmp(r->method, "GET") != 0 || !gw_ws_header_has(r->conn, "Upgrade", "websocket") ||
	    !gw_ws_header_has(r->conn, "Connection", "upgrade") || key == NULL ||
	    strlen(key) != 24) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "WebSocket handshake expected");
		return;
	}
	if (ver == NULL || strcmp(ver, "13") != 0) {
		gw_respond_detail(r, MHD_HTTP_UPGRADE_REQUIRED, "WebSocket version 13 required");
		if (r->resp != NULL)
			MHD_add_response_header(r->resp, "Sec-WebSocket-Version", "13");
		return;
	}
	pthread_mutex_lock(&ws->lock);
	full = ws->closed || ws->nclients >= GW_WS_MAX_CLIENTS;
	pthread_mutex_unlock(&ws->lock);
	if (full) {
		gw_respond_unavailable(r, "too many WebSocket subscribers", NULL);
		return;
	}
	if (gw_ws_accept_key(key, accept) != 0 ||
	    (resp = MHD_create_response_for_upgrade(gw_ws_upgraded, ws)) == NULL) {
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	gw_respond(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp, 0);
}

void
gw_ws_set_welcome(struct gw_ws *ws, gw_ws_welcome_fn fn, void *arg)
{
	pthread_mutex_lock(&ws->lock);
	ws->welcome = fn;
	ws->welcome_arg = arg;
	pthread_mutex_unlock(&ws->lock);
}

void
gw_ws_broadcast(struct gw_ws *ws, const char *text, size_t len)
{
	struct gw_ws_frame *f;

	pthread_mutex_lock(&ws->lock);
	if (ws->nclients == 0 || ws->closed) {
		pthread_mutex_unlock(&ws->lock);
		return;
	}
	pthread_mutex_unlock(&ws->lock);
	f = gw_ws_frame_new(WS_OP_TEXT, text, len);   /* outside the lock: it may be large */
	pthread_mutex_lock(&ws->lock);
	for (struct gw_ws_client *c = ws->clients; c != NULL; c = c->next)
		gw_ws_client_push(ws, c, f);
	pthread_mutex_unlock(&ws->lock);
	gw_ws_frame_unref(f);
	gw_ws_wake(ws);
}

size_t
gw_ws_clients(struct gw_ws *ws)
{
	size_t n;

	pthread_mutex_lock(&ws->lock);
	n = ws->nclients;
	pthread_mutex_unlock(&ws->lock);
	return n;
}

void
gw_ws_get_stats(struct gw_ws *ws, struct gw_ws_stats *st)
{
	st->clients = (int64_t)gw_ws_clients(ws);
	st->accepted = atomic_load(&ws->accepted);
	st->dropped_slow = atomic_load(&ws->dropped_slow);
	st->closed = atomic_load(&ws->closed_count);
	st->frames = atomic_load(&ws->frames);
	st->bytes = atomic_load(&ws->bytes);
}
