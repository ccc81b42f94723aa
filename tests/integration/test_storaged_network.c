/* storaged's network family (ops 500-599) through its socket, with the real
 * daemons (one harness for the group): VPN providers, app VPN configs and
 * Cloudflare tunnels.  Every reply field by field, typed errors naming their
 * field, nothing written on a failed write (row counts in the database file),
 * secrets absent from the raw bytes of every list/get reply and returned only
 * by the *_SECRET ops, the delete-in-use refusal and the forced cascade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"

#define T_TIMEOUT 3000
#define T_CRED "{\"private_key\":\"WG-SECRET-KEY-1\",\"addresses\":\"10.2.0.2/32\"}"
#define T_CRED2 "{\"user\":\"u\",\"password\":\"OVPN-SECRET-PW-2\"}"
#define T_TTOKEN "CF-TUNNEL-SECRET-TOKEN"
#define T_ATOKEN "CF-API-SECRET-TOKEN"

struct fx {
	struct harness *h;
	struct ipc_client *c;
	char db[256];
};

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char url[300];
	char *err = NULL;
	long until;

	*state = f;
	if (harness_start(&f->h) < 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/kubarr.db", harness_data_dir(f->h));
	snprintf(url, sizeof(url), "ipc://%s/storaged.ipc", harness_runtime_dir(f->h));
	if (ipc_client_open(&f->c, url, 0, &err) != 0)
		return -1;
	until = harness_now_ms() + 3000;
	while (!ipc_client_connected(f->c) && harness_now_ms() < until)
		usleep(2000);
	return ipc_client_connected(f->c) ? 0 : -1;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;
	int rc = 0;

	ipc_client_close(&f->c);
	if (f->h != NULL && harness_finish(f->h) < 0)
		rc = -1;
	harness_free(&f->h);
	free(f);
	return rc;
}

static long long
db_scalar(struct fx *f, const char *fmt, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 3000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
db_text(struct fx *f, char *out, size_t len, const char *fmt, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 3000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(out, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
expect_error(struct proto_reply *hold, enum proto_status got, enum proto_status want,
    const char *field, const char *detail)
{
	struct proto_error e;
	const char *err = NULL;

	assert_int_equal(got, want);
	assert_int_equal(proto_error_decode(&hold->env, &e, &err), 0);
	if (field != NULL) {
		assert_true(e.has_field);
		assert_string_equal(e.field, field);
	}
	if (detail != NULL)
		assert_string_equal(e.detail, detail);
	proto_reply_fini(hold);
}

#define CALL(op, req, rep) proto_##op##_call_sync(f->c, &(req), T_TIMEOUT, &(rep), &hold)

/* Sends msg and asserts that none of the needles is in the reply's bytes. */
static void
assert_no_secret(struct fx *f, nng_msg *msg, const char *const *needles, size_t n)
{
	nng_msg *raw = NULL;

	assert_int_equal(ipc_client_call_sync(f->c, msg, T_TIMEOUT, &raw), IPC_OK);
	assert_true(nng_msg_len(raw) > 10);
	for (size_t i = 0; i < n; i++)
		assert_null(memmem(nng_msg_body(raw), nng_msg_len(raw), needles[i], strlen(needles[i])));
	nng_msg_free(raw);
}

static long long
rows(struct fx *f, const char *table)
{
	return db_scalar(f, "SELECT COUNT(*) FROM %s", table);
}

/* ---- VPN providers ------------------------------------------------------ */

static int64_t g_wg, g_ovpn;

