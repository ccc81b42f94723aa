/* storaged's sessions family (ops 200-299) through its socket, with the real
 * daemons (one harness for the group): every op's reply field by field, typed
 * errors naming the field, events on events.ipc, and the database file read
 * (and seeded) directly beside storaged (WAL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "storaged_fx.h"

#define T_TIMEOUT 3000

static void
assert_event(struct fx *f, int i, const char *kind, int64_t id, const char *key)
{
	assert_string_equal(f->ev[i].kind, kind);
	assert_int_equal(f->ev[i].id, id);
	assert_string_equal(f->ev[i].key, key ? key : "");
}

static int64_t
mkuser(struct fx *f, const char *name, int active, int approved)
{
	db_exec(f, "INSERT INTO users(username, email, hashed_password, is_active, is_approved)"
		   " VALUES ('%s', '%s@example.com', 'x', %d, %d)", name, name, active, approved);
	return db_scalar(f, "SELECT id FROM users WHERE username = '%s'", name);
}

/* The error reply's status, detail and field. */
static void
expect_error(struct proto_reply *hold, enum proto_status got, enum proto_status want,
    const char *field, const char *detail)
{
	struct proto_error e;
	const char *err = NULL;

	assert_int_equal(got, want);
	assert_int_equal(proto_error_decode(&hold->env, &e, &err), 0);
	if (field != NULL) {
		assert_true(e.has_field);
		assert_string_equal(e.field, field);
	}
	if (detail != NULL)
		assert_string_equal(e.detail, detail);
	proto_reply_fini(hold);
}

#define CALL(op, req, rep) proto_##op##_call_sync(f->c, &(req), T_TIMEOUT, &(rep), &hold)

static const char *
uuid(int n)
{
	static char buf[8][37];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, 37, "00000000-0000-4000-8000-%012d", n);
	return b;
}

/* ---- sessions ----------------------------------------------------------- */

static void
test_session_create_get(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "sess_a", 1, 1);
	char ua[400];
	struct proto_session_create_req cr = {.id = uuid(1), .user_id = uid, .has_user_agent = true,
	    .user_agent = ua, .has_ip_address = true, .ip_address = "192.0.2.1"};
	struct proto_session_create_rep crep;
	struct proto_session_get_req gr = {.id = uuid(1)};
	struct proto_session_get_rep grep;
	struct proto_reply hold;
	long long rows;

	memset(ua, 'u', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	memcpy(ua + 254, "\xc3\xa9", 2); /* a 2-byte character across the 255-byte cut */
	events_reset(f);
	assert_int_equal(CALL(session_create, cr, crep), PROTO_OK);
	assert_string_equal(crep.id, uuid(1));
	assert_int_equal(crep.user_id, uid);
	assert_true(crep.has_user_agent);
	assert_int_equal(strlen(crep.user_agent), 254);
	assert_true(crep.has_ip_address);
	assert_string_equal(crep.ip_address, "192.0.2.1");
	assert_int_equal(strlen(crep.created_at), 24);
	assert_string_equal(crep.last_accessed_at, crep.created_at);
	assert_int_equal(db_scalar(f, "SELECT CAST(ROUND((julianday('%s') - julianday('%s')) * 86400)"
				      " AS INTEGER)", crep.expires_at, crep.created_at), 7 * 86400);
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 1);
	assert_event(f, 0, "session", 0, uuid(1));

	assert_int_equal(CALL(session_get, gr, grep), PROTO_OK);
	assert_string_equal(grep.id, uuid(1));
	assert_int_equal(grep.user_id, uid);
	assert_int_equal(strlen(grep.user_agent), 254);
	assert_string_equal(grep.ip_address, "192.0.2.1");
	assert_int_equal(db_scalar(f, "SELECT length(user_agent) FROM sessions WHERE id = '%s'",
			     uuid(1)), 254);
	proto_reply_fini(&hold);

	/* optional fields absent, custom ttl */
	cr = (struct proto_session_create_req){.id = uuid(2), .user_id = uid, .has_ttl_s = true,
	    .ttl_s = 60};
	assert_int_equal(CALL(session_create, cr, crep), PROTO_OK);
	assert_false(crep.has_user_agent);
	assert_false(crep.has_ip_address);
	assert_int_equal(db_scalar(f, "SELECT CAST(ROUND((julianday('%s') - julianday('%s')) * 86400)"
				      " AS INTEGER)", crep.expires_at, crep.created_at), 60);
	proto_reply_fini(&hold);

	/* typed errors, nothing written, no event */
	rows = db_scalar(f, "SELECT COUNT(*) FROM sessions");
	events_reset(f);
	cr.id = uuid(2);
	expect_error(&hold, CALL(session_create, cr, crep), PROTO_CONFLICT, "id", NULL);
	cr.id = "not-a-uuid";
	expect_error(&hold, CALL(session_create, cr, crep), PROTO_BAD_REQUEST, "id", NULL);
	cr.id = "0000000g-0000-4000-8000-000000000000";
	expect_error(&hold, CALL(session_create, cr, crep), PROTO_BAD_REQUEST, "id", NULL);
	cr.id = uuid(3);
	cr.user_id = 999999;
	expect_error(&hold, CALL(session_create, cr, crep), PROTO_NOT_FOUND, "user_id", NULL);
	cr.user_id = uid;
	cr.ttl_s = 0;
	expect_error(&hold, CALL(session_create, cr, crep), PROTO_BAD_REQUEST, "ttl_s", NULL);
	gr.id = uuid(3);
	expect_error(&hold, CALL(session_get, gr, grep), PROTO_NOT_FOUND, "id", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions"), rows);
	assert_int_equal(events_sync(f), 0);
}

