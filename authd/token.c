/* token: JWT sign and verify with a strict front end.  See token.h. */
#include "token.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static char *
token_bio_string(BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *s;

	if (n <= 0)
		return NULL;
	s = xmalloc((size_t)n + 1);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

int
token_keys_generate(struct token_keys *k, char **err_r)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
	int rv = -1;

	memset(k, 0, sizeof(*k));
	if (pkey == NULL || priv == NULL || pub == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, pkey) != 1) {
		*err_r = xstrdup("cannot generate an RSA-2048 key pair (OpenSSL)");
		goto out;
	}
	k->private_pem = token_bio_string(priv);
	k->public_pem = token_bio_string(pub);
	if (k->private_pem == NULL || k->public_pem == NULL) {
		token_keys_free(k);
		*err_r = xstrdup("cannot write the key pair as PEM");
		goto out;
	}
	rv = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(priv);
	BIO_free(pub);
	return rv;
}

void
token_keys_free(struct token_keys *k)
{
	if (k->private_pem != NULL) {
		sodium_memzero(k->private_pem, strlen(k->private_pem));
		free(k->private_pem);
	}
	free(k->public_pem);
	k->private_pem = k->public_pem = NULL;
}

int
token_keys_check(const struct token_keys *k, char **err_r)
{
	char sid[TOKEN_SID_LEN + 1], back[TOKEN_SID_LEN + 1];
	char *tok;
	const char *why = NULL;
	int64_t exp;

	if (k->private_pem == NULL || k->public_pem == NULL ||
	    strstr(k->private_pem, "PRIVATE KEY") == NULL || strstr(k->public_pem, "PUBLIC KEY") == NULL) {
		*err_r = xstrdup("stored JWT keys are not PEM keys");
		return -1;
	}
	token_new_sid(sid);
	tok = token_sign(k, sid, 1000, INT32_MAX);
	if (tok == NULL || token_verify(k, tok, 2000, back, &exp, &why) != 0 || strcmp(sid, back) != 0) {
		*err_r = xasprintf("stored JWT keys do not form a usable RS256 pair (%s)",
		    why != NULL ? why : "cannot sign");
		free(tok);
		return -1;
	}
	free(tok);
	return 0;
}

char *
token_sign(const struct token_keys *k, const char *sid, int64_t iat, int64_t exp)
{
	jwt_t *jwt = NULL;
	char *out = NULL, *s;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grant(jwt, "sid", sid) == 0 && jwt_add_grant_int(jwt, "iat", (long)iat) == 0 &&
	    jwt_add_grant_int(jwt, "exp", (long)exp) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)k->private_pem,
		(int)strlen(k->private_pem)) == 0 &&
	    (s = jwt_encode_str(jwt)) != NULL) {
		out = xstrdup(s);
		free(s);   /* libjwt 1.10 allocates with malloc and has no jwt_free_str */
	}
	jwt_free(jwt);
	return out;
}

/* base64url part [p, p+len) decoded into a malloc'd NUL-terminated buffer. */
static char *
token_b64_decode(const char *p, size_t len, size_t *out_len)
{
	size_t cap = len * 3 / 4 + 4;
	unsigned char *buf = xmalloc(cap + 1);
	size_t n = 0;

	if (sodium_base642bin(buf, cap, p, len, NULL, &n, NULL,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*out_len = n;
	return (char *)buf;
}

static int
token_check_header(const char *p, size_t len, const char **err_r)
{
	size_t n;
	char *raw = token_b64_decode(p, len, &n);
	json_t *h, *alg, *typ;
	int rv = -1;

	if (raw == NULL) {
		*err_r = "token header is not base64url";
		return -1;
	}
	h = json_loadb(raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(h)) {
		*err_r = "token header is not a JSON object";
		goto out;
	}
	alg = json_object_get(h, "alg");
	typ = json_object_get(h, "typ");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "RS256") != 0) {
		*err_r = "token algorithm is not RS256";
		goto out;
	}
	if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) {
		*err_r = "token type is not JWT";
		goto out;
	}
	if (json_object_get(h, "crit") != NULL) {
		*err_r = "token header has critical extensions";
		goto out;
	}
	rv = 0;
out:
	json_decref(h);
	return rv;
}

int
token_check_shape(const char *token, const char **err_r)
{
	size_t len = token != NULL ? strnlen(token, TOKEN_MAX_LEN + 1) : 0;
	const char *d1, *d2;

	if (len == 0) {
		*err_r = "no token";
		return -1;
	}
	if (len > TOKEN_MAX_LEN) {
		*err_r = "token too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = token[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '_' || c == '.')) {
			*err_r = "token has characters outside base64url";
			return -1;
		}
	}
	d1 = strchr(token, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL || d1 == token ||
	    d2 == d1 + 1 || d2[1] == '\0') {
		*err_r = "token is not three non-empty parts";
		return -1;
	}
	return token_check_header(token, (size_t)(d1 - token), err_r);
}

int
token_sid_valid(const char *sid)
{
	if (strlen(sid) != TOKEN_SID_LEN)
		return 0;
	for (int i = 0; i < TOKEN_SID_LEN; i++) {
		char c = sid[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

void
token_new_sid(char *sid_r)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(sid_r, TOKEN_SID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	    b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The claims are checked from the payload libjwt verified. */
static int
token_claims(jwt_t *jwt, int64_t now, char *sid_r, int64_t *exp_r, const char **err_r)
{
	const char *sid;
	long iat, exp;

	errno = 0;
	sid = jwt_get_grant(jwt, "sid");
	if (sid == NULL || !token_sid_valid(sid)) {
		*err_r = "token has no valid sid";
		return -1;
	}
	iat = jwt_get_grant_int(jwt, "iat");
	if (errno != 0) {
		*err_r = "token has no iat";
		return -1;
	}
	exp = jwt_get_grant_int(jwt, "exp");
	if (errno != 0) {
		*err_r = "token has no exp";
		return -1;
	}
	if ((int64_t)exp <= now) {
		*err_r = "token expired";
		return -1;
	}
	if ((int64_t)iat > now + TOKEN_SKEW_S || iat > exp) {
		*err_r = "token issued in the future";
		return -1;
	}
	memcpy(sid_r, sid, TOKEN_SID_LEN + 1);
	*exp_r = exp;
	return 0;
}

int
token_verify(const struct token_keys *k, const char *token, int64_t now, char *sid_r,
    int64_t *exp_r, const char **err_r)
{
	jwt_t *jwt = NULL;
	int rv;

	if (token_check_shape(token, err_r) != 0)
		return -1;
	if (k->public_pem == NULL) {
		*err_r = "no signing key loaded";
		return -1;
	}
	if (jwt_decode(&jwt, token, (const unsigned char *)k->public_pem,
		(int)strlen(k->public_pem)) != 0 || jwt == NULL) {
		*err_r = "token signature invalid";
		return -1;
	}
	if (jwt_get_alg(jwt) != JWT_ALG_RS256) {
		jwt_free(jwt);
		*err_r = "token algorithm is not RS256";
		return -1;
	}
	rv = token_claims(jwt, now, sid_r, exp_r, err_r);
	jwt_free(jwt);
	return rv;
}