static void
test_provider_create_get_list(void **state)
{
	struct fx *f = *state;
	struct proto_vpn_provider_create_req cr = {.name = "Mullvad WG", .vpn_type = "wireguard",
	    .has_service_provider = true, .service_provider = "mullvad", .credentials_json = T_CRED};
	struct proto_vpn_provider_create_rep crep;
	struct proto_vpn_provider_get_req gr;
	struct proto_vpn_provider_get_rep grep;
	struct proto_vpn_provider_list_req lr = {0};
	struct proto_vpn_provider_list_rep lrep;
	struct proto_reply hold;
	static const char *const secrets[] = {"WG-SECRET", "OVPN-SECRET", "private_key", "password"};
	char buf[256];

	assert_int_equal(CALL(vpn_provider_create, cr, crep), PROTO_OK);
	g_wg = crep.id;
	assert_true(crep.id > 0);
	assert_string_equal(crep.name, "Mullvad WG");
	assert_string_equal(crep.vpn_type, "wireguard");
	assert_true(crep.has_service_provider);
	assert_string_equal(crep.service_provider, "mullvad");
	assert_true(crep.enabled);
	assert_true(crep.kill_switch);
	assert_string_equal(crep.firewall_outbound_subnets, "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16");
	assert_true(crep.has_credentials);
	assert_int_equal(crep.app_count, 0);
	assert_int_equal(strlen(crep.created_at), 24);
	assert_string_equal(crep.updated_at, crep.created_at);
	proto_reply_fini(&hold);
	db_text(f, buf, sizeof(buf), "SELECT credentials_json FROM vpn_providers WHERE id = %lld",
	    (long long)g_wg);
	assert_string_equal(buf, T_CRED);

	cr = (struct proto_vpn_provider_create_req){.name = "Custom OVPN", .vpn_type = "openvpn",
	    .credentials_json = "{}", .has_enabled = true, .enabled = false, .has_kill_switch = true,
	    .kill_switch = false, .has_firewall_outbound_subnets = true,
	    .firewall_outbound_subnets = "192.168.1.0/24,fd00::/8"};
	assert_int_equal(CALL(vpn_provider_create, cr, crep), PROTO_OK);
	g_ovpn = crep.id;
	assert_true(g_ovpn > g_wg);
	assert_false(crep.has_service_provider);
	assert_false(crep.enabled);
	assert_false(crep.kill_switch);
	assert_string_equal(crep.firewall_outbound_subnets, "192.168.1.0/24,fd00::/8");
	assert_false(crep.has_credentials); /* an empty object */
	proto_reply_fini(&hold);

	gr.id = g_wg;
	assert_int_equal(CALL(vpn_provider_get, gr, grep), PROTO_OK);
	assert_int_equal(grep.id, g_wg);
	assert_string_equal(grep.name, "Mullvad WG");
	assert_string_equal(grep.service_provider, "mullvad");
	assert_true(grep.has_credentials);
	assert_int_equal(grep.app_count, 0);
	proto_reply_fini(&hold);

	assert_int_equal(CALL(vpn_provider_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.providers.n, 2);
	assert_int_equal(lrep.providers.v[0].id, g_wg);
	assert_string_equal(lrep.providers.v[0].vpn_type, "wireguard");
	assert_true(lrep.providers.v[0].has_credentials);
	assert_int_equal(lrep.providers.v[1].id, g_ovpn);
	assert_string_equal(lrep.providers.v[1].name, "Custom OVPN");
	assert_false(lrep.providers.v[1].enabled);
	assert_false(lrep.providers.v[1].has_credentials);
	proto_reply_fini(&hold);

	/* no credential byte in any list/get reply */
	assert_no_secret(f, proto_vpn_provider_list_req_msg(proto_next_req_id(), &lr), secrets, 4);
	assert_no_secret(f, proto_vpn_provider_get_req_msg(proto_next_req_id(), &gr), secrets, 4);

	gr.id = 999999;
	expect_error(&hold, CALL(vpn_provider_get, gr, grep), PROTO_NOT_FOUND, "id", NULL);
}

static void
test_provider_errors(void **state)
{
	struct fx *f = *state;
	struct proto_vpn_provider_create_req ok = {.name = "x", .vpn_type = "openvpn",
	    .credentials_json = T_CRED2};
	struct proto_vpn_provider_create_req cr;
	struct proto_vpn_provider_create_rep crep;
	struct proto_reply hold;
	char longname[300];
	long long before = rows(f, "vpn_providers");
	static const char *const bad_subnets[] = {"", "10.0.0.0", "10.0.0.0/33", "fd00::/129",
	    "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8, 172.16.0.0/12", "10.0.0.256/8", "host/8",
	    "10.0.0.0/-1", "10.0.0.0/8x"};
	static const char *const bad_json[] = {"", "[]", "\"s\"", "42", "{", "{\"a\":}", "null"};

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr = ok;
	cr.name = "";
	expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST, "name", NULL);
	cr.name = longname;
	expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST, "name", NULL);
	cr = ok;
	cr.vpn_type = "ipsec";
	expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST, "vpn_type", NULL);
	cr = ok;
	cr.has_service_provider = true;
	cr.service_provider = "";
	expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST, "service_provider",
	    NULL);
	cr.service_provider = "Bad Provider";
	expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST, "service_provider",
	    NULL);
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		cr = ok;
		cr.credentials_json = bad_json[i];
		expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST,
		    "credentials_json", NULL);
	}
	for (size_t i = 0; i < sizeof(bad_subnets) / sizeof(bad_subnets[0]); i++) {
		cr = ok;
		cr.has_firewall_outbound_subnets = true;
		cr.firewall_outbound_subnets = bad_subnets[i];
		expect_error(&hold, CALL(vpn_provider_create, cr, crep), PROTO_BAD_REQUEST,
		    "firewall_outbound_subnets", NULL);
	}
	assert_int_equal(rows(f, "vpn_providers"), before);
}

