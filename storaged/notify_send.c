/* notify_send: the sender thread (see notify_send.h).
 *
 * Channels (config = the channel's clear JSON, dest = the user's destination):
 *   webhook      POST dest, JSON {event_type, title, message}; with config
 *                "secret": header X-Kubarr-Signature: sha256=<hex HMAC-SHA256
 *                of the body>
 *   ntfy         POST <url>/<dest topic>, body the message, header Title;
 *                config "token": Authorization: Bearer
 *   gotify       POST <url>/message, JSON {title, message, priority}; header
 *                X-Gotify-Key: dest (the user's application token)
 *   telegram     POST <url>/bot<bot_token>/sendMessage {chat_id: dest, text}
 *   messagebird  POST <url>/messages {originator, recipients:[dest], body},
 *                Authorization: AccessKey <api_key>
 *   email        SMTP to smtp_host:smtp_port; use_tls: STARTTLS required,
 *                use_ssl: implicit TLS (smtps); username/password when set
 * <url> is the config's "url" when set, else KUBARR_NOTIFY_<TYPE>_URL.
 * A 2xx status (SMTP: curl's success) is a delivery. */
#include "notify_send.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ops_notify.h"
#include "writer.h"
#include "xmalloc.h"

#define NOTIFY_SEND_BATCH 50

struct notify_item {
	int64_t id, attempts;
	char *channel_type, *destination, *event_type, *title, *message;
	/* delivery */
	CURL *easy;
	struct curl_slist *headers, *rcpt;
	char *url, *body;
	size_t body_off;
	char errbuf[CURL_ERROR_SIZE];
	char *error;               /* NULL: delivered */
};

struct notify_send {
	struct writer *w;
	struct notify_send_config cfg;
	struct db_conn *rc;        /* read-only: due check, channel configs */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, task_done;
	int task_rc;
	struct notify_item *items;
	size_t n, cap;
};

static const char notify_send_sql_due[] =
    "SELECT EXISTS(SELECT 1 FROM notification_outbox WHERE next_attempt_at <= ?)";
static const char notify_send_sql_channel[] =
    "SELECT enabled, config FROM notification_channels WHERE channel_type = ?";

/* ---- writer tasks ------------------------------------------------------- */

static char *
notify_send_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return xstrdup(t != NULL ? (const char *)t : "");
}

static void
notify_send_row(void *arg, sqlite3_stmt *row)
{
	struct notify_send *s = arg;
	struct notify_item *it;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
	}
	it = &s->items[s->n++];
	memset(it, 0, sizeof(*it));
	it->id = sqlite3_column_int64(row, 0);
	it->channel_type = notify_send_col(row, 2);
	it->destination = notify_send_col(row, 3);
	it->event_type = notify_send_col(row, 4);
	it->title = notify_send_col(row, 5);
	it->message = notify_send_col(row, 6);
	it->attempts = sqlite3_column_int64(row, 7);
}

