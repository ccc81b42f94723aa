/* storaged's notification sender with the real daemons and loopback
 * receivers (notify_sink.c): a real message for every channel type (webhook
 * with its HMAC signature, ntfy, gotify, telegram, messagebird, email over
 * SMTP), retries and the final failure in the delivery log for a receiver
 * that answers 500, is down or is too slow, the recipient masked in the log,
 * a delivery that survives storaged killed between the change and the
 * delivery, and the security events (login from a new address, password
 * changed, 2FA disabled) in the user's and every admin's inbox.  Deadlines are generous; nothing asserts on a fixed sleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "ipc.h"
#include "log.h"
#include "notify_sink.h"
#include "proto.h"
#include "storaged_fx.h"

#define T_TIMEOUT 5000
#define T_DEADLINE_MS 30000
#define CALL(op, req, rep) proto_##op##_call_sync(f->c, &(req), T_TIMEOUT, &(rep), &hold)

static struct sink *sink_ok, *sink_500, *sink_slow, *sink_smtp;

static int64_t
mkuser(struct fx *f, const char *name)
{
	db_exec(f, "INSERT INTO users(username, email, hashed_password, is_active, is_approved)"
		   " VALUES ('%s', '%s@example.com', 'x', 1, 1)", name, name);
	return db_scalar(f, "SELECT id FROM users WHERE username = '%s'", name);
}

static void
channel(struct fx *f, const char *type, const char *config)
{
	struct proto_channel_set_req r = {.channel_type = type, .has_enabled = true, .enabled = true,
	    .has_config = true, .config = config};
	struct proto_channel_set_rep rep;
	struct proto_reply hold;

	assert_int_equal(CALL(channel_set, r, rep), PROTO_OK);
	proto_reply_fini(&hold);
}

/* A user with a verified destination on type. */
static int64_t
recipient(struct fx *f, const char *name, const char *type, const char *dest)
{
	int64_t uid = mkuser(f, name);
	struct proto_pref_set_req sr = {.user_id = uid, .channel_type = type,
	    .has_destination = true, .destination = dest};
	struct proto_pref_set_rep srep;
	struct proto_pref_verify_req vr = {.user_id = uid, .channel_type = type};
	struct proto_pref_verify_rep vrep;
	struct proto_reply hold;

	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(pref_verify, vr, vrep), PROTO_OK);
	proto_reply_fini(&hold);
	return uid;
}

static void
emit(struct fx *f, const char *event, int64_t uid, const char *title, const char *message)
{
	struct proto_event_set_req evr = {.event_type = event, .has_enabled = true, .enabled = true};
	struct proto_event_set_rep evrep;
	struct proto_rec_notify_uid ids[1] = {{.id = uid}};
	struct proto_notify_emit_req er = {.event_type = event, .title = title, .message = message,
	    .user_ids = {ids, 1}};
	struct proto_notify_emit_rep erep;
	struct proto_reply hold;

	assert_int_equal(CALL(event_set, evr, evrep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(notify_emit, er, erep), PROTO_OK);
	assert_int_equal(erep.inbox, 1);
	assert_int_equal(erep.outbox, 1);
	proto_reply_fini(&hold);
}

/* Waits until uid has n log rows of status; false at the deadline. */
static bool
wait_log(struct fx *f, int64_t uid, const char *status, int n)
{
	for (long t0 = harness_now_ms(); harness_now_ms() - t0 < T_DEADLINE_MS; usleep(50000))
		if (db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE user_id = %lld AND"
				 " status = '%s'", (long long)uid, status) >= n)
			return true;
	return false;
}

/* The sink's request whose path starts with prefix, or fail. */
static void
find_req(struct sink *s, const char *prefix, struct sink_req *r)
{
	for (int i = 0; i < sink_count(s); i++) {
		sink_get(s, i, r);
		if (strncmp(r->path, prefix, strlen(prefix)) == 0)
			return;
	}
	fail_msg("no request to %s", prefix);
}