static void
test_provider_update_secret(void **state)
{
	struct fx *f = *state;
	struct proto_vpn_provider_update_req ur = {.id = g_wg, .has_name = true, .name = "Renamed",
	    .has_kill_switch = true, .kill_switch = false};
	struct proto_vpn_provider_update_rep urep;
	struct proto_vpn_provider_secret_req sr = {.id = g_wg};
	struct proto_vpn_provider_secret_rep srep;
	struct proto_reply hold;
	char before[64], buf[256];

	db_text(f, before, sizeof(before), "SELECT updated_at FROM vpn_providers WHERE id = %lld",
	    (long long)g_wg);
	usleep(5000);
	/* credentials kept when not given */
	assert_int_equal(CALL(vpn_provider_update, ur, urep), PROTO_OK);
	assert_int_equal(urep.id, g_wg);
	assert_string_equal(urep.name, "Renamed");
	assert_false(urep.kill_switch);
	assert_true(urep.enabled);
	assert_string_equal(urep.vpn_type, "wireguard");
	assert_string_equal(urep.service_provider, "mullvad");
	assert_true(urep.has_credentials);
	assert_true(strcmp(urep.updated_at, before) > 0);
	assert_string_not_equal(urep.created_at, urep.updated_at);
	proto_reply_fini(&hold);
	db_text(f, buf, sizeof(buf), "SELECT credentials_json FROM vpn_providers WHERE id = %lld",
	    (long long)g_wg);
	assert_string_equal(buf, T_CRED);

	assert_int_equal(CALL(vpn_provider_secret, sr, srep), PROTO_OK);
	assert_int_equal(srep.id, g_wg);
	assert_string_equal(srep.credentials_json, T_CRED);
	proto_reply_fini(&hold);

	/* replaced when given; service_provider "" clears; type and subnets change */
	ur = (struct proto_vpn_provider_update_req){.id = g_wg, .has_credentials_json = true,
	    .credentials_json = T_CRED2, .has_service_provider = true, .service_provider = "",
	    .has_vpn_type = true, .vpn_type = "openvpn", .has_firewall_outbound_subnets = true,
	    .firewall_outbound_subnets = "10.1.0.0/16", .has_enabled = true, .enabled = false};
	assert_int_equal(CALL(vpn_provider_update, ur, urep), PROTO_OK);
	assert_string_equal(urep.name, "Renamed");
	assert_false(urep.has_service_provider);
	assert_string_equal(urep.vpn_type, "openvpn");
	assert_string_equal(urep.firewall_outbound_subnets, "10.1.0.0/16");
	assert_false(urep.enabled);
	assert_false(urep.kill_switch);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(vpn_provider_secret, sr, srep), PROTO_OK);
	assert_string_equal(srep.credentials_json, T_CRED2);
	proto_reply_fini(&hold);

	/* errors: nothing changes */
	db_text(f, before, sizeof(before), "SELECT updated_at FROM vpn_providers WHERE id = %lld",
	    (long long)g_wg);
	ur = (struct proto_vpn_provider_update_req){.id = g_wg, .has_name = true, .name = "Ok",
	    .has_credentials_json = true, .credentials_json = "[1]"};
	expect_error(&hold, CALL(vpn_provider_update, ur, urep), PROTO_BAD_REQUEST, "credentials_json",
	    NULL);
	ur = (struct proto_vpn_provider_update_req){.id = g_wg, .has_name = true, .name = ""};
	expect_error(&hold, CALL(vpn_provider_update, ur, urep), PROTO_BAD_REQUEST, "name", NULL);
	ur = (struct proto_vpn_provider_update_req){.id = g_wg, .has_vpn_type = true, .vpn_type = "x"};
	expect_error(&hold, CALL(vpn_provider_update, ur, urep), PROTO_BAD_REQUEST, "vpn_type", NULL);
	ur = (struct proto_vpn_provider_update_req){.id = g_wg, .has_firewall_outbound_subnets = true,
	    .firewall_outbound_subnets = "10.0.0.0/8;"};
	expect_error(&hold, CALL(vpn_provider_update, ur, urep), PROTO_BAD_REQUEST,
	    "firewall_outbound_subnets", NULL);
	ur = (struct proto_vpn_provider_update_req){.id = 999999, .has_name = true, .name = "n"};
	expect_error(&hold, CALL(vpn_provider_update, ur, urep), PROTO_NOT_FOUND, "id", NULL);
	db_text(f, buf, sizeof(buf), "SELECT updated_at || name FROM vpn_providers WHERE id = %lld",
	    (long long)g_wg);
	assert_true(strncmp(buf, before, 24) == 0);
	assert_string_equal(buf + 24, "Renamed");
	sr.id = 999999;
	expect_error(&hold, CALL(vpn_provider_secret, sr, srep), PROTO_NOT_FOUND, "id", NULL);
}

