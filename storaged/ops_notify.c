/* The notify family (ops 400-499): the table, shared helpers, notification
 * channels and event types (API.md section 9, decisions 8 and 9).
 *
 * Configs are JSON object text; masking and the masked round trip of
 * CHANNEL_SET run in SQL with SQLite's JSON functions (storaged links no JSON
 * library): each top-level member is rewritten as json_quote(key) ':' value,
 * the value kept as JSON text by its json_each type.  Only top-level keys are
 * looked at; a secret key whose value is an object is masked whole. */
#include "ops_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const struct op_def ops_notify_table[] = {
	OPS_DEF(CHANNEL_LIST, channel_list, false, ops_channel_list),
	OPS_DEF_AUTHD(CHANNEL_GET_SECRET, channel_get_secret, false, ops_channel_get_secret),
	OPS_DEF(CHANNEL_SET, channel_set, true, ops_channel_set),
	OPS_DEF(EVENT_LIST, event_list, false, ops_event_list),
	OPS_DEF(EVENT_SET, event_set, true, ops_event_set),
	OPS_DEF(PREF_LIST, pref_list, false, ops_pref_list),
	OPS_DEF(PREF_SET, pref_set, true, ops_pref_set),
	OPS_DEF(PREF_VERIFY, pref_verify, true, ops_pref_verify),
	OPS_DEF(INBOX_LIST, inbox_list, false, ops_inbox_list),
	OPS_DEF(INBOX_COUNT, inbox_count, false, ops_inbox_count),
	OPS_DEF(INBOX_READ, inbox_read, true, ops_inbox_read),
	OPS_DEF(INBOX_READ_ALL, inbox_read_all, true, ops_inbox_read_all),
	OPS_DEF(INBOX_DELETE, inbox_delete, true, ops_inbox_delete),
	OPS_DEF(NOTIFY_EMIT, notify_emit, true, ops_notify_emit_op),
	OPS_DEF(NOTIFY_TEST, notify_test, false, ops_notify_test),
	OPS_DEF(OUTBOX_TAKE, outbox_take, true, ops_outbox_take),
	OPS_DEF(OUTBOX_RESULT, outbox_result, true, ops_outbox_result),
	OPS_DEF(LOG_LIST, log_list, false, ops_log_list),
};

const struct op_family ops_family_notify = {ops_notify_table,
    sizeof(ops_notify_table) / sizeof(ops_notify_table[0])};

/* ---- SQL ---------------------------------------------------------------- */

#define OPS_NOTIFY_KNOWN_CHANNELS                                                          \
	"VALUES ('email'), ('gotify'), ('messagebird'), ('ntfy'), ('telegram'), ('webhook')"
/* API.md section 9: the audit actions. */
#define OPS_NOTIFY_KNOWN_EVENTS                                                            \
	"VALUES ('2fa_disabled'), ('2fa_enabled'), ('app_accessed'), ('app_installed'),"        \
	" ('app_restarted'), ('app_uninstalled'), ('invite_created'), ('invite_used'),"        \
	" ('login'), ('login_failed'), ('logout'), ('password_changed'), ('role_assigned'),"   \
	" ('role_created'), ('role_deleted'), ('role_unassigned'), ('role_updated'),"          \
	" ('system_setting_changed'), ('user_approved'), ('user_created'),"                    \
	" ('user_deactivated'), ('user_deleted'), ('user_updated')"

/* A json_each row's value as JSON text. */
#define OPS_NOTIFY_JSON_VALUE(t, v)                                                        \
	"CASE " t " WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'" \
	" WHEN 'object' THEN " v " WHEN 'array' THEN " v " ELSE json_quote(" v ") END"
#define OPS_NOTIFY_SECRET_KEY(k)                                                           \
	"(instr(lower(" k "), 'password') > 0 OR instr(lower(" k "), 'secret') > 0 OR"         \
	" instr(lower(" k "), 'token') > 0 OR instr(lower(" k "), 'api_key') > 0)"
/* The masked form of a config column (a scalar subquery). */
#define OPS_NOTIFY_MASKED(col)                                                             \
	"(SELECT '{' || coalesce(group_concat(json_quote(key) || ':' || CASE WHEN "            \
	OPS_NOTIFY_SECRET_KEY("key") " THEN '\"********\"' ELSE "                             \
	OPS_NOTIFY_JSON_VALUE("type", "value") " END, ','), '') || '}'"                        \
	" FROM (SELECT key, type, value FROM json_each(" col ") ORDER BY id))"

