/* ops_notify_test: NOTIFY_TEST (proto_ops_notify.h), the test message of
 * POST /api/notifications/channels/{type}/test.  A read op: the reader thread
 * waits on the network (bounded by KUBARR_NOTIFY_TIMEOUT_MS), never the
 * writer; the attempt's log row and the verification (decision 8: a
 * destination is verified once a test message reached it) are one writer
 * task the reply waits for, so a client reading its preferences next sees it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ops_notify.h"
#include "storaged.h"
#include "xmalloc.h"

struct ops_notify_test_task {
	int64_t user_id;
	const char *channel_type, *destination, *error; /* error NULL: delivered */
	bool verified, done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static const char ops_notify_test_sql_log[] =
    "INSERT INTO notification_logs(user_id, channel_type, event_type, recipient, status,"
    " error_message, created_at) VALUES (?, ?, 'test', ?, ?, ?, ?)";
static const char ops_notify_test_sql_verify[] =
    "UPDATE user_notification_prefs SET verified = 1, updated_at = ?4"
    " WHERE user_id = ?1 AND channel_type = ?2 AND destination = ?3 AND verified = 0";
static const char ops_notify_test_sql_verified[] =
    "SELECT verified FROM user_notification_prefs WHERE user_id = ?1 AND channel_type = ?2"
    " AND destination = ?3";

/* Writer thread. */
static int
ops_notify_test_record(struct db_conn *c, void *arg, bool *again_r)
{
	struct ops_notify_test_task *t = arg;
	char *masked = ops_notify_mask_dest(t->channel_type, t->destination);
	sqlite3_stmt *st;
	char now[25];
	int rc = -1;

	*again_r = false;
	db_now(now);
	if ((st = db_stmt(c, ops_notify_test_sql_log)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, t->user_id);
	db_bind_text(st, 2, t->channel_type);
	db_bind_text(st, 3, masked);
	db_bind_text(st, 4, t->error == NULL ? "sent" : "failed");
	db_bind_text(st, 5, t->error);
	db_bind_text(st, 6, now);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	if (rc != 0 || t->error != NULL)
		goto done;
	if ((st = db_stmt(c, ops_notify_test_sql_verify)) == NULL) {
		rc = -1;
		goto done;
	}
	sqlite3_bind_int64(st, 1, t->user_id);
	db_bind_text(st, 2, t->channel_type);
	db_bind_text(st, 3, t->destination);
	db_bind_text(st, 4, now);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
	if (rc != 0 || (st = db_stmt(c, ops_notify_test_sql_verified)) == NULL) {
		rc = -1;
		goto done;
	}
	sqlite3_bind_int64(st, 1, t->user_id);
	db_bind_text(st, 2, t->channel_type);
	db_bind_text(st, 3, t->destination);
	if (sqlite3_step(st) == SQLITE_ROW)
		t->verified = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
done:
	if (rc != 0) {
		log_warnx("notify test %s: %s", t->channel_type, sqlite3_errmsg(c->db));
		t->verified = false;
	}
	free(masked);
	return rc;
}

/* Writer thread, after the commit (or rollback): the reply may go. */
static void
ops_notify_test_done(void *arg, int rc)
{
	struct ops_notify_test_task *t = arg;

	pthread_mutex_lock(&t->lock);
	if (rc != 0)
		t->verified = false;
	t->done = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

enum proto_status
ops_notify_test(struct op_ctx *ctx, const void *arg, nng_msg **reply_r)
{
	const struct proto_notify_test_req *req = arg;
	struct proto_notify_test_rep rep;
	struct ops_notify_test_task t;
	char *err = NULL;

	if (!ops_notify_valid_channel(req->channel_type))
		return op_fail(ctx, PROTO_BAD_REQUEST, "unknown channel type", "channel_type");
	if (req->destination[0] == '\0' || strlen(req->destination) > OPS_NOTIFY_DEST_MAX)
		return op_fail(ctx, PROTO_BAD_REQUEST, "destination must be 1-320 bytes",
		    "destination");
	if (ctx->sd == NULL || ctx->sd->sender == NULL || ctx->sd->writer == NULL)
		return op_fail(ctx, PROTO_UNAVAILABLE, "the notification sender is not running", NULL);
	memset(&t, 0, sizeof(t));
	t.user_id = req->user_id;
	t.channel_type = req->channel_type;
	t.destination = req->destination;
	if (notify_send_test(ctx->sd->sender, ctx->c, req->channel_type, req->destination, &err) != 0)
		t.error = err;
	db_stmts_settle(ctx->c);
	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	writer_submit_task_done(ctx->sd->writer, ops_notify_test_record, &t, ops_notify_test_done);
	pthread_mutex_lock(&t.lock);
	while (!t.done)
		pthread_cond_wait(&t.cond, &t.lock);
	pthread_mutex_unlock(&t.lock);
	pthread_mutex_destroy(&t.lock);
	pthread_cond_destroy(&t.cond);
	memset(&rep, 0, sizeof(rep));
	rep.success = err == NULL;
	rep.has_error = err != NULL;
	rep.error = err;
	rep.verified = t.verified;
	*reply_r = proto_notify_test_rep_msg(ctx->req_id, &rep);
	free(err);
	return PROTO_OK;
}