/* ---- app VPN configs ---------------------------------------------------- */

static void
test_app_vpn(void **state)
{
	struct fx *f = *state;
	struct proto_app_vpn_set_req sr = {.app_name = "qbittorrent", .vpn_provider_id = g_ovpn,
	    .has_port_forwarding = true, .port_forwarding = true};
	struct proto_app_vpn_set_rep srep;
	struct proto_app_vpn_get_req gr = {.app_name = "qbittorrent"};
	struct proto_app_vpn_get_rep grep;
	struct proto_app_vpn_list_req lr = {0};
	struct proto_app_vpn_list_rep lrep;
	struct proto_app_vpn_delete_req dr;
	struct proto_app_vpn_delete_rep drep;
	struct proto_vpn_provider_get_req pg = {.id = g_ovpn};
	struct proto_vpn_provider_get_rep pgrep;
	struct proto_reply hold;
	static const char *const secrets[] = {"OVPN-SECRET", "WG-SECRET"};
	long long before;
	char created[32];

	/* g_ovpn has kill_switch false: no override follows it */
	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.app_name, "qbittorrent");
	assert_int_equal(srep.vpn_provider_id, g_ovpn);
	assert_string_equal(srep.provider_name, "Custom OVPN");
	assert_false(srep.has_kill_switch_override);
	assert_false(srep.effective_kill_switch);
	assert_true(srep.port_forwarding);
	assert_int_equal(strlen(srep.created_at), 24);
	assert_string_equal(srep.updated_at, srep.created_at);
	snprintf(created, sizeof(created), "%s", srep.created_at);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT kill_switch_override IS NULL FROM app_vpn_configs"
				      " WHERE app_name = 'qbittorrent'"), 1);

	/* replace: override true, port_forwarding absent is kept */
	usleep(5000);
	sr = (struct proto_app_vpn_set_req){.app_name = "qbittorrent", .vpn_provider_id = g_ovpn,
	    .has_kill_switch_override = true, .kill_switch_override = true};
	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	assert_true(srep.has_kill_switch_override);
	assert_true(srep.kill_switch_override);
	assert_true(srep.effective_kill_switch);
	assert_true(srep.port_forwarding);
	assert_string_equal(srep.created_at, created);
	assert_true(strcmp(srep.updated_at, created) > 0);
	proto_reply_fini(&hold);

	/* a second app, new: port_forwarding false, override false */
	sr = (struct proto_app_vpn_set_req){.app_name = "deluge", .vpn_provider_id = g_ovpn,
	    .has_kill_switch_override = true, .kill_switch_override = false};
	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	assert_true(srep.has_kill_switch_override);
	assert_false(srep.kill_switch_override);
	assert_false(srep.effective_kill_switch);
	assert_false(srep.port_forwarding);
	proto_reply_fini(&hold);
	/* back to NULL (tri-state): absent override clears it */
	sr.has_kill_switch_override = false;
	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	assert_false(srep.has_kill_switch_override);
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT kill_switch_override IS NULL FROM app_vpn_configs"
				      " WHERE app_name = 'deluge'"), 1);

	assert_int_equal(CALL(app_vpn_get, gr, grep), PROTO_OK);
	assert_string_equal(grep.app_name, "qbittorrent");
	assert_int_equal(grep.vpn_provider_id, g_ovpn);
	assert_string_equal(grep.provider_name, "Custom OVPN");
	assert_true(grep.kill_switch_override);
	assert_true(grep.port_forwarding);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(app_vpn_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.configs.n, 2);
	assert_string_equal(lrep.configs.v[0].app_name, "deluge");
	assert_string_equal(lrep.configs.v[1].app_name, "qbittorrent");
	assert_int_equal(lrep.configs.v[1].vpn_provider_id, g_ovpn);
	proto_reply_fini(&hold);
	assert_no_secret(f, proto_app_vpn_list_req_msg(proto_next_req_id(), &lr), secrets, 2);
	assert_no_secret(f, proto_app_vpn_get_req_msg(proto_next_req_id(), &gr), secrets, 2);

	assert_int_equal(CALL(vpn_provider_get, pg, pgrep), PROTO_OK);
	assert_int_equal(pgrep.app_count, 2);
	proto_reply_fini(&hold);

	/* errors: nothing written */
	before = rows(f, "app_vpn_configs");
	sr = (struct proto_app_vpn_set_req){.app_name = "sonarr", .vpn_provider_id = 999999};
	expect_error(&hold, CALL(app_vpn_set, sr, srep), PROTO_NOT_FOUND, "vpn_provider_id", NULL);
	sr.vpn_provider_id = g_ovpn;
	sr.app_name = "Sonarr";
	expect_error(&hold, CALL(app_vpn_set, sr, srep), PROTO_BAD_REQUEST, "app_name", NULL);
	sr.app_name = "";
	expect_error(&hold, CALL(app_vpn_set, sr, srep), PROTO_BAD_REQUEST, "app_name", NULL);
	sr.app_name = "a_b";
	expect_error(&hold, CALL(app_vpn_set, sr, srep), PROTO_BAD_REQUEST, "app_name", NULL);
	sr.app_name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 64 */
	expect_error(&hold, CALL(app_vpn_set, sr, srep), PROTO_BAD_REQUEST, "app_name", NULL);
	/* an existing app moved to an unknown provider stays as it was */
	sr = (struct proto_app_vpn_set_req){.app_name = "qbittorrent", .vpn_provider_id = 999999};
	expect_error(&hold, CALL(app_vpn_set, sr, srep), PROTO_NOT_FOUND, "vpn_provider_id", NULL);
	assert_int_equal(db_scalar(f, "SELECT vpn_provider_id FROM app_vpn_configs"
				      " WHERE app_name = 'qbittorrent'"), g_ovpn);
	assert_int_equal(rows(f, "app_vpn_configs"), before);
	gr.app_name = "sonarr";
	expect_error(&hold, CALL(app_vpn_get, gr, grep), PROTO_NOT_FOUND, "app_name", NULL);
	gr.app_name = "../x";
	expect_error(&hold, CALL(app_vpn_get, gr, grep), PROTO_BAD_REQUEST, "app_name", NULL);
	dr.app_name = "sonarr";
	expect_error(&hold, CALL(app_vpn_delete, dr, drep), PROTO_NOT_FOUND, "app_name", NULL);
	dr.app_name = "BAD";
	expect_error(&hold, CALL(app_vpn_delete, dr, drep), PROTO_BAD_REQUEST, "app_name", NULL);

	/* delete one; move deluge to g_wg, then put qbittorrent back */
	dr.app_name = "qbittorrent";
	assert_int_equal(CALL(app_vpn_delete, dr, drep), PROTO_OK);
	assert_string_equal(drep.app_name, "qbittorrent");
	assert_int_equal(drep.vpn_provider_id, g_ovpn);
	proto_reply_fini(&hold);
	assert_int_equal(rows(f, "app_vpn_configs"), before - 1);
	expect_error(&hold, CALL(app_vpn_delete, dr, drep), PROTO_NOT_FOUND, "app_name", NULL);
	sr = (struct proto_app_vpn_set_req){.app_name = "deluge", .vpn_provider_id = g_wg};
	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	assert_string_equal(srep.provider_name, "Renamed");
	assert_false(srep.effective_kill_switch); /* g_wg's kill_switch was turned off */
	proto_reply_fini(&hold);
}