static void
test_session_list_delete(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "sess_b", 1, 1), other = mkuser(f, "sess_c", 1, 1);
	struct proto_session_create_req cr = {.user_id = uid};
	struct proto_session_create_rep crep;
	struct proto_session_list_user_req lr = {.user_id = uid};
	struct proto_session_list_user_rep lrep;
	struct proto_session_delete_req dr;
	struct proto_session_delete_rep drep;
	struct proto_session_delete_user_req dur = {.user_id = uid};
	struct proto_session_delete_user_rep durep;
	struct proto_reply hold;

	for (int i = 10; i < 15; i++) {
		cr.id = uuid(i);
		assert_int_equal(CALL(session_create, cr, crep), PROTO_OK);
		proto_reply_fini(&hold);
		db_exec(f, "UPDATE sessions SET created_at = '2030-01-01T00:00:%02d.000Z' WHERE id = '%s'",
		    i, uuid(i));
	}
	cr.id = uuid(20);
	cr.user_id = other;
	assert_int_equal(CALL(session_create, cr, crep), PROTO_OK);
	proto_reply_fini(&hold);
	db_exec(f, "UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = '%s'", uuid(10));
	db_exec(f, "UPDATE sessions SET is_revoked = 1 WHERE id = '%s'", uuid(11));

	assert_int_equal(CALL(session_list_user, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.sessions.n, 3); /* 14, 13, 12: newest first, live only */
	assert_string_equal(lrep.sessions.v[0].id, uuid(14));
	assert_string_equal(lrep.sessions.v[1].id, uuid(13));
	assert_string_equal(lrep.sessions.v[2].id, uuid(12));
	assert_int_equal(lrep.sessions.v[0].user_id, uid);
	assert_string_equal(lrep.sessions.v[0].created_at, "2030-01-01T00:00:14.000Z");
	assert_int_equal(strlen(lrep.sessions.v[2].expires_at), 24);
	proto_reply_fini(&hold);
	lr.user_id = 999999;
	assert_int_equal(CALL(session_list_user, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.sessions.n, 0);
	proto_reply_fini(&hold);

	events_reset(f);
	dr.id = uuid(12);
	assert_int_equal(CALL(session_delete, dr, drep), PROTO_OK);
	assert_int_equal(drep.user_id, uid);
	proto_reply_fini(&hold);
	expect_error(&hold, CALL(session_delete, dr, drep), PROTO_NOT_FOUND, "id", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions WHERE id = '%s'", uuid(12)), 0);

	/* revoke all others: 10, 11, 13 go, 14 stays; the other user's too */
	dur.has_except_id = true;
	dur.except_id = uuid(14);
	assert_int_equal(CALL(session_delete_user, dur, durep), PROTO_OK);
	assert_int_equal(durep.deleted, 3);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions WHERE user_id = %lld", (long long)uid), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions WHERE id = '%s'", uuid(20)), 1);
	assert_int_equal(events_sync(f), 4);
	assert_event(f, 0, "session", 0, uuid(12));
	for (int i = 1; i < 4; i++) {
		assert_string_equal(f->ev[i].kind, "session");
		assert_true(strcmp(f->ev[i].key, uuid(10)) == 0 || strcmp(f->ev[i].key, uuid(11)) == 0 ||
		    strcmp(f->ev[i].key, uuid(13)) == 0);
	}

	/* log out everywhere */
	events_reset(f);
	dur.has_except_id = false;
	assert_int_equal(CALL(session_delete_user, dur, durep), PROTO_OK);
	assert_int_equal(durep.deleted, 1);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(session_delete_user, dur, durep), PROTO_OK);
	assert_int_equal(durep.deleted, 0);
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 1);
	assert_event(f, 0, "session", 0, uuid(14));

	/* more sessions than events fit: one ("user", id) event instead */
	cr.user_id = uid;
	for (int i = 30; i < 42; i++) {
		cr.id = uuid(i);
		assert_int_equal(CALL(session_create, cr, crep), PROTO_OK);
		proto_reply_fini(&hold);
	}
	events_reset(f);
	assert_int_equal(CALL(session_delete_user, dur, durep), PROTO_OK);
	assert_int_equal(durep.deleted, 12);
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 1);
	assert_event(f, 0, "user", uid, NULL);
}

/* ---- principal ---------------------------------------------------------- */

static void
principal(struct fx *f, const char *sid, struct proto_principal_get_rep *rep,
    struct proto_reply *hold)
{
	struct proto_principal_get_req req = {.session_id = sid};

	assert_int_equal(proto_principal_get_call_sync(f->c, &req, T_TIMEOUT, rep, hold), PROTO_OK);
}

static void
expect_invalid(struct fx *f, const char *sid, const char *reason)
{
	struct proto_principal_get_rep rep;
	struct proto_reply hold;

	principal(f, sid, &rep, &hold);
	assert_false(rep.valid);
	assert_true(rep.has_reason);
	assert_string_equal(rep.reason, reason);
	assert_false(rep.has_permissions);
	assert_false(rep.has_username);
	proto_reply_fini(&hold);
}

