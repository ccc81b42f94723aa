/* log: one line per event on stderr, "<time> <daemon>[pid] <level> [req=<id>] <message>".
 * journald and Kubernetes collect stderr; nothing here buffers across lines.
 * log_warn appends strerror(errno); log_warnx does not.  Never pass secrets. */
#ifndef KUBARR_LOG_H
#define KUBARR_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(const char *daemon_name);
/* "debug", "info", "warn", "error"; returns -1 on an unknown name. */
int log_level_parse(const char *name, enum log_level *level_r);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* Request id shown on lines logged from this thread (0 = none). */
void log_set_req(uint64_t req_id);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: logs and exits with the given code (1 runtime, 2 usage/config). */
void fatalx(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* A raw pre-formatted line (access log); appends the newline. */
void log_line(const char *line, size_t len);

#endif
