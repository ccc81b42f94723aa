/* storaged's notify family (ops 400-499) through its socket, with the real
 * daemons (one harness for the group): every op's reply, typed errors naming
 * the field, masking (the secret bytes never appear in a read's reply), the
 * masked round trip, emission counts and rows, the outbox paths and the log,
 * and nothing written by a failed write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "harness.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "storaged_fx.h"

#define T_TIMEOUT 3000
#define CALL(op, req, rep) proto_##op##_call_sync(f->c, &(req), T_TIMEOUT, &(rep), &hold)

static int64_t
mkuser(struct fx *f, const char *name)
{
	db_exec(f, "INSERT INTO users(username, email, hashed_password, is_active, is_approved)"
		   " VALUES ('%s', '%s@example.com', 'x', 1, 1)", name, name);
	return db_scalar(f, "SELECT id FROM users WHERE username = '%s'", name);
}

static void
expect_error(struct proto_reply *hold, enum proto_status got, enum proto_status want,
    const char *field)
{
	struct proto_error e;
	const char *err = NULL;

	assert_int_equal(got, want);
	assert_int_equal(proto_error_decode(&hold->env, &e, &err), 0);
	if (field != NULL) {
		assert_true(e.has_field);
		assert_string_equal(e.field, field);
	}
	proto_reply_fini(hold);
}

/* Whether the raw reply carries the bytes of s anywhere. */
static bool
reply_has(const struct proto_reply *hold, const char *s)
{
	const char *b = nng_msg_body(hold->msg);
	size_t len = nng_msg_len(hold->msg), n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(b + i, s, n) == 0)
			return true;
	return false;
}

static void
assert_no_secret(const struct proto_reply *hold)
{
	static const char *const secrets[] = {"TG-SECRET-1", "PW-SECRET-2", "AK-SECRET-3",
		"carol@mail.example", "5551234567", "bob@example.com", "987654321"};

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (reply_has(hold, secrets[i]))
			fail_msg("secret %s in a read's reply", secrets[i]);
}

static void
channel_set(struct fx *f, const char *type, int enabled, const char *config)
{
	struct proto_channel_set_req r = {.channel_type = type, .has_enabled = enabled >= 0,
	    .enabled = enabled > 0, .has_config = config != NULL, .config = config};
	struct proto_channel_set_rep rep;
	struct proto_reply hold;

	assert_int_equal(CALL(channel_set, r, rep), PROTO_OK);
	proto_reply_fini(&hold);
}

/* ---- channels ----------------------------------------------------------- */

