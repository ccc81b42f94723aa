/* keys: the JWT signing pair lives in storaged (system_settings
 * jwt_private_key, a secret setting only authd may read, and jwt_public_key).
 * The first authd to start on an empty database makes the pair and stores it;
 * later starts load it.  Called from the tick until it succeeds (storaged may
 * start after authd). */
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "xmalloc.h"

static const char keys_private[] = "jwt_private_key";
static const char keys_public[] = "jwt_public_key";

/* 0 found, 1 not found, -1 storaged error. */
static int
keys_get(struct authd *ad, const char *key, char **value_r)
{
	struct proto_setting_get_secret_req req = {.key = key};
	struct proto_setting_get_secret_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st;

	st = proto_setting_get_secret_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold);
	if (st == PROTO_OK)
		*value_r = xstrdup(rep.value);
	proto_reply_fini(&hold);
	return st == PROTO_OK ? 0 : st == PROTO_NOT_FOUND ? 1 : -1;
}

static int
keys_set(struct authd *ad, const char *key, const char *value, const char *desc)
{
	struct proto_setting_set_req req = {.key = key, .value = value};
	struct proto_setting_set_rep rep;
	struct proto_reply hold = {0};
	enum proto_status st;

	req.description = desc;
	req.has_description = true;
	st = proto_setting_set_call_sync(ad->storaged, &req, ad->timeout_ms, &rep, &hold);
	proto_reply_fini(&hold);
	return st == PROTO_OK ? 0 : -1;
}

int
keys_load(struct authd *ad, char **err_r)
{
	struct token_keys k = {0};
	int a, b;

	a = keys_get(ad, keys_private, &k.private_pem);
	b = a < 0 ? -1 : keys_get(ad, keys_public, &k.public_pem);
	if (a < 0 || b < 0) {
		token_keys_free(&k);
		*err_r = xstrdup("storaged unavailable");
		return -1;
	}
	if (a == 1 || b == 1) {
		/* none yet (or half a pair from an interrupted first start): make one */
		token_keys_free(&k);
		if (token_keys_generate(&k, err_r) != 0)
			return -1;
		/* public first: a private key alone is never taken for a pair */
		if (keys_set(ad, keys_public, k.public_pem, "JWT verification key (SPKI PEM)") != 0 ||
		    keys_set(ad, keys_private, k.private_pem, "JWT signing key (PKCS#8 PEM, secret)") != 0) {
			token_keys_free(&k);
			*err_r = xstrdup("cannot store the new signing keys in storaged");
			return -1;
		}
		log_info("keys: created a new RS256 signing key pair");
	}
	if (token_keys_check(&k, err_r) != 0) {
		token_keys_free(&k);
		return -1;
	}
	ad->keys = k;
	atomic_store(&ad->keys_ready, true);
	log_info("keys: signing keys loaded");
	return 0;
}