static void
new_session(struct fx *f, const char *sid, int64_t uid)
{
	struct proto_session_create_req cr = {.id = sid, .user_id = uid};
	struct proto_session_create_rep crep;
	struct proto_reply hold;

	assert_int_equal(CALL(session_create, cr, crep), PROTO_OK);
	proto_reply_fini(&hold);
}

static void
test_principal(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "prin_a", 1, 1), off = mkuser(f, "prin_off", 0, 1),
		pend = mkuser(f, "prin_pend", 1, 0), adm = mkuser(f, "prin_adm", 1, 1),
		bare = mkuser(f, "prin_bare", 1, 1);
	struct proto_principal_get_rep rep;
	struct proto_reply hold;

	/* prin_a: viewer + downloader + a custom role with a duplicate permission,
	 * a duplicate app and requires_2fa */
	db_exec(f, "INSERT INTO roles(name, requires_2fa) VALUES ('t_custom', 1);"
		   "INSERT INTO role_permissions(role_id, permission) SELECT id, 'apps.view' FROM roles"
		   " WHERE name = 't_custom';"
		   "INSERT INTO role_permissions(role_id, permission) SELECT id, 'audit.view' FROM roles"
		   " WHERE name = 't_custom';"
		   "INSERT INTO role_app_permissions(role_id, app_name) SELECT id, 'jellyfin' FROM roles"
		   " WHERE name = 't_custom';"
		   "INSERT INTO user_roles SELECT %lld, id FROM roles WHERE name IN"
		   " ('viewer', 'downloader', 't_custom');"
		   "INSERT INTO user_roles SELECT %lld, id FROM roles WHERE name = 'admin';"
		   "UPDATE users SET totp_secret = 'S', totp_enabled = 1 WHERE id = %lld",
	    (long long)uid, (long long)adm, (long long)uid);
	new_session(f, uuid(100), uid);
	new_session(f, uuid(101), off);
	new_session(f, uuid(102), pend);
	new_session(f, uuid(103), adm);
	new_session(f, uuid(104), uid);
	new_session(f, uuid(105), uid);
	new_session(f, uuid(106), bare);
	db_exec(f, "UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = '%s'", uuid(104));
	db_exec(f, "UPDATE sessions SET is_revoked = 1 WHERE id = '%s'", uuid(105));

	principal(f, uuid(100), &rep, &hold);
	assert_true(rep.valid);
	assert_false(rep.has_reason);
	assert_int_equal(rep.user_id, uid);
	assert_string_equal(rep.username, "prin_a");
	assert_string_equal(rep.email, "prin_a@example.com");
	assert_true(rep.is_active && rep.is_approved && rep.totp_enabled && rep.requires_2fa);
	assert_true(rep.has_expires_at);
	assert_int_equal(strlen(rep.expires_at), 24);
	{
		static const char *const want[] = {
			"app.deluge", "app.jackett", "app.jellyfin", "app.jellyseerr", "app.prowlarr",
			"app.qbittorrent", "app.rutorrent", "app.sabnzbd", "app.transmission",
			"apps.restart", "apps.view", "audit.view", "logs.view", "monitoring.view",
			"storage.download", "storage.view",
		};
		static const char *const apps[] = {
			"deluge", "jackett", "jellyfin", "jellyseerr", "prowlarr", "qbittorrent",
			"rutorrent", "sabnzbd", "transmission",
		};

		assert_int_equal(rep.permissions.n, sizeof(want) / sizeof(want[0]));
		for (size_t i = 0; i < rep.permissions.n; i++)
			assert_string_equal(rep.permissions.v[i], want[i]);
		assert_int_equal(rep.allowed_apps.n, sizeof(apps) / sizeof(apps[0]));
		for (size_t i = 0; i < rep.allowed_apps.n; i++)
			assert_string_equal(rep.allowed_apps.v[i], apps[i]);
	}
	proto_reply_fini(&hold);

	/* admin: app.* as a role permission -> allowed_apps ["*"]; no 2FA required */
	principal(f, uuid(103), &rep, &hold);
	assert_true(rep.valid);
	assert_false(rep.requires_2fa);
	assert_false(rep.totp_enabled);
	assert_int_equal(rep.permissions.n, 28);
	assert_string_equal(rep.permissions.v[0], "app.*");
	for (size_t i = 1; i < rep.permissions.n; i++)
		assert_true(strcmp(rep.permissions.v[i - 1], rep.permissions.v[i]) < 0);
	assert_int_equal(rep.allowed_apps.n, 1);
	assert_string_equal(rep.allowed_apps.v[0], "*");
	proto_reply_fini(&hold);

	/* a '*' app row also means every app */
	db_exec(f, "INSERT INTO role_app_permissions(role_id, app_name) SELECT id, '*' FROM roles"
		   " WHERE name = 't_custom'");
	principal(f, uuid(100), &rep, &hold);
	assert_int_equal(rep.allowed_apps.n, 1);
	assert_string_equal(rep.allowed_apps.v[0], "*");
	assert_string_equal(rep.permissions.v[0], "app.*");
	proto_reply_fini(&hold);

	/* no roles: valid, empty lists */
	principal(f, uuid(106), &rep, &hold);
	assert_true(rep.valid);
	assert_true(rep.has_permissions && rep.has_allowed_apps);
	assert_int_equal(rep.permissions.n, 0);
	assert_int_equal(rep.allowed_apps.n, 0);
	assert_false(rep.requires_2fa);
	proto_reply_fini(&hold);

	expect_invalid(f, uuid(199), "no such session");
	expect_invalid(f, "garbage", "no such session");
	expect_invalid(f, uuid(104), "expired");
	expect_invalid(f, uuid(105), "revoked");
	expect_invalid(f, uuid(101), "user disabled");
	expect_invalid(f, uuid(102), "user not approved");
	principal(f, uuid(101), &rep, &hold);
	assert_true(rep.has_user_id);
	assert_int_equal(rep.user_id, off);
	proto_reply_fini(&hold);
}