static void
test_provider_delete(void **state)
{
	struct fx *f = *state;
	struct proto_app_vpn_set_req sr = {.app_name = "transmission", .vpn_provider_id = g_wg};
	struct proto_app_vpn_set_rep srep;
	struct proto_vpn_provider_delete_req dr = {.id = g_wg};
	struct proto_vpn_provider_delete_rep drep;
	struct proto_vpn_provider_create_req cr = {.name = "tmp", .vpn_type = "wireguard",
	    .credentials_json = "{\"k\":1}"};
	struct proto_vpn_provider_create_rep crep;
	struct proto_reply hold;
	long long np, na;

	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	proto_reply_fini(&hold);
	np = rows(f, "vpn_providers");
	na = rows(f, "app_vpn_configs");
	/* in use by deluge and transmission: refused, nothing deleted */
	expect_error(&hold, CALL(vpn_provider_delete, dr, drep), PROTO_CONFLICT, "id",
	    "VPN provider is used by 2 apps");
	dr.has_force = true;
	dr.force = false;
	expect_error(&hold, CALL(vpn_provider_delete, dr, drep), PROTO_CONFLICT, "id", NULL);
	assert_int_equal(rows(f, "vpn_providers"), np);
	assert_int_equal(rows(f, "app_vpn_configs"), na);

	/* forced: the schema's cascade removes the configs; the reply names them */
	dr.force = true;
	assert_int_equal(CALL(vpn_provider_delete, dr, drep), PROTO_OK);
	assert_int_equal(drep.id, g_wg);
	assert_int_equal(drep.apps.n, 2);
	assert_string_equal(drep.apps.v[0], "deluge");
	assert_string_equal(drep.apps.v[1], "transmission");
	proto_reply_fini(&hold);
	assert_int_equal(rows(f, "vpn_providers"), np - 1);
	assert_int_equal(rows(f, "app_vpn_configs"), na - 2);
	assert_int_equal(db_scalar(f, "SELECT COUNT(*) FROM app_vpn_configs WHERE vpn_provider_id = %lld",
			     (long long)g_wg), 0);
	expect_error(&hold, CALL(vpn_provider_delete, dr, drep), PROTO_NOT_FOUND, "id", NULL);

	/* unused: deleted without force, no apps */
	assert_int_equal(CALL(vpn_provider_create, cr, crep), PROTO_OK);
	dr = (struct proto_vpn_provider_delete_req){.id = crep.id};
	proto_reply_fini(&hold);
	assert_int_equal(CALL(vpn_provider_delete, dr, drep), PROTO_OK);
	assert_int_equal(drep.apps.n, 0);
	proto_reply_fini(&hold);
	/* a single user: singular detail */
	sr = (struct proto_app_vpn_set_req){.app_name = "sabnzbd", .vpn_provider_id = g_ovpn};
	assert_int_equal(CALL(app_vpn_set, sr, srep), PROTO_OK);
	proto_reply_fini(&hold);
	dr = (struct proto_vpn_provider_delete_req){.id = g_ovpn};
	expect_error(&hold, CALL(vpn_provider_delete, dr, drep), PROTO_CONFLICT, "id",
	    "VPN provider is used by 1 app");
	assert_int_equal(rows(f, "vpn_providers"), np - 1);
}

