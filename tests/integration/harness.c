/*
 * harness.c: runs the four real kubarr daemons for integration tests:
 * temp dir, environment, start order and readiness, stop, sanitizer scan of
 * the logs, HTTP helpers. One child process is handled by harness_proc.c,
 * one-shot CLI invocations by harness_run.c.
 */
#include "harness.h"
#include "harness_proc.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef KUBARR_BIN_DIR
#define KUBARR_BIN_DIR "bin"
#endif

#define HARNESS_TMP_MAX 96
#define HARNESS_PATH_MAX 256
#define HARNESS_HTTP_POLL_MS 20
#define HARNESS_TAIL_LINES 40
#define HARNESS_TAIL_BYTES 65536

/* Start order: deliberately the reverse of the dependency order. */
static const char *const harness_names[HARNESS_DAEMON_COUNT] = {
	"gateway", "metricsd", "authd", "storaged",
};

/* Inherited variables that must not leak into the daemons. */
static const char *const harness_env_strip[] = {
	"KUBARR_", "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=",
	"LISTEN_FDNAMES=", "WATCHDOG_USEC=", "WATCHDOG_PID=", NULL,
};

static const char *const harness_sanitizer_marks[] = {
	"AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
	"ThreadSanitizer", "MemorySanitizer", "runtime error:", NULL,
};

struct harness_env_var {
	char *key;
	char *value;
};

struct harness {
	char tmp_dir[HARNESS_TMP_MAX];
	char data_dir[HARNESS_PATH_MAX];
	char run_dir[HARNESS_PATH_MAX];
	int port;
	char base_url[64];
	struct harness_env_var *env;
	size_t env_count;
	struct harness_proc procs[HARNESS_DAEMON_COUNT];
	struct http_client *client;
	int passed;         /* the current test reached its final check */
	int reported;       /* the log tails were printed for this failure */
};

void harness_log(const char *fmt, ...)
{
	va_list ap;

	fputs("harness: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void *harness_xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL) {
		harness_log("out of memory");
		abort();
	}
	return p;
}

char *harness_xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(harness_xmalloc(len), s, len);
}

long harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *harness_bin_dir(void)
{
	const char *dir = getenv("KUBARR_BIN_DIR");

	return dir != NULL && dir[0] != '\0' ? dir : KUBARR_BIN_DIR;
}

const char *harness_daemon_name(int index)
{
	if (index < 0 || index >= HARNESS_DAEMON_COUNT)
		return NULL;
	return harness_names[index];
}

static struct harness_proc *harness_find_daemon(struct harness *h,
						const char *name)
{
	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		if (strcmp(h->procs[i].name, name) == 0)
			return &h->procs[i];
	}
	harness_log("unknown daemon \"%s\"", name);
	return NULL;
}

/* ---- environment ------------------------------------------------------ */

int harness_setenv(struct harness *h, const char *key, const char *value)
{
	struct harness_env_var *grown;

	if (key[0] == '\0' || strchr(key, '=') != NULL)
		return -1;
	for (size_t i = 0; i < h->env_count; i++) {
		if (strcmp(h->env[i].key, key) == 0) {
			free(h->env[i].value);
			h->env[i].value = harness_xstrdup(value);
			return 0;
		}
	}
	grown = realloc(h->env, (h->env_count + 1) * sizeof(*h->env));
	if (grown == NULL)
		return -1;
	h->env = grown;
	h->env[h->env_count].key = harness_xstrdup(key);
	h->env[h->env_count].value = harness_xstrdup(value);
	h->env_count++;
	return 0;
}

void harness_unsetenv(struct harness *h, const char *key)
{
	for (size_t i = 0; i < h->env_count; i++) {
		if (strcmp(h->env[i].key, key) == 0) {
			free(h->env[i].key);
			free(h->env[i].value);
			h->env[i] = h->env[h->env_count - 1];
			h->env_count--;
			return;
		}
	}
}

const char *harness_getenv(const struct harness *h, const char *key)
{
	for (size_t i = 0; i < h->env_count; i++) {
		if (strcmp(h->env[i].key, key) == 0)
			return h->env[i].value;
	}
	return NULL;
}

static int harness_env_stripped(const char *entry)
{
	for (int i = 0; harness_env_strip[i] != NULL; i++) {
		if (strncmp(entry, harness_env_strip[i],
			    strlen(harness_env_strip[i])) == 0)
			return 1;
	}
	return 0;
}