/* ---- touch and cleanup -------------------------------------------------- */

static void
test_touch_cleanup(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "touch_a", 1, 1);
	struct proto_rec_touch_item items[102];
	char ids[100][37];
	struct proto_session_touch_req tr = {.items = {items, 102}};
	struct proto_session_touch_rep trep;
	struct proto_session_cleanup_req clr = {0};
	struct proto_session_cleanup_rep clrep;
	struct proto_reply hold;
	int64_t jobs0;

	db_exec(f, "DELETE FROM sessions");
	db_exec(f, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)"
		   " INSERT INTO sessions(id, user_id, expires_at, last_accessed_at)"
		   " SELECT printf('00000000-0000-4000-8000-%%012d', 1000 + i), %lld,"
		   " '2099-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z' FROM n", (long long)uid);
	for (int i = 0; i < 100; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		snprintf(ids[i], sizeof(ids[i]), "%s", uuid(1000 + i));
		items[i].id = ids[i];
		items[i].last_accessed_at = i == 7 ? "2019-01-01T00:00:00.000Z" /* never backwards */
						   : "2030-06-01T12:00:00.000Z";
	}
	items[100] = (struct proto_rec_touch_item){.id = uuid(5000), .last_accessed_at =
	    "2030-06-01T12:00:00.000Z"};
	items[101] = (struct proto_rec_touch_item){.id = "unknown", .last_accessed_at =
	    "2030-06-01T12:00:00.000Z"};
	events_reset(f);
	assert_int_equal(CALL(session_touch, tr, trep), PROTO_OK);
	assert_int_equal(trep.updated, 99);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions"
				      " WHERE last_accessed_at = '2030-06-01T12:00:00.000Z'"), 99);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions WHERE id = '%s'"
				      " AND last_accessed_at = '2020-01-01T00:00:00.000Z'", uuid(1007)), 1);
	assert_int_equal(events_sync(f), 0); /* touches publish nothing */

	/* one bad time: bad_request, nothing written */
	items[3].last_accessed_at = "2031-01-01 00:00:00";
	items[4].last_accessed_at = "2031-01-01T00:00:00.000Z";
	expect_error(&hold, CALL(session_touch, tr, trep), PROTO_BAD_REQUEST, "items", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions"
				      " WHERE last_accessed_at = '2031-01-01T00:00:00.000Z'"), 0);

	/* one request is one write job */
	jobs0 = -1;
	{
		struct proto_stats_req sreq = {0};
		struct proto_stats_rep srep;

		assert_int_equal(proto_stats_call_sync(f->c, &sreq, T_TIMEOUT, &srep, &hold), PROTO_OK);
		for (size_t i = 0; i < srep.counters.n; i++)
			if (strcmp(srep.counters.v[i].key, "write_jobs") == 0)
				jobs0 = srep.counters.v[i].val;
		proto_reply_fini(&hold);
		items[3].last_accessed_at = "2030-06-01T12:00:00.000Z";
		items[4].last_accessed_at = "2031-01-01T00:00:00.000Z";
		assert_int_equal(CALL(session_touch, tr, trep), PROTO_OK);
		assert_int_equal(trep.updated, 1);
		proto_reply_fini(&hold);
		assert_int_equal(proto_stats_call_sync(f->c, &sreq, T_TIMEOUT, &srep, &hold), PROTO_OK);
		for (size_t i = 0; i < srep.counters.n; i++)
			if (strcmp(srep.counters.v[i].key, "write_jobs") == 0)
				assert_int_equal(srep.counters.v[i].val, jobs0 + 1);
		proto_reply_fini(&hold);
	}

	/* cleanup: 5 expired, 3 revoked older than a day, 2 revoked recent */
	db_exec(f, "UPDATE sessions SET expires_at = '2025-01-01T00:00:00.000Z'"
		   " WHERE id IN ('%s', '%s', '%s', '%s', '%s')",
	    uuid(1000), uuid(1001), uuid(1002), uuid(1003), uuid(1004));
	db_exec(f, "UPDATE sessions SET is_revoked = 1, created_at = '2026-01-01T00:00:00.000Z'"
		   " WHERE id IN ('%s', '%s', '%s')", uuid(1010), uuid(1011), uuid(1012));
	db_exec(f, "UPDATE sessions SET is_revoked = 1, created_at = '2026-01-09T12:00:00.000Z'"
		   " WHERE id IN ('%s', '%s')", uuid(1013), uuid(1014));
	clr.has_now = true;
	clr.now = "bad";
	expect_error(&hold, CALL(session_cleanup, clr, clrep), PROTO_BAD_REQUEST, "now", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions"), 100);
	clr.now = "2026-01-10T00:00:00.000Z";
	assert_int_equal(CALL(session_cleanup, clr, clrep), PROTO_OK);
	assert_int_equal(clrep.expired, 5);
	assert_int_equal(clrep.revoked, 3);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions"), 92);
	clr.has_now = false; /* now: the recent revoked ones are older than a day too */
	assert_int_equal(CALL(session_cleanup, clr, clrep), PROTO_OK);
	assert_int_equal(clrep.expired, 0);
	assert_int_equal(clrep.revoked, 2);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM sessions"), 90);
}

