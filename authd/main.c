/* kubarr-authd: sessions and permissions, cached in memory.
 *
 * Owns:    JWT signing and verification (the RS256 pair lives in storaged as a
 *          secret setting; only authd reads it), the principal cache, password
 *          hashing (argon2id, bounded concurrency), TOTP, login throttling,
 *          the cookies of the five session slots.
 * Serves:  authd.ipc (req/rep) - PING, STATS and the AUTH_* / TFA_* ops of
 *          proto_ops_auth.h.  AUTH_CHECK runs on nng's threads and never
 *          blocks; every other op runs on a small work pool.
 * Calls:   storaged (req/rep) on a cache miss and for every change; subscribes
 *          to events.ipc to drop cache entries the moment a user, role or
 *          session changes.
 * Keeps:   the signing key and KUBARR_SECRET_KEY_FILE's key in memory only;
 *          never writes the database itself.
 * Ready:   once the signing keys are loaded, while storaged is reachable. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "ipc.h"
#include "log.h"
#include "timeutil.h"
#include "totp.h"
#include "xmalloc.h"

static struct config_var authd_vars[] = {
	{.name = "KUBARR_AUTH_CACHE_MAX", .kind = CONFIG_INT, .def = "4096", .min = 0,
	    .max = 1000000, .help = "principal cache entries (0 turns the cache off)"},
	{.name = "KUBARR_AUTH_CACHE_TTL_S", .kind = CONFIG_INT, .def = "60", .min = 1, .max = 86400,
	    .help = "seconds a cached principal may be used (events drop changes at once)"},
	{.name = "KUBARR_AUTH_HASH_CONCURRENCY", .kind = CONFIG_INT, .def = "0", .min = 0, .max = 256,
	    .help = "password hashes at once (0: number of cores)"},
	{.name = "KUBARR_AUTH_HASH_WAIT_MS", .kind = CONFIG_INT, .def = "1500", .min = 10,
	    .max = 60000, .help = "how long a login may wait for a hashing slot before 503"},
	{.name = "KUBARR_AUTH_WORKERS", .kind = CONFIG_INT, .def = "16", .min = 1, .max = 1024,
	    .help = "threads for logins and other slow auth operations"},
	{.name = "KUBARR_SESSION_TTL_S", .kind = CONFIG_INT, .def = "604800", .min = 60,
	    .max = 31536000, .help = "session and cookie lifetime (default 7 days)"},
	{.name = "KUBARR_COOKIE_SECURE", .kind = CONFIG_BOOL, .def = "false",
	    .help = "add Secure to cookies (set it when served over https)"},
	{.name = "KUBARR_SECRET_KEY_FILE", .kind = CONFIG_PATH, .def = "${KUBARR_DATA_DIR}/secret.key",
	    .help = "key encrypting TOTP secrets; created 0600 on first start; keep it with backups"},
	{.name = "KUBARR_AUTH_TOUCH_INTERVAL_S", .kind = CONFIG_INT, .def = "15", .min = 1,
	    .max = 3600, .help = "last_accessed_at is written in one batch this often"},
	{.name = "KUBARR_AUTH_THROTTLE_FREE", .kind = CONFIG_INT, .def = "5", .min = 1, .max = 1000,
	    .help = "failed logins per username before delays start (x4 per address)"},
	{.name = "KUBARR_AUTH_THROTTLE_BASE_MS", .kind = CONFIG_INT, .def = "1000", .min = 1,
	    .max = 3600000, .help = "first delay after the free failures; doubles per failure"},
	{.name = "KUBARR_AUTH_THROTTLE_MAX_S", .kind = CONFIG_INT, .def = "900", .min = 1,
	    .max = 86400, .help = "longest delay"},
};

static const struct {
	unsigned op;
	work_fn fn;
} authd_slow_ops[] = {
	{PROTO_OP_AUTH_LOGIN, login_op_login},
	{PROTO_OP_AUTH_RECOVER, login_op_recover},
	{PROTO_OP_AUTH_REGISTER, login_op_register},
	{PROTO_OP_AUTH_HASH, login_op_hash},
	{PROTO_OP_AUTH_LOGOUT, sessions_op_logout},
	{PROTO_OP_AUTH_SESSIONS, sessions_op_list},
	{PROTO_OP_AUTH_SESSION_REVOKE, sessions_op_revoke},
	{PROTO_OP_AUTH_REVOKE_OTHERS, sessions_op_revoke_others},
	{PROTO_OP_AUTH_SWITCH, sessions_op_switch},
	{PROTO_OP_AUTH_ACCOUNTS, sessions_op_accounts},
	{PROTO_OP_AUTH_PASSWORD_CHANGE, sessions_op_password},
	{PROTO_OP_AUTH_SET_PASSWORD, sessions_op_set_password},
	{PROTO_OP_AUTH_DELETE_SELF, sessions_op_delete_self},
	{PROTO_OP_TFA_SETUP, tfa_op_setup},
	{PROTO_OP_TFA_ENABLE, tfa_op_enable},
	{PROTO_OP_TFA_DISABLE, tfa_op_disable},
	{PROTO_OP_TFA_STATUS, tfa_op_status},
	{PROTO_OP_TFA_CODES, tfa_op_codes},
};

static void
authd_slow(void *arg, struct proto_request *r)
{
	struct authd *ad = arg;

	for (size_t i = 0; i < sizeof(authd_slow_ops) / sizeof(authd_slow_ops[0]); i++)
		if (authd_slow_ops[i].op == r->env.op) {
			work_submit(ad->work, authd_slow_ops[i].fn, r);
			return;
		}
	proto_reply_error(r, PROTO_UNKNOWN_OP, "unknown op", NULL);
}

static void
authd_ping(void *arg, struct proto_ping_rep *rep)
{
	struct authd *ad = arg;

	if (!ipc_client_connected(ad->storaged) || !atomic_load(&ad->keys_ready)) {
		rep->ready = false;
		rep->reason = !ipc_client_connected(ad->storaged) ? "storaged unavailable" :
		    "signing keys not loaded yet";
		rep->has_reason = true;
	}
}

static void
authd_stats(void *arg, struct proto_stats *st)
{
	struct authd *ad = arg;
	struct cache_stats cs;
	struct password_stats ps;
	struct throttle_stats ts;

	cache_stats(ad->cache, &cs);
	password_pool_stats(ad->pw, &ps);
	throttle_stats(ad->thr, time_mono_us() / 1000, &ts);
	proto_stats_add(st, "storaged_connected", ipc_client_connected(ad->storaged));
	proto_stats_add(st, "keys_ready", atomic_load(&ad->keys_ready));
	proto_stats_add(st, "events_seen", (int64_t)atomic_load(&ad->events_seen));
	proto_stats_add(st, "cache_hits", (int64_t)cs.hits);
	proto_stats_add(st, "cache_misses", (int64_t)cs.misses);
	proto_stats_add(st, "cache_evictions", (int64_t)cs.evictions);
	proto_stats_add(st, "cache_expired", (int64_t)cs.expired);
	proto_stats_add(st, "cache_invalidated", (int64_t)cs.invalidated);
	proto_stats_add(st, "cache_size", (int64_t)cs.size);
	proto_stats_add(st, "cache_bytes", (int64_t)cs.bytes);
	proto_stats_add(st, "cache_max", (int64_t)cs.max);
	proto_stats_add(st, "checks", (int64_t)atomic_load(&ad->checks));
	proto_stats_add(st, "check_misses", (int64_t)atomic_load(&ad->check_misses));
	proto_stats_add(st, "check_denied", (int64_t)atomic_load(&ad->check_denied));
	proto_stats_add(st, "logins", (int64_t)atomic_load(&ad->logins));
	proto_stats_add(st, "login_failures", (int64_t)atomic_load(&ad->login_failures));
	proto_stats_add(st, "logins_throttled", (int64_t)atomic_load(&ad->throttled));
	proto_stats_add(st, "hashes", (int64_t)ps.hashed);
	proto_stats_add(st, "verifies", (int64_t)ps.verified);
	proto_stats_add(st, "hash_busy", (int64_t)ps.busy);
	proto_stats_add(st, "hash_queued", (int64_t)ps.queued_now);
	proto_stats_add(st, "hash_max_wait_us", (int64_t)ps.max_queue_wait_us);
	proto_stats_add(st, "throttle_keys", (int64_t)ts.keys);
	proto_stats_add(st, "throttle_locked", (int64_t)ts.locked_now);
	proto_stats_add(st, "touches_sent", (int64_t)touch_sent(ad->touch));
	proto_stats_add(st, "audit_failures", (int64_t)atomic_load(&ad->audit_failures));
	work_stats(ad->work, st);
}

/* storaged's events: drop what changed, at once. */
static void
authd_event(void *arg, nng_msg *msg)
{
	struct authd *ad = arg;
	struct proto_env env = {0};
	struct proto_event_req ev = {0};
	const char *err = NULL;

	atomic_fetch_add(&ad->events_seen, 1);
	if (proto_env_decode(&env, nng_msg_body(msg), nng_msg_len(msg), &err) == 0 &&
	    env.op == PROTO_OP_EVENT && proto_event_req_decode(&env, &ev, &err) == 0) {
		if (strcmp(ev.kind, "session") == 0 && ev.has_key)
			cache_drop_sid(ad->cache, ev.key);
		else if (strcmp(ev.kind, "user") == 0)
			cache_drop_user(ad->cache, ev.id);
		else if (strcmp(ev.kind, "role") == 0)
			cache_clear(ad->cache);   /* a role reaches many users: start over */
	} else {
		log_warnx("events: undecodable event: %s", err != NULL ? err : "?");
	}
	proto_env_fini(&env);
	nng_msg_free(msg);
}