static char *harness_env_entry(const char *key, const char *value)
{
	size_t len = strlen(key) + strlen(value) + 2;
	char *entry = harness_xmalloc(len);

	snprintf(entry, len, "%s=%s", key, value);
	return entry;
}

/* environ minus harness_env_strip, plus h->env, plus NOTIFY_SOCKET. */
char **harness_envp_build(const struct harness *h, const char *notify_path)
{
	size_t n = 0, count = 0;
	char **envp;

	while (environ[n] != NULL)
		n++;
	envp = harness_xmalloc((n + h->env_count + 2) * sizeof(*envp));
	for (size_t i = 0; i < n; i++) {
		if (!harness_env_stripped(environ[i]))
			envp[count++] = harness_xstrdup(environ[i]);
	}
	for (size_t i = 0; i < h->env_count; i++)
		envp[count++] = harness_env_entry(h->env[i].key,
						  h->env[i].value);
	if (notify_path != NULL)
		envp[count++] = harness_env_entry("NOTIFY_SOCKET", notify_path);
	envp[count] = NULL;
	return envp;
}

void harness_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ---- set-up ----------------------------------------------------------- */

static int harness_pick_port(int *port_r)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd, rc = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0) {
		*port_r = ntohs(addr.sin_port);
		rc = 0;
	}
	close(fd);
	return rc;
}

