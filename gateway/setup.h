/* setup: state shared by routes_setup.c (the HTTP setup flow, the seal) and
 * routes_setup_bootstrap.c (the bootstrap runner and its WebSocket). */
#ifndef KUBARR_GATEWAY_SETUP_H
#define KUBARR_GATEWAY_SETUP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "http.h"

#define SETUP_NCOMP 3    /* database, metrics, backup (API.md decision 14) */

struct gw_ws;

struct setup_comp {
	const char *name;
	const char *display_name;
	char status[16];     /* pending, installing, healthy, failed */
	char message[200];
	char error[200];     /* "" = none */
};

struct gw_setup {
	pthread_mutex_t lock;            /* comps, running, started, thread */
	struct setup_comp comps[SETUP_NCOMP];
	bool started;                    /* a run began since this gateway started */
	bool running;
	bool have_thread;
	pthread_t thread;
	int only;                        /* -1: the whole sequence; else one component (retry) */
	struct gw_ws *ws;                /* /api/setup/bootstrap/ws */
	struct gateway *gw;
	const char *browse_prefix;       /* KUBARR_HOST_BROWSE_PREFIX, "" = / */
	const char *backup_url;          /* KUBARR_BACKUP_URL, "" = not configured */
	int backup_configured;           /* storaged's BACKUP_STATUS said: 1, 0; -1 not asked yet */
	atomic_bool sealed_seen;         /* an admin was seen once: stays sealed */
	atomic_bool init_busy;           /* one POST /initialize at a time */
	atomic_bool stopping;            /* the gateway is stopping: runs end early */
};

/* The seal (decision 12): PINGs storaged; 403 once an admin exists (or was
 * ever seen by this gateway: the seal never reopens while it runs), else
 * next(r) runs (it may start backend calls).  When storaged cannot answer,
 * strict routes get 503; the others go on unless an admin was seen before. */
void setup_gate(struct gw_req *r, bool strict, void (*next)(struct gw_req *r));

/* routes_setup_paths.c: an absolute client path without "." or ".." segments,
 * "//" collapsed, no trailing "/" (except "/").  0, or -1 and a 400 whose
 * detail names `field`. */
int setup_path_norm(struct gw_req *r, const char *field, const char *in, char *out,
    size_t outlen);

/* routes_setup_bootstrap.c */
int setup_bootstrap_open(struct gw_setup *s, char **err_r);
void setup_bootstrap_shutdown(struct gw_setup *s);
void setup_bootstrap_close(struct gw_setup *s);
/* Takes storaged's bootstrap_status rows into memory (unless a run is going
 * on; items NULL: storaged did not answer, memory stays); true when every
 * component is healthy. */
struct proto_recs_bootstrap_item;
bool setup_bootstrap_absorb(struct gw_setup *s, const struct proto_recs_bootstrap_item *items);

#endif
