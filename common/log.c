#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *log_daemon = "kubarr";
static int log_pid;
static enum log_level log_min = LOG_LEVEL_INFO;
static _Thread_local uint64_t log_req;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *daemon_name)
{
	log_daemon = daemon_name;
	log_pid = (int)getpid();
}

int
log_level_parse(const char *name, enum log_level *level_r)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

int
log_enabled(enum log_level level)
{
	return level >= log_min;
}

void
log_set_req(uint64_t req_id)
{
	log_req = req_id;
}

/* One write(2) per line so lines from several threads never interleave. */
static void log_emit(enum log_level level, const char *fmt, va_list ap, int err)
    __attribute__((format(printf, 2, 0)));

static void
log_emit(enum log_level level, const char *fmt, va_list ap, int err)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	size_t n = 0;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n += strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(buf + n, sizeof(buf) - n, ".%03ldZ %s[%d] %s ", ts.tv_nsec / 1000000,
	    log_daemon, log_pid, log_names[level]);
	if (r > 0)
		n += (size_t)r;
	if (log_req != 0 && n < sizeof(buf)) {
		r = snprintf(buf + n, sizeof(buf) - n, "req=%016llx ", (unsigned long long)log_req);
		if (r > 0)
			n += (size_t)r;
	}
	if (n < sizeof(buf)) {
		r = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (err >= 0 && n < sizeof(buf)) {
		r = snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(err));
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
}

#define LOG_FN(fn, level, err_expr)                    \
	void fn(const char *fmt, ...)                      \
	{                                                  \
		int saved = errno;                             \
		va_list ap;                                    \
		if ((level) < log_min)                         \
			return;                                    \
		va_start(ap, fmt);                             \
		log_emit((level), fmt, ap, (err_expr));        \
		va_end(ap);                                    \
		errno = saved;                                 \
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, -1)
LOG_FN(log_info, LOG_LEVEL_INFO, -1)
LOG_FN(log_warn, LOG_LEVEL_WARN, saved)
LOG_FN(log_warnx, LOG_LEVEL_WARN, -1)
LOG_FN(log_error, LOG_LEVEL_ERROR, -1)

void
fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, fmt, ap, -1);
	va_end(ap);
	exit(code);
}

void
log_line(const char *line, size_t len)
{
	struct iovec iov[2] = {
		{.iov_base = (void *)line, .iov_len = len},
		{.iov_base = "\n", .iov_len = 1},
	};
	(void)!writev(STDERR_FILENO, iov, 2);
}