static void
test_channels(void **state)
{
	struct fx *f = *state;
	struct proto_channel_list_req lr = {0};
	struct proto_channel_list_rep lrep;
	struct proto_channel_set_req sr = {.channel_type = "telegram", .has_enabled = true,
	    .enabled = true, .has_config = true,
	    .config = "{\"bot_token\":\"TG-SECRET-1\",\"chat\":\"x\",\"n\":5}"};
	struct proto_channel_set_rep srep;
	struct proto_channel_get_secret_req gr = {.channel_type = "telegram"};
	struct proto_channel_get_secret_rep grep;
	struct proto_reply hold;
	char buf[512], masked[512], upd[32];

	assert_int_equal(CALL(channel_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.channels.n, 6);
	{
		static const char *const types[] = {"email", "gotify", "messagebird", "ntfy",
			"telegram", "webhook"};

		for (size_t i = 0; i < 6; i++) {
			assert_string_equal(lrep.channels.v[i].channel_type, types[i]);
			assert_false(lrep.channels.v[i].enabled);
			assert_string_equal(lrep.channels.v[i].config, "{}");
			assert_false(lrep.channels.v[i].has_updated_at);
		}
	}
	proto_reply_fini(&hold);

	events_reset(f);
	assert_int_equal(CALL(channel_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.channel_type, "telegram");
	assert_true(srep.enabled);
	assert_string_equal(srep.config, "{\"bot_token\":\"********\",\"chat\":\"x\",\"n\":5}");
	assert_true(srep.has_updated_at);
	assert_int_equal(strlen(srep.updated_at), 24);
	assert_no_secret(&hold);
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 1);
	assert_string_equal(f->ev[0].kind, "setting");
	assert_string_equal(f->ev[0].key, "notifications");
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_channels WHERE"
				      " config = '{\"bot_token\":\"TG-SECRET-1\",\"chat\":\"x\",\"n\":5}'"), 1);

	/* every kind of value survives masking; secrets of every spelling are masked */
	channel_set(f, "email", 0, "{\"smtp_host\":\"mail\",\"smtp_port\":587,\"Password\":"
				   "\"PW-SECRET-2\",\"use_tls\":true,\"x_api_key\":\"AK-SECRET-3\","
				   "\"from_name\":null,\"o\":{\"a\":[1,false]},\"client_secret\":{\"k\":1}}");
	assert_int_equal(CALL(channel_list, lr, lrep), PROTO_OK);
	assert_no_secret(&hold);
	assert_string_equal(lrep.channels.v[0].config,
	    "{\"smtp_host\":\"mail\",\"smtp_port\":587,\"Password\":\"********\",\"use_tls\":true,"
	    "\"x_api_key\":\"********\",\"from_name\":null,\"o\":{\"a\":[1,false]},"
	    "\"client_secret\":\"********\"}");
	assert_false(lrep.channels.v[0].enabled);
	assert_true(lrep.channels.v[4].enabled);
	snprintf(masked, sizeof(masked), "%s", lrep.channels.v[4].config);
	proto_reply_fini(&hold);

	/* the unmasked config, for storaged's sender */
	assert_int_equal(CALL(channel_get_secret, gr, grep), PROTO_OK);
	assert_string_equal(grep.config, "{\"bot_token\":\"TG-SECRET-1\",\"chat\":\"x\",\"n\":5}");
	assert_true(grep.enabled);
	proto_reply_fini(&hold);

	/* masked round trip: the stored token is kept, the rest replaced */
	snprintf(buf, sizeof(buf), "%.*s,\"extra\":\"e\"}", (int)strlen(masked) - 1, masked);
	sr.config = buf;
	sr.has_enabled = false;
	assert_int_equal(CALL(channel_set, sr, srep), PROTO_OK);
	assert_true(srep.enabled); /* absent: kept */
	proto_reply_fini(&hold);
	db_text(f, buf, sizeof(buf), "SELECT config FROM notification_channels WHERE"
				     " channel_type = 'telegram'");
	assert_string_equal(buf, "{\"bot_token\":\"TG-SECRET-1\",\"chat\":\"x\",\"n\":5,\"extra\":\"e\"}");
	/* a masked value with nothing stored is dropped, not stored as stars */
	channel_set(f, "ntfy", -1, "{\"token\":\"********\",\"url\":\"https://n\"}");
	db_text(f, buf, sizeof(buf), "SELECT config FROM notification_channels WHERE"
				     " channel_type = 'ntfy'");
	assert_string_equal(buf, "{\"url\":\"https://n\"}");
	assert_int_equal(db_scalar(f, "SELECT enabled FROM notification_channels WHERE"
				      " channel_type = 'ntfy'"), 0);

	/* typed errors, nothing written, no event */
	db_text(f, upd, sizeof(upd), "SELECT updated_at FROM notification_channels WHERE"
				     " channel_type = 'telegram'");
	events_reset(f);
	sr.channel_type = "discord";
	expect_error(&hold, CALL(channel_set, sr, srep), PROTO_BAD_REQUEST, "channel_type");
	sr.channel_type = "telegram";
	sr.has_enabled = true;
	sr.enabled = false;
	sr.config = "[1,2]";
	expect_error(&hold, CALL(channel_set, sr, srep), PROTO_BAD_REQUEST, "config");
	sr.config = "{not json";
	expect_error(&hold, CALL(channel_set, sr, srep), PROTO_BAD_REQUEST, "config");
	sr.config = "\"text\"";
	expect_error(&hold, CALL(channel_set, sr, srep), PROTO_BAD_REQUEST, "config");
	assert_int_equal(events_sync(f), 0);
	db_text(f, buf, sizeof(buf), "SELECT updated_at FROM notification_channels WHERE"
				     " channel_type = 'telegram'");
	assert_string_equal(buf, upd);
	assert_int_equal(db_scalar(f, "SELECT enabled FROM notification_channels WHERE"
				      " channel_type = 'telegram'"), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_channels"), 3);
	gr.channel_type = "gotify";
	expect_error(&hold, CALL(channel_get_secret, gr, grep), PROTO_NOT_FOUND, "channel_type");
}

/* ---- events ------------------------------------------------------------- */

