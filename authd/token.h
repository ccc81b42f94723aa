/* token: the session cookie's JWT (API.md decision 2).
 *
 * RS256 (RSA-2048), keys as in the reference: PKCS#8 private and SPKI public
 * PEM, kept in storaged's system_settings (jwt_private_key is a secret setting
 * only authd can read).  Claims: sid (uuid text), iat, exp.
 *
 * Verification is a strict front end before libjwt: at most TOKEN_MAX_LEN
 * bytes, three base64url parts, a header that is a JSON object whose alg is
 * exactly "RS256" (so "none" and an HMAC token "signed" with the public key
 * never reach a verifier), typ absent or "JWT", no crit; then libjwt checks
 * the signature with the public key; then the claims: sid well formed, iat and
 * exp integers, exp in the future, iat not in the future (60 s skew). */
#ifndef KUBARR_AUTHD_TOKEN_H
#define KUBARR_AUTHD_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX_LEN 2048
#define TOKEN_SID_LEN 36
#define TOKEN_SKEW_S 60

struct token_keys {
	char *private_pem;
	char *public_pem;
};

/* A fresh RSA-2048 pair.  0, or -1 with *err_r (malloc'd). */
int token_keys_generate(struct token_keys *k, char **err_r);
/* Checks that the two PEMs form a pair we can use (sign + verify). */
int token_keys_check(const struct token_keys *k, char **err_r);
void token_keys_free(struct token_keys *k);

/* A signed token, malloc'd; NULL on failure. */
char *token_sign(const struct token_keys *k, const char *sid, int64_t iat, int64_t exp);

/* The front end alone (no key): shape and header.  0 or -1 with *err_r. */
int token_check_shape(const char *token, const char **err_r);
/* Full verification at `now` (seconds).  0 with sid_r (37 bytes) and exp_r, or
 * -1 with a static reason in *err_r. */
int token_verify(const struct token_keys *k, const char *token, int64_t now, char *sid_r,
    int64_t *exp_r, const char **err_r);

/* True for 8-4-4-4-12 lower-case hex. */
int token_sid_valid(const char *sid);
/* A random uuid v4 (37 bytes with NUL). */
void token_new_sid(char *sid_r);

#endif
