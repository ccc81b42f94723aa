/* The users family (ops 100-199) through storaged's socket, with the real
 * daemons: reply shapes field by field, typed errors naming their field,
 * events, the database file checked directly, nothing written on a failed
 * write, the last-admin and admin lock-out guards, the app.X split rule and
 * the permissions / allowed_apps computation.  One harness for the group; the
 * tests run in order and build on each other's users. */
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


#define STRS(...)                                                                 \
	((struct proto_strs){(const char *[]){__VA_ARGS__},                          \
	    sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)})
#define NOSTRS ((struct proto_strs){NULL, 0})

/* A row count of the tables a user or role write touches: must not move on a
 * failed write. */
static long long
db_rows(struct fx *f)
{
	return db_scalar(f, "SELECT (SELECT COUNT(*) FROM users) * 1000000 + (SELECT COUNT(*) FROM"
			    " user_roles) * 10000 + (SELECT COUNT(*) FROM roles) * 1000 + (SELECT COUNT(*)"
			    " FROM role_permissions) * 10 + (SELECT COUNT(*) FROM role_app_permissions)"
			    " + (SELECT COUNT(*) FROM user_preferences) * 100000000000");
}

/* Index of the next event: drains first (events_sync publishes a marker and
 * waits for it), so no event of an earlier write can arrive after the count. */
static int
ev_count(struct fx *f)
{
	return events_sync(f) + 1;
}

/* Waits for an event (kind, id) published after index `from`. */
static void
ev_expect(struct fx *f, int from, const char *kind, int64_t id)
{
	long until = harness_now_ms() + 2000;

	while (harness_now_ms() < until) {
		pthread_mutex_lock(&f->lock);
		for (int i = from; i < f->nev; i++)
			if (strcmp(f->ev[i].kind, kind) == 0 && f->ev[i].id == id) {
				pthread_mutex_unlock(&f->lock);
				return;
			}
		pthread_mutex_unlock(&f->lock);
		usleep(5000);
	}
	fail_msg("no %s event for id %lld", kind, (long long)id);
}

/* No event after `from`: the next marker comes right after it. */
static void
ev_none(struct fx *f, int from)
{
	assert_int_equal(events_sync(f), from);
}

static void
assert_strs(struct proto_strs got, struct proto_strs want)
{
	if (got.n != want.n) {
		for (size_t i = 0; i < got.n; i++)
			print_message("got[%zu] = %s\n", i, got.v[i]);
	}
	assert_int_equal(got.n, want.n);
	for (size_t i = 0; i < want.n; i++)
		assert_string_equal(got.v[i], want.v[i]);
}

/* Expects a typed error naming `field`. */
#define EXPECT_ERR(call, st, fieldname)                                           \
	do {                                                                          \
		struct proto_reply h_;                                                    \
		assert_int_equal(call(f->c, &req, 2000, &rep, &h_), st);                 \
		assert_non_null(h_.detail);                                               \
		{                                                                         \
			struct proto_error e_;                                                \
			const char *err_;                                                     \
			assert_int_equal(proto_error_decode(&h_.env, &e_, &err_), 0);         \
			assert_true(e_.has_field);                                            \
			assert_string_equal(e_.field, fieldname);                             \
		}                                                                         \
		proto_reply_fini(&h_);                                                    \
	} while (0)

