/* notify_sink: loopback receivers for the notification tests.  An HTTP
 * server that answers 200, 500 or after a delay, and an SMTP sink (plain,
 * no TLS), each on 127.0.0.1 at a free port, recording every request. */
#ifndef KUBARR_TESTS_NOTIFY_SINK_H
#define KUBARR_TESTS_NOTIFY_SINK_H

#include <stdbool.h>

enum sink_mode { SINK_OK, SINK_500, SINK_SLOW, SINK_SMTP };

struct sink_req {
	char method[16];
	char path[512];      /* SMTP: the RCPT TO line */
	char headers[4096];  /* SMTP: the MAIL FROM line */
	char body[8192];
};

struct sink;
/* slow_ms: SINK_SLOW's delay before answering. */
struct sink *sink_start(enum sink_mode mode, int slow_ms);
/* The same on a given port (0: any). */
struct sink *sink_start_at(enum sink_mode mode, int slow_ms, int port);
int sink_port(const struct sink *s);
int sink_count(struct sink *s);
/* Waits until at least n requests arrived; false at the deadline. */
bool sink_wait(struct sink *s, int n, int timeout_ms);
/* A copy of request i (0-based; only the first 256 are kept). */
void sink_get(struct sink *s, int i, struct sink_req *out);
void sink_stop(struct sink **s);
/* A loopback port where nobody listens (bound then closed). */
int sink_dead_port(void);

#endif
