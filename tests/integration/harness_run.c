/*
 * harness_run.c: one-shot invocations of a daemon binary (--help,
 * --version, --check-config ...) with the harness environment; stdout and
 * stderr are appended to $tmp/<name>-cli.{stdout,stderr}.log, so the
 * sanitizer scan of the logs covers them too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_proc.h"

#define HARNESS_RUN_PATH_MAX 256

static int harness_run_open_capture(const char *path, off_t *offset_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0) {
		harness_log("open %s: %s", path, strerror(errno));
		return -1;
	}
	*offset_r = lseek(fd, 0, SEEK_END);
	return fd;
}

static char *harness_run_read_from(int fd, off_t offset)
{
	size_t len = 0, cap = 4096;
	char *buf = harness_xmalloc(cap);
	ssize_t n;

	for (;;) {
		if (len + 1 >= cap) {
			char *grown = realloc(buf, cap * 2);

			if (grown == NULL)
				break;
			buf = grown;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - len - 1, offset + (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

int harness_run(struct harness *h, const char *name, const char *const *args,
		int timeout_ms, struct harness_run_result *r)
{
	char out_path[HARNESS_RUN_PATH_MAX], err_path[HARNESS_RUN_PATH_MAX];
	off_t out_off = 0, err_off = 0;
	int out_fd, err_fd = -1, rc = -1, spawned;
	char **envp;
	long deadline;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	snprintf(out_path, sizeof(out_path), "%s/%s-cli.stdout.log",
		 harness_tmp_dir(h), name);
	snprintf(err_path, sizeof(err_path), "%s/%s-cli.stderr.log",
		 harness_tmp_dir(h), name);
	out_fd = harness_run_open_capture(out_path, &out_off);
	if (out_fd < 0)
		goto out;
	err_fd = harness_run_open_capture(err_path, &err_off);
	if (err_fd < 0)
		goto out;
	envp = harness_envp_build(h, NULL);
	spawned = harness_proc_spawn(name, args, envp, out_fd, err_fd, &pid);
	harness_strv_free(envp);
	if (spawned < 0)
		goto out;

	deadline = harness_now_ms() + timeout_ms;
	for (;;) {
		pid_t w = waitpid(pid, &r->wait_status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0) {
			harness_log("waitpid: %s", strerror(errno));
			goto out;
		}
		if (harness_now_ms() >= deadline) {
			harness_log("kubarr-%s still running after %d ms; "
				    "killing it", name, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &r->wait_status, 0);
			r->timed_out = 1;
			break;
		}
		harness_sleep_ms(HARNESS_PROC_POLL_MS);
	}
	r->out = harness_run_read_from(out_fd, out_off);
	r->err = harness_run_read_from(err_fd, err_off);
	rc = 0;
out:
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return rc;
}

void harness_run_result_free(struct harness_run_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}
