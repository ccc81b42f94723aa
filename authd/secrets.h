/* secrets: the key that is not in the database, and what it protects.
 *
 * KUBARR_SECRET_KEY_FILE holds 32 random bytes (hex, one line).  It is created
 * 0600 on first start (O_CREAT|O_EXCL, written to a temporary file and renamed,
 * fsync'd), refused when it is readable by group or others or malformed.
 *
 * With it: TOTP secrets are stored encrypted (XChaCha20-Poly1305 secretbox,
 * random nonce: "v1:" + base64(nonce || box)), and 2FA recovery codes are
 * stored as a keyed hash ("k1:" + hex(BLAKE2b-256 keyed)), which is fast and,
 * since each code has ~51 bits of entropy, needs no slow hash. */
#ifndef KUBARR_AUTHD_SECRETS_H
#define KUBARR_AUTHD_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#define SECRETS_KEY_BYTES 32
#define SECRETS_SEALED_MAX 256     /* buffer for a sealed TOTP secret + NUL */
#define SECRETS_CODE_HASH_MAX 72   /* "k1:" + 64 hex + NUL */

struct secrets {
	unsigned char key[SECRETS_KEY_BYTES];
};

/* Loads the key file, creating it when it does not exist.  *created_r says
 * whether it was created.  0, or -1 with *err_r (malloc'd, names the file). */
int secrets_load(struct secrets *s, const char *path, bool *created_r, char **err_r);
/* Wipes the key. */
void secrets_wipe(struct secrets *s);

/* Seal / open a short text (a base32 TOTP secret, at most 128 bytes). */
int secrets_seal(const struct secrets *s, const char *plain, char *out, size_t out_len);
/* 0 and the plaintext in out, or -1 (tampered, wrong key, bad format). */
int secrets_open(const struct secrets *s, const char *sealed, char *out, size_t out_len);

/* Recovery codes: `n` fresh codes of 10 characters [A-Z0-9] (unbiased),
 * each written NUL-terminated into codes[i] (11 bytes). */
void secrets_recovery_codes(char (*codes)[11], size_t n);
/* Keyed hash of a code, case-insensitive (the code is upper-cased first). */
void secrets_code_hash(const struct secrets *s, const char *code, char out[SECRETS_CODE_HASH_MAX]);
/* Does `code` match `stored`?  stored is "k1:..." (ours, constant-time compare)
 * or a bcrypt hash imported from the reference (libcrypt).  */
bool secrets_code_matches(const struct secrets *s, const char *code, const char *stored);

#endif