static void
assert_sent_once(struct fx *f, int64_t uid)
{
	assert_true(wait_log(f, uid, "sent", 1));
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE user_id = %lld",
			     (long long)uid), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE"
				      " user_id = %lld", (long long)uid), 0);
}

/* ---- every channel type ------------------------------------------------- */

static void
test_webhook_signed(void **state)
{
	struct fx *f = *state;
	char dest[128], prefix[64], want[128], hex[65], masked[128];
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	struct sink_req r;
	int64_t uid;

	channel(f, "webhook", "{\"secret\":\"HOOK-SECRET-1\"}");
	snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/hook/one", sink_port(sink_ok));
	uid = recipient(f, "hook_1", "webhook", dest);
	emit(f, "notify_hook", uid, "Hook title", "Hook body");
	assert_sent_once(f, uid);
	snprintf(prefix, sizeof(prefix), "/hook/one");
	find_req(sink_ok, prefix, &r);
	assert_string_equal(r.method, "POST");
	assert_non_null(strstr(r.body, "\"title\":\"Hook title\""));
	assert_non_null(strstr(r.body, "\"message\":\"Hook body\""));
	assert_non_null(strstr(r.body, "\"event_type\":\"notify_hook\""));
	/* HMAC-SHA256 with the 13-byte key (libsodium's _init takes any length) */
	{
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, (const unsigned char *)"HOOK-SECRET-1", 13);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)r.body, strlen(r.body));
		crypto_auth_hmacsha256_final(&st, mac);
	}
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(want, sizeof(want), "X-Kubarr-Signature: sha256=%s", hex);
	assert_non_null(strstr(r.headers, want));
	assert_null(strstr(r.headers, "HOOK-SECRET-1"));
	/* the log's recipient is masked */
	db_text(f, masked, sizeof(masked), "SELECT recipient FROM notification_logs WHERE"
					   " user_id = %lld", (long long)uid);
	assert_non_null(strstr(masked, "***"));
	assert_null(strstr(masked, "hook/one"));
}

static void
test_ntfy(void **state)
{
	struct fx *f = *state;
	struct sink_req r;
	int64_t uid;

	channel(f, "ntfy", "{\"token\":\"NTFY-TOKEN-2\"}");
	uid = recipient(f, "ntfy_1", "ntfy", "alerts-ntfy1");
	emit(f, "notify_ntfy", uid, "Ntfy title", "Ntfy body");
	assert_sent_once(f, uid);
	find_req(sink_ok, "/alerts-ntfy1", &r);
	assert_string_equal(r.body, "Ntfy body");
	assert_non_null(strstr(r.headers, "Title: Ntfy title"));
	assert_non_null(strstr(r.headers, "Authorization: Bearer NTFY-TOKEN-2"));
}

static void
test_gotify(void **state)
{
	struct fx *f = *state;
	struct sink_req r;
	int64_t uid;

	channel(f, "gotify", "{}");
	uid = recipient(f, "gotify_1", "gotify", "AppTokenGotify1");
	emit(f, "notify_gotify", uid, "Gotify title", "Gotify body");
	assert_sent_once(f, uid);
	find_req(sink_ok, "/message", &r);
	assert_non_null(strstr(r.headers, "X-Gotify-Key: AppTokenGotify1"));
	assert_non_null(strstr(r.body, "\"title\":\"Gotify title\""));
	assert_non_null(strstr(r.body, "\"message\":\"Gotify body\""));
}

static void
test_telegram(void **state)
{
	struct fx *f = *state;
	struct sink_req r;
	int64_t uid;

	channel(f, "telegram", "{\"bot_token\":\"TG-TOKEN-3\"}");
	uid = recipient(f, "tg_1", "telegram", "424242424");
	emit(f, "notify_tg", uid, "Tg title", "Tg body");
	assert_sent_once(f, uid);
	find_req(sink_ok, "/botTG-TOKEN-3/sendMessage", &r);
	assert_non_null(strstr(r.body, "\"chat_id\":\"424242424\""));
	assert_non_null(strstr(r.body, "Tg body"));
}

