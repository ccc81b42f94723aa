/* moto_fx: S3 test doubles on loopback for the tests of the s3:// replica
 * (test_replica_s3.c) and of the backup end to end (test_storaged_backup_s3.c):
 *   moto_server   with IAM authentication on: an IAM user, its access key
 *                 and an allow-all policy are made while auth is still off
 *                 (INITIAL_NO_AUTH_ACTION_COUNT=inf), then auth is switched on
 *                 (/moto-api/reset-auth 0): from then on every request must
 *                 carry a valid SigV4 signature of that key.
 *   s3_fault_proxy.py   in front of moto (see its docstring for the faults).
 * Helpers to run a child process in its own group (killed with us), wait for
 * a port, and make a plain HTTP request.
 * A missing moto_server or python3 is an error with a clear message (the
 * tests fail, they do not skip). */
#ifndef KUBARR_TESTS_MOTO_FX_H
#define KUBARR_TESTS_MOTO_FX_H

#include <stdbool.h>
#include <sys/types.h>

#define MFX_REGION "us-east-1"
#define MFX_START_MS 30000

struct mfx_proc {
	pid_t pid;
	char log[512];
};

struct moto_fx {
	char dir[256];              /* logs (<name>.log) and the proxy's port file */
	struct mfx_proc moto, proxy;
	int moto_port, proxy_port;
	char moto_url[64], proxy_url[64];   /* http://127.0.0.1:port */
	char ak[128], sk[128];      /* the IAM user's access key and secret */
};

long mfx_now_ms(void);
void mfx_sleep_ms(long ms);
/* A TCP port on 127.0.0.1 that was free a moment ago. */
int mfx_free_port(void);
bool mfx_port_open(int port);
/* Is prog an executable on PATH (or a path)? */
bool mfx_have(const char *prog);
/* fork/exec argv in its own process group, stdout and stderr appended to
 * dir/name.log, env_add ("K=V", NULL-ended, may be NULL) added; the child is
 * killed when we die.  0 or -1. */
int mfx_spawn(struct mfx_proc *p, const char *dir, const char *name, char *const argv[],
    char *const env_add[]);
/* SIGTERM to its group, SIGKILL after 3 s; reaped. */
void mfx_stop(struct mfx_proc *p);
bool mfx_alive(struct mfx_proc *p);
/* The last 30 lines of its log, to stderr. */
void mfx_print_log(const struct mfx_proc *p);
/* Until port accepts connections (0), the process dies or MFX_START_MS (-1,
 * its log printed). */
int mfx_wait_port(struct mfx_proc *p, int port);
/* A plain (unsigned) HTTP request: the status (0 when it failed), the body
 * answered in *out_r when out_r is not NULL (free it). */
long mfx_http(const char *method, const char *url, const char *ctype, const char *body,
    const char *auth, char **out_r);

/* Starts moto_server on a free port (logs in dir), creates the buckets
 * (NULL-ended list, may be NULL) and the IAM user with its key (m->ak, m->sk),
 * then switches authentication on.  0 or -1 (with a message on stderr). */
int mfx_start_moto(struct moto_fx *m, const char *dir, const char *const *buckets);
/* Starts s3_fault_proxy.py in front of moto (m->proxy_url).  0 or -1. */
int mfx_start_proxy(struct moto_fx *m);
/* The proxy's next count requests matching match (NULL: all) get fault mode;
 * mode NULL clears the fault and the counters (asserts the proxy answered). */
void mfx_fault(struct moto_fx *m, const char *mode, int count, int delay_ms, const char *match);
/* A counter of the proxy ("requests", "faults", "connections"). */
int mfx_proxy_stat(struct moto_fx *m, const char *name);
/* Stops the proxy and moto. */
void mfx_stop_all(struct moto_fx *m);

#endif
