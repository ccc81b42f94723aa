/* moto_fx: see moto_fx.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "moto_fx.h"

#ifndef S3_FAULT_PROXY
#error "S3_FAULT_PROXY: the path of s3_fault_proxy.py"
#endif

/* ---- helpers ------------------------------------------------------------- */

long
mfx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
mfx_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int
mfx_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

bool
mfx_port_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Is `prog` an executable on PATH (or a path)? */
bool
mfx_have(const char *prog)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* fork/exec argv in its own process group, output to log; killed with us. */
int
mfx_spawn(struct mfx_proc *p, const char *dir, const char *name, char *const argv[],
    char *const env_add[])
{
	int fd;

	snprintf(p->log, sizeof(p->log), "%s/%s.log", dir, name);
	fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	p->pid = fork();
	if (p->pid < 0) {
		close(fd);
		return -1;
	}
	if (p->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 0; env_add != NULL && env_add[i] != NULL; i++)
			putenv(env_add[i]);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	return 0;
}

void
mfx_stop(struct mfx_proc *p)
{
	long deadline;

	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGTERM);
	deadline = mfx_now_ms() + 3000;
	while (waitpid(p->pid, NULL, WNOHANG) == 0) {
		if (mfx_now_ms() > deadline) {
			kill(-p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			break;
		}
		mfx_sleep_ms(20);
	}
	/* whatever it left in its group */
	kill(-p->pid, SIGKILL);
	p->pid = 0;
}

bool
mfx_alive(struct mfx_proc *p)
{
	return p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == 0;
}

void
mfx_print_log(const struct mfx_proc *p)
{
	char cmd[600];

	fprintf(stderr, "---- tail of %s\n", p->log);
	snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' >&2", p->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

int
mfx_wait_port(struct mfx_proc *p, int port)
{
	long deadline = mfx_now_ms() + MFX_START_MS;

	while (mfx_now_ms() < deadline) {
		if (mfx_port_open(port))
			return 0;
		if (!mfx_alive(p)) {
			p->pid = 0;
			break;
		}
		mfx_sleep_ms(50);
	}
	mfx_print_log(p);
	return -1;
}

struct mfx_buf {
	char *s;
	size_t n;
};

static size_t
mfx_collect(char *p, size_t sz, size_t n, void *arg)
{
	struct mfx_buf *b = arg;

	b->s = realloc(b->s, b->n + sz * n + 1);
	memcpy(b->s + b->n, p, sz * n);
	b->n += sz * n;
	b->s[b->n] = '\0';
	return sz * n;
}

/* A plain HTTP request (IAM set-up, the proxy's control); the body answered. */
long
mfx_http(const char *method, const char *url, const char *ctype, const char *body,
    const char *auth, char **out_r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct mfx_buf b = {0};
	long status = 0;
	char line[512];

	if (ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		h = curl_slist_append(h, line);
	}
	if (auth != NULL) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mfx_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out_r != NULL)
		*out_r = b.s != NULL ? b.s : strdup("");
	else
		free(b.s);
	return status;
}

/* Text between <tag> and </tag> in xml, into out. */
static int
mfx_xml_field(const char *xml, const char *tag, char *out, size_t size)
{
	char open[64], close_[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close_, sizeof(close_), "</%s>", tag);
	if ((a = strstr(xml, open)) == NULL || (b = strstr(a, close_)) == NULL)
		return -1;
	a += strlen(open);
	if ((size_t)(b - a) >= size)
		return -1;
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
	return 0;
}

/* ---- the doubles --------------------------------------------------------- */

static int
mfx_iam(struct moto_fx *m, const char *form, char **out_r)
{
	/* auth is still off: moto only reads the service from the credential scope */
	static const char auth[] = "AWS4-HMAC-SHA256 Credential=AKIDSETUP/20260101/us-east-1/"
				   "iam/aws4_request, SignedHeaders=host, Signature=0";
	long st = mfx_http("POST", m->moto_url, "application/x-www-form-urlencoded", form, auth,
	    out_r);

	if (st != 200) {
		fprintf(stderr, "moto IAM %s: HTTP %ld: %s\n", form, st, out_r ? *out_r : "");
		return -1;
	}
	return 0;
}

