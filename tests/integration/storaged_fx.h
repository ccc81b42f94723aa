/* storaged_fx: the fixture of the storaged integration tests.  One harness
 * (the four real daemons), a client on storaged.ipc, a subscriber on
 * events.ipc recording every EVENT, and helpers reading the database file
 * directly (WAL lets a test read beside storaged).
 *
 *   static int setup(void **state) { return storaged_fx_setup(state); }
 *   ... struct fx *f = *state; proto_x_call_sync(f->c, ...); db_scalar(f, "...") ...
 *   static int teardown(void **state) { return storaged_fx_teardown(state); } */
#ifndef KUBARR_TESTS_STORAGED_FX_H
#define KUBARR_TESTS_STORAGED_FX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "ipc.h"

#define FX_MAX_EVENTS 512
#define FX_TIMEOUT_MS 3000

struct fx_event {
	char kind[16];
	char key[64];
	int64_t id;
};

struct fx {
	struct harness *h;
	struct ipc_client *c;
	struct ipc_sub *sub;
	char db[256];
	pthread_mutex_t lock;          /* guards ev and nev */
	struct fx_event ev[FX_MAX_EVENTS];
	int nev;
};

/* cmocka setup/teardown (group or per test): *state is a struct fx. */
int storaged_fx_setup(void **state);
int storaged_fx_teardown(void **state);
/* Starts the daemons with extra environment (NULL-terminated key/value pairs). */
int storaged_fx_setup_env(void **state, const char *const *env);

/* Connects f->c to storaged.ipc (again, e.g. after a restart). */
void storaged_fx_connect(struct fx *f);

/* Events: events_sync publishes a marker setting and waits for it, so every
 * event of earlier writes has arrived, and returns how many came before it;
 * events_reset syncs, then forgets everything received. */
void events_reset(struct fx *f);
int events_sync(struct fx *f);

/* The database file: one integer, one text (empty when NULL), or a write. */
long long db_scalar(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void db_text(struct fx *f, char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void db_exec(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
