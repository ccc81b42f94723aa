/* totp: RFC 6238 through liboath, as the reference: SHA1, 6 digits, 30 s
 * steps, a window of one step either side, issuer "Kubarr", label = email. */
#ifndef KUBARR_AUTHD_TOTP_H
#define KUBARR_AUTHD_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_SECRET_BYTES 20       /* 160-bit secret */
#define TOTP_SECRET_B32_MAX 40     /* base32 of 20 bytes is 32 chars; + NUL, slack */
#define TOTP_URI_MAX 512

/* liboath's global init/done (call once per process, around any use). */
int totp_global_init(void);
void totp_global_done(void);

/* A fresh random secret, base32 (RFC 4648, no padding), NUL-terminated. */
void totp_secret_new(char out[TOTP_SECRET_B32_MAX]);
/* otpauth://totp/Kubarr:<email>?secret=...&issuer=Kubarr&algorithm=SHA1&digits=6&period=30
 * with the label and issuer percent-encoded.  0, or -1 if it does not fit. */
int totp_provisioning_uri(const char *secret_b32, const char *email, char *out, size_t out_len);
/* True when `code` (6 digits, surrounding spaces ignored) is valid at `now`
 * within +-1 step.  A malformed secret or code is simply false. */
bool totp_verify(const char *secret_b32, const char *code, time_t now);
/* The code for `now` (tests, CLI).  0, or -1. */
int totp_generate(const char *secret_b32, time_t now, char out[7]);

#endif