static int
authd_start(struct daemon *d, char **err_r)
{
	struct authd *ad = d->ctx;
	struct proto_service svc = {.ctx = ad, .ping = authd_ping, .stats = authd_stats};
	struct throttle_config tc = {0};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned conc = (unsigned)config_int(&d->cfg, "KUBARR_AUTH_HASH_CONCURRENCY");
	bool created;

	ad->d = d;
	ad->timeout_ms = d->ipc_timeout_ms;
	ad->hash_wait_ms = config_int(&d->cfg, "KUBARR_AUTH_HASH_WAIT_MS");
	ad->session_ttl_s = config_int(&d->cfg, "KUBARR_SESSION_TTL_S");
	ad->cookie_secure = config_bool(&d->cfg, "KUBARR_COOKIE_SECURE");
	if (sodium_init() < 0 || totp_global_init() != 0) {
		*err_r = xstrdup("cannot initialise libsodium / liboath");
		return -1;
	}
	if (secrets_load(&ad->secrets, config_str(&d->cfg, "KUBARR_SECRET_KEY_FILE"), &created,
	    err_r) != 0)
		return -1;
	if (created)
		log_info("created %s (keep it with your backups: it decrypts TOTP secrets)",
		    config_str(&d->cfg, "KUBARR_SECRET_KEY_FILE"));
	if (login_init() != 0) {
		*err_r = xstrdup("cannot compute the reference password hash");
		return -1;
	}
	if (conc == 0)
		conc = ncpu > 0 ? (unsigned)ncpu : 1;
	tc.free_failures = (unsigned)config_int(&d->cfg, "KUBARR_AUTH_THROTTLE_FREE");
	tc.base_ms = config_int(&d->cfg, "KUBARR_AUTH_THROTTLE_BASE_MS");
	tc.max_ms = config_int(&d->cfg, "KUBARR_AUTH_THROTTLE_MAX_S") * 1000;
	ad->thr = throttle_new(&tc);
	ad->cache = cache_new((size_t)config_int(&d->cfg, "KUBARR_AUTH_CACHE_MAX"),
	    config_int(&d->cfg, "KUBARR_AUTH_CACHE_TTL_S") * 1000);
	touch_open(&ad->touch, config_int(&d->cfg, "KUBARR_AUTH_TOUCH_INTERVAL_S") * 1000);
	if (password_pool_open(&ad->pw, conc, err_r) != 0 ||
	    work_open(&ad->work, ad, (unsigned)config_int(&d->cfg, "KUBARR_AUTH_WORKERS"), err_r) != 0)
		return -1;
	if (daemon_client_open(d, "storaged", &ad->storaged, err_r) != 0 ||
	    daemon_sub_open(d, "events", authd_event, ad, &ad->events, err_r) != 0)
		return -1;
	svc.handlers[PROTO_OP_AUTH_CHECK] = check_handle;
	for (size_t i = 0; i < sizeof(authd_slow_ops) / sizeof(authd_slow_ops[0]); i++)
		svc.handlers[authd_slow_ops[i].op] = authd_slow;
	log_info("authd: %u hashing slots (argon2id t=%llu m=%u MiB), cache %lld entries / %lld s",
	    conc, (unsigned long long)PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT >> 20,
	    config_int(&d->cfg, "KUBARR_AUTH_CACHE_MAX"), config_int(&d->cfg, "KUBARR_AUTH_CACHE_TTL_S"));
	return proto_server_open_daemon(&ad->srv, d, 0, &svc, err_r);
}

