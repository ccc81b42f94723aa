/* harness_auth: users and logins for integration tests.
 *
 *   harness_login_admin(h, c)   creates the user "admin" (role admin, password
 *                               HARNESS_ADMIN_PASSWORD) the first time, then
 *                               logs http_client c in: c's cookie jar carries
 *                               the session from then on.
 *   harness_create_user(h, name, password, role, &id)
 *                               any user (role NULL: none), approved and
 *                               active, through storaged's USER_CREATE with an
 *                               argon2id hash made here.
 *   harness_login(h, c, name, password, &status)
 * Unsafe requests with a session cookie need HARNESS_CSRF headers (decision 5). */
#ifndef KUBARR_TESTS_HARNESS_AUTH_H
#define KUBARR_TESTS_HARNESS_AUTH_H

#include <stdint.h>

#include "harness.h"
#include "http.h"

#define HARNESS_ADMIN_USER "admin"
#define HARNESS_ADMIN_PASSWORD "admin-password-1"

/* {"X-Requested-With: XMLHttpRequest", NULL} */
extern const char *const HARNESS_CSRF[];

int harness_create_user(struct harness *h, const char *username, const char *password,
    const char *role, int64_t *id_r);
/* 0 when the login answered 200; *status_r gets the status either way. */
int harness_login(struct harness *h, struct http_client *c, const char *username,
    const char *password, long *status_r);
int harness_login_admin(struct harness *h, struct http_client *c);

#endif