static int harness_make_tmp(struct harness *h)
{
	const char *base = getenv("TMPDIR");

	/* Unix socket paths must stay short: $tmp/run/metricsd.ipc < 100. */
	if (base == NULL || base[0] == '\0' ||
	    strlen(base) + sizeof("/kit.XXXXXX") > 64)
		base = "/tmp";
	snprintf(h->tmp_dir, sizeof(h->tmp_dir), "%s/kit.XXXXXX", base);
	if (mkdtemp(h->tmp_dir) == NULL) {
		harness_log("mkdtemp %s: %s", h->tmp_dir, strerror(errno));
		h->tmp_dir[0] = '\0';
		return -1;
	}
	snprintf(h->data_dir, sizeof(h->data_dir), "%s/data", h->tmp_dir);
	snprintf(h->run_dir, sizeof(h->run_dir), "%s/run", h->tmp_dir);
	if (mkdir(h->data_dir, 0750) < 0 || mkdir(h->run_dir, 0750) < 0) {
		harness_log("mkdir under %s: %s", h->tmp_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* cmocka 1.1.7 reports a failed group teardown ("[  FAILED  ] GROUP
 * TEARDOWN") but does not count it in cmocka_run_group_tests' result, so a
 * daemon that crashed, exited non-zero on SIGTERM or wrote a sanitizer report
 * during a group's last stop would leave the test binary exiting 0.  Every
 * failed harness_finish is counted here, and the process's exit status is
 * forced to 1 at exit when any failed, whoever called it. */
static atomic_int harness_finish_failures;
static pthread_once_t harness_exit_once = PTHREAD_ONCE_INIT;

static void harness_exit_check(void)
{
	int n = atomic_load(&harness_finish_failures);

	if (n == 0)
		return;
	fprintf(stderr, "harness: %d daemon stop check(s) failed (see above): exit status 1\n",
		n);
	fflush(NULL);
	_exit(1);
}

static void harness_exit_register(void)
{
	atexit(harness_exit_check);
}

int harness_init(struct harness **h_r)
{
	struct harness *h;
	char value[64];
	const char *level;

	*h_r = NULL;
	pthread_once(&harness_exit_once, harness_exit_register);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -1;
	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		h->procs[i].name = harness_names[i];
		h->procs[i].notify_fd = -1;
	}
	*h_r = h;
	if (harness_make_tmp(h) < 0)
		return -1;
	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		if (harness_proc_open(&h->procs[i], harness_names[i],
				      h->tmp_dir) < 0)
			return -1;
	}
	if (harness_pick_port(&h->port) < 0) {
		harness_log("no free TCP port: %s", strerror(errno));
		return -1;
	}
	snprintf(h->base_url, sizeof(h->base_url), "http://127.0.0.1:%d",
		 h->port);
	if (http_client_new(h->base_url, &h->client) < 0) {
		harness_log("cannot create an HTTP client");
		return -1;
	}

	level = getenv("KUBARR_LOG_LEVEL");
	if (level == NULL || level[0] == '\0')
		level = "info";
	snprintf(value, sizeof(value), "127.0.0.1:%d", h->port);
	if (harness_setenv(h, "KUBARR_DATA_DIR", h->data_dir) < 0 ||
	    harness_setenv(h, "KUBARR_RUNTIME_DIR", h->run_dir) < 0 ||
	    harness_setenv(h, "KUBARR_HTTP_ADDR", value) < 0 ||
	    harness_setenv(h, "KUBARR_LOG_LEVEL", level) < 0)
		return -1;
	snprintf(value, sizeof(value), "%d", HARNESS_DEFAULT_IPC_TIMEOUT_MS);
	if (harness_setenv(h, "KUBARR_IPC_TIMEOUT_MS", value) < 0)
		return -1;
	return 0;
}

/* ---- daemons ---------------------------------------------------------- */

static int harness_start_one(struct harness *h, struct harness_proc *p,
			     long deadline_ms)
{
	char **envp = harness_envp_build(h, p->notify_path);
	int rc = harness_proc_start(p, envp);

	harness_strv_free(envp);
	if (rc < 0)
		return -1;
	return harness_proc_wait_ready(p, deadline_ms);
}

int harness_launch(struct harness *h)
{
	long deadline = harness_now_ms() + HARNESS_START_TIMEOUT_MS;
	long left;

	harness_test_begin(h);
	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		if (harness_start_one(h, &h->procs[i], deadline) < 0)
			goto fail;
	}
	left = deadline - harness_now_ms();
	if (harness_wait_http_status(h, "/api/system/ready", 200,
				     left > 0 ? (int)left : 0, NULL) < 0)
		goto fail;
	return 0;
fail:
	harness_log("start-up failed (temp dir %s)", h->tmp_dir);
	harness_print_log_tails(h, HARNESS_TAIL_LINES);
	h->reported = 1;
	return -1;
}

int harness_start(struct harness **h_r)
{
	if (harness_init(h_r) < 0) {
		if (*h_r != NULL)
			harness_log("init failed (temp dir %s)",
				    (*h_r)->tmp_dir);
		return -1;
	}
	return harness_launch(*h_r);
}

int harness_signal(struct harness *h, const char *name, int sig)
{
	struct harness_proc *p = harness_find_daemon(h, name);

	if (p == NULL)
		return -1;
	return harness_proc_signal(p, sig);
}

int harness_kill(struct harness *h, const char *name, int sig)
{
	struct harness_proc *p;

	if (harness_signal(h, name, sig) < 0)
		return -1;
	p = harness_find_daemon(h, name);
	if (harness_proc_wait_exit(p, harness_now_ms() +
				   HARNESS_STOP_TIMEOUT_MS) < 0) {
		harness_log("kubarr-%s still alive %d ms after signal %d",
			    name, HARNESS_STOP_TIMEOUT_MS, sig);
		return -1;
	}
	return 0;
}

int harness_restart(struct harness *h, const char *name)
{
	struct harness_proc *p = harness_find_daemon(h, name);

	if (p == NULL)
		return -1;
	if (!harness_proc_reap(p)) {
		harness_log("restart: kubarr-%s is still running", name);
		return -1;
	}
	if (harness_start_one(h, p, harness_now_ms() +
			      HARNESS_START_TIMEOUT_MS) < 0) {
		harness_print_log_tails(h, HARNESS_TAIL_LINES);
		h->reported = 1;
		return -1;
	}
	return 0;
}

int harness_stop(struct harness *h)
{
	long deadline;
	int pending, rc = 0;

	for (int i = HARNESS_DAEMON_COUNT - 1; i >= 0; i--) {
		struct harness_proc *p = &h->procs[i];

		if (harness_proc_reap(p))
			continue;
		p->stopped_by_harness = 1;
		p->signal_at_ms = harness_now_ms();
		p->stop_ms = -1;
		kill(p->pid, SIGTERM);
	}
	deadline = harness_now_ms() + HARNESS_STOP_TIMEOUT_MS;
	do {
		pending = 0;
		for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
			harness_proc_drain(&h->procs[i]);
			if (!harness_proc_reap(&h->procs[i]))
				pending++;
		}
		if (pending > 0)
			harness_sleep_ms(HARNESS_PROC_POLL_MS);
	} while (pending > 0 && harness_now_ms() < deadline);

	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		struct harness_proc *p = &h->procs[i];

		if (p->running) {
			harness_log("kubarr-%s ignored SIGTERM for %d ms; "
				    "sending SIGKILL", p->name,
				    HARNESS_STOP_TIMEOUT_MS);
			harness_dump_stacks(p->pid);
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &p->wait_status, 0);
			p->running = 0;
			p->has_status = 1;
			p->stop_ms = -1;
			rc = -1;
		}
		harness_proc_drain(p);
	}
	return rc;
}