static int64_t
mk_user(struct fx *f, const char *name, bool active, bool approved, struct proto_strs roles)
{
	char email[128];
	struct proto_user_create_req req = {.username = name, .email = email,
		.hashed_password = "$argon2id$x", .is_active = active, .is_approved = approved,
		.roles = roles, .has_roles = roles.n > 0};
	struct proto_user_create_rep rep;
	struct proto_reply hold;
	int64_t id;

	snprintf(email, sizeof(email), "%s@example.org", name);
	assert_int_equal(proto_user_create_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	id = rep.id;
	proto_reply_fini(&hold);
	return id;
}

static enum proto_status
get_user(struct fx *f, int64_t id, struct proto_user_get_rep *rep, struct proto_reply *hold)
{
	struct proto_user_get_req req = {.id = id, .has_id = true};

	return proto_user_get_call_sync(f->c, &req, 2000, rep, hold);
}

/* ---- last active admin (first: the database has no users yet) ------------- */

static void
test_last_admin(void **state)
{
	struct fx *f = *state;
	int64_t root = mk_user(f, "root", true, true, STRS("admin")), root2;
	struct proto_user_update_req req = {.id = root};
	struct proto_user_update_rep rep;
	struct proto_reply hold;
	long long rows = db_rows(f);
	int ev0 = ev_count(f);

	req.has_is_active = true, req.is_active = false;
	EXPECT_ERR(proto_user_update_call_sync, PROTO_CONFLICT, "is_active");
	req.has_is_active = false, req.has_is_approved = true, req.is_approved = false;
	EXPECT_ERR(proto_user_update_call_sync, PROTO_CONFLICT, "is_approved");
	req.has_is_approved = false, req.has_roles = true, req.roles = STRS("viewer");
	EXPECT_ERR(proto_user_update_call_sync, PROTO_CONFLICT, "roles");
	{
		struct proto_user_delete_req dreq = {.id = root};
		struct proto_user_delete_rep drep;

		assert_int_equal(proto_user_delete_call_sync(f->c, &dreq, 2000, &drep, &hold),
		    PROTO_CONFLICT);
		assert_non_null(strstr(hold.detail, "last active admin"));
		proto_reply_fini(&hold);
	}
	ev_none(f, ev0);
	assert_int_equal(db_rows(f), rows);
	assert_int_equal(db_scalar(f, "SELECT is_active + is_approved FROM users WHERE id = %lld",
			     (long long)root), 2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_roles WHERE user_id = %lld AND"
				      " role_id = 1", (long long)root), 1);

	/* an inactive admin does not count; a second active one lets root go */
	(void)mk_user(f, "sleepy", false, true, STRS("admin"));
	req.roles = STRS("viewer");
	EXPECT_ERR(proto_user_update_call_sync, PROTO_CONFLICT, "roles");
	root2 = mk_user(f, "root2", true, true, STRS("admin", "viewer"));
	req.has_roles = false, req.has_is_active = true, req.is_active = false;
	assert_int_equal(proto_user_update_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_false(rep.is_active);
	proto_reply_fini(&hold);
	{
		struct proto_user_delete_req dreq = {.id = root2};
		struct proto_user_delete_rep drep;

		assert_int_equal(proto_user_delete_call_sync(f->c, &dreq, 2000, &drep, &hold),
		    PROTO_CONFLICT);
		proto_reply_fini(&hold);
		dreq.id = root;   /* inactive now: deleting it is fine */
		assert_int_equal(proto_user_delete_call_sync(f->c, &dreq, 2000, &drep, &hold), PROTO_OK);
		assert_int_equal(drep.id, root);
		proto_reply_fini(&hold);
	}
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld", (long long)root), 0);
}

/* ---- create and get ------------------------------------------------------- */

static void
test_user_create(void **state)
{
	struct fx *f = *state;
	struct proto_user_create_req req = {.username = "Alice", .email = "Alice@Example.org",
		.hashed_password = "$argon2id$alice", .is_active = true, .is_approved = true,
		.roles = STRS("viewer"), .has_roles = true};
	struct proto_user_create_rep rep;
	struct proto_reply hold;
	long long rows = db_rows(f);
	int ev0 = ev_count(f);
	char longmail[300], longname[80];

	assert_int_equal(proto_user_create_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_true(rep.id > 0);
	assert_string_equal(rep.username, "Alice");
	assert_string_equal(rep.email, "Alice@Example.org");
	assert_true(rep.is_active);
	assert_true(rep.is_approved);
	assert_int_equal(strlen(rep.created_at), 24);
	assert_string_equal(rep.created_at, rep.updated_at);
	assert_string_equal(rep.theme, "system");
	assert_strs(rep.roles, STRS("viewer"));
	assert_strs(rep.permissions, STRS("app.jellyfin", "app.jellyseerr", "apps.view", "logs.view",
	    "monitoring.view", "storage.download", "storage.view"));
	assert_strs(rep.allowed_apps, STRS("jellyfin", "jellyseerr"));
	assert_false(rep.requires_2fa);
	assert_int_equal(rep.role_refs.n, 1);
	assert_int_equal(rep.role_refs.v[0].id, 2);
	assert_string_equal(rep.role_refs.v[0].name, "viewer");
	assert_true(rep.role_refs.v[0].has_description);
	assert_false(rep.has_hashed_password);
	assert_false(rep.has_totp_secret);
	assert_false(rep.has_totp_enabled);
	ev_expect(f, ev0, "user", rep.id);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld AND username ="
				      " 'Alice' AND hashed_password = '$argon2id$alice' AND is_active = 1"
				      " AND is_approved = 1 AND totp_enabled = 0", (long long)rep.id), 1);
	assert_int_equal(db_scalar(f, "SELECT role_id FROM user_roles WHERE user_id = %lld",
			     (long long)rep.id), 2);
	proto_reply_fini(&hold);
	rows = db_rows(f);
	ev0 = ev_count(f);

	/* duplicates, case-insensitively; each names its field */
	req.username = "ALICE", req.email = "other@example.org";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_CONFLICT, "username");
	req.username = "alice2", req.email = "alice@EXAMPLE.ORG";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_CONFLICT, "email");
	/* validation */
	req.email = "a2@example.org";
	req.username = "ab";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "username");
	req.username = "has space";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "username");
	memset(longname, 'n', 65);
	longname[65] = '\0';
	req.username = longname;
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "username");
	req.username = "alice2";
	req.email = "nope";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "email");
	req.email = "a@b@c";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "email");
	memset(longmail, 'm', 250);
	strcpy(longmail + 250, "@x.org");   /* 256 characters */
	req.email = longmail;
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "email");
	req.email = "a2@example.org";
	req.hashed_password = "";
	EXPECT_ERR(proto_user_create_call_sync, PROTO_BAD_REQUEST, "hashed_password");
	/* an unknown role after the insert: the insert is rolled back */
	req.hashed_password = "h";
	req.roles = STRS("viewer", "nosuchrole");
	EXPECT_ERR(proto_user_create_call_sync, PROTO_NOT_FOUND, "roles");
	assert_int_equal(db_rows(f), rows);
	ev_none(f, ev0);
	/* a 64-character username and a repeated role name are fine */
	longname[64] = '\0';
	req.username = longname;
	req.roles = STRS("viewer", "viewer");
	assert_int_equal(proto_user_create_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_strs(rep.roles, STRS("viewer"));
	proto_reply_fini(&hold);
}

