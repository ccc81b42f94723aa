#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

#ifndef KUBARR_VERSION
#define KUBARR_VERSION "0.0.0"
#endif
#ifndef KUBARR_COMMIT
#define KUBARR_COMMIT "unknown"
#endif
#ifndef KUBARR_BUILD_TIME
#define KUBARR_BUILD_TIME "unknown"
#endif

const char daemon_version[] = KUBARR_VERSION;
const char daemon_commit[] = KUBARR_COMMIT;
const char daemon_build_time[] = KUBARR_BUILD_TIME;

#define DAEMON_DRAIN_MS 1500 /* SIGTERM to exit: under the 2 s we promise */

static const struct config_var daemon_common_vars[] = {
	{.name = "KUBARR_DATA_DIR", .kind = CONFIG_PATH, .def = "./var",
	    .help = "state directory (database, backups spool, persisted metrics)"},
	{.name = "KUBARR_RUNTIME_DIR", .kind = CONFIG_PATH, .def = "${KUBARR_DATA_DIR}/run",
	    .help = "directory of the IPC sockets shared by the four daemons"},
	{.name = "KUBARR_IPC_TIMEOUT_MS", .kind = CONFIG_INT, .def = "2000", .min = 10,
	    .max = 600000, .help = "deadline of every call to another daemon"},
	{.name = "KUBARR_IPC_WORKERS", .kind = CONFIG_INT, .def = "32", .min = 1, .max = 4096,
	    .help = "requests a daemon serves concurrently on its socket"},
	{.name = "KUBARR_LOG_LEVEL", .kind = CONFIG_ENUM, .def = "info",
	    .choices = "debug|info|warn|error", .help = "debug, info, warn or error"},
};
#define DAEMON_NCOMMON (sizeof(daemon_common_vars) / sizeof(daemon_common_vars[0]))

static void
daemon_usage(const struct daemon *d, FILE *out)
{
	const struct daemon_ops *ops = d->ops;

	fprintf(out,
	    "usage: kubarr-%s [--help | --version | --check-config]%s\n"
	    "\n%s\n\n"
	    "Options:\n"
	    "  -h, --help          show this help and exit\n"
	    "  -V, --version       show the version and exit\n"
	    "  -c, --check-config  validate the environment, print the effective\n"
	    "                      configuration and exit (0 valid, 2 invalid)\n",
	    ops->name, ops->commands_help ? " [COMMAND ...]" : "", ops->summary);
	if (ops->commands_help)
		fprintf(out, "\nCommands:\n%s", ops->commands_help);
	fprintf(out, "\n");
	config_usage(&d->cfg, out);
	fprintf(out,
	    "\nSignals: TERM/INT drain and exit 0, HUP reloads.\n"
	    "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

int
daemon_mkdir_p(const char *dir, unsigned mode)
{
	char *path = xstrdup(dir);

	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST) {
			log_warn("mkdir %s", path);
			free(path);
			return -1;
		}
		if ((*p = saved) == '\0')
			break;
	}
	free(path);
	return 0;
}

static int
daemon_prepare_runtime_dir(const char *dir)
{
	struct stat st;

	if (daemon_mkdir_p(dir, 0750) != 0)
		return -1;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_warnx("runtime dir %s is not a directory", dir);
		return -1;
	}
	if (st.st_mode & S_IWOTH)
		log_warnx("runtime dir %s is world-writable; expected mode 0750", dir);
	return 0;
}

char *
daemon_ipc_url(const struct daemon *d, const char *name)
{
	return xasprintf("ipc://%s/%s.ipc", d->runtime_dir, name);
}

int
daemon_client_open(const struct daemon *d, const char *name, struct ipc_client **c_r, char **err_r)
{
	char *url = daemon_ipc_url(d, name);
	int rc = ipc_client_open(c_r, url, 0, err_r);

	free(url);
	return rc;
}

int
daemon_pub_open(const struct daemon *d, const char *name, struct ipc_pub **p_r, char **err_r)
{
	char *url = daemon_ipc_url(d, name);
	int rc = ipc_pub_open(p_r, url, err_r);

	free(url);
	return rc;
}

int
daemon_sub_open(const struct daemon *d, const char *name, void (*fn)(void *, nng_msg *),
    void *arg, struct ipc_sub **s_r, char **err_r)
{
	char *url = daemon_ipc_url(d, name);
	int rc = ipc_sub_open(s_r, url, fn, arg, err_r);

	free(url);
	return rc;
}

uint64_t
daemon_uptime_ms(const struct daemon *d)
{
	return (uint64_t)(time_mono_us() - d->started_us) / 1000;
}

