/*
 * harness_proc.h: internal to the harness library (tests include harness.h).
 *
 * One supervised child: fork/exec with a clean signal state and PDEATHSIG,
 * the systemd notify socket the harness reads READY=1 / STOPPING=1 from,
 * reaping by pid. Also the helpers harness.c shares with harness_proc.c.
 */
#ifndef KUBARR_TESTS_HARNESS_PROC_H
#define KUBARR_TESTS_HARNESS_PROC_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#define HARNESS_PROC_PATH_MAX 256
#define HARNESS_PROC_POLL_MS 2

struct harness_proc {
	const char *name;           /* "gateway"; binary is kubarr-<name> */
	char log_path[HARNESS_PROC_PATH_MAX];
	char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int notify_fd;
	pid_t pid;
	int running;
	int has_status;
	int wait_status;
	long signal_at_ms;          /* when the last signal was sent, or -1 */
	long stop_ms;               /* signal -> reaped, or -1 */
	int ready_seen;
	int stopping_seen;
	int starts;
	int stopped_by_harness;     /* SIGTERMed by harness_stop() */
};

/* Names its log and notify socket under `dir` and binds the socket. */
int harness_proc_open(struct harness_proc *p, const char *name,
		      const char *dir);
/* SIGKILLs it if still running, closes and removes the notify socket. */
void harness_proc_close(struct harness_proc *p);

/* fork/exec $KUBARR_BIN_DIR/kubarr-<name> args... with envp;
   stdin from /dev/null, stdout and stderr to the given fds. */
int harness_proc_spawn(const char *name, const char *const *args,
		       char *const *envp, int out_fd, int err_fd,
		       pid_t *pid_r);
/* Starts the daemon (not running) with envp, its output appended to its
   log; the caller's envp carries NOTIFY_SOCKET=p->notify_path. */
int harness_proc_start(struct harness_proc *p, char *const *envp);
/* Reads pending notify datagrams. */
void harness_proc_drain(struct harness_proc *p);
/* 1 if the process has ended (reaped now or before), 0 if running. */
int harness_proc_reap(struct harness_proc *p);
int harness_proc_signal(struct harness_proc *p, int sig);
/* 0 once READY=1 arrived; -1 if it died first or the deadline passed. */
int harness_proc_wait_ready(struct harness_proc *p, long deadline_ms);
/* 0 once reaped; -1 if still running at the deadline. */
int harness_proc_wait_exit(struct harness_proc *p, long deadline_ms);
void harness_proc_describe_status(int status, char *buf, size_t size);

/* From harness.c. */
__attribute__((format(printf, 1, 2)))
void harness_log(const char *fmt, ...);
void *harness_xmalloc(size_t size);
char *harness_xstrdup(const char *s);
void harness_sleep_ms(long ms);
void harness_strv_free(char **v);
struct harness;
/* The environment of a child: the test's own minus KUBARR_* and systemd
   variables, plus the harness variables, plus NOTIFY_SOCKET if not NULL. */
char **harness_envp_build(const struct harness *h, const char *notify_path);

#endif