/* Every thread's stack of a hung daemon, on stderr (gdb, when installed):
 * a hang in CI is then diagnosable from the log alone. */
void harness_dump_stacks(pid_t pid)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "command -v gdb >/dev/null && timeout 20 gdb -batch -nx -p %d "
		 "-ex 'thread apply all bt 30' 2>/dev/null | grep -E '^(Thread|#)' >&2",
		 (int)pid);
	if (system(cmd) != 0)
		harness_log("(no stacks: gdb missing or failed)");
}

int harness_finish(struct harness *h)
{
	char desc[96];
	int rc = harness_stop(h);

	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		struct harness_proc *p = &h->procs[i];

		if (!p->stopped_by_harness)
			continue;
		if (!WIFEXITED(p->wait_status) ||
		    WEXITSTATUS(p->wait_status) != 0) {
			harness_proc_describe_status(p->wait_status, desc,
						     sizeof(desc));
			harness_log("kubarr-%s after SIGTERM: %s", p->name,
				    desc);
			rc = -1;
		}
	}
	if (harness_check_logs(h) < 0)
		rc = -1;
	if (rc < 0) {
		harness_print_log_tails(h, HARNESS_TAIL_LINES);
		h->reported = 1;
		atomic_fetch_add(&harness_finish_failures, 1);
	}
	h->passed = rc == 0;
	return rc;
}

int harness_daemon_info(struct harness *h, const char *name,
			struct harness_daemon_info *info_r)
{
	struct harness_proc *p = harness_find_daemon(h, name);

	memset(info_r, 0, sizeof(*info_r));
	if (p == NULL)
		return -1;
	harness_proc_drain(p);
	harness_proc_reap(p);
	info_r->pid = p->starts > 0 ? p->pid : 0;
	info_r->running = p->running;
	info_r->has_status = p->has_status;
	info_r->wait_status = p->wait_status;
	info_r->stop_ms = p->stop_ms;
	info_r->ready_seen = p->ready_seen;
	info_r->stopping_seen = p->stopping_seen;
	info_r->starts = p->starts;
	return 0;
}

/* ---- logs ------------------------------------------------------------- */

static int harness_is_log(const char *file)
{
	size_t len = strlen(file);

	return len > 4 && strcmp(file + len - 4, ".log") == 0;
}

static int harness_has_sanitizer_mark(const char *line)
{
	for (int i = 0; harness_sanitizer_marks[i] != NULL; i++) {
		if (strstr(line, harness_sanitizer_marks[i]) != NULL)
			return 1;
	}
	return 0;
}

/* Prints each sanitizer line, plus some context after the first one. */
static int harness_check_log_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int found = 0, context = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (harness_has_sanitizer_mark(line)) {
			if (found == 0) {
				harness_log("sanitizer report in %s:", path);
				context = 25;
			}
			found++;
			fprintf(stderr, "  %ld: %s\n", lineno, line);
		} else if (context > 0) {
			fprintf(stderr, "  %ld| %s\n", lineno, line);
			context--;
		}
	}
	free(line);
	fclose(f);
	return found > 0 ? -1 : 0;
}