static void
test_user_get(void **state)
{
	struct fx *f = *state;
	struct proto_user_get_req req = {.username = "aLiCe", .has_username = true};
	struct proto_user_get_rep rep;
	struct proto_reply hold;
	int64_t id;

	assert_int_equal(proto_user_get_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	id = rep.id;
	assert_string_equal(rep.username, "Alice");
	assert_false(rep.has_hashed_password);
	proto_reply_fini(&hold);
	req = (struct proto_user_get_req){.email = "ALICE@example.ORG", .has_email = true,
		.with_secrets = true, .has_with_secrets = true};
	assert_int_equal(proto_user_get_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.id, id);
	assert_true(rep.has_hashed_password);
	assert_string_equal(rep.hashed_password, "$argon2id$alice");
	assert_true(rep.has_totp_enabled);
	assert_false(rep.totp_enabled);
	assert_false(rep.has_totp_secret);
	assert_false(rep.has_totp_verified_at);
	proto_reply_fini(&hold);
	assert_int_equal(get_user(f, id, &rep, &hold), PROTO_OK);
	assert_string_equal(rep.email, "Alice@Example.org");
	assert_int_equal(rep.roles.n, 1);
	proto_reply_fini(&hold);

	req = (struct proto_user_get_req){0};
	EXPECT_ERR(proto_user_get_call_sync, PROTO_BAD_REQUEST, "id");
	req = (struct proto_user_get_req){.id = id, .has_id = true, .username = "Alice",
		.has_username = true};
	EXPECT_ERR(proto_user_get_call_sync, PROTO_BAD_REQUEST, "id");
	req = (struct proto_user_get_req){.id = 999999, .has_id = true};
	EXPECT_ERR(proto_user_get_call_sync, PROTO_NOT_FOUND, "id");
	req = (struct proto_user_get_req){.username = "nobody", .has_username = true};
	EXPECT_ERR(proto_user_get_call_sync, PROTO_NOT_FOUND, "username");
	req = (struct proto_user_get_req){.email = "nobody@x", .has_email = true};
	EXPECT_ERR(proto_user_get_call_sync, PROTO_NOT_FOUND, "email");
}

/* permissions: union of role_permissions and app rows; allowed_apps ["*"]
 * with the role_permission app.*; requires_2fa from any role. */
static void
test_permissions(void **state)
{
	struct fx *f = *state;
	int64_t id = mk_user(f, "mixed", true, true, STRS("viewer", "downloader", "admin"));
	int64_t id2 = mk_user(f, "dluser", true, true, STRS("viewer", "downloader"));
	int64_t none = mk_user(f, "norole", true, true, NOSTRS);
	struct proto_user_get_rep rep;
	struct proto_reply hold;

	assert_int_equal(get_user(f, id, &rep, &hold), PROTO_OK);
	assert_strs(rep.roles, STRS("admin", "downloader", "viewer"));
	assert_strs(rep.allowed_apps, STRS("*"));
	assert_int_equal(rep.role_refs.n, 3);
	/* sorted, de-duplicated (apps.view, storage.* appear in several roles) */
	assert_int_equal(rep.permissions.n, 28 + 9);
	for (size_t i = 1; i < rep.permissions.n; i++)
		assert_true(strcmp(rep.permissions.v[i - 1], rep.permissions.v[i]) < 0);
	assert_string_equal(rep.permissions.v[0], "app.*");
	proto_reply_fini(&hold);

	assert_int_equal(get_user(f, id2, &rep, &hold), PROTO_OK);
	assert_strs(rep.allowed_apps, STRS("deluge", "jackett", "jellyfin", "jellyseerr", "prowlarr",
	    "qbittorrent", "rutorrent", "sabnzbd", "transmission"));
	assert_strs(rep.permissions, STRS("app.deluge", "app.jackett", "app.jellyfin",
	    "app.jellyseerr", "app.prowlarr", "app.qbittorrent", "app.rutorrent", "app.sabnzbd",
	    "app.transmission", "apps.restart", "apps.view", "logs.view", "monitoring.view",
	    "storage.download", "storage.view"));
	assert_false(rep.requires_2fa);
	proto_reply_fini(&hold);

	assert_int_equal(get_user(f, none, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.roles.n + rep.permissions.n + rep.allowed_apps.n + rep.role_refs.n, 0);
	proto_reply_fini(&hold);

	{
		struct proto_role_update_req req = {.id = 3, .requires_2fa = true,
			.has_requires_2fa = true};
		struct proto_role_update_rep rrep;

		assert_int_equal(proto_role_update_call_sync(f->c, &req, 2000, &rrep, &hold), PROTO_OK);
		assert_true(rrep.requires_2fa);
		proto_reply_fini(&hold);
		assert_int_equal(get_user(f, id2, &rep, &hold), PROTO_OK);
		assert_true(rep.requires_2fa);
		proto_reply_fini(&hold);
		req.requires_2fa = false;
		assert_int_equal(proto_role_update_call_sync(f->c, &req, 2000, &rrep, &hold), PROTO_OK);
		proto_reply_fini(&hold);
	}
}

/* ---- lists ---------------------------------------------------------------- */

static void
test_user_list(void **state)
{
	struct fx *f = *state;
	struct proto_user_list_req req = {.limit = 2, .has_limit = true};
	struct proto_user_list_rep rep;
	struct proto_reply hold;
	long long total = db_scalar(f, "SELECT COUNT(*) FROM users");
	int64_t last = 0;
	uint64_t seen = 0;

	assert_true(total >= 7);
	/* walk every page of 2: ids ascending, each user complete */
	for (uint64_t skip = 0; skip < (uint64_t)total + 2; skip += 2) {
		req.skip = skip, req.has_skip = true;
		assert_int_equal(proto_user_list_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
		assert_int_equal(rep.total, total);
		assert_int_equal(rep.users.n, skip >= (uint64_t)total ? 0 :
		    ((uint64_t)total - skip >= 2 ? 2 : 1));
		for (size_t i = 0; i < rep.users.n; i++) {
			const struct proto_rec_user *u = &rep.users.v[i];
			struct proto_user_get_rep one;
			struct proto_reply h2;

			assert_true(u->id > last);
			last = u->id;
			seen++;
			assert_int_equal(get_user(f, u->id, &one, &h2), PROTO_OK);
			assert_string_equal(u->username, one.username);
			assert_strs(u->roles, one.roles);
			assert_strs(u->permissions, one.permissions);
			assert_strs(u->allowed_apps, one.allowed_apps);
			assert_int_equal(u->requires_2fa, one.requires_2fa);
			proto_reply_fini(&h2);
			for (size_t r = 0; r < u->roles.n; r++) {
				bool found = false;

				for (size_t k = 0; k < rep.role_refs.n; k++)
					found = found || strcmp(rep.role_refs.v[k].name, u->roles.v[r]) == 0;
				assert_true(found);
			}
		}
		proto_reply_fini(&hold);
	}
	assert_int_equal(seen, total);

	req = (struct proto_user_list_req){0};   /* defaults: skip 0, limit 100 */
	assert_int_equal(proto_user_list_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.users.n, total);
	proto_reply_fini(&hold);
	req.limit = 1000, req.has_limit = true;
	assert_int_equal(proto_user_list_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	req.limit = 0;
	EXPECT_ERR(proto_user_list_call_sync, PROTO_BAD_REQUEST, "limit");
	req.limit = 1001;
	EXPECT_ERR(proto_user_list_call_sync, PROTO_BAD_REQUEST, "limit");

	{
		struct proto_user_list_pending_req preq = {0};
		struct proto_user_list_pending_rep prep;
		int64_t p1 = mk_user(f, "pending1", true, false, STRS("viewer"));
		int64_t p2 = mk_user(f, "pending2", true, false, NOSTRS);

		assert_int_equal(proto_user_list_pending_call_sync(f->c, &preq, 2000, &prep, &hold),
		    PROTO_OK);
		assert_int_equal(prep.total, 2);
		assert_int_equal(prep.users.n, 2);
		assert_int_equal(prep.users.v[0].id, p1);
		assert_int_equal(prep.users.v[1].id, p2);
		assert_false(prep.users.v[0].is_approved);
		assert_strs(prep.users.v[0].roles, STRS("viewer"));
		assert_int_equal(prep.role_refs.n, 1);
		proto_reply_fini(&hold);
		preq.skip = 1, preq.has_skip = true, preq.limit = 1, preq.has_limit = true;
		assert_int_equal(proto_user_list_pending_call_sync(f->c, &preq, 2000, &prep, &hold),
		    PROTO_OK);
		assert_int_equal(prep.total, 2);
		assert_int_equal(prep.users.n, 1);
		assert_int_equal(prep.users.v[0].id, p2);
		assert_int_equal(prep.role_refs.n, 0);
		proto_reply_fini(&hold);
	}
}

/* ---- update, delete, password, TOTP, preferences --------------------------- */

static void
test_user_update(void **state)
{
	struct fx *f = *state;
	int64_t id = mk_user(f, "bob", true, false, STRS("viewer"));
	struct proto_user_update_req req = {.id = id, .email = "BOB@new.example", .has_email = true,
		.is_approved = true, .has_is_approved = true, .roles = STRS("downloader"),
		.has_roles = true};
	struct proto_user_update_rep rep;
	struct proto_reply hold;
	long long rows;
	int ev0 = ev_count(f);

	usleep(2000); /* updated_at moves past created_at */
	assert_int_equal(proto_user_update_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.id, id);
	assert_string_equal(rep.email, "BOB@new.example");
	assert_true(rep.is_approved);
	assert_true(rep.is_active);
	assert_strs(rep.roles, STRS("downloader"));
	assert_true(strcmp(rep.updated_at, rep.created_at) > 0);
	assert_int_equal(rep.role_refs.n, 1);
	assert_int_equal(rep.role_refs.v[0].id, 3);
	proto_reply_fini(&hold);
	ev_expect(f, ev0, "user", id);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_roles WHERE user_id = %lld",
			     (long long)id), 1);
	assert_int_equal(db_scalar(f, "SELECT is_approved FROM users WHERE email = 'bob@NEW.example'"), 1);

	/* roles [] removes every role; nothing else given changes nothing else */
	req = (struct proto_user_update_req){.id = id, .roles = NOSTRS, .has_roles = true};
	assert_int_equal(proto_user_update_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.roles.n, 0);
	assert_string_equal(rep.email, "BOB@new.example");
	proto_reply_fini(&hold);

	rows = db_rows(f);
	ev0 = ev_count(f);
	req = (struct proto_user_update_req){.id = id, .email = "alice@example.org", .has_email = true};
	EXPECT_ERR(proto_user_update_call_sync, PROTO_CONFLICT, "email");
	req.email = "no-at-sign";
	EXPECT_ERR(proto_user_update_call_sync, PROTO_BAD_REQUEST, "email");
	req = (struct proto_user_update_req){.id = id, .is_active = false, .has_is_active = true,
		.roles = STRS("nosuch"), .has_roles = true};
	EXPECT_ERR(proto_user_update_call_sync, PROTO_NOT_FOUND, "roles");
	assert_int_equal(db_scalar(f, "SELECT is_active FROM users WHERE id = %lld", (long long)id), 1);
	req = (struct proto_user_update_req){.id = 999999, .is_active = false, .has_is_active = true};
	EXPECT_ERR(proto_user_update_call_sync, PROTO_NOT_FOUND, "id");
	assert_int_equal(db_rows(f), rows);
	ev_none(f, ev0);
}

static void
test_user_delete(void **state)
{
	struct fx *f = *state;
	int64_t id = mk_user(f, "carol", true, true, STRS("viewer", "downloader"));
	struct proto_user_prefs_set_req preq = {.user_id = id, .theme = "dark"};
	struct proto_user_prefs_set_rep prep;
	struct proto_user_delete_req req = {.id = id};
	struct proto_user_delete_rep rep;
	struct proto_reply hold;
	int ev0;

	assert_int_equal(proto_user_prefs_set_call_sync(f->c, &preq, 2000, &prep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	ev0 = ev_count(f);
	assert_int_equal(proto_user_delete_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.id, id);
	proto_reply_fini(&hold);
	ev_expect(f, ev0, "user", id);
	assert_int_equal(db_scalar(f, "SELECT (SELECT COUNT(*) FROM users WHERE id = %1$lld) +"
				      " (SELECT COUNT(*) FROM user_roles WHERE user_id = %1$lld) +"
				      " (SELECT COUNT(*) FROM user_preferences WHERE user_id = %1$lld)",
			     (long long)id), 0);
	EXPECT_ERR(proto_user_delete_call_sync, PROTO_NOT_FOUND, "id");
}

static void
test_password_and_totp(void **state)
{
	struct fx *f = *state;
	int64_t id = mk_user(f, "dave", true, true, NOSTRS);
	int ev0 = ev_count(f);
	struct proto_reply hold;
	long long rows;

	{
		struct proto_user_set_password_req req = {.id = id, .hashed_password = "$argon2id$new"};
		struct proto_user_set_password_rep rep;

		assert_int_equal(proto_user_set_password_call_sync(f->c, &req, 2000, &rep, &hold),
		    PROTO_OK);
		assert_int_equal(rep.id, id);
		assert_int_equal(strlen(rep.updated_at), 24);
		proto_reply_fini(&hold);
		ev_expect(f, ev0, "user", id);
		assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld AND"
					      " hashed_password = '$argon2id$new'", (long long)id), 1);
		req.hashed_password = "";
		EXPECT_ERR(proto_user_set_password_call_sync, PROTO_BAD_REQUEST, "hashed_password");
		req.hashed_password = "x", req.id = 999999;
		EXPECT_ERR(proto_user_set_password_call_sync, PROTO_NOT_FOUND, "id");
	}
	{
		struct proto_user_set_totp_req req = {.id = id, .totp_enabled = true};
		struct proto_user_set_totp_rep rep;
		struct proto_user_get_req greq = {.id = id, .has_id = true, .with_secrets = true,
			.has_with_secrets = true};
		struct proto_user_get_rep grep;

		rows = db_rows(f);
		/* enabling without a secret, bad timestamps, contradictions: refused */
		EXPECT_ERR(proto_user_set_totp_call_sync, PROTO_BAD_REQUEST, "totp_secret");
		req.totp_secret = "", req.has_totp_secret = true;
		EXPECT_ERR(proto_user_set_totp_call_sync, PROTO_BAD_REQUEST, "totp_secret");
		req.totp_secret = "enc:ABC", req.totp_verified_at = "yesterday";
		req.has_totp_verified_at = true;
		EXPECT_ERR(proto_user_set_totp_call_sync, PROTO_BAD_REQUEST, "totp_verified_at");
		req.has_totp_verified_at = false, req.has_totp_secret = false;
		req.clear = true, req.has_clear = true;
		EXPECT_ERR(proto_user_set_totp_call_sync, PROTO_BAD_REQUEST, "totp_enabled");
		req.id = 999999, req.has_clear = false, req.totp_enabled = false;
		EXPECT_ERR(proto_user_set_totp_call_sync, PROTO_NOT_FOUND, "id");
		assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld AND"
					      " totp_secret IS NULL", (long long)id), 1);
		assert_int_equal(db_rows(f), rows);

		/* setup: store the secret, not enabled */
		req = (struct proto_user_set_totp_req){.id = id, .totp_secret = "enc:ABC",
			.has_totp_secret = true};
		assert_int_equal(proto_user_set_totp_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
		assert_false(rep.totp_enabled);
		proto_reply_fini(&hold);
		/* enable: the secret is kept */
		req = (struct proto_user_set_totp_req){.id = id, .totp_enabled = true,
			.totp_verified_at = "2026-01-02T03:04:05.678Z", .has_totp_verified_at = true};
		assert_int_equal(proto_user_set_totp_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
		assert_true(rep.totp_enabled);
		proto_reply_fini(&hold);
		assert_int_equal(proto_user_get_call_sync(f->c, &greq, 2000, &grep, &hold), PROTO_OK);
		assert_true(grep.totp_enabled);
		assert_string_equal(grep.totp_secret, "enc:ABC");
		assert_string_equal(grep.totp_verified_at, "2026-01-02T03:04:05.678Z");
		proto_reply_fini(&hold);
		/* disable clears everything */
		req = (struct proto_user_set_totp_req){.id = id, .clear = true, .has_clear = true};
		assert_int_equal(proto_user_set_totp_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
		proto_reply_fini(&hold);
		assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM users WHERE id = %lld AND"
					      " totp_secret IS NULL AND totp_enabled = 0 AND"
					      " totp_verified_at IS NULL", (long long)id), 1);
	}
}

static void
test_prefs(void **state)
{
	struct fx *f = *state;
	int64_t id = mk_user(f, "erin", true, true, NOSTRS);
	struct proto_user_prefs_get_req greq = {.user_id = id};
	struct proto_user_prefs_get_rep grep;
	struct proto_user_prefs_set_req req = {.user_id = id, .theme = "dark"};
	struct proto_user_prefs_set_rep rep;
	struct proto_reply hold;
	int ev0 = ev_count(f);

	assert_int_equal(proto_user_prefs_get_call_sync(f->c, &greq, 2000, &grep, &hold), PROTO_OK);
	assert_string_equal(grep.theme, "system");
	assert_false(grep.has_updated_at);
	proto_reply_fini(&hold);
	assert_int_equal(proto_user_prefs_set_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_string_equal(rep.theme, "dark");
	assert_true(rep.has_updated_at);
	assert_int_equal(strlen(rep.updated_at), 24);
	proto_reply_fini(&hold);
	ev_expect(f, ev0, "user", id);
	req.theme = "light";   /* upsert */
	assert_int_equal(proto_user_prefs_set_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	proto_reply_fini(&hold);
	assert_int_equal(proto_user_prefs_get_call_sync(f->c, &greq, 2000, &grep, &hold), PROTO_OK);
	assert_string_equal(grep.theme, "light");
	assert_true(grep.has_updated_at);
	proto_reply_fini(&hold);
	{
		struct proto_user_get_rep u;

		assert_int_equal(get_user(f, id, &u, &hold), PROTO_OK);
		assert_string_equal(u.theme, "light");
		proto_reply_fini(&hold);
	}
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM user_preferences WHERE user_id = %lld"
				      " AND theme = 'light'", (long long)id), 1);
	ev0 = ev_count(f);
	req.theme = "blue";
	EXPECT_ERR(proto_user_prefs_set_call_sync, PROTO_BAD_REQUEST, "theme");
	req.theme = "dark", req.user_id = 999999;
	EXPECT_ERR(proto_user_prefs_set_call_sync, PROTO_NOT_FOUND, "user_id");
	ev_none(f, ev0);
	greq.user_id = 999999;
	assert_int_equal(proto_user_prefs_get_call_sync(f->c, &greq, 2000, &grep, &hold),
	    PROTO_NOT_FOUND);
	proto_reply_fini(&hold);
}

/* ---- roles ----------------------------------------------------------------- */

static void
test_role_list_get(void **state)
{
	struct fx *f = *state;
	struct proto_role_list_req lreq = {0};
	struct proto_role_list_rep lrep;
	struct proto_role_get_req req = {.id = 2};
	struct proto_role_get_rep rep;
	struct proto_reply hold;

	assert_int_equal(proto_role_list_call_sync(f->c, &lreq, 2000, &lrep, &hold), PROTO_OK);
	assert_true(lrep.roles.n >= 3);
	assert_string_equal(lrep.roles.v[0].name, "admin");
	assert_true(lrep.roles.v[0].is_system);
	assert_int_equal(lrep.roles.v[0].permissions.n, 28);
	assert_string_equal(lrep.roles.v[0].permissions.v[0], "app.*");
	assert_int_equal(lrep.roles.v[0].role_permissions.n, 28);
	assert_int_equal(lrep.roles.v[0].app_names.n, 0);
	assert_string_equal(lrep.roles.v[2].name, "downloader");
	assert_int_equal(lrep.roles.v[2].app_names.n, 7);
	proto_reply_fini(&hold);

	assert_int_equal(proto_role_get_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.id, 2);
	assert_string_equal(rep.name, "viewer");
	assert_true(rep.has_description);
	assert_true(rep.is_system);
	assert_false(rep.requires_2fa);
	assert_int_equal(strlen(rep.created_at), 24);
	assert_strs(rep.permissions, STRS("app.jellyfin", "app.jellyseerr", "apps.view", "logs.view",
	    "monitoring.view", "storage.download", "storage.view"));
	assert_strs(rep.role_permissions, STRS("apps.view", "logs.view", "monitoring.view",
	    "storage.download", "storage.view"));
	assert_strs(rep.app_names, STRS("jellyfin", "jellyseerr"));
	proto_reply_fini(&hold);
	req.id = 999999;
	EXPECT_ERR(proto_role_get_call_sync, PROTO_NOT_FOUND, "id");
}

static int64_t
mk_role(struct fx *f, const char *name)
{
	struct proto_role_create_req req = {.name = name};
	struct proto_role_create_rep rep;
	struct proto_reply hold;
	int64_t id;

	assert_int_equal(proto_role_create_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	id = rep.id;
	proto_reply_fini(&hold);
	return id;
}

static void
test_role_create_update_delete(void **state)
{
	struct fx *f = *state;
	struct proto_role_create_req req = {.name = "editors", .description = "Edit things",
		.has_description = true, .requires_2fa = true, .has_requires_2fa = true,
		.permissions = STRS("users.view", "app.sonarr", "app.*", "users.view"),
		.has_permissions = true};
	struct proto_role_create_rep rep;
	struct proto_reply hold;
	int ev0 = ev_count(f);
	long long rows;
	int64_t id, uid;

	assert_int_equal(proto_role_create_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	id = rep.id;
	assert_true(id > 3);
	assert_string_equal(rep.name, "editors");
	assert_string_equal(rep.description, "Edit things");
	assert_false(rep.is_system);
	assert_true(rep.requires_2fa);
	assert_strs(rep.permissions, STRS("app.*", "app.sonarr", "users.view"));
	assert_strs(rep.role_permissions, STRS("users.view"));
	assert_strs(rep.app_names, STRS("*", "sonarr"));
	proto_reply_fini(&hold);
	ev_expect(f, ev0, "role", id);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM role_app_permissions WHERE role_id = %lld"
				      " AND app_name IN ('*', 'sonarr')", (long long)id), 2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM role_permissions WHERE role_id = %lld",
			     (long long)id), 1);

	rows = db_rows(f);
	ev0 = ev_count(f);
	EXPECT_ERR(proto_role_create_call_sync, PROTO_CONFLICT, "name");
	req.name = "";
	EXPECT_ERR(proto_role_create_call_sync, PROTO_BAD_REQUEST, "name");
	req.name = "other", req.permissions = STRS("users.view", "users.destroy");
	EXPECT_ERR(proto_role_create_call_sync, PROTO_BAD_REQUEST, "permissions");
	req.permissions = STRS("app.bad name");
	EXPECT_ERR(proto_role_create_call_sync, PROTO_BAD_REQUEST, "permissions");
	req.has_permissions = false, req.app_names = STRS("ok", "no/slash"), req.has_app_names = true;
	EXPECT_ERR(proto_role_create_call_sync, PROTO_BAD_REQUEST, "app_names");
	assert_int_equal(db_rows(f), rows);
	ev_none(f, ev0);

	/* update */
	{
		struct proto_role_update_req ureq = {.id = id, .name = "Editors2", .has_name = true,
			.description = "", .has_description = true, .requires_2fa = false,
			.has_requires_2fa = true};
		struct proto_role_update_req sreq;
		struct proto_role_update_rep urep;

		assert_int_equal(proto_role_update_call_sync(f->c, &ureq, 2000, &urep, &hold), PROTO_OK);
		assert_string_equal(urep.name, "Editors2");
		assert_false(urep.has_description);
		assert_false(urep.requires_2fa);
		assert_strs(urep.app_names, STRS("*", "sonarr"));
		proto_reply_fini(&hold);
		ev_expect(f, ev0, "role", id);
		sreq = (struct proto_role_update_req){.id = 1, .name = "root", .has_name = true};
		{
			struct proto_role_update_req req_ = sreq;
#define req req_
#define rep urep
			EXPECT_ERR(proto_role_update_call_sync, PROTO_FORBIDDEN, "name");
			req_.name = "admin", req_.description = "Admins", req_.has_description = true;
			assert_int_equal(proto_role_update_call_sync(f->c, &req_, 2000, &urep, &hold),
			    PROTO_OK);   /* the same name is not a rename */
			assert_string_equal(urep.description, "Admins");
			proto_reply_fini(&hold);
			req_ = (struct proto_role_update_req){.id = id, .name = "viewer", .has_name = true};
			EXPECT_ERR(proto_role_update_call_sync, PROTO_CONFLICT, "name");
			req_.id = 999999;
			EXPECT_ERR(proto_role_update_call_sync, PROTO_NOT_FOUND, "id");
#undef req
#undef rep
		}
	}

	/* delete: system roles refused; a role held by users cascades */
	uid = mk_user(f, "frank", true, true, STRS("Editors2", "viewer"));
	{
		struct proto_role_delete_req req_ = {.id = 2};
		struct proto_role_delete_rep drep;
		struct proto_user_get_rep u;

#define req req_
#define rep drep
		EXPECT_ERR(proto_role_delete_call_sync, PROTO_FORBIDDEN, "id");
		ev0 = ev_count(f);
		req_.id = id;
		assert_int_equal(proto_role_delete_call_sync(f->c, &req_, 2000, &drep, &hold), PROTO_OK);
		assert_int_equal(drep.id, id);
		proto_reply_fini(&hold);
		ev_expect(f, ev0, "role", id);
		EXPECT_ERR(proto_role_delete_call_sync, PROTO_NOT_FOUND, "id");
#undef req
#undef rep
		assert_int_equal(db_scalar(f, "SELECT (SELECT COUNT(*) FROM roles WHERE id = %1$lld) +"
					      " (SELECT COUNT(*) FROM user_roles WHERE role_id = %1$lld) +"
					      " (SELECT COUNT(*) FROM role_permissions WHERE role_id = %1$lld) +"
					      " (SELECT COUNT(*) FROM role_app_permissions WHERE role_id = %1$lld)",
				     (long long)id), 0);
		assert_int_equal(get_user(f, uid, &u, &hold), PROTO_OK);
		assert_strs(u.roles, STRS("viewer"));
		proto_reply_fini(&hold);
	}
}

