/* totp: RFC 6238 codes through liboath (see totp.h).
 *
 * Secrets are base32 (RFC 4648 alphabet, no padding); liboath decodes them
 * (it ignores spaces and accepts lower case).  Codes are compared in constant
 * time through liboath's validation callback. */
#include "totp.h"

#include <ctype.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_WINDOW 1
#define TOTP_ISSUER "Kubarr"
/* Longest base32 secret we decode (a 160-bit secret is 32 characters). */
#define TOTP_SECRET_B32_IN_MAX 256

_Static_assert((TOTP_SECRET_BYTES * 8 + 4) / 5 < TOTP_SECRET_B32_MAX, "base32 secret size");

static const char totp_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
totp_global_init(void)
{
	int rc;

	if (sodium_init() < 0) {
		log_error("totp: sodium_init failed");
		return -1;
	}
	rc = oath_init();
	if (rc != OATH_OK) {
		log_error("totp: oath_init: %s", oath_strerror(rc));
		return -1;
	}
	return 0;
}

void
totp_global_done(void)
{
	oath_done();
}

void
totp_secret_new(char out[TOTP_SECRET_B32_MAX])
{
	unsigned char raw[TOTP_SECRET_BYTES];
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	randombytes_buf(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = totp_b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = totp_b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static int
totp_pct_encode(const char *in, char *out, size_t out_len, size_t *pos)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			if (*pos + 1 >= out_len)
				return -1;
			out[(*pos)++] = (char)*p;
		} else {
			if (*pos + 3 >= out_len)
				return -1;
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[*p >> 4];
			out[(*pos)++] = hex[*p & 15];
		}
	}
	out[*pos] = '\0';
	return 0;
}

static int
totp_append(const char *s, char *out, size_t out_len, size_t *pos)
{
	size_t n = strlen(s);

	if (*pos + n >= out_len)
		return -1;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return 0;
}

int
totp_provisioning_uri(const char *secret_b32, const char *email, char *out, size_t out_len)
{
	size_t pos = 0;

	if (out_len == 0)
		return -1;
	if (totp_append("otpauth://totp/", out, out_len, &pos) != 0 ||
	    totp_pct_encode(TOTP_ISSUER, out, out_len, &pos) != 0 ||
	    totp_append(":", out, out_len, &pos) != 0 ||
	    totp_pct_encode(email, out, out_len, &pos) != 0 ||
	    totp_append("?secret=", out, out_len, &pos) != 0 ||
	    totp_pct_encode(secret_b32, out, out_len, &pos) != 0 ||
	    totp_append("&issuer=", out, out_len, &pos) != 0 ||
	    totp_pct_encode(TOTP_ISSUER, out, out_len, &pos) != 0 ||
	    totp_append("&algorithm=SHA1&digits=6&period=30", out, out_len, &pos) != 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* The raw secret (malloc'd by liboath) or NULL when malformed or empty. */
static char *
totp_decode(const char *secret_b32, size_t *len_r)
{
	char *raw = NULL;
	size_t in_len;

	if (secret_b32 == NULL)
		return NULL;
	in_len = strnlen(secret_b32, TOTP_SECRET_B32_IN_MAX + 1);
	if (in_len == 0 || in_len > TOTP_SECRET_B32_IN_MAX)
		return NULL;
	if (oath_base32_decode(secret_b32, in_len, &raw, len_r) != OATH_OK)
		return NULL;
	if (*len_r == 0) {
		free(raw);
		return NULL;
	}
	return raw;
}

static void
totp_raw_free(char *raw, size_t len)
{
	sodium_memzero(raw, len);
	free(raw);
}

static int
totp_code_cmp(void *handle, const char *test_otp)
{
	const char *code = handle;

	if (strlen(test_otp) != TOTP_DIGITS)
		return 1;
	return sodium_memcmp(code, test_otp, TOTP_DIGITS) == 0 ? 0 : 1;
}

bool
totp_verify(const char *secret_b32, const char *code, time_t now)
{
	char digits[TOTP_DIGITS + 1];
	const char *p, *end;
	char *raw;
	size_t raw_len = 0;
	int rc;

	if (code == NULL)
		return false;
	p = code;
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end - p != TOTP_DIGITS)
		return false;
	for (int i = 0; i < TOTP_DIGITS; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		digits[i] = p[i];
	}
	digits[TOTP_DIGITS] = '\0';
	if (now < 0)
		return false;
	raw = totp_decode(secret_b32, &raw_len);
	if (raw == NULL)
		return false;
	rc = oath_totp_validate_callback(raw, raw_len, now, TOTP_STEP, 0, TOTP_DIGITS,
	    TOTP_WINDOW, totp_code_cmp, digits);
	totp_raw_free(raw, raw_len);
	return rc >= 0;
}

int
totp_generate(const char *secret_b32, time_t now, char out[7])
{
	char *raw;
	size_t raw_len = 0;
	int rc;

	if (now < 0)
		return -1;
	raw = totp_decode(secret_b32, &raw_len);
	if (raw == NULL)
		return -1;
	rc = oath_totp_generate(raw, raw_len, now, TOTP_STEP, 0, TOTP_DIGITS, out);
	totp_raw_free(raw, raw_len);
	return rc == OATH_OK ? 0 : -1;
}
