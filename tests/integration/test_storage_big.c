/*
 * test_storage_big.c: a 2 GiB upload and download through the gateway with
 * the gateway's memory held constant (decision 10: streamed both ways).
 *
 * The body is generated on the fly (every 8-byte word holds its own offset),
 * so neither side ever holds the file; the download is checked word by word.
 * During both transfers /proc/<gateway>/status VmRSS is sampled every 64 MiB;
 * the peak may exceed the idle figure by at most TSB_RSS_SLACK_KB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "harness.h"
#include "harness_auth.h"

#define TSB_SIZE (2ull << 30)
#define TSB_SAMPLE_EVERY (64ull << 20)
#define TSB_RSS_SLACK_KB (24 * 1024)

struct tsb {
	struct harness *h;
	struct http_client *admin;
	pid_t gw_pid;
	uint64_t pos;         /* bytes generated or checked so far */
	uint64_t next_sample;
	long rss_peak_kb;
	bool corrupt;
	uint64_t first_bad;
};

static long
tsb_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void
tsb_sample(struct tsb *t)
{
	if (t->pos >= t->next_sample) {
		long kb = tsb_rss_kb(t->gw_pid);

		if (kb > t->rss_peak_kb)
			t->rss_peak_kb = kb;
		t->next_sample += TSB_SAMPLE_EVERY;
	}
}

/* The byte at offset off of the stream. */
static inline unsigned char
tsb_byte(uint64_t off)
{
	uint64_t word = off & ~7ull;

	return (unsigned char)(word >> ((off & 7) * 8));
}

static size_t
tsb_read(char *buf, size_t size, size_t n, void *arg)
{
	struct tsb *t = arg;
	size_t k = size * n;

	if (k > TSB_SIZE - t->pos)
		k = (size_t)(TSB_SIZE - t->pos);
	for (size_t i = 0; i < k; i++)
		buf[i] = (char)tsb_byte(t->pos + i);
	t->pos += k;
	tsb_sample(t);
	return k;
}

static size_t
tsb_write(char *buf, size_t size, size_t n, void *arg)
{
	struct tsb *t = arg;
	size_t k = size * n;

	for (size_t i = 0; i < k && !t->corrupt; i++)
		if ((unsigned char)buf[i] != tsb_byte(t->pos + i)) {
			t->corrupt = true;
			t->first_bad = t->pos + i;
		}
	t->pos += k;
	tsb_sample(t);
	return k;
}

static size_t
tsb_discard(char *buf, size_t size, size_t n, void *arg)
{
	(void)buf;
	(void)arg;
	return size * n;
}

static CURL *
tsb_curl(struct tsb *t, const char *path, struct curl_slist **hl_r)
{
	CURL *curl = curl_easy_init();
	char url[512], cookie[4096], ch[4200];

	snprintf(url, sizeof(url), "%s%s", harness_base_url(t->h), path);
	assert_int_equal(http_client_cookie_header(t->admin, cookie, sizeof(cookie)), 0);
	snprintf(ch, sizeof(ch), "Cookie: %s", cookie);
	*hl_r = curl_slist_append(NULL, ch);
	*hl_r = curl_slist_append(*hl_r, "X-Requested-With: XMLHttpRequest");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *hl_r);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 500L);
	return curl;
}