static void
test_messagebird(void **state)
{
	struct fx *f = *state;
	struct sink_req r;
	int64_t uid;

	channel(f, "messagebird", "{\"api_key\":\"MB-KEY-4\",\"originator\":\"Kubarr\"}");
	uid = recipient(f, "mb_1", "messagebird", "+15551230000");
	emit(f, "notify_mb", uid, "Mb title", "Mb body");
	assert_sent_once(f, uid);
	find_req(sink_ok, "/messages", &r);
	assert_non_null(strstr(r.headers, "Authorization: AccessKey MB-KEY-4"));
	assert_non_null(strstr(r.body, "\"recipients\":[\"+15551230000\"]"));
	assert_non_null(strstr(r.body, "\"originator\":\"Kubarr\""));
}

static void
test_email(void **state)
{
	struct fx *f = *state;
	char cfg[256];
	struct sink_req r;
	int64_t uid;

	snprintf(cfg, sizeof(cfg), "{\"smtp_host\":\"127.0.0.1\",\"smtp_port\":%d,"
				   "\"from_address\":\"kubarr@example.org\",\"from_name\":\"Kubarr\"}",
	    sink_port(sink_smtp));
	channel(f, "email", cfg);
	uid = recipient(f, "mail_1", "email", "mail1@example.net");
	emit(f, "notify_mail", uid, "Mail subject", "Mail body");
	assert_sent_once(f, uid);
	assert_true(sink_wait(sink_smtp, 1, T_DEADLINE_MS));
	sink_get(sink_smtp, 0, &r);
	assert_non_null(strstr(r.path, "<mail1@example.net>"));
	assert_non_null(strstr(r.headers, "<kubarr@example.org>"));
	assert_non_null(strstr(r.body, "Subject: Mail subject"));
	assert_non_null(strstr(r.body, "Mail body"));
}

/* ---- failures ----------------------------------------------------------- */

/* KUBARR_NOTIFY_MAX_ATTEMPTS=3: two 'retrying' rows, then 'failed'. */
static void
assert_gave_up(struct fx *f, int64_t uid, const char *error_part)
{
	char err[256];

	assert_true(wait_log(f, uid, "failed", 1));
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE user_id = %lld"
				      " AND status = 'retrying'", (long long)uid), 2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE user_id = %lld"
				      " AND status = 'sent'", (long long)uid), 0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE"
				      " user_id = %lld", (long long)uid), 0);
	db_text(f, err, sizeof(err), "SELECT error_message FROM notification_logs WHERE"
				     " user_id = %lld AND status = 'failed'", (long long)uid);
	if (strstr(err, error_part) == NULL)
		fail_msg("error %s lacks %s", err, error_part);
}

static void
test_receiver_500(void **state)
{
	struct fx *f = *state;
	char dest[128];
	int64_t uid;

	channel(f, "webhook", "{}");
	snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/err", sink_port(sink_500));
	uid = recipient(f, "err_1", "webhook", dest);
	emit(f, "notify_500", uid, "t", "m");
	assert_gave_up(f, uid, "HTTP 500");
	assert_int_equal(sink_count(sink_500), 3);
}

static void
test_receiver_down(void **state)
{
	struct fx *f = *state;
	char dest[128];
	int64_t uid;

	channel(f, "webhook", "{}");
	snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/down", sink_dead_port());
	uid = recipient(f, "down_1", "webhook", dest);
	emit(f, "notify_down", uid, "t", "m");
	assert_gave_up(f, uid, "onnect");
}

/* KUBARR_NOTIFY_TIMEOUT_MS=1500 against a receiver answering after 4 s. */
static void
test_receiver_slow(void **state)
{
	struct fx *f = *state;
	char dest[128];
	int64_t uid;

	channel(f, "webhook", "{}");
	snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/slow", sink_port(sink_slow));
	uid = recipient(f, "slow_1", "webhook", dest);
	emit(f, "notify_slow", uid, "t", "m");
	assert_gave_up(f, uid, "timed out");
}