static void
test_events(void **state)
{
	struct fx *f = *state;
	struct proto_event_list_req lr = {0};
	struct proto_event_list_rep lrep;
	struct proto_event_set_req sr = {.event_type = "login", .has_enabled = true,
	    .enabled = true, .has_severity = true, .severity = "warning"};
	struct proto_event_set_rep srep;
	struct proto_reply hold;

	assert_int_equal(CALL(event_list, lr, lrep), PROTO_OK);
	/* the seeded rows (every section 9 type and kubarr's own), by type */
	assert_int_equal(lrep.events.n, 26);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_events"), 26);
	assert_string_equal(lrep.events.v[0].event_type, "2fa_disabled");
	assert_true(lrep.events.v[0].enabled);
	assert_string_equal(lrep.events.v[0].severity, "warning");
	assert_string_equal(lrep.events.v[25].event_type, "user_updated");
	for (size_t i = 1; i < lrep.events.n; i++)
		assert_true(strcmp(lrep.events.v[i - 1].event_type, lrep.events.v[i].event_type) < 0);
	for (size_t i = 0; i < lrep.events.n; i++)
		if (strcmp(lrep.events.v[i].event_type, "login") == 0) {
			assert_false(lrep.events.v[i].enabled);
			assert_string_equal(lrep.events.v[i].severity, "info");
		}
	proto_reply_fini(&hold);
	/* a section 9 type whose row is gone is still listed (off, info) */
	db_exec(f, "DELETE FROM notification_events WHERE event_type = 'app_accessed'");
	assert_int_equal(CALL(event_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.events.n, 26);
	assert_string_equal(lrep.events.v[2].event_type, "app_accessed");
	assert_false(lrep.events.v[2].enabled);
	proto_reply_fini(&hold);

	events_reset(f);
	assert_int_equal(CALL(event_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.event_type, "login");
	assert_true(srep.enabled);
	assert_string_equal(srep.severity, "warning");
	proto_reply_fini(&hold);
	/* partial update keeps the rest */
	sr.has_severity = false;
	sr.enabled = false;
	assert_int_equal(CALL(event_set, sr, srep), PROTO_OK);
	assert_false(srep.enabled);
	assert_string_equal(srep.severity, "warning");
	proto_reply_fini(&hold);
	sr = (struct proto_event_set_req){.event_type = "vpn.down", .has_enabled = true,
	    .enabled = true};
	assert_int_equal(CALL(event_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.severity, "info");
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 3);
	assert_string_equal(f->ev[2].key, "notifications");

	assert_int_equal(CALL(event_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.events.n, 27);
	for (size_t i = 0; i < lrep.events.n; i++) {
		if (strcmp(lrep.events.v[i].event_type, "login") == 0) {
			assert_false(lrep.events.v[i].enabled);
			assert_string_equal(lrep.events.v[i].severity, "warning");
		}
		if (strcmp(lrep.events.v[i].event_type, "vpn.down") == 0)
			assert_true(lrep.events.v[i].enabled);
	}
	proto_reply_fini(&hold);

	events_reset(f);
	sr.event_type = "Bad Type";
	expect_error(&hold, CALL(event_set, sr, srep), PROTO_BAD_REQUEST, "event_type");
	sr.event_type = "";
	expect_error(&hold, CALL(event_set, sr, srep), PROTO_BAD_REQUEST, "event_type");
	sr.event_type = "logout";
	sr.has_severity = true;
	sr.severity = "high";
	expect_error(&hold, CALL(event_set, sr, srep), PROTO_BAD_REQUEST, "severity");
	assert_int_equal(events_sync(f), 0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_events"), 26);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_events WHERE"
				      " event_type = 'logout' AND severity = 'info'"), 1);
}

/* ---- preferences -------------------------------------------------------- */

static void
test_prefs(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "pref_a");
	struct proto_pref_set_req sr = {.user_id = uid, .channel_type = "email",
	    .has_destination = true, .destination = "carol@mail.example"};
	struct proto_pref_set_rep srep;
	struct proto_pref_verify_req vr = {.user_id = uid, .channel_type = "email"};
	struct proto_pref_verify_rep vrep;
	struct proto_pref_list_req lr = {.user_id = uid};
	struct proto_pref_list_rep lrep;
	struct proto_reply hold;
	char longd[400];

	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.channel_type, "email");
	assert_true(srep.enabled);
	assert_true(srep.has_destination);
	assert_string_equal(srep.destination, "ca***@mail.example");
	assert_false(srep.verified);
	assert_no_secret(&hold);
	proto_reply_fini(&hold);

	assert_int_equal(CALL(pref_verify, vr, vrep), PROTO_OK);
	assert_true(vrep.verified);
	assert_string_equal(vrep.destination, "ca***@mail.example");
	proto_reply_fini(&hold);
	/* the same destination again, or only enabled: still verified */
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_true(srep.verified);
	proto_reply_fini(&hold);
	sr.has_destination = false;
	sr.has_enabled = true;
	sr.enabled = false;
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_true(srep.verified);
	assert_false(srep.enabled);
	proto_reply_fini(&hold);
	/* a new destination is unverified (decision 8) */
	sr.has_destination = true;
	sr.destination = "carol@mail.example2";
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_false(srep.verified);
	assert_false(srep.enabled);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT verified FROM user_notification_prefs WHERE"
				      " user_id = %lld AND channel_type = 'email'", (long long)uid), 0);

	sr = (struct proto_pref_set_req){.user_id = uid, .channel_type = "telegram",
	    .has_destination = true, .destination = "5551234567"};
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.destination, "555***67");
	proto_reply_fini(&hold);
	sr = (struct proto_pref_set_req){.user_id = uid, .channel_type = "ntfy",
	    .has_destination = true, .destination = "ab\xc3\xa9" "cd\xc3\xa9" "fg"};
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.destination, "ab\xc3\xa9***fg"); /* whole characters */
	proto_reply_fini(&hold);
	sr = (struct proto_pref_set_req){.user_id = uid, .channel_type = "gotify",
	    .has_destination = true, .destination = "12345"};
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.destination, "***");
	proto_reply_fini(&hold);
	sr.channel_type = "webhook";
	sr.has_destination = false;
	assert_int_equal(CALL(pref_set, sr, srep), PROTO_OK);
	assert_false(srep.has_destination);
	proto_reply_fini(&hold);

	assert_int_equal(CALL(pref_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.prefs.n, 5);
	assert_string_equal(lrep.prefs.v[0].channel_type, "email");
	assert_string_equal(lrep.prefs.v[0].destination, "ca***@mail.example2");
	assert_string_equal(lrep.prefs.v[3].channel_type, "telegram");
	assert_string_equal(lrep.prefs.v[3].destination, "555***67");
	assert_false(lrep.prefs.v[4].has_destination);
	assert_no_secret(&hold);
	proto_reply_fini(&hold);
	lr.user_id = 999999;
	assert_int_equal(CALL(pref_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.prefs.n, 0);
	proto_reply_fini(&hold);

	/* typed errors; nothing written */
	sr = (struct proto_pref_set_req){.user_id = uid, .channel_type = "sms",
	    .has_destination = true, .destination = "x"};
	expect_error(&hold, CALL(pref_set, sr, srep), PROTO_BAD_REQUEST, "channel_type");
	memset(longd, 'a', 321);
	longd[321] = '\0';
	sr.channel_type = "email";
	sr.destination = longd;
	expect_error(&hold, CALL(pref_set, sr, srep), PROTO_BAD_REQUEST, "destination");
	sr.user_id = 999999;
	sr.destination = "z@z.z";
	expect_error(&hold, CALL(pref_set, sr, srep), PROTO_NOT_FOUND, "user_id");
	vr.channel_type = "webhook"; /* no destination */
	expect_error(&hold, CALL(pref_verify, vr, vrep), PROTO_NOT_FOUND, "channel_type");
	vr.channel_type = "messagebird"; /* no row */
	expect_error(&hold, CALL(pref_verify, vr, vrep), PROTO_NOT_FOUND, "channel_type");
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notification_prefs"), 5);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notification_prefs WHERE"
				      " destination = 'carol@mail.example2'"), 1);
	assert_int_equal(db_scalar(f, "SELECT verified FROM user_notification_prefs WHERE"
				      " channel_type = 'webhook'"), 0);
}