static void
authd_tick(struct daemon *d)
{
	struct authd *ad = d->ctx;
	int64_t now = time_mono_us(), wall = time_wall_ms();

	if (!atomic_load(&ad->keys_ready) && now >= ad->next_key_try_us &&
	    ipc_client_connected(ad->storaged)) {
		char *err = NULL;

		if (keys_load(ad, &err) != 0) {
			log_warnx("keys: not loaded yet: %s", err);
			free(err);
			ad->next_key_try_us = now + 1000000;
		}
	}
	cache_sweep(ad->cache, wall);
	throttle_sweep(ad->thr, now / 1000);
	touch_flush(ad->touch, ad->storaged, ad->timeout_ms, wall, false);
}

static void
authd_stop(struct daemon *d, int64_t deadline_us)
{
	struct authd *ad = d->ctx;

	if (ad->srv != NULL)
		proto_server_drain(ad->srv, deadline_us);
	work_close(&ad->work);
	password_pool_close(&ad->pw);
	if (ad->touch != NULL && ad->storaged != NULL)
		touch_flush(ad->touch, ad->storaged, ad->timeout_ms, time_wall_ms(), true);
	proto_server_close(&ad->srv, deadline_us);
	ipc_sub_close(&ad->events);
	/* the last touches and audit entries are in flight: let them land */
	ipc_client_drain(ad->storaged, deadline_us);
	ipc_client_close(&ad->storaged);
	touch_close(&ad->touch);
	cache_free(&ad->cache);
	throttle_free(&ad->thr);
	token_keys_free(&ad->keys);
	secrets_wipe(&ad->secrets);
	totp_global_done();
}

static const struct daemon_ops authd_ops = {
	.name = "authd",
	.summary = "kubarr-authd: sessions, permissions and 2FA, cached in memory.",
	.vars = authd_vars,
	.nvars = sizeof(authd_vars) / sizeof(authd_vars[0]),
	.start = authd_start,
	.tick = authd_tick,
	.stop = authd_stop,
	.command = cli_command,
	.commands_help = cli_commands_help,
	.tick_ms = 250,
};

int
main(int argc, char **argv)
{
	struct authd ad = {0};

	return daemon_main(&authd_ops, &ad, argc, argv);
}
