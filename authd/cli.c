/* cli: operator commands for when the web UI cannot help.
 *
 *   kubarr-authd create-admin --username U --email E [--password-stdin]
 *   kubarr-authd reset-password --username U [--password-stdin] [--disable-2fa]
 *
 * They talk to a running storaged over its socket (as authd does), hash with
 * argon2id here, and audit what they did.  Without --password-stdin a random
 * password is generated and printed once on stdout. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "ipc.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

const char cli_commands_help[] =
    "  create-admin --username U --email E [--password-stdin]\n"
    "                     create an approved user with the admin role (the password\n"
    "                     is read from stdin, or generated and printed once)\n"
    "  reset-password --username U [--password-stdin] [--disable-2fa]\n"
    "                     set a new password (read or generated), end every session\n"
    "                     of the user, optionally turn 2FA off\n";

#define CLI_WAIT_MS 10000

struct cli_opts {
	const char *username, *email;
	bool password_stdin, disable_2fa;
};

static int
cli_parse(int argc, char **argv, bool create, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{"username", required_argument, NULL, 'u'},
		{"email", required_argument, NULL, 'e'},
		{"password-stdin", no_argument, NULL, 'p'},
		{"disable-2fa", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+u:e:pdh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			o->username = optarg;
			break;
		case 'e':
			o->email = optarg;
			break;
		case 'p':
			o->password_stdin = true;
			break;
		case 'd':
			o->disable_2fa = true;
			break;
		case 'h':
			fputs(cli_commands_help, stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (optind != argc || o->username == NULL || (create && o->email == NULL) ||
	    (create && o->disable_2fa))
		return -1;
	return 0;
}

/* One line from stdin (no echo handling: pipe it in), or a generated one. */
static int
cli_password(bool from_stdin, char *pw, size_t len, bool *generated_r)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

	*generated_r = !from_stdin;
	if (from_stdin) {
		size_t n;

		if (fgets(pw, (int)len, stdin) == NULL) {
			fprintf(stderr, "no password on stdin\n");
			return -1;
		}
		n = strcspn(pw, "\r\n");
		pw[n] = '\0';
		if (n < PASSWORD_MIN_LEN) {
			fprintf(stderr, "the password must be at least %d characters\n", PASSWORD_MIN_LEN);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < 20 && i + 1 < len; i++) {
		pw[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		pw[i + 1] = '\0';
	}
	return 0;
}

static struct ipc_client *
cli_storaged(struct daemon *d)
{
	struct ipc_client *c = NULL;
	char *err = NULL;
	int64_t until = time_mono_us() + CLI_WAIT_MS * 1000LL;

	if (daemon_client_open(d, "storaged", &c, &err) != 0) {
		fprintf(stderr, "cannot open the storaged socket: %s\n", err);
		free(err);
		return NULL;
	}
	while (!ipc_client_connected(c) && time_mono_us() < until)
		usleep(20000);
	if (!ipc_client_connected(c)) {
		fprintf(stderr, "storaged is not running (no answer on %s/storaged.ipc within %d s)\n",
		    d->runtime_dir, CLI_WAIT_MS / 1000);
		ipc_client_close(&c);
	}
	return c;
}

static void
cli_audit(struct ipc_client *c, int timeout, int64_t uid, const char *username,
    const char *action)
{
	struct proto_audit_append_req req = {0};
	struct proto_audit_append_rep rep;
	struct proto_reply hold = {0};

	req.user_id = uid;
	req.has_user_id = true;
	req.username = username;
	req.has_username = true;
	req.action = action;
	req.resource_type = "user";
	req.details = "{\"via\":\"kubarr-authd cli\"}";
	req.has_details = true;
	req.success = true;
	proto_audit_append_call_sync(c, &req, timeout, &rep, &hold);
	proto_reply_fini(&hold);
}

static int
cli_create_admin(struct daemon *d, const struct cli_opts *o)
{
	struct proto_user_create_req req = {0};
	struct proto_user_create_rep rep;
	struct proto_reply hold = {0};
	const char *roles[] = {"admin"};
	char pw[PASSWORD_MAX_LEN + 2], hash[PASSWORD_HASH_MAX];
	struct ipc_client *c;
	enum proto_status st;
	bool generated;
	int rc = 1;

	if (cli_password(o->password_stdin, pw, sizeof(pw), &generated) != 0)
		return 1;
	if (password_hash_now(pw, hash) != PASSWORD_OK) {
		fprintf(stderr, "cannot hash the password\n");
		return 1;
	}
	if ((c = cli_storaged(d)) == NULL)
		return 1;
	req.username = o->username;
	req.email = o->email;
	req.hashed_password = hash;
	req.is_active = true;
	req.is_approved = true;
	req.roles.v = roles;
	req.roles.n = 1;
	req.has_roles = true;
	st = proto_user_create_call_sync(c, &req, d->ipc_timeout_ms, &rep, &hold);
	if (st == PROTO_OK) {
		cli_audit(c, d->ipc_timeout_ms, rep.id, rep.username, "user_created");
		printf("created admin '%s' (id %lld)\n", rep.username, (long long)rep.id);
		if (generated)
			printf("password: %s\n", pw);
		rc = 0;
	} else {
		fprintf(stderr, "cannot create the admin: %s%s%s\n", proto_status_name(st),
		    hold.detail ? ": " : "", hold.detail ? hold.detail : "");
	}
	proto_reply_fini(&hold);
	sodium_memzero(pw, sizeof(pw));
	ipc_client_close(&c);
	return rc;
}

static int
cli_reset_password(struct daemon *d, const struct cli_opts *o)
{
	struct proto_user_get_req gq = {0};
	struct proto_user_get_rep u;
	struct proto_user_set_password_req sq = {0};
	struct proto_user_set_password_rep sr;
	struct proto_session_delete_user_req dq = {0};
	struct proto_session_delete_user_rep dr;
	struct proto_reply h1 = {0}, h2 = {0}, h3 = {0};
	char pw[PASSWORD_MAX_LEN + 2], hash[PASSWORD_HASH_MAX];
	struct ipc_client *c;
	enum proto_status st;
	bool generated;
	int rc = 1;

	if (cli_password(o->password_stdin, pw, sizeof(pw), &generated) != 0)
		return 1;
	if (password_hash_now(pw, hash) != PASSWORD_OK) {
		fprintf(stderr, "cannot hash the password\n");
		return 1;
	}
	if ((c = cli_storaged(d)) == NULL)
		return 1;
	gq.username = o->username;
	gq.has_username = true;
	st = proto_user_get_call_sync(c, &gq, d->ipc_timeout_ms, &u, &h1);
	if (st != PROTO_OK) {
		fprintf(stderr, "no user '%s' (%s)\n", o->username, proto_status_name(st));
		goto out;
	}
	sq.id = u.id;
	sq.hashed_password = hash;
	if ((st = proto_user_set_password_call_sync(c, &sq, d->ipc_timeout_ms, &sr, &h2)) != PROTO_OK) {
		fprintf(stderr, "cannot set the password: %s\n", proto_status_name(st));
		goto out;
	}
	dq.user_id = u.id;
	proto_session_delete_user_call_sync(c, &dq, d->ipc_timeout_ms, &dr, &h3);
	if (o->disable_2fa) {
		struct proto_user_set_totp_req tq = {.id = u.id, .totp_enabled = false, .clear = true,
		    .has_clear = true};
		struct proto_user_set_totp_rep tr;
		struct proto_reply h4 = {0};

		st = proto_user_set_totp_call_sync(c, &tq, d->ipc_timeout_ms, &tr, &h4);
		proto_reply_fini(&h4);
		if (st != PROTO_OK) {
			fprintf(stderr, "password set, but 2FA not disabled: %s\n", proto_status_name(st));
			goto out;
		}
		cli_audit(c, d->ipc_timeout_ms, u.id, u.username, "2fa_disabled");
	}
	cli_audit(c, d->ipc_timeout_ms, u.id, u.username, "password_changed");
	printf("password of '%s' reset; every session ended%s\n", u.username,
	    o->disable_2fa ? "; 2FA disabled" : "");
	if (generated)
		printf("password: %s\n", pw);
	rc = 0;
out:
	proto_reply_fini(&h1);
	proto_reply_fini(&h2);
	proto_reply_fini(&h3);
	sodium_memzero(pw, sizeof(pw));
	ipc_client_close(&c);
	return rc;
}

int
cli_command(struct daemon *d, int argc, char **argv)
{
	bool create = strcmp(argv[0], "create-admin") == 0;
	struct cli_opts o;
	int rc;

	if (!create && strcmp(argv[0], "reset-password") != 0)
		return -1;
	if ((rc = cli_parse(argc, argv, create, &o)) != 0) {
		if (rc < 0)
			fprintf(stderr, "usage:\n%s", cli_commands_help);
		return rc < 0 ? 2 : 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "libsodium cannot start\n");
		return 1;
	}
	rc = create ? cli_create_admin(d, &o) : cli_reset_password(d, &o);
	ipc_fini();
	return rc;
}
