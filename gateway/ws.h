/* ws: server-push WebSockets (RFC 6455) on libmicrohttpd's upgrade API.
 *
 * A route handler calls gw_ws_accept(): it checks the handshake and answers
 * 101 with an upgrade response; once MHD has sent it, the socket joins the
 * hub.  One I/O thread (epoll) writes broadcast frames and reads what clients
 * send: Close is answered and the connection closed, Ping gets a Pong, text
 * and binary frames are ignored, anything malformed closes the connection.
 *
 * Bounded: a frame is rendered once and shared by every client (reference
 * counted); each client queues at most GW_WS_QUEUE frames behind a small
 * kernel send buffer (GW_WS_SNDBUF).  A client whose queue is full, or whose
 * oldest queued frame waited GW_WS_STALL_MS, is dropped: a slow reader is
 * never buffered without bound and never slows the others.  At most
 * GW_WS_MAX_CLIENTS connections (503 beyond). */
#ifndef KUBARR_GATEWAY_WS_H
#define KUBARR_GATEWAY_WS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define GW_WS_QUEUE 8
#define GW_WS_SNDBUF 16384
#define GW_WS_STALL_MS 5000
#define GW_WS_MAX_CLIENTS 256
#define GW_WS_MAX_IN 4096        /* largest client frame we accept (we ignore their content) */

struct gw_ws;

struct gw_ws_stats {
	int64_t clients, accepted, dropped_slow, closed, frames, bytes;
};

/* Starts the hub's I/O thread; NULL with a reason on failure. */
struct gw_ws *gw_ws_new(char **err_r);
/* Closes every connection (a Close frame first, best effort), stops the
 * thread; later upgrades are refused.  Call before the HTTP server stops. */
void gw_ws_shutdown(struct gw_ws *ws);
/* After the HTTP server stopped (no upgrade callback can run any more). */
void gw_ws_free(struct gw_ws **ws);
/* Handshake: sets r's response (101 + upgrade, or 400/426/503). */
void gw_ws_accept(struct gw_ws *ws, struct gw_req *r);
/* Optional: a message for each new client alone, queued before any broadcast
 * reaches it (e.g. the bootstrap WebSocket's initial_status).  fn returns a
 * malloc'd text or NULL; it runs under the hub's lock, so it must not call
 * back into the hub (render from the caller's state, then return). */
typedef char *(*gw_ws_welcome_fn)(void *arg);
void gw_ws_set_welcome(struct gw_ws *ws, gw_ws_welcome_fn fn, void *arg);
/* Queues one text message for every client (copied once). */
void gw_ws_broadcast(struct gw_ws *ws, const char *text, size_t len);
size_t gw_ws_clients(struct gw_ws *ws);
void gw_ws_get_stats(struct gw_ws *ws, struct gw_ws_stats *st);

/* Frame codec, exported for the tests. */
/* Writes a server frame header for a payload of len bytes; returns its size (2, 4 or 10). */
size_t gw_ws_frame_header(uint8_t *hdr, int opcode, uint64_t len);
/* Sec-WebSocket-Accept for a key (28 characters + NUL into out). */
int gw_ws_accept_key(const char *key, char out[29]);

#endif
