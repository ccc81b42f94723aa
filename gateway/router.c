#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "xmalloc.h"

#define C ROUTE_F_COOKIE
#define S ROUTE_F_STREAM_BODY
#define L ROUTE_F_LOOPBACK_OPEN

/* The API.  Keep it sorted by path; one line per route. */
static const struct route router_routes[] = {
	{"GET", "/api/audit", "audit.view", routes_audit_list, "audit log page with filters", 0},
	{"POST", "/api/audit/clear", "audit.manage", routes_audit_clear, "delete entries older than {days?=90}", 0},
	{"GET", "/api/audit/stats", "audit.view", routes_audit_stats, "totals, top actions, recent failures", 0},
	/* continuous backup (storaged's engine): read settings.view, act settings.manage */
	{"GET", "/api/backups/points", "settings.view", routes_backups_points, "restore points, newest first (?limit=100&before_seq)", 0},
	{"POST", "/api/backups/snapshot", "settings.manage", routes_backups_snapshot, "ask for a snapshot now: 202 {accepted}", 0},
	{"GET", "/api/backups/status", "settings.view", routes_backups_status, "state, lag, spool, uploads, last snapshot and drill", 0},
	{"POST", "/api/backups/verify", "settings.manage", routes_backups_verify, "ask for a restore drill now: 202 {accepted}", 0},
	{"GET", "/api/docs", ROUTE_PUBLIC, routes_openapi_docs, "this API as a page (renders openapi.json)", 0},
	{"GET", "/api/health", ROUTE_PUBLIC, routes_system_health_text, "liveness: text OK", 0},
	/* metrics (metricsd) */
	{"GET", "/api/monitoring/vm/app/{app}", "monitoring.view", routes_metrics_vm_app, "one app's history (?duration=)", 0},
	{"GET", "/api/monitoring/vm/apps", "monitoring.view", routes_metrics_vm_apps, "CPU, memory, network per app", 0},
	{"GET", "/api/monitoring/vm/available", "monitoring.view", routes_metrics_vm_available, "whether metrics are collected", 0},
	{"GET", "/api/monitoring/vm/cluster", "monitoring.view", routes_metrics_vm_cluster, "dashboard cards", 0},
	{"GET", "/api/monitoring/vm/cluster/metrics-history", "monitoring.view", routes_metrics_vm_metrics_history, "CPU, memory, storage, pods (?duration=)", 0},
	{"GET", "/api/monitoring/vm/cluster/network-history", "monitoring.view", routes_metrics_vm_network_history, "rx, tx, combined (?duration=)", 0},
	{"GET", "/api/networking/stats", "networking.view", routes_metrics_stats, "rates per namespace", 0},
	{"GET", "/api/networking/topology", "networking.view", routes_metrics_topology, "nodes and edges", 0},
	{"GET", "/api/networking/ws", "networking.view", routes_metrics_ws, "WebSocket: network_metrics every second", 0},
	/* notifications: own inbox and preferences; channels and events settings.*, log audit.view */
	{"GET", "/api/notifications/channels", "settings.view", routes_notify_channels, "every channel type, config masked", 0},
	{"GET", "/api/notifications/channels/{type}", "settings.view", routes_notify_channels, "one channel, config masked", 0},
	{"PUT", "/api/notifications/channels/{type}", "settings.manage", routes_notify_channel_set, "upsert {enabled?, config?}; masked values keep the stored ones", 0},
	{"POST", "/api/notifications/channels/{type}/test", "settings.manage", routes_notify_channel_test, "send a test message {destination}: {success, error?, verified}", 0},
	{"GET", "/api/notifications/events", "settings.view", routes_notify_events, "event types {event_type, enabled, severity}", 0},
	{"PUT", "/api/notifications/events/{event_type}", "settings.manage", routes_notify_event_set, "upsert {enabled?, severity?}", 0},
	{"GET", "/api/notifications/inbox", ROUTE_ANY, routes_notify_inbox, "own inbox page (?limit=20&offset&unread_only), newest first", 0},
	{"GET", "/api/notifications/inbox/count", ROUTE_ANY, routes_notify_inbox_count, "own unread count", 0},
	{"POST", "/api/notifications/inbox/read-all", ROUTE_ANY, routes_notify_inbox_read_all, "mark every own item read", 0},
	{"DELETE", "/api/notifications/inbox/{id}", ROUTE_ANY, routes_notify_inbox_delete, "delete an own item", 0},
	{"POST", "/api/notifications/inbox/{id}/read", ROUTE_ANY, routes_notify_inbox_read, "mark an own item read", 0},
	{"GET", "/api/notifications/logs", "audit.view", routes_notify_logs, "delivery log (?limit=50&offset&channel_type&status&user_id), recipients masked", 0},
	{"GET", "/api/notifications/preferences", ROUTE_ANY, routes_notify_prefs, "own channel preferences, destinations masked", 0},
	{"PUT", "/api/notifications/preferences/{type}", ROUTE_ANY, routes_notify_pref_set, "set own {enabled?, destination?}; a new destination is unverified", 0},
	{"GET", "/api/openapi.json", ROUTE_PUBLIC, routes_openapi_json, "OpenAPI 3 spec generated from this table", 0},
	{"GET", "/api/roles", "roles.view", routes_roles_list, "every role (RoleWithApps)", 0},
	{"POST", "/api/roles", "roles.manage", routes_roles_create, "create a role {name, description?, app_names[], requires_2fa?}", 0},
	{"GET", "/api/roles/permissions", "roles.view", routes_roles_catalogue, "the permission catalogue", 0},
	{"DELETE", "/api/roles/{id}", "roles.manage", routes_roles_delete, "delete a role (not a system role)", 0},
	{"GET", "/api/roles/{id}", "roles.view", routes_roles_get, "one role", 0},
	{"PATCH", "/api/roles/{id}", "roles.manage", routes_roles_update, "rename, describe, require 2FA", 0},
	{"PUT", "/api/roles/{id}/apps", "roles.manage", routes_roles_set_apps, "replace the app rows {app_names[]}", 0},
	{"GET", "/api/roles/{id}/permissions", "roles.view", routes_roles_permissions_get, "role_permissions rows", 0},
	{"PUT", "/api/roles/{id}/permissions", "roles.manage", routes_roles_set_permissions, "replace permissions {permissions[]} (app.X split)", 0},
	{"GET", "/api/settings", "settings.view", routes_settings_list, "the public settings", 0},
	{"GET", "/api/settings/{key}", "settings.view", routes_settings_get, "one public setting", 0},
	{"PUT", "/api/settings/{key}", "settings.manage", routes_settings_set, "change a public setting {value}", 0},
	/* setup (public; sealed once an admin exists, /required excepted) */
	{"POST", "/api/setup/bootstrap/retry/{component}", ROUTE_PUBLIC, routes_setup_bootstrap_retry, "check one bootstrap component again", 0},
	{"POST", "/api/setup/bootstrap/start", ROUTE_PUBLIC, routes_setup_bootstrap_start, "check database, metrics and backup", 0},
	{"GET", "/api/setup/bootstrap/status", ROUTE_PUBLIC, routes_setup_bootstrap_status, "bootstrap components and their state", 0},
	{"GET", "/api/setup/bootstrap/ws", ROUTE_PUBLIC, routes_setup_bootstrap_ws, "WebSocket: initial_status, then bootstrap events", 0},
	{"GET", "/api/setup/browse", ROUTE_PUBLIC, routes_setup_browse, "directories under the host browse prefix (?path=)", 0},
	{"GET", "/api/setup/generate-credentials", ROUTE_PUBLIC, routes_setup_generate_credentials, "a suggested admin with a random password", 0},
	{"POST", "/api/setup/initialize", ROUTE_PUBLIC, routes_setup_initialize, "create the first admin {admin_username, admin_email, admin_password}", 0},
	{"GET", "/api/setup/required", ROUTE_PUBLIC, routes_setup_required, "setup_required, database_pending (never sealed)", 0},
	{"GET", "/api/setup/server", ROUTE_PUBLIC, routes_setup_server_get, "the server config or null", 0},
	{"POST", "/api/setup/server", ROUTE_PUBLIC, routes_setup_server_post, "store {name, storage_path}", 0},
	{"GET", "/api/setup/status", ROUTE_PUBLIC, routes_setup_status, "what setup has done so far", 0},
	{"POST", "/api/setup/validate-path", ROUTE_PUBLIC, routes_setup_validate_path, "does a path exist and is it writable (?path=)", 0},
	/* media storage: the gateway resolves beneath the root and streams; storaged audits */
	{"GET", "/api/storage/browse", "storage.view", routes_storage_browse, "directory listing (?path=), dirs first", 0},
	{"DELETE", "/api/storage/delete", "storage.delete", routes_storage_delete, "a file or an empty directory (?path=)", 0},
	{"GET", "/api/storage/download", "storage.download", routes_storage_download, "file bytes (?path=), Range, HEAD, ETag", 0},
	{"GET", "/api/storage/file-info", "storage.view", routes_storage_file_info, "FileInfo of one path (?path=)", 0},
	{"POST", "/api/storage/mkdir", "storage.write", routes_storage_mkdir, "create a directory and its parents {path}", 0},
	{"GET", "/api/storage/stats", "storage.view", routes_storage_stats, "disk total, used, free (statvfs)", 0},
	{"PUT", "/api/storage/upload", "storage.write", routes_storage_upload, "streamed upload (?path=), temp file + rename", S},
	{"GET", "/api/system/health", ROUTE_PUBLIC, routes_system_health, "status, ready, setup_required", 0},
	{"GET", "/api/system/ready", ROUTE_PUBLIC, routes_system_ready, "every backend answers", 0},
	{"GET", "/api/system/version", ROUTE_PUBLIC, routes_system_version, "build information", 0},
	{"GET", "/api/users", "users.view", routes_users_list, "a page of users (?skip=&limit=)", 0},
	{"POST", "/api/users", "users.manage", routes_users_create, "create a user {username, email, password, role_ids[]}", 0},
	{"GET", "/api/users/invites", "users.manage", routes_invites_list, "every invite", 0},
	{"POST", "/api/users/invites", "users.manage", routes_invites_create, "create an invite {expires_in_days?=7}", 0},
	{"DELETE", "/api/users/invites/{id}", "users.manage", routes_invites_delete, "delete an invite", 0},
	{"DELETE", "/api/users/me", ROUTE_ANY, routes_users_me_delete, "delete own account {password}; not the last admin", 0},
	{"GET", "/api/users/me", ROUTE_ANY, routes_users_me, "the signed-in user (UserResponse)", 0},
	{"PATCH", "/api/users/me", ROUTE_ANY, routes_users_me_update, "change own email {email?}", 0},
	{"POST", "/api/users/me/2fa/disable", ROUTE_ANY, routes_2fa_disable, "turn TOTP off {password}", 0},
	{"POST", "/api/users/me/2fa/enable", ROUTE_ANY, routes_2fa_enable, "turn TOTP on {code}; 8 recovery codes", 0},
	{"GET", "/api/users/me/2fa/recovery-codes", ROUTE_ANY, routes_2fa_codes, "unused recovery codes left", 0},
	{"POST", "/api/users/me/2fa/setup", ROUTE_ANY, routes_2fa_setup, "new TOTP secret and otpauth URI", 0},
	{"GET", "/api/users/me/2fa/status", ROUTE_ANY, routes_2fa_status, "TOTP state", 0},
	{"PATCH", "/api/users/me/password", ROUTE_ANY, routes_users_me_password, "change own password; ends other sessions", 0},
	{"GET", "/api/users/me/preferences", ROUTE_ANY, routes_users_prefs_get, "own preferences {theme}", 0},
	{"PATCH", "/api/users/me/preferences", ROUTE_ANY, routes_users_prefs_set, "set own theme {theme}", 0},
	{"GET", "/api/users/pending", "users.view", routes_users_pending, "users awaiting approval", 0},
	{"DELETE", "/api/users/{id}", "users.manage", routes_users_delete, "delete a user (not oneself)", 0},
	{"GET", "/api/users/{id}", "users.view", routes_users_get, "one user (UserResponse)", 0},
	{"PATCH", "/api/users/{id}", "users.manage", routes_users_update, "change {email?, is_active?, is_approved?, role_ids?}", 0},
	{"POST", "/api/users/{id}/approve", "users.manage", routes_users_approve, "approve and activate", 0},
	{"PATCH", "/api/users/{id}/password", "users.reset_password", routes_users_password_reset, "set a user's password; ends their sessions", 0},
	{"POST", "/api/users/{id}/reject", "users.manage", routes_users_reject, "delete an unapproved user", 0},
	{"POST", "/auth/2fa/recover", ROUTE_PUBLIC, routes_auth_recover, "login with a recovery code", 0},
	{"GET", "/auth/accounts", ROUTE_PUBLIC, routes_auth_accounts, "accounts signed in in this browser", C},
	{"GET", "/auth/invite/{code}", ROUTE_PUBLIC, routes_auth_invite, "is an invite code valid", 0},
	{"POST", "/auth/login", ROUTE_PUBLIC, routes_auth_login, "password (+TOTP) login into a cookie slot", 0},
	{"POST", "/auth/logout", ROUTE_PUBLIC, routes_auth_logout, "end the active session", C},
	{"POST", "/auth/logout/all", ROUTE_PUBLIC, routes_auth_logout_all, "end every session of the user", C},
	{"POST", "/auth/register", ROUTE_PUBLIC, routes_auth_register, "self-registration (invite or open)", 0},
	{"DELETE", "/auth/sessions", ROUTE_PUBLIC, routes_auth_revoke_others, "end every other session", C},
	{"GET", "/auth/sessions", ROUTE_PUBLIC, routes_auth_sessions, "live sessions of the user", C},
	{"DELETE", "/auth/sessions/{session_id}", ROUTE_PUBLIC, routes_auth_session_revoke, "end one session", C},
	{"POST", "/auth/switch/{slot}", ROUTE_PUBLIC, routes_auth_switch, "make another cookie slot active", C},
	{"GET", "/metrics", "monitoring.view", routes_prometheus_metrics, "Prometheus text exposition of every daemon's STATS and the backup (open to loopback)", L},
};