/* The outbox row survives storaged killed before the delivery succeeded. */
static void
test_survives_kill(void **state)
{
	struct fx *f = *state;
	int port = sink_dead_port();
	struct sink *late;
	char dest[128];
	struct sink_req r;
	int64_t uid;

	channel(f, "webhook", "{}");
	snprintf(dest, sizeof(dest), "http://127.0.0.1:%d/late", port);
	uid = recipient(f, "late_1", "webhook", dest);
	emit(f, "notify_late", uid, "Late title", "Late body");
	assert_true(wait_log(f, uid, "retrying", 1));
	assert_int_equal(harness_kill(f->h, "storaged", SIGKILL), 0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE"
				      " user_id = %lld", (long long)uid), 1);
	late = sink_start_at(SINK_OK, 0, port);
	assert_non_null(late);
	assert_int_equal(harness_restart(f->h, "storaged"), 0);
	storaged_fx_connect(f);
	assert_true(wait_log(f, uid, "sent", 1));
	assert_true(sink_wait(late, 1, T_DEADLINE_MS));
	sink_get(late, 0, &r);
	assert_string_equal(r.path, "/late");
	assert_non_null(strstr(r.body, "Late body"));
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE"
				      " user_id = %lld", (long long)uid), 0);
	sink_stop(&late);
}

/* ---- security events (seeded enabled): the user and every admin ---------- */

static long long
inbox_of(struct fx *f, int64_t uid, const char *event)
{
	return db_scalar(f, "SELECT COUNT(*) FROM user_notifications WHERE user_id = %lld AND"
			    " event_type = '%s'", (long long)uid, event);
}

static void
session(struct fx *f, const char *id, int64_t uid, const char *ip)
{
	struct proto_session_create_req r = {.id = id, .user_id = uid, .has_ip_address = true,
	    .ip_address = ip};
	struct proto_session_create_rep rep;
	struct proto_reply hold;

	assert_int_equal(CALL(session_create, r, rep), PROTO_OK);
	proto_reply_fini(&hold);
}