int
mfx_start_moto(struct moto_fx *m, const char *dir, const char *const *buckets)
{
	char port[16], *out = NULL;
	char *argv[] = {"moto_server", "-H", "127.0.0.1", "-p", port, NULL};
	char *env[] = {"INITIAL_NO_AUTH_ACTION_COUNT=inf", NULL};

	if (!mfx_have("moto_server")) {
		fprintf(stderr, "moto_fx: moto_server is not on PATH (the Python moto "
				"package of this machine image: pip install 'moto[server]')\n");
		return -1;
	}
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	m->moto_port = mfx_free_port();
	snprintf(port, sizeof(port), "%d", m->moto_port);
	snprintf(m->moto_url, sizeof(m->moto_url), "http://127.0.0.1:%d", m->moto_port);
	if (mfx_spawn(&m->moto, m->dir, "moto", argv, env) != 0 ||
	    mfx_wait_port(&m->moto, m->moto_port) != 0) {
		fprintf(stderr, "moto_fx: moto_server did not start\n");
		return -1;
	}
	/* auth is off: an unsigned PUT Bucket (the scope names the service) */
	for (size_t i = 0; buckets != NULL && buckets[i] != NULL; i++) {
		static const char auth[] = "AWS4-HMAC-SHA256 Credential=AKIDSETUP/20260101/"
					   "us-east-1/s3/aws4_request, SignedHeaders=host, "
					   "Signature=0";
		char url[256];
		long st;

		snprintf(url, sizeof(url), "%s/%s", m->moto_url, buckets[i]);
		if ((st = mfx_http("PUT", url, NULL, NULL, auth, NULL)) != 200) {
			fprintf(stderr, "moto_fx: create bucket %s: HTTP %ld\n", buckets[i], st);
			return -1;
		}
	}
	if (mfx_iam(m, "Action=CreateUser&UserName=kubarr&Version=2010-05-08", NULL) != 0 ||
	    mfx_iam(m, "Action=CreateAccessKey&UserName=kubarr&Version=2010-05-08", &out) != 0)
		return -1;
	if (mfx_xml_field(out, "AccessKeyId", m->ak, sizeof(m->ak)) != 0 ||
	    mfx_xml_field(out, "SecretAccessKey", m->sk, sizeof(m->sk)) != 0) {
		fprintf(stderr, "moto CreateAccessKey: %s\n", out);
		free(out);
		return -1;
	}
	free(out);
	if (mfx_iam(m, "Action=PutUserPolicy&UserName=kubarr&PolicyName=all&Version=2010-05-08"
		  "&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B"
		  "%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*"
		  "%22%7D%5D%7D", NULL) != 0)
		return -1;
	/* from now on every request must carry a valid signature of that key */
	{
		char url[128];

		snprintf(url, sizeof(url), "%s/moto-api/reset-auth", m->moto_url);
		if (mfx_http("POST", url, "text/plain", "0", NULL, NULL) != 200) {
			fprintf(stderr, "moto reset-auth failed\n");
			return -1;
		}
	}
	return 0;
}

int
mfx_start_proxy(struct moto_fx *m)
{
	char target[64], portfile[300], *py = NULL;
	char *argv[] = {NULL, S3_FAULT_PROXY, "--target", target, "--port-file", portfile, NULL};
	long deadline;

	py = mfx_have("python3") ? "python3" : mfx_have("/usr/bin/python3") ? "/usr/bin/python3" : NULL;
	if (py == NULL) {
		fprintf(stderr, "moto_fx: no python3 for s3_fault_proxy.py\n");
		return -1;
	}
	argv[0] = py;
	snprintf(target, sizeof(target), "127.0.0.1:%d", m->moto_port);
	snprintf(portfile, sizeof(portfile), "%s/proxy.port", m->dir);
	if (mfx_spawn(&m->proxy, m->dir, "proxy", argv, NULL) != 0)
		return -1;
	deadline = mfx_now_ms() + MFX_START_MS;
	while (mfx_now_ms() < deadline) {
		FILE *f = fopen(portfile, "r");

		if (f != NULL) {
			int ok = fscanf(f, "%d", &m->proxy_port);

			fclose(f);
			if (ok == 1)
				break;
		}
		mfx_sleep_ms(20);
	}
	if (m->proxy_port <= 0 || mfx_wait_port(&m->proxy, m->proxy_port) != 0) {
		fprintf(stderr, "moto_fx: s3_fault_proxy.py did not start\n");
		return -1;
	}
	snprintf(m->proxy_url, sizeof(m->proxy_url), "http://127.0.0.1:%d", m->proxy_port);
	return 0;
}

void
mfx_fault(struct moto_fx *m, const char *mode, int count, int delay_ms, const char *match)
{
	char url[128], body[256];

	snprintf(url, sizeof(url), "%s/__fault/%s", m->proxy_url, mode ? "set" : "reset");
	snprintf(body, sizeof(body), "{\"mode\":\"%s\",\"count\":%d,\"delay_ms\":%d,"
				     "\"match\":\"%s\"}", mode ? mode : "", count, delay_ms,
	    match ? match : "");
	assert_int_equal(mfx_http("POST", url, "application/json", body, NULL, NULL), 200);
}

int
mfx_proxy_stat(struct moto_fx *m, const char *name)
{
	char url[128], pat[64], *out = NULL;
	const char *p;
	int n = -1;

	snprintf(url, sizeof(url), "%s/__fault/stats", m->proxy_url);
	snprintf(pat, sizeof(pat), "\"%s\": ", name);
	assert_int_equal(mfx_http("GET", url, NULL, NULL, NULL, &out), 200);
	p = strstr(out, pat);
	assert_non_null(p);
	assert_int_equal(sscanf(p + strlen(pat), "%d", &n), 1);
	free(out);
	return n;
}

void
mfx_stop_all(struct moto_fx *m)
{
	mfx_stop(&m->proxy);
	mfx_stop(&m->moto);
}