/* API.md 3.8: app.X entries replace the app rows (app.* -> row *), the rest
 * replace role_permissions; ROLE_SET_APPS touches only the app rows. */
static void
test_role_permissions_split(void **state)
{
	struct fx *f = *state;
	int64_t id = mk_role(f, "splitter");
	struct proto_role_set_permissions_req req = {.id = id,
		.permissions = STRS("logs.view", "app.radarr", "app.jellyfin")};
	struct proto_role_set_permissions_rep rep;
	struct proto_reply hold;
	int ev0 = ev_count(f);
	long long rows;

	assert_int_equal(proto_role_set_permissions_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_strs(rep.permissions, STRS("app.jellyfin", "app.radarr", "logs.view"));
	assert_strs(rep.role_permissions, STRS("logs.view"));
	assert_strs(rep.app_names, STRS("jellyfin", "radarr"));
	proto_reply_fini(&hold);
	ev_expect(f, ev0, "role", id);
	{
		struct proto_role_set_apps_req areq = {.id = id, .app_names = STRS("sonarr", "*")};
		struct proto_role_set_apps_rep arep;

		assert_int_equal(proto_role_set_apps_call_sync(f->c, &areq, 2000, &arep, &hold), PROTO_OK);
		assert_strs(arep.app_names, STRS("*", "sonarr"));
		assert_strs(arep.role_permissions, STRS("logs.view"));
		assert_strs(arep.permissions, STRS("app.*", "app.sonarr", "logs.view"));
		proto_reply_fini(&hold);
		rows = db_rows(f);
		areq.app_names = STRS("");
		{
#define req areq
#define rep arep
			EXPECT_ERR(proto_role_set_apps_call_sync, PROTO_BAD_REQUEST, "app_names");
			areq.id = 999999, areq.app_names = STRS("x");
			EXPECT_ERR(proto_role_set_apps_call_sync, PROTO_NOT_FOUND, "id");
#undef req
#undef rep
		}
		assert_int_equal(db_rows(f), rows);
	}
	/* a list without app.X entries clears the app rows */
	req.permissions = STRS("logs.view", "monitoring.view");
	assert_int_equal(proto_role_set_permissions_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.app_names.n, 0);
	assert_strs(rep.permissions, STRS("logs.view", "monitoring.view"));
	proto_reply_fini(&hold);

	rows = db_rows(f);
	ev0 = ev_count(f);
	req.permissions = STRS("logs.view", "nope.view");
	EXPECT_ERR(proto_role_set_permissions_call_sync, PROTO_BAD_REQUEST, "permissions");
	req.permissions = STRS("app.");
	EXPECT_ERR(proto_role_set_permissions_call_sync, PROTO_BAD_REQUEST, "permissions");
	req.id = 999999, req.permissions = STRS("logs.view");
	EXPECT_ERR(proto_role_set_permissions_call_sync, PROTO_NOT_FOUND, "id");
	/* admin lock-out guard */
	req.id = 1, req.permissions = STRS("users.manage", "users.view", "app.*");
	EXPECT_ERR(proto_role_set_permissions_call_sync, PROTO_FORBIDDEN, "permissions");
	req.permissions = STRS("roles.manage", "app.*");
	EXPECT_ERR(proto_role_set_permissions_call_sync, PROTO_FORBIDDEN, "permissions");
	assert_int_equal(db_rows(f), rows);
	ev_none(f, ev0);

	/* the admin role round trip: its permission list put back as read moves
	 * app.* to the app row "*"; the list reads the same, allowed_apps becomes
	 * the app names - ["*"] alone, or with other roles' apps beside it */
	{
		struct proto_role_get_req greq = {.id = 1};
		struct proto_role_get_rep grep;
		int64_t solo = mk_user(f, "adminsolo", true, true, STRS("admin"));
		int64_t both = mk_user(f, "adminview", true, true, STRS("admin", "viewer"));
		struct proto_user_get_rep u;
		struct proto_reply h2;

		assert_int_equal(get_user(f, both, &u, &h2), PROTO_OK);
		assert_strs(u.allowed_apps, STRS("*"));   /* the role_permission app.* */
		proto_reply_fini(&h2);
		assert_int_equal(proto_role_get_call_sync(f->c, &greq, 2000, &grep, &h2), PROTO_OK);
		req.id = 1, req.permissions = grep.permissions;
		assert_int_equal(proto_role_set_permissions_call_sync(f->c, &req, 2000, &rep, &hold),
		    PROTO_OK);
		assert_strs(rep.permissions, grep.permissions);
		assert_strs(rep.app_names, STRS("*"));
		assert_int_equal(rep.role_permissions.n, 27);
		proto_reply_fini(&hold);
		proto_reply_fini(&h2);
		assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM role_permissions WHERE role_id = 1"
					      " AND permission = 'app.*'"), 0);
		assert_int_equal(get_user(f, solo, &u, &h2), PROTO_OK);
		assert_strs(u.allowed_apps, STRS("*"));
		assert_string_equal(u.permissions.v[0], "app.*");
		proto_reply_fini(&h2);
		assert_int_equal(get_user(f, both, &u, &h2), PROTO_OK);
		assert_strs(u.allowed_apps, STRS("*", "jellyfin", "jellyseerr"));
		proto_reply_fini(&h2);
	}
}