static void
test_2gib(void **state)
{
	struct tsb *t = *state;
	struct harness_daemon_info info;
	struct curl_slist *hl = NULL;
	struct statvfs vfs;
	struct http_resp resp = {0};
	char file[1024];
	struct stat st;
	long idle_kb, status = 0;
	curl_off_t speed = 0;
	CURL *curl;

	snprintf(file, sizeof(file), "%s/storage", harness_data_dir(t->h));
	assert_int_equal(statvfs(file, &vfs), 0);
	if ((uint64_t)vfs.f_bavail * vfs.f_frsize < 3 * TSB_SIZE)
		skip();   /* not enough room for the file and its temporary */
	assert_int_equal(harness_daemon_info(t->h, "gateway", &info), 0);
	t->gw_pid = info.pid;
	/* warm up the paths the transfer uses, then take the idle figure */
	harness_expect(t->admin, "PUT", "/api/storage/upload?path=warm", "warm", HARNESS_CSRF, 201,
	    &resp);
	http_resp_free(&resp);
	harness_expect(t->admin, "GET", "/api/storage/download?path=warm", NULL, NULL, 200, &resp);
	http_resp_free(&resp);
	idle_kb = tsb_rss_kb(t->gw_pid);
	assert_true(idle_kb > 0);

	/* upload, Content-Length known (2 GiB > KUBARR_HTTP_MAX_BODY_BYTES) */
	t->pos = 0;
	t->next_sample = 0;
	t->rss_peak_kb = idle_kb;
	curl = tsb_curl(t, "/api/storage/upload?path=big.bin", &hl);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)TSB_SIZE);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, tsb_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, t);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, tsb_discard);
	assert_int_equal(curl_easy_perform(curl), CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(curl, CURLINFO_SPEED_UPLOAD_T, &speed);
	curl_easy_cleanup(curl);
	curl_slist_free_all(hl);
	assert_int_equal(status, 201);
	print_message("upload 2 GiB: %.0f MiB/s, gateway RSS idle %ld KiB, peak %ld KiB\n",
	    (double)speed / (1 << 20), idle_kb, t->rss_peak_kb);
	assert_true(t->rss_peak_kb - idle_kb < TSB_RSS_SLACK_KB);
	snprintf(file, sizeof(file), "%s/storage/big.bin", harness_data_dir(t->h));
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal((uint64_t)st.st_size, TSB_SIZE);

	/* download, checked byte for byte */
	t->pos = 0;
	t->next_sample = 0;
	t->rss_peak_kb = idle_kb;
	curl = tsb_curl(t, "/api/storage/download?path=big.bin", &hl);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, tsb_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	assert_int_equal(curl_easy_perform(curl), CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(curl, CURLINFO_SPEED_DOWNLOAD_T, &speed);
	curl_easy_cleanup(curl);
	curl_slist_free_all(hl);
	assert_int_equal(status, 200);
	print_message("download 2 GiB: %.0f MiB/s, gateway RSS idle %ld KiB, peak %ld KiB\n",
	    (double)speed / (1 << 20), idle_kb, t->rss_peak_kb);
	if (t->corrupt)
		fail_msg("download differs at byte %llu", (unsigned long long)t->first_bad);
	assert_int_equal(t->pos, TSB_SIZE);
	assert_true(t->rss_peak_kb - idle_kb < TSB_RSS_SLACK_KB);

	/* a range from the far end of the file (offset > 2^31) */
	{
		const char *hdrs[] = {"Range: bytes=2147483000-2147483007", NULL};

		harness_expect(t->admin, "GET", "/api/storage/download?path=big.bin", NULL, hdrs, 206,
		    &resp);
		assert_int_equal(resp.body_len, 8);
		for (int i = 0; i < 8; i++)
			assert_int_equal((unsigned char)resp.body[i], tsb_byte(2147483000ull + i));
		http_resp_free(&resp);
	}
	harness_expect(t->admin, "DELETE", "/api/storage/delete?path=big.bin", NULL, HARNESS_CSRF,
	    200, &resp);
	http_resp_free(&resp);
	assert_int_equal(stat(file, &st), -1);
}

static int
tsb_setup(void **state)
{
	struct tsb *t = calloc(1, sizeof(*t));

	*state = t;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (harness_start(&t->h) != 0)
		return -1;
	if (harness_client_new(t->h, &t->admin) != 0 || harness_login_admin(t->h, t->admin) != 0)
		return -1;
	return 0;
}

static int
tsb_teardown(void **state)
{
	struct tsb *t = *state;
	int rc = 0;

	if (t->h != NULL && harness_finish(t->h) != 0)
		rc = -1;
	http_client_free(&t->admin);
	harness_free(&t->h);
	curl_global_cleanup();
	free(t);
	return rc;
}

static int
tsb_begin(void **state)
{
	harness_test_begin(((struct tsb *)*state)->h);
	return 0;
}

static int
tsb_end(void **state)
{
	struct tsb *t = *state;
	int rc = harness_test_pass(t->h);

	harness_test_end(t->h);
	return rc;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_2gib, tsb_begin, tsb_end),
	};

	return cmocka_run_group_tests_name("storage_big", tests, tsb_setup, tsb_teardown);
}
