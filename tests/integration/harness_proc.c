/*
 * harness_proc.c: one child process of the harness (see harness_proc.h).
 *
 * Children are plain fork/exec children of the test with PDEATHSIG, so a
 * test killed by ctest's timeout leaves no daemon behind. Readiness comes
 * from the systemd notify protocol on a datagram socket the harness binds.
 * Reaping is by pid with waitpid(WNOHANG) polling; no SIGCHLD handler.
 */
#include "harness_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define HARNESS_PROC_NOTIFY_MAX 4096
#define HARNESS_PROC_READY_POLL_MS 20

int harness_proc_open(struct harness_proc *p, const char *name,
		      const char *dir)
{
	struct sockaddr_un addr;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->notify_fd = -1;
	p->signal_at_ms = -1;
	p->stop_ms = -1;
	snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", dir, name);
	if ((size_t)snprintf(p->notify_path, sizeof(p->notify_path),
			     "%s/%s.notify", dir, name)
	    >= sizeof(p->notify_path)) {
		harness_log("notify socket path too long under %s", dir);
		return -1;
	}
	p->notify_fd = socket(AF_UNIX,
			      SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->notify_fd < 0) {
		harness_log("socket: %s", strerror(errno));
		return -1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, p->notify_path, strlen(p->notify_path) + 1);
	if (bind(p->notify_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		harness_log("bind %s: %s", p->notify_path, strerror(errno));
		return -1;
	}
	return 0;
}

void harness_proc_close(struct harness_proc *p)
{
	if (!harness_proc_reap(p)) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->wait_status, 0);
		p->running = 0;
		p->has_status = 1;
	}
	if (p->notify_fd >= 0) {
		close(p->notify_fd);
		unlink(p->notify_path);
		p->notify_fd = -1;
	}
}

static void harness_proc_child(const char *path, char **argv,
			       char *const *envp, int out_fd, int err_fd,
			       pid_t parent)
{
	static const int reset[] = {
		SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1,
		SIGUSR2, SIGALRM,
	};
	sigset_t none;
	int null_fd;

	/* Die with the test process, whatever kills it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], SIG_DFL);
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	execve(path, argv, envp);
	dprintf(STDERR_FILENO, "harness: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

int harness_proc_spawn(const char *name, const char *const *args,
		       char *const *envp, int out_fd, int err_fd,
		       pid_t *pid_r)
{
	char path[PATH_MAX];
	char **argv;
	size_t argc = 0;
	pid_t parent = getpid(), pid;

	if ((size_t)snprintf(path, sizeof(path), "%s/kubarr-%s",
			     harness_bin_dir(), name) >= sizeof(path))
		return -1;
	if (access(path, X_OK) < 0) {
		harness_log("%s: %s (set KUBARR_BIN_DIR?)", path,
			    strerror(errno));
		return -1;
	}
	while (args != NULL && args[argc] != NULL)
		argc++;
	argv = harness_xmalloc((argc + 2) * sizeof(*argv));
	argv[0] = harness_xstrdup(path);
	for (size_t i = 0; i < argc; i++)
		argv[i + 1] = harness_xstrdup(args[i]);
	argv[argc + 1] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		harness_proc_child(path, argv, envp, out_fd, err_fd, parent);
	harness_strv_free(argv);
	if (pid < 0) {
		harness_log("fork: %s", strerror(errno));
		return -1;
	}
	*pid_r = pid;
	return 0;
}

int harness_proc_start(struct harness_proc *p, char *const *envp)
{
	int fd, rc;

	if (p->running) {
		harness_log("kubarr-%s is already running", p->name);
		return -1;
	}
	/* Forget what the previous run said. */
	harness_proc_drain(p);
	p->ready_seen = 0;
	p->stopping_seen = 0;
	p->has_status = 0;
	p->signal_at_ms = -1;
	p->stop_ms = -1;
	p->stopped_by_harness = 0;
	fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		harness_log("open %s: %s", p->log_path, strerror(errno));
		return -1;
	}
	dprintf(fd, "=== harness: starting kubarr-%s (start #%d) ===\n",
		p->name, p->starts + 1);
	rc = harness_proc_spawn(p->name, NULL, envp, fd, fd, &p->pid);
	close(fd);
	if (rc < 0)
		return -1;
	p->running = 1;
	p->starts++;
	return 0;
}

static void harness_proc_parse(struct harness_proc *p, char *msg)
{
	char *save = NULL;

	for (char *line = strtok_r(msg, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "READY=1") == 0)
			p->ready_seen = 1;
		else if (strcmp(line, "STOPPING=1") == 0)
			p->stopping_seen = 1;
	}
}

void harness_proc_drain(struct harness_proc *p)
{
	char buf[HARNESS_PROC_NOTIFY_MAX + 1];
	ssize_t n;

	if (p->notify_fd < 0)
		return;
	while ((n = recv(p->notify_fd, buf, HARNESS_PROC_NOTIFY_MAX,
			 MSG_DONTWAIT)) >= 0) {
		buf[n] = '\0';
		harness_proc_parse(p, buf);
	}
}

int harness_proc_reap(struct harness_proc *p)
{
	int status;
	pid_t r;

	if (!p->running)
		return 1;
	r = waitpid(p->pid, &status, WNOHANG);
	if (r == 0)
		return 0;
	p->running = 0;
	p->has_status = 1;
	p->wait_status = r == p->pid ? status : -1;
	if (p->signal_at_ms >= 0)
		p->stop_ms = harness_now_ms() - p->signal_at_ms;
	return 1;
}

int harness_proc_signal(struct harness_proc *p, int sig)
{
	if (harness_proc_reap(p)) {
		harness_log("kubarr-%s is not running", p->name);
		return -1;
	}
	p->signal_at_ms = harness_now_ms();
	p->stop_ms = -1;
	if (kill(p->pid, sig) < 0) {
		harness_log("kill kubarr-%s: %s", p->name, strerror(errno));
		return -1;
	}
	return 0;
}

int harness_proc_wait_ready(struct harness_proc *p, long deadline_ms)
{
	char desc[96];

	for (;;) {
		struct pollfd pfd = { p->notify_fd, POLLIN, 0 };
		long left;

		harness_proc_drain(p);
		if (p->ready_seen)
			return 0;
		if (harness_proc_reap(p)) {
			harness_proc_describe_status(p->wait_status, desc,
						     sizeof(desc));
			harness_log("kubarr-%s ended before READY=1: %s",
				    p->name, desc);
			return -1;
		}
		left = deadline_ms - harness_now_ms();
		if (left <= 0) {
			harness_log("kubarr-%s sent no READY=1 in time",
				    p->name);
			return -1;
		}
		poll(&pfd, 1, left < HARNESS_PROC_READY_POLL_MS ? (int)left
		     : HARNESS_PROC_READY_POLL_MS);
	}
}

int harness_proc_wait_exit(struct harness_proc *p, long deadline_ms)
{
	for (;;) {
		harness_proc_drain(p);
		if (harness_proc_reap(p)) {
			harness_proc_drain(p);
			return 0;
		}
		if (harness_now_ms() >= deadline_ms)
			return -1;
		harness_sleep_ms(HARNESS_PROC_POLL_MS);
	}
}

void harness_proc_describe_status(int status, char *buf, size_t size)
{
	if (status == -1)
		snprintf(buf, size, "lost (waitpid failed)");
	else if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)status);
}
