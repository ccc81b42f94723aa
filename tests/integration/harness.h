/*
 * harness.h: starts the four real kubarr daemons for an integration test.
 *
 * A harness owns one short temporary directory:
 *   $tmp/data/           KUBARR_DATA_DIR
 *   $tmp/run/            KUBARR_RUNTIME_DIR (the daemons' Unix sockets)
 *   $tmp/<name>.log      stdout+stderr of daemon <name> (appended on restart)
 *   $tmp/<name>.notify   the NOTIFY_SOCKET the harness listens on for <name>
 * and a free TCP port on 127.0.0.1 for the gateway.
 *
 * Typical test:
 *   struct harness *h;
 *   assert_int_equal(harness_start(&h), 0);          // all four READY
 *   ... harness_http(h, "GET", "/api/health", NULL, NULL, &resp) ...
 *   assert_int_equal(harness_finish(h), 0);          // SIGTERM, exit 0, no
 *                                                    // sanitizer reports
 *   harness_free(&h);                                // in the teardown
 *
 * To pass extra variables: harness_init(), harness_setenv()..., harness_launch().
 * Daemon names: "storaged", "authd", "metricsd", "gateway".
 * Binaries come from $KUBARR_BIN_DIR, else the compile-time KUBARR_BIN_DIR.
 * KUBARR_KEEP_TMP=1 keeps the temporary directory (its path is printed).
 * If a test did not reach harness_finish() / harness_test_pass(), the tail of
 * every daemon log is printed by harness_free() / harness_test_end().
 */
#ifndef KUBARR_TESTS_HARNESS_H
#define KUBARR_TESTS_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "http.h"

#define HARNESS_DAEMON_COUNT 4
#define HARNESS_START_TIMEOUT_MS 15000   /* all READY=1 + /api/system/ready */
#define HARNESS_STOP_TIMEOUT_MS 5000     /* SIGTERM grace before SIGKILL */
#define HARNESS_DEFAULT_IPC_TIMEOUT_MS 1500

struct harness;

struct harness_daemon_info {
	pid_t pid;          /* of the current or last run, 0 if never started */
	int running;
	int has_status;     /* wait_status holds the last run's end */
	int wait_status;    /* as from waitpid(2) */
	long stop_ms;       /* signal sent -> process reaped, -1 if unknown */
	int ready_seen;     /* READY=1 received during the current/last run */
	int stopping_seen;  /* STOPPING=1 received during the current/last run */
	int starts;         /* how many times it was started */
};

struct harness_run_result {
	int wait_status;    /* as from waitpid(2) */
	int timed_out;      /* killed after the timeout */
	char *out;          /* stdout, NUL-terminated */
	char *err;          /* stderr, NUL-terminated */
};

/* Temp dir, port and default environment; starts nothing. */
int harness_init(struct harness **h_r);
/* Starts every daemon (gateway first, storaged last), each waited for
   READY=1, then waits for GET /api/system/ready == 200. */
int harness_launch(struct harness *h);
/* harness_init() + harness_launch(). *h_r is set even on failure (so the
   teardown can free it and print the logs). */
int harness_start(struct harness **h_r);

/* Sets (or replaces) a variable passed to every daemon started afterwards,
   including by harness_restart() and harness_run(). */
int harness_setenv(struct harness *h, const char *key, const char *value);
/* Removes a variable (also a default one: the daemon then uses its own). */
void harness_unsetenv(struct harness *h, const char *key);
const char *harness_getenv(const struct harness *h, const char *key);

/* Sends `sig` and does not wait. */
int harness_signal(struct harness *h, const char *name, int sig);
/* Sends `sig` and waits (HARNESS_STOP_TIMEOUT_MS) until the process is
   reaped; -1 if it is still alive then. */
int harness_kill(struct harness *h, const char *name, int sig);
/* Starts a daemon that is not running and waits for its READY=1. */
int harness_restart(struct harness *h, const char *name);
/* SIGTERM to every running daemon at once, waits for all of them (SIGKILL
   after HARNESS_STOP_TIMEOUT_MS), records exit statuses and times. Returns
   -1 if one had to be killed. */
int harness_stop(struct harness *h);
/* harness_stop() + every daemon ended with exit status 0 + no sanitizer
   report in any log. Prints the log tails when it fails. */
int harness_finish(struct harness *h);
/* Kills what is left, removes the temp dir (unless KUBARR_KEEP_TMP). */
void harness_free(struct harness **h);

int harness_daemon_info(struct harness *h, const char *name,
			struct harness_daemon_info *info_r);

/* For tests sharing one harness: begin resets the pass flag, pass checks
   the logs and records success, end prints the log tails if not passed. */
void harness_test_begin(struct harness *h);
int harness_test_pass(struct harness *h);
void harness_test_end(struct harness *h);

/* Scans every *.log in the temp dir for sanitizer reports; prints each
   offending line and returns -1 if any. */
int harness_check_logs(struct harness *h);
/* Prints every thread's stack of a process (gdb) to stderr. */
void harness_dump_stacks(pid_t pid);
/* Prints the last `lines` lines of every daemon log to stderr. */
void harness_print_log_tails(struct harness *h, int lines);

/* Runs `kubarr-<name> args...` (args NULL-terminated) with the harness
   environment, captures stdout and stderr; kills it after timeout_ms.
   Returns 0 when it ran (look at r->wait_status), -1 otherwise. */
int harness_run(struct harness *h, const char *name, const char *const *args,
		int timeout_ms, struct harness_run_result *r);
void harness_run_result_free(struct harness_run_result *r);

/* HTTP through the harness's default client (one cookie jar). */
int harness_http(struct harness *h, const char *method, const char *path,
		 const char *body, const char *const *headers,
		 struct http_resp *resp);
/* Another client with its own cookie jar; free with http_client_free(). */
int harness_client_new(struct harness *h, struct http_client **client_r);
/* Polls GET `path` until it answers `status` (or timeout_ms passes). */
int harness_wait_http_status(struct harness *h, const char *path, long status,
			     int timeout_ms, long *elapsed_ms_r);

const char *harness_base_url(const struct harness *h);
int harness_http_port(const struct harness *h);
const char *harness_tmp_dir(const struct harness *h);
const char *harness_data_dir(const struct harness *h);
const char *harness_runtime_dir(const struct harness *h);
const char *harness_bin_dir(void);
/* Daemon names in start order; index 0..HARNESS_DAEMON_COUNT-1. */
const char *harness_daemon_name(int index);
/* Monotonic milliseconds, for tests measuring time. */
long harness_now_ms(void);

#endif
