/* touch: last_accessed_at without a write per request.  A session is noted at
 * most once per interval (the principal remembers when), and the tick sends
 * every noted session in one SESSION_TOUCH: one write per interval in all. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#define TOUCH_MAX 8192   /* more sessions than this in one interval wait for the next */

struct touch_item {
	char sid[TOKEN_SID_LEN + 1];
	char at[TIME_RFC3339_LEN];
};

struct touch {
	pthread_mutex_t lock;
	int64_t interval_ms, last_flush_ms;
	struct touch_item *items;
	size_t n;
	atomic_ullong sent, dropped;
};

int
touch_open(struct touch **t_r, int64_t interval_ms)
{
	struct touch *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	t->interval_ms = interval_ms;
	t->items = xcalloc(TOUCH_MAX, sizeof(*t->items));
	*t_r = t;
	return 0;
}

void
touch_note(struct touch *t, struct principal *p, int64_t now_ms)
{
	int64_t last = atomic_load(&p->last_touch_ms);

	if (now_ms - last < t->interval_ms ||
	    !atomic_compare_exchange_strong(&p->last_touch_ms, &last, now_ms))
		return;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->items[i].sid, p->sid) == 0) {
			time_format_rfc3339(now_ms, t->items[i].at);
			pthread_mutex_unlock(&t->lock);
			return;
		}
	if (t->n < TOUCH_MAX) {
		memcpy(t->items[t->n].sid, p->sid, sizeof(p->sid));
		time_format_rfc3339(now_ms, t->items[t->n].at);
		t->n++;
	} else {
		atomic_fetch_add(&t->dropped, 1);
	}
	pthread_mutex_unlock(&t->lock);
}

static void
touch_done(void *arg, enum proto_status st, const struct proto_session_touch_rep *rep,
    const char *detail)
{
	(void)arg;
	(void)rep;
	if (st != PROTO_OK)
		log_warnx("touch: last_accessed_at not saved: %s (%s)", proto_status_name(st),
		    detail != NULL ? detail : "");
}

void
touch_flush(struct touch *t, struct ipc_client *storaged, int timeout_ms, int64_t now_ms,
    bool force)
{
	struct proto_rec_touch_item *v;
	struct touch_item *copy;
	struct proto_session_touch_req req;
	size_t n;

	pthread_mutex_lock(&t->lock);
	if (t->n == 0 || (!force && now_ms - t->last_flush_ms < t->interval_ms)) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	n = t->n;
	copy = xmalloc(n * sizeof(*copy));
	memcpy(copy, t->items, n * sizeof(*copy));
	t->n = 0;
	t->last_flush_ms = now_ms;
	pthread_mutex_unlock(&t->lock);
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].id = copy[i].sid;
		v[i].last_accessed_at = copy[i].at;
	}
	memset(&req, 0, sizeof(req));
	req.items.v = v;
	req.items.n = n;
	/* the request is encoded before the call returns: the copies may go */
	proto_session_touch_call(storaged, &req, timeout_ms, touch_done, t);
	atomic_fetch_add(&t->sent, n);
	free(v);
	free(copy);
}

uint64_t
touch_sent(struct touch *t)
{
	return atomic_load(&t->sent);
}

void
touch_close(struct touch **tp)
{
	struct touch *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	pthread_mutex_destroy(&t->lock);
	free(t->items);
	free(t);
}
