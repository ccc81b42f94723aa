/* notify_sink: see notify_sink.h.  One thread per sink serving one
 * connection at a time (enough for the tests). */
#include "notify_sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SINK_MAX 256

struct sink {
	enum sink_mode mode;
	int slow_ms, fd, port;
	atomic_bool stop;
	pthread_t thread;
	pthread_mutex_t lock;
	struct sink_req *reqs;
	int n;                     /* requests received (the first SINK_MAX kept) */
};

static void
sink_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
sink_write(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* Reads into buf (NUL-terminated) until needle appears past from; -1 on EOF. */
static int
sink_read_until(int fd, char *buf, size_t cap, size_t *len, size_t from, const char *needle)
{
	while (strstr(buf + from, needle) == NULL) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t k;

		if (*len + 1 >= cap || poll(&p, 1, 5000) <= 0)
			return -1;
		if ((k = recv(fd, buf + *len, cap - *len - 1, 0)) <= 0)
			return -1;
		*len += (size_t)k;
		buf[*len] = '\0';
	}
	return 0;
}

static void
sink_record(struct sink *s, const struct sink_req *r)
{
	pthread_mutex_lock(&s->lock);
	if (s->n < SINK_MAX)
		s->reqs[s->n] = *r;
	s->n++;
	pthread_mutex_unlock(&s->lock);
}

static void
sink_http(struct sink *s, int fd)
{
	char buf[65536];
	struct sink_req r;
	size_t len = 0, hlen, clen = 0;
	char *e, *cl;

	memset(&r, 0, sizeof(r));
	buf[0] = '\0';
	if (sink_read_until(fd, buf, sizeof(buf), &len, 0, "\r\n\r\n") != 0)
		return;
	e = strstr(buf, "\r\n\r\n");
	hlen = (size_t)(e - buf) + 4;
	*e = '\0';
	for (cl = buf; (cl = strchr(cl, '\n')) != NULL;) {
		cl++;
		if (strncasecmp(cl, "Content-Length:", 15) == 0)
			clen = strtoul(cl + 15, NULL, 10);
	}
	sscanf(buf, "%15s %511s", r.method, r.path);
	{
		size_t hn = strnlen(buf, sizeof(r.headers) - 1);   /* the head, cut to fit */

		memcpy(r.headers, buf, hn);
		r.headers[hn] = '\0';
	}
	*e = '\r';
	while (len < hlen + clen) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t k;

		if (len + 1 >= sizeof(buf) || poll(&p, 1, 5000) <= 0 ||
		    (k = recv(fd, buf + len, sizeof(buf) - len - 1, 0)) <= 0)
			return;
		len += (size_t)k;
	}
	snprintf(r.body, sizeof(r.body), "%.*s", (int)clen, buf + hlen);
	sink_record(s, &r);
	if (s->mode == SINK_SLOW)
		sink_sleep_ms(s->slow_ms);
	sink_write(fd, s->mode == SINK_500 ?
	    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfail" :
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

static void
sink_smtp(struct sink *s, int fd)
{
	char buf[65536];
	struct sink_req r;
	size_t len = 0, pos = 0;

	memset(&r, 0, sizeof(r));
	buf[0] = '\0';
	snprintf(r.method, sizeof(r.method), "SMTP");
	sink_write(fd, "220 sink ESMTP\r\n");
	for (;;) {
		char *line = buf + pos, *e;

		if (sink_read_until(fd, buf, sizeof(buf), &len, pos, "\r\n") != 0)
			return;
		e = strstr(line, "\r\n");
		*e = '\0';
		pos = (size_t)(e - buf) + 2;
		if (strncasecmp(line, "EHLO", 4) == 0)
			sink_write(fd, "250-sink\r\n250 8BITMIME\r\n");
		else if (strncasecmp(line, "HELO", 4) == 0)
			sink_write(fd, "250 sink\r\n");
		else if (strncasecmp(line, "MAIL FROM", 9) == 0) {
			snprintf(r.headers, sizeof(r.headers), "%s", line);
			sink_write(fd, "250 OK\r\n");
		} else if (strncasecmp(line, "RCPT TO", 7) == 0) {
			snprintf(r.path, sizeof(r.path), "%s", line);
			sink_write(fd, "250 OK\r\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			char *end;

			sink_write(fd, "354 go ahead\r\n");
			if (sink_read_until(fd, buf, sizeof(buf), &len, pos, "\r\n.\r\n") != 0)
				return;
			end = strstr(buf + pos, "\r\n.\r\n");
			snprintf(r.body, sizeof(r.body), "%.*s", (int)(end - (buf + pos)), buf + pos);
			pos = (size_t)(end - buf) + 5;
			sink_record(s, &r);
			sink_write(fd, "250 OK queued\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			sink_write(fd, "221 bye\r\n");
			return;
		} else
			sink_write(fd, "250 OK\r\n");
	}
}

static void *
sink_main(void *arg)
{
	struct sink *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {s->fd, POLLIN, 0};
		int c;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((c = accept(s->fd, NULL, NULL)) < 0)
			continue;
		if (s->mode == SINK_SMTP)
			sink_smtp(s, c);
		else
			sink_http(s, c);
		close(c);
	}
	return NULL;
}

static int
sink_listen(int *port_r)
{
	int want = *port_r;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)want);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	*port_r = ntohs(a.sin_port);
	return fd;
}

struct sink *
sink_start(enum sink_mode mode, int slow_ms)
{
	return sink_start_at(mode, slow_ms, 0);
}

struct sink *
sink_start_at(enum sink_mode mode, int slow_ms, int port)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->mode = mode;
	s->slow_ms = slow_ms;
	s->port = port;
	s->reqs = calloc(SINK_MAX, sizeof(*s->reqs));
	if (s->reqs == NULL || (s->fd = sink_listen(&s->port)) < 0) {
		free(s->reqs);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
		close(s->fd);
		free(s->reqs);
		free(s);
		return NULL;
	}
	return s;
}

int
sink_port(const struct sink *s)
{
	return s->port;
}

int
sink_count(struct sink *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool
sink_wait(struct sink *s, int n, int timeout_ms)
{
	for (int waited = 0; sink_count(s) < n; waited += 20) {
		if (waited >= timeout_ms)
			return false;
		sink_sleep_ms(20);
	}
	return true;
}

void
sink_get(struct sink *s, int i, struct sink_req *out)
{
	pthread_mutex_lock(&s->lock);
	if (i >= 0 && i < s->n && i < SINK_MAX)
		*out = s->reqs[i];
	else
		memset(out, 0, sizeof(*out));
	pthread_mutex_unlock(&s->lock);
}

void
sink_stop(struct sink **sp)
{
	struct sink *s = *sp;

	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->reqs);
	free(s);
	*sp = NULL;
}

int
sink_dead_port(void)
{
	int port = 0, fd = sink_listen(&port);

	if (fd < 0)
		return 0;
	close(fd);
	return port;
}