/* ---- invites and registration ------------------------------------------- */

static void
test_invites(void **state)
{
	struct fx *f = *state;
	int64_t admin = mkuser(f, "inv_admin", 1, 1);
	struct proto_invite_create_req cr = {.code = "Code_0001-abc", .has_created_by_id = true,
	    .created_by_id = admin, .has_expires_at = true, .expires_at = "2099-01-01T00:00:00.000Z"};
	struct proto_invite_create_rep crep;
	struct proto_invite_get_by_code_req gr = {.code = "Code_0001-abc"};
	struct proto_invite_get_by_code_rep grep;
	struct proto_invite_list_req lr = {0};
	struct proto_invite_list_rep lrep;
	struct proto_invite_delete_req dr;
	struct proto_invite_delete_rep drep;
	struct proto_reply hold;
	int64_t id1;

	assert_int_equal(CALL(invite_create, cr, crep), PROTO_OK);
	id1 = crep.id;
	assert_true(id1 > 0);
	assert_string_equal(crep.code, "Code_0001-abc");
	assert_true(crep.has_created_by_id);
	assert_int_equal(crep.created_by_id, admin);
	assert_string_equal(crep.created_by_username, "inv_admin");
	assert_false(crep.has_used_by_id || crep.has_used_by_username || crep.has_used_at);
	assert_false(crep.is_used);
	assert_string_equal(crep.expires_at, "2099-01-01T00:00:00.000Z");
	assert_int_equal(strlen(crep.created_at), 24);
	assert_string_equal(crep.status, "valid");
	proto_reply_fini(&hold);

	cr = (struct proto_invite_create_req){.code = "expired-code"};
	cr.has_expires_at = true;
	cr.expires_at = "2001-01-01T00:00:00.000Z";
	assert_int_equal(CALL(invite_create, cr, crep), PROTO_OK);
	assert_false(crep.has_created_by_id);
	assert_string_equal(crep.status, "expired");
	proto_reply_fini(&hold);
	cr = (struct proto_invite_create_req){.code = "forever-code"};
	assert_int_equal(CALL(invite_create, cr, crep), PROTO_OK);
	assert_false(crep.has_expires_at);
	assert_string_equal(crep.status, "valid");
	proto_reply_fini(&hold);

	assert_int_equal(CALL(invite_get_by_code, gr, grep), PROTO_OK);
	assert_int_equal(grep.id, id1);
	assert_string_equal(grep.created_by_username, "inv_admin");
	assert_string_equal(grep.status, "valid");
	proto_reply_fini(&hold);
	assert_int_equal(CALL(invite_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.invites.n, 3);
	assert_string_equal(lrep.invites.v[0].code, "forever-code");
	assert_string_equal(lrep.invites.v[1].status, "expired");
	assert_int_equal(lrep.invites.v[2].id, id1);
	assert_string_equal(lrep.invites.v[2].created_by_username, "inv_admin");
	proto_reply_fini(&hold);

	/* errors */
	cr = (struct proto_invite_create_req){.code = "short"};
	expect_error(&hold, CALL(invite_create, cr, crep), PROTO_BAD_REQUEST, "code", NULL);
	cr.code = "has space!";
	expect_error(&hold, CALL(invite_create, cr, crep), PROTO_BAD_REQUEST, "code", NULL);
	cr.code = "forever-code";
	expect_error(&hold, CALL(invite_create, cr, crep), PROTO_CONFLICT, "code", NULL);
	cr.code = "new-code-1";
	cr.has_created_by_id = true;
	cr.created_by_id = 999999;
	expect_error(&hold, CALL(invite_create, cr, crep), PROTO_NOT_FOUND, "created_by_id", NULL);
	cr.has_created_by_id = false;
	cr.has_expires_at = true;
	cr.expires_at = "tomorrow";
	expect_error(&hold, CALL(invite_create, cr, crep), PROTO_BAD_REQUEST, "expires_at", NULL);
	gr.code = "nope-nope";
	expect_error(&hold, CALL(invite_get_by_code, gr, grep), PROTO_NOT_FOUND, "code", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM invites"), 3);

	dr.id = id1;
	assert_int_equal(CALL(invite_delete, dr, drep), PROTO_OK);
	assert_int_equal(drep.id, id1);
	proto_reply_fini(&hold);
	expect_error(&hold, CALL(invite_delete, dr, drep), PROTO_NOT_FOUND, "id", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM invites"), 2);
}

static void
test_register(void **state)
{
	struct fx *f = *state;
	struct proto_invite_create_req ic = {.code = "reg-invite-1"};
	struct proto_invite_create_rep icrep;
	struct proto_register_user_req rr = {.username = "Newbie", .email = "newbie@example.com",
	    .hashed_password = "$argon2id$x", .has_invite_code = true, .invite_code = "reg-invite-1",
	    .is_approved = true};
	struct proto_register_user_rep rrep;
	struct proto_invite_get_by_code_req gr = {.code = "reg-invite-1"};
	struct proto_invite_get_by_code_rep grep;
	struct proto_reply hold;
	long long users, links;
	int64_t uid, inv;

	assert_int_equal(CALL(invite_create, ic, icrep), PROTO_OK);
	inv = icrep.id;
	proto_reply_fini(&hold);
	ic.code = "reg-expired";
	ic.has_expires_at = true;
	ic.expires_at = "2001-01-01T00:00:00.000Z";
	assert_int_equal(CALL(invite_create, ic, icrep), PROTO_OK);
	proto_reply_fini(&hold);

	events_reset(f);
	assert_int_equal(CALL(register_user, rr, rrep), PROTO_OK);
	uid = rrep.id;
	assert_true(uid > 0);
	assert_string_equal(rrep.username, "Newbie");
	assert_string_equal(rrep.email, "newbie@example.com");
	assert_true(rrep.is_active);
	assert_true(rrep.is_approved);
	assert_string_equal(rrep.role, "viewer");
	assert_true(rrep.has_invite_id);
	assert_int_equal(rrep.invite_id, inv);
	assert_int_equal(strlen(rrep.created_at), 24);
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 1);
	assert_event(f, 0, "user", uid, NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld AND is_approved = 1"
				      " AND is_active = 1 AND hashed_password = '$argon2id$x'", (long long)uid), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_roles AS ur JOIN roles AS r"
				      " ON r.id = ur.role_id WHERE ur.user_id = %lld AND r.name = 'viewer'",
			     (long long)uid), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM invites WHERE id = %lld AND is_used = 1"
				      " AND used_by_id = %lld AND used_at IS NOT NULL", (long long)inv,
			     (long long)uid), 1);
	assert_int_equal(CALL(invite_get_by_code, gr, grep), PROTO_OK);
	assert_string_equal(grep.status, "used");
	assert_int_equal(grep.used_by_id, uid);
	assert_string_equal(grep.used_by_username, "Newbie");
	assert_true(grep.has_used_at);
	proto_reply_fini(&hold);

	/* failures write nothing and publish nothing */
	users = db_scalar(f, "SELECT COUNT(*) FROM users");
	links = db_scalar(f, "SELECT COUNT(*) FROM user_roles");
	events_reset(f);
	rr.username = "other1";
	rr.email = "other1@example.com";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_CONFLICT, "invite_code",
	    "invite already used");
	rr.invite_code = "reg-expired";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_BAD_REQUEST, "invite_code",
	    "invite expired");
	rr.invite_code = "reg-unknown";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_NOT_FOUND, "invite_code", NULL);
	rr.has_invite_code = false;
	rr.username = "NEWBIE";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_CONFLICT, "username", NULL);
	rr.username = "other1";
	rr.email = "NewBie@Example.com";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_CONFLICT, "email", NULL);
	rr.email = "other1@example.com";
	rr.has_role = true;
	rr.role = "no_such_role";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_NOT_FOUND, "role", NULL);
	rr.role = "downloader";
	rr.username = "";
	expect_error(&hold, CALL(register_user, rr, rrep), PROTO_BAD_REQUEST, "username", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users"), users);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_roles"), links);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM invites WHERE is_used = 1"), 1);
	assert_int_equal(events_sync(f), 0);

	/* no invite, explicit role, unapproved */
	rr.username = "other1";
	rr.is_approved = false;
	assert_int_equal(CALL(register_user, rr, rrep), PROTO_OK);
	assert_false(rrep.is_approved);
	assert_false(rrep.has_invite_id);
	assert_string_equal(rrep.role, "downloader");
	assert_int_equal(db_scalar(f, "SELECT is_approved FROM users WHERE id = %lld", (long long)rrep.id), 0);
	proto_reply_fini(&hold);
}