const struct route *
router_table(size_t *n_r)
{
	*n_r = sizeof(router_routes) / sizeof(router_routes[0]);
	return router_routes;
}

/* Matches path against pattern; placeholders are copied into buf and pointed
 * to from params.  buf must be at least strlen(path) + 1 bytes. */
static bool
router_path_match(const char *pattern, const char *path, const char **params, size_t *nparams,
    char *buf)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *pend = strchr(p, '}');
			size_t len = strcspn(s, "/");

			if (pend == NULL || len == 0 || n == GW_MAX_PARAMS)
				return false;
			memcpy(buf, s, len);
			buf[len] = '\0';
			params[n++] = buf;
			buf += len + 1;
			p = pend + 1;
			s += len;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	*nparams = n;
	return true;
}

enum router_result
router_match(struct gw_req *r, const char *method, const char *path, char *allow_r,
    size_t allow_len)
{
	size_t plen = strlen(path), alen = 0;
	bool path_seen = false;
	char *buf = NULL;

	if (allow_len > 0)
		allow_r[0] = '\0';
	for (size_t i = 0; i < sizeof(router_routes) / sizeof(router_routes[0]); i++) {
		const struct route *rt = &router_routes[i];
		const char *params[GW_MAX_PARAMS];
		size_t nparams = 0;
		bool same_method;

		if (strchr(rt->pattern, '{') == NULL) {
			if (strcmp(rt->pattern, path) != 0)
				continue;
		} else {
			if (buf == NULL)
				buf = xmalloc(plen + 1);
			if (!router_path_match(rt->pattern, path, params, &nparams, buf))
				continue;
		}
		path_seen = true;
		same_method = strcmp(rt->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0);
		if (same_method) {
			r->route = rt;
			r->nparams = nparams;
			memcpy(r->params, params, nparams * sizeof(params[0]));
			r->path_params_buf = buf;
			return ROUTER_FOUND;
		}
		if (alen + strlen(rt->method) + 3 < allow_len)
			alen += (size_t)snprintf(allow_r + alen, allow_len - alen, "%s%s",
			    alen ? ", " : "", rt->method);
	}
	free(buf);
	return path_seen ? ROUTER_NO_METHOD : ROUTER_NO_PATH;
}
