/* ws_client: a WebSocket client on a raw socket for the integration tests
 * (the same wire steps as test_metricsd_http.c's, with the path, cookies and
 * the expected status as parameters).  Call from a cmocka test only. */
#ifndef KUBARR_TESTS_WS_CLIENT_H
#define KUBARR_TESTS_WS_CLIENT_H

#include <stddef.h>

#include "harness.h"

/* Sends the handshake for `path` (cookie: a Cookie header value or NULL) and
 * reads the response head into head (NUL-terminated).  101: returns the
 * socket, ready for frames (5 s receive timeout).  Anything else: closes it
 * and returns -1; head holds the status line and headers. */
int ws_client_open(struct harness *h, const char *path, const char *cookie, int rcvbuf,
    char *head, size_t headlen);
/* One frame: its opcode, payload NUL-terminated in a malloc'd *payload_r.  -1 on
 * EOF or timeout. */
int ws_client_read_frame(int fd, int *op_r, char **payload_r, size_t *len_r);
/* A masked client frame (payload <= 125 bytes). */
void ws_client_send(int fd, int op, const char *payload, size_t len);

#endif