static const char ops_notify_sql_channel_list[] =
    "WITH k(t) AS (" OPS_NOTIFY_KNOWN_CHANNELS "),"
    " r(t, en, cfg, ca, ua) AS (SELECT k.t, coalesce(c.enabled, 0), coalesce(c.config, '{}'),"
    " c.created_at, c.updated_at FROM k LEFT JOIN notification_channels AS c"
    " ON c.channel_type = k.t UNION ALL SELECT channel_type, enabled, config, created_at,"
    " updated_at FROM notification_channels WHERE channel_type NOT IN (SELECT t FROM k))"
    " SELECT t, en, " OPS_NOTIFY_MASKED("r.cfg") ", ca, ua FROM r ORDER BY t";
static const char ops_notify_sql_channel_one[] =
    "SELECT channel_type, enabled, " OPS_NOTIFY_MASKED("c.config") ", created_at, updated_at"
    " FROM notification_channels AS c WHERE channel_type = ?";
static const char ops_notify_sql_channel_secret[] =
    "SELECT channel_type, enabled, config FROM notification_channels WHERE channel_type = ?";
static const char ops_notify_sql_is_object[] =
    "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END";
/* The new config with every "********" value replaced by the stored one
 * (dropped when none is stored). */
static const char ops_notify_sql_merge[] =
    "SELECT '{' || coalesce(group_concat(json_quote(k) || ':' || v, ','), '') || '}' FROM"
    " (SELECT n.key AS k, CASE WHEN n.type = 'text' AND n.atom = '********' THEN "
    OPS_NOTIFY_JSON_VALUE("o.type", "o.value") " ELSE " OPS_NOTIFY_JSON_VALUE("n.type", "n.value")
    " END AS v FROM json_each(?1) AS n LEFT JOIN json_each(coalesce((SELECT config FROM"
    " notification_channels WHERE channel_type = ?2), '{}')) AS o ON o.key = n.key"
    " WHERE NOT (n.type = 'text' AND n.atom = '********' AND o.key IS NULL) ORDER BY n.id)";
static const char ops_notify_sql_channel_upsert[] =
    "INSERT INTO notification_channels(channel_type, enabled, config, created_at, updated_at)"
    " VALUES (?1, coalesce(?2, 0), coalesce(?3, '{}'), ?4, ?4) ON CONFLICT(channel_type)"
    " DO UPDATE SET enabled = coalesce(?2, enabled), config = coalesce(?3, config),"
    " updated_at = ?4";
static const char ops_notify_sql_event_list[] =
    "WITH k(t) AS (" OPS_NOTIFY_KNOWN_EVENTS ")"
    " SELECT k.t, coalesce(e.enabled, 0), coalesce(e.severity, 'info') FROM k"
    " LEFT JOIN notification_events AS e ON e.event_type = k.t UNION ALL"
    " SELECT event_type, enabled, severity FROM notification_events"
    " WHERE event_type NOT IN (SELECT t FROM k) ORDER BY 1";
static const char ops_notify_sql_event_upsert[] =
    "INSERT INTO notification_events(event_type, enabled, severity)"
    " VALUES (?1, coalesce(?2, 0), coalesce(?3, 'info')) ON CONFLICT(event_type)"
    " DO UPDATE SET enabled = coalesce(?2, enabled), severity = coalesce(?3, severity)"
    " RETURNING event_type, enabled, severity";

_Static_assert(sizeof(struct proto_rec_notify_channel) == sizeof(struct proto_channel_set_rep),
    "CHANNEL_SET's reply is a channel record");
_Static_assert(sizeof(struct proto_rec_notify_event) == sizeof(struct proto_event_set_rep),
    "EVENT_SET's reply is an event record");

/* ---- helpers ------------------------------------------------------------ */

bool
ops_notify_valid_channel(const char *s)
{
	static const char *const types[] = {"email", "gotify", "messagebird", "ntfy", "telegram",
		"webhook"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, types[i]) == 0)
			return true;
	return false;
}

bool
ops_notify_valid_event(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
			s[i] == '.'))
			return false;
	return true;
}

bool
ops_notify_valid_severity(const char *s)
{
	return strcmp(s, "info") == 0 || strcmp(s, "warning") == 0 || strcmp(s, "critical") == 0;
}