/* ---- recovery codes ----------------------------------------------------- */

static void
test_recovery(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "rec_a", 1, 1);
	const char *hashes[8] = {"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"};
	struct proto_recovery_codes_replace_req rr = {.user_id = uid, .code_hashes = {hashes, 8}};
	struct proto_recovery_codes_replace_rep rrep;
	struct proto_recovery_codes_list_req lr = {.user_id = uid};
	struct proto_recovery_codes_list_rep lrep;
	struct proto_recovery_code_use_req ur = {.user_id = uid};
	struct proto_recovery_code_use_rep urep;
	struct proto_reply hold;
	int64_t ids[8];

	db_exec(f, "UPDATE users SET totp_secret = 'SECRET', totp_enabled = 1,"
		   " totp_verified_at = '2026-01-01T00:00:00.000Z' WHERE id = %lld", (long long)uid);
	assert_int_equal(CALL(recovery_codes_replace, rr, rrep), PROTO_OK);
	assert_int_equal(rrep.count, 8);
	proto_reply_fini(&hold);
	hashes[0] = "n0"; /* replacing deletes the old ones */
	assert_int_equal(CALL(recovery_codes_replace, rr, rrep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = %lld",
			     (long long)uid), 8);

	assert_int_equal(CALL(recovery_codes_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.codes.n, 8);
	assert_string_equal(lrep.codes.v[0].code_hash, "n0");
	assert_string_equal(lrep.codes.v[7].code_hash, "h7");
	for (int i = 0; i < 8; i++)
		ids[i] = lrep.codes.v[i].id;
	proto_reply_fini(&hold);

	/* errors, nothing written */
	rr.code_hashes.n = 7;
	expect_error(&hold, CALL(recovery_codes_replace, rr, rrep), PROTO_BAD_REQUEST, "code_hashes", NULL);
	rr.code_hashes.n = 8;
	hashes[3] = "";
	expect_error(&hold, CALL(recovery_codes_replace, rr, rrep), PROTO_BAD_REQUEST, "code_hashes", NULL);
	hashes[3] = "h3";
	rr.user_id = 999999;
	expect_error(&hold, CALL(recovery_codes_replace, rr, rrep), PROTO_NOT_FOUND, "user_id", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM two_factor_recovery_codes"
				      " WHERE user_id = %lld AND code_hash = 'n0'", (long long)uid), 1);

	events_reset(f);
	for (int i = 0; i < 7; i++) {
		ur.id = ids[i];
		assert_int_equal(CALL(recovery_code_use, ur, urep), PROTO_OK);
		assert_int_equal(urep.remaining, 7 - i);
		assert_false(urep.totp_disabled);
		proto_reply_fini(&hold);
	}
	ur.id = ids[0];
	expect_error(&hold, CALL(recovery_code_use, ur, urep), PROTO_CONFLICT, "id",
	    "recovery code already used");
	ur.id = 999999;
	expect_error(&hold, CALL(recovery_code_use, ur, urep), PROTO_NOT_FOUND, "id", NULL);
	ur.id = ids[7];
	ur.user_id = uid + 1000; /* someone else's code */
	expect_error(&hold, CALL(recovery_code_use, ur, urep), PROTO_NOT_FOUND, "id", NULL);
	ur.user_id = uid;
	assert_int_equal(events_sync(f), 0);
	assert_int_equal(CALL(recovery_codes_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.codes.n, 1);
	assert_int_equal(lrep.codes.v[0].id, ids[7]);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT totp_enabled FROM users WHERE id = %lld", (long long)uid), 1);

	/* the last one turns 2FA off and deletes the codes */
	events_reset(f);
	assert_int_equal(CALL(recovery_code_use, ur, urep), PROTO_OK);
	assert_int_equal(urep.remaining, 0);
	assert_true(urep.totp_disabled);
	proto_reply_fini(&hold);
	assert_int_equal(events_sync(f), 1);
	assert_event(f, 0, "user", uid, NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld AND totp_enabled = 0"
				      " AND totp_secret IS NULL AND totp_verified_at IS NULL", (long long)uid), 1);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = %lld",
			     (long long)uid), 0);
	expect_error(&hold, CALL(recovery_code_use, ur, urep), PROTO_NOT_FOUND, "id", NULL);
}

