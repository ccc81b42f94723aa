/* authd's context and the helpers its op files share. */
#ifndef KUBARR_AUTHD_AUTHD_H
#define KUBARR_AUTHD_AUTHD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "client.h"
#include "cookies.h"
#include "daemon.h"
#include "password.h"
#include "principal.h"
#include "secrets.h"
#include "server.h"
#include "throttle.h"
#include "token.h"

struct work;
struct touch;

struct authd {
	struct daemon *d;
	struct proto_server *srv;
	struct ipc_client *storaged;
	struct ipc_sub *events;
	struct cache *cache;
	struct password_pool *pw;
	struct throttle *thr;
	struct work *work;
	struct touch *touch;
	struct secrets secrets;
	struct token_keys keys;       /* immutable once keys_ready */
	atomic_bool keys_ready;
	int64_t next_key_try_us;
	int timeout_ms;               /* calls to storaged */
	int64_t hash_wait_ms;         /* a hash may wait this long for a free slot */
	int64_t session_ttl_s;
	bool cookie_secure;
	atomic_ullong logins, login_failures, throttled, checks, check_misses, check_denied,
	    events_seen, audit_failures;
};

/* ---- work.c: slow ops (hashing, several storaged calls) run on a pool ---- */
typedef void (*work_fn)(struct authd *ad, struct proto_request *r);
int work_open(struct work **w_r, struct authd *ad, unsigned threads, char **err_r);
/* Queues r; when the queue is full r is answered "unavailable: busy". */
void work_submit(struct work *w, work_fn fn, struct proto_request *r);
void work_close(struct work **w);
void work_stats(struct work *w, struct proto_stats *st);

/* ---- touch.c: batched last_accessed_at ---------------------------------- */
int touch_open(struct touch **t_r, int64_t interval_ms);
/* Notes that p's session was used now (cheap: at most once per interval). */
void touch_note(struct touch *t, struct principal *p, int64_t now_ms);
/* From the tick: sends what was noted, at most once per interval. */
void touch_flush(struct touch *t, struct ipc_client *storaged, int timeout_ms, int64_t now_ms,
    bool force);
void touch_close(struct touch **t);
uint64_t touch_sent(struct touch *t);

/* ---- session.c: who is asking (sync, for pool threads) ------------------ */
struct authn {
	struct cookie_jar jar;
	int slot;                     /* the slot used, COOKIES_LEGACY for legacy */
	struct principal *p;          /* on success */
	int http;                     /* on failure: 401 or 503 */
	const char *detail;
};
/* Resolves the request's cookies to a principal (cache, else storaged).  0, or
 * -1 with a->http/detail.  authn_fini() always. */
int authn_resolve(struct authd *ad, const char *cookies, struct authn *a);
/* Resolves one token (no jar): a new principal reference or NULL. */
struct principal *authn_token(struct authd *ad, const char *token, int *http_r,
    const char **detail_r);
void authn_fini(struct authn *a);

/* Set-Cookie values collected for one answer. */
#define AUTHD_MAX_COOKIES 8
struct cookie_out {
	char v[AUTHD_MAX_COOKIES][COOKIES_SET_MAX];
	const char *ptr[AUTHD_MAX_COOKIES];
	size_t n;
};
void cookie_out_session(struct authd *ad, struct cookie_out *co, int slot, const char *token);
void cookie_out_active(struct authd *ad, struct cookie_out *co, int slot);
struct proto_strs cookie_out_strs(struct cookie_out *co);

/* A new session row + signed token for user_id; the token is malloc'd.
 * NULL with *detail_r on failure. */
char *session_issue(struct authd *ad, int64_t user_id, const char *ip, const char *ua,
    char *sid_r, const char **detail_r);
/* Ends one session (row + cache); 0, or -1 (not found / storaged down). */
int session_end(struct authd *ad, const char *sid);

/* The base32 TOTP secret of a user: sealed by us ("v1:..."), or plaintext as
 * the reference stored it (imported users).  0, or -1 (unreadable). */
int authd_totp_secret(struct authd *ad, const char *stored, char *out, size_t len);

/* ---- audit (fire and forget; failures counted) --------------------------- */
struct audit_rec {
	int64_t user_id;              /* 0: none */
	const char *username, *action, *resource_type, *resource_id, *details, *ip, *ua, *error;
	bool success;
};
void authd_audit(struct authd *ad, const struct audit_rec *a);

/* An op's answer as a failure: HTTP status and {"detail"} text. */
#define AUTHD_FAIL(rep, code, text)                                                   \
	do {                                                                              \
		(rep)->http = (code);                                                         \
		(rep)->detail = (text);                                                       \
		(rep)->has_detail = true;                                                     \
	} while (0)
/* Decodes an op's request into *req, or answers bad_request and returns. */
#define AUTHD_DECODE_OR_RETURN(name, r, req)                                          \
	do {                                                                              \
		const char *derr_ = NULL;                                                     \
		if (proto_##name##_req_decode(&(r)->env, (req), &derr_) != 0) {               \
			proto_reply_error((r), PROTO_BAD_REQUEST, derr_, NULL);                   \
			return;                                                                   \
		}                                                                             \
	} while (0)

/* ---- op handlers (one file per group) ----------------------------------- */
void check_handle(void *arg, struct proto_request *r);       /* check.c (nng thread) */
void login_op_login(struct authd *ad, struct proto_request *r);     /* login.c */
void login_op_recover(struct authd *ad, struct proto_request *r);
void login_op_register(struct authd *ad, struct proto_request *r);
void login_op_hash(struct authd *ad, struct proto_request *r);
void sessions_op_logout(struct authd *ad, struct proto_request *r); /* sessions.c */
void sessions_op_list(struct authd *ad, struct proto_request *r);
void sessions_op_revoke(struct authd *ad, struct proto_request *r);
void sessions_op_revoke_others(struct authd *ad, struct proto_request *r);
void sessions_op_switch(struct authd *ad, struct proto_request *r);
void sessions_op_accounts(struct authd *ad, struct proto_request *r);
void sessions_op_password(struct authd *ad, struct proto_request *r);
void sessions_op_set_password(struct authd *ad, struct proto_request *r);
void sessions_op_delete_self(struct authd *ad, struct proto_request *r);
void tfa_op_setup(struct authd *ad, struct proto_request *r);        /* tfa.c */
void tfa_op_enable(struct authd *ad, struct proto_request *r);
void tfa_op_disable(struct authd *ad, struct proto_request *r);
void tfa_op_status(struct authd *ad, struct proto_request *r);
void tfa_op_codes(struct authd *ad, struct proto_request *r);

/* keys.c: load the signing keys from storaged, or create and store them. */
int keys_load(struct authd *ad, char **err_r);
/* login.c: the dummy hash for unknown users (once, at start). */
int login_init(void);

/* cli.c: create-admin, reset-password. */
int cli_command(struct daemon *d, int argc, char **argv);
extern const char cli_commands_help[];

#endif