bool
ops_notify_limit(bool has, uint64_t v, int64_t *limit_r)
{
	if (!has) {
		*limit_r = OPS_NOTIFY_PAGE_DEFAULT;
		return true;
	}
	if (v < 1 || v > OPS_NOTIFY_PAGE_MAX)
		return false;
	*limit_r = (int64_t)v;
	return true;
}

/* UTF-8 characters in s[0..n). */
static size_t
ops_notify_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Bytes of the first k characters of s[0..n). */
static size_t
ops_notify_head(const char *s, size_t n, size_t k)
{
	size_t i = 0;

	for (size_t c = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && c++ == k)
			break;
	}
	return i;
}

char *
ops_notify_mask_dest(const char *channel_type, const char *dest)
{
	size_t n = strlen(dest), chars, head, tail;
	const char *at = strrchr(dest, '@');
	char *out = xmalloc(n + 8);

	if (strcmp(channel_type, "email") == 0 && at != NULL && at != dest) {
		size_t local = (size_t)(at - dest);

		head = ops_notify_head(dest, local, ops_notify_chars(dest, local) > 2 ? 2 : 1);
		memcpy(out, dest, head);
		memcpy(out + head, "***", 3);
		memcpy(out + head + 3, at, n - local + 1);
		return out;
	}
	chars = ops_notify_chars(dest, n);
	if (chars <= 5) {
		memcpy(out, "***", 4);
		return out;
	}
	head = ops_notify_head(dest, n, 3);
	tail = ops_notify_head(dest, n, chars - 2);
	memcpy(out, dest, head);
	memcpy(out + head, "***", 3);
	memcpy(out + head + 3, dest + tail, n - tail + 1);
	return out;
}

enum proto_status
ops_notify_step(struct op_ctx *ctx, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_notify_scalar(struct op_ctx *ctx, sqlite3_stmt *st, int64_t *v_r)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*v_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc);
	return PROTO_OK;
}

/* ---- channels ----------------------------------------------------------- */

/* A row of the channel SELECTs; strings point into the statement, or into
 * pool when one is given. */
static void
ops_notify_channel_row(sqlite3_stmt *st, struct op_pool *pool, void *rec)
{
	struct proto_rec_notify_channel *r = rec;
	memset(r, 0, sizeof(*r));
	r->channel_type = op_col(st, 0);
	r->enabled = sqlite3_column_int(st, 1) != 0;
	r->config = op_col(st, 2);
	r->created_at = op_col(st, 3);
	r->has_created_at = r->created_at != NULL;
	r->updated_at = op_col(st, 4);
	r->has_updated_at = r->updated_at != NULL;
	if (pool != NULL) {
		r->channel_type = op_pool_dup(pool, r->channel_type);
		r->config = op_pool_dup(pool, r->config);
		r->created_at = op_pool_dup(pool, r->created_at);
		r->updated_at = op_pool_dup(pool, r->updated_at);
	}
}

enum proto_status
ops_channel_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_channel_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_notify_channel *v = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_notify_sql_channel_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	v = op_collect(st, sizeof(*v), ops_notify_channel_row, &pool, &n, &rc);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.channels.v = v;
		rep.channels.n = n;
		*reply_r = proto_channel_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_channel_get_secret(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_channel_get_secret_req *req = arg;
	struct proto_channel_get_secret_rep rep;
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(ctx->c, ops_notify_sql_channel_secret)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->channel_type);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(&rep, 0, sizeof(rep));
		rep.channel_type = op_col(st, 0);
		rep.enabled = sqlite3_column_int(st, 1) != 0;
		rep.config = op_col(st, 2);
		*reply_r = proto_channel_get_secret_rep_msg(ctx->req_id, &rep);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return op_fail(ctx, PROTO_NOT_FOUND, "channel not configured", "channel_type");
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