/* ---- emission ----------------------------------------------------------- */

static void
pref(struct fx *f, int64_t uid, const char *type, const char *dest, int enabled, int verified)
{
	db_exec(f, "INSERT INTO user_notification_prefs(user_id, channel_type, destination, enabled,"
		   " verified) VALUES (%lld, '%s', '%s', %d, %d)", (long long)uid, type, dest, enabled,
	    verified);
}

static void
test_emit(void **state)
{
	struct fx *f = *state;
	int64_t u1 = mkuser(f, "emit_1"), u2 = mkuser(f, "emit_2"), u3 = mkuser(f, "emit_3");
	struct proto_rec_notify_uid ids[4] = {{.id = u1}, {.id = u2}, {.id = u3}, {.id = u1}};
	struct proto_notify_emit_req er = {.event_type = "user_created", .title = "New user",
	    .message = "emit_9 joined", .user_ids = {ids, 4}};
	struct proto_notify_emit_rep erep;
	struct proto_event_set_req evr = {.event_type = "user_created", .has_enabled = true,
	    .enabled = false, .has_severity = true, .severity = "warning"};
	struct proto_event_set_rep evrep;
	struct proto_reply hold;
	long long in0, out0;

	channel_set(f, "email", 1, NULL);
	channel_set(f, "telegram", 1, NULL);
	channel_set(f, "ntfy", 0, NULL);
	pref(f, u1, "email", "e1@x.org", 1, 1);       /* out */
	pref(f, u1, "telegram", "111111111", 1, 0);    /* unverified */
	pref(f, u2, "email", "e2@x.org", 0, 1);       /* pref disabled */
	pref(f, u2, "ntfy", "topic-2", 1, 1);          /* channel disabled */
	pref(f, u3, "telegram", "333333333", 1, 1);    /* out */
	pref(f, u3, "gotify", "tok-3333", 1, 1);       /* channel never configured */
	in0 = db_scalar(f, "SELECT COUNT(*) FROM user_notifications");
	out0 = db_scalar(f, "SELECT COUNT(*) FROM notification_outbox");

	/* disabled event: nothing */
	assert_int_equal(CALL(event_set, evr, evrep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(notify_emit, er, erep), PROTO_OK);
	assert_int_equal(erep.inbox, 0);
	assert_int_equal(erep.outbox, 0);
	proto_reply_fini(&hold);
	er.event_type = "never_configured";
	assert_int_equal(CALL(notify_emit, er, erep), PROTO_OK);
	assert_int_equal(erep.inbox + erep.outbox, 0);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications"), in0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox"), out0);

	/* enabled: one inbox row per distinct user, outbox per deliverable pair */
	evr.enabled = true;
	assert_int_equal(CALL(event_set, evr, evrep), PROTO_OK);
	proto_reply_fini(&hold);
	er.event_type = "user_created";
	assert_int_equal(CALL(notify_emit, er, erep), PROTO_OK);
	assert_int_equal(erep.inbox, 3);
	assert_int_equal(erep.outbox, 2);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications WHERE"
				      " event_type = 'user_created' AND severity = 'warning' AND read = 0"
				      " AND title = 'New user' AND message = 'emit_9 joined'"
				      " AND user_id IN (%lld, %lld, %lld)", (long long)u1, (long long)u2,
			     (long long)u3), 3);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox"), out0 + 2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE user_id = %lld"
				      " AND channel_type = 'email' AND destination = 'e1@x.org'"
				      " AND attempts = 0 AND title = 'New user'", (long long)u1), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE user_id = %lld"
				      " AND channel_type = 'telegram' AND destination = '333333333'",
			     (long long)u3), 1);

	/* severity override; no users: nothing to write */
	er.has_severity = true;
	er.severity = "critical";
	er.user_ids.n = 1;
	assert_int_equal(CALL(notify_emit, er, erep), PROTO_OK);
	assert_int_equal(erep.inbox, 1);
	assert_int_equal(erep.outbox, 1);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications WHERE"
				      " severity = 'critical' AND user_id = %lld", (long long)u1), 1);
	er.user_ids.n = 0;
	assert_int_equal(CALL(notify_emit, er, erep), PROTO_OK);
	assert_int_equal(erep.inbox + erep.outbox, 0);
	proto_reply_fini(&hold);

	/* typed errors; nothing written (the unknown user comes after real ones) */
	in0 = db_scalar(f, "SELECT COUNT(*) FROM user_notifications");
	out0 = db_scalar(f, "SELECT COUNT(*) FROM notification_outbox");
	ids[3].id = 999999;
	er.user_ids.n = 4;
	expect_error(&hold, CALL(notify_emit, er, erep), PROTO_NOT_FOUND, "user_ids");
	ids[3].id = u1;
	er.severity = "loud";
	expect_error(&hold, CALL(notify_emit, er, erep), PROTO_BAD_REQUEST, "severity");
	er.has_severity = false;
	er.title = "";
	expect_error(&hold, CALL(notify_emit, er, erep), PROTO_BAD_REQUEST, "title");
	er.title = "t";
	er.message = "";
	expect_error(&hold, CALL(notify_emit, er, erep), PROTO_BAD_REQUEST, "message");
	er.message = "m";
	er.event_type = "No Such";
	expect_error(&hold, CALL(notify_emit, er, erep), PROTO_BAD_REQUEST, "event_type");
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications"), in0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox"), out0);
	db_exec(f, "DELETE FROM notification_outbox");
}

