/* harness_auth: see harness_auth.h. */
#include "harness_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "ipc.h"
#include "password.h"

const char *const HARNESS_CSRF[] = {"X-Requested-With: XMLHttpRequest", NULL};

int
harness_create_user(struct harness *h, const char *username, const char *password,
    const char *role, int64_t *id_r)
{
	struct proto_user_create_req req = {0};
	struct proto_user_create_rep rep;
	struct proto_reply hold = {0};
	struct ipc_client *c = NULL;
	char url[512], email[256], hash[PASSWORD_HASH_MAX];
	const char *roles[1] = {role};
	char *err = NULL;
	enum proto_status st;

	if (password_hash_now(password, hash) != PASSWORD_OK)
		return -1;
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(h));
	if (ipc_client_open(&c, url, 0, &err) != 0) {
		fprintf(stderr, "harness_create_user: %s\n", err);
		free(err);
		return -1;
	}
	for (long until = harness_now_ms() + 5000; !ipc_client_connected(c) &&
	     harness_now_ms() < until;)
		usleep(5000);
	snprintf(email, sizeof(email), "%s@example.com", username);
	req.username = username;
	req.email = email;
	req.hashed_password = hash;
	req.is_active = true;
	req.is_approved = true;
	if (role != NULL) {
		req.roles.v = roles;
		req.roles.n = 1;
		req.has_roles = true;
	}
	st = proto_user_create_call_sync(c, &req, 3000, &rep, &hold);
	if (st == PROTO_OK && id_r != NULL)
		*id_r = rep.id;
	if (st != PROTO_OK)
		fprintf(stderr, "harness_create_user %s: %s %s\n", username, proto_status_name(st),
		    hold.detail ? hold.detail : "");
	proto_reply_fini(&hold);
	ipc_client_close(&c);
	return st == PROTO_OK ? 0 : -1;
}

int
harness_login(struct harness *h, struct http_client *c, const char *username,
    const char *password, long *status_r)
{
	struct http_resp resp = {0};
	json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password);
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	(void)h;
	rc = http_client_request(c, "POST", "/auth/login", text, NULL, &resp);
	if (status_r != NULL)
		*status_r = resp.status;
	if (rc == 0 && resp.status != 200 && resp.status != 401)
		fprintf(stderr, "harness_login %s: %ld %s\n", username, resp.status, resp.body);
	rc = rc == 0 && resp.status == 200 ? 0 : -1;
	http_resp_free(&resp);
	free(text);
	json_decref(body);
	return rc;
}

int
harness_login_admin(struct harness *h, struct http_client *c)
{
	long status = 0;

	if (harness_login(h, c, HARNESS_ADMIN_USER, HARNESS_ADMIN_PASSWORD, &status) == 0)
		return 0;
	if (status != 401 ||
	    harness_create_user(h, HARNESS_ADMIN_USER, HARNESS_ADMIN_PASSWORD, "admin", NULL) != 0)
		return -1;
	return harness_login(h, c, HARNESS_ADMIN_USER, HARNESS_ADMIN_PASSWORD, NULL);
}