/* The config to store: the request's with masked values restored; xmalloc'd. */
static enum proto_status
ops_notify_merge_config(struct op_ctx *ctx, const char *type, const char *config, char **out_r)
{
	sqlite3_stmt *st;
	int64_t ok = 0;
	enum proto_status res;
	int rc;

	if ((st = db_stmt(ctx->c, ops_notify_sql_is_object)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, config);
	if ((res = ops_notify_scalar(ctx, st, &ok)) != PROTO_OK)
		return res;
	if (!ok)
		return op_fail(ctx, PROTO_BAD_REQUEST, "config must be a JSON object", "config");
	if ((st = db_stmt(ctx->c, ops_notify_sql_merge)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, config);
	db_bind_text(st, 2, type);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out_r = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_channel_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_channel_set_req *req = arg;
	struct proto_channel_set_rep rep;
	struct proto_rec_notify_channel row;
	enum proto_status res;
	char *config = NULL;
	sqlite3_stmt *st;
	char now[25];
	int rc;

	if (!ops_notify_valid_channel(req->channel_type))
		return op_fail(ctx, PROTO_BAD_REQUEST,
		    "channel_type must be email, telegram, messagebird, webhook, ntfy or gotify",
		    "channel_type");
	if (req->has_config &&
	    (res = ops_notify_merge_config(ctx, req->channel_type, req->config, &config)) != PROTO_OK)
		return res;
	if ((st = db_stmt(ctx->c, ops_notify_sql_channel_upsert)) == NULL) {
		free(config);
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	}
	db_now(now);
	db_bind_text(st, 1, req->channel_type);
	if (req->has_enabled)
		sqlite3_bind_int(st, 2, req->enabled ? 1 : 0);
	db_bind_text(st, 3, config);
	db_bind_text(st, 4, now);
	res = ops_notify_step(ctx, st);
	free(config);
	if (res != PROTO_OK)
		return res;
	if ((st = db_stmt(ctx->c, ops_notify_sql_channel_one)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->channel_type);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ops_notify_channel_row(st, NULL, &row);
		memcpy(&rep, &row, sizeof(rep));
		*reply_r = proto_channel_set_rep_msg(ctx->req_id, &rep);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return op_sqlite_fail(ctx, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc);
	op_event(ctx, "setting", 0, "notifications");
	return PROTO_OK;
}

/* ---- events ------------------------------------------------------------- */

enum proto_status
ops_event_list(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	struct proto_event_list_rep rep;
	struct op_pool pool = {0};
	struct proto_rec_notify_event *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	(void)arg;
	if ((st = db_stmt(ctx->c, ops_notify_sql_event_list)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = op_grow(v, &cap, n, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].event_type = op_pool_dup(&pool, op_col(st, 0));
		v[n].enabled = sqlite3_column_int(st, 1) != 0;
		v[n].severity = op_pool_dup(&pool, op_col(st, 2));
		n++;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(&rep, 0, sizeof(rep));
		rep.events.v = v;
		rep.events.n = n;
		*reply_r = proto_event_list_rep_msg(ctx->req_id, &rep);
	}
	free(v);
	op_pool_free(&pool);
	return rc == SQLITE_DONE ? PROTO_OK : op_sqlite_fail(ctx, rc);
}

enum proto_status
ops_event_set(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_event_set_req *req = arg;
	struct proto_event_set_rep rep;
	bool enabled = false;
	char sev[16] = "";
	sqlite3_stmt *st;
	int rc;

	if (!ops_notify_valid_event(req->event_type))
		return op_fail(ctx, PROTO_BAD_REQUEST, "event_type must be 1-64 of [a-z0-9_.]",
		    "event_type");
	if (req->has_severity && !ops_notify_valid_severity(req->severity))
		return op_fail(ctx, PROTO_BAD_REQUEST, "severity must be info, warning or critical",
		    "severity");
	if ((st = db_stmt(ctx->c, ops_notify_sql_event_upsert)) == NULL)
		return op_fail(ctx, PROTO_INTERNAL, "database error", NULL);
	db_bind_text(st, 1, req->event_type);
	if (req->has_enabled)
		sqlite3_bind_int(st, 2, req->enabled ? 1 : 0);
	db_bind_text(st, 3, req->has_severity ? req->severity : NULL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		enabled = sqlite3_column_int(st, 1) != 0;
		snprintf(sev, sizeof(sev), "%s", (const char *)sqlite3_column_text(st, 2));
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return op_sqlite_fail(ctx, rc);
	memset(&rep, 0, sizeof(rep));
	rep.event_type = req->event_type;
	rep.enabled = enabled;
	rep.severity = sev;
	*reply_r = proto_event_set_rep_msg(ctx->req_id, &rep);
	op_event(ctx, "setting", 0, "notifications");
	return PROTO_OK;
}