/* ---- inbox -------------------------------------------------------------- */

static void
test_inbox(void **state)
{
	struct fx *f = *state;
	int64_t ua = mkuser(f, "inbox_a"), ub = mkuser(f, "inbox_b"), ids[5], other;
	struct proto_inbox_list_req lr = {.user_id = ua, .has_limit = true, .limit = 2};
	struct proto_inbox_list_rep lrep;
	struct proto_inbox_count_req cr = {.user_id = ua};
	struct proto_inbox_count_rep crep;
	struct proto_inbox_read_req rr = {.user_id = ua};
	struct proto_inbox_read_rep rrep;
	struct proto_inbox_read_all_req rar = {.user_id = ua};
	struct proto_inbox_read_all_rep rarep;
	struct proto_inbox_delete_req dr = {.user_id = ua};
	struct proto_inbox_delete_rep drep;
	struct proto_reply hold;

	for (int i = 0; i < 5; i++) {
		db_exec(f, "INSERT INTO user_notifications(user_id, title, message, event_type, severity,"
			   " created_at) VALUES (%lld, 'T%d', 'M%d', %s, 'info',"
			   " '2030-01-01T00:00:0%d.000Z')", (long long)ua, i, i, i == 0 ? "NULL" : "'login'", i);
		ids[i] = db_scalar(f, "SELECT MAX(id) FROM user_notifications");
	}
	db_exec(f, "INSERT INTO user_notifications(user_id, title, message) VALUES (%lld, 'B', 'B')",
	    (long long)ub);
	other = db_scalar(f, "SELECT MAX(id) FROM user_notifications");

	assert_int_equal(CALL(inbox_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.items.n, 2);
	assert_int_equal(lrep.total, 5);
	assert_int_equal(lrep.unread, 5);
	assert_int_equal(lrep.items.v[0].id, ids[4]);
	assert_string_equal(lrep.items.v[0].title, "T4");
	assert_string_equal(lrep.items.v[0].message, "M4");
	assert_true(lrep.items.v[0].has_event_type);
	assert_string_equal(lrep.items.v[0].event_type, "login");
	assert_string_equal(lrep.items.v[0].severity, "info");
	assert_false(lrep.items.v[0].read);
	assert_string_equal(lrep.items.v[0].created_at, "2030-01-01T00:00:04.000Z");
	assert_int_equal(lrep.items.v[1].id, ids[3]);
	proto_reply_fini(&hold);
	lr.has_offset = true;
	lr.offset = 4;
	assert_int_equal(CALL(inbox_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.items.n, 1);
	assert_int_equal(lrep.items.v[0].id, ids[0]);
	assert_false(lrep.items.v[0].has_event_type);
	proto_reply_fini(&hold);

	rr.id = ids[4];
	assert_int_equal(CALL(inbox_read, rr, rrep), PROTO_OK);
	assert_int_equal(rrep.unread, 4);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(inbox_read, rr, rrep), PROTO_OK); /* again: fine */
	assert_int_equal(rrep.unread, 4);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(inbox_count, cr, crep), PROTO_OK);
	assert_int_equal(crep.unread, 4);
	proto_reply_fini(&hold);
	lr = (struct proto_inbox_list_req){.user_id = ua, .has_unread_only = true,
	    .unread_only = true};
	assert_int_equal(CALL(inbox_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.items.n, 4);
	assert_int_equal(lrep.total, 4);
	assert_int_equal(lrep.items.v[0].id, ids[3]);
	proto_reply_fini(&hold);

	/* another user's item: not_found, untouched */
	rr.id = other;
	expect_error(&hold, CALL(inbox_read, rr, rrep), PROTO_NOT_FOUND, "id");
	dr.id = other;
	expect_error(&hold, CALL(inbox_delete, dr, drep), PROTO_NOT_FOUND, "id");
	assert_int_equal(db_scalar(f, "SELECT read FROM user_notifications WHERE id = %lld",
			     (long long)other), 0);
	lr.has_limit = true;
	lr.limit = 0;
	expect_error(&hold, CALL(inbox_list, lr, lrep), PROTO_BAD_REQUEST, "limit");
	lr.limit = 201;
	expect_error(&hold, CALL(inbox_list, lr, lrep), PROTO_BAD_REQUEST, "limit");

	assert_int_equal(CALL(inbox_read_all, rar, rarep), PROTO_OK);
	assert_int_equal(rarep.count, 4);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(inbox_read_all, rar, rarep), PROTO_OK);
	assert_int_equal(rarep.count, 0);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications WHERE read = 0 AND"
				      " user_id = %lld", (long long)ub), 1);

	dr.id = ids[2];
	assert_int_equal(CALL(inbox_delete, dr, drep), PROTO_OK);
	assert_int_equal(drep.id, ids[2]);
	proto_reply_fini(&hold);
	expect_error(&hold, CALL(inbox_delete, dr, drep), PROTO_NOT_FOUND, "id");
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_notifications WHERE user_id = %lld",
			     (long long)ua), 4);
}