static void
test_security_events(void **state)
{
	struct fx *f = *state;
	int64_t admin = mkuser(f, "sec_admin"), user = mkuser(f, "sec_user");
	struct proto_user_set_password_req pr = {.id = user, .hashed_password = "$argon2id$x"};
	struct proto_user_set_password_rep prep;
	struct proto_user_set_totp_req tr = {.id = user, .totp_enabled = true, .has_totp_secret = true,
	    .totp_secret = "s"};
	struct proto_user_set_totp_rep trep;
	struct proto_reply hold;
	char msg[256];

	db_exec(f, "INSERT INTO user_roles(user_id, role_id) SELECT %lld, id FROM roles WHERE"
		   " name = 'admin'", (long long)admin);
	/* the first session is not "new"; the same address again is not either */
	session(f, "00000000-0000-4000-8000-000000000001", user, "192.0.2.1");
	session(f, "00000000-0000-4000-8000-000000000002", user, "192.0.2.1");
	assert_int_equal(inbox_of(f, user, "login_new_address"), 0);
	session(f, "00000000-0000-4000-8000-000000000003", user, "198.51.100.7");
	assert_int_equal(inbox_of(f, user, "login_new_address"), 1);
	assert_int_equal(inbox_of(f, admin, "login_new_address"), 1);
	db_text(f, msg, sizeof(msg), "SELECT message FROM user_notifications WHERE user_id = %lld"
				     " AND event_type = 'login_new_address'", (long long)admin);
	assert_non_null(strstr(msg, "sec_user"));
	assert_non_null(strstr(msg, "198.51.100.7"));
	assert_string_equal(msg, "sec_user signed in from a new address: 198.51.100.7.");

	assert_int_equal(CALL(user_set_password, pr, prep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(inbox_of(f, user, "password_changed"), 1);
	assert_int_equal(inbox_of(f, admin, "password_changed"), 1);

	/* enabling 2FA is not a security event; clearing it is */
	assert_int_equal(CALL(user_set_totp, tr, trep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(inbox_of(f, user, "2fa_disabled"), 0);
	memset(&tr, 0, sizeof(tr));
	tr.id = user;
	tr.has_clear = true;
	tr.clear = true;
	assert_int_equal(CALL(user_set_totp, tr, trep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(inbox_of(f, user, "2fa_disabled"), 1);
	assert_int_equal(inbox_of(f, admin, "2fa_disabled"), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications WHERE"
				      " event_type = '2fa_disabled' AND severity = 'warning'"), 2);

	/* user_created (enabled here): the admins' inbox, not the new user's */
	{
		struct proto_user_create_req cr = {.username = "sec_new", .email = "sec_new@example.com",
		    .hashed_password = "$argon2id$x", .is_active = true, .is_approved = true};
		struct proto_user_create_rep crep;
		int64_t nid;

		db_exec(f, "UPDATE notification_events SET enabled = 1 WHERE event_type = 'user_created'");
		assert_int_equal(CALL(user_create, cr, crep), PROTO_OK);
		nid = crep.id;
		proto_reply_fini(&hold);
		assert_int_equal(inbox_of(f, admin, "user_created"), 1);
		assert_int_equal(inbox_of(f, nid, "user_created"), 0);
		db_text(f, msg, sizeof(msg), "SELECT message FROM user_notifications WHERE"
					     " user_id = %lld AND event_type = 'user_created'", (long long)admin);
		assert_string_equal(msg, "New user: sec_new.");
		db_exec(f, "UPDATE notification_events SET enabled = 0 WHERE event_type = 'user_created'");
	}

	/* a disabled event writes nothing */
	db_exec(f, "UPDATE notification_events SET enabled = 0 WHERE event_type = 'password_changed'");
	assert_int_equal(CALL(user_set_password, pr, prep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(inbox_of(f, user, "password_changed"), 1);
	db_exec(f, "UPDATE notification_events SET enabled = 1 WHERE event_type = 'password_changed'");
}

static int
setup(void **state)
{
	char url[64], *env[32];
	int n = 0;
	static const char *const fixed[] = {"KUBARR_NOTIFY_POLL_MS", "50",
		"KUBARR_NOTIFY_BACKOFF_MS", "400", "KUBARR_NOTIFY_BACKOFF_MAX_MS", "800",
		"KUBARR_NOTIFY_MAX_ATTEMPTS", "3", "KUBARR_NOTIFY_TIMEOUT_MS", "1500"};
	static const char *const urls[] = {"KUBARR_NOTIFY_NTFY_URL", "KUBARR_NOTIFY_GOTIFY_URL",
		"KUBARR_NOTIFY_TELEGRAM_URL", "KUBARR_NOTIFY_MESSAGEBIRD_URL"};
	int rc;

	if (sodium_init() < 0)
		return -1;
	sink_ok = sink_start(SINK_OK, 0);
	sink_500 = sink_start(SINK_500, 0);
	sink_slow = sink_start(SINK_SLOW, 4000);
	sink_smtp = sink_start(SINK_SMTP, 0);
	if (sink_ok == NULL || sink_500 == NULL || sink_slow == NULL || sink_smtp == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		env[n++] = (char *)fixed[i];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", sink_port(sink_ok));
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		env[n++] = (char *)urls[i];
		env[n++] = url;
	}
	env[n] = NULL;
	rc = storaged_fx_setup_env(state, (const char *const *)env);
	return rc;
}

static int
teardown(void **state)
{
	int rc = storaged_fx_teardown(state);

	sink_stop(&sink_ok);
	sink_stop(&sink_500);
	sink_stop(&sink_slow);
	sink_stop(&sink_smtp);
	return rc;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_signed),
		cmocka_unit_test(test_ntfy),
		cmocka_unit_test(test_gotify),
		cmocka_unit_test(test_telegram),
		cmocka_unit_test(test_messagebird),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_receiver_500),
		cmocka_unit_test(test_receiver_down),
		cmocka_unit_test(test_receiver_slow),
		cmocka_unit_test(test_survives_kill),
		cmocka_unit_test(test_security_events),
	};
	int rc;

	log_init("test");
	log_set_level(getenv("KUBARR_LOG_LEVEL") && strcmp(getenv("KUBARR_LOG_LEVEL"), "debug") == 0 ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	ipc_fini();
	return rc;
}