/* Writer thread, after the task's commit or rollback. */
static void
notify_send_task_done(void *arg, int rc)
{
	struct notify_send *s = arg;

	pthread_mutex_lock(&s->lock);
	s->task_rc = rc;
	s->task_done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Writer thread. */
static int
notify_send_take_task(struct db_conn *c, void *arg, bool *again_r)
{
	struct notify_send *s = arg;
	/* the lease outlives the slowest batch, so nobody takes a row in flight */
	int64_t lease_s = s->cfg.timeout_ms / 1000 * 2 + 30;
	int rc = ops_notify_outbox_lease(c, NOTIFY_SEND_BATCH, lease_s, notify_send_row, s);

	*again_r = false;
	return rc; /* on a failure the sender drops what was read (rolled back) */
}

/* RFC 3339 UTC with milliseconds, ms from now. */
static void
notify_send_time(char out[25], int64_t delay_ms)
{
	struct timespec ts;
	struct tm tm;
	int64_t ms;
	time_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + delay_ms;
	t = (time_t)(ms / 1000);
	char sec[24], buf[48];

	gmtime_r(&t, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%.19s.%03dZ", sec, (int)(ms % 1000));
	memcpy(out, buf, 24);
	out[24] = '\0';
}

/* Capped exponential backoff with jitter: a delay in [d/2, d], d = base * 2^a. */
static int64_t
notify_send_backoff(const struct notify_send_config *cfg, int64_t attempts)
{
	int64_t d = cfg->backoff_base_ms;

	for (int64_t i = 0; i < attempts && d < cfg->backoff_max_ms; i++)
		d *= 2;
	if (d > cfg->backoff_max_ms)
		d = cfg->backoff_max_ms;
	if (d < 2)
		return d;
	return d / 2 + (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1));
}

/* Writer thread: every attempt of the batch, in one transaction. */
static int
notify_send_result_task(struct db_conn *c, void *arg, bool *again_r)
{
	struct notify_send *s = arg;
	int rc = 0;

	*again_r = false;
	for (size_t i = 0; i < s->n; i++) {
		struct notify_item *it = &s->items[i];
		struct proto_outbox_result_req req;
		struct op_ctx ctx;
		nng_msg *reply = NULL;
		char next[25];

		memset(&req, 0, sizeof(req));
		memset(&ctx, 0, sizeof(ctx));
		ctx.c = c;
		req.id = it->id;
		req.ok = it->error == NULL;
		if (!req.ok) {
			req.has_error = true;
			req.error = it->error;
			if (it->attempts + 1 >= s->cfg.max_attempts) {
				req.has_give_up = true;
				req.give_up = true;
			} else {
				notify_send_time(next, notify_send_backoff(&s->cfg, it->attempts));
				req.has_next_attempt_at = true;
				req.next_attempt_at = next;
			}
		}
		if (ops_outbox_result(&ctx, &req, &reply) != PROTO_OK) {
			/* not_found: the row went meanwhile (only after a lease ran out) */
			log_warnx("notify: recording outbox %lld: %s", (long long)it->id,
			    ctx.detail != NULL ? ctx.detail : "?");
			if (ctx.field == NULL)
				rc = -1;
		}
		if (reply != NULL)
			nng_msg_free(reply);
	}
	return rc;
}

/* Submits a task and waits until its transaction ended; 0 once committed. */
static int
notify_send_run_task(struct notify_send *s, op_task_fn fn)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	s->task_done = false;
	pthread_mutex_unlock(&s->lock);
	writer_submit_task_done(s->w, fn, s, notify_send_task_done);
	pthread_mutex_lock(&s->lock);
	while (!s->task_done)
		pthread_cond_wait(&s->cond, &s->lock);
	rc = s->task_rc;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- requests ----------------------------------------------------------- */

static size_t
notify_send_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static size_t
notify_send_upload(char *p, size_t size, size_t n, void *arg)
{
	struct notify_item *it = arg;
	size_t left = strlen(it->body) - it->body_off, k = size * n < left ? size * n : left;

	memcpy(p, it->body + it->body_off, k);
	it->body_off += k;
	return k;
}

static const char *
notify_send_cfg_str(json_t *cfg, const char *key)
{
	const char *v = json_string_value(json_object_get(cfg, key));

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The base URL without a trailing slash (xmalloc'd), or NULL. */
static char *
notify_send_base(json_t *cfg, const char *def)
{
	const char *v = notify_send_cfg_str(cfg, "url");
	char *b;
	size_t n;

	if (v == NULL)
		v = def;
	if (v == NULL || v[0] == '\0')
		return NULL;
	b = xstrdup(v);
	n = strlen(b);
	while (n > 0 && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

static char *
notify_send_json(json_t *o)
{
	char *d = json_dumps(o, JSON_COMPACT), *r = xstrdup(d != NULL ? d : "{}");

	free(d);
	json_decref(o);
	return r;
}

/* Appends the header "<name>: <v>". */
static void
notify_send_header(struct notify_item *it, const char *name, const char *v)
{
	char *h = xasprintf("%s: %s", name, v);

	it->headers = curl_slist_append(it->headers, h);
	free(h);
}

/* Fills it->url, body, headers for its channel; an error text otherwise. */
static const char *
notify_send_prepare(struct notify_send *s, struct notify_item *it, json_t *cfg)
{
	const char *ct = it->channel_type, *v;
	char *base;

	if (strcmp(ct, "webhook") == 0) {
		it->url = xstrdup(it->destination);
		it->body = notify_send_json(json_pack("{s:s, s:s, s:s}", "event_type", it->event_type,
		    "title", it->title, "message", it->message));
		it->headers = curl_slist_append(it->headers, "Content-Type: application/json");
		if ((v = notify_send_cfg_str(cfg, "secret")) != NULL) {
			unsigned char mac[crypto_auth_hmacsha256_BYTES];
			char hex[2 * sizeof(mac) + 1];
			crypto_auth_hmacsha256_state st;

			crypto_auth_hmacsha256_init(&st, (const unsigned char *)v, strlen(v));
			crypto_auth_hmacsha256_update(&st, (const unsigned char *)it->body,
			    strlen(it->body));
			crypto_auth_hmacsha256_final(&st, mac);
			sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
			{
				char sig[sizeof(hex) + 8];

				snprintf(sig, sizeof(sig), "sha256=%s", hex);
				notify_send_header(it, "X-Kubarr-Signature", sig);
			}
		}
		return NULL;
	}
	if (strcmp(ct, "ntfy") == 0) {
		if ((base = notify_send_base(cfg, s->cfg.ntfy_url)) == NULL)
			return "ntfy: no url";
		it->url = xasprintf("%s/%s", base, it->destination);
		free(base);
		it->body = xstrdup(it->message);
		notify_send_header(it, "Title", it->title);
		if ((v = notify_send_cfg_str(cfg, "token")) != NULL)
			{
				char *b = xasprintf("Bearer %s", v);

				notify_send_header(it, "Authorization", b);
				free(b);
			}
		return NULL;
	}
	if (strcmp(ct, "gotify") == 0) {
		if ((base = notify_send_base(cfg, s->cfg.gotify_url)) == NULL)
			return "gotify: no url";
		it->url = xasprintf("%s/message", base);
		free(base);
		it->body = notify_send_json(json_pack("{s:s, s:s, s:i}", "title", it->title,
		    "message", it->message, "priority", 5));
		it->headers = curl_slist_append(it->headers, "Content-Type: application/json");
		notify_send_header(it, "X-Gotify-Key", it->destination);
		return NULL;
	}
	if (strcmp(ct, "telegram") == 0) {
		if ((v = notify_send_cfg_str(cfg, "bot_token")) == NULL)
			return "telegram: no bot_token";
		if ((base = notify_send_base(cfg, s->cfg.telegram_url)) == NULL)
			return "telegram: no url";
		it->url = xasprintf("%s/bot%s/sendMessage", base, v);
		free(base);
		{
			char *text = xasprintf("%s\n%s", it->title, it->message);

			it->body = notify_send_json(json_pack("{s:s, s:s}", "chat_id", it->destination,
			    "text", text));
			free(text);
		}
		it->headers = curl_slist_append(it->headers, "Content-Type: application/json");
		return NULL;
	}
	if (strcmp(ct, "messagebird") == 0) {
		const char *orig = notify_send_cfg_str(cfg, "originator");

		if ((v = notify_send_cfg_str(cfg, "api_key")) == NULL)
			return "messagebird: no api_key";
		if ((base = notify_send_base(cfg, s->cfg.messagebird_url)) == NULL)
			return "messagebird: no url";
		it->url = xasprintf("%s/messages", base);
		free(base);
		{
			char *text = xasprintf("%s: %s", it->title, it->message);

			it->body = notify_send_json(json_pack("{s:s, s:[s], s:s}", "originator",
			    orig != NULL ? orig : "Kubarr", "recipients", it->destination, "body", text));
			free(text);
		}
		it->headers = curl_slist_append(it->headers, "Content-Type: application/json");
		{
			char *b = xasprintf("AccessKey %s", v);

			notify_send_header(it, "Authorization", b);
			free(b);
		}
		return NULL;
	}
	if (strcmp(ct, "email") == 0) {
		const char *host = notify_send_cfg_str(cfg, "smtp_host");
		const char *from = notify_send_cfg_str(cfg, "from_address");
		const char *name = notify_send_cfg_str(cfg, "from_name");
		json_t *port = json_object_get(cfg, "smtp_port");
		bool ssl = json_is_true(json_object_get(cfg, "use_ssl"));
		char date[64];
		time_t now = time(NULL);
		struct tm tm;

		if (host == NULL || from == NULL)
			return "email: smtp_host and from_address are required";
		if (strpbrk(it->destination, "\r\n<>") != NULL || strpbrk(it->title, "\r\n") != NULL)
			return "email: bad address or subject";
		it->url = xasprintf("%s://%s:%lld", ssl ? "smtps" : "smtp", host,
		    json_is_integer(port) ? (long long)json_integer_value(port) : ssl ? 465LL : 587LL);
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		it->body = xasprintf("Date: %s\r\nFrom: %s <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
				     "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		    date, name != NULL ? name : "Kubarr", from, it->destination, it->title, it->message);
		{
			char *r = xasprintf("<%s>", it->destination);

			it->rcpt = curl_slist_append(NULL, r);
			free(r);
		}
		return NULL;
	}
	return "unknown channel type";
}

/* The channel's config, or an error. */
static const char *
notify_send_channel(struct db_conn *c, const char *ct, json_t **cfg_r)
{
	sqlite3_stmt *st = db_stmt(c, notify_send_sql_channel);
	const char *err = NULL;
	int rc;

	*cfg_r = NULL;
	if (st == NULL)
		return "database error";
	db_bind_text(st, 1, ct);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!sqlite3_column_int(st, 0))
			err = "channel not enabled";
		else if ((*cfg_r = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL)) ==
		    NULL || !json_is_object(*cfg_r))
			err = "channel config is not a JSON object";
	} else
		err = rc == SQLITE_DONE ? "channel not configured" : "database error";
	sqlite3_reset(st);
	if (err != NULL && *cfg_r != NULL) {
		json_decref(*cfg_r);
		*cfg_r = NULL;
	}
	return err;
}

static void
notify_send_easy(struct notify_send *s, struct notify_item *it, json_t *cfg)
{
	CURL *e = curl_easy_init();
	long tmo = (long)s->cfg.timeout_ms;

	if (e == NULL) {
		it->error = xstrdup("curl_easy_init failed");
		return;
	}
	it->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, it->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo < 5000 ? tmo : 5000L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, it->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, it);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, notify_send_discard);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	if (it->rcpt != NULL) {
		const char *u = notify_send_cfg_str(cfg, "username");
		const char *p = notify_send_cfg_str(cfg, "password");
		char *from = xasprintf("<%s>", notify_send_cfg_str(cfg, "from_address"));

		curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
		free(from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, it->rcpt);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, notify_send_upload);
		curl_easy_setopt(e, CURLOPT_READDATA, it);
		if (json_is_true(json_object_get(cfg, "use_tls")))
			curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		if (u != NULL)
			curl_easy_setopt(e, CURLOPT_USERNAME, u);
		if (p != NULL)
			curl_easy_setopt(e, CURLOPT_PASSWORD, p);
	} else {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->body);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, it->headers);
	}
}