static void
test_catalogue(void **state)
{
	struct fx *f = *state;
	struct proto_permission_catalogue_req req = {0};
	struct proto_permission_catalogue_rep rep;
	struct proto_reply hold;
	bool um = false, star = false, plex = false;

	assert_int_equal(proto_permission_catalogue_call_sync(f->c, &req, 2000, &rep, &hold), PROTO_OK);
	assert_int_equal(rep.perms.n, 27 + 1 + 15);
	for (size_t i = 0; i < rep.perms.n; i++) {
		assert_true(rep.perms.v[i].category[0] != '\0');
		assert_true(rep.perms.v[i].description[0] != '\0');
		um = um || strcmp(rep.perms.v[i].key, "users.manage") == 0;
		star = star || strcmp(rep.perms.v[i].key, "app.*") == 0;
		plex = plex || (strcmp(rep.perms.v[i].key, "app.plex") == 0 &&
		    strcmp(rep.perms.v[i].category, "app") == 0);
	}
	assert_true(um && star && plex);
	proto_reply_fini(&hold);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_last_admin),
		cmocka_unit_test(test_user_create),
		cmocka_unit_test(test_user_get),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_user_list),
		cmocka_unit_test(test_user_update),
		cmocka_unit_test(test_user_delete),
		cmocka_unit_test(test_password_and_totp),
		cmocka_unit_test(test_prefs),
		cmocka_unit_test(test_role_list_get),
		cmocka_unit_test(test_role_create_update_delete),
		cmocka_unit_test(test_role_permissions_split),
		cmocka_unit_test(test_catalogue),
	};
	int rc;

	log_init("test");
	log_set_level(getenv("KUBARR_LOG_LEVEL") && strcmp(getenv("KUBARR_LOG_LEVEL"), "debug") == 0 ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests(tests, storaged_fx_setup, storaged_fx_teardown);
	ipc_fini();
	return rc;
}
