/* daemon: the skeleton every kubarr daemon shares.
 *
 *   kubarr-<name> [--help | --version | --check-config | COMMAND ...]
 *
 * Order of start-up: parse the command line, block the signals we consume
 * (before any library starts a thread), load and validate configuration
 * (exit 2 on error), log it, call ops->start (open everything), tell systemd
 * READY=1, then loop on the main thread: signals (TERM/INT drain and exit 0,
 * HUP reload), the periodic tick and the systemd watchdog. */
#ifndef KUBARR_DAEMON_H
#define KUBARR_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "config.h"

struct daemon;

struct daemon_ops {
	const char *name;    /* "storaged": binary kubarr-storaged, socket storaged.ipc */
	const char *summary; /* one line for --help */
	struct config_var *vars;
	size_t nvars;
	/* Opens sockets, files, threads.  -1 with a message in err_r: exit 1. */
	int (*start)(struct daemon *d, char **err_r);
	/* Main thread, every tick_ms (optional). */
	void (*tick)(struct daemon *d);
	/* SIGHUP (optional). */
	void (*reload)(struct daemon *d);
	/* Stop accepting, drain in-flight work until deadline_us (monotonic), release all.
	 * Also called after a failed start: must tolerate what start did not open. */
	void (*stop)(struct daemon *d, int64_t deadline_us);
	/* Subcommands (optional): returns an exit code, or -1 when argv[0] is not one. */
	int (*command)(struct daemon *d, int argc, char **argv);
	const char *commands_help;
	unsigned tick_ms;    /* default 250 */
};

struct daemon {
	const struct daemon_ops *ops;
	struct config cfg;
	void *ctx;              /* the daemon's own context */
	int64_t started_us;     /* monotonic */
	/* common settings, resolved */
	const char *data_dir;
	const char *runtime_dir;
	int ipc_timeout_ms;
	int ipc_workers;
};

/* Runs the daemon; returns the process exit code. */
int daemon_main(const struct daemon_ops *ops, void *ctx, int argc, char **argv);
/* "ipc:///run/kubarr/storaged.ipc" for a name, owned by caller. */
char *daemon_ipc_url(const struct daemon *d, const char *name);
/* The sockets of $KUBARR_RUNTIME_DIR by name ("storaged", "events", ...). */
struct ipc_client;
struct ipc_pub;
struct ipc_sub;
int daemon_client_open(const struct daemon *d, const char *name, struct ipc_client **c_r,
    char **err_r);
int daemon_pub_open(const struct daemon *d, const char *name, struct ipc_pub **p_r, char **err_r);
int daemon_sub_open(const struct daemon *d, const char *name, void (*fn)(void *, nng_msg *),
    void *arg, struct ipc_sub **s_r, char **err_r);
/* mkdir -p with each created level at mode; 0 or -1 (errno set, logged). */
int daemon_mkdir_p(const char *dir, unsigned mode);
/* Milliseconds since start. */
uint64_t daemon_uptime_ms(const struct daemon *d);
/* Version strings compiled into every binary. */
extern const char daemon_version[];
extern const char daemon_commit[];
extern const char daemon_build_time[];

#endif