/* ---- OAuth -------------------------------------------------------------- */

static void
test_oauth(void **state)
{
	struct fx *f = *state;
	int64_t uid = mkuser(f, "oauth_a", 1, 1);
	struct proto_oauth_provider_list_req lr = {0};
	struct proto_oauth_provider_list_rep lrep;
	struct proto_oauth_provider_set_req sr = {.id = "google", .has_enabled = true, .enabled = true,
	    .has_client_id = true, .client_id = "cid-1", .has_client_secret = true,
	    .client_secret = "TOPSECRET-42"};
	struct proto_oauth_provider_set_rep srep;
	struct proto_oauth_account_link_req kr = {.user_id = uid, .provider = "google",
	    .provider_user_id = "g-123", .has_email = true, .email = "a@gmail.com"};
	struct proto_oauth_account_link_rep krep;
	struct proto_oauth_account_find_req fr = {.provider = "google", .provider_user_id = "g-123"};
	struct proto_oauth_account_find_rep frep;
	struct proto_reply hold;
	nng_msg *raw = NULL;
	char buf[64];

	assert_int_equal(CALL(oauth_provider_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.providers.n, 2);
	assert_string_equal(lrep.providers.v[0].id, "google");
	assert_string_equal(lrep.providers.v[0].name, "Google");
	assert_false(lrep.providers.v[0].enabled);
	assert_false(lrep.providers.v[0].has_client_id);
	assert_false(lrep.providers.v[0].has_client_secret);
	assert_string_equal(lrep.providers.v[1].id, "microsoft");
	proto_reply_fini(&hold);

	assert_int_equal(CALL(oauth_provider_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.id, "google");
	assert_string_equal(srep.name, "Google");
	assert_true(srep.enabled);
	assert_string_equal(srep.client_id, "cid-1");
	assert_true(srep.has_client_secret);
	assert_int_equal(strlen(srep.updated_at), 24);
	proto_reply_fini(&hold);
	db_text(f, buf, sizeof(buf), "SELECT client_secret FROM oauth_providers WHERE id = 'google'");
	assert_string_equal(buf, "TOPSECRET-42");
	/* the secret is in no reply's bytes */
	assert_int_equal(ipc_client_call_sync(f->c, proto_oauth_provider_list_req_msg(
	    proto_next_req_id(), &lr), T_TIMEOUT, &raw), IPC_OK);
	assert_null(memmem(nng_msg_body(raw), nng_msg_len(raw), "TOPSECRET", 9));
	nng_msg_free(raw);

	/* absent fields kept; an empty secret clears it; a new id is created */
	sr = (struct proto_oauth_provider_set_req){.id = "google", .has_client_secret = true,
	    .client_secret = ""};
	assert_int_equal(CALL(oauth_provider_set, sr, srep), PROTO_OK);
	assert_true(srep.enabled);
	assert_string_equal(srep.client_id, "cid-1");
	assert_false(srep.has_client_secret);
	proto_reply_fini(&hold);
	sr = (struct proto_oauth_provider_set_req){.id = "oidc", .has_name = true, .name = "My IdP"};
	assert_int_equal(CALL(oauth_provider_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.name, "My IdP");
	assert_false(srep.enabled);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM oauth_providers"), 3);
	sr.id = "";
	expect_error(&hold, CALL(oauth_provider_set, sr, srep), PROTO_BAD_REQUEST, "id", NULL);

	assert_int_equal(CALL(oauth_account_link, kr, krep), PROTO_OK);
	assert_true(krep.id > 0);
	assert_int_equal(strlen(krep.created_at), 24);
	proto_reply_fini(&hold);
	expect_error(&hold, CALL(oauth_account_link, kr, krep), PROTO_CONFLICT, "provider_user_id", NULL);
	kr.provider_user_id = "g-456";
	kr.user_id = 999999;
	expect_error(&hold, CALL(oauth_account_link, kr, krep), PROTO_NOT_FOUND, "user_id", NULL);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM oauth_accounts"), 1);

	assert_int_equal(CALL(oauth_account_find, fr, frep), PROTO_OK);
	assert_int_equal(frep.user_id, uid);
	assert_string_equal(frep.email, "a@gmail.com");
	assert_false(frep.has_display_name);
	proto_reply_fini(&hold);
	fr.provider = "microsoft";
	expect_error(&hold, CALL(oauth_account_find, fr, frep), PROTO_NOT_FOUND, "provider_user_id", NULL);
}

/* ---- setup: bootstrap status, server config ------------------------------ */

static void
test_setup(void **state)
{
	struct fx *f = *state;
	struct proto_bootstrap_status_list_req lr = {0};
	struct proto_bootstrap_status_list_rep lrep;
	struct proto_bootstrap_status_set_req sr = {.component = "metrics", .status = "in_progress",
	    .has_message = true, .message = "starting"};
	struct proto_bootstrap_status_set_rep srep;
	struct proto_server_config_get_req gr = {0};
	struct proto_server_config_get_rep grep;
	struct proto_server_config_set_req cr = {.name = "home", .storage_path = "/srv/media"};
	struct proto_server_config_set_rep crep;
	struct proto_reply hold;

	assert_int_equal(CALL(bootstrap_status_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.components.n, 3);
	assert_string_equal(lrep.components.v[0].component, "database");
	assert_string_equal(lrep.components.v[0].display_name, "Database");
	assert_string_equal(lrep.components.v[0].status, "pending");
	assert_false(lrep.components.v[0].has_started_at || lrep.components.v[0].has_error);
	assert_string_equal(lrep.components.v[2].component, "backup");
	proto_reply_fini(&hold);

	assert_int_equal(CALL(bootstrap_status_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.component, "metrics");
	assert_string_equal(srep.display_name, "Metrics");
	assert_string_equal(srep.status, "installing");
	assert_string_equal(srep.message, "starting");
	assert_true(srep.has_started_at);
	assert_false(srep.has_completed_at);
	proto_reply_fini(&hold);
	sr = (struct proto_bootstrap_status_set_req){.component = "metrics", .status = "failed",
	    .has_error = true, .error = "boom"};
	assert_int_equal(CALL(bootstrap_status_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.status, "failed");
	assert_string_equal(srep.error, "boom");
	assert_string_equal(srep.message, "starting"); /* kept */
	assert_true(srep.has_started_at && srep.has_completed_at);
	proto_reply_fini(&hold);
	sr = (struct proto_bootstrap_status_set_req){.component = "metrics", .status = "completed"};
	assert_int_equal(CALL(bootstrap_status_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.status, "healthy");
	assert_false(srep.has_error);
	assert_true(srep.has_completed_at);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM bootstrap_status WHERE component = 'metrics'"
				      " AND status = 'healthy' AND error IS NULL"), 1);
	sr.status = "exploded";
	expect_error(&hold, CALL(bootstrap_status_set, sr, srep), PROTO_BAD_REQUEST, "status", NULL);
	sr.status = "pending";
	sr.component = "helm";
	expect_error(&hold, CALL(bootstrap_status_set, sr, srep), PROTO_NOT_FOUND, "component", NULL);

	expect_error(&hold, CALL(server_config_get, gr, grep), PROTO_NOT_FOUND, NULL,
	    "server not configured");
	assert_int_equal(CALL(server_config_set, cr, crep), PROTO_OK);
	assert_string_equal(crep.name, "home");
	assert_string_equal(crep.storage_path, "/srv/media");
	assert_int_equal(strlen(crep.created_at), 24);
	proto_reply_fini(&hold);
	cr.name = "home2";
	cr.storage_path = "/data";
	assert_int_equal(CALL(server_config_set, cr, crep), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(server_config_get, gr, grep), PROTO_OK);
	assert_string_equal(grep.name, "home2");
	assert_string_equal(grep.storage_path, "/data");
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM server_config"), 1);
	cr.storage_path = "relative/path";
	expect_error(&hold, CALL(server_config_set, cr, crep), PROTO_BAD_REQUEST, "storage_path", NULL);
	cr.storage_path = "/x";
	cr.name = "";
	expect_error(&hold, CALL(server_config_set, cr, crep), PROTO_BAD_REQUEST, "name", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_create_get),
		cmocka_unit_test(test_session_list_delete),
		cmocka_unit_test(test_principal),
		cmocka_unit_test(test_touch_cleanup),
		cmocka_unit_test(test_invites),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_oauth),
		cmocka_unit_test(test_setup),
	};
	int rc;

	log_init("test");
	log_set_level(getenv("KUBARR_LOG_LEVEL") && strcmp(getenv("KUBARR_LOG_LEVEL"), "debug") == 0 ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests(tests, storaged_fx_setup, storaged_fx_teardown);
	ipc_fini();
	return rc;
}
