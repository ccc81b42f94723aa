/* notify_send: storaged's notification sender (issue 6).
 *
 * One thread with its own read-only connection.  When the outbox has due rows
 * it leases them through a writer task (the outbox logic of ops_notify_emit.c:
 * a sender that dies mid-delivery has them retried after the lease, so
 * delivery is at-least-once), reads each channel's clear config, delivers the
 * batch in parallel through one libcurl multi handle (every transfer bounded
 * by CURLOPT_TIMEOUT_MS and CURLOPT_CONNECTTIMEOUT_MS), and records every
 * attempt through a second writer task (OUTBOX_RESULT's logic: sent, retrying
 * with a capped, jittered exponential backoff, or failed after max_attempts),
 * which logs it with the recipient masked.  The writer never waits on the
 * network. */
#ifndef KUBARR_STORAGED_NOTIFY_SEND_H
#define KUBARR_STORAGED_NOTIFY_SEND_H

#include "db.h"

struct writer;

struct notify_send_config {
	unsigned max_attempts;     /* give up after this many failed attempts */
	unsigned poll_ms;          /* how often the outbox is checked */
	unsigned timeout_ms;       /* whole transfer */
	unsigned backoff_base_ms;  /* first retry delay; doubles per attempt */
	unsigned backoff_max_ms;   /* cap */
	const char *telegram_url, *messagebird_url, *ntfy_url, *gotify_url;
};

struct notify_send;
int notify_send_start(struct notify_send **s_r, struct writer *w, const struct db_config *dbc,
    const struct notify_send_config *cfg, char **err_r);
/* Sends a test message to destination on the channel now, on the caller's
 * thread (a reader's, c its connection), bounded by the timeouts: 0, or -1
 * with *err_r (malloc'd) saying why. */
int notify_send_test(struct notify_send *s, struct db_conn *c, const char *channel_type,
    const char *destination, char **err_r);
/* Finishes the batch in flight (bounded by the timeouts), joins the thread. */
void notify_send_stop(struct notify_send **s);

#endif
