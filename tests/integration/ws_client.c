/* ws_client: see ws_client.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ws_client.h"

int
ws_client_open(struct harness *h, const char *path, const char *cookie, int rcvbuf, char *head,
    size_t headlen)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	    .sin_port = htons((uint16_t)harness_http_port(h))};
	struct timeval tv = {.tv_sec = 5};
	char req[6000];
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(headlen > 16);
	if (rcvbuf > 0)   /* before connect, so the window stays small */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n", path, cookie ? "Cookie: " : "",
	    cookie ? cookie : "", cookie ? "\r\n" : "");
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	/* read the head byte by byte: what follows is frames */
	while (n < headlen - 1 && (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0)) {
		if (read(fd, head + n, 1) != 1)
			break;
		n++;
	}
	head[n] = '\0';
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		close(fd);
		return -1;
	}
	assert_non_null(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
	return fd;
}

static int
ws_client_read_full(int fd, uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = read(fd, buf + n, len - n);

		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	return 0;
}

int
ws_client_read_frame(int fd, int *op_r, char **payload_r, size_t *len_r)
{
	uint8_t h[10];
	uint64_t len;

	if (ws_client_read_full(fd, h, 2) != 0)
		return -1;
	assert_int_equal(h[1] & 0x80, 0);   /* server frames are never masked */
	assert_true(h[0] & 0x80);           /* FIN: we never fragment */
	len = h[1] & 0x7f;
	if (len == 126) {
		if (ws_client_read_full(fd, h + 2, 2) != 0)
			return -1;
		len = ((uint64_t)h[2] << 8) | h[3];
	} else if (len == 127) {
		if (ws_client_read_full(fd, h + 2, 8) != 0)
			return -1;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | h[2 + i];
	}
	assert_true(len < 16 * 1024 * 1024);
	*payload_r = malloc(len + 1);
	assert_non_null(*payload_r);
	if (ws_client_read_full(fd, (uint8_t *)*payload_r, len) != 0) {
		free(*payload_r);
		*payload_r = NULL;
		return -1;
	}
	(*payload_r)[len] = '\0';
	*op_r = h[0] & 0x0f;
	*len_r = len;
	return 0;
}

void
ws_client_send(int fd, int op, const char *payload, size_t len)
{
	uint8_t f[200];
	const uint8_t mask[4] = {1, 2, 3, 4};

	assert_true(len <= 125);
	f[0] = (uint8_t)(0x80 | op);
	f[1] = (uint8_t)(0x80 | len);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = (uint8_t)payload[i] ^ mask[i % 4];
	assert_int_equal(write(fd, f, 6 + len), (ssize_t)(6 + len));
}
