/* ipc: nng req/rep and pub/sub over Unix sockets, knowing nothing of the
 * messages they carry (proto/ does).
 *
 * Server: a rep0 socket with N contexts, each receiving one request at a time;
 * the handler runs on an nng callback thread and answers with ipc_call_reply,
 * then or later from any thread.  Peers whose uid is neither ours nor root are
 * refused before their first message.  Sockets are created 0660.
 *
 * Client: a req0 socket dialled in the background (so start order does not
 * matter; redial every 10..100 ms).
 * Peers are admitted when they run as our uid, as root, or in our group.  Every call has a deadline; when no peer is
 * connected a call fails at once with IPC_DOWN instead of waiting.  The
 * callback may run on the caller's thread (IPC_DOWN) or an nng thread. */
#ifndef KUBARR_IPC_H
#define KUBARR_IPC_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>

enum ipc_status {
	IPC_OK = 0,
	IPC_DOWN,    /* no peer connected, or the connection dropped mid-call */
	IPC_TIMEOUT, /* deadline passed */
	IPC_BUSY,    /* too many calls in flight from this client */
	IPC_ERROR,   /* anything else (closing, no memory) */
};
const char *ipc_status_name(enum ipc_status st);

struct ipc_server;
struct ipc_call;
typedef void (*ipc_handler_fn)(void *arg, struct ipc_call *call, nng_msg *req);

int ipc_server_open(struct ipc_server **srv_r, const char *url, int workers, ipc_handler_fn fn,
    void *arg, char **err_r);
/* The uid of the process that sent a received request: 0, or -1 if unknown. */
int ipc_msg_peer_uid(nng_msg *msg, uint64_t *uid_r);
/* Sends the reply and takes ownership of rep. */
void ipc_call_reply(struct ipc_call *call, nng_msg *rep);
/* Stop accepting connections and wait for the calls in flight (until
 * deadline_us); requests still arriving on open connections see
 * ipc_server_draining() true.  Everything else keeps running. */
void ipc_server_drain(struct ipc_server *srv, int64_t deadline_us);
bool ipc_server_draining(const struct ipc_server *srv);
/* Drain, then close: no reply may be sent after this. */
void ipc_server_close(struct ipc_server **srv, int64_t deadline_us);
uint64_t ipc_server_served(const struct ipc_server *srv);
uint64_t ipc_server_refused_peers(const struct ipc_server *srv);
/* Times the listener was found stalled and opened again (see ipc.c). */
uint64_t ipc_server_relistens(const struct ipc_server *srv);

struct ipc_client;
typedef void (*ipc_reply_fn)(void *arg, enum ipc_status st, nng_msg *rep);

int ipc_client_open(struct ipc_client **c_r, const char *url, unsigned max_inflight, char **err_r);
/* Takes ownership of req; cb owns rep (NULL unless IPC_OK). */
void ipc_client_call(struct ipc_client *c, nng_msg *req, int timeout_ms, ipc_reply_fn cb, void *arg);
/* Blocking form, for threads that may block (never an HTTP callback). */
enum ipc_status ipc_client_call_sync(struct ipc_client *c, nng_msg *req, int timeout_ms,
    nng_msg **rep_r);
bool ipc_client_connected(const struct ipc_client *c);
/* Dialers re-created after staying disconnected (see ipc.c), process-wide. */
uint64_t ipc_redial_count(void);
/* At process exit, after every socket is closed: stops the dialer monitor
 * and releases nng (nng_fini). */
void ipc_fini(void);
/* Sanitizer builds: runs LeakSanitizer's check now, while every nng socket
 * is still open, and turns off the check at exit (see ipc.c); a no-op
 * otherwise.  Daemons call it as their shutdown begins. */
void ipc_leak_check(void);
/* Waits (polling) until no call of c is in flight, or deadline_us passes:
 * before close, so that fire-and-forget calls (audit) get their answers. */
void ipc_client_drain(struct ipc_client *c, int64_t deadline_us);
void ipc_client_close(struct ipc_client **c);

/* Publisher: never blocks; a subscriber that falls behind loses messages. */
struct ipc_pub;
int ipc_pub_open(struct ipc_pub **p_r, const char *url, char **err_r);
void ipc_pub_send(struct ipc_pub *p, nng_msg *msg);
void ipc_pub_close(struct ipc_pub **p);

struct ipc_sub;
typedef void (*ipc_msg_fn)(void *arg, nng_msg *msg);
int ipc_sub_open(struct ipc_sub **s_r, const char *url, ipc_msg_fn fn, void *arg, char **err_r);
void ipc_sub_close(struct ipc_sub **s);

#endif