/* Delivers the batch in parallel; each item ends with error NULL or set. */
static void
notify_send_deliver(struct notify_send *s)
{
	CURLM *m = curl_multi_init();
	int running = 0, left;
	CURLMsg *msg;

	for (size_t i = 0; i < s->n; i++) {
		struct notify_item *it = &s->items[i];
		json_t *cfg = NULL;
		const char *err = notify_send_channel(s->rc, it->channel_type, &cfg);

		if (err == NULL)
			err = notify_send_prepare(s, it, cfg);
		if (err == NULL)
			notify_send_easy(s, it, cfg);
		if (err != NULL)
			it->error = xasprintf("%s: %s", it->channel_type, err);
		else if (it->easy != NULL)
			curl_multi_add_handle(m, it->easy);
		json_decref(cfg);
	}
	db_stmts_settle(s->rc);
	do {
		curl_multi_perform(m, &running);
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 200, NULL);
	} while (running > 0);
	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		struct notify_item *it = NULL;
		long code = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
		if (msg->data.result != CURLE_OK)
			it->error = xasprintf("%s", it->errbuf[0] ? it->errbuf :
			    curl_easy_strerror(msg->data.result));
		else if (it->rcpt == NULL) {
			curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &code);
			if (code < 200 || code > 299)
				it->error = xasprintf("HTTP %ld", code);
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		struct notify_item *it = &s->items[i];

		if (it->easy != NULL) {
			curl_multi_remove_handle(m, it->easy);
			curl_easy_cleanup(it->easy);
		}
	}
	curl_multi_cleanup(m);
}