int harness_check_logs(struct harness *h)
{
	char path[HARNESS_PATH_MAX * 2];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (h->tmp_dir[0] == '\0')
		return 0;
	dir = opendir(h->tmp_dir);
	if (dir == NULL) {
		harness_log("opendir %s: %s", h->tmp_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!harness_is_log(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", h->tmp_dir, de->d_name);
		if (harness_check_log_file(path) < 0)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

static void harness_print_tail(const char *title, const char *path, int lines)
{
	char *buf;
	long size, from;
	size_t n;
	FILE *f = fopen(path, "r");
	char *start;

	if (f == NULL)
		return;
	buf = harness_xmalloc(HARNESS_TAIL_BYTES + 1);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	from = size > HARNESS_TAIL_BYTES ? size - HARNESS_TAIL_BYTES : 0;
	fseek(f, from, SEEK_SET);
	n = fread(buf, 1, HARNESS_TAIL_BYTES, f);
	fclose(f);
	buf[n] = '\0';
	start = buf + n;
	if (start > buf && start[-1] == '\n')
		start--;
	for (int seen = 0; start > buf; start--) {
		if (start[-1] == '\n' && ++seen == lines)
			break;
	}
	fprintf(stderr, "----- %s: last %d lines of %s -----\n%s", title,
		lines, path, start);
	if (n > 0 && buf[n - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "----- end of %s -----\n", title);
	free(buf);
}

void harness_print_log_tails(struct harness *h, int lines)
{
	char title[64];

	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++) {
		snprintf(title, sizeof(title), "kubarr-%s", h->procs[i].name);
		harness_print_tail(title, h->procs[i].log_path, lines);
	}
	fflush(stderr);
}

void harness_test_begin(struct harness *h)
{
	h->passed = 0;
	h->reported = 0;
}

int harness_test_pass(struct harness *h)
{
	if (harness_check_logs(h) < 0)
		return -1;
	h->passed = 1;
	return 0;
}

void harness_test_end(struct harness *h)
{
	if (h == NULL || h->passed || h->reported)
		return;
	h->reported = 1;
	harness_log("test failed; daemon logs follow (temp dir %s)",
		    h->tmp_dir);
	harness_check_logs(h);
	harness_print_log_tails(h, HARNESS_TAIL_LINES);
}

/* ---- tear-down -------------------------------------------------------- */

static int harness_rm_cb(const char *path, const struct stat *sb, int flag,
			 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0)
		harness_log("remove %s: %s", path, strerror(errno));
	return 0;
}

void harness_free(struct harness **hp)
{
	struct harness *h;
	const char *keep = getenv("KUBARR_KEEP_TMP");

	if (hp == NULL || *hp == NULL)
		return;
	h = *hp;
	harness_test_end(h);
	for (int i = 0; i < HARNESS_DAEMON_COUNT; i++)
		harness_proc_close(&h->procs[i]);
	http_client_free(&h->client);
	if (h->tmp_dir[0] != '\0') {
		if (keep != NULL && keep[0] != '\0')
			harness_log("KUBARR_KEEP_TMP: kept %s", h->tmp_dir);
		else
			nftw(h->tmp_dir, harness_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	}
	for (size_t i = 0; i < h->env_count; i++) {
		free(h->env[i].key);
		free(h->env[i].value);
	}
	free(h->env);
	free(h);
	*hp = NULL;
}

/* ---- HTTP ------------------------------------------------------------- */

int harness_http(struct harness *h, const char *method, const char *path,
		 const char *body, const char *const *headers,
		 struct http_resp *resp)
{
	return http_client_request(h->client, method, path, body, headers,
				   resp);
}

int harness_client_new(struct harness *h, struct http_client **client_r)
{
	return http_client_new(h->base_url, client_r);
}

int harness_wait_http_status(struct harness *h, const char *path, long status,
			     int timeout_ms, long *elapsed_ms_r)
{
	long start = harness_now_ms();
	long deadline = start + timeout_ms;
	struct http_resp resp;
	char last[512] = "no request made";

	for (;;) {
		int rc = harness_http(h, "GET", path, NULL, NULL, &resp);

		if (rc == 0 && resp.status == status) {
			http_resp_free(&resp);
			if (elapsed_ms_r != NULL)
				*elapsed_ms_r = harness_now_ms() - start;
			return 0;
		}
		if (rc == 0)
			snprintf(last, sizeof(last), "status %ld, body %.400s",
				 resp.status, resp.body);
		else
			snprintf(last, sizeof(last), "%s", resp.error);
		http_resp_free(&resp);
		if (harness_now_ms() >= deadline)
			break;
		harness_sleep_ms(HARNESS_HTTP_POLL_MS);
	}
	harness_log("GET %s did not answer %ld within %d ms; last: %s", path,
		    status, timeout_ms, last);
	return -1;
}

/* ---- accessors -------------------------------------------------------- */

const char *harness_base_url(const struct harness *h)
{
	return h->base_url;
}

int harness_http_port(const struct harness *h)
{
	return h->port;
}

const char *harness_tmp_dir(const struct harness *h)
{
	return h->tmp_dir;
}

const char *harness_data_dir(const struct harness *h)
{
	return h->data_dir;
}

const char *harness_runtime_dir(const struct harness *h)
{
	return h->run_dir;
}
