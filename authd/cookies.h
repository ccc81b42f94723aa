/* cookies: the browser's side of sessions (API.md 3.1, decision 2).
 *
 * Cookie header in: kubarr_session_<0-4> (one session per slot),
 * kubarr_active=<slot> and the legacy kubarr_session.  Parsing never fails on
 * strange cookies (they are skipped, as browsers send whatever other apps on
 * the same host set); it fails only on input no browser sends: over
 * COOKIES_MAX_HEADER bytes, NUL or other control bytes.
 * Set-Cookie out: SameSite=Lax; Path=/; Max-Age (604800, or 0 to clear);
 * HttpOnly except kubarr_active; Secure when configured. */
#ifndef KUBARR_AUTHD_COOKIES_H
#define KUBARR_AUTHD_COOKIES_H

#include <stdbool.h>
#include <stddef.h>

#define COOKIES_SLOTS 5
#define COOKIES_LEGACY (-1)          /* "slot" of the legacy cookie */
#define COOKIES_MAX_HEADER 16384
#define COOKIES_MAX_VALUE 4096
#define COOKIES_SET_MAX (COOKIES_MAX_VALUE + 160)

struct cookie_jar {
	const char *slot[COOKIES_SLOTS];  /* token per slot, or NULL */
	const char *legacy;               /* kubarr_session, or NULL */
	int active;                       /* kubarr_active, -1 when absent or invalid */
	char *buf;                        /* owns the strings above */
};

/* 0, or -1 with a static reason; jar is always safe to cookies_jar_fini(). */
int cookies_parse(const char *header, struct cookie_jar *jar, const char **err_r);
void cookies_jar_fini(struct cookie_jar *jar);

/* The token a request authenticates with (API.md 3.2): the active slot's
 * (default 0), else the first slot present, else the legacy cookie.  NULL if
 * none; *slot_r gets the slot or COOKIES_LEGACY. */
const char *cookies_pick(const struct cookie_jar *jar, int *slot_r);

/* Set-Cookie values into out (COOKIES_SET_MAX bytes).  value NULL clears. */
void cookies_set_session(char *out, int slot, const char *value, long max_age, bool secure);
void cookies_set_active(char *out, int slot, long max_age, bool secure);  /* slot < 0 clears */

#endif