static int
daemon_load_config(struct daemon *d, const struct daemon_ops *ops)
{
	char *err = NULL;
	enum log_level level;

	d->cfg.n = DAEMON_NCOMMON + ops->nvars;
	d->cfg.vars = xcalloc(d->cfg.n, sizeof(*d->cfg.vars));
	memcpy(d->cfg.vars, daemon_common_vars, sizeof(daemon_common_vars));
	if (ops->nvars > 0)
		memcpy(d->cfg.vars + DAEMON_NCOMMON, ops->vars, ops->nvars * sizeof(*ops->vars));
	if (config_load(&d->cfg, &err) != 0) {
		log_error("configuration error: %s", err);
		free(err);
		return -1;
	}
	if (log_level_parse(config_str(&d->cfg, "KUBARR_LOG_LEVEL"), &level) == 0)
		log_set_level(level);
	d->data_dir = config_str(&d->cfg, "KUBARR_DATA_DIR");
	d->runtime_dir = config_str(&d->cfg, "KUBARR_RUNTIME_DIR");
	d->ipc_timeout_ms = (int)config_int(&d->cfg, "KUBARR_IPC_TIMEOUT_MS");
	d->ipc_workers = (int)config_int(&d->cfg, "KUBARR_IPC_WORKERS");
	return 0;
}

static int
daemon_loop(struct daemon *d, const sigset_t *set)
{
	const struct daemon_ops *ops = d->ops;
	unsigned tick_ms = ops->tick_ms ? ops->tick_ms : 250;
	uint64_t wd_usec = 0;
	int64_t next_wd = 0;

	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;
	for (;;) {
		struct timespec ts = {.tv_sec = tick_ms / 1000,
		    .tv_nsec = (long)(tick_ms % 1000) * 1000000L};
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &ts);

		if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s received, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			sd_notify(0, "STOPPING=1");
			return 0;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP received, reloading");
			if (ops->reload)
				ops->reload(d);
			continue;
		}
		if (ops->tick)
			ops->tick(d);
		if (wd_usec > 0 && time_mono_us() >= next_wd) {
			sd_notify(0, "WATCHDOG=1");
			next_wd = time_mono_us() + (int64_t)wd_usec / 2;
		}
	}
}

int
daemon_main(const struct daemon_ops *ops, void *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"check-config", no_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {.ops = ops, .ctx = ctx, .started_us = time_mono_us()};
	int check = 0, help = 0, opt, rc;
	sigset_t set;
	char *err = NULL;
	char name[64];

	snprintf(name, sizeof(name), "%s", ops->name);
	log_init(ops->name);
	/* Signals first: nng, MHD and curl start threads that must inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+hVc", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			help = 1;
			break;
		case 'V':
			printf("kubarr-%s %s (commit %s, built %s)\n", name, daemon_version,
			    daemon_commit, daemon_build_time);
			return 0;
		case 'c':
			check = 1;
			break;
		default:
			fprintf(stderr, "kubarr-%s: unknown option '%s' (try --help)\n", name,
			    argv[optind - 1]);
			return 2;
		}
	}
	if (help) {
		/* Load what we can so --help shows the declared variables. */
		d.cfg.n = DAEMON_NCOMMON + ops->nvars;
		d.cfg.vars = xcalloc(d.cfg.n, sizeof(*d.cfg.vars));
		memcpy(d.cfg.vars, daemon_common_vars, sizeof(daemon_common_vars));
		if (ops->nvars > 0)
			memcpy(d.cfg.vars + DAEMON_NCOMMON, ops->vars, ops->nvars * sizeof(*ops->vars));
		daemon_usage(&d, stdout);
		free(d.cfg.vars);
		return 0;
	}
	if (daemon_load_config(&d, ops) != 0) {
		rc = 2;
		goto out;
	}
	if (check) {
		config_log(&d.cfg);
		printf("kubarr-%s: configuration ok\n", name);
		rc = 0;
		goto out;
	}
	if (optind < argc) {
		if (ops->command == NULL || (rc = ops->command(&d, argc - optind, argv + optind)) < 0) {
			fprintf(stderr, "kubarr-%s: unknown command '%s' (try --help)\n", name,
			    argv[optind]);
			rc = 2;
		}
		goto out;
	}

	log_info("kubarr-%s %s (commit %s) starting, pid %d", name, daemon_version, daemon_commit,
	    (int)getpid());
	config_log(&d.cfg);
	if (daemon_prepare_runtime_dir(d.runtime_dir) != 0) {
		log_error("cannot prepare runtime dir %s", d.runtime_dir);
		rc = 1;
		goto out;
	}
	if (ops->start(&d, &err) != 0) {
		log_error("start failed: %s", err ? err : "unknown error");
		free(err);
		ipc_leak_check();
		/* release whatever start opened; every stop tolerates partial state */
		ops->stop(&d, time_mono_us());
		rc = 1;
		goto out;
	}
	sd_notify(0, "READY=1");
	log_info("ready");
	rc = daemon_loop(&d, &set);
	ipc_leak_check();
	ops->stop(&d, time_mono_us() + DAEMON_DRAIN_MS * 1000);
	log_info("stopped after %llu ms up", (unsigned long long)daemon_uptime_ms(&d));
out:
	config_free(&d.cfg);
	free(d.cfg.vars);
	return rc;
}