/* ---- outbox and log ----------------------------------------------------- */

static void
test_outbox_log(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "out_a"), id1, id2;
	struct proto_outbox_take_req tr = {.has_limit = true, .limit = 10, .has_now = true,
	    .now = "2031-01-01T00:00:00.000Z"};
	struct proto_outbox_take_rep trep;
	struct proto_outbox_result_req rr = {0};
	struct proto_outbox_result_rep rrep;
	struct proto_log_list_req lr = {0};
	struct proto_log_list_rep lrep;
	struct proto_reply hold;
	char buf[128];

	db_exec(f, "DELETE FROM notification_outbox; DELETE FROM notification_logs;"
		   "INSERT INTO notification_outbox(user_id, channel_type, destination, event_type,"
		   " title, message, next_attempt_at) VALUES (%lld, 'email', 'bob@example.com',"
		   " 'login', 'T1', 'M1', '2030-01-01T00:00:00.000Z'), (%lld, 'telegram', '987654321',"
		   " 'logout', 'T2', 'M2', '2030-06-01T00:00:00.000Z'), (%lld, 'email', 'z@z.org',"
		   " 'login', 'T3', 'M3', '2032-01-01T00:00:00.000Z')",
	    (long long)uid, (long long)uid, (long long)uid);
	id1 = db_scalar(f, "SELECT id FROM notification_outbox WHERE title = 'T1'");
	id2 = db_scalar(f, "SELECT id FROM notification_outbox WHERE title = 'T2'");

	assert_int_equal(CALL(outbox_take, tr, trep), PROTO_OK);
	assert_int_equal(trep.rows.n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct proto_rec_notify_out *r = &trep.rows.v[i];

		assert_true(r->has_user_id);
		assert_int_equal(r->user_id, uid);
		assert_int_equal(r->attempts, 0);
		if (r->id == id1) {
			assert_string_equal(r->destination, "bob@example.com"); /* clear */
			assert_string_equal(r->channel_type, "email");
			assert_string_equal(r->event_type, "login");
			assert_string_equal(r->title, "T1");
			assert_string_equal(r->message, "M1");
		} else {
			assert_int_equal(r->id, id2);
			assert_string_equal(r->destination, "987654321");
		}
	}
	proto_reply_fini(&hold);
	/* leased: not due again until the lease ends */
	assert_int_equal(CALL(outbox_take, tr, trep), PROTO_OK);
	assert_int_equal(trep.rows.n, 0);
	proto_reply_fini(&hold);
	db_text(f, buf, sizeof(buf), "SELECT next_attempt_at FROM notification_outbox WHERE id = %lld",
	    (long long)id1);
	assert_string_equal(buf, "2031-01-01T00:05:00.000Z");

	/* sent */
	rr.id = id1;
	rr.ok = true;
	assert_int_equal(CALL(outbox_result, rr, rrep), PROTO_OK);
	assert_string_equal(rrep.status, "sent");
	assert_int_equal(rrep.attempts, 0);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE id = %lld",
			     (long long)id1), 0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE id = %lld AND"
				      " status = 'sent' AND recipient = 'bo***@example.com' AND"
				      " channel_type = 'email' AND event_type = 'login' AND user_id = %lld"
				      " AND error_message IS NULL", (long long)rrep.log_id, (long long)uid), 1);

	/* retry */
	rr = (struct proto_outbox_result_req){.id = id2, .ok = false, .has_error = true,
	    .error = "timeout", .has_next_attempt_at = true,
	    .next_attempt_at = "2031-01-01T00:01:00.000Z"};
	assert_int_equal(CALL(outbox_result, rr, rrep), PROTO_OK);
	assert_string_equal(rrep.status, "retrying");
	assert_int_equal(rrep.attempts, 1);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE id = %lld AND"
				      " attempts = 1 AND next_attempt_at = '2031-01-01T00:01:00.000Z' AND"
				      " last_error = 'timeout'", (long long)id2), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE status ="
				      " 'retrying' AND recipient = '987***21' AND error_message = 'timeout'"),
	    1);
	tr.now = "2031-01-01T00:01:00.000Z";
	assert_int_equal(CALL(outbox_take, tr, trep), PROTO_OK);
	assert_int_equal(trep.rows.n, 1);
	assert_int_equal(trep.rows.v[0].attempts, 1);
	proto_reply_fini(&hold);

	/* give up */
	rr = (struct proto_outbox_result_req){.id = id2, .ok = false, .has_error = true,
	    .error = "HTTP 500", .has_give_up = true, .give_up = true};
	assert_int_equal(CALL(outbox_result, rr, rrep), PROTO_OK);
	assert_string_equal(rrep.status, "failed");
	assert_int_equal(rrep.attempts, 2);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox WHERE id = %lld",
			     (long long)id2), 0);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs WHERE status = 'failed'"
				      " AND error_message = 'HTTP 500' AND recipient = '987***21'"), 1);

	/* typed errors; nothing written */
	expect_error(&hold, CALL(outbox_result, rr, rrep), PROTO_NOT_FOUND, "id");
	rr = (struct proto_outbox_result_req){.id = id2 + 100, .ok = false};
	expect_error(&hold, CALL(outbox_result, rr, rrep), PROTO_BAD_REQUEST, "next_attempt_at");
	rr.has_next_attempt_at = true;
	rr.next_attempt_at = "tomorrow";
	expect_error(&hold, CALL(outbox_result, rr, rrep), PROTO_BAD_REQUEST, "next_attempt_at");
	tr.limit = 0;
	expect_error(&hold, CALL(outbox_take, tr, trep), PROTO_BAD_REQUEST, "limit");
	tr.limit = 5;
	tr.now = "2031-01-01";
	expect_error(&hold, CALL(outbox_take, tr, trep), PROTO_BAD_REQUEST, "now");
	tr.now = "2040-01-01T00:00:00.000Z";
	tr.has_lease_s = true;
	tr.lease_s = 0;
	expect_error(&hold, CALL(outbox_take, tr, trep), PROTO_BAD_REQUEST, "lease_s");
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_logs"), 3);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM notification_outbox"), 1);
	db_text(f, buf, sizeof(buf), "SELECT next_attempt_at FROM notification_outbox");
	assert_string_equal(buf, "2032-01-01T00:00:00.000Z");

	/* the log: newest first, masked, filtered */
	db_exec(f, "INSERT INTO notification_logs(user_id, channel_type, event_type, recipient,"
		   " status, created_at) VALUES (NULL, 'ntfy', 'login', 'top***ic', 'pending',"
		   " '2020-01-01T00:00:00.000Z')");
	assert_int_equal(CALL(log_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.total, 4);
	assert_int_equal(lrep.logs.n, 4);
	assert_string_equal(lrep.logs.v[0].status, "failed");
	assert_true(lrep.logs.v[0].has_error_message);
	assert_string_equal(lrep.logs.v[0].error_message, "HTTP 500");
	assert_string_equal(lrep.logs.v[0].event_type, "logout");
	assert_string_equal(lrep.logs.v[1].status, "retrying");
	assert_string_equal(lrep.logs.v[2].status, "sent");
	assert_string_equal(lrep.logs.v[2].recipient, "bo***@example.com");
	assert_true(lrep.logs.v[2].has_user_id);
	assert_int_equal(lrep.logs.v[2].user_id, uid);
	assert_false(lrep.logs.v[2].has_error_message);
	assert_false(lrep.logs.v[3].has_user_id);
	assert_int_equal(strlen(lrep.logs.v[3].created_at), 24);
	assert_no_secret(&hold);
	proto_reply_fini(&hold);
	lr = (struct proto_log_list_req){.has_user_id = true, .user_id = uid, .has_limit = true,
	    .limit = 1, .has_offset = true, .offset = 1};
	assert_int_equal(CALL(log_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.total, 3);
	assert_int_equal(lrep.logs.n, 1);
	assert_string_equal(lrep.logs.v[0].status, "retrying");
	proto_reply_fini(&hold);
	lr = (struct proto_log_list_req){.has_status = true, .status = "sent", .has_channel_type = true,
	    .channel_type = "email"};
	assert_int_equal(CALL(log_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.total, 1);
	proto_reply_fini(&hold);
	lr.has_limit = true;
	lr.limit = 201;
	expect_error(&hold, CALL(log_list, lr, lrep), PROTO_BAD_REQUEST, "limit");
}

/* storaged's own sender stays idle (it checks the outbox at start only), so
 * these tests drive OUTBOX_TAKE and OUTBOX_RESULT alone. */
static int
setup(void **state)
{
	static const char *const env[] = {"KUBARR_NOTIFY_POLL_MS", "600000", NULL};

	return storaged_fx_setup_env(state, env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_prefs),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_inbox),
		cmocka_unit_test(test_outbox_log),
	};
	int rc;

	log_init("test");
	log_set_level(getenv("KUBARR_LOG_LEVEL") && strcmp(getenv("KUBARR_LOG_LEVEL"), "debug") == 0 ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests(tests, setup, storaged_fx_teardown);
	ipc_fini();
	return rc;
}