static void
notify_item_fini(struct notify_item *it)
{
	free(it->channel_type);
	free(it->destination);
	free(it->event_type);
	free(it->title);
	free(it->message);
	free(it->url);
	free(it->body);
	free(it->error);
	curl_slist_free_all(it->headers);
	curl_slist_free_all(it->rcpt);
}

static void
notify_send_clear(struct notify_send *s)
{
	for (size_t i = 0; i < s->n; i++)
		notify_item_fini(&s->items[i]);
	s->n = 0;
}

int
notify_send_test(struct notify_send *s, struct db_conn *c, const char *channel_type,
    const char *destination, char **err_r)
{
	struct notify_item it;
	json_t *cfg = NULL;
	const char *err;
	int rc = -1;

	memset(&it, 0, sizeof(it));
	it.channel_type = xstrdup(channel_type);
	it.destination = xstrdup(destination);
	it.event_type = xstrdup("test");
	it.title = xstrdup("Kubarr test notification");
	it.message = xstrdup("This is a test message from Kubarr: this destination works.");
	if ((err = notify_send_channel(c, channel_type, &cfg)) == NULL)
		err = notify_send_prepare(s, &it, cfg);
	if (err == NULL)
		notify_send_easy(s, &it, cfg);
	json_decref(cfg);
	if (err != NULL) {
		*err_r = xasprintf("%s: %s", channel_type, err);
	} else if (it.error != NULL) {
		*err_r = it.error;
		it.error = NULL;
	} else {
		CURLcode cc = curl_easy_perform(it.easy);
		long code = 0;

		if (cc != CURLE_OK)
			*err_r = xstrdup(it.errbuf[0] ? it.errbuf : curl_easy_strerror(cc));
		else if (it.rcpt == NULL &&
		    (curl_easy_getinfo(it.easy, CURLINFO_RESPONSE_CODE, &code), code < 200 || code > 299))
			*err_r = xasprintf("HTTP %ld", code);
		else
			rc = 0;
	}
	if (it.easy != NULL)
		curl_easy_cleanup(it.easy);
	notify_item_fini(&it);
	return rc;
}