/* ---- Cloudflare tunnels ------------------------------------------------- */

static void
test_cloudflare(void **state)
{
	struct fx *f = *state;
	struct proto_cloudflare_tunnel_create_req cr = {.name = "home", .tunnel_token = T_TTOKEN,
	    .has_api_token = true, .api_token = T_ATOKEN, .has_account_id = true, .account_id = "acc1",
	    .has_zone_id = true, .zone_id = "z1", .has_zone_name = true, .zone_name = "example.com",
	    .has_subdomain = true, .subdomain = "kubarr"};
	struct proto_cloudflare_tunnel_create_rep crep;
	struct proto_cloudflare_tunnel_get_req gr;
	struct proto_cloudflare_tunnel_get_rep grep;
	struct proto_cloudflare_tunnel_list_req lr = {0};
	struct proto_cloudflare_tunnel_list_rep lrep;
	struct proto_cloudflare_tunnel_update_req ur;
	struct proto_cloudflare_tunnel_update_rep urep;
	struct proto_cloudflare_tunnel_secret_req sr;
	struct proto_cloudflare_tunnel_secret_rep srep;
	struct proto_cloudflare_tunnel_delete_req dr;
	struct proto_cloudflare_tunnel_delete_rep drep;
	struct proto_reply hold;
	static const char *const secrets[] = {"CF-TUNNEL-SECRET", "CF-API-SECRET", "NEW-TOKEN"};
	int64_t id, id2;
	long long before;
	char buf[128];

	assert_int_equal(CALL(cloudflare_tunnel_create, cr, crep), PROTO_OK);
	id = crep.id;
	assert_true(id > 0);
	assert_string_equal(crep.name, "home");
	assert_string_equal(crep.status, "not_deployed");
	assert_false(crep.has_error);
	assert_int_equal(strlen(crep.created_at), 24);
	assert_string_equal(crep.updated_at, crep.created_at);
	assert_string_equal(crep.account_id, "acc1");
	assert_false(crep.has_tunnel_id);
	assert_string_equal(crep.zone_id, "z1");
	assert_string_equal(crep.zone_name, "example.com");
	assert_string_equal(crep.subdomain, "kubarr");
	assert_false(crep.has_dns_record_id);
	assert_false(crep.has_hostname);
	assert_true(crep.has_tunnel_token);
	assert_true(crep.has_api_token);
	proto_reply_fini(&hold);

	cr = (struct proto_cloudflare_tunnel_create_req){.name = "bare", .tunnel_token = "t2"};
	assert_int_equal(CALL(cloudflare_tunnel_create, cr, crep), PROTO_OK);
	id2 = crep.id;
	assert_false(crep.has_api_token);
	assert_false(crep.has_account_id);
	assert_false(crep.has_zone_id);
	assert_false(crep.has_zone_name);
	assert_false(crep.has_subdomain);
	proto_reply_fini(&hold);

	gr.id = id;
	assert_int_equal(CALL(cloudflare_tunnel_get, gr, grep), PROTO_OK);
	assert_int_equal(grep.id, id);
	assert_string_equal(grep.zone_name, "example.com");
	assert_true(grep.has_tunnel_token);
	assert_true(grep.has_api_token);
	proto_reply_fini(&hold);
	assert_int_equal(CALL(cloudflare_tunnel_list, lr, lrep), PROTO_OK);
	assert_int_equal(lrep.tunnels.n, 2);
	assert_int_equal(lrep.tunnels.v[0].id, id);
	assert_int_equal(lrep.tunnels.v[1].id, id2);
	assert_string_equal(lrep.tunnels.v[1].name, "bare");
	assert_false(lrep.tunnels.v[1].has_api_token);
	proto_reply_fini(&hold);
	assert_no_secret(f, proto_cloudflare_tunnel_list_req_msg(proto_next_req_id(), &lr), secrets, 3);
	assert_no_secret(f, proto_cloudflare_tunnel_get_req_msg(proto_next_req_id(), &gr), secrets, 3);

	/* the deploy code's progress: ids learned, status with error */
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_status = true,
	    .status = "failed", .has_error = true, .error = "helm timed out", .has_tunnel_id = true,
	    .tunnel_id = "tun-1", .has_dns_record_id = true, .dns_record_id = "dns-1",
	    .has_hostname = true, .hostname = "kubarr.example.com"};
	assert_int_equal(CALL(cloudflare_tunnel_update, ur, urep), PROTO_OK);
	assert_string_equal(urep.status, "failed");
	assert_string_equal(urep.error, "helm timed out");
	assert_string_equal(urep.tunnel_id, "tun-1");
	assert_string_equal(urep.dns_record_id, "dns-1");
	assert_string_equal(urep.hostname, "kubarr.example.com");
	assert_string_equal(urep.account_id, "acc1");
	assert_string_equal(urep.name, "home");
	assert_true(urep.has_api_token);
	proto_reply_fini(&hold);
	/* a field update without status keeps the error */
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_name = true, .name = "home2"};
	assert_int_equal(CALL(cloudflare_tunnel_update, ur, urep), PROTO_OK);
	assert_string_equal(urep.name, "home2");
	assert_true(urep.has_error);
	proto_reply_fini(&hold);
	/* a status change without error clears it; "" clears a field; tokens replaced/cleared */
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_status = true,
	    .status = "deploying", .has_subdomain = true, .subdomain = "", .has_tunnel_token = true,
	    .tunnel_token = "NEW-TOKEN", .has_api_token = true, .api_token = ""};
	assert_int_equal(CALL(cloudflare_tunnel_update, ur, urep), PROTO_OK);
	assert_string_equal(urep.status, "deploying");
	assert_false(urep.has_error);
	assert_false(urep.has_subdomain);
	assert_true(urep.has_tunnel_token);
	assert_false(urep.has_api_token);
	assert_string_equal(urep.hostname, "kubarr.example.com");
	proto_reply_fini(&hold);
	assert_int_equal(db_scalar(f, "SELECT api_token IS NULL AND error IS NULL FROM"
				      " cloudflare_tunnels WHERE id = %lld", (long long)id), 1);
	assert_no_secret(f, proto_cloudflare_tunnel_get_req_msg(proto_next_req_id(), &gr), secrets, 3);

	sr.id = id;
	assert_int_equal(CALL(cloudflare_tunnel_secret, sr, srep), PROTO_OK);
	assert_int_equal(srep.id, id);
	assert_string_equal(srep.tunnel_token, "NEW-TOKEN");
	assert_false(srep.has_api_token);
	proto_reply_fini(&hold);
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_api_token = true,
	    .api_token = T_ATOKEN};
	assert_int_equal(CALL(cloudflare_tunnel_update, ur, urep), PROTO_OK);
	assert_string_equal(urep.status, "deploying");
	proto_reply_fini(&hold);
	assert_int_equal(CALL(cloudflare_tunnel_secret, sr, srep), PROTO_OK);
	assert_string_equal(srep.tunnel_token, "NEW-TOKEN");
	assert_true(srep.has_api_token);
	assert_string_equal(srep.api_token, T_ATOKEN);
	proto_reply_fini(&hold);

	/* errors: nothing written */
	before = rows(f, "cloudflare_tunnels");
	db_text(f, buf, sizeof(buf), "SELECT updated_at FROM cloudflare_tunnels WHERE id = %lld",
	    (long long)id);
	cr = (struct proto_cloudflare_tunnel_create_req){.name = "", .tunnel_token = "t"};
	expect_error(&hold, CALL(cloudflare_tunnel_create, cr, crep), PROTO_BAD_REQUEST, "name", NULL);
	cr = (struct proto_cloudflare_tunnel_create_req){.name = "n", .tunnel_token = ""};
	expect_error(&hold, CALL(cloudflare_tunnel_create, cr, crep), PROTO_BAD_REQUEST,
	    "tunnel_token", NULL);
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_status = true, .status = ""};
	expect_error(&hold, CALL(cloudflare_tunnel_update, ur, urep), PROTO_BAD_REQUEST, "status",
	    NULL);
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_tunnel_token = true,
	    .tunnel_token = ""};
	expect_error(&hold, CALL(cloudflare_tunnel_update, ur, urep), PROTO_BAD_REQUEST,
	    "tunnel_token", NULL);
	ur = (struct proto_cloudflare_tunnel_update_req){.id = id, .has_name = true, .name = ""};
	expect_error(&hold, CALL(cloudflare_tunnel_update, ur, urep), PROTO_BAD_REQUEST, "name", NULL);
	ur = (struct proto_cloudflare_tunnel_update_req){.id = 999999, .has_status = true,
	    .status = "x"};
	expect_error(&hold, CALL(cloudflare_tunnel_update, ur, urep), PROTO_NOT_FOUND, "id", NULL);
	gr.id = 999999;
	expect_error(&hold, CALL(cloudflare_tunnel_get, gr, grep), PROTO_NOT_FOUND, "id", NULL);
	sr.id = 999999;
	expect_error(&hold, CALL(cloudflare_tunnel_secret, sr, srep), PROTO_NOT_FOUND, "id", NULL);
	dr.id = 999999;
	expect_error(&hold, CALL(cloudflare_tunnel_delete, dr, drep), PROTO_NOT_FOUND, "id", NULL);
	assert_int_equal(rows(f, "cloudflare_tunnels"), before);
	assert_int_equal(db_scalar(f, "SELECT updated_at = '%s' AND name = 'home2' FROM"
				      " cloudflare_tunnels WHERE id = %lld", buf, (long long)id), 1);

	dr.id = id2;
	assert_int_equal(CALL(cloudflare_tunnel_delete, dr, drep), PROTO_OK);
	assert_int_equal(drep.id, id2);
	proto_reply_fini(&hold);
	assert_int_equal(rows(f, "cloudflare_tunnels"), before - 1);
	expect_error(&hold, CALL(cloudflare_tunnel_delete, dr, drep), PROTO_NOT_FOUND, "id", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_create_get_list),
		cmocka_unit_test(test_provider_errors),
		cmocka_unit_test(test_provider_update_secret),
		cmocka_unit_test(test_app_vpn),
		cmocka_unit_test(test_provider_delete),
		cmocka_unit_test(test_cloudflare),
	};
	int rc;

	log_init("test");
	log_set_level(getenv("KUBARR_LOG_LEVEL") && strcmp(getenv("KUBARR_LOG_LEVEL"), "debug") == 0 ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	ipc_fini();
	return rc;
}