/* Whether rows are due (own read-only connection: the writer is not asked). */
static bool
notify_send_due(struct notify_send *s)
{
	sqlite3_stmt *st = db_stmt(s->rc, notify_send_sql_due);
	char now[25];
	bool due = false;

	if (st == NULL)
		return false;
	db_now(now);
	db_bind_text(st, 1, now);
	if (sqlite3_step(st) == SQLITE_ROW)
		due = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return due;
}

static void *
notify_send_main(void *arg)
{
	struct notify_send *s = arg;

	for (;;) {
		struct timespec ts;
		bool stop;

		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		while (!stop && notify_send_due(s)) {
			if (notify_send_run_task(s, notify_send_take_task) != 0 || s->n == 0) {
				notify_send_clear(s); /* not leased after all: nothing to deliver */
				break;
			}
			notify_send_deliver(s);
			notify_send_run_task(s, notify_send_result_task);
			notify_send_clear(s);
			pthread_mutex_lock(&s->lock);
			stop = s->stop;
			pthread_mutex_unlock(&s->lock);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(s->cfg.poll_ms % 1000) * 1000000L;
		ts.tv_sec += s->cfg.poll_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&s->lock);
		if (!s->stop)
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int
notify_send_start(struct notify_send **s_r, struct writer *w, const struct db_config *dbc,
    const struct notify_send_config *cfg, char **err_r)
{
	struct notify_send *s = xcalloc(1, sizeof(*s));

	*s_r = NULL;
	if (sodium_init() < 0) {
		*err_r = xstrdup("sodium_init failed");
		free(s);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*err_r = xstrdup("curl_global_init failed");
		free(s);
		return -1;
	}
	s->w = w;
	s->cfg = *cfg;
	if (s->cfg.max_attempts < 1)
		s->cfg.max_attempts = 1;
	if (db_open(&s->rc, dbc, true, err_r) != 0) {
		free(s);
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, notify_send_main, s) != 0) {
		*err_r = xstrdup("cannot start the notification sender");
		db_close(&s->rc);
		free(s);
		return -1;
	}
	*s_r = s;
	return 0;
}

void
notify_send_stop(struct notify_send **sp)
{
	struct notify_send *s = *sp;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	notify_send_clear(s);
	free(s->items);
	db_close(&s->rc);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	curl_global_cleanup();
	free(s);
	*sp = NULL;
}
